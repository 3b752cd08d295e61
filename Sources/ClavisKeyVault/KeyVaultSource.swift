import ClavisCore
import ClavisIdentity
import Foundation

/// `keyvault:https://VAULT.vault.azure.net/secrets/NAME[/VERSION]` — a secret in Azure Key Vault,
/// read at run time with any ``TokenCredential`` (managed identity, workload identity, a
/// certificate, or a secret held in another source).
///
/// Wrap it in ``CachedSecretSource`` (``cached(ttl:refreshAhead:)``) so reads within the TTL never
/// reach the vault and a refresh ahead of expiry does not stall readers.
public struct KeyVaultSource: AnnotatedSecretSource {
    let client: KeyVaultClient
    let allowedHosts: Set<String>

    /// Creates the source. `allowedHosts` admits vault hosts outside the Azure vault domains (the
    /// emulator's `127.0.0.1`); `CLAVIS_KEYVAULT_ALLOWED_HOSTS` (comma-separated) adds more.
    public init(credential: any TokenCredential, transport: HTTPTransport = HTTPTransport(), allowedHosts: Set<String> = [],
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        client = KeyVaultClient(credential: credential, transport: transport)
        var hosts = allowedHosts
        for host in (environment["CLAVIS_KEYVAULT_ALLOWED_HOSTS"] ?? "").split(separator: ",") {
            hosts.insert(host.trimmingCharacters(in: .whitespaces).lowercased())
        }
        self.allowedHosts = hosts
    }

    /// `["keyvault"]`.
    public var schemes: Set<String> { ["keyvault"] }
    /// `Azure Key Vault`.
    public var sourceDescription: String { "Azure Key Vault" }
    /// Read, list, write, delete.
    public var capabilities: SecretSourceCapabilities { .all }

    /// This source behind a cache.
    public func cached(ttl: Duration = .seconds(300), refreshAhead: Duration = .seconds(60)) -> CachedSecretSource<KeyVaultSource> {
        CachedSecretSource(self, ttl: ttl, refreshAhead: refreshAhead)
    }

    /// The client this source reads and writes with, for what only Key Vault offers (attributes,
    /// recover, purge, deleted secrets).
    public var vaultClient: KeyVaultClient { client }

    /// Where `reference` points (`requireName`: it must name a secret, not just the vault).
    public func location(_ reference: SecretReference, requireName: Bool) throws -> KeyVaultLocation {
        try checkScheme(of: reference)
        let location = try KeyVaultLocation(reference.locator, reference: reference.description, allowedHosts: allowedHosts)
        if requireName, location.name == nil {
            throw ClavisError.invalidReference(reference.description, reason: "name the secret: keyvault:\(location.vault.absoluteString)/secrets/NAME")
        }
        return location
    }

    /// Reads the secret (latest version unless the reference names one).
    public func secret(for reference: SecretReference) async throws -> Secret {
        try await client.get(location(reference, requireName: true), reference: reference.description).value
    }

    /// Lists the vault's secret names.
    public func listNames(in container: SecretReference) async throws -> [String] {
        try await client.listNames(location(container, requireName: false), reference: container.description)
    }

    /// Stores a new version.
    public func store(_ secret: Secret, for reference: SecretReference) async throws {
        let location = try location(reference, requireName: true)
        guard location.version == nil else {
            throw ClavisError.invalidReference(reference.description, reason: "a write creates a new version; leave the version out")
        }
        try await client.set(location, value: secret, reference: reference.description)
    }

    /// The Clavis annotations: the `clavis-…` tags of the latest version.
    public func annotations(for reference: SecretReference) async throws -> [String: String] {
        let location = try location(reference, requireName: true)
        return try await client.properties(location, reference: reference.description).tags.filter { $0.key.hasPrefix(clavisPrefix) }
    }

    /// Stores a new version carrying the annotations as tags (one PUT), keeping the tags other
    /// tools gave the previous version.
    public func store(_ secret: Secret, annotations: [String: String], for reference: SecretReference) async throws {
        let location = try location(reference, requireName: true)
        guard location.version == nil else {
            throw ClavisError.invalidReference(reference.description, reason: "a write creates a new version; leave the version out")
        }
        var tags: [String: String] = [:]
        do {
            tags = try await client.properties(location, reference: reference.description).tags.filter { !$0.key.hasPrefix(clavisPrefix) }
        } catch let error as ClavisError where error.code == .notFound {}
        tags.merge(annotations) { $1 }
        try await client.set(location, value: secret, tags: tags, reference: reference.description)
    }

    /// Deletes the secret (soft delete).
    public func delete(_ reference: SecretReference) async throws {
        try await client.delete(location(reference, requireName: true), reference: reference.description)
    }

    /// `keyvault:VAULT/secrets/NAME`.
    public func reference(named name: String, in container: SecretReference) throws -> SecretReference {
        let location = try location(container, requireName: false)
        return try SecretReference(scheme: "keyvault", locator: location.vault.absoluteString + "/secrets/" + name)
    }
}
