import ClavisCore
import ClavisIdentity
import Foundation
import Synchronization

/// The Key Vault secrets REST API (api-version 7.6) with challenge-based authentication.
///
/// The first request to a vault goes without a token; the 401 challenge names the authority
/// (tenant) and resource. The client refuses a challenge whose resource is not the vault's
/// domain's (a hostile vault URL must not harvest tokens) or whose `scope` and `resource`
/// disagree, then asks the credential for a token for exactly that resource, naming the
/// challenge's tenant — which the credential honours only when it is its own tenant or one of its
/// additionally allowed tenants — and repeats the request. The challenge is remembered per vault.
/// A `nextLink` is followed only to the vault's own origin (scheme, host and port). A 401 with an
/// unchanged challenge (the token was refused although it looked valid: revoked, or issued before a
/// role change) drops the cached token and tries once more with a fresh one, as the Azure SDKs do
/// (azure-keyvault-secrets `_shared/challenge_auth_policy.py`). Delete and recover wait until Key
/// Vault has completed them, and a 409 `ObjectIsBeingDeleted` is retried (``KeyVaultPolling``).
public struct KeyVaultClient: Sendable {
    /// The api-version sent.
    public static let apiVersion = "7.6"
    let credential: any TokenCredential
    let transport: HTTPTransport
    /// The resource expected for hosts outside the Azure vault domains (the emulator).
    let expectedResource: String
    let challenges = ChallengeCache()

    final class ChallengeCache: Sendable {
        private let state = Mutex<[String: Challenge]>([:])
        func withLock<R>(_ body: (inout [String: Challenge]) -> R) -> R { state.withLock { body(&$0) } }
    }

    struct Challenge: Sendable, Equatable {
        /// The tenant the challenge's authorization URL names.
        var tenant: String?
        /// The validated resource; the token is requested for exactly this.
        var resource: String
    }

    /// How delete and recover are awaited and `ObjectIsBeingDeleted` is retried.
    let polling: KeyVaultPolling

    /// Creates a client.
    public init(credential: any TokenCredential, transport: HTTPTransport = HTTPTransport(), expectedResource: String = "https://vault.azure.net",
                polling: KeyVaultPolling = .default) {
        self.credential = credential
        self.transport = transport
        self.expectedResource = expectedResource
        self.polling = polling
    }

    /// Reads a secret (latest or a version).
    public func get(_ location: KeyVaultLocation, reference: String) async throws -> KeyVaultSecret {
        let path = "/secrets/\(location.name ?? "")" + (location.version.map { "/\($0)" } ?? "")
        let reply = try await send(.GET, location, path: path, reference: reference, operation: "get")
        return try Self.secret(from: reply, reference: reference)
    }

    /// A secret's attributes, content type and tags (latest or a version), never its value. A
    /// disabled version cannot be read (403 `SecretDisabled`), so its properties come from the
    /// versions list instead.
    public func properties(_ location: KeyVaultLocation, reference: String) async throws -> KeyVaultSecretProperties {
        let path = "/secrets/\(location.name ?? "")" + (location.version.map { "/\($0)" } ?? "")
        let reply: HTTPReply
        do {
            reply = try await send(.GET, location, path: path, reference: reference, operation: "get")
        } catch let error as ClavisError where error.serviceReply?.status == 403 && error.serviceReply?.specificCode == "SecretDisabled" {
            let versions = try await list(location, path: "/secrets/\(location.name ?? "")/versions", reference: reference).compactMap(KeyVaultSecretProperties.init)
            let chosen = location.version.map { wanted in versions.first { $0.version?.lowercased() == wanted.lowercased() } }
                ?? versions.max { ($0.created ?? 0, $0.updated ?? 0) < ($1.created ?? 0, $1.updated ?? 0) }
            guard let chosen else { throw error }
            return chosen
        }
        guard let object = reply.jsonObject, let properties = KeyVaultSecretProperties(object) else {
            throw ClavisError(.serviceError, reference: reference, reason: "Key Vault's reply is not a secret bundle")
        }
        return properties
    }

    /// Creates a new version of a secret. `notBefore` and `expires` are stored as attributes
    /// (informational: Key Vault still returns the value outside them).
    @discardableResult
    public func set(_ location: KeyVaultLocation, value: Secret, contentType: String? = nil, tags: [String: String] = [:],
                    notBefore: Date? = nil, expires: Date? = nil, enabled: Bool? = nil, reference: String) async throws -> KeyVaultSecretProperties {
        guard value.count <= 25 * 1024 else {
            throw ClavisError(.invalidValue, reference: reference, reason: "Key Vault secrets are limited to 25 KB; this one is \(value.count) bytes")
        }
        guard tags.count <= 15 else { throw ClavisError(.invalidValue, reference: reference, reason: "Key Vault allows at most 15 tags; \(tags.count) were given") }
        guard let text = value.revealedString() else { throw ClavisError(.invalidValue, reference: reference, reason: "Key Vault secrets are text; this value is not UTF-8") }
        var body: [String: Any] = ["value": text]
        if let contentType { body["contentType"] = contentType }
        if !tags.isEmpty { body["tags"] = tags }
        var attributes: [String: Any] = [:]
        if let notBefore { attributes["nbf"] = Int(notBefore.timeIntervalSince1970) }
        if let expires { attributes["exp"] = Int(expires.timeIntervalSince1970) }
        if let enabled { attributes["enabled"] = enabled }
        if !attributes.isEmpty { body["attributes"] = attributes }
        let data = try JSONSerialization.data(withJSONObject: body)
        let reply = try await send(.PUT, location, path: "/secrets/\(location.name ?? "")", body: Array(data), reference: reference, operation: "set")
        guard let object = reply.jsonObject, let properties = KeyVaultSecretProperties(object) else {
            throw ClavisError(.serviceError, reference: reference, reason: "Key Vault's reply is not a secret bundle")
        }
        return properties
    }

