/// A writable source that keeps a few short text annotations **with** a secret — in the same item,
/// entry or version, written together with the value — so facts about the value (which Entra ID
/// credential it is, when the previous one may be removed) cannot drift from it the way a side
/// file can.
///
/// Where each source keeps them: `keyring:` as attributes of the item, `age:` in the store entry
/// (encrypted with the value), `keyvault:` as tags of the new version. Annotations are not secret
/// (keyring attributes and vault tags are stored in the clear): never put a value in one.
///
/// Only keys starting with ``clavisPrefix`` are Clavis's; a source keeps any other attribute or tag
/// another tool gave the item. A plain ``WritableSecretSource/store(_:for:)`` drops the Clavis
/// annotations (they described the previous value).
///
/// ```swift
/// if let annotated = source as? any AnnotatedSecretSource {
///     try await annotated.store(newSecret, annotations: ["clavis-key-id": keyId], for: reference)
/// }
/// ```
public protocol AnnotatedSecretSource: WritableSecretSource {
    /// The Clavis annotations stored with the secret `reference` names (keys starting with
    /// ``clavisPrefix``); empty when it has none.
    ///
    /// - Throws: ``ClavisError/Code/notFound`` when there is no such secret.
    func annotations(for reference: SecretReference) async throws -> [String: String]

    /// Stores `secret` under `reference` with exactly these Clavis annotations (replacing the ones
    /// it had), as one write where the source allows it.
    func store(_ secret: Secret, annotations: [String: String], for reference: SecretReference) async throws
}

/// The prefix of every annotation key Clavis writes.
public let clavisPrefix = "clavis-"

extension SecretResolver {
    /// The source serving `reference` if it can keep annotations with a secret, else a
    /// ``ClavisError/Code/readOnly`` error saying which sources can.
    public func annotatedSource(for reference: SecretReference, operation: String) throws -> any AnnotatedSecretSource {
        let source = try source(for: reference)
        guard let annotated = source as? any AnnotatedSecretSource else {
            throw ClavisError(.readOnly, reference: reference.description,
                              reason: "\(source.sourceDescription) cannot \(operation): it cannot store a new value together with the facts that go with it",
                              hint: "keep the secret in a keyring:, age: or keyvault: reference (copy it with `clavis secret copy`)")
        }
        return annotated
    }
}
