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

/// An incident, with its common fields typed and everything else in `raw`.
public struct Incident: Sendable {
    /// `incidentId`.
    public var id: Int
    /// `incidentName`.
    public var name: String
    /// `status`: Active, InProgress, Resolved, Redirected.
    public var status: String
    /// `severity`.
    public var severity: String
    /// `lastUpdateTime`.
    public var lastUpdateTime: String
    /// `createdTime`.
    public var createdTime: String
    /// `assignedTo`.
    public var assignedTo: String?
    /// The whole JSON object.
    public var raw: [String: DecodedToken.JSONValue]

    init?(_ object: [String: Any]) {
        if object["incidentId"] == nil, let graphId = (object["id"] as? String).flatMap({ Int($0) }) {
            // The Graph shape: id (string), displayName, lowerCamel status/severity, *DateTime.
            func upper(_ text: String?) -> String { text.map { $0.prefix(1).uppercased() + $0.dropFirst() } ?? "" }
            id = graphId
            name = object["displayName"] as? String ?? ""
            status = upper(object["status"] as? String)
            severity = upper(object["severity"] as? String)
            lastUpdateTime = object["lastUpdateDateTime"] as? String ?? ""
            createdTime = object["createdDateTime"] as? String ?? ""
            assignedTo = object["assignedTo"] as? String
            raw = object.mapValues(DecodedToken.JSONValue.init)
            return
        }
        guard let id = object["incidentId"] as? Int else { return nil }
        self.id = id
        name = object["incidentName"] as? String ?? ""
        status = object["status"] as? String ?? ""
        severity = object["severity"] as? String ?? ""
        lastUpdateTime = object["lastUpdateTime"] as? String ?? ""
        createdTime = object["createdTime"] as? String ?? ""
        assignedTo = object["assignedTo"] as? String
        raw = object.mapValues(DecodedToken.JSONValue.init)
    }
}

/// The result of an advanced-hunting query.
public struct HuntingResult: Sendable {
    /// Column names and types.
    public var schema: [(name: String, type: String)]
    /// Rows, by column name.
    public var rows: [[String: DecodedToken.JSONValue]]
}

/// The Microsoft Defender XDR API: incidents (list with OData filters and paging, get, update) and
/// advanced hunting, with the shared retry policy, `Retry-After` on 429, and a client-side limiter
/// that keeps a poller under the documented 50 calls per minute.
///
/// The bearer token goes only to the endpoint's own origin (scheme, host and port): an
/// `@odata.nextLink` elsewhere is an error, and nothing is sent to it.
public struct DefenderClient: Sendable {
    let credential: any TokenCredential
    let endpoint: DefenderEndpoint
    let transport: HTTPTransport
    let limiter: RateLimiter

    /// Creates a client. Wrap `credential` in ``CachingTokenCredential`` (tokens are reused).
    public init(credential: any TokenCredential, endpoint: DefenderEndpoint = .commercial, transport: HTTPTransport = HTTPTransport(),
                callsPerMinute: Int = 50) {
        self.credential = credential
        self.endpoint = endpoint
        self.transport = transport
        limiter = RateLimiter(perMinute: callsPerMinute)
    }

