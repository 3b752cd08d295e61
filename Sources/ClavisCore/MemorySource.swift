import Synchronization

/// `memory:NAME` — secrets held in this process only, lost when it exits.
///
/// For tests, examples and embedding programs that already hold a secret and want to hand it to
/// an API that takes a reference. Fully writable; lists names sorted.
public final class MemorySource: WritableSecretSource {
    private let secrets: Mutex<[String: Secret]>
    /// The scheme this instance serves (default `memory`).
    public let scheme: String

    /// Creates a source serving `scheme`, optionally pre-filled.
    public init(scheme: String = "memory", secrets: [String: Secret] = [:]) {
        self.scheme = scheme.lowercased()
        self.secrets = Mutex(secrets)
    }

    /// `[scheme]`.
    public var schemes: Set<String> { [scheme] }
    /// `process memory`.
    public var sourceDescription: String { "process memory" }
    /// Everything.
    public var capabilities: SecretSourceCapabilities { .all }

    /// `SCHEME:NAME`.
    public func reference(named name: String, in container: SecretReference) throws -> SecretReference {
        try SecretReference(scheme: scheme, locator: name)
    }

    /// Reads a secret by its locator.
    public func secret(for reference: SecretReference) async throws -> Secret {
        try checkScheme(of: reference)
        guard let secret = secrets.withLock({ $0[reference.locator] }) else {
            throw ClavisError(.notFound, reference: reference.description, reason: "no secret called '\(reference.locator)' in process memory")
        }
        return secret
    }

    /// Lists the names that start with the container's locator.
    public func listNames(in container: SecretReference) async throws -> [String] {
        try checkScheme(of: container)
        return secrets.withLock { $0.keys.filter { $0.hasPrefix(container.locator) } }.sorted()
    }

    /// Stores a secret under the reference's locator.
    public func store(_ secret: Secret, for reference: SecretReference) async throws {
        try checkScheme(of: reference)
        guard !reference.locator.isEmpty else {
            throw ClavisError.invalidReference(reference.description, reason: "\(scheme): needs a name, as in \(scheme):NAME")
        }
        secrets.withLock { $0[reference.locator] = secret }
    }

    /// Deletes the secret under the reference's locator.
    public func delete(_ reference: SecretReference) async throws {
        try checkScheme(of: reference)
        guard secrets.withLock({ $0.removeValue(forKey: reference.locator) }) != nil else {
            throw ClavisError(.notFound, reference: reference.description, reason: "no secret called '\(reference.locator)' in process memory")
        }
    }
}
