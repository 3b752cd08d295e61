import ClavisCore

/// Someone a file can be encrypted to.
public enum AgeRecipient: Sendable, Hashable, CustomStringConvertible {
    /// An X25519 public key, `age1…`.
    case x25519(X25519Recipient)
    /// A passphrase (scrypt). Must be the only recipient of a file.
    case scrypt(ScryptRecipient)
    /// A post-quantum hybrid key, `age1pq1…`. Must not be mixed with X25519 recipients.
    case mlkem768x25519(PQRecipient)

    /// Parses an `age1…` or `age1pq1…` recipient string.
    public init(parsing text: String) throws {
        try Self.refuseSecretShaped(text)
        if text.lowercased().hasPrefix("age1pq1") {
            self = .mlkem768x25519(try PQRecipient(parsing: text))
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

/// Something that can open a file: an X25519 secret key or a passphrase.
public enum AgeIdentity: Sendable {
    /// An X25519 secret key, `AGE-SECRET-KEY-1…`.
    case x25519(X25519Identity)
    /// A passphrase, for files with an scrypt stanza.
    case scrypt(ScryptIdentity)
    /// A post-quantum hybrid key, `AGE-SECRET-KEY-PQ-1…`.
    case mlkem768x25519(PQIdentity)

    /// Parses one identity line: `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…`.
    public init(parsing text: String) throws {
        if text.uppercased().hasPrefix("AGE-SECRET-KEY-PQ-1") {
            self = .mlkem768x25519(try PQIdentity(parsing: text))
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

/// A passphrase identity, refusing work factors above `maximumWorkFactor`.
public struct ScryptIdentity: Sendable {
    let passphrase: Secret
    /// The highest log2 N accepted (default 22: ~4 s here); a hostile file cannot ask for more.
    public let maximumWorkFactor: Int

    /// Creates an identity.
    public init(passphrase: Secret, maximumWorkFactor: Int = 22) {
        self.passphrase = passphrase
        self.maximumWorkFactor = maximumWorkFactor
    }

    func unwrap(_ stanzas: [AgeStanza]) throws -> SecureBytes? {
        guard let stanza = stanzas.first(where: { $0.type == "scrypt" }) else { return nil }
        guard stanzas.count == 1 else { throw AgeError(.header, "an scrypt stanza must be the only stanza in the header") }
        guard stanza.arguments.count == 3, let salt = Base64.decode(Array(stanza.arguments[1].utf8)), salt.count == 16 else {
            throw AgeError(.header, "an scrypt stanza must have a 16-byte salt and a work factor")
        }
        let factorText = stanza.arguments[2]
        guard let first = factorText.first, first != "0", factorText.allSatisfy(\.isASCII), factorText.allSatisfy(\.isNumber),
              factorText.count <= 3, let workFactor = Int(factorText) else {
            throw AgeError(.header, "the scrypt work factor '\(factorText.prefix(20))' is not a decimal without leading zeros")
        }
        guard workFactor <= maximumWorkFactor, workFactor <= 30 else {
            throw AgeError(.workFactor, "the file asks for 2^\(workFactor) scrypt work, above the cap of 2^\(maximumWorkFactor)")
        }
        guard stanza.body.count == 32 else { throw AgeError(.header, "an scrypt stanza body must be 32 bytes") }
        let key = try Scrypt.deriveKey(passphrase: SecureBytes(passphrase.revealedBytes()), salt: ScryptRecipient.label + salt, logN: workFactor)
        return try ChaChaPoly.openOnce(key: key, sealed: stanza.body)
    }
}
