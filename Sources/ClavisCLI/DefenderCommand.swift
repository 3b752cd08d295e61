import ArgumentParser
import Clavis
import ClavisDefender
import ClavisIdentity
import Foundation

/// `clavis defender incidents|incident|update|hunt`.
struct DefenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "defender",
        abstract: "Call the Microsoft Defender XDR API: incidents and advanced hunting.",
        subcommands: [Incidents.self, IncidentCommand.self, Update.self, Hunt.self, Watch.self])

    struct APIOptions: ParsableArguments {
        @Option(help: "The API: commercial, gcc, gcchigh, graph, or a base URL (the emulator).") var api = "commercial"
        @Flag(help: "Speak the Microsoft Graph security API (with a base URL; implied by --api graph).") var graph = false
        @OptionGroup var credentials: CredentialOptions
        @OptionGroup var sources: SourceOptions

        /// The client; `waitBudget` is the longest a call waits for a quota before failing naming the wait.
        func client(waitBudget: Duration = .seconds(30)) throws -> DefenderClient {
            let endpoint: DefenderEndpoint
            switch api.lowercased() {
            case "commercial": endpoint = .commercial
            case "gcc": endpoint = .gcc
            case "gcchigh", "gcc-high", "dod": endpoint = .gccHigh
            case "graph": endpoint = .graph
            default: endpoint = try DefenderEndpoint(baseURL: api, flavour: graph ? .graph : .defender)
            }
            let credential = CachingTokenCredential(try credentials.credential(resolver: CLIContext.resolver(sources)))
            return DefenderClient(credential: credential, endpoint: endpoint, waitBudget: waitBudget)
        }
    }

    enum Format: String, ExpressibleByArgument { case table, json, csv }

    struct Incidents: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "incidents", abstract: "List incidents (newest first), following pages.")
        @OptionGroup var api: APIOptions
        @Option(help: "Only incidents updated within this duration, e.g. 24h, 7d, 30m.") var since: String?
        @Option(help: "Only this status: Active, InProgress, Resolved, Redirected.") var status: String?
        @Option(help: "At most this many incidents.") var top: Int?
        @Option(help: "table, json (JSON lines) or csv.") var format: Format = .table
        @Flag(help: "Graph only: include each incident's alerts ($expand=alerts; Defender always includes them).") var expandAlerts = false

        func run() async throws {
            var clauses: [String] = []
            if let status { clauses.append("status eq '\(status)'") }
            if let since {
                guard let window = DurationText.parse(since) else { throw CLIFailure(message: "--since takes a duration such as 24h, 7d or 30m", exitCode: 64) }
                clauses.append("lastUpdateTime ge \(Timestamp(Date().addingTimeInterval(-window.inSeconds)).odataLiteral)")
            }
            let stream = try api.client().incidents(filter: clauses.isEmpty ? nil : clauses.joined(separator: " and "), expandAlerts: expandAlerts, limit: top) { count in
                Terminal.note("… \(count) incidents")
            }
            var incidents: [Incident] = []
            for try await incident in stream { incidents.append(incident) }
            try IncidentPrinter.print(incidents, format: format)
        }
    }

    struct IncidentCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "incident", abstract: "Show one incident as JSON.")
        @OptionGroup var api: APIOptions
        @Argument(help: "The incident id.") var id: Int
        func run() async throws { try Terminal.printJSON(try await api.client().incident(id).raw) }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "update", abstract: "Update an incident (needs Incident.ReadWrite.All).")
        @OptionGroup var api: APIOptions
        @Argument(help: "The incident id.") var id: Int
        @Option(help: "Active, InProgress, Resolved, Redirected.") var status: String?
        @Option(help: "An email address.") var assignedTo: String?
        @Option(help: "TruePositive, InformationalExpectedActivity, FalsePositive.") var classification: String?
        @Option(help: "Depends on the classification (Defender names, e.g. MultiStagedAttack, NotMalicious; translated for Graph).") var determination: String?
        @Option(help: "A tag (repeatable; replaces the tags).") var tag: [String] = []
        @Option(help: "A comment to append.") var comment: String?

        func run() async throws {
            var fields: [String: DecodedToken.JSONValue] = [:]
            if let status { fields["status"] = .string(status) }
            if let assignedTo { fields["assignedTo"] = .string(assignedTo) }
            if let classification { fields["classification"] = .string(classification) }
            if let determination { fields["determination"] = .string(determination) }
            if !tag.isEmpty { fields["tags"] = .array(tag.map { .string($0) }) }
            if let comment { fields["comment"] = .string(comment) }
            guard !fields.isEmpty else { throw CLIFailure(message: "nothing to update", exitCode: 64) }
            try Terminal.printJSON(try await api.client().update(id, fields: fields).raw)
        }
    }

    struct Hunt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "hunt", abstract: "Run an advanced-hunting (KQL) query.")
        @OptionGroup var api: APIOptions
        @Argument(help: "The KQL query.") var query: String?
        @Option(help: "Read the query from a file.") var file: String?
        @Option(help: "table, json (JSON lines) or csv.") var format: Format = .table

        func run() async throws {
            let text = try file.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? query
            guard let text, !text.isEmpty else { throw CLIFailure(message: "give a query or --file", exitCode: 64) }
            let result = try await api.client().hunt(text)
            try HuntPrinter.print(result, format: format)
        }
    }
}

enum IncidentPrinter {
    static func print(_ incidents: [Incident], format: DefenderCommand.Format) throws {
        switch format {
        case .json:
            for incident in incidents { try Terminal.printJSONLine(incident.raw) }
        case .csv:
            Terminal.printLine("incidentId,status,severity,lastUpdateTime,incidentName")
            for incident in incidents {
                Terminal.printLine("\(incident.id),\(incident.status),\(incident.severity),\(incident.lastUpdateTime),\"\(incident.name.replacingOccurrences(of: "\"", with: "\"\""))\"")
            }
        case .table:
            Terminal.printLine(Table.render([["ID", "STATUS", "SEVERITY", "UPDATED", "NAME"]] + incidents.map {
                [String($0.id), $0.status, $0.severity, $0.lastUpdateTime, $0.name]
            }))
        }
    }
}

enum HuntPrinter {
    static func print(_ result: HuntingResult, format: DefenderCommand.Format) throws {
        let columns = result.schema.map(\.name)
        func cell(_ value: DecodedToken.JSONValue?) -> String {
            switch value {
            case .string(let text): text
            case .number(let number): number == number.rounded() ? String(Int(number)) : String(number)
            case .bool(let flag): String(flag)
            case .none, .null: ""
            default: "…"
            }
        }
        switch format {
        case .json: for row in result.rows { try Terminal.printJSONLine(row) }
        case .csv:
            Terminal.printLine(columns.joined(separator: ","))
            for row in result.rows { Terminal.printLine(columns.map { "\"\(cell(row[$0]).replacingOccurrences(of: "\"", with: "\"\""))\"" }.joined(separator: ",")) }
        case .table:
            Terminal.printLine(Table.render([columns] + result.rows.map { row in columns.map { cell(row[$0]) } }))
        }
    }
}

enum Table {
    static func render(_ rows: [[String]]) -> String {
        guard let header = rows.first else { return "" }
        let widths = header.indices.map { column in min(60, rows.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0) }
        return rows.map { row in
            row.enumerated().map { index, text in
                let clipped = text.count > widths[index] ? String(text.prefix(widths[index] - 1)) + "…" : text
                return clipped + String(repeating: " ", count: max(0, widths[index] - clipped.count))
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
