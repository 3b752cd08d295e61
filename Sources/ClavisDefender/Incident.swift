import ClavisCore
import ClavisIdentity
import Foundation

/// An incident in either API's shape, with its common fields typed in Defender's vocabulary
/// (through ``GraphMapping``) and the whole wire object in `raw`.
///
/// Shapes: Defender D-LIST §2.1 (https://learn.microsoft.com/defender-xdr/api-list-incidents),
/// Graph G-INC §5.1 (https://learn.microsoft.com/graph/api/resources/security-incident).
public struct Incident: Sendable {
    /// `incidentId` (Graph: `id`, numeric text).
    public var id: Int
    /// `incidentName` (Graph: `displayName`).
    public var name: String
    /// `status` in Defender's vocabulary: Active, InProgress, Resolved, Redirected — or a Graph-only
    /// value as sent (`awaitingAction`, `unknownFutureValue`).
    public var status: String
    /// `severity` in Defender's vocabulary (Graph `unknown` is `UnSpecified`).
    public var severity: String
    /// `classification` in Defender's vocabulary, if any.
    public var classification: String?
    /// `determination` in Defender's vocabulary (aliases read as canonical), if any.
    public var determination: String?
    /// `tags` (Graph: `customTags`).
    public var tags: [String]
    /// `lastUpdateTime` (Graph: `lastUpdateDateTime`) as sent — for display only.
    public var lastUpdateTime: String
    /// `createdTime` (Graph: `createdDateTime`) as sent — for display only.
    public var createdTime: String
    /// `lastUpdateTime`, parsed (nil when absent or not a timestamp).
    public var lastUpdated: Timestamp?
    /// `createdTime`, parsed.
    public var created: Timestamp?
    /// `assignedTo`.
    public var assignedTo: String?
    /// Comment texts, oldest first (Defender `comments[].comment`; Graph the same key).
    public var comments: [String]
    /// The ids of the alerts included (Defender: always; Graph: with `$expand=alerts`).
    public var alertIds: [String]
    /// The whole JSON object as the service sent it.
    public var raw: [String: DecodedToken.JSONValue]

    /// Reads either shape; `nil` when the object is not an incident.
    public init?(_ object: [String: Any]) {
        let graph = object["incidentId"] == nil
        if graph {
            guard let id = (object["id"] as? String).flatMap({ Int($0) }) else { return nil }
            self.id = id
        } else {
            guard let id = object["incidentId"] as? Int else { return nil }
            self.id = id
        }
        func field(_ defender: String) -> Any? { object[graph ? GraphMapping.graphField(defender) : defender] }
        func value(_ defender: String) -> String? {
            guard let text = field(defender) as? String else { return nil }
            return GraphMapping.defenderValue(text, field: defender)
        }
        name = field("incidentName") as? String ?? ""
        status = value("status") ?? ""
        severity = value("severity") ?? ""
        classification = value("classification")
        determination = value("determination")
        tags = field("tags") as? [String] ?? []
        lastUpdateTime = field("lastUpdateTime") as? String ?? ""
        createdTime = field("createdTime") as? String ?? ""
        lastUpdated = Timestamp(lastUpdateTime)
        created = Timestamp(createdTime)
        assignedTo = field("assignedTo") as? String
        comments = (object["comments"] as? [[String: Any]] ?? []).compactMap { $0["comment"] as? String }
        alertIds = (object["alerts"] as? [[String: Any]] ?? []).compactMap { ($0["alertId"] ?? $0["id"]) as? String }
        raw = object.mapValues(DecodedToken.JSONValue.init)
    }

    /// The incidents of one list reply (`{"value": [...]}`) and its `@odata.nextLink`, if any.
    public static func page(_ data: Data) throws -> (incidents: [Incident], nextLink: String?) {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let items = object["value"] as? [[String: Any]] else {
            throw ClavisError(.serviceError, reason: "the reply is not an incident list ({\"value\": [...]})")
        }
        let incidents = items.compactMap(Incident.init)
        guard incidents.count == items.count else { throw ClavisError(.serviceError, reason: "an item of the incident list is not an incident") }
        return (incidents, object["@odata.nextLink"] as? String)
    }
}

/// The result of an advanced-hunting query.
public struct HuntingResult: Sendable {
    /// Column names and types.
    public var schema: [(name: String, type: String)]
    /// Rows, by column name.
    public var rows: [[String: DecodedToken.JSONValue]]

    /// Reads a Defender (`Schema`/`Results`, D-AH) or Graph (`schema`/`results`, G-AH) reply; the
    /// column objects are read in either casing (`name`/`Name`), as both appear in G-AH.
    init(_ object: [String: Any]) {
        let columns = (object["schema"] ?? object["Schema"]) as? [[String: Any]] ?? []
        schema = columns.map { column in
            (name: (column["name"] ?? column["Name"]) as? String ?? "", type: (column["type"] ?? column["Type"]) as? String ?? "")
        }
        rows = ((object["results"] ?? object["Results"]) as? [[String: Any]] ?? []).map { $0.mapValues(DecodedToken.JSONValue.init) }
    }
}
