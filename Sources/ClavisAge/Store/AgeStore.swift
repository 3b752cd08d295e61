import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// An age-encrypted file of named secrets: `age:/path/store.age#NAME`.
///
/// - Readable by the stock tool: `age -d -i key.txt store.age` prints the JSON document.
/// - Every write takes an advisory lock, decrypts the current file (refusing to touch one that
///   does not decrypt), changes it, re-encrypts it to the store's own recipients and replaces it
///   atomically (temporary file, `fsync`, `rename`, `fsync` of the directory). No update is lost
///   between concurrent writers, and a crash leaves the old or the new file.
/// - New stores are mode 0600; a store another user owns, or that group/others can access, is
///   refused with the command that fixes it.
public struct AgeStore: Sendable {
    /// The store's path.
    public let path: String
    /// How it is unlocked.
    public var unlock: AgeUnlock

    /// A store at `path` (absolute).
    public init(path: String, unlock: AgeUnlock = AgeUnlock()) {
        self.path = path
        self.unlock = unlock
    }

    var reference: String { "age:\(path)" }

    /// What the store says about itself without decrypting.
    public struct Info: Sendable, Codable, Equatable {
        /// The stanza types of its header (`X25519`, `scrypt`…).
        public var stanzaTypes: [String]
        /// Whether a passphrase protects it.
        public var isPassphraseProtected: Bool { stanzaTypes.contains("scrypt") }
        /// Whether every stanza is post-quantum (`mlkem768x25519`).
        public var isPostQuantum: Bool { !stanzaTypes.isEmpty && stanzaTypes.allSatisfy { $0 == "mlkem768x25519" } }
    }

    /// Creates a new store encrypted to `recipients` (X25519 recipients, or one scrypt recipient).
    /// Never overwrites: a file that appears at `path` meanwhile is left alone and this fails.
    /// Identities from `pinning` that are among the recipients pin the list at once
    /// (``RecipientPin``), so their holders' writes need no confirmation.
    public static func create(path: String, recipients: [AgeRecipient], pinning: AgeUnlock? = nil) throws {
        guard access(path, F_OK) != 0 else {
            throw ClavisError(.invalidValue, reference: "age:\(path)", reason: "\(path) already exists; not overwriting it")
        }
        var document = StoreDocument(recipients: [], passphrase: nil, secrets: [:])
        for recipient in recipients {
            switch recipient {
            case .x25519, .mlkem768x25519: document.recipients.append(recipient.description)
            case .scrypt(let scrypt): document.passphrase = .init(workFactor: scrypt.workFactor)
            }
        }
        if let pinning, document.passphrase == nil, !pinning.identityPaths().isEmpty {
            let identities = try pinning.identities(forStanzaTypes: ["X25519"], reference: "age:\(path)")
            try RecipientPin.seal(&document, identities: identities, listChanged: true)
        }
        let lock = try FileSafety.Lock(for: path, reference: "age:\(path)")
        AtomicFile.removeStaleTemporaries(of: path)
        try write(document, recipients: recipients, path: path, replacing: false)
        withExtendedLifetime(lock) {}
    }

    /// Temporary files that writers killed mid-write left beside the store. Each holds the whole
    /// store encrypted to the recipients of its moment; the next write removes them.
    public func staleTemporaries() -> [String] {
        AtomicFile.temporaries(of: path)
    }

    /// Reads the header's stanza types (no key needed).
    public func info() throws -> Info {
        let bytes = try readFile()
        do { return Info(stanzaTypes: try Age.stanzaTypes(bytes)) } catch let error as AgeError { throw error.clavisError(reference: reference) }
    }

    /// The secret called `name`.
    public func secret(named name: String) throws -> Secret {
        let document = try open().document
        guard let entry = document.secrets[name] else {
            throw ClavisError(.notFound, reference: "\(reference)#\(name)", reason: "the store has no secret called '\(name)'",
                              hint: "list the names with `clavis secret list \(reference)`")
        }
        do { return try entry.secret() } catch let error as AgeError { throw error.clavisError(reference: reference) }
    }

