import ClavisCore
import ClavisIdentity
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One configured identity at run time: its credential behind the one token cache, the resources
/// and users it allows, and its counters.
public final class BrokerIdentity: Sendable {
    /// The identity's name.
    public let name: String
    /// The client id it reports (`client_id` in replies).
    public let clientId: String
    /// The allowed resources: normalised (see ``normalise(_:)``) → as configured (what tokens are asked for).
    public let resources: [String: String]
    /// The allowed users.
    public let uids: Set<uid_t>
    /// The credential, wrapped in the single-flight ``CachingTokenCredential``.
    public let credential: CachingTokenCredential
    private let counters = Mutex(Counters())

    /// What the broker counted for an identity.
    public struct Counters: Sendable, Codable {
        /// Tokens served.
        public var served = 0
        /// Requests refused (401, 403, 400).
        public var refused = 0
        /// Requests that failed getting a token.
        public var failed = 0
        /// Expiry of the last token served per resource (Unix seconds).
        public var expiries: [String: Int] = [:]
    }

    /// Builds the identity from its configuration; secrets are resolved by `resolver` only when a
    /// token is needed (and again on AADSTS7000215/7000222, by ``ClientSecretCredential``).
    /// `logger` gets the token cache's lines, tagged with the identity's name (default: `Logger.current`).
    public init(_ identity: BrokerConfig.Identity, defaultAuthority: String?, resolver: SecretResolver, transport: HTTPTransport,
                logger: Logger = Logger.current) throws {
        name = identity.name
        resources = Dictionary(identity.resources.map { (Self.normalise($0), $0) }) { first, _ in first }
        uids = Set(try identity.users.map(Self.uid(of:)))
        let authority = try (identity.authority ?? defaultAuthority).map(Authority.init) ?? Authority.fromEnvironment()
        let base: any TokenCredential
        if let reference = identity.secret, let tenant = identity.tenant, let clientId = identity.clientId {
            base = ClientSecretCredential(tenant: tenant, clientId: clientId, secret: try SecretReference(parsing: reference), resolver: resolver,
                                          authority: authority, transport: transport)
        } else if let reference = identity.certificate, let tenant = identity.tenant, let clientId = identity.clientId {
            base = CertificateFromReference(tenant: tenant, clientId: clientId, reference: try SecretReference(parsing: reference),
                                            resolver: resolver, authority: authority, transport: transport)
        } else if let file = identity.workloadIdentityTokenFile, let tenant = identity.tenant, let clientId = identity.clientId {
            base = WorkloadIdentityCredential(tenant: tenant, clientId: clientId, tokenFile: file, authority: authority, transport: transport)
        } else {
            base = ManagedIdentityCredential(clientId: identity.clientId, transport: transport)
        }
        clientId = identity.clientId ?? ""
        var tagged = logger
        tagged[metadataKey: "clavis.broker.identity"] = "\(identity.name)"
        credential = CachingTokenCredential(base, logger: tagged)
    }

    /// A resource as compared: lowercased, without `/.default` and trailing slashes (MSAL and
    /// azure-identity send `https://api.security.microsoft.com`, some callers add a slash).
    public static func normalise(_ resource: String) -> String {
        var text = resource.trimmingCharacters(in: .whitespaces).lowercased()
        if text.hasSuffix("/.default") { text = String(text.dropLast("/.default".count)) }
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// A user name or numeric uid as a uid.
    public static func uid(of user: String) throws -> uid_t {
        if let number = uid_t(user) { return number }
        guard let entry = getpwnam(user) else {
            throw ClavisError(.notFound, reference: "user \(user)", reason: "no such local user")
        }
        return entry.pointee.pw_uid
    }

    /// Counts a served token.
    func served(resource: String, expiresOn: Date) {
        counters.withLock {
            $0.served += 1
            $0.expiries[resource] = Int(expiresOn.timeIntervalSince1970)
        }
    }

    /// Counts a refusal.
    func refused() { counters.withLock { $0.refused += 1 } }

    /// Counts a failure.
    func failed() { counters.withLock { $0.failed += 1 } }

    /// The counters now.
    public var snapshot: Counters { counters.withLock { $0 } }
}

/// A certificate credential whose PEM is read by reference at each token request (so a renewed
/// certificate is picked up like a rotated secret).
struct CertificateFromReference: TokenCredential {
    let tenant: String
    let clientId: String
    let reference: SecretReference
    let resolver: SecretResolver
    let authority: Authority
    let transport: HTTPTransport

    var credentialDescription: String { "client certificate credential (app \(clientId), \(reference))" }

    func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        let pem = try await resolver.secret(for: reference)
        return try await ClientCertificateCredential(tenant: tenant, clientId: clientId, pem: pem, path: reference.description, authority: authority,
                                               transport: transport).getToken(context)
    }
}
