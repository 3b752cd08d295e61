import Foundation

/// Text, JSON and SARIF 2.1.0 output for findings.
public enum Reporter {
    /// `path:line:column: detector (confidence): excerpt`, one per line, then a summary.
    public static func text(_ findings: [Finding]) -> String {
        var lines = findings.map { "\($0.path):\($0.line):\($0.column): \($0.detector) (\($0.confidence.rawValue)): \($0.excerpt)  [fingerprint \($0.fingerprint)]" }
        lines.append(findings.isEmpty ? "no hardcoded secrets found" : "\(findings.count) possible hardcoded secret(s)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A JSON array of findings.
    public static func json(_ findings: [Finding]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(findings), as: UTF8.self) + "\n"
    }

    /// A SARIF 2.1.0 log that GitHub code scanning accepts.
    public static func sarif(_ findings: [Finding], toolVersion: String) throws -> String {
        // One rule per name (two GitHub detectors share `github-token`), in detector order.
        var seen = Set<String>()
        let rules = Detector.all.filter { seen.insert($0.name).inserted }.map { detector in
            [
                "id": detector.name,
                "name": detector.name,
                "shortDescription": ["text": "Hardcoded secret: \(detector.name)"],
                "defaultConfiguration": ["level": level(detector.confidence)],
                "help": ["text": detector.help],
            ] as [String: Any]
        }
        let results = findings.map { finding in
            [
                "ruleId": finding.detector,
                "level": level(finding.confidence),
                "message": ["text": "Possible hardcoded secret (\(finding.detector), \(finding.confidence.rawValue) confidence): \(finding.excerpt)"],
                "locations": [["physicalLocation": [
                    "artifactLocation": ["uri": finding.path],
                    "region": ["startLine": finding.line, "startColumn": finding.column],
                ]]],
                "partialFingerprints": ["clavisSecret/v1": finding.fingerprint],
            ] as [String: Any]
        }
        let log: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [[
                "tool": ["driver": ["name": "clavis-scan", "version": toolVersion, "informationUri": "https://github.com/clavis/clavis", "rules": rules]],
                "results": results,
            ]],
        ]
        let data = try JSONSerialization.data(withJSONObject: log, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func level(_ confidence: Confidence) -> String {
        switch confidence { case .high: "error"; case .medium: "warning"; case .low: "note" }
    }
}

/// The command-line front end shared by `clavis scan` and the `clavis-scan` tool the plugin runs.
public enum ScanCommandLine {
    /// Parses `[--json|--sarif] [--allowlist FILE] [--min-confidence C] PATH…`, scans, prints, and
    /// returns the exit status: 0 clean, 1 findings, 2 usage error.
    public static func run(_ arguments: [String], version: String, defaultRoot: String = ".",
                           output: (String) -> Void, errors: (String) -> Void) -> Int32 {
        var format = "text", allowlistPath: String?, minimum = Confidence.low, paths: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--json": format = "json"
            case "--sarif": format = "sarif"
            case "--allowlist", "--min-confidence":
                guard index + 1 < arguments.count else { errors("error: \(argument) needs a value\n"); return 2 }
                index += 1
                if argument == "--allowlist" {
                    allowlistPath = arguments[index]
                } else {
                    guard let value = Confidence(rawValue: arguments[index]) else {
                        errors("error: --min-confidence takes high, medium or low\n"); return 2
                    }
                    minimum = value
                }
            case "-h", "--help":
                output("usage: clavis scan [--json|--sarif] [--allowlist FILE] [--min-confidence high|medium|low] [PATH…]\n")
                return 0
            default:
                if argument.hasPrefix("-") { errors("error: unknown option \(argument)\n"); return 2 }
                paths.append(argument)
            }
            index += 1
        }
        if paths.isEmpty { paths = [defaultRoot] }
        do {
            var allowlist = Allowlist()
            if let allowlistPath {
                allowlist = try Allowlist(contentsOf: allowlistPath)
            } else {
                // The scanned folder's `.clavis-scan-allow` and the repository root's, each once.
                var read: Set<String> = []
                for root in paths {
                    for file in Allowlist.files(applyingTo: root) where read.insert(file).inserted {
                        allowlist.merge(try Allowlist(contentsOf: file))
                    }
                }
            }
            let scanner = SecretScanner(allowlist: allowlist, minimumConfidence: minimum)
            var findings: [Finding] = []
            for path in paths { findings += try scanner.scan(root: path) }
            switch format {
            case "json": output(try Reporter.json(findings))
            case "sarif": output(try Reporter.sarif(findings, toolVersion: version))
            default: output(Reporter.text(findings))
            }
            return findings.isEmpty ? 0 : 1
        } catch {
            errors("error: \(error)\n")
            return 2
        }
    }
}
