import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// Where an age store's key comes from.
///
/// Tried in order: explicit identity files; `CLAVIS_AGE_IDENTITY_FILE`; the systemd credential
/// `clavis-age-identity` (`LoadCredential=clavis-age-identity:/etc/clavis/key.txt`); for a
/// passphrase store, `passphrase` (if given), `CLAVIS_PASSPHRASE_FILE`, the credential
/// `clavis-age-passphrase`.
public struct AgeUnlock: Sendable {
    /// Identity files to use (`-i`, `--identity`).
    public var identityFiles: [String]
    /// A passphrase provider (a file or a no-echo prompt in the CLI).
    public var passphrase: (@Sendable () throws -> Secret)?
    /// Whether to consult the environment and systemd credentials.
    public var useEnvironment: Bool
    /// The highest scrypt work factor accepted when opening.
    public var maximumWorkFactor: Int

    /// Creates an unlock configuration.
    public init(identityFiles: [String] = [], passphrase: (@Sendable () throws -> Secret)? = nil,
                useEnvironment: Bool = true, maximumWorkFactor: Int = 22) {
        self.identityFiles = identityFiles
        self.passphrase = passphrase
        self.useEnvironment = useEnvironment
        self.maximumWorkFactor = maximumWorkFactor
    }

    /// A key file to read, and whether it is a systemd credential (owned by root, mode 0400/0440
    /// for the service: trusted as systemd placed it, so not held to the private-file rule).
    struct KeyFile: Equatable {
        var path: String
        var isSystemdCredential = false
    }

    /// The identity files to try, in order.
    func identityPaths() -> [KeyFile] {
        var paths = identityFiles.map { KeyFile(path: $0) }
        if useEnvironment {
            if let file = Self.environment("CLAVIS_AGE_IDENTITY_FILE") { paths.append(KeyFile(path: file)) }
            if let credential = Self.systemdCredential("clavis-age-identity") { paths.append(credential) }
        }
        return paths
    }

    /// `$CREDENTIALS_DIRECTORY/NAME` when it exists. The exemption from the private-file rule is
    /// given by how the path was made here, never by comparing a path a user passed.
    static func systemdCredential(_ name: String) -> KeyFile? {
        guard let credentials = environment("CREDENTIALS_DIRECTORY"), access(credentials + "/" + name, F_OK) == 0 else { return nil }
        return KeyFile(path: credentials + "/" + name, isSystemdCredential: true)
    }

    /// The passphrase, from the provider, `CLAVIS_PASSPHRASE_FILE` or the credential.
    func resolvePassphrase(reference: String) throws -> Secret {
        if let passphrase { return try passphrase() }
        if useEnvironment {
            var candidates: [KeyFile] = []
            if let file = Self.environment("CLAVIS_PASSPHRASE_FILE") { candidates.append(KeyFile(path: file)) }
            if let credential = Self.systemdCredential("clavis-age-passphrase") { candidates.append(credential) }
            if let file = candidates.first {
                return try Self.firstLine(of: try Self.readPrivateFile(file, what: "passphrase file", reference: reference), path: file.path)
            }
        }
        throw ClavisError(.locked, reference: reference, reason: "the store is passphrase-protected and no passphrase was given",
                          hint: "set CLAVIS_PASSPHRASE_FILE, pass --passphrase-file, or LoadCredential=clavis-age-passphrase:…")
    }

    /// The identities that may open a file whose stanzas have `types`.
    func identities(forStanzaTypes types: [String], reference: String) throws -> [AgeIdentity] {
        if types.contains("scrypt") {
            return [.scrypt(ScryptIdentity(passphrase: try resolvePassphrase(reference: reference), maximumWorkFactor: maximumWorkFactor))]
        }
        let paths = identityPaths()
        guard !paths.isEmpty else {
            throw ClavisError(.locked, reference: reference, reason: "no age identity to open the store",
                              hint: "pass --identity FILE, set CLAVIS_AGE_IDENTITY_FILE, or LoadCredential=clavis-age-identity:/path/key.txt")
        }
        var identities: [AgeIdentity] = []
        for file in paths {
            let secret = try Self.readPrivateFile(file, what: "identity file", reference: reference)
            do {
                identities += try AgeIdentity.parseIdentityFile(secret, path: file.path)
            } catch let error as AgeError {
                throw error.clavisError(reference: reference)
            }
        }
        return identities
    }

    /// The first line of a private passphrase file.
    public static func passphrase(fromFile path: String) throws -> Secret {
        try firstLine(of: try readPrivateFile(KeyFile(path: path), what: "passphrase file", reference: path), path: path)
    }

    /// The largest identity or passphrase file read (a post-quantum identity file is ~100 bytes a key).
    static let maximumKeyFileSize = 1 << 20

    /// Reads a key file through ``SecretFile``: opened once, no link, regular, private unless it is
    /// a systemd credential, size-capped.
    static func readPrivateFile(_ file: KeyFile, what: String, reference: String) throws -> Secret {
        do {
            return try SecretFile.read(file.path, reference: reference,
                                       options: .init(what: what, maximumSize: maximumKeyFileSize, requirePrivate: !file.isSystemdCredential))
        } catch let error as ClavisError where error.code == .notFound {
            // The key file is missing, not the secret: say so (it still counts as not found).
            throw ClavisError(what == "identity file" ? .identityFileMissing : .passphraseFileMissing, reference: error.reference,
                              reason: error.reason, hint: "check the path given with --identity / --passphrase-file or the CLAVIS_AGE_* variable",
                              cause: error)
        }
    }

    static func firstLine(of secret: Secret, path: String) throws -> Secret {
        try secret.withRevealedBytes { raw in
            let end = raw.firstIndex(of: 0x0A) ?? raw.count
            var line = UnsafeRawBufferPointer(rebasing: raw[0..<end])
            if line.last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
            guard !line.isEmpty else { throw ClavisError(.invalidValue, reason: "\(path) holds no passphrase on its first line") }
            return Secret(bytes: line)
        }
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }
}

extension ClavisError.Code {
    /// The age identity file named to unlock a store does not exist (refines ``notFound``).
    public static let identityFileMissing = ClavisError.Code("identity-file-missing", refines: .notFound)
    /// The passphrase file named to unlock a store does not exist (refines ``notFound``).
    public static let passphraseFileMissing = ClavisError.Code("passphrase-file-missing", refines: .notFound)
}