    /// Incidents matching `filter` (OData, e.g. `status eq 'Active'` or `lastUpdateTime ge 2026-11-01T00:00:00Z`),
    /// fetched `pageSize` (≤ 100) at a time by `$skip` (and `@odata.nextLink` when the service sends one).
    public func incidents(filter: String? = nil, orderBy: String? = nil, pageSize: Int = 100, limit: Int? = nil,
                          progress: (@Sendable (Int) -> Void)? = nil) -> AsyncThrowingStream<Incident, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var skip = 0, delivered = 0
                    var next: String? = nil
                    while true {
                        var url = next ?? ""
                        if next == nil {
                            var query = ["$top=\(min(max(pageSize, 1), 100))", "$skip=\(skip)"]
                            if let filter { query.append("$filter=" + HTTPTransport.percentEncode(filter)) }
                            if let orderBy { query.append("$orderby=" + HTTPTransport.percentEncode(orderBy)) }
                            if endpoint.flavour == .graph {
                                query = ["$top=\(min(max(pageSize, 1), 100))"]
                                if let filter { query.append("$filter=" + HTTPTransport.percentEncode(GraphTranslation.filter(filter))) }
                                if let orderBy { query.append("$orderby=" + HTTPTransport.percentEncode(GraphTranslation.filter(orderBy))) }
                                url = "\(endpoint.baseURL)/v1.0/security/incidents?" + query.joined(separator: "&")
                            } else {
                                url = "\(endpoint.baseURL)/api/incidents?" + query.joined(separator: "&")
                            }
                        }
                        let object = try await request(.GET, url, role: role(read: true))
                        let page = (object["value"] as? [[String: Any]] ?? []).compactMap(Incident.init)
                        for incident in page {
                            continuation.yield(incident)
                            delivered += 1
                            if let limit, delivered >= limit { continuation.finish(); return }
                        }
                        progress?(delivered)
                        next = object["@odata.nextLink"] as? String
                        if next == nil {
                            guard endpoint.flavour == .defender, page.count == min(max(pageSize, 1), 100) else { break }
                            skip += page.count
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
        let object = try await request(.GET, incidentURL(id), role: role(read: true))
        guard let incident = Incident(object) else { throw ClavisError(.serviceError, reference: "incident \(id)", reason: "the reply is not an incident") }
        return incident
    }

    /// Updates an incident: `status`, `assignedTo`, `classification`, `determination`, `tags`
    /// (replaces), `comment` (appends).
    public func update(_ id: Int, fields: [String: DecodedToken.JSONValue]) async throws -> Incident {
        var fields = fields
        var graphComment: String?
        if endpoint.flavour == .graph {
            // Graph takes lowerCamel values, and comments through their own endpoint.
            if case .string(let status)? = fields["status"] { fields["status"] = .string(status.prefix(1).lowercased() + status.dropFirst()) }
            if case .string(let text)? = fields.removeValue(forKey: "comment") { graphComment = text }
        }
        let body = try JSONEncoder().encode(fields)
        var object = try await request(.PATCH, incidentURL(id), body: Array(body), role: role(read: false))
        if let graphComment {
            let comment = try JSONSerialization.data(withJSONObject: ["@odata.type": "microsoft.graph.security.alertComment", "comment": graphComment])
            _ = try await request(.POST, incidentURL(id) + "/comments", body: Array(comment), role: role(read: false))
            object = try await request(.GET, incidentURL(id), role: role(read: true))
        }
        guard let incident = Incident(object) else { throw ClavisError(.serviceError, reference: "incident \(id)", reason: "the reply is not an incident") }
        return incident
    }

    /// Runs an advanced-hunting query (`POST /api/advancedhunting/run`).
    public func hunt(_ query: String) async throws -> HuntingResult {
        let body = try JSONSerialization.data(withJSONObject: ["Query": query])
        let graph = endpoint.flavour == .graph
        let url = graph ? "\(endpoint.baseURL)/v1.0/security/runHuntingQuery" : "\(endpoint.baseURL)/api/advancedhunting/run"
        let object = try await request(.POST, url, body: Array(body), role: graph ? "ThreatHunting.Read.All" : "AdvancedHunting.Read.All")
        let schema = (object[graph ? "schema" : "Schema"] as? [[String: Any]] ?? []).map {
            (name: $0[graph ? "name" : "Name"] as? String ?? "", type: $0[graph ? "type" : "Type"] as? String ?? "")
        }
        let rows = (object[graph ? "results" : "Results"] as? [[String: Any]] ?? []).map { $0.mapValues(DecodedToken.JSONValue.init) }
        return HuntingResult(schema: schema, rows: rows)
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

    private func request(_ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, role: String) async throws -> [String: Any] {
        guard let target = Origin(url), target == endpoint.origin else {
            throw ClavisError(.permissionDenied, reference: Origin(url)?.description ?? "an invalid URL",
                              reason: "a link from the API (e.g. @odata.nextLink) points to \(Origin(url)?.description ?? "an invalid URL"), outside the API's origin \(endpoint.origin?.description ?? endpoint.baseURL); no request was sent there",
                              hint: "the token goes only to the configured API; check --api (a proxy rewriting links?)")
        }
        try await limiter.acquire()
        let token = try await credential.getToken(TokenRequestContext(resource: endpoint.resource))
        guard let bearer = token.token.revealedString() else { throw ClavisError(.serviceError, reason: "the token is not text") }
        var headers = [("Authorization", "Bearer \(bearer)"), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let reply = try await transport.send(method, url, headers: headers, body: body)
        let reference = (URL(string: url)?.host ?? "") + (URL(string: url)?.path ?? "")
        guard (200..<300).contains(reply.status) else {
            let error = reply.jsonObject?["error"] as? [String: Any]
            let message = error?["message"] as? String ?? "HTTP \(reply.status)"
            switch reply.status {
            case 401: throw ClavisError(.permissionDenied, reference: reference, reason: "the API did not accept the token: \(message)",
                                        hint: "the token must be for \(endpoint.resource)")
            case 403: throw ClavisError(.permissionDenied, reference: reference, reason: "forbidden: \(message)",
                                        hint: "grant the app the application permission \(role) and admin consent (`clavis consent-url`)")
            case 404: throw ClavisError(.notFound, reference: reference, reason: message)
            case 429: throw ClavisError(.sourceUnavailable, reference: reference, reason: "rate limited even after waiting: \(message)",
                                        hint: "the API allows 50 calls per minute and 1,500 per hour")
            default: throw ClavisError(.serviceError, reference: reference, reason: "HTTP \(reply.status): \(message)")
            }
        }
        guard let object = reply.jsonObject else { throw ClavisError(.serviceError, reference: reference, reason: "the reply is not JSON") }
        return object
    }
}

/// Defender filter and order expressions in Graph's vocabulary.
enum GraphTranslation {
    static func filter(_ text: String) -> String {
        var result = text.replacingOccurrences(of: "lastUpdateTime", with: "lastUpdateDateTime")
            .replacingOccurrences(of: "createdTime", with: "createdDateTime")
        for status in ["Active", "InProgress", "Resolved", "Redirected"] {
            result = result.replacingOccurrences(of: "'\(status)'", with: "'\(status.prefix(1).lowercased() + status.dropFirst())'")
        }
        return result
    }
}

/// A sliding-window limiter: at most `perMinute` calls in any 60 s.
final class RateLimiter: Sendable {
    let perMinute: Int
    private let calls = Mutex<[ContinuousClock.Instant]>([])

    init(perMinute: Int) { self.perMinute = max(perMinute, 1) }

    func acquire() async throws {
        while true {
            let wait: Duration? = calls.withLock { calls in
                let now = ContinuousClock.now
                calls.removeAll { now - $0 >= .seconds(60) }
                if calls.count < perMinute { calls.append(now); return nil }
                return calls[0] + .seconds(60) - now
            }
            guard let wait else { return }
            try await Task.sleep(for: wait)
        }
    }
}
