import Foundation

/// The emulator's world: tenants, app registrations and managed identities, as JSON.
/// See docs/emulator.md for the format.
public struct EmulatorConfig: Codable, Sendable {
    /// The tenants.
    public var tenants: [Tenant]
    /// Token lifetime in seconds (Entra: ~3599).
    public var tokenLifetime: Int?
    /// `refresh_in` to send (seconds), if any.
    public var refreshIn: Int?
    /// Key vaults, each served at the root of its own origin (a port of its own), as Azure serves
    /// `https://NAME.vault.azure.net`.
    public var vaults: [Vault]?
    /// The Defender XDR API stand-in.
    public var defender: Defender?
    /// The value App Service managed identity requires in `X-IDENTITY-HEADER` (its `IDENTITY_HEADER`);
    /// nil: any non-empty value.
    public var identityHeader: String?
    /// Custom resources configured to accept v2 tokens (`accessTokenAcceptedVersion: 2`); every other
    /// resource — Microsoft's APIs included — gets v1 tokens from either endpoint.
    public var v2Resources: [String]?
    /// How long a password credential added with Graph `addPassword` takes to replicate before the
    /// token endpoint accepts it, in milliseconds (default 0). Meanwhile it answers AADSTS7000215,
    /// as Entra does for a few seconds to minutes after a secret is created.
    public var secretReplicationMilliseconds: Int?

    /// The Defender side: generated incidents and the rate limit.
    public struct Defender: Codable, Sendable {
        /// How many incidents to generate (deterministically).
        public var incidents: Int
        /// Defender incidents calls allowed per minute before 429 (default 50, the documented quota; 0: no limit).
        public var callsPerMinute: Int?
        /// The port Graph `@odata.nextLink`s use instead of the request's; for tests of hostile paging.
        public var nextLinkPort: Int?
        // Quotas and timeouts (issue 15; docs/emulator.md "Defender and Graph"). Each defaults to the documented
        // number when absent; 0 turns that limit off. `callsPerMinute` above is the Defender incidents minute quota.
        /// Defender incidents calls per hour (default 1,500; D-LIST).
        public var callsPerHour: Int?
        /// Defender advanced-hunting calls per minute (default 45; D-AH).
        public var huntingPerMinute: Int?
        /// Microsoft Graph `/security` calls per minute (default 150; G-THR), a bucket of its own.
        public var graphPerMinute: Int?
        /// Seconds a hunting query may run before the service times it out (default 180; D-AH).
        public var huntingTimeoutSeconds: Int?

        /// Creates the Defender side.
        public init(incidents: Int = 120, callsPerMinute: Int? = nil, nextLinkPort: Int? = nil, callsPerHour: Int? = nil,
                    huntingPerMinute: Int? = nil, graphPerMinute: Int? = nil, huntingTimeoutSeconds: Int? = nil) {
            self.incidents = incidents
            self.callsPerMinute = callsPerMinute
            self.nextLinkPort = nextLinkPort
            self.callsPerHour = callsPerHour
            self.huntingPerMinute = huntingPerMinute
            self.graphPerMinute = graphPerMinute
            self.huntingTimeoutSeconds = huntingTimeoutSeconds
        }
    }

    /// Creates a config.
    public init(tenants: [Tenant], tokenLifetime: Int? = nil, refreshIn: Int? = nil, vaults: [Vault]? = nil, defender: Defender? = nil) {
        self.tenants = tenants
        self.tokenLifetime = tokenLifetime
        self.refreshIn = refreshIn
        self.vaults = vaults
        self.defender = defender
    }

