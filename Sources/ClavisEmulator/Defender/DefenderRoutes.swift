import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import Synchronization

/// The Defender XDR API stand-in: deterministic incidents with alerts and entities, OData
/// `$filter`/`$orderby`/`$top`/`$skip`, updates, advanced hunting over sample tables with a small
/// KQL subset, the `roles` claim enforced, and the rate limit.
final class DefenderRoutes: Sendable {
    let state: EmulatorState
    private let incidents: Mutex<[[String: Any]]>
    private let calls = Mutex<[Date]>([])
    nonisolated(unsafe) static let iso: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter
    }()

    init(state: EmulatorState) {
        self.state = state
        incidents = Mutex(Self.generate(count: state.config.defender?.incidents ?? 0))
    }

    /// Incident `i` is created 37 minutes after incident `i-1`, starting 30 days ago (rounded).
    static func generate(count: Int) -> [[String: Any]] {
        let start = (Date().timeIntervalSince1970 / 86400).rounded(.down) * 86400 - 30 * 86400
        let statuses = ["Active", "InProgress", "Resolved", "Active", "Redirected"]
        let severities = ["High", "Medium", "Low", "Informational", "Medium"]
        let titles = ["Suspicious PowerShell command line", "Multi-stage incident involving Initial access", "Ransomware activity",
                      "Credential access via LSASS", "Phishing email delivered"]
        return (1...max(count, 1)).prefix(count).map { index in
            let created = start + Double(index) * 37 * 60
            let updated = created + Double(index % 5) * 13 * 60
            return [
                "incidentId": index, "incidentName": "\(titles[index % titles.count]) on host-\(index % 17)",
                "createdTime": iso.string(from: Date(timeIntervalSince1970: created)),
                "lastUpdateTime": iso.string(from: Date(timeIntervalSince1970: updated)),
                "assignedTo": index % 3 == 0 ? "secops@contoso.com" : NSNull(), "classification": "Unknown", "determination": "NotAvailable",
                "status": statuses[index % statuses.count], "severity": severities[index % severities.count],
                "tags": index % 4 == 0 ? ["ransomware"] : [], "comments": [] as [Any],
                "alerts": [[
                    "alertId": "da\(String(format: "%016d", index))", "incidentId": index, "serviceSource": "MicrosoftDefenderForEndpoint",
                    "creationTime": iso.string(from: Date(timeIntervalSince1970: created)), "lastUpdatedTime": iso.string(from: Date(timeIntervalSince1970: updated)),
                    "title": titles[index % titles.count], "severity": severities[index % severities.count], "status": "New",
                    "devices": [["mdatpDeviceId": String(format: "%040x", index), "deviceDnsName": "host-\(index % 17).contoso.local", "osPlatform": "Windows11"]],
                    "entities": [["entityType": "Process", "fileName": "powershell.exe", "processId": 4000 + index],
                                 ["entityType": "User", "accountName": "user\(index % 9)", "domainName": "CONTOSO"]],
                ]],
            ] as [String: Any]
        }
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/api/incidents") { request, _ in try await self.guarded(request, role: "Incident.Read.All") { try self.list(request) } }
        router.get("/api/incidents/:id") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            return try await self.guarded(request, role: "Incident.Read.All") { self.one(id) }
        }
        router.patch("/api/incidents/:id") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            return try await self.guarded(request, role: "Incident.ReadWrite.All") { self.update(id, body: Data(buffer: body)) }
        }
        let graph = "https://graph.microsoft.com"
        router.get("/v1.0/security/incidents") { request, _ in
            try await self.guarded(request, role: "SecurityIncident.Read.All", audience: graph) { try self.graphList(request) }
        }
        router.get("/v1.0/security/incidents/:id") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            return try await self.guarded(request, role: "SecurityIncident.Read.All", audience: graph) { self.graphOne(id) }
        }
        router.patch("/v1.0/security/incidents/:id") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.guarded(request, role: "SecurityIncident.ReadWrite.All", audience: graph) {
                guard let changes = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] else {
                    return Self.error(.badRequest, "BadRequest", "The body is not a JSON object")
                }
                var mapped = changes
                if let status = changes["status"] as? String { mapped["status"] = status.prefix(1).uppercased() + status.dropFirst() }
                let data = (try? JSONSerialization.data(withJSONObject: mapped)) ?? Data()
                let reply = self.update(id, body: data)
                return reply.status == .ok ? self.graphOne(id) : reply
            }
        }
        router.post("/v1.0/security/incidents/:id/comments") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.guarded(request, role: "SecurityIncident.ReadWrite.All", audience: graph) {
                let comment = ((try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any])?["comment"] as? String ?? ""
                let data = (try? JSONSerialization.data(withJSONObject: ["comment": comment])) ?? Data()
                return self.update(id, body: data)
            }
        }
        router.post("/v1.0/security/runHuntingQuery") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.guarded(request, role: "ThreatHunting.Read.All", audience: graph) {
                Hunting.run(Data(buffer: body), graph: true)
            }
        }
        router.post("/api/advancedhunting/run") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.guarded(request, role: "AdvancedHunting.Read.All") { Hunting.run(Data(buffer: body)) }
        }
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) -> Response {
        EntraReply.json(["error": ["code": code, "message": message, "target": UUID().uuidString.lowercased()]], status: status, headers: headers)
    }

    /// Faults, the rate limit, and the token: issued by this emulator, for the Defender API, with the role.
    func guarded(_ request: Request, role: String, audience: String = "https://api.security.microsoft.com",
                 _ body: () throws -> Response) async throws -> Response {
        if let faulted = try await state.intercept("defender", status: { fault, headers in
            Self.error(HTTPResponse.Status(code: fault.status ?? 500), "TooManyRequests", "Injected fault", headers: headers)
        }) {
            return faulted
        }
        if let limit = state.config.defender?.callsPerMinute {
            let now = Date()
            let allowed = calls.withLock { calls -> Bool in
                calls.removeAll { now.timeIntervalSince($0) >= 60 }
                guard calls.count < limit else { return false }
                calls.append(now)
                return true
            }
            if !allowed {
                let reset = calls.withLock { $0.first.map { Int(60 - now.timeIntervalSince($0)) + 1 } ?? 60 }
                var headers: HTTPFields = [:]
                headers[HTTPField.Name("Retry-After")!] = String(reset)
                return Self.error(.tooManyRequests, "TooManyRequests", "API calls quota exceeded! Maximum allowed \(limit) per minute. Try again in \(reset) seconds.", headers: headers)
            }
        }
        guard let claims = await state.issuedClaims(request.headers[.authorization]), claims.aud.trimmingCharacters(in: ["/"]) == audience else {
            return Self.error(.unauthorized, "Unauthorized", "Authorization has been denied for this request.")
        }
        let roles = claims.roles ?? []
        let satisfied = roles.contains(role) || (role.hasSuffix(".Read.All") && roles.contains(role.replacingOccurrences(of: ".Read.All", with: ".ReadWrite.All")))
        guard satisfied else {
            if audience == "https://graph.microsoft.com" {
                return Self.error(.forbidden, "Forbidden", "Missing application roles. API required roles: \(role).")
            }
            return Self.error(.forbidden, "Forbidden", "The application does not have any of the required application permissions (\(role)) to access the resource.")
        }
        return try body()
    }

    func list(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        let top = Int(query.get("$top") ?? "") ?? 100
        guard (1...100).contains(top) else { return Self.error(.badRequest, "BadRequest", "$top must be between 1 and 100") }
        let skip = max(Int(query.get("$skip") ?? "") ?? 0, 0)
        var items = snapshot()
        if let filter = query.get("$filter").map({ String($0) }) {
            guard let predicate = ODataFilter(filter) else {
                return Self.error(.badRequest, "BadRequest", "Invalid filter clause: only status, assignedTo (eq), lastUpdateTime and createdTime (eq, ge, gt, le, lt) joined by 'and' are supported")
            }
            items = items.filter(predicate.matches)
        }
        let order = (query.get("$orderby").map({ String($0) }) ?? "createdTime desc").split(separator: " ")
        let field = String(order.first ?? "createdTime"), descending = order.count > 1 && order[1].lowercased() == "desc"
        guard ["createdTime", "lastUpdateTime", "incidentId"].contains(field) else {
            return Self.error(.badRequest, "BadRequest", "Invalid $orderby field \(field)")
        }
        items.sort { a, b in
            let x = "\(a[field] ?? "")", y = "\(b[field] ?? "")"
            if field == "incidentId" { return descending ? (a["incidentId"] as? Int ?? 0) > (b["incidentId"] as? Int ?? 0) : (a["incidentId"] as? Int ?? 0) < (b["incidentId"] as? Int ?? 0) }
            return x == y ? (a["incidentId"] as? Int ?? 0) < (b["incidentId"] as? Int ?? 0) : (descending ? x > y : x < y)
        }
        let page = Array(items.dropFirst(skip).prefix(top))
        return EntraReply.json(["@odata.context": "https://api.security.microsoft.com/api/$metadata#Incidents", "value": page])
    }

    /// The Graph shape of an incident.
    static func graphShape(_ incident: [String: Any]) -> [String: Any] {
        func lower(_ text: Any?) -> Any { (text as? String).map { $0.prefix(1).lowercased() + $0.dropFirst() } ?? NSNull() }
        return [
            "id": String(incident["incidentId"] as? Int ?? 0), "displayName": incident["incidentName"] ?? "",
            "createdDateTime": incident["createdTime"] ?? "", "lastUpdateDateTime": incident["lastUpdateTime"] ?? "",
            "status": lower(incident["status"]), "severity": lower(incident["severity"]), "assignedTo": incident["assignedTo"] ?? NSNull(),
            "classification": lower(incident["classification"]), "determination": lower(incident["determination"]),
            "tags": incident["tags"] ?? [], "comments": incident["comments"] ?? [],
            "incidentWebUrl": "https://security.microsoft.com/incidents/\(incident["incidentId"] ?? 0)",
        ]
    }

    func graphOne(_ id: Int) -> Response { one(id, shape: Self.graphShape) }

    /// Graph paging: `$top` (default 50) and an opaque `$skiptoken` in `@odata.nextLink`.
    func graphList(_ request: Request) throws -> Response {
        let query = request.uri.queryParameters
        let top = min(max(Int(query.get("$top") ?? "") ?? 50, 1), 100)
        let offset = query.get("$skiptoken").flatMap { Int(String($0).dropFirst(2), radix: 36) } ?? 0
        var items = snapshot()
        if let filter = query.get("$filter").map({ String($0) }) {
            var translated = filter.replacingOccurrences(of: "lastUpdateDateTime", with: "lastUpdateTime").replacingOccurrences(of: "createdDateTime", with: "createdTime")
            for status in ["Active", "InProgress", "Resolved", "Redirected"] {
                translated = translated.replacingOccurrences(of: "'\(status.prefix(1).lowercased() + status.dropFirst())'", with: "'\(status)'")
            }
            guard let predicate = ODataFilter(translated) else { return Self.error(.badRequest, "BadRequest", "Invalid filter clause") }
            items = items.filter(predicate.matches)
        }
        let ascending = (query.get("$orderby").map { String($0) } ?? "").hasSuffix(" asc")
        items.sort { a, b in
            let x = "\(a["lastUpdateTime"] ?? "")", y = "\(b["lastUpdateTime"] ?? "")"
            return x == y ? (a["incidentId"] as? Int ?? 0) < (b["incidentId"] as? Int ?? 0) : (ascending ? x < y : x > y)
        }
        let page = items.dropFirst(offset).prefix(top).map(Self.graphShape)
        var object: [String: Any] = ["@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/incidents", "value": Array(page)]
        if offset + top < items.count {
            let authority = state.config.defender?.nextLinkPort.map { "127.0.0.1:\($0)" } ?? request.head.authority ?? "127.0.0.1"
            var next = "http://\(authority)/v1.0/security/incidents?$top=\(top)&$skiptoken=sk\(String(offset + top, radix: 36))"
            if let filter = query.get("$filter") { next += "&$filter=" + (String(filter).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
            if let order = query.get("$orderby") { next += "&$orderby=" + (String(order).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
            object["@odata.nextLink"] = next
        }
        return EntraReply.json(object)
    }

    /// One incident, in the Defender shape or another (`graphShape`).
    func one(_ id: Int, shape: @escaping ([String: Any]) -> [String: Any] = { $0 }) -> Response {
        guard let data = incidents.withLock({ list -> Data? in
            guard let incident = list.first(where: { $0["incidentId"] as? Int == id }) else { return nil }
            return try? JSONSerialization.data(withJSONObject: shape(incident), options: [.sortedKeys, .withoutEscapingSlashes])
        }) else {
            return Self.error(.notFound, "NotFound", "Incident \(id) was not found")
        }
        return Self.jsonData(data)
    }

    /// A 200 reply carrying already-serialised JSON (values leave the store only as `Data`).
    static func jsonData(_ data: Data) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A copy of the store, for filtering and sorting outside the lock.
    func snapshot() -> [[String: Any]] {
        (try? JSONSerialization.jsonObject(with: incidents.withLock { list in
            (try? JSONSerialization.data(withJSONObject: list)) ?? Data("[]".utf8)
        })) as? [[String: Any]] ?? []
    }

    func update(_ id: Int, body: Data) -> Response {
        guard let changes = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            return Self.error(.badRequest, "BadRequest", "The body is not a JSON object")
        }
        let allowed: Set<String> = ["status", "assignedTo", "classification", "determination", "tags", "comment"]
        if let unknown = changes.keys.first(where: { !allowed.contains($0) }) {
            return Self.error(.badRequest, "BadRequest", "Property \(unknown) cannot be updated")
        }
        if let status = changes["status"] as? String, !["Active", "InProgress", "Resolved", "Redirected"].contains(status) {
            return Self.error(.badRequest, "BadRequest", "Invalid status \(status)")
        }
        if let classification = changes["classification"] as? String,
           !["Unknown", "TruePositive", "InformationalExpectedActivity", "FalsePositive"].contains(classification) {
            return Self.error(.badRequest, "BadRequest", "Invalid classification \(classification)")
        }
        let updated = incidents.withLock { list -> Data? in
            // Decoded again inside the lock, so no value crosses into the shared state from outside.
            let changes = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
            guard let index = list.firstIndex(where: { $0["incidentId"] as? Int == id }) else { return nil }
            for (key, value) in changes where key != "comment" { list[index][key] = value }
            if let comment = changes["comment"] as? String {
                var comments = list[index]["comments"] as? [Any] ?? []
                comments.append(["comment": comment, "createdBy": "API-App", "createdTime": Self.iso.string(from: Date())])
                list[index]["comments"] = comments
            }
            list[index]["lastUpdateTime"] = Self.iso.string(from: Date())
            return try? JSONSerialization.data(withJSONObject: list[index], options: [.sortedKeys, .withoutEscapingSlashes])
        }
        guard let updated else { return Self.error(.notFound, "NotFound", "Incident \(id) was not found") }
        return Self.jsonData(updated)
    }
}

/// `status eq 'Active' and lastUpdateTime ge 2026-11-01T00:00:00Z`.
struct ODataFilter {
    struct Clause { var field: String; var op: String; var value: String }
    var clauses: [Clause]

    init?(_ text: String) {
        var clauses: [Clause] = []
        for part in text.components(separatedBy: " and ") {
            let words = part.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2).map(String.init)
            guard words.count == 3 else { return nil }
            let field = words[0], op = words[1].lowercased()
            var value = words[2]
            if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            switch field {
            case "status", "assignedTo": guard op == "eq" else { return nil }
            case "lastUpdateTime", "createdTime": guard ["eq", "ge", "gt", "le", "lt"].contains(op) else { return nil }
            default: return nil
            }
            clauses.append(Clause(field: field, op: op, value: value))
        }
        self.clauses = clauses
    }

    func matches(_ incident: [String: Any]) -> Bool {
        clauses.allSatisfy { clause in
            let actual = incident[clause.field] as? String ?? ""
            if clause.field.hasSuffix("Time") {
                guard let a = DefenderRoutes.iso.date(from: actual), let b = DefenderRoutes.iso.date(from: clause.value) ?? ISO8601DateFormatter().date(from: clause.value) else { return false }
                switch clause.op {
                case "eq": return a == b
                case "ge": return a >= b
                case "gt": return a > b
                case "le": return a <= b
                default: return a < b
                }
            }
            return actual == clause.value
        }
    }
}
