import ClavisCore

/// A passphrase recipient: scrypt with a work factor of 2^`workFactor`.
public struct ScryptRecipient: Sendable, Hashable {
    let passphrase: Secret
    /// log2 of scrypt's N.
    public let workFactor: Int
    static let label = Array("age-encryption.org/v1/scrypt".utf8)

    /// Creates a recipient. age's default work factor is 18 (about 1 s on a laptop).
    public init(passphrase: Secret, workFactor: Int = 18) {
        self.passphrase = passphrase
        self.workFactor = workFactor
    }

    /// Two scrypt recipients are equal if their work factors are (the passphrase is not compared).
    public static func == (lhs: ScryptRecipient, rhs: ScryptRecipient) -> Bool { lhs.workFactor == rhs.workFactor }
    /// Hashes the work factor only.
    public func hash(into hasher: inout Hasher) { hasher.combine(workFactor) }

    func wrap(_ fileKey: SecureBytes) throws -> AgeStanza {
        let salt = try Gcrypt.random(16)
        let key = try Scrypt.deriveKey(passphrase: SecureBytes(passphrase.revealedBytes()), salt: Self.label + salt, logN: workFactor)
        return AgeStanza(arguments: ["scrypt", Base64.encode(salt), String(workFactor)], body: try ChaChaPoly.sealOnce(key: key, plaintext: fileKey))
    }
}
