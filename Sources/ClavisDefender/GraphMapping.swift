import ClavisIdentity
import Foundation

/// The one table between the Defender XDR incident vocabulary and Microsoft Graph's, used both ways:
/// field names, enum values (Defender PascalCase ↔ Graph camelCase wire values) and `$filter` text.
///
/// Sources (research-15 §7): D-LIST/D-INC/D-UPD (https://learn.microsoft.com/defender-xdr/api-update-incidents),
/// G-INC/G-UPD (https://learn.microsoft.com/graph/api/resources/security-incident), and the wire values of
/// Graph `$metadata` as generated into the SDKs (G-META: msgraph-sdk-go `models/security/alert_determination.go`).
/// The client writes the canonical values (Graph: G-META; Defender: D-UPD with `NotMalicious`, OBS-DET
/// rapid7/insightconnect-plugins PR #3303) and reads every documented alias. A value with no counterpart
/// (Graph `awaitingAction`, `unknownFutureValue`) is kept as it came.
public enum GraphMapping {
    /// Defender field ↔ Graph field, for the incident properties both APIs have.
    public static let fields: [(defender: String, graph: String)] = [
        ("incidentId", "id"), ("redirectIncidentId", "redirectIncidentId"), ("incidentName", "displayName"),
        ("createdTime", "createdDateTime"), ("lastUpdateTime", "lastUpdateDateTime"), ("assignedTo", "assignedTo"),
        ("status", "status"), ("severity", "severity"), ("classification", "classification"),
        ("determination", "determination"), ("tags", "customTags"),
    ]

    /// Enum values by Defender field: Defender value ↔ Graph value.
    public static let values: [String: [(defender: String, graph: String)]] = [
        "status": [("Active", "active"), ("InProgress", "inProgress"), ("Resolved", "resolved"), ("Redirected", "redirected")],
        "severity": [("UnSpecified", "unknown"), ("Informational", "informational"), ("Low", "low"), ("Medium", "medium"), ("High", "high")],
        "classification": [("Unknown", "unknown"), ("TruePositive", "truePositive"), ("FalsePositive", "falsePositive"),
                           ("InformationalExpectedActivity", "informationalExpectedActivity")],
        "determination": [
            ("NotAvailable", "unknown"), ("Apt", "apt"), ("SecurityPersonnel", "securityPersonnel"),
            ("MultiStagedAttack", "multiStagedAttack"), ("MaliciousUserActivity", "maliciousUserActivity"),
            ("CompromisedAccount", "compromisedAccount"), ("Malware", "malware"), ("Phishing", "phishing"),
            ("UnwantedSoftware", "unwantedSoftware"), ("Other", "other"), ("SecurityTesting", "securityTesting"),
            ("LineOfBusinessApplication", "lineOfBusinessApplication"), ("ConfirmedActivity", "confirmedActivity"),
            ("NotMalicious", "notMalicious"), ("NoEnoughDataToValidate", "notEnoughDataToValidate"),
        ],
    ]

    /// Documented aliases (D-INC, G-INC older revisions), read as their canonical value.
    static let aliases: [String: String] = [
        "CompromisedUser": "CompromisedAccount", "Clean": "NotMalicious", "InsufficientData": "NoEnoughDataToValidate",
        "NotEnoughDataToValidate": "NoEnoughDataToValidate", "ConfirmedUserActivity": "ConfirmedActivity",
        "compromisedUser": "compromisedAccount", "clean": "notMalicious", "insufficientData": "notEnoughDataToValidate",
        "confirmedUserActivity": "confirmedActivity",
    ]

    /// The Graph name of a Defender field (the name itself when both APIs share it or Graph lacks it).
    public static func graphField(_ defender: String) -> String {
        fields.first { $0.defender == defender }?.graph ?? defender
    }

    /// The Defender name of a Graph field.
    public static func defenderField(_ graph: String) -> String {
        fields.first { $0.graph == graph }?.defender ?? graph
    }

    /// A Defender enum value (any casing or documented alias) in Graph's wire vocabulary.
    public static func graphValue(_ value: String, field: String) -> String {
        guard let table = values[field] else { return value }
        let canonical = aliases[value] ?? value
        if let pair = table.first(where: { $0.defender.lowercased() == canonical.lowercased() || $0.graph.lowercased() == canonical.lowercased() }) {
            return pair.graph
        }
        return value
    }

    /// A Graph enum value (or alias) in Defender's vocabulary; unmapped values are kept as they came.
    public static func defenderValue(_ value: String, field: String) -> String {
        guard let table = values[field] else { return value }
        let canonical = aliases[value] ?? value
        if let pair = table.first(where: { $0.graph == canonical || $0.defender == canonical }) { return pair.defender }
        return value
    }

    /// A Defender PATCH body in Graph's vocabulary (`tags` → `customTags`, enum values translated).
    /// `comment` is not a Graph property: the caller posts it to `…/comments` (G-UPD, G-COM).
    public static func graphUpdate(_ fields: [String: DecodedToken.JSONValue]) -> [String: DecodedToken.JSONValue] {
        var result: [String: DecodedToken.JSONValue] = [:]
        for (key, value) in fields where key != "comment" {
            let name = graphField(key)
            if case .string(let text) = value, values[key] != nil {
                result[name] = .string(graphValue(text, field: key))
            } else {
                result[name] = value
            }
        }
        return result
    }

    /// A Defender PATCH body with every enum value canonical (`Clean` → `NotMalicious`; D-UPD, OBS-DET).
    public static func defenderUpdate(_ fields: [String: DecodedToken.JSONValue]) -> [String: DecodedToken.JSONValue] {
        var result = fields
        for (key, value) in fields {
            if case .string(let text) = value, values[key] != nil { result[key] = .string(defenderValue(text, field: key)) }
        }
        return result
    }

    /// A Defender `$filter` in Graph's vocabulary, translated token by token: a field name is renamed,
    /// and a quoted literal compared with an enum field is translated; text inside other literals
    /// is never touched.
    public static func graphFilter(_ text: String) -> String {
        var output = ""
        var lastField: String?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "'" {
                // A quoted literal, with '' as an escaped quote.
                var end = text.index(after: index)
                var literal = ""
                while end < text.endIndex {
                    if text[end] == "'" {
                        let after = text.index(after: end)
                        if after < text.endIndex, text[after] == "'" { literal += "''"; end = text.index(after: after); continue }
                        break
                    }
                    literal.append(text[end])
                    end = text.index(after: end)
                }
                if let field = lastField, values[field] != nil, !literal.contains("'") { literal = graphValue(literal, field: field) }
                output += "'\(literal)'"
                index = end < text.endIndex ? text.index(after: end) : end
                continue
            }
            if character.isLetter || character == "_" || character == "$" {
                var end = index
                while end < text.endIndex, text[end].isLetter || text[end].isNumber || text[end] == "_" || text[end] == "$" { end = text.index(after: end) }
                let word = String(text[index..<end])
                if fields.contains(where: { $0.defender == word }) {
                    output += graphField(word)
                    lastField = word
                } else {
                    output += word
                }
                index = end
                continue
            }
            output.append(character)
            index = text.index(after: index)
        }
        return output
    }
}
