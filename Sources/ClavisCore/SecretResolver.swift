import Logging

/// The one place that turns a reference string into a source and a secret.
///
/// A resolver maps each scheme to the ``SecretSource`` that serves it. Build one with the sources
/// you want, or take `SecretResolver.standard` from the `Clavis` module, which wires every scheme
/// Clavis ships. Third-party schemes plug in with ``registering(_:)``.
///
/// ```swift
/// let resolver = SecretResolver([EnvironmentSource(), MySource()])
/// let secret = try await resolver.secret(for: "env:APP_SECRET")
/// ```
public struct SecretResolver: Sendable {
    private var sourcesByScheme: [String: any SecretSource]
    private let explicitLogger: Logger?
    /// Where each resolution is logged at debug level (`clavis.reference`, `clavis.source`; never
    /// a value): the logger given, else the task's (`Logger.current`, swift-log's way for libraries).
    public var logger: Logger { explicitLogger ?? Logger.current }

    /// Creates a resolver serving every scheme of every source. A later source wins a scheme
    /// claimed twice.
    public init(_ sources: [any SecretSource] = [], logger: Logger? = nil) {
        explicitLogger = logger
        sourcesByScheme = [:]
        for source in sources {
            for scheme in source.schemes { sourcesByScheme[scheme.lowercased()] = source }
        }
    }

    /// The schemes this resolver serves, sorted.
    public var schemes: [String] { sourcesByScheme.keys.sorted() }

    /// A copy that also serves `source`'s schemes (replacing any source that served them).
    public func registering(_ source: any SecretSource) -> SecretResolver {
        var copy = self
        for scheme in source.schemes { copy.sourcesByScheme[scheme.lowercased()] = source }
        return copy
    }

    /// The source serving `reference`'s scheme.
    public func source(for reference: SecretReference) throws -> any SecretSource {
        guard let source = sourcesByScheme[reference.scheme] else {
            throw ClavisError(.unknownScheme, reference: reference.description,
                              reason: "no source serves the '\(reference.scheme):' scheme",
                              hint: "known schemes: \(schemes.map { "\($0):" }.joined(separator: ", "))")
        }
        return source
    }

    /// The writable source serving `reference`'s scheme, or a ``ClavisError/Code/readOnly`` error.
    public func writableSource(for reference: SecretReference, operation: String = "store") throws -> any WritableSecretSource {
        let source = try source(for: reference)
        guard let writable = source as? any WritableSecretSource else {
            throw ClavisError.unsupported(operation, by: source, reference: reference)
        }
        return writable
    }

    /// Reads the secret `reference` names (one debug line: the reference and the source).
    public func secret(for reference: SecretReference) async throws -> Secret {
        let source = try source(for: reference)
        logger.debug("resolving secret", metadata: ["clavis.reference": "\(reference)", "clavis.source": "\(source.sourceDescription)"])
        return try await source.secret(for: reference)
    }

    /// Parses `reference` and reads the secret it names.
    public func secret(for reference: String) async throws -> Secret {
        try await secret(for: SecretReference(parsing: reference))
    }

    /// Stores `secret` under `reference`.
    public func store(_ secret: Secret, for reference: SecretReference) async throws {
        try await writableSource(for: reference, operation: "store").store(secret, for: reference)
    }

    /// Deletes the secret `reference` names.
    public func delete(_ reference: SecretReference) async throws {
        try await writableSource(for: reference, operation: "delete").delete(reference)
    }

    /// The reference of `name` inside `container` (what ``listNames(in:)`` listed).
    public func reference(named name: String, in container: SecretReference) throws -> SecretReference {
        try source(for: container).reference(named: name, in: container)
    }

    /// Lists the names in the container `container` names.
    public func listNames(in container: SecretReference) async throws -> [String] {
        try await source(for: container).listNames(in: container)
    }
}
