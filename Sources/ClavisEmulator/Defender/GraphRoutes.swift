import Foundation
import HTTPTypes
import Hummingbird
import JWTKit

/// The emulator's own Defender ↔ Graph vocabulary (it imports no client module): Graph wire values
/// from `$metadata` (G-META, msgraph-sdk-go `models/security/alert_determination.go`), research-15 §7.
enum GraphVocabulary {
    static let values: [String: [(defender: String, graph: String)]] = [
        "status": [("Active", "active"), ("InProgress", "inProgress"), ("Resolved", "resolved"), ("Redirected", "redirected")],
        "severity": [("UnSpecified", "unknown"), ("Informational", "informational"), ("Low", "low"), ("Medium", "medium"), ("High", "high")],
        "classification": [("Unknown", "unknown"), ("TruePositive", "truePositive"), ("FalsePositive", "falsePositive"),
                           ("InformationalExpectedActivity", "informationalExpectedActivity")],
        "determination": [("NotAvailable", "unknown"), ("Apt", "apt"), ("SecurityPersonnel", "securityPersonnel"),
                          ("MultiStagedAttack", "multiStagedAttack"), ("MaliciousUserActivity", "maliciousUserActivity"),
                          ("CompromisedAccount", "compromisedAccount"), ("Malware", "malware"), ("Phishing", "phishing"),
                          ("UnwantedSoftware", "unwantedSoftware"), ("Other", "other"), ("SecurityTesting", "securityTesting"),
                          ("LineOfBusinessApplication", "lineOfBusinessApplication"), ("ConfirmedActivity", "confirmedActivity"),
                          ("NotMalicious", "notMalicious"), ("NoEnoughDataToValidate", "notEnoughDataToValidate")],
    ]

    static func graph(_ value: Any?, _ field: String) -> Any {
        guard let text = value as? String else { return NSNull() }
        return values[field]?.first { $0.defender == text }?.graph ?? text
    }

    /// A Graph value (camelCase, or PascalCase as in G-UPD's example body) in Defender's vocabulary;
    /// nil when it is not a `$metadata` member (doc-only aliases such as `clean` cannot deserialize).
    static func defender(_ value: String, _ field: String) -> String? {
        values[field]?.first { $0.graph == value || $0.graph.lowercased() == value.lowercased() }?.defender
    }
}