    /// A key vault.
    public struct Vault: Codable, Sendable {
        /// The vault's name (printed with its URL; ids are `https://HOST:PORT/secrets/NAME/VERSION`).
        public var name: String
        /// The port it listens on (nil: the emulator's port + 1 + its index, or any free one when that is 0).
        public var port: Int?
        /// How long delete, recover and purge take to complete, in milliseconds (Azure: about 1–5 s;
        /// default 1000). Meanwhile Key Vault answers 409 `ObjectIsBeingDeleted` / 404.
        public var pendingMilliseconds: Int?
        /// Days a deleted secret stays recoverable (`recoverableDays`, `scheduledPurgeDate`; default 90).
        public var recoverableDays: Int?
        /// The tenant it belongs to (its id).
        public var tenant: String
        /// Initial secrets (name → value).
        public var secrets: [String: String]?
        /// Disabled secrets' names.
        public var disabled: [String]?
        /// Who may do what: client id → operations among `get`, `list`, `set`, `delete`, `recover`,
        /// `purge` (access-policy permissions; RBAC 403s name the matching data action).
        public var access: [String: [String]]
        /// `rbac` (ForbiddenByRbac) or `policy` (ForbiddenByPolicy) in 403 replies.
        public var authorization: String?
        /// List page size (Key Vault: up to 25).
        public var pageSize: Int?
        /// The resource the challenge names (default `https://vault.azure.net`); for tests of hostile vaults.
        public var challengeResource: String?
        /// A `scope` the challenge names besides the resource, if any; for tests of inconsistent challenges.
        public var challengeScope: String?
        /// The scheme `nextLink`s use instead of the request's; for tests of hostile paging.
        public var nextLinkScheme: String?
        /// The port `nextLink`s use instead of the request's; for tests of hostile paging.
        public var nextLinkPort: Int?

        /// Creates a vault.
        public init(name: String, tenant: String, secrets: [String: String]? = nil, disabled: [String]? = nil, access: [String: [String]],
                    authorization: String? = nil, pageSize: Int? = nil, challengeResource: String? = nil, challengeScope: String? = nil,
                    nextLinkScheme: String? = nil, nextLinkPort: Int? = nil, port: Int? = nil, pendingMilliseconds: Int? = nil,
                    recoverableDays: Int? = nil) {
            self.name = name
            self.port = port
            self.pendingMilliseconds = pendingMilliseconds
            self.recoverableDays = recoverableDays
            self.tenant = tenant
            self.secrets = secrets
            self.disabled = disabled
            self.access = access
            self.authorization = authorization
            self.pageSize = pageSize
            self.challengeResource = challengeResource
            self.challengeScope = challengeScope
            self.nextLinkScheme = nextLinkScheme
            self.nextLinkPort = nextLinkPort
        }
    }

    /// One tenant.
    public struct Tenant: Codable, Sendable {
        /// The tenant id (a GUID).
        public var id: String
        /// A verified domain, usable instead of the id (`contoso.onmicrosoft.com`).
        public var domain: String?
        /// App registrations.
        public var apps: [App]
        /// Managed identities (served on the IMDS and App Service endpoints).
        public var managedIdentities: [ManagedIdentity]?

        /// Creates a tenant.
        public init(id: String, domain: String? = nil, apps: [App], managedIdentities: [ManagedIdentity]? = nil) {
            self.id = id
            self.domain = domain
            self.apps = apps
            self.managedIdentities = managedIdentities
        }
    }

    /// An app registration and its service principal.
    public struct App: Codable, Sendable {
        /// The application (client) id.
        public var clientId: String
        /// A display name.
        public var name: String?
        /// Client secrets (values).
        public var secrets: [String]?
        /// PEM certificates whose keys may sign client assertions.
        public var certificates: [String]?
        /// Federated credentials: an external token with this issuer and subject is accepted.
        public var federated: [Federated]?
        /// Application permissions per API (resource URI → roles).
        public var permissions: [String: [String]]?
        /// Whether an admin consented to the permissions (default true).
        public var consented: Bool?
        /// Whether the app is disabled (AADSTS7000112).
        public var disabled: Bool?
        /// Password credentials with their Graph properties (key id, dates); `secrets` above are
        /// password credentials too, valid for two years from the emulator's start.
        public var passwordCredentials: [PasswordCredential]?
        /// The client ids of the apps whose service principals own this application (its own id
        /// makes it "an owner of itself", what `Application.ReadWrite.OwnedBy` needs to rotate).
        public var owners: [String]?

        /// Creates an app.
        public init(clientId: String, name: String? = nil, secrets: [String]? = nil, certificates: [String]? = nil,
                    federated: [Federated]? = nil, permissions: [String: [String]]? = nil, consented: Bool? = nil, disabled: Bool? = nil,
                    passwordCredentials: [PasswordCredential]? = nil, owners: [String]? = nil) {
            self.passwordCredentials = passwordCredentials
            self.owners = owners
            self.clientId = clientId
            self.name = name
            self.secrets = secrets
            self.certificates = certificates
            self.federated = federated
            self.permissions = permissions
            self.consented = consented
            self.disabled = disabled
        }
    }