    /// The names of the secrets, sorted.
    public func names() throws -> [String] {
        try open().document.secrets.keys.sorted()
    }

    /// The store's recipients (`age1…`), empty for a passphrase store.
    public func recipients() throws -> [String] {
        try open().document.recipients
    }

    /// Stores (or replaces) `secret` under `name`.
    public func store(_ secret: Secret, named name: String) throws {
        try Self.checkName(name, reference: reference)
        try update { document in
            let now = StoreDocument.now()
            let created = document.secrets[name]?.created ?? now
            document.secrets[name] = StoreDocument.Entry(secret: secret, created: created, updated: now)
        }
    }

    /// The Clavis annotations stored with the secret `name` (empty when none).
    public func annotations(named name: String) throws -> [String: String] {
        guard let entry = try open().document.secrets[name] else {
            throw ClavisError(.notFound, reference: "\(reference)#\(name)", reason: "the store has no secret called '\(name)'")
        }
        return entry.annotations ?? [:]
    }

    /// Stores (or replaces) `secret` under `name` with exactly these annotations, in one atomic write.
    public func store(_ secret: Secret, named name: String, annotations: [String: String]) throws {
        try Self.checkName(name, reference: reference)
        try update { document in
            let now = StoreDocument.now()
            let created = document.secrets[name]?.created ?? now
            document.secrets[name] = StoreDocument.Entry(secret: secret, created: created, updated: now, annotations: annotations)
        }
    }

    /// Deletes the secret `name`.
    public func delete(named name: String) throws {
        try update { document in
            guard document.secrets.removeValue(forKey: name) != nil else {
                throw ClavisError(.notFound, reference: "\(reference)#\(name)", reason: "the store has no secret called '\(name)'")
            }
        }
    }

    /// Re-encrypts the store to a new set of X25519 recipients, or to a new passphrase
    /// (one `.scrypt` recipient), keeping every secret. Atomic like every write.
    public func rekey(to recipients: [AgeRecipient]) throws {
        try update(newRecipients: recipients) { _ in }
    }

    /// Adds recipients (`age1…` or `age1pq1…`; the two kinds are never mixed).
    public func addRecipients(_ added: [AgeRecipient]) throws {
        try update { document in
            guard document.passphrase == nil else {
                throw ClavisError(.invalidValue, reference: reference, reason: "a passphrase store cannot have recipients added",
                                  hint: "move it to recipients with `clavis store rekey \(reference) --to age1…`")
            }
            if added.contains(where: { if case .scrypt = $0 { true } else { false } }) {
                throw ClavisError(.invalidValue, reference: reference, reason: "a passphrase cannot be added as a recipient",
                                  hint: "use `clavis store rekey \(reference) --new-passphrase` to move the store to a passphrase")
            }
            for recipient in added where !document.recipients.contains(recipient.description) {
                document.recipients.append(recipient.description)
            }
        }
    }

    /// Pins the current recipient list to the unlocking identities after the user has checked it
    /// (``RecipientPin``); returns the list.
    @discardableResult
    public func confirmRecipients() throws -> [String] {
        var confirmed: [String] = []
        try update(verifyPins: false) { document in confirmed = document.recipients }
        return confirmed
    }

    /// Removes recipients; refuses to remove the last one.
    public func removeRecipients(_ removed: [AgeRecipient]) throws {
        try update { document in
            let names = Set(removed.map(\.description))
            let missing = names.subtracting(document.recipients)
            guard missing.isEmpty else {
                throw ClavisError(.notFound, reference: reference, reason: "not a recipient of the store: \(missing.sorted().joined(separator: ", "))")
            }
            document.recipients.removeAll { names.contains($0) }
            guard !document.recipients.isEmpty else {
                throw ClavisError(.invalidValue, reference: reference, reason: "removing these would leave the store with no recipient")
            }
        }
    }

