import ClavisCore
import ClavisIdentity
import Foundation
import Synchronization

/// Where the Defender XDR API lives, and which flavour it speaks.
public struct DefenderEndpoint: Sendable, Hashable {
    /// The Defender XDR API (`/api/incidents`, `/api/advancedhunting/run`) or its named successor,
    /// the Microsoft Graph security API (`/v1.0/security/incidents`, `/v1.0/security/runHuntingQuery`).
    public enum Flavour: String, Sendable, Hashable { case defender, graph }

    /// The base URL, e.g. `https://api.security.microsoft.com`.
    public let baseURL: String
    /// The token resource (scope without `/.default`).
    public let resource: String
    /// The API flavour.
    public var flavour: Flavour = .defender

    /// Microsoft Graph (commercial), the successor Microsoft names for incidents and hunting.
    public static let graph = DefenderEndpoint(trusted: "https://graph.microsoft.com", resource: "https://graph.microsoft.com", flavour: .graph)

    /// Commercial cloud.
    public static let commercial = DefenderEndpoint(trusted: "https://api.security.microsoft.com", resource: "https://api.security.microsoft.com")
    /// GCC.
    public static let gcc = DefenderEndpoint(trusted: "https://api-gcc.security.microsoft.us", resource: "https://api-gcc.security.microsoft.us")
    /// GCC High and DoD.
    public static let gccHigh = DefenderEndpoint(trusted: "https://api-gov.security.microsoft.us", resource: "https://api-gov.security.microsoft.us")

    private init(trusted baseURL: String, resource: String, flavour: Flavour = .defender) {
        self.baseURL = baseURL
        self.resource = resource
        self.flavour = flavour
    }

    /// A custom base URL (the emulator), with the flavour's resource unless given. It must be
    /// `https`, or plain `http` to a loopback address only (``Loopback``): the bearer token goes
    /// to this origin.
    public init(baseURL: String, resource: String? = nil, flavour: Flavour = .defender) throws {
        let trimmed = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        guard let url = URL(string: trimmed), Origin(url) != nil else {
            throw ClavisError(.invalidValue, reference: baseURL, reason: "'\(baseURL)' is not an API base URL such as https://api.security.microsoft.com")
        }
        guard Loopback.permits(url) else {
            throw ClavisError(.invalidValue, reference: baseURL,
                              reason: "the API base URL must use https (plain http is allowed only to a loopback address: 127.0.0.0/8, ::1, localhost); the bearer token would travel in clear text",
                              hint: "use https://, or commercial, gcc, gcchigh or graph")
        }
        self.baseURL = trimmed
        self.resource = resource ?? (flavour == .graph ? "https://graph.microsoft.com" : "https://api.security.microsoft.com")
        self.flavour = flavour
    }

    /// The API's origin: the one place its bearer token is sent.
    public var origin: Origin? { Origin(baseURL) }
}

/// The Microsoft Defender XDR API (or Microsoft Graph's security API): incidents (list with OData
/// filters and paging, get, update) and advanced hunting, through the one transport and retry policy,
/// with a two-window client-side limiter and 429s waited out in full or reported at once.
///
/// The bearer token goes only to the endpoint's own origin (scheme, host and port): an
/// `@odata.nextLink` elsewhere is an error, and nothing is sent to it.
public struct DefenderClient: Sendable {
    let credential: any TokenCredential
    let endpoint: DefenderEndpoint
    let transport: HTTPTransport
    let limiter: RateLimiter
    /// The longest one call waits for a quota — the client-side limiter's or a 429's reset time —
    /// before failing with an error that names the wait (never retrying early).
    public var waitBudget: Duration
    /// The deadline of one hunting request: the service's 3 minutes plus a margin (D-AH,
    /// https://learn.microsoft.com/defender-xdr/api-advanced-hunting: "more than three minutes times out").
    public var huntingDeadline: Duration = .seconds(200)

