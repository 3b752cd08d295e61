import ClavisCore
import Foundation

/// A secret as Key Vault returns it.
public struct KeyVaultSecret: Sendable {
    /// The value.
    public var value: Secret
    /// The full identifier, `https://VAULT/secrets/NAME/VERSION`.
    public var id: String
    /// The content type, if set.
    public var contentType: String?
    /// Whether it is enabled.
    public var enabled: Bool
    /// Tags.
    public var tags: [String: String]
}

/// A secret's attributes and metadata, never its value (list items, `secret info`).
public struct KeyVaultSecretProperties: Sendable, Codable, Equatable {
    /// The identifier, `https://VAULT/secrets/NAME[/VERSION]`.
    public var id: String
    /// The name, with the casing it was created with.
    public var name: String
    /// The version (32 hex characters), when the id names one.
    public var version: String?
    /// Whether it is enabled (a disabled secret cannot be read: 403 `SecretDisabled`).
    public var enabled: Bool
    /// Created, Unix seconds.
    public var created: Int?
    /// Last updated, Unix seconds.
    public var updated: Int?
    /// Not valid before, Unix seconds (informational: Key Vault still returns the value).
    public var notBefore: Int?
    /// Expires, Unix seconds (informational: Key Vault still returns the value).
    public var expires: Int?
    /// The content type, if set.
    public var contentType: String?
    /// Tags.
    public var tags: [String: String]
    /// The vault's recovery level, e.g. `Recoverable+Purgeable`.
    public var recoveryLevel: String?
    /// Days a deleted secret stays recoverable.
    public var recoverableDays: Int?

    /// Parses a SecretBundle or SecretItem (any `value` in it is ignored).
    init?(_ object: [String: Any]) {
        guard let id = object["id"] as? String else { return nil }
        let path = URL(string: id)?.path.split(separator: "/").map(String.init) ?? []
        guard path.count >= 2 else { return nil }
        let attributes = object["attributes"] as? [String: Any] ?? [:]
        func int(_ key: String) -> Int? { (attributes[key] as? NSNumber)?.intValue }
        self.id = id
        name = path[1]
        version = path.count > 2 ? path[2] : nil
        enabled = attributes["enabled"] as? Bool ?? true
        created = int("created")
        updated = int("updated")
        notBefore = int("nbf")
        expires = int("exp")
        contentType = object["contentType"] as? String
        tags = object["tags"] as? [String: String] ?? [:]
        recoveryLevel = attributes["recoveryLevel"] as? String
        recoverableDays = int("recoverableDays")
    }
}

/// A soft-deleted secret: its properties and when it goes for good.
public struct KeyVaultDeletedSecret: Sendable, Codable, Equatable {
    /// The secret's properties.
    public var properties: KeyVaultSecretProperties
    /// The URL to recover or purge it, `https://VAULT/deletedsecrets/NAME`.
    public var recoveryId: String?
    /// When it was deleted, Unix seconds.
    public var deletedDate: Int?
    /// When Key Vault purges it, Unix seconds.
    public var scheduledPurgeDate: Int?

    init?(_ object: [String: Any]) {
        guard let properties = KeyVaultSecretProperties(object) else { return nil }
        self.properties = properties
        recoveryId = object["recoveryId"] as? String
        deletedDate = (object["deletedDate"] as? NSNumber)?.intValue
        scheduledPurgeDate = (object["scheduledPurgeDate"] as? NSNumber)?.intValue
    }
}

/// How the client waits for Key Vault's asynchronous operations: after delete and recover it polls
/// as the Azure SDK does (azure-keyvault-secrets `_shared/_polling.py`: `GET /deletedsecrets/{name}`
/// after delete, `GET /secrets/{name}` after recover, until 200; a 403 also ends the wait), and a
/// 409 `ObjectIsBeingDeleted` (a purge or delete still in progress) is retried with the transport's
/// backoff — both bounded by `timeout`.
public struct KeyVaultPolling: Sendable {
    /// The wait between polls.
    public var interval: Duration
    /// The longest to poll or retry before giving up.
    public var timeout: Duration

    /// Creates a policy.
    public init(interval: Duration = .seconds(1), timeout: Duration = .seconds(60)) {
        self.interval = interval
        self.timeout = timeout
    }

    /// Polls every second for up to a minute (Azure completes these in seconds).
    public static let `default` = KeyVaultPolling()
}
