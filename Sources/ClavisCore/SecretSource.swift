/// Something that can hand out secrets by reference: the environment, a directory of mounted
/// files, an encrypted store, the desktop keyring, a vault.
///
/// A source serves one or more schemes (``schemes``) and reads one secret per call. Everything
/// else has a default: sources that can also list names, write or delete conform to
/// ``WritableSecretSource`` or override ``listNames(in:)``, and say so in ``capabilities`` so
/// callers can ask before they try.
///
/// ```swift
/// struct MySource: SecretSource {
///     var schemes: Set<String> { ["my"] }
///     var sourceDescription: String { "my source" }
///     func secret(for reference: SecretReference) async throws -> Secret { … }
/// }
/// ```
///
/// Conformers throw ``ClavisError`` and never put a secret value in an error or a log line.
public protocol SecretSource: Sendable {
    /// The schemes this source serves, lowercased (e.g. `["env"]`).
    var schemes: Set<String> { get }

    /// A short human description, e.g. `environment variables`. Never contains a secret.
    var sourceDescription: String { get }

    /// What this source can do beyond reading.
    var capabilities: SecretSourceCapabilities { get }

    /// Reads the secret `reference` names.
    ///
    /// - Throws: ``ClavisError`` — ``ClavisError/Code/notFound`` when the source has no such
    ///   secret, ``ClavisError/Code/sourceUnavailable`` when it cannot be used here, or another code.
    func secret(for reference: SecretReference) async throws -> Secret

    /// Lists the names of the secrets in the container `container` names (a directory, a store, a
    /// keyring service), sorted. Names, never values.
    func listNames(in container: SecretReference) async throws -> [String]

    /// Checks whether this source is usable on this machine (for `clavis doctor`). Never prompts,
    /// never reads a secret value.
    func diagnose() async -> [SourceDiagnosis]

    /// The reference of the secret called `name` inside `container` — the inverse of
    /// ``listNames(in:)``. By default `container#name`; sources whose references name items
    /// differently (e.g. `keyring:SERVICE/USERNAME`) override it.
    func reference(named name: String, in container: SecretReference) throws -> SecretReference
}

/// A source that can also store and delete secrets.
public protocol WritableSecretSource: SecretSource {
    /// Stores `secret` under `reference`, replacing any value it had.
    func store(_ secret: Secret, for reference: SecretReference) async throws

    /// Deletes the secret `reference` names.
    ///
    /// - Throws: ``ClavisError/Code/notFound`` when there was nothing to delete.
    func delete(_ reference: SecretReference) async throws
}

/// What a source can do beyond reading one secret.
public struct SecretSourceCapabilities: OptionSet, Sendable, Hashable {
    /// The bit mask.
    public let rawValue: Int
    /// Creates capabilities from a bit mask.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// ``SecretSource/listNames(in:)`` works.
    public static let list = SecretSourceCapabilities(rawValue: 1 << 0)
    /// ``WritableSecretSource/store(_:for:)`` works.
    public static let write = SecretSourceCapabilities(rawValue: 1 << 1)
    /// ``WritableSecretSource/delete(_:)`` works.
    public static let delete = SecretSourceCapabilities(rawValue: 1 << 2)

    /// Read, list, write and delete.
    public static let all: SecretSourceCapabilities = [.list, .write, .delete]
}

extension SecretSource {
    /// By default a source can only read.
    public var capabilities: SecretSourceCapabilities { [] }

    /// By default listing is refused with a ``ClavisError/Code/readOnly`` error naming the source.
    public func listNames(in container: SecretReference) async throws -> [String] {
        throw ClavisError.unsupported("list", by: self, reference: container)
    }

    /// `container#name`.
    public func reference(named name: String, in container: SecretReference) throws -> SecretReference {
        try container.appending(item: name)
    }

    /// Checks that `reference` is of a scheme this source serves.
    public func checkScheme(of reference: SecretReference) throws {
        guard schemes.contains(reference.scheme) else {
            throw ClavisError(.invalidReference, reference: reference.description,
                              reason: "\(sourceDescription) does not serve the '\(reference.scheme):' scheme")
        }
    }
}

extension ClavisError {
    /// The error a source gives for an operation it does not support.
    public static func unsupported(_ operation: String, by source: any SecretSource, reference: SecretReference) -> ClavisError {
        ClavisError(.readOnly, reference: reference.description,
                    reason: "\(source.sourceDescription) cannot \(operation) secrets",
                    hint: "use a writable source such as age: or keyring: to \(operation)")
    }
}