    /// A client secret with the properties Graph shows for it (passwordCredential,
    /// https://learn.microsoft.com/graph/api/resources/passwordcredential).
    public struct PasswordCredential: Codable, Sendable {
        /// The value.
        public var secret: String
        /// The key id (default: derived from the app and the value).
        public var keyId: String?
        /// The display name.
        public var displayName: String?
        /// When it becomes valid (ISO 8601; default: the emulator's start).
        public var startDateTime: String?
        /// When it expires (ISO 8601; default: two years after the start). After it the token
        /// endpoint answers AADSTS7000222.
        public var endDateTime: String?

        /// Creates one.
        public init(secret: String, keyId: String? = nil, displayName: String? = nil, startDateTime: String? = nil, endDateTime: String? = nil) {
            self.secret = secret
            self.keyId = keyId
            self.displayName = displayName
            self.startDateTime = startDateTime
            self.endDateTime = endDateTime
        }
    }

    /// A federated identity credential.
    public struct Federated: Codable, Sendable {
        /// The external issuer (`iss`).
        public var issuer: String
        /// The external subject (`sub`).
        public var subject: String
        /// Creates one.
        public init(issuer: String, subject: String) {
            self.issuer = issuer
            self.subject = subject
        }
    }

    /// A managed identity.
    public struct ManagedIdentity: Codable, Sendable {
        /// Its client id.
        public var clientId: String
        /// Whether it is the host's system-assigned identity (used when no client id is asked for).
        public var systemAssigned: Bool?
        /// Application permissions per API.
        public var permissions: [String: [String]]?
        /// Creates one.
        public init(clientId: String, systemAssigned: Bool? = nil, permissions: [String: [String]]? = nil) {
            self.clientId = clientId
            self.systemAssigned = systemAssigned
            self.permissions = permissions
        }
    }

    /// Reads a config file: strict — an unknown key (a misspelling) or a value of the wrong type is
    /// an ``EmulatorConfigError`` naming the key path, e.g. `tenants[0].apps[1].secert`.
    public static func load(_ path: String) throws -> EmulatorConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EmulatorConfigError(file: path, message: "cannot be read")
        }
        return try parse(data, file: path)
    }

    /// Parses config JSON strictly (see ``load(_:)``).
    public static func parse(_ data: Data, file: String = "config") throws -> EmulatorConfig {
        let config: EmulatorConfig
        do {
            config = try JSONDecoder().decode(EmulatorConfig.self, from: data)
        } catch let error as DecodingError {
            throw EmulatorConfigError(file: file, message: EmulatorConfigError.describe(error))
        }
        // Every key given must survive a round trip through the model: one that does not is unknown.
        if let given = try? JSONSerialization.jsonObject(with: data),
           let known = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(config)),
           let unknown = EmulatorConfigError.firstUnknownKey(given, known, path: "") {
            throw EmulatorConfigError(file: file, message: "unknown key \(unknown) (misspelled? docs/emulator.md lists every key)")
        }
        return config
    }
}

/// A config file the emulator refuses, with the key path at fault.
public struct EmulatorConfigError: Error, CustomStringConvertible, Sendable {
    /// The file.
    public var file: String
    /// What is wrong, naming the key path.
    public var message: String

    /// `FILE: MESSAGE`.
    public var description: String { "\(file): \(message)" }

    static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.reduce("") { path, key in
            if let index = key.intValue { return path + "[\(index)]" }
            return path.isEmpty ? key.stringValue : path + "." + key.stringValue
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath).isEmpty ? "the top level" : path(context.codingPath)): expected \(name(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(name(type)), found null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required key missing"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context.codingPath)): invalid value"
        @unknown default:
            return "invalid config"
        }
    }

    static func name(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default: String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }

    /// The first key path present in `given` but not in `known` (a null value counts as absent).
    static func firstUnknownKey(_ given: Any, _ known: Any?, path: String) -> String? {
        if let object = given as? [String: Any] {
            let knownObject = known as? [String: Any] ?? [:]
            for key in object.keys.sorted() where !(object[key] is NSNull) && !key.hasPrefix("//") {  // "//…" keys are comments
                let child = path.isEmpty ? key : path + "." + key
                guard let value = knownObject[key] else { return child }
                if let unknown = firstUnknownKey(object[key] as Any, value, path: child) { return unknown }
            }
        } else if let array = given as? [Any] {
            let knownArray = known as? [Any] ?? []
            for (index, element) in array.enumerated() {
                if let unknown = firstUnknownKey(element, index < knownArray.count ? knownArray[index] : nil, path: path + "[\(index)]") { return unknown }
            }
        }
        return nil
    }
}
