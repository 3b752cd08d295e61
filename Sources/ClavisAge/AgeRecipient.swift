import ClavisCore

/// Someone a file can be encrypted to.
public enum AgeRecipient: Sendable, Hashable, CustomStringConvertible {
    /// An X25519 public key, `age1…`.
    case x25519(X25519Recipient)
    /// A passphrase (scrypt). Must be the only recipient of a file.
    case scrypt(ScryptRecipient)
    /// A post-quantum hybrid key, `age1pq1…`. Must not be mixed with X25519 recipients.
    case mlkem768x25519(HybridRecipient)

    /// Parses an `age1…` or `age1pq1…` recipient string.
    public init(parsing text: String) throws {
        try Self.refuseSecretShaped(text)
        if text.lowercased().hasPrefix("age1pq1") {
            self = .mlkem768x25519(try HybridRecipient(parsing: text))
        } else {
            self = .x25519(try X25519Recipient(parsing: text))
        }
    }

    /// Refuses, without echoing it, text that is not recipient-shaped — above all a private key
    /// given where its public key belongs.
    static func refuseSecretShaped(_ text: String) throws {
        if text.uppercased().hasPrefix("AGE-SECRET-KEY-") {
            throw AgeError(.invalidKey, "a private key (AGE-SECRET-KEY-…) was given where a recipient belongs; it was not used or shown. Pass its public key instead: `clavis keygen -y KEYFILE` prints it")
        }
        guard text.lowercased().hasPrefix("age1") else {
            throw AgeError(.invalidKey, "a value of \(text.count) characters that does not start with age1 was given where a recipient belongs (not shown)")
        }
    }

    /// Whether this recipient resists a future quantum computer.
    public var isPostQuantum: Bool {
        if case .mlkem768x25519 = self { true } else { false }
    }

    /// The recipient string (`age1…`), or `passphrase` for scrypt.
    public var description: String {
        switch self {
        case .x25519(let recipient): recipient.description
        case .scrypt: "passphrase"
        case .mlkem768x25519(let recipient): recipient.description
        }
    }

    func wrap(_ fileKey: SecureBytes) throws -> AgeStanza {
        switch self {
        case .x25519(let recipient): try recipient.wrap(fileKey)
        case .scrypt(let recipient): try recipient.wrap(fileKey)
        case .mlkem768x25519(let recipient): try recipient.wrap(fileKey)
        }
    }
}
