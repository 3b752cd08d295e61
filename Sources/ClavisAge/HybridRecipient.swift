import ClavisCore
import Crypto
import Foundation

/// A post-quantum hybrid recipient, `age1pq1…`: an MLKEM768-X25519 (X-Wing) public key of
/// 1,216 bytes. The file key is wrapped with HPKE (X-Wing KEM, HKDF-SHA256, ChaCha20-Poly1305,
/// info `age-encryption.org/mlkem768x25519`, empty aad) from swift-crypto, since libgcrypt 1.10
/// has no ML-KEM; everything else in the file stays on libgcrypt.
public struct HybridRecipient: Sendable, Hashable, CustomStringConvertible {
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
