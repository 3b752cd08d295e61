import ClavisCore
import Crypto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Rotates an app's client secret in place: a new secret from Microsoft Graph (`addPassword`),
/// proven to get a token, written to the **same reference** with the facts that go with it, and
/// the previous secret removed (`removePassword`) once the overlap has passed — in this run or a
/// later one.
///
/// The facts live next to the value as annotations (``AnnotatedSecretSource``): `clavis-key-id`
/// (the value's credential), `clavis-expires`, and while a removal is due `clavis-previous-key-id`
/// and `clavis-remove-after`. Every step that can fail leaves a working secret in the reference:
///
/// | interrupted | the reference holds | the next run |
/// |---|---|---|
/// | after `addPassword` | the previous secret (works) | removes the unused new credential, rotates again |
/// | while proving the new secret | the previous secret | the same |
/// | after the write | the new secret (proven) | removes the previous credential once due |
/// | before `removePassword` | the new secret | removes the previous credential |
///
/// A credential is never removed when its hint (the first three characters Graph shows) matches
/// the value in the reference, and only credentials this host made for this reference (a tag in
/// the display name) are cleaned up as leftovers of an interrupted run.
public struct SecretRotation: Sendable {
    /// A point between steps, for progress and for tests that stop the process there.
    public enum Step: String, Sendable, CaseIterable {
        /// `addPassword` answered; nothing is written yet.
        case afterAdd = "after-add"
        /// The new value and its annotations are stored.
        case afterWrite = "after-write"
        /// The previous credential is about to be removed.
        case beforeRemove = "before-remove"
    }

    /// What a run did.
    public struct Report: Sendable, Encodable {
        /// The credential added, if the run rotated.
        public var added: PasswordCredentialInfo?
        /// Credentials removed (the previous one, and leftovers of interrupted runs).
        public var removed: [String] = []
        /// A previous credential still to remove, and from when.
        public var pendingRemoval: String?
        /// When ``pendingRemoval`` may be removed.
        public var removeAfter: Date?
        /// The credential whose value the reference now holds, if known.
        public var current: String?
        /// When that credential expires, if known.
        public var expires: Date?
        /// Whether this run made a new secret.
        public var rotated = false

        private enum Keys: String, CodingKey { case added, removed, pendingRemoval, removeAfter, current, expires, rotated }

