import ClavisCore

/// `age:/path/store.age#NAME` — a secret in an age-encrypted store (see ``AgeStore``).
///
/// The path must be absolute. `age:/path/store.age` (no `#NAME`) names the whole store, for
/// listing. How the store is unlocked is set by ``unlock``.
public struct AgeSource: AnnotatedSecretSource {
    /// How stores are unlocked.
    public var unlock: AgeUnlock

    /// Creates the source.
    public init(unlock: AgeUnlock = AgeUnlock()) { self.unlock = unlock }

    /// `["age"]`.
    public var schemes: Set<String> { ["age"] }
    /// `age-encrypted stores`.
    public var sourceDescription: String { "age-encrypted stores" }
    /// Read, list, write, delete.
    public var capabilities: SecretSourceCapabilities { .all }

    /// Reads a secret.
    public func secret(for reference: SecretReference) async throws -> Secret {
        let (store, name) = try parts(of: reference, requireName: true)
        return try await Self.offPool { try store.secret(named: name ?? "") }
    }

    /// Lists the store's names.
    public func listNames(in container: SecretReference) async throws -> [String] {
        let (store, _) = try parts(of: container, requireName: false)
        return try await Self.offPool { try store.names() }
    }

    /// Stores a secret (locked, atomic).
    public func store(_ secret: Secret, for reference: SecretReference) async throws {
        let (store, name) = try parts(of: reference, requireName: true)
        try await Self.offPool { try store.store(secret, named: name ?? "") }
    }

    /// The Clavis annotations kept in the secret's entry.
    public func annotations(for reference: SecretReference) async throws -> [String: String] {
        let (store, name) = try parts(of: reference, requireName: true)
        return try await Self.offPool { try store.annotations(named: name ?? "") }
    }

    /// Stores a secret and its annotations in one atomic write of the store.
    public func store(_ secret: Secret, annotations: [String: String], for reference: SecretReference) async throws {
        let (store, name) = try parts(of: reference, requireName: true)
        try await Self.offPool { try store.store(secret, named: name ?? "", annotations: annotations) }
    }

    /// Deletes a secret (locked, atomic).
    public func delete(_ reference: SecretReference) async throws {
        let (store, name) = try parts(of: reference, requireName: true)
        try await Self.offPool { try store.delete(named: name ?? "") }
    }

    /// Reports whether an identity or passphrase is configured, and the identity files' safety.
    public func diagnose() async -> [SourceDiagnosis] {
        let paths = unlock.identityPaths()
        guard !paths.isEmpty else {
            return [SourceDiagnosis(scheme: "age", check: "identity", status: .warning, detail: "no identity configured",
                                    hint: "set CLAVIS_AGE_IDENTITY_FILE or LoadCredential=clavis-age-identity:…; passphrase stores use CLAVIS_PASSPHRASE_FILE")]
        }
        return paths.map { file in
            do {
                _ = try AgeUnlock.readPrivateFile(file, what: "identity file", reference: "age:")
                return SourceDiagnosis(scheme: "age", check: "identity file", status: .ok, detail: "\(file.path) is private and readable")
            } catch let error as ClavisError {
                return SourceDiagnosis(scheme: "age", check: "identity file", status: .unavailable, detail: error.reason, hint: error.hint)
            } catch {
                return SourceDiagnosis(scheme: "age", check: "identity file", status: .unavailable, detail: "\(error)")
            }
        }
    }

    private func parts(of reference: SecretReference, requireName: Bool) throws -> (AgeStore, String?) {
        try checkScheme(of: reference)
        guard reference.locator.hasPrefix("/"), reference.query.isEmpty else {
            throw ClavisError.invalidReference(reference.description, reason: "age: takes an absolute store path, as in age:/etc/clavis/store.age#NAME")
        }
        if requireName, reference.item == nil {
            throw ClavisError.invalidReference(reference.description, reason: "name the secret after '#', as in age:\(reference.locator)#NAME")
        }
        return (AgeStore(path: reference.locator, unlock: unlock), reference.item)
    }

    /// Runs blocking file and scrypt work off Swift's cooperative pool.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detach { continuation.resume(with: Result { try body() }) }
        }
    }
}

import Foundation

extension Thread {
    /// Starts `body` on a new thread.
    fileprivate static func detach(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread { body() }
        thread.start()
    }
}