    /// Creates a client. Wrap `credential` in ``CachingTokenCredential`` (tokens are reused).
    /// `callsPerMinute`/`callsPerHour` override the flavour's documented quota (``RateLimiter/defaults(for:)``).
    public init(credential: any TokenCredential, endpoint: DefenderEndpoint = .commercial, transport: HTTPTransport = HTTPTransport(),
                callsPerMinute: Int? = nil, callsPerHour: Int? = nil, waitBudget: Duration = .seconds(30)) {
        self.credential = credential
        self.endpoint = endpoint
        self.transport = transport
        let defaults = RateLimiter.defaults(for: endpoint.flavour)
        limiter = RateLimiter(perMinute: callsPerMinute ?? defaults.perMinute, perHour: callsPerHour ?? max(defaults.perHour, callsPerMinute ?? 0))
        self.waitBudget = waitBudget
    }

    /// The default page size, valid for the flavour: Defender `$top` ≤ 100 (D-LIST), Graph ≤ 50
    /// (OBS-TOP wazuh/wazuh#28070: `$top=100` answers 400 "The limit of '50' for Top query has been exceeded").
    public static func defaultPageSize(_ flavour: DefenderEndpoint.Flavour) -> Int { flavour == .graph ? 50 : 100 }

    /// Incidents matching `filter` (OData in Defender's vocabulary, e.g. `status eq 'Active'` or
    /// `lastUpdateTime ge 2026-11-01T00:00:00.0000000Z`; translated for Graph by ``GraphMapping``), in
    /// the order the service gives (newest first; no `$orderby` is sent — neither service documents
    /// it for incidents, D-LIST, G-LIST). Defender pages by `$skip` until a short page (D-LIST);
    /// Graph follows `@odata.nextLink` verbatim until there is none, even past empty pages (G-PAGE,
    /// https://learn.microsoft.com/graph/paging). `expandAlerts` adds `$expand=alerts` on Graph
    /// (Defender always includes alerts).
    public func incidents(filter: String? = nil, pageSize: Int? = nil, expandAlerts: Bool = false, limit: Int? = nil,
                          progress: (@Sendable (Int) -> Void)? = nil) -> AsyncThrowingStream<Incident, any Error> {
        let graph = endpoint.flavour == .graph
        let top = min(max(pageSize ?? Self.defaultPageSize(endpoint.flavour), 1), Self.defaultPageSize(endpoint.flavour))
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var skip = 0, delivered = 0
                    var next: String? = nil
                    while true {
                        let url: String
                        if let next {
                            url = next
                        } else if graph {
                            var query = ["$top=\(top)"]
                            if let filter { query.append("$filter=" + HTTPTransport.percentEncode(GraphMapping.graphFilter(filter))) }
                            if expandAlerts { query.append("$expand=alerts") }
                            url = "\(endpoint.baseURL)/v1.0/security/incidents?" + query.joined(separator: "&")
                        } else {
                            var query = ["$top=\(top)", "$skip=\(skip)"]
                            if let filter { query.append("$filter=" + HTTPTransport.percentEncode(filter)) }
                            url = "\(endpoint.baseURL)/api/incidents?" + query.joined(separator: "&")
                        }
                        let reply = try await request(.GET, url, role: role(read: true))
                        let page = try Incident.page(Data(reply.body))
                        for incident in page.incidents {
                            continuation.yield(incident)
                            delivered += 1
                            if let limit, delivered >= limit { continuation.finish(); return }
                        }
                        progress?(delivered)
                        next = page.nextLink
                        if next == nil {
                            guard !graph, page.incidents.count == top else { break }
                            skip += page.incidents.count
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// One incident.
    public func incident(_ id: Int) async throws -> Incident {
        try Self.incident(from: try await request(.GET, incidentURL(id), role: role(read: true)), id: id)
    }

    /// Updates an incident: `status`, `assignedTo`, `classification`, `determination`, `tags`
    /// (replaces), `comment` (appends), given in Defender's vocabulary. On Graph the fields are
    /// translated through ``GraphMapping`` (`tags` → `customTags`, enum values; G-UPD) and the comment
    /// is posted to `…/comments` (G-COM). A request that appends a comment is never resent once it
    /// may have reached the server (only a 429, which was not processed, is retried).
    public func update(_ id: Int, fields: [String: DecodedToken.JSONValue]) async throws -> Incident {
        var comment: String?
        if case .string(let text)? = fields["comment"] { comment = text }
        switch endpoint.flavour {
        case .defender:
            let body = try JSONEncoder().encode(GraphMapping.defenderUpdate(fields))
            let reply = try await request(.PATCH, incidentURL(id), body: Array(body), role: role(read: false), idempotent: comment == nil)
            return try Self.incident(from: reply, id: id)
        case .graph:
            let changes = GraphMapping.graphUpdate(fields)
            var reply: HTTPReply?
            if !changes.isEmpty {
                reply = try await request(.PATCH, incidentURL(id), body: Array(try JSONEncoder().encode(changes)), role: role(read: false))
            }
            if let comment {
                let body = try JSONSerialization.data(withJSONObject: ["@odata.type": "microsoft.graph.security.alertComment", "comment": comment])
                _ = try await request(.POST, incidentURL(id) + "/comments", body: Array(body), role: role(read: false), idempotent: false)
                reply = try await request(.GET, incidentURL(id), role: role(read: true))
            }
            guard let reply else { throw ClavisError(.invalidValue, reference: "incident \(id)", reason: "nothing to update") }
            return try Self.incident(from: reply, id: id)
        }
    }

    /// Runs an advanced-hunting query (Defender `POST /api/advancedhunting/run`, D-AH; Graph
    /// `POST /v1.0/security/runHuntingQuery`, G-AH) with its own deadline (``huntingDeadline``). It is
    /// never resent once it may have reached the server (each run costs CPU quota and a 45/min slot);
    /// a deadline passed is reported as ``ClavisError/Code/timedOut``.
    public func hunt(_ query: String) async throws -> HuntingResult {
        let body = try JSONSerialization.data(withJSONObject: ["Query": query])
        let graph = endpoint.flavour == .graph
        let url = graph ? "\(endpoint.baseURL)/v1.0/security/runHuntingQuery" : "\(endpoint.baseURL)/api/advancedhunting/run"
        let reply = try await request(.POST, url, body: Array(body), role: graph ? "ThreatHunting.Read.All" : "AdvancedHunting.Read.All",
                                      idempotent: false, deadline: huntingDeadline)
        guard let object = reply.jsonObject else { throw ClavisError(.serviceError, reference: url, reason: "the reply is not JSON") }
        return HuntingResult(object)
    }

    static func incident(from reply: HTTPReply, id: Int) throws -> Incident {
        guard let object = reply.jsonObject, let incident = Incident(object) else {
            throw ClavisError(.serviceError, reference: "incident \(id)", reason: "the reply is not an incident")
        }
        return incident
    }

    private func incidentURL(_ id: Int) -> String {
        endpoint.flavour == .graph ? "\(endpoint.baseURL)/v1.0/security/incidents/\(id)" : "\(endpoint.baseURL)/api/incidents/\(id)"
    }

    private func role(read: Bool) -> String {
        switch (endpoint.flavour, read) {
        case (.defender, true): "Incident.Read.All"
        case (.defender, false): "Incident.ReadWrite.All"
        case (.graph, true): "SecurityIncident.Read.All"
        case (.graph, false): "SecurityIncident.ReadWrite.All"
        }
    }

    private func request(_ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, role: String, idempotent: Bool = true,
                         deadline: Duration? = nil) async throws -> HTTPReply {
        guard let target = Origin(url), target == endpoint.origin else {
            throw ClavisError(.permissionDenied, reference: Origin(url)?.description ?? "an invalid URL",
                              reason: "a link from the API (e.g. @odata.nextLink) points to \(Origin(url)?.description ?? "an invalid URL"), outside the API's origin \(endpoint.origin?.description ?? endpoint.baseURL); no request was sent there",
                              hint: "the token goes only to the configured API; check --api (a proxy rewriting links?)")
        }
        let host = target.host + (URL(string: url)?.port.map { ":\($0)" } ?? "")
        try await limiter.acquire(budget: waitBudget, host: host)
        let token = try await credential.getToken(TokenRequestContext(resource: endpoint.resource))
        guard let bearer = token.token.revealedString() else { throw ClavisError(.serviceError, reason: "the token is not text") }
        var headers = [("Authorization", "Bearer \(bearer)"), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        // Graph returns evolvable enum members such as incident status `awaitingAction` only when asked (G-ENUM,
        // https://learn.microsoft.com/graph/best-practices-concept#handling-future-members-in-evolvable-enumerations).
        if endpoint.flavour == .graph { headers.append(("Prefer", "include-unknown-enum-members")) }
        // One retry policy (the transport's), told where Defender puts the reset time (the body) and the caller's
        // budget; a non-idempotent request retries only a 429 (research-15 §2.3, §3).
        var policy = transport.retry
        policy.replyWait = { Throttling.wait($0) }
        policy.maxTotal = waitBudget
        if !idempotent { policy = policy.nonIdempotent }
        let started = ContinuousClock.now
        let reply: HTTPReply
        do {
            reply = try await transport.send(method, url, headers: headers, body: body, retry: policy, timeout: deadline)
        } catch let error as ClavisError where error.code == .sourceUnavailable {
            // The transport reports a lost reply as "unavailable"; when this request's own deadline passed,
            // say so: the service may still be running it (D-AH: hunting runs up to 3 minutes).
            guard let deadline, ContinuousClock.now - started >= deadline else { throw error }
            throw ClavisError(.timedOut, reference: host + (URL(string: url)?.path ?? ""),
                              reason: "\(host) did not answer within \(deadline) (timed out); the request was not resent — it may still have run",
                              hint: "hunting queries may run up to 3 minutes; simplify the query or allow a longer deadline (huntingDeadline)")
        }
        let reference = (URL(string: url)?.host ?? "") + (URL(string: url)?.path ?? "")
        guard (200..<300).contains(reply.status) else { throw failure(reply, reference: reference, host: host, role: role) }
        return reply
    }

    /// The error for a failing reply (read by ``ServiceErrorReply``). Branches on the status, never
    /// on message text; messages are the service's, which never echo the token.
    private func failure(_ reply: HTTPReply, reference: String, host: String, role: String) -> ClavisError {
        let error = ServiceErrorReply(reply)
        let message = error.messageOrStatus
        let mapped: ClavisError = switch reply.status {
        case 401:
            // Defender `Unauthorized` (D-ERR); Graph `InvalidAuthenticationToken` (OBS-401).
            ClavisError(.permissionDenied, reference: reference, reason: "the service rejected the token (HTTP 401): \(message)",
                        hint: "the token must be current and issued for \(endpoint.resource) by the tenant's issuer")
        case 403:
            ClavisError(.permissionDenied, reference: reference, reason: "forbidden: \(message)",
                        hint: "grant the app the application permission \(role) and admin consent (`clavis consent-url`)")
        case 404:
            ClavisError(reference.contains("/incidents/") ? .incidentNotFound : .notFound, reference: reference, reason: message)
        case 429:
            Throttling.wait(reply).map { Throttling.error(host: host, wait: $0, detail: message) }
                ?? ClavisError(.sourceUnavailable, reference: reference, reason: "throttled by \(host) (no reset time given): \(message)")
        default:
            ClavisError(error.clavisCode, reference: reference, reason: "HTTP \(reply.status): \(message)")
        }
        return ClavisError(mapped.code, reference: mapped.reference, reason: mapped.reason, hint: mapped.hint, cause: error)
    }
}

extension ClavisError.Code {
    /// No incident with that id (refines ``notFound``).
    public static let incidentNotFound = ClavisError.Code("incident-not-found", refines: .notFound)
}
