import ClavisCore
import ClavisIdentity
import Foundation
import Synchronization

/// Where the Defender XDR API lives.
public struct DefenderEndpoint: Sendable, Hashable {
    /// The base URL, e.g. `https://api.security.microsoft.com`.
    public let baseURL: String
    /// The token resource (scope without `/.default`).
    public let resource: String

    /// Commercial cloud.
    public static let commercial = DefenderEndpoint(baseURL: "https://api.security.microsoft.com", resource: "https://api.security.microsoft.com")
    /// GCC.
    public static let gcc = DefenderEndpoint(baseURL: "https://api-gcc.security.microsoft.us", resource: "https://api-gcc.security.microsoft.us")
    /// GCC High and DoD.
    public static let gccHigh = DefenderEndpoint(baseURL: "https://api-gov.security.microsoft.us", resource: "https://api-gov.security.microsoft.us")

    /// A custom base URL (the emulator), with the commercial resource unless given.
    public init(baseURL: String, resource: String = "https://api.security.microsoft.com") {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.resource = resource
    }
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
                            if let filter { query.append("$filter=" + Self.encode(filter)) }
                            if let orderBy { query.append("$orderby=" + Self.encode(orderBy)) }
                            url = "\(endpoint.baseURL)/api/incidents?" + query.joined(separator: "&")
                        }
                        let object = try await request(.GET, url, role: "Incident.Read.All")
                        let page = (object["value"] as? [[String: Any]] ?? []).compactMap(Incident.init)
                        for incident in page {
                            continuation.yield(incident)
                            delivered += 1
                            if let limit, delivered >= limit { continuation.finish(); return }
                        }
                        progress?(delivered)
                        next = object["@odata.nextLink"] as? String
                        if next == nil {
                            guard page.count == min(max(pageSize, 1), 100) else { break }
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
        let object = try await request(.GET, "\(endpoint.baseURL)/api/incidents/\(id)", role: "Incident.Read.All")
        guard let incident = Incident(object) else { throw ClavisError(.serviceError, reference: "incident \(id)", reason: "the reply is not an incident") }
        return incident
    }

    /// Updates an incident: `status`, `assignedTo`, `classification`, `determination`, `tags`
    /// (replaces), `comment` (appends).
    public func update(_ id: Int, fields: [String: DecodedToken.JSONValue]) async throws -> Incident {
        let body = try JSONEncoder().encode(fields)
        let object = try await request(.PATCH, "\(endpoint.baseURL)/api/incidents/\(id)", body: Array(body), role: "Incident.ReadWrite.All")
        guard let incident = Incident(object) else { throw ClavisError(.serviceError, reference: "incident \(id)", reason: "the reply is not an incident") }
        return incident
    }

    /// Runs an advanced-hunting query (`POST /api/advancedhunting/run`).
    public func hunt(_ query: String) async throws -> HuntingResult {
        let body = try JSONSerialization.data(withJSONObject: ["Query": query])
        let object = try await request(.POST, "\(endpoint.baseURL)/api/advancedhunting/run", body: Array(body), role: "AdvancedHunting.Read.All")
        let schema = (object["Schema"] as? [[String: Any]] ?? []).map { (name: $0["Name"] as? String ?? "", type: $0["Type"] as? String ?? "") }
        let rows = (object["Results"] as? [[String: Any]] ?? []).map { $0.mapValues(DecodedToken.JSONValue.init) }
        return HuntingResult(schema: schema, rows: rows)
    }

    private func request(_ method: HTTPMethod, _ url: String, body: [UInt8]? = nil, role: String) async throws -> [String: Any] {
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

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
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
