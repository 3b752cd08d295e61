import ClavisCore
import Crypto
import Foundation

/// A post-quantum hybrid identity, `AGE-SECRET-KEY-PQ-1…`: a 32-byte X-Wing seed. Prints without
/// the key.
public struct HybridIdentity: Sendable, CustomStringConvertible {
    let seed: SecureBytes
    private let privateKey: XWingMLKEM768X25519.PrivateKey
    /// The matching recipient.
    public let recipient: HybridRecipient
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
        recipient = HybridRecipient(publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// A new random identity (seed from libgcrypt's RNG).
    public static func generate() throws -> HybridIdentity {
        try HybridIdentity(seed: Gcrypt.randomKey(32))
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
            guard enc.count == HybridRecipient.encapsulatedKeyLength else {
                throw AgeError(.header, "the mlkem768x25519 encapsulated key is \(enc.count) bytes, not 1120")
            }
            guard stanza.body.count == 32 else {
                throw AgeError(.header, "an mlkem768x25519 stanza body must be 32 bytes, it is \(stanza.body.count)")
            }
            do {
                var opener = try HPKE.Recipient(privateKey: privateKey, ciphersuite: HybridRecipient.ciphersuite, info: HybridRecipient.info,
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
