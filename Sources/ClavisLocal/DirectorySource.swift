import ClavisCore

/// `dir:/path/to/dir#NAME` — a secret file in a mounted directory (Kubernetes secret volumes and
/// the Secrets Store CSI driver, Docker secrets, Vault Agent templates).
///
/// The directory must be absolute. `NAME` may contain `/` for nested files but no `.`/`..`
/// parts, and its real path must stay inside the directory; in-directory symlinks, as Kubernetes
/// uses, are followed. One trailing newline is stripped. Read-only.
public struct DirectorySource: SecretSource {
    /// Creates the source.
    public init() {}

    /// `["dir"]`.
    public var schemes: Set<String> { ["dir"] }
    /// `mounted secret files`.
    public var sourceDescription: String { "mounted secret files" }
    /// Lists file names.
    public var capabilities: SecretSourceCapabilities { .list }

    /// Reads the file the reference names.
    public func secret(for reference: SecretReference) async throws -> Secret {
        try checkScheme(of: reference)
        let directory = try self.directory(of: reference)
        guard let name = reference.item else {
            throw ClavisError.invalidReference(reference.description, reason: "dir: needs the file name after '#', as in dir:\(directory)#NAME")
        }
        return try ContainedFile.read(name, in: directory, reference: reference)
    }

    /// Lists the secret files directly in the directory.
    public func listNames(in container: SecretReference) async throws -> [String] {
        try checkScheme(of: container)
        return try ContainedFile.list(try directory(of: container), reference: container)
    }

    /// Always usable.
    public func diagnose() async -> [SourceDiagnosis] {
        [SourceDiagnosis(scheme: "dir", check: "mounted secret files", status: .ok, detail: "available for any absolute directory")]
    }

    private func directory(of reference: SecretReference) throws -> String {
        guard reference.locator.hasPrefix("/"), reference.query.isEmpty else {
            throw ClavisError.invalidReference(reference.description, reason: "dir: takes an absolute directory path, as in dir:/run/secrets#NAME")
        }
        return reference.locator
    }
}
