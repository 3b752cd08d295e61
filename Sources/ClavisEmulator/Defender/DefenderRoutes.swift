import Foundation
import HTTPTypes
import Hummingbird
import JWTKit

/// The Defender XDR API and Microsoft Graph security stand-ins, answering as the services document
/// (research-15): incidents with 0–7-digit timestamps, only the documented OData options, newest
/// first whatever the client asks, the documented error shapes, per-minute and per-hour quotas with
/// the reset time in the body, tokens checked on every route, and hunting that may run past 30 s up
/// to the service's 3-minute timeout. Graph routes live in `GraphRoutes.swift`.
final class DefenderRoutes: Sendable {
    let state: EmulatorState
    let scheme: String
    let store: IncidentStore
    let quotas = Quotas()

    init(state: EmulatorState, scheme: String = "http") {
        self.state = state
        self.scheme = scheme
        store = IncidentStore(count: state.config.defender?.incidents ?? 0, tenantId: state.config.tenants.first?.id ?? "")
    }

    func register(on router: Router<BasicRequestContext>) {
        let read = ["Incident.Read.All", "Incident.ReadWrite.All"], write = ["Incident.ReadWrite.All"]
        router.get("/api/incidents") { request, _ in
            try await self.guarded(request, api: .defender, roles: read, bucket: "defender") { _ in self.list(request) }
        }
        router.get("/api/incidents/:id") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            return try await self.guarded(request, api: .defender, roles: read, bucket: "defender") { _ in self.one(id) }
        }
        router.patch("/api/incidents/:id") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            return try await self.guarded(request, api: .defender, roles: write, bucket: "defender") { claims in
                self.update(id, body: Data(buffer: body), claims: claims)
            }
        }
        router.post("/api/advancedhunting/run") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.guarded(request, api: .defender, roles: ["AdvancedHunting.Read.All"], bucket: "hunting", target: "hunting",
                                          hunting: true) { _ in Hunting.run(Data(buffer: body)) }
        }
        registerGraph(on: router)
    }

    /// Quota limits of a bucket: (calls, window seconds); a configured 0 turns a limit off.
    func limits(_ bucket: String) -> [(count: Int, seconds: Int)] {
        let config = state.config.defender
        switch bucket {
        case "hunting": return [(config?.huntingPerMinute ?? 45, 60)]  // D-AH: "at least 45 calls per minute"
        case "graph": return [(config?.graphPerMinute ?? 150, 60)]  // G-THR: 150/min for /security resources
        default: return [(config?.callsPerMinute ?? 50, 60), (config?.callsPerHour ?? 1500, 3600)]  // D-LIST: 50/min and 1,500/h
        }
    }

    /// What every route does first: count, apply an injected fault, check the token (401) and the
    /// roles (403), then the quota (429). A `statusAfter` fault runs the route and then answers its
    /// `status` (a change applied, the reply lost); a hunting `delay` beyond the service timeout
    /// answers the timeout error.
    func guarded(_ request: Request, api: SecurityAPI, roles required: [String], bucket: String, target: String? = nil, hunting: Bool = false,
                 _ body: (AppTokenClaims) async throws -> Response) async throws -> Response {
        let target = target ?? (api == .graph ? "graph" : "defender")
        state.count(target)
        var after: Fault?
        var delay: Int?
        // Faults aimed at `defender` still reach the Graph and hunting routes (fault lists from before they had targets of their own).
        if let fault = state.takeFault(for: target) ?? (target == "defender" ? nil : state.takeFault(for: "defender")) {
            switch fault.kind {
            case "statusAfter": after = fault
            case "delay" where hunting: delay = fault.delayMilliseconds ?? 1000
            default:
                if let reply = try await state.apply(fault, status: { fault, _ in self.faultReply(fault, api: api, request: request) }) { return reply }
            }
        }
        let claims: AppTokenClaims
        switch await state.securityClaims(request, api: api, scheme: scheme) {
        case .success(let valid): claims = valid
        case .failure(let reply): return reply
        }
        let roles = claims.roles ?? []
        guard required.contains(where: roles.contains) else {
            if api == .graph {
                // OBS-403 (wazuh/wazuh#31670): roles joined by "," without spaces; none → "application roles: ."
                return api.error(.forbidden, "Forbidden", "Missing application roles. API required roles: \(required.joined(separator: ",")), application roles: \(roles.joined(separator: ",")).", request: request)
            }
            return api.error(.forbidden, "Forbidden", "The application does not have any of the required application permissions (\(required.joined(separator: ", "))) to access the resource.")
        }
        if let full = quotas.take("\(bucket)/\(claims.tid)/\(claims.appid ?? claims.sub)", limits: limits(bucket)) {
            // Defender promises no Retry-After (D-INC: the body has the reset time); Graph sends one (G-THR).
            return api.throttled(limit: full.limit, window: full.window, reset: full.reset, retryAfterHeader: api == .graph, request: request)
        }
        if let delay {
            let timeout = (state.config.defender?.huntingTimeoutSeconds ?? 180) * 1000  // D-AH: more than three minutes times out
            try await Task.sleep(for: .milliseconds(min(delay, timeout)))
            if delay > timeout {
                // D-AHERR text; the HTTP status is not documented (our choice). Graph: 504 UnknownError (OBS-AH504).
                return api == .graph ? api.error(.gatewayTimeout, "UnknownError", "", request: request)
                    : api.error(.badRequest, "BadRequest", "Query exceeded the timeout period.")
            }
        }
        let reply = try await body(claims)
        if let after { return faultReply(after, api: api, request: request) }
        return reply
    }

    /// The reply of a `status` fault in the API's error shape; a 429 carries the reset in the body, and
    /// `Retry-After` only when the fault asks for it.
    func faultReply(_ fault: Fault, api: SecurityAPI, request: Request) -> Response {
        let status = fault.status ?? 500
        if status == 429 {
            return api.throttled(limit: 50, window: "00:01:00", reset: fault.retryAfter ?? 60,
                                 retryAfterHeader: fault.retryAfter != nil && fault.retryAfterHeader != false, code: fault.code, request: request)
        }
        let code = fault.code ?? [400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 500: "InternalServerError"][status]
            ?? "InternalServerError"
        return api.error(HTTPResponse.Status(code: status), code, "Injected fault", request: request)
    }

    /// `GET /api/incidents`: `$filter`, `$top` ≤ 100, `$skip` (D-LIST); `$orderby` is not documented
    /// and not honoured — newest first always.
    func list(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        let topText = query.get("$top").map { String($0) }
        let top = topText.map { Int($0) ?? -1 } ?? 100
        guard (1...100).contains(top) else {
            // D-ERR `ODataError`: "Invalid OData URI query <specific error>."; the 100 cap per D-LIST.
            return SecurityAPI.defender.error(.badRequest, "ODataError",
                                              "Invalid OData URI query The limit of '100' for Top query has been exceeded. The value from the incoming request is '\(topText ?? "")'.")
        }
        let skip = max(Int(query.get("$skip") ?? "") ?? 0, 0)
        var predicate: ODataFilter?
        if let filter = query.get("$filter").map({ String($0) }) {
            guard let parsed = ODataFilter(filter, fields: ODataFilter.defenderFields) else {
                return SecurityAPI.defender.error(.badRequest, "ODataError",
                                                  "Invalid OData URI query $filter: only lastUpdateTime, createdTime (eq, ne, gt, ge, lt, le), status and assignedTo (eq, ne) joined by 'and' are supported.")
            }
            predicate = parsed
        }
        let page = store.query { list in
            let items = predicate.map { list.filter($0.matches) } ?? list
            return IncidentStore.newestFirst(items).dropFirst(skip).prefix(top).map(IncidentStore.defenderShape)
        }
        return EntraReply.json(["@odata.context": "https://api.security.microsoft.com/api/$metadata#Incidents", "value": Array(page)])
    }

    func one(_ id: Int) -> Response {
        guard let incident = store.incident(id) else { return SecurityAPI.defender.error(.notFound, "NotFound", "Resource \(id) wasn't found.") }
        return EntraReply.json(IncidentStore.defenderShape(incident))
    }

    /// Determinations allowed by classification (D-UPD, https://learn.microsoft.com/defender-xdr/api-update-incidents,
    /// with `NotMalicious` for `Clean` per OBS-DET rapid7/insightconnect-plugins PR #3303).
    static let determinations: [String: Set<String>] = [
        "TruePositive": ["MultiStagedAttack", "MaliciousUserActivity", "CompromisedAccount", "Malware", "Phishing", "UnwantedSoftware", "Other"],
        "InformationalExpectedActivity": ["SecurityTesting", "LineOfBusinessApplication", "ConfirmedActivity", "Other"],
        "FalsePositive": ["NotMalicious", "NoEnoughDataToValidate", "Other"],
    ]

    /// Validates a change set in Defender's vocabulary (D-UPD); the 400 message, or nil.
    func invalid(_ changes: [String: Any], current: [String: Any]?) -> String? {
        let allowed: Set<String> = ["status", "assignedTo", "classification", "determination", "tags", "comment"]
        if let unknown = changes.keys.first(where: { !allowed.contains($0) }) { return "Property '\(unknown)' does not exist or cannot be updated." }
        if let status = changes["status"], !["Active", "InProgress", "Resolved", "Redirected"].contains(status as? String ?? "") {
            return "Invalid value for status."
        }
        if let classification = changes["classification"], Self.determinations[classification as? String ?? ""] == nil {
            return "Invalid value for classification."
        }
        if let determination = changes["determination"] {
            let classification = changes["classification"] as? String ?? current?["classification"] as? String ?? "Unknown"
            guard Self.determinations[classification]?.contains(determination as? String ?? "") == true else {
                return "Invalid value for determination with classification \(classification)."
            }
        }
        if let tags = changes["tags"], !(tags is [String]) { return "Invalid value for tags." }
        if let comment = changes["comment"], !(comment is String) { return "Invalid value for comment." }
        return nil
    }

    /// `PATCH /api/incidents/{id}` (D-UPD): the whole incident back; unknown id → 404.
    func update(_ id: Int, body: Data, claims: AppTokenClaims) -> Response {
        guard let changes = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            return SecurityAPI.defender.error(.badRequest, "InvalidRequestBody", "The body is not a JSON object.")
        }
        guard let current = store.incident(id) else { return SecurityAPI.defender.error(.notFound, "NotFound", "Resource \(id) wasn't found.") }
        if let message = invalid(changes, current: current) { return SecurityAPI.defender.error(.badRequest, "InvalidInput", message) }
        guard let updated = store.update(id, changes: body, modifiedBy: "API-App:\(claims.appid ?? claims.sub)") else {
            return SecurityAPI.defender.error(.notFound, "NotFound", "Resource \(id) wasn't found.")
        }
        return EntraReply.json(IncidentStore.defenderShape(updated))
    }
}
