import Foundation

/// `$filter` as the services document it, over an incident in either shape:
/// Defender (D-LIST): `lastUpdateTime`, `createdTime` (eq, ne, gt, ge, lt, le), `status`,
/// `assignedTo` (eq, ne); Graph (G-LIST https://learn.microsoft.com/graph/api/security-list-incidents):
/// `assignedTo`, `classification`, `createdDateTime`, `determination`, `lastUpdateDateTime`,
/// `severity`, `status`. Clauses joined by `and`. Datetimes may be quoted or not and carry 0–12
/// fractional digits; they are compared as timestamps, never as text. Anything else: `nil` (400).
struct ODataFilter {
    struct Clause { var field: String; var op: String; var value: String }
    var clauses: [Clause]

    static let defenderFields: [String: Set<String>] = [
        "lastUpdateTime": ["eq", "ne", "gt", "ge", "lt", "le"], "createdTime": ["eq", "ne", "gt", "ge", "lt", "le"],
        "status": ["eq", "ne"], "assignedTo": ["eq", "ne"],
    ]
    static let graphFields: [String: Set<String>] = [
        "lastUpdateDateTime": ["eq", "ne", "gt", "ge", "lt", "le"], "createdDateTime": ["eq", "ne", "gt", "ge", "lt", "le"],
        "status": ["eq", "ne"], "assignedTo": ["eq", "ne"], "severity": ["eq", "ne"], "classification": ["eq", "ne"],
        "determination": ["eq", "ne"],
    ]

    /// Parses `text` against `fields` (``defenderFields`` or ``graphFields``); `nil` when unsupported.
    init?(_ text: String, fields: [String: Set<String>]) {
        var clauses: [Clause] = []
        for part in text.components(separatedBy: " and ") {
            let words = part.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2).map(String.init)
            guard words.count == 3 else { return nil }
            let field = words[0], op = words[1].lowercased()
            var value = words[2]
            if value.hasPrefix("'"), value.hasSuffix("'"), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            guard fields[field]?.contains(op) == true else { return nil }
            if field.hasSuffix("Time") && ServiceTime(value) == nil { return nil }
            clauses.append(Clause(field: field, op: op, value: value))
        }
        self.clauses = clauses
    }

    /// Whether `incident` (in the shape whose field names the filter uses) matches.
    func matches(_ incident: [String: Any]) -> Bool {
        clauses.allSatisfy { clause in
            let actual = incident[clause.field] as? String
            if clause.field.hasSuffix("Time"), let b = ServiceTime(clause.value) {
                guard let a = actual.flatMap(ServiceTime.init) else { return false }
                switch clause.op {
                case "eq": return a == b
                case "ne": return a != b
                case "ge": return a >= b
                case "gt": return a > b
                case "le": return a <= b
                default: return a < b
                }
            }
            let value = clause.value == "null" ? nil : clause.value
            return clause.op == "ne" ? actual != value : actual == value
        }
    }
}
