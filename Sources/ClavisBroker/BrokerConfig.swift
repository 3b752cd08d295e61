import ClavisCore
import ClavisIdentity
import Foundation

/// The broker's configuration file (JSON; docs/broker.md): where it listens and, for each app
/// identity, how to get its tokens — the credential only **by reference** — which resources it may
/// get tokens for and which local users may ask.
///
/// ```json
/// {"listen": "127.0.0.1:8491",
///  "identities": [{"name": "defender", "tenant": "contoso.onmicrosoft.com", "clientId": "…",
///                  "secret": "keyring:defender-daemon/app-secret",
///                  "resources": ["https://api.security.microsoft.com"], "users": ["svc-poller"]}]}
/// ```
public struct BrokerConfig: Codable, Sendable {
    /// `HOST:PORT` of the managed-identity endpoint; the host must be a loopback address
    /// (default `127.0.0.1:8491`; port 0 picks a free one).
    public var listen: String?
    /// The Unix socket for Clavis's own clients (default `/run/clavis-broker/broker.sock` for
    /// root, else `$XDG_RUNTIME_DIR/clavis-broker/broker.sock`).
    public var socket: String?
    /// Where each user's header files go: a path with `{uid}` and/or `{user}` (default: see
    /// ``BrokerPaths``: `/run/user/{uid}/clavis-broker` when that runtime directory exists, else
    /// `/run/clavis-broker/users/{uid}`).
    public var userDirectory: String?
    /// The authority for every identity without one of its own (default: `AZURE_AUTHORITY_HOST` or public).
    public var authority: String?
    /// The app identities.
    public var identities: [Identity]

    /// One app identity.
    public struct Identity: Codable, Sendable {
        /// Its name: what clients ask for, and the header file's name.
        public var name: String
        /// The tenant id or domain.
        public var tenant: String?
        /// The app's client id.
        public var clientId: String?
        /// A reference to the client secret (`keyring:…`, `age:…`, `keyvault:…`, `credential:…`).
        public var secret: String?
        /// A reference to a PEM holding the app's certificate and private key.
        public var certificate: String?
        /// A federated token file (workload identity federation).
        public var workloadIdentityTokenFile: String?
        /// Use the host's own managed identity (IMDS / App Service) — a broker on an Azure VM.
        public var managedIdentity: Bool?
        /// This identity's authority, if not the broker's.
        public var authority: String?
        /// The resources it may get tokens for, e.g. `https://api.security.microsoft.com`.
        public var resources: [String]
        /// The local users (names or numeric uids) who may use it.
        public var users: [String]

        /// Creates an identity.
        public init(name: String, tenant: String? = nil, clientId: String? = nil, secret: String? = nil, certificate: String? = nil,
                    workloadIdentityTokenFile: String? = nil, managedIdentity: Bool? = nil, authority: String? = nil,
                    resources: [String], users: [String]) {
            self.name = name
            self.tenant = tenant
            self.clientId = clientId
            self.secret = secret
            self.certificate = certificate
            self.workloadIdentityTokenFile = workloadIdentityTokenFile
            self.managedIdentity = managedIdentity
            self.authority = authority
            self.resources = resources
            self.users = users
        }
    }

    /// Creates a configuration.
    public init(listen: String? = nil, socket: String? = nil, userDirectory: String? = nil, authority: String? = nil, identities: [Identity]) {
        self.listen = listen
        self.socket = socket
        self.userDirectory = userDirectory
        self.authority = authority
        self.identities = identities
    }

    /// Reads and checks a configuration file.
    public static func load(_ path: String) throws -> BrokerConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ClavisError(.notFound, reference: path, reason: "the broker configuration cannot be read", cause: error)
        }
        let config: BrokerConfig
        do {
            config = try JSONDecoder().decode(BrokerConfig.self, from: data)
        } catch {
            throw ClavisError(.invalidValue, reference: path, reason: "the broker configuration is not valid: \(Self.describe(error))", cause: error)
        }
        try config.validate(path: path)
        return config
    }

    /// Checks names, listen address and that each identity names exactly one credential.
    public func validate(path: String = "broker configuration") throws {
        let (host, _) = try listenAddress()
        guard Loopback.isLoopback(host) else {
            throw ClavisError(.invalidValue, reference: path, reason: "listen \(host) is not a loopback address; the broker serves this host only")
        }
        var names = Set<String>()
        for identity in identities {
            guard BrokerPaths.isValidIdentityName(identity.name) else {
                throw ClavisError(.invalidValue, reference: path, reason: "identity name '\(identity.name)' must be letters, digits, '.', '_' and '-'")
            }
            guard names.insert(identity.name).inserted else {
                throw ClavisError(.invalidValue, reference: path, reason: "identity '\(identity.name)' is configured twice")
            }
            let kinds = [identity.secret != nil, identity.certificate != nil, identity.workloadIdentityTokenFile != nil, identity.managedIdentity == true]
            guard kinds.filter({ $0 }).count == 1 else {
                throw ClavisError(.invalidValue, reference: path,
                                  reason: "identity '\(identity.name)' must name exactly one of secret, certificate, workloadIdentityTokenFile, managedIdentity")
            }
            if identity.managedIdentity != true, identity.tenant == nil || identity.clientId == nil {
                throw ClavisError(.invalidValue, reference: path, reason: "identity '\(identity.name)' needs tenant and clientId")
            }
            guard !identity.resources.isEmpty, !identity.users.isEmpty else {
                throw ClavisError(.invalidValue, reference: path, reason: "identity '\(identity.name)' needs at least one resource and one user")
            }
        }
    }

    /// The listen address as host and port.
    public func listenAddress() throws -> (String, Int) {
        let text = listen ?? "127.0.0.1:8491"
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ClavisError(.invalidValue, reference: "listen", reason: "'\(text)' is not HOST:PORT")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(key.stringValue) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context):
            return "\(context.debugDescription) at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default:
            return "not JSON"
        }
    }
}
