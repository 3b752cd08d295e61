import ClavisCore
import Crypto
import Foundation

/// A post-quantum hybrid recipient, `age1pq1…`: an MLKEM768-X25519 (X-Wing) public key of
/// 1,216 bytes. The file key is wrapped with HPKE (X-Wing KEM, HKDF-SHA256, ChaCha20-Poly1305,
/// info `age-encryption.org/mlkem768x25519`, empty aad) from swift-crypto, since libgcrypt 1.10
/// has no ML-KEM; everything else in the file stays on libgcrypt.
public struct PQRecipient: Sendable, Hashable, CustomStringConvertible {
    /// The X-Wing public key.
    public let publicKey: [UInt8]
    static let hrp = "age1pq"
    static let publicKeyLength = 1216
    static let encapsulatedKeyLength = 1120
    /// HPKE's info string, made per use: a global `Data` keeps its storage behind tagged enum
    /// pointers that LeakSanitizer cannot follow, so fuzzing would report it as a leak.
    static var info: Data { Data("age-encryption.org/mlkem768x25519".utf8) }
    static let ciphersuite = HPKE.Ciphersuite(kem: .XWingMLKEM768X25519, kdf: .HKDF_SHA256, aead: .chaChaPoly)

    /// Parses `age1pq1…`.
    public init(parsing text: String) throws {
        guard let (hrp, data) = Bech32.decode(text), hrp == Self.hrp, data.count == Self.publicKeyLength, text == text.lowercased() else {
            throw AgeError(.invalidKey, "'\(text.prefix(40))…' is not a post-quantum recipient (age1pq1…)")
        }
        publicKey = data
    }

    init(publicKey: [UInt8]) { self.publicKey = publicKey }

    /// `age1pq1…`.
    public var description: String { Bech32.encode(hrp: Self.hrp, data: publicKey) }

    func wrap(_ fileKey: SecureBytes) throws -> AgeStanza {
        do {
            let key = try XWingMLKEM768X25519.PublicKey(rawRepresentation: publicKey)
            var sender = try HPKE.Sender(recipientKey: key, ciphersuite: Self.ciphersuite, info: Self.info)
            let body = try fileKey.withUnsafeBytes { try sender.seal(Data($0), authenticating: Data()) }
            return AgeStanza(arguments: ["mlkem768x25519", Base64.encode(sender.encapsulatedKey)], body: Array(body))
        } catch let error as AgeError {
            throw error
        } catch {
            throw AgeError(.crypto, "HPKE seal to \(description.prefix(20))… failed: \(error)")
        }
    }
}

/// A post-quantum hybrid identity, `AGE-SECRET-KEY-PQ-1…`: a 32-byte X-Wing seed. Prints without
/// the key.
public struct PQIdentity: Sendable, CustomStringConvertible {
    let seed: SecureBytes
    private let privateKey: XWingMLKEM768X25519.PrivateKey
    /// The matching recipient.
    public let recipient: PQRecipient
    static let hrp = "AGE-SECRET-KEY-PQ-"

    /// Parses `AGE-SECRET-KEY-PQ-1…`.
    public init(parsing text: String) throws {
        guard let (hrp, data) = Bech32.decode(text), hrp == Self.hrp.lowercased(), data.count == 32 else {
            throw AgeError(.invalidKey, "not a post-quantum identity (AGE-SECRET-KEY-PQ-1…)")
        }
        try self.init(seed: SecureBytes(data))
    }

    init(seed: SecureBytes) throws {
        self.seed = seed
        do {
            privateKey = try seed.withUnsafeBytes { try XWingMLKEM768X25519.PrivateKey(seedRepresentation: Data($0), publicKey: nil) }
        } catch {
            throw AgeError(.invalidKey, "the post-quantum seed does not give an X-Wing key")
        }
        recipient = PQRecipient(publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// A new random identity (seed from libgcrypt's RNG).
    public static func generate() throws -> PQIdentity {
        try PQIdentity(seed: Gcrypt.randomKey(32))
    }

    /// The identity string `AGE-SECRET-KEY-PQ-1…`, as a `Secret`.
    public func encoded() -> Secret {
        Secret(seed.withUnsafeBytes { Bech32.encode(hrp: Self.hrp, data: Array($0), uppercase: true) })
    }

    /// `post-quantum identity for age1pq1…` (abbreviated) — never the key.
    public var description: String { "post-quantum identity for \(recipient.description.prefix(24))…" }

    func unwrap(_ stanzas: [AgeStanza]) throws -> SecureBytes? {
        for stanza in stanzas where stanza.type == "mlkem768x25519" {
            guard stanza.arguments.count == 2 else {
                throw AgeError(.header, "an mlkem768x25519 stanza must have exactly one argument after its type, it has \(stanza.arguments.count - 1)")
            }
            guard let enc = Base64.decode(Array(stanza.arguments[1].utf8)) else {
                throw AgeError(.header, "the mlkem768x25519 encapsulated key is not canonical base64")
            }
            guard enc.count == PQRecipient.encapsulatedKeyLength else {
                throw AgeError(.header, "the mlkem768x25519 encapsulated key is \(enc.count) bytes, not 1120")
            }
            guard stanza.body.count == 32 else {
                throw AgeError(.header, "an mlkem768x25519 stanza body must be 32 bytes, it is \(stanza.body.count)")
            }
            do {
                var opener = try HPKE.Recipient(privateKey: privateKey, ciphersuite: PQRecipient.ciphersuite, info: PQRecipient.info,
                                                encapsulatedKey: Data(enc))
                var fileKey = try opener.open(Data(stanza.body), authenticating: Data())
                defer { fileKey.resetBytes(in: 0..<fileKey.count) }
                return try SecureBytes(fileKey)
            } catch {
                continue  // not addressed to this identity (or tampered): try the next stanza
            }
        }
        return nil
    }
}