extension DefenderRoutes {
    func registerGraph(on router: Router<BasicRequestContext>) {
        let read = ["SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"], write = ["SecurityIncident.ReadWrite.All"]
        router.get("/v1.0/security/incidents") { request, _ in
            try await self.guarded(request, api: .graph, roles: read, bucket: "graph") { _ in self.graphList(request) }
        }
        router.get("/v1.0/security/incidents/:id") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            return try await self.guarded(request, api: .graph, roles: read, bucket: "graph") { _ in self.graphOne(id, request: request) }
        }
        router.patch("/v1.0/security/incidents/:id") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.guarded(request, api: .graph, roles: write, bucket: "graph") { claims in
                self.graphUpdate(id, body: Data(buffer: body), claims: claims, request: request)
            }
        }
        router.post("/v1.0/security/incidents/:id/comments") { request, context in
            let id = context.parameters.get("id").flatMap { Int($0) } ?? -1
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.guarded(request, api: .graph, roles: write, bucket: "graph") { claims in
                self.graphComment(id, body: Data(buffer: body), claims: claims, request: request)
            }
        }
        router.post("/v1.0/security/runHuntingQuery") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.guarded(request, api: .graph, roles: ["ThreatHunting.Read.All"], bucket: "graph", target: "hunting",
                                          hunting: true) { _ in Hunting.run(Data(buffer: body), graph: true) }
        }
    }

    /// The Graph shape of a stored incident (G-INC, https://learn.microsoft.com/graph/api/resources/security-incident).
    /// `awaitingAction` only with `Prefer: include-unknown-enum-members`, else `unknownFutureValue` (G-ENUM).
    static func graphShape(_ incident: [String: Any], expand: Bool, preferUnknown: Bool) -> [String: Any] {
        let id = incident["incidentId"] as? Int ?? 0
        var status = GraphVocabulary.graph(incident["status"], "status")
        if incident["graphStatus"] as? String == "awaitingAction" { status = preferUnknown ? "awaitingAction" : "unknownFutureValue" }
        let comments = (incident["comments"] as? [[String: Any]] ?? []).map {
            ["comment": $0["comment"] ?? "", "createdByDisplayName": $0["createdBy"] ?? NSNull(), "createdDateTime": $0["createdTime"] ?? NSNull()]
        }
        var shape: [String: Any] = [
            "@odata.type": "#microsoft.graph.security.incident",
            "id": String(id), "tenantId": incident["tenantId"] ?? NSNull(), "displayName": incident["incidentName"] ?? NSNull(),
            "createdDateTime": incident["createdTime"] ?? "", "lastUpdateDateTime": incident["lastUpdateTime"] ?? "",
            "assignedTo": incident["assignedTo"] ?? NSNull(), "status": status,
            "severity": GraphVocabulary.graph(incident["severity"], "severity"),
            "classification": GraphVocabulary.graph(incident["classification"], "classification"),
            "determination": GraphVocabulary.graph(incident["determination"], "determination"),
            "customTags": incident["tags"] ?? [], "systemTags": incident["systemTags"] ?? [],
            "description": incident["description"] ?? NSNull(), "summary": incident["summary"] ?? NSNull(),
            "resolvingComment": incident["resolvingComment"] ?? NSNull(), "lastModifiedBy": incident["lastModifiedBy"] ?? NSNull(),
            "redirectIncidentId": (incident["redirectIncidentId"] as? Int).map { String($0) as Any } ?? NSNull(),
            "incidentWebUrl": "https://security.microsoft.com/incident2/\(id)/overview?tid=\(incident["tenantId"] ?? "")",
            "priorityScore": incident["priorityScore"] ?? NSNull(), "comments": comments,
        ]
        if expand { shape["alerts"] = (incident["alerts"] as? [[String: Any]] ?? []).map { graphAlert($0, tenant: incident["tenantId"]) } }
        return shape
    }

    /// A Graph alert (G-LIST's `$expand=alerts` example) from a stored Defender alert.
    static func graphAlert(_ alert: [String: Any], tenant: Any?) -> [String: Any] {
        [
            "id": alert["alertId"] ?? "", "providerAlertId": alert["alertId"] ?? "", "incidentId": String(alert["incidentId"] as? Int ?? 0),
            "status": "new", "severity": GraphVocabulary.graph(alert["severity"], "severity"), "classification": NSNull(), "determination": NSNull(),
            "serviceSource": "microsoftDefenderForEndpoint", "detectionSource": "antivirus", "title": alert["title"] ?? "",
            "description": alert["description"] ?? NSNull(), "category": alert["category"] ?? NSNull(), "tenantId": tenant ?? NSNull(),
            "createdDateTime": alert["creationTime"] ?? NSNull(), "lastUpdateDateTime": alert["lastUpdatedTime"] ?? NSNull(),
            "resolvedDateTime": NSNull(), "firstActivityDateTime": alert["firstActivity"] ?? NSNull(),
            "lastActivityDateTime": alert["lastActivity"] ?? NSNull(), "mitreTechniques": alert["mitreTechniques"] ?? [],
            "systemTags": [] as [Any], "comments": [] as [Any], "evidence": [] as [Any],
        ]
    }

    func preferUnknown(_ request: Request) -> Bool {
        (HTTPField.Name("Prefer").flatMap { request.headers[$0] } ?? "").lowercased().contains("include-unknown-enum-members")
    }

    /// `GET /v1.0/security/incidents` (G-LIST): `$top` ≤ 50 — above, the real 400 (OBS-TOP wazuh/wazuh#28070,
    /// code "" and `details: []`); `$filter`; `$expand=alerts`; `@odata.nextLink` in the scheme being served,
    /// carrying every option of the request (G-PAGE); `$orderby` not honoured: newest first.
    func graphList(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        let topText = query.get("$top").map { String($0) }
        let top = topText.map { Int($0) ?? -1 } ?? 50
        guard (1...50).contains(top) else {
            return SecurityAPI.graph.error(.badRequest, "", "The query specified in the URI is not valid. The limit of '50' for Top query has been exceeded. The value from the incoming request is '\(topText ?? "")'.",
                                           request: request, details: true)
        }
        let expandText = query.get("$expand").map { String($0) }
        guard expandText == nil || expandText == "alerts" else {
            return SecurityAPI.graph.error(.badRequest, "BadRequest", "Parsing OData Select and Expand failed: Could not find a property named '\(expandText ?? "")'.", request: request)
        }
        let offset = query.get("$skiptoken").flatMap { Int(String($0).dropFirst(2), radix: 36) } ?? 0
        let prefer = preferUnknown(request)
        var predicate: ODataFilter?
        if let filter = query.get("$filter").map({ String($0) }) {
            guard let parsed = ODataFilter(filter, fields: ODataFilter.graphFields) else {
                return SecurityAPI.graph.error(.badRequest, "BadRequest", "Invalid filter clause", request: request)
            }
            predicate = parsed
        }
        var total = 0
        let page = store.query { list in
            let shapes = IncidentStore.newestFirst(list).map { Self.graphShape($0, expand: expandText != nil, preferUnknown: prefer) }
            let items = predicate.map { shapes.filter($0.matches) } ?? shapes
            total = items.count
            return Array(items.dropFirst(offset).prefix(top))
        }
        var object: [String: Any] = ["@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/incidents" + (expandText != nil ? "(alerts())" : ""),
                                     "value": page]
        if offset + top < total {
            let authority = state.config.defender?.nextLinkPort.map { "127.0.0.1:\($0)" } ?? request.head.authority ?? "127.0.0.1"
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            var next = "\(scheme)://\(authority)/v1.0/security/incidents?$top=\(top)"
            for name in ["$filter", "$expand"] {
                if let value = query.get(name) { next += "&\(name)=" + (String(value).addingPercentEncoding(withAllowedCharacters: allowed) ?? "") }
            }
            object["@odata.nextLink"] = next + "&$skiptoken=sk\(String(offset + top, radix: 36))"
        }
        return EntraReply.json(object)
    }

    func graphOne(_ id: Int, request: Request) -> Response {
        guard let incident = store.incident(id) else {
            return SecurityAPI.graph.error(.notFound, "NotFound", "Incident \(id) was not found.", request: request)  // not in sources (research §5.4)
        }
        var shape = Self.graphShape(incident, expand: request.uri.queryParameters.get("$expand") == "alerts", preferUnknown: preferUnknown(request))
        shape["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#security/incidents/$entity"
        return EntraReply.json(shape)
    }

    /// `PATCH /v1.0/security/incidents/{id}` (G-UPD): Graph properties only (`customTags`, no `tags`/`comment`),
    /// `$metadata` enum values (camelCase; PascalCase accepted), the updated incident back.
    func graphUpdate(_ id: Int, body: Data, claims: AppTokenClaims, request: Request) -> Response {
        guard let changes = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            return SecurityAPI.graph.error(.badRequest, "BadRequest", "Empty Payload. JSON content expected.", request: request)
        }
        let renamed = ["displayName": "incidentName", "customTags": "tags"]
        let plain: Set<String> = ["assignedTo", "description", "resolvingComment", "summary", "displayName", "customTags"]
        var mapped: [String: Any] = [:]
        for (key, value) in changes {
            if let table = GraphVocabulary.values[key] {
                guard let text = value as? String, let defender = GraphVocabulary.defender(text, key), key != "status" || table.contains(where: { $0.defender == defender }) else {
                    return SecurityAPI.graph.error(.badRequest, "BadRequest", "Invalid value '\(value)' for property '\(key)'.", request: request)
                }
                mapped[key] = defender
            } else if plain.contains(key) {
                mapped[renamed[key] ?? key] = value
            } else {
                return SecurityAPI.graph.error(.badRequest, "BadRequest", "The property '\(key)' does not exist on type 'microsoft.graph.security.incident'.", request: request)
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: mapped)) ?? Data("{}".utf8)
        guard store.update(id, changes: data, modifiedBy: "API-App:\(claims.appid ?? claims.sub)") != nil else {
            return SecurityAPI.graph.error(.notFound, "NotFound", "Incident \(id) was not found.", request: request)
        }
        return graphOne(id, request: request)
    }

    /// `POST /v1.0/security/incidents/{id}/comments` (G-COM): appends; replies with **all** comments.
    func graphComment(_ id: Int, body: Data, claims: AppTokenClaims, request: Request) -> Response {
        guard let comment = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["comment"] as? String, !comment.isEmpty else {
            return SecurityAPI.graph.error(.badRequest, "BadRequest", "The comment is missing.", request: request)
        }
        let data = (try? JSONSerialization.data(withJSONObject: ["comment": comment])) ?? Data("{}".utf8)
        guard let updated = store.update(id, changes: data, modifiedBy: "API-App:\(claims.appid ?? claims.sub)") else {
            return SecurityAPI.graph.error(.notFound, "NotFound", "Incident \(id) was not found.", request: request)
        }
        let comments = Self.graphShape(updated, expand: false, preferUnknown: false)["comments"] ?? []
        return EntraReply.json(["@odata.context": "https://graph.microsoft.com/v1.0/$metadata#security/incidents('\(id)')/comments", "value": comments])
    }
}
