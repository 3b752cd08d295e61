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

    /// The identity files to try, with where each came from.
    func identityPaths() -> [String] {
        var paths = identityFiles
        if useEnvironment {
            if let file = Self.environment("CLAVIS_AGE_IDENTITY_FILE") { paths.append(file) }
            if let credentials = Self.environment("CREDENTIALS_DIRECTORY"), access(credentials + "/clavis-age-identity", R_OK) == 0 {
                paths.append(credentials + "/clavis-age-identity")
            }
        }
        return paths
    }

    /// The passphrase, from the provider, `CLAVIS_PASSPHRASE_FILE` or the credential.
    func resolvePassphrase(reference: String) throws -> Secret {
        if let passphrase { return try passphrase() }
        if useEnvironment {
            var candidates: [String] = []
            if let file = Self.environment("CLAVIS_PASSPHRASE_FILE") { candidates.append(file) }
            if let credentials = Self.environment("CREDENTIALS_DIRECTORY") { candidates.append(credentials + "/clavis-age-passphrase") }
            for path in candidates where access(path, R_OK) == 0 {
                return try Self.firstLine(of: try Self.readPrivateFile(path, what: "passphrase file", reference: reference), path: path)
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
        for path in paths {
            let secret = try Self.readPrivateFile(path, what: "identity file", reference: reference)
            do {
                identities += try AgeIdentity.parseIdentityFile(secret, path: path)
            } catch let error as AgeError {
                throw error.clavisError(reference: reference)
            }
        }
        return identities
    }

    /// The first line of a private passphrase file.
    public static func passphrase(fromFile path: String) throws -> Secret {
        try firstLine(of: try readPrivateFile(path, what: "passphrase file", reference: path), path: path)
    }

    static func readPrivateFile(_ path: String, what: String, reference: String) throws -> Secret {
        // systemd credentials are owned by root with mode 0400/0440 for the service; trust them as placed.
        if !path.hasPrefix((environment("CREDENTIALS_DIRECTORY") ?? "\u{0}") + "/") {
            try FileSafety.checkPrivate(path, what: what, reference: reference)
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ClavisError(.permissionDenied, reference: reference, reason: "cannot read \(what) \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        return try StoreFile.readAll(descriptor, path: path, reference: reference)
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
