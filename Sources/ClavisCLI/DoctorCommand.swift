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
    /// With --tenant, --client-id and --secret: also when the app's client secret expires.
    @OptionGroup var credentials: CredentialOptions
    @OptionGroup var expiry: ExpiryOptions
    @OptionGroup var sources: SourceOptions

    func run() async throws {
        var findings: [SourceDiagnosis] = []
        let dumpable = ProcessProtection.isDumpable
        findings.append(SourceDiagnosis(scheme: "clavis", check: "process protection", status: dumpable == false ? .ok : .warning,
                                        detail: dumpable == false ? "non-dumpable: no core dumps, no same-user debugger"
                                                                  : "this process could not make itself non-dumpable"))
        for source in SecretResolver.standardSources() {
            findings += await source.diagnose()
        }
        if let secret = credentials.secret {
            let status = try await expiry.status(credentials, resolver: CLIContext.resolver(sources))
            findings.append(SourceDiagnosis(
                scheme: "app", check: "client secret expiry", status: status.map { $0.warning ? .warning : .ok } ?? .warning,
                detail: status?.message ?? "could not learn when the secret in \(secret) expires (no clavis-expires annotation, and Graph did not show the application's secrets)",
                hint: status == nil ? "grant Application.Read.All, or rotate once with `clavis app secret rotate` (it records the end date next to the secret)" : nil))
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