    // MARK: - Reading and writing

    /// The largest store read.
    static let maximumSize = 64 << 20

    /// Reads the store file through ``SecretFile``: opened once, no link, regular, private, capped.
    func readFile() throws -> [UInt8] {
        do {
            return try SecretFile.read(path, reference: reference,
                                       options: .init(what: "store", maximumSize: Self.maximumSize, requirePrivate: true)).revealedBytes()
        } catch let error as ClavisError where error.code == .notFound && access(path, F_OK) != 0 {
            // Missing (not empty): say how to make one.
            throw ClavisError(.notFound, reference: reference, reason: error.reason,
                              hint: "create it with `clavis store init \(reference) --recipient age1…`", cause: error)
        }
    }

    /// Decrypts the store, returning the document, the passphrase used (if any) and the identities.
    func open() throws -> (document: StoreDocument, passphrase: Secret?, identities: [AgeIdentity]) {
        let bytes = try readFile()
        do {
            let types = try Age.stanzaTypes(bytes)
            let identities = try unlock.identities(forStanzaTypes: types, reference: reference)
            let plaintext = try Age.decrypt(bytes, identities: identities)
            let passphrase: Secret? = identities.lazy.compactMap { if case .scrypt(let id) = $0 { id.passphrase } else { nil } }.first
            return (try StoreDocument.decode(plaintext, path: path), passphrase, identities)
        } catch let error as AgeError {
            throw error.clavisError(reference: reference)
        }
    }

    /// Locks, removes killed writers' temporaries, decrypts, checks the recipient pins, applies
    /// `change`, re-pins, re-encrypts and replaces the file.
    func update(newRecipients: [AgeRecipient]? = nil, verifyPins: Bool = true, _ change: (inout StoreDocument) throws -> Void) throws {
        let lock = try FileSafety.Lock(for: path, reference: reference)
        // Under the lock no live writer has a temporary file, so any there is a killed writer's.
        AtomicFile.removeStaleTemporaries(of: path)
        var (document, passphrase, identities) = try open()
        let before = Set(document.recipients)
        if verifyPins && newRecipients == nil { try RecipientPin.verify(document, identities: identities, reference: reference) }
        try change(&document)
        let recipients: [AgeRecipient]
        if let newRecipients {
            recipients = newRecipients
            document.recipients = []
            document.passphrase = nil
            for recipient in newRecipients {
                switch recipient {
                case .x25519, .mlkem768x25519: document.recipients.append(recipient.description)
                case .scrypt(let scrypt): document.passphrase = .init(workFactor: scrypt.workFactor)
                }
            }
        } else {
            recipients = try document.ageRecipients(passphrase: passphrase)
        }
        try RecipientPin.seal(&document, identities: identities, listChanged: Set(document.recipients) != before)
        passphrase = nil
        try Self.write(document, recipients: recipients, path: path)
        withExtendedLifetime(lock) {}
    }

    static func write(_ document: StoreDocument, recipients: [AgeRecipient], path: String, replacing: Bool = true) throws {
        guard !recipients.isEmpty else {
            throw ClavisError(.invalidValue, reference: "age:\(path)", reason: "a store needs at least one recipient or a passphrase")
        }
        var plaintext = try document.encoded()
        defer { plaintext.withUnsafeMutableBytes { if let base = $0.baseAddress { _ = memset(base, 0, $0.count) } } }
        let file = try AtomicFile(path: path, mode: 0o600)
        do {
            try Age.encrypt(BufferedInput(bytes: plaintext), to: recipients) { try file.write($0) }
        } catch let error as AgeError {
            throw error.clavisError(reference: "age:\(path)")
        }
        try file.commit(replacing: replacing)
    }

    static func checkName(_ name: String, reference: String) throws {
        guard !name.isEmpty, name.count <= 256, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ClavisError.invalidReference(reference, reason: "secret names are 1–256 characters without control characters")
        }
    }
}
