import ClavisCore

/// An X25519 identity: a 32-byte secret key, written `AGE-SECRET-KEY-1…`. Prints without the key.
public struct X25519Identity: Sendable, CustomStringConvertible {
    let secretKey: SecureBytes
    /// The matching recipient.
    public let recipient: X25519Recipient

    /// Parses `AGE-SECRET-KEY-1…`.
    public init(parsing text: String) throws {
        guard let (hrp, data) = Bech32.decode(text), hrp == "age-secret-key-", data.count == 32 else {
            throw AgeError(.invalidKey, "not an X25519 identity (AGE-SECRET-KEY-1…)")
        }
        try self.init(secretKey: SecureBytes(data))
    }

    init(secretKey: SecureBytes) throws {
        self.secretKey = secretKey
        recipient = X25519Recipient(publicKey: try X25519.publicKey(of: secretKey))
    }

    /// A new random identity.
    public static func generate() throws -> X25519Identity {
        try X25519Identity(secretKey: Gcrypt.randomKey(32))
    }

    /// The identity string `AGE-SECRET-KEY-1…`, as a `Secret`.
    public func encoded() -> Secret {
        Secret(secretKey.withUnsafeBytes { Bech32.encode(hrp: "AGE-SECRET-KEY-", data: Array($0), uppercase: true) })
    }

    /// `X25519 identity for age1…` — never the key.
    public var description: String { "X25519 identity for \(recipient)" }

    func unwrap(_ stanzas: [AgeStanza]) throws -> SecureBytes? {
        for stanza in stanzas where stanza.type == "X25519" {
            guard stanza.arguments.count == 2, let share = Base64.decode(Array(stanza.arguments[1].utf8)), share.count == 32 else {
                throw AgeError(.header, "an X25519 stanza must have one argument, a 32-byte share")
            }
            guard stanza.body.count == 32 else { throw AgeError(.header, "an X25519 stanza body must be 32 bytes") }
            let shared = try X25519.multiply(secretKey, share)
            guard !shared.isAllZero else { throw AgeError(.header, "an X25519 stanza has a low-order share") }
            let wrapKey = try HKDFSHA256.deriveKey(ikm: shared, salt: share + recipient.publicKey, info: X25519Recipient.info)
            if let fileKey = try ChaChaPoly.openOnce(key: wrapKey, sealed: stanza.body) { return fileKey }
        }
        return nil
    }
}