        /// JSON with ISO 8601 dates.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(added.map(CredentialJSON.init), forKey: .added)
            try container.encode(removed, forKey: .removed)
            try container.encodeIfPresent(pendingRemoval, forKey: .pendingRemoval)
            try container.encodeIfPresent(removeAfter.map(GraphDate.format), forKey: .removeAfter)
            try container.encodeIfPresent(current, forKey: .current)
            try container.encodeIfPresent(expires.map(GraphDate.format), forKey: .expires)
            try container.encode(rotated, forKey: .rotated)
        }
    }

    /// A credential as JSON, dates in ISO 8601.
    struct CredentialJSON: Encodable {
        var keyId: String
        var displayName: String?
        var hint: String?
        var startDateTime: String?
        var endDateTime: String?
        init(_ credential: PasswordCredentialInfo) {
            keyId = credential.keyId
            displayName = credential.displayName
            hint = credential.hint
            startDateTime = credential.startDateTime.map(GraphDate.format)
            endDateTime = credential.endDateTime.map(GraphDate.format)
        }
    }

    /// Annotation keys (see ``AnnotatedSecretSource``).
    public enum Annotation {
        /// The key id of the value's credential.
        public static let keyId = "clavis-key-id"
        /// The value's end date (ISO 8601).
        public static let expires = "clavis-expires"
        /// The key id of the credential to remove once the overlap has passed.
        public static let previousKeyId = "clavis-previous-key-id"
        /// When the previous credential may be removed (ISO 8601).
        public static let removeAfter = "clavis-remove-after"
    }

    let reference: SecretReference
    let source: any AnnotatedSecretSource
    let endpoint: TokenEndpoint
    let graphBaseURL: String
    let graphResource: String
    let transport: HTTPTransport
    /// How long the new secret is valid.
    public var lifetime: Duration = .seconds(180 * 86400)
    /// How long the previous secret stays valid after the new one is written (daemons that read
    /// the reference before the write keep working meanwhile).
    public var overlap: Duration = .seconds(7 * 86400)
    /// How long to wait for Entra ID to accept the new secret (it replicates for seconds to minutes).
    public var verifyTimeout: Duration = .seconds(300)
    /// Rotate only when the current secret expires within this long (nil: always).
    public var onlyIfExpiringWithin: Duration?
    /// Called between steps (progress, tests).
    public var checkpoint: @Sendable (Step) async -> Void = { _ in }
    /// One line per thing done, for the operator.
    public var progress: @Sendable (String) -> Void = { _ in }
    /// The clock.
    public var now: @Sendable () -> Date = { Date() }

    /// A rotation of the secret in `reference` (kept by `source`) of app `clientId` in `tenant`.
    public init(reference: SecretReference, source: any AnnotatedSecretSource, tenant: String, clientId: String,
                authority: Authority = .publicCloud, version: EndpointVersion = .v2, graphBaseURL: String? = nil,
                graphResource: String = "https://graph.microsoft.com", transport: HTTPTransport = HTTPTransport()) {
        self.reference = reference
        self.source = source
        endpoint = TokenEndpoint(authority: authority, tenant: tenant, clientId: clientId, version: version, transport: transport)
        self.graphBaseURL = graphBaseURL ?? GraphApplicationsClient.baseURL(for: authority)
        self.graphResource = graphResource
        self.transport = transport
    }

    /// The tag this host and reference put in the display names of the secrets they make.
    public var instanceTag: String {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(cString: name) : "localhost"
        let digest = SHA256.hash(data: Data("\(host)\n\(reference.description)".utf8))
        return digest.prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    /// The display name of a secret made now: says Clavis made it, when, and for which host and reference.
    func displayName(at date: Date) -> String {
        "Clavis rotation \(date.formatted(Date.ISO8601FormatStyle().year().month().day())) [\(instanceTag)]"
    }

    /// A Graph client authenticating with `secret`.
    func graphClient(with secret: Secret) throws -> GraphApplicationsClient {
        let reference = self.reference.description
        let credential = ClientSecretCredential(tenant: endpoint.tenant, clientId: endpoint.clientId, reference: reference, authority: endpoint.authority,
                                                version: endpoint.version, transport: transport) { secret }
        return try GraphApplicationsClient(credential: credential, baseURL: graphBaseURL, resource: graphResource, transport: transport)
    }

    /// Finishes what an earlier run left (a due removal, credentials of an interrupted run), then
    /// rotates unless a removal is still waiting for its overlap.
    public func run() async throws -> Report {
        let current = try await source.secret(for: reference)
        let annotations = try await source.annotations(for: reference)
        let graph = try graphClient(with: current)
        let app: ApplicationInfo
        do {
            app = try await graph.application(appId: endpoint.clientId)
        } catch let error as ClavisError where error.code == .invalidClientSecret || error.code == .expiredClientSecret {
            throw ClavisError(.permissionDenied, reference: reference.description,
                              reason: "the secret in the reference does not get a token, so it cannot authorize its own rotation (\(error.reason))",
                              hint: "store a working secret there first: clavis secret set \(reference.description)", cause: error)
        }
        var report = Report()
        let state = Self.identify(current, annotations: annotations, in: app.passwordCredentials)
        report.current = state.current?.keyId
        report.expires = state.current?.endDateTime
        // 1. A removal an earlier run scheduled.
        if let previous = state.pending {
            let due = annotations[Annotation.removeAfter].flatMap(GraphDate.parse) ?? .distantPast
            if now() >= due {
                try await remove(previous, because: "its overlap ended", graph: graph, app: app, current: current, report: &report)
            } else {
                report.pendingRemoval = previous.keyId
                report.removeAfter = due
            }
        }
        // 2. Credentials this host made for this reference whose value never reached it (an interrupted run).
        for leftover in app.passwordCredentials where leftover.displayName?.hasSuffix("[\(instanceTag)]") == true
            && leftover.keyId != state.current?.keyId && leftover.keyId != state.pending?.keyId && !report.removed.contains(leftover.keyId) {
            try await remove(leftover, because: "its value never reached the reference (an interrupted rotation)", graph: graph, app: app,
                             current: current, report: &report)
        }
        if let pending = report.pendingRemoval, let due = report.removeAfter {
            progress("the previous secret \(pending) is removed after \(GraphDate.format(due)); run this again then (a timer does it) — not rotating again before that")
            return report
        }
        if let within = onlyIfExpiringWithin, let end = state.current?.endDateTime, end.timeIntervalSince(now()) > within.inSeconds {
            progress("the secret expires on \(GraphDate.format(end)), later than the threshold: not rotating")
            return report
        }
        return try await rotate(from: state.current, current: current, graph: graph, app: app, report: report)
    }

    private func rotate(from previous: PasswordCredentialInfo?, current: Secret, graph: GraphApplicationsClient, app: ApplicationInfo,
                        report: Report) async throws -> Report {
        var report = report
        let started = now()
        let (added, secret) = try await graph.addPassword(objectId: app.id, appId: app.appId, displayName: displayName(at: started),
                                                          endDateTime: started.addingTimeInterval(lifetime.inSeconds))
        progress("added secret \(added.keyId) (\(added.displayName ?? "")), valid until \(added.endDateTime.map(GraphDate.format) ?? "?")")
        await checkpoint(.afterAdd)
        try await prove(secret, keyId: added.keyId)
        var annotations = [Annotation.keyId: added.keyId]
        if let end = added.endDateTime { annotations[Annotation.expires] = GraphDate.format(end) }
        let removeAfter = started.addingTimeInterval(overlap.inSeconds)
        if let previous {
            annotations[Annotation.previousKeyId] = previous.keyId
            annotations[Annotation.removeAfter] = GraphDate.format(removeAfter)
        }
        try await source.store(secret, annotations: annotations, for: reference)
        guard try await source.secret(for: reference).revealedBytes() == secret.revealedBytes() else {
            throw ClavisError(.serviceError, reference: reference.description, reason: "the store did not keep the new value",
                              hint: "run `clavis app secret rotate` again: the unused new secret is removed then")
        }
        progress("wrote the new secret to \(reference.description)")
        report.rotated = true
        report.added = added
        report.current = added.keyId
        report.expires = added.endDateTime
        await checkpoint(.afterWrite)
        guard let previous else {
            progress("the previous secret's key id is unknown (no credential's hint matches it, or several do): remove it yourself once no host uses it — see `clavis app secret list`")
            return report
        }
        if now() >= removeAfter {
            try await remove(previous, because: "no overlap was asked for", graph: graph, app: app, current: secret, report: &report)
        } else {
            report.pendingRemoval = previous.keyId
            report.removeAfter = removeAfter
            progress("the previous secret \(previous.keyId) stays valid until it is removed after \(GraphDate.format(removeAfter)): run this again then")
        }
        return report
    }

    private func remove(_ credential: PasswordCredentialInfo, because why: String, graph: GraphApplicationsClient, app: ApplicationInfo,
                        current: Secret, report: inout Report) async throws {
        guard !credential.hintMatches(current) else {
            progress("kept \(credential.keyId): its hint matches the value in the reference")
            return
        }
        await checkpoint(.beforeRemove)
        try await graph.removePassword(objectId: app.id, appId: app.appId, keyId: credential.keyId)
        report.removed.append(credential.keyId)
        progress("removed secret \(credential.keyId): \(why)")
    }

    /// Entra ID replicates a new secret for seconds to minutes, answering AADSTS7000215 meanwhile:
    /// retry that (only that), with backoff, until ``verifyTimeout``.
    private func prove(_ secret: Secret, keyId: String) async throws {
        guard let text = secret.revealedString() else { throw ClavisError(.serviceError, reference: keyId, reason: "the new secret is not text") }
        let deadline = ContinuousClock.now + verifyTimeout
        var delay = Duration.milliseconds(500)
        let context = TokenRequestContext(scopes: [TokenRequestContext.scope(forResource: graphResource)])
        while true {
            do {
                _ = try await endpoint.requestToken(context, fields: [("client_secret", text)], reference: reference.description)
                progress("the new secret gets a token")
                return
            } catch let error as ClavisError where error.entraError?.codes.contains(7000215) == true && ContinuousClock.now + delay < deadline {
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            } catch let error as ClavisError where error.entraError != nil {
                throw ClavisError(.serviceError, reference: reference.description,
                                  reason: "the new secret \(keyId) did not get a token within \(verifyTimeout) (\(error.entraError?.message ?? error.reason)); the reference still holds the previous secret, which works",
                                  hint: "run `clavis app secret rotate` again later: the unused new secret is removed then", cause: error)
            }
        }
    }

    /// Which credential the value is (the annotated key id when its hint agrees, else the one
    /// credential whose hint matches), and which previous one an earlier run scheduled for removal
    /// (only believed when the annotations describe this value).
    static func identify(_ secret: Secret, annotations: [String: String], in credentials: [PasswordCredentialInfo])
        -> (current: PasswordCredentialInfo?, pending: PasswordCredentialInfo?) {
        let annotated = annotations[Annotation.keyId].flatMap { id in credentials.first { $0.keyId.lowercased() == id.lowercased() } }
        if let annotated, annotated.hint == nil || annotated.hintMatches(secret) {
            let pending = annotations[Annotation.previousKeyId].flatMap { id in
                credentials.first { $0.keyId.lowercased() == id.lowercased() && $0.keyId != annotated.keyId }
            }
            return (annotated, pending)
        }
        let matching = credentials.filter { $0.hintMatches(secret) }
        return (matching.count == 1 ? matching.first : nil, nil)
    }
}
