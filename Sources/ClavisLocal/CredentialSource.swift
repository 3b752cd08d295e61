import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// `credential:NAME` — a systemd credential, the file `$CREDENTIALS_DIRECTORY/NAME`.
///
/// systemd sets `CREDENTIALS_DIRECTORY` for a service with `LoadCredential=NAME:PATH`,
/// `LoadCredentialEncrypted=` or `SetCredential=`; the files there are readable only by the
/// service. One trailing newline is stripped. Read-only.
public struct CredentialSource: SecretSource {
    private let directory: String?

    /// Uses `$CREDENTIALS_DIRECTORY` at each call.
    public init() { directory = nil }

    /// Uses a fixed directory instead of `$CREDENTIALS_DIRECTORY`.
    public init(directory: String) { self.directory = directory }

    /// `["credential"]`.
    public var schemes: Set<String> { ["credential"] }
    /// `systemd credentials`.
    public var sourceDescription: String { "systemd credentials" }
    /// Lists credential names.
    public var capabilities: SecretSourceCapabilities { .list }

    /// `credential:NAME`.
    public func reference(named name: String, in container: SecretReference) throws -> SecretReference {
        try SecretReference(scheme: "credential", locator: name)
    }

    /// Reads the credential the reference names.
    public func secret(for reference: SecretReference) async throws -> Secret {
        try checkScheme(of: reference)
        guard reference.item == nil, reference.query.isEmpty, !reference.locator.contains("/") else {
            throw ClavisError.invalidReference(reference.description,
                                               reason: "credential: takes one credential name without '/', '?' or '#', as in credential:app-secret")
        }
        return try ContainedFile.read(reference.locator, in: try credentialsDirectory(reference), reference: reference)
    }

    /// Lists the credentials passed to this service.
    public func listNames(in container: SecretReference) async throws -> [String] {
        try checkScheme(of: container)
        return try ContainedFile.list(try credentialsDirectory(container), reference: container)
    }

    /// Reports whether systemd passed credentials to this process.
    public func diagnose() async -> [SourceDiagnosis] {
        guard let container = try? SecretReference(parsing: "credential:") else { return [] }
        do {
            let names = try await listNames(in: container)
            return [SourceDiagnosis(scheme: "credential", check: "$CREDENTIALS_DIRECTORY", status: .ok,
                                    detail: "\(names.count) credential(s): \(names.joined(separator: ", "))")]
        } catch let error as ClavisError {
            return [SourceDiagnosis(scheme: "credential", check: "$CREDENTIALS_DIRECTORY", status: .unavailable,
                                    detail: error.reason, hint: error.hint)]
        } catch {
            return []
        }
    }

    private func credentialsDirectory(_ reference: SecretReference) throws -> String {
        if let directory { return directory }
        guard let value = getenv("CREDENTIALS_DIRECTORY"), value.pointee != 0 else {
            throw ClavisError(.sourceUnavailable, reference: reference.description,
                              reason: "CREDENTIALS_DIRECTORY is not set, so no systemd credentials were passed to this process",
                              hint: "add LoadCredential=\(reference.locator.isEmpty ? "NAME" : reference.locator):/path/to/file to the service's unit, or set CREDENTIALS_DIRECTORY")
        }
        return String(cString: value)
    }
}
