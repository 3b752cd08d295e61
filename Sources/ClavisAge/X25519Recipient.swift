import ClavisCore

/// An X25519 recipient: a 32-byte public key, written `age1…`.
public struct X25519Recipient: Sendable, Hashable, CustomStringConvertible {
    /// The public key.
    public let publicKey: [UInt8]
    static let info = Array("age-encryption.org/v1/X25519".utf8)

    /// Parses `age1…`.
    public init(parsing text: String) throws {
        guard let (hrp, data) = Bech32.decode(text), hrp == "age", data.count == 32, text == text.lowercased() else {
            throw AgeError(.invalidKey, "'\(text.prefix(80))' is not an X25519 recipient (age1…)")
        }
        publicKey = data
    }

    init(publicKey: [UInt8]) { self.publicKey = publicKey }

    /// `age1…`.
    public var description: String { Bech32.encode(hrp: "age", data: publicKey) }

    func wrap(_ fileKey: SecureBytes) throws -> AgeStanza {
        let ephemeral = try Gcrypt.randomKey(32)
        let share = try X25519.publicKey(of: ephemeral)
        let shared = try X25519.multiply(ephemeral, publicKey)
        guard !shared.isAllZero else { throw AgeError(.invalidKey, "the recipient \(description) is a low-order point") }
        let wrapKey = try HKDFSHA256.deriveKey(ikm: shared, salt: share + publicKey, info: Self.info)
        return AgeStanza(arguments: ["X25519", Base64.encode(share)], body: try ChaChaPoly.sealOnce(key: wrapKey, plaintext: fileKey))
    }
}
