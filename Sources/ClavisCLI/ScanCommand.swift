import ArgumentParser
import Clavis
import ClavisScan
#if canImport(Glibc)
import Glibc
#endif

/// `clavis scan PATH…`: find hardcoded secrets (the same scanner as `swift package scan-secrets`).
struct ScanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Find hardcoded secrets in files: exit 0 clean, 1 findings, 2 usage error.",
        discussion: """
            Options: --json | --sarif, --allowlist FILE (default: PATH/.clavis-scan-allow), --min-confidence high|medium|low.
            Suppress one line with a `clavis:allow` comment. Honours .gitignore in git work trees; skips .build/ and binary files.
            """)

    @Argument(parsing: .allUnrecognized, help: "[--json|--sarif] [--allowlist FILE] [--min-confidence C] PATH...")
    var arguments: [String] = []

    func run() async throws {
        let status = ScanCommandLine.run(arguments, version: ClavisVersion.string,
                                         output: { Terminal.writeAll(1, Array($0.utf8)) },
                                         errors: { Terminal.writeAll(2, Array($0.utf8)) })
        if status != 0 { throw ExitCode(status) }
    }
}
