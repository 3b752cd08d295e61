import ClavisCore
import Foundation
import Logging

/// Whether the client secret a daemon uses expires soon — for `clavis doctor`, `clavis token`,
/// `clavis defender watch` and the token broker, which warn when it does.
///
/// The end date comes from the `clavis-expires` annotation a rotation stored with the value (no
/// network), else from Microsoft Graph: a token got with the secret itself reads the application
/// object (needs `Application.Read.All` or `Application.ReadWrite.OwnedBy` on an owned
/// application), and the credential is the one whose key id is annotated or whose hint matches
/// the value. When neither is possible the check says so and warns about nothing.
///
/// ```swift
/// let check = SecretExpiryCheck(tenant: tenant, clientId: clientId)
/// if let status = await check.check(reference: ref, resolver: .standard), status.warning {
///     logger.warning("\(status.message)")
/// }
/// ```
public struct SecretExpiryCheck: Sendable {
    /// The default warning threshold: 30 days.
    public static let defaultWarningDays = 30

    /// What the check found.
    public struct Status: Sendable, Encodable {
        /// The credential in use, if it could be identified.
        public var keyId: String?
        /// When it expires.
        public var endDateTime: Date
        /// Days left (negative once expired).
        public var daysLeft: Double
        /// Whether it expires within the threshold (or has expired).
        public var warning: Bool
        /// One line for an operator: what expires when, and what to run.
        public var message: String

        private enum Keys: String, CodingKey { case keyId, endDateTime, daysLeft, warning, message }

        /// JSON with an ISO 8601 date.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(keyId, forKey: .keyId)
            try container.encode(GraphDate.format(endDateTime), forKey: .endDateTime)
            try container.encode(Int(daysLeft.rounded(.down)), forKey: .daysLeft)
            try container.encode(warning, forKey: .warning)
            try container.encode(message, forKey: .message)
        }
    }

    let tenant: String
    let clientId: String
    let authority: Authority
    let version: EndpointVersion
    let graphBaseURL: String
    let transport: HTTPTransport
    /// Warn when the secret expires within this long.
    public var warnWithin: Duration
    private let explicitLogger: Logger?
    /// The logger given, else the task's (`Logger.current`).
    var logger: Logger { explicitLogger ?? Logger.current }

    /// A check for app `clientId` in `tenant`; `warnWithin` defaults to 30 days.
    public init(tenant: String, clientId: String, authority: Authority = .publicCloud, version: EndpointVersion = .v2, graphBaseURL: String? = nil,
                warnWithin: Duration = .seconds(defaultWarningDays * 86400), transport: HTTPTransport = HTTPTransport(),
                logger: Logger? = nil) {
        self.tenant = tenant
        self.clientId = clientId
        self.authority = authority
        self.version = version
        self.graphBaseURL = graphBaseURL ?? GraphApplicationsClient.baseURL(for: authority)
        self.warnWithin = warnWithin
        self.transport = transport
        explicitLogger = logger
    }

    /// Reads the secret `reference` names (and its annotations, where its source keeps them) and
    /// checks it; `nil` when its end date cannot be learnt (the reason is logged at debug level).
    public func check(reference: SecretReference, resolver: SecretResolver, now: Date = Date()) async -> Status? {
        do {
            let source = try resolver.source(for: reference)
            let secret = try await source.secret(for: reference)
            var annotations: [String: String] = [:]
            if let annotated = source as? any AnnotatedSecretSource { annotations = (try? await annotated.annotations(for: reference)) ?? [:] }
            return try await check(secret: secret, annotations: annotations, reference: reference.description, now: now)
        } catch {
            logger.debug("secret expiry not checked", metadata: ["clavis.reference": "\(reference)", "clavis.error": "\(error)"])
            return nil
        }
    }

    /// Checks `secret` (with the annotations stored next to it, if any).
    public func check(secret: Secret, annotations: [String: String], reference: String, now: Date = Date()) async throws -> Status? {
        if let text = annotations[SecretRotation.Annotation.expires], let end = GraphDate.parse(text) {
            return status(keyId: annotations[SecretRotation.Annotation.keyId], end: end, reference: reference, now: now)
        }
        let credential = ClientSecretCredential(tenant: tenant, clientId: clientId, reference: reference, authority: authority, version: version,
                                                transport: transport) { secret }
        let graph = try GraphApplicationsClient(credential: credential, baseURL: graphBaseURL, transport: transport)
        let app = try await graph.application(appId: clientId)
        guard let found = SecretRotation.identify(secret, annotations: annotations, in: app.passwordCredentials).current, let end = found.endDateTime else {
            logger.debug("no single password credential matches the secret", metadata: ["clavis.reference": "\(reference)"])
            return nil
        }
        return status(keyId: found.keyId, end: end, reference: reference, now: now)
    }

    func status(keyId: String?, end: Date, reference: String, now: Date) -> Status {
        let days = end.timeIntervalSince(now) / 86400
        let warning = end.timeIntervalSince(now) < warnWithin.inSeconds
        let which = "the client secret in \(reference)" + (keyId.map { " (key id \($0))" } ?? "")
        let when = days < 0 ? "expired on \(GraphDate.format(end))" : "expires on \(GraphDate.format(end)), in \(Int(days.rounded(.down))) days"
        let advice = warning ? ": rotate it with `clavis app secret rotate --tenant \(tenant) --client-id \(clientId) --secret \(reference)` (docs/rotation.md)" : ""
        return Status(keyId: keyId, endDateTime: end, daysLeft: days, warning: warning, message: "\(which) \(when)\(advice)")
    }
}
