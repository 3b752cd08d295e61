import Foundation
import Hummingbird

/// Advanced hunting over three sample tables with a documented KQL subset:
/// `TABLE | where COL ==|!=|>|<|has VALUE | project A, B | order by COL [asc|desc] | take N | count`.
/// Anything else is a 400 naming the unsupported part.
enum Hunting {
    nonisolated(unsafe) static let tables: [String: (schema: [(String, String)], rows: [[String: Any]])] = {
        let base = (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600
        func time(_ index: Int) -> String { ServiceTime(Date(timeIntervalSince1970: base - Double(index) * 600 + Double(index) * 0.1234567)).text(digits: 7) }  // D-AH: 7 digits
        let processes = (0..<40).map { index -> [String: Any] in
            ["Timestamp": time(index), "DeviceName": "host-\(index % 7).contoso.local", "FileName": ["powershell.exe", "cmd.exe", "rundll32.exe", "certutil.exe"][index % 4],
             "ProcessCommandLine": index % 4 == 3 ? "certutil -urlcache -f http://x/a.exe" : "powershell -enc AAAA\(index)", "AccountName": "user\(index % 5)",
             "InitiatingProcessFileName": "explorer.exe"]
        }
        let logons = (0..<30).map { index -> [String: Any] in
            ["Timestamp": time(index), "DeviceName": "host-\(index % 7).contoso.local", "AccountName": "user\(index % 5)",
             "ActionType": index % 6 == 0 ? "LogonFailed" : "LogonSuccess", "LogonType": ["Interactive", "Network", "RemoteInteractive"][index % 3]]
        }
        let alerts = (0..<20).map { index -> [String: Any] in
            ["Timestamp": time(index), "AlertId": "da\(String(format: "%016d", index))", "Title": "Suspicious activity \(index)",
             "Severity": ["High", "Medium", "Low"][index % 3], "Category": ["Execution", "CredentialAccess", "InitialAccess"][index % 3]]
        }
        return [
            "DeviceProcessEvents": ([("Timestamp", "DateTime"), ("DeviceName", "String"), ("FileName", "String"), ("ProcessCommandLine", "String"),
                                     ("AccountName", "String"), ("InitiatingProcessFileName", "String")], processes),
            "DeviceLogonEvents": ([("Timestamp", "DateTime"), ("DeviceName", "String"), ("AccountName", "String"), ("ActionType", "String"),
                                   ("LogonType", "String")], logons),
            "AlertInfo": ([("Timestamp", "DateTime"), ("AlertId", "String"), ("Title", "String"), ("Severity", "String"), ("Category", "String")], alerts),
        ]
    }()

    static func run(_ body: Data, graph: Bool = false) -> Response {
        let api: SecurityAPI = graph ? .graph : .defender
        func failure(_ message: String) -> Response { api.error(.badRequest, "BadRequest", message) }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any], let query = object["Query"] as? String else {
            return failure("The body must be {\"Query\": \"…\"}")
        }
        let stages = query.split(separator: "|").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let tableName = stages.first, let table = tables[tableName] else {
            return failure("Unknown table '\(stages.first ?? "")'; the emulator has \(tables.keys.sorted().joined(separator: ", "))")
        }
        var schema = table.schema
        var rows = table.rows
        for stage in stages.dropFirst() {
            let words = stage.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            switch words.first?.lowercased() {
            case "take", "limit":
                guard words.count == 2, let count = Int(words[1]) else { return failure(unsupported(stage)) }
                rows = Array(rows.prefix(count))
            case "where":
                guard words.count >= 4 else { return failure(unsupported(stage)) }
                let column = words[1], op = words[2]
                var value = words[3...].joined(separator: " ")
                if (value.hasPrefix("\"") && value.hasSuffix("\"")) || (value.hasPrefix("'") && value.hasSuffix("'")) { value = String(value.dropFirst().dropLast()) }
                guard schema.contains(where: { $0.0 == column }), ["==", "!=", ">", "<", "has"].contains(op) else { return failure(unsupported(stage)) }
                rows = rows.filter { row in
                    let cell = "\(row[column] ?? "")"
                    switch op {
                    case "==": return cell == value
                    case "!=": return cell != value
                    case ">": return cell > value
                    case "<": return cell < value
                    default: return cell.lowercased().contains(value.lowercased())
                    }
                }
            case "project":
                let columns = stage.dropFirst("project".count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard !columns.isEmpty, columns.allSatisfy({ column in schema.contains { $0.0 == column } }) else { return failure(unsupported(stage)) }
                schema = columns.compactMap { column in schema.first { $0.0 == column } }
                rows = rows.map { row in row.filter { columns.contains($0.key) } }
            case "count":
                guard words.count == 1 else { return failure(unsupported(stage)) }
                schema = [("Count", "Int64")]
                rows = [["Count": rows.count]]
            case "order", "sort":
                guard words.count >= 3, words[1] == "by", schema.contains(where: { $0.0 == words[2] }) else { return failure(unsupported(stage)) }
                let column = words[2], ascending = words.count > 3 && words[3].lowercased() == "asc"
                rows.sort { ascending ? "\($0[column] ?? "")" < "\($1[column] ?? "")" : "\($0[column] ?? "")" > "\($1[column] ?? "")" }
            default:
                return failure(unsupported(stage))
            }
        }
        if graph {
            return EntraReply.json(["@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
                                    "schema": schema.map { ["name": $0.0, "type": $0.1] }, "results": rows])
        }
        return EntraReply.json([
            // D-AH's Stats: cpu times are timespan strings; clients must not depend on Stats.
            "Stats": ["ExecutionTime": 0.01, "resource_usage": ["cpu": ["user": "00:00:00.0156250", "kernel": "00:00:00", "total cpu": "00:00:00.0156250"]],
                      "dataset_statistics": [["table_row_count": rows.count, "table_size": rows.count * 512]]],
            "Schema": schema.map { ["Name": $0.0, "Type": $0.1] },
            "Results": rows,
        ])
    }

    static func unsupported(_ stage: String) -> String {
        ("Unsupported KQL in the emulator: '\(stage)'. Supported: where (==, !=, >, <, has), project, take/limit, count, order by")
    }
}