    /// Enables or disables a version (the latest when the location names none), with
    /// `PATCH /secrets/{name}/{version}`.
    @discardableResult
    public func setEnabled(_ enabled: Bool, _ location: KeyVaultLocation, reference: String) async throws -> KeyVaultSecretProperties {
        let body = try JSONSerialization.data(withJSONObject: ["attributes": ["enabled": enabled]])
        let reply = try await send(.PATCH, location, path: "/secrets/\(location.name ?? "")/\(location.version ?? "")", body: Array(body),
                                   reference: reference, operation: "set")
        guard let object = reply.jsonObject, let properties = KeyVaultSecretProperties(object) else {
            throw ClavisError(.serviceError, reference: reference, reason: "Key Vault's reply is not a secret bundle")
        }
        return properties
    }

    /// Deletes a secret (soft delete: recoverable until purged) and waits until Key Vault lists it
    /// as deleted. A vault without soft delete answers with no `recoveryId`: the secret is gone at
    /// once and there is nothing to wait for (azure-keyvault-secrets `_shared/_polling.py`,
    /// `DeletePollingMethod`: finished when soft delete is disabled).
    public func delete(_ location: KeyVaultLocation, reference: String) async throws {
        let name = location.name ?? ""
        let reply = try await send(.DELETE, location, path: "/secrets/\(name)", reference: reference, operation: "delete")
        guard reply.jsonObject?["recoveryId"] is String else { return }
        try await poll(location, path: "/deletedsecrets/\(name)", reference: reference, what: "the deletion")
    }

    /// Recovers a soft-deleted secret (all its versions) and waits until it can be read again.
    public func recover(_ location: KeyVaultLocation, reference: String) async throws {
        let name = location.name ?? ""
        _ = try await send(.POST, location, path: "/deletedsecrets/\(name)/recover", body: [], reference: reference, operation: "recover")
        try await poll(location, path: "/secrets/\(name)", reference: reference, what: "the recovery")
    }

    /// Purges a soft-deleted secret for good, freeing its name (Key Vault frees it a few seconds
    /// later: a write meanwhile is retried on `ObjectIsBeingDeleted`).
    public func purge(_ location: KeyVaultLocation, reference: String) async throws {
        _ = try await send(.DELETE, location, path: "/deletedsecrets/\(location.name ?? "")", reference: reference, operation: "purge")
    }

    /// A soft-deleted secret.
    public func deleted(_ location: KeyVaultLocation, reference: String) async throws -> KeyVaultDeletedSecret {
        let reply = try await send(.GET, location, path: "/deletedsecrets/\(location.name ?? "")", reference: reference, operation: "get")
        guard let object = reply.jsonObject, let deleted = KeyVaultDeletedSecret(object) else {
            throw ClavisError(.serviceError, reference: reference, reason: "Key Vault's reply is not a deleted secret bundle")
        }
        return deleted
    }

    /// The soft-deleted secrets, with when each was deleted and is purged.
    public func listDeleted(_ location: KeyVaultLocation, reference: String) async throws -> [KeyVaultDeletedSecret] {
        try await list(location, path: "/deletedsecrets", reference: reference).compactMap(KeyVaultDeletedSecret.init)
            .sorted { $0.properties.name.lowercased() < $1.properties.name.lowercased() }
    }

    /// The names of soft-deleted secrets.
    public func listDeletedNames(_ location: KeyVaultLocation, reference: String) async throws -> [String] {
        try await listDeleted(location, reference: reference).map(\.properties.name)
    }

    /// The vault's secrets' properties, following `nextLink` across pages.
    public func listProperties(_ location: KeyVaultLocation, reference: String) async throws -> [KeyVaultSecretProperties] {
        try await list(location, path: "/secrets", reference: reference).compactMap(KeyVaultSecretProperties.init)
            .sorted { $0.name.lowercased() < $1.name.lowercased() }
    }

    /// The names of the vault's secrets, following `nextLink` across pages.
    public func listNames(_ location: KeyVaultLocation, reference: String) async throws -> [String] {
        try await listProperties(location, reference: reference).map(\.name)
    }

    /// The versions of a secret.
    public func listVersions(_ location: KeyVaultLocation, reference: String) async throws -> [String] {
        try await list(location, path: "/secrets/\(location.name ?? "")/versions", reference: reference)
            .compactMap { KeyVaultSecretProperties($0)?.version }
    }

    static func secret(from reply: HTTPReply, reference: String) throws -> KeyVaultSecret {
        guard let object = reply.jsonObject, let value = object["value"] as? String, let id = object["id"] as? String else {
            throw ClavisError(.serviceError, reference: reference, reason: "Key Vault's reply has no secret value")
        }
        let attributes = object["attributes"] as? [String: Any]
        return KeyVaultSecret(value: Secret(value), id: id, contentType: object["contentType"] as? String,
                              enabled: attributes?["enabled"] as? Bool ?? true, tags: object["tags"] as? [String: String] ?? [:])
    }
}
