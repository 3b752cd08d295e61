import ClavisCore

/// Something that can open a file: an X25519 secret key or a passphrase.
public enum AgeIdentity: Sendable {
    /// An X25519 secret key, `AGE-SECRET-KEY-1…`.
    case x25519(X25519Identity)
    /// A passphrase, for files with an scrypt stanza.
    case scrypt(ScryptIdentity)
    /// A post-quantum hybrid key, `AGE-SECRET-KEY-PQ-1…`.
    case mlkem768x25519(HybridIdentity)

    /// Parses one identity line: `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…`.
    public init(parsing text: String) throws {
        if text.uppercased().hasPrefix("AGE-SECRET-KEY-PQ-1") {
            self = .mlkem768x25519(try HybridIdentity(parsing: text))
        } else {
            self = .x25519(try X25519Identity(parsing: text))
        }
    }

    /// The recipient string of this identity (`age1…`, `age1pq1…`), `nil` for a passphrase.
    public var recipientString: String? {
        switch self {
        case .x25519(let identity): identity.recipient.description
        case .mlkem768x25519(let identity): identity.recipient.description
        case .scrypt: nil
        }
    }

    /// Returns the file key if one of `stanzas` is addressed to this identity, `nil` if none is.
    func unwrap(_ stanzas: [AgeStanza]) throws -> SecureBytes? {
        switch self {
        case .x25519(let identity): try identity.unwrap(stanzas)
        case .scrypt(let identity): try identity.unwrap(stanzas)
        case .mlkem768x25519(let identity): try identity.unwrap(stanzas)
        }
    }

    /// Parses the identities of an identity file: one `AGE-SECRET-KEY-1…` per line, `#` comments
    /// and blank lines ignored.
    public static func parseIdentityFile(_ secret: Secret, path: String) throws -> [AgeIdentity] {
        guard let text = secret.revealedString() else { throw AgeError(.invalidKey, "\(path) is not UTF-8 text") }
        var identities: [AgeIdentity] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                identities.append(try AgeIdentity(parsing: String(line)))
            } catch {
                throw AgeError(.invalidKey, "\(path) line \(number + 1) is not an age identity (AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…)")
            }
        }
        guard !identities.isEmpty else { throw AgeError(.invalidKey, "\(path) holds no identity") }
        return identities
    }

    /// Parses a recipients file: one `age1…` per line, `#` comments and blank lines ignored.
    public static func parseRecipientsFile(_ text: String, path: String) throws -> [AgeRecipient] {
        var recipients: [AgeRecipient] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = (raw.hasSuffix("\r") ? raw.dropLast() : raw).trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            do { recipients.append(try AgeRecipient(parsing: String(line))) } catch {
                throw AgeError(.invalidKey, "\(path) line \(number + 1) is not an age recipient (age1… or age1pq1…)")
            }
        }
        return recipients
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed().reduce(into: "") { $0.append($1) }[...]
    }
}
