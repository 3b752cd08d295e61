/// Several references to one secret, tried in order: the first source that has it wins.
///
/// A member that does not have the secret, or whose source cannot be used here
/// (``ClavisError/isFallThrough``), passes to the next. Any other failure — a corrupted store, a
/// wrong key, a locked keyring — stops the chain, because silently skipping it could serve a
/// different secret than the operator meant. When every member falls through, the error lists
/// each member with its reason.
///
/// ```swift
/// let chain = SecretChain(["credential:app-secret", "keyring:defender-daemon/app-secret"], resolver: resolver)
/// let secret = try await chain.secret()
/// ```
public struct SecretChain: Sendable {
    /// The references, in the order they are tried.
    public let references: [SecretReference]
    /// The resolver that reads each reference.
    public let resolver: SecretResolver

    /// Creates a chain over parsed references.
    public init(_ references: [SecretReference], resolver: SecretResolver) {
        self.references = references
        self.resolver = resolver
    }

    /// Creates a chain from reference strings.
    public init(_ references: [String], resolver: SecretResolver) throws {
        self.init(try references.map(SecretReference.init(parsing:)), resolver: resolver)
    }

    /// Reads the secret from the first member that has it, and says which member that was.
    public func resolve() async throws -> (secret: Secret, reference: SecretReference) {
        var reasons: [String] = []
        var allNotFound = true
        for reference in references {
            do {
                return (try await resolver.secret(for: reference), reference)
            } catch let error as ClavisError where error.isFallThrough {
                reasons.append("\(reference): \(error.reason)")
                allNotFound = allNotFound && error.code.is(.notFound)
            }
        }
        throw ClavisError(allNotFound ? .notFound : .sourceUnavailable,
                          reference: references.map(\.description).joined(separator: " | "),
                          reason: reasons.isEmpty ? "the chain is empty" : "no member had it: " + reasons.joined(separator: "; "))
    }

    /// Reads the secret from the first member that has it.
    public func secret() async throws -> Secret {
        try await resolve().secret
    }
}
