import ArgumentParser
import Clavis

/// `clavis doctor`: which sources work on this machine, and why not.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Report which secret sources are usable on this machine, and why not.",
        discussion: "Never prompts and never reads a secret value. Exit status 0 even when some sources are unavailable.")

    @Flag(help: "Print the findings as a JSON array.")
    var json = false

    func run() async throws {
        var findings: [SourceDiagnosis] = []
        let dumpable = ProcessProtection.isDumpable
        findings.append(SourceDiagnosis(scheme: "clavis", check: "process protection", status: dumpable == false ? .ok : .warning,
                                        detail: dumpable == false ? "non-dumpable: no core dumps, no same-user debugger"
                                                                  : "this process could not make itself non-dumpable"))
        for source in SecretResolver.standardSources() {
            findings += await source.diagnose()
        }
        if json {
            try Terminal.printJSON(findings)
            return
        }
        let width = findings.map { "\($0.scheme): \($0.check)".count }.max() ?? 0
        for finding in findings {
            let mark = switch finding.status { case .ok: "ok  "; case .warning: "warn"; case .unavailable: "no  " }
            let label = "\(finding.scheme): \(finding.check)"
            var line = "[\(mark)] \(label)\(String(repeating: " ", count: width - label.count))  \(finding.detail)"
            if let hint = finding.hint { line += "\n       → \(hint)" }
            Terminal.printLine(line)
        }
    }
}
