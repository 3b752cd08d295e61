import ArgumentParser
import Clavis
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The `clavis` command: a thin shell over the Clavis libraries.
@main
struct ClavisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clavis",
        abstract: "Secrets by reference for daemons: env, systemd credentials, files, age stores, the keyring, Key Vault.",
        discussion: """
            A secret is named by a reference such as env:APP_SECRET, credential:app-secret,
            dir:/run/secrets#token. Values never go on the command line: `secret set` reads stdin
            or prompts without echo. Shell completions: clavis --generate-completion-script bash|zsh|fish
            Every command also takes --verbose: each request Clavis makes (method, host, path, status,
            time) is logged on stderr, as with CLAVIS_LOG_LEVEL=debug; never a secret or a token.
            (For clavis run, only before its --; the servers of clavis emulator and clavis broker
            get CLAVIS_LOG_LEVEL=debug.)
            With --json (or --format json), a failure is also printed on stdout as one JSON line,
            {"error": {"code": ..., "message": ..., "hint": ..., "traceId": ...}}.
            """,
        version: ClavisVersion.string,
        subcommands: [SecretCommand.self, TokenCommand.self, AppCommand.self, DefenderCommand.self, ConsentURLCommand.self, EmulatorCommand.self, BrokerCommand.self, RunCommand.self, ScanCommand.self, StoreCommand.self, AgeCommand.self, KeygenCommand.self, DoctorCommand.self, DemoCommand.self]
    )

    /// Runs the command, printing failures as one `error:` line on stderr — and, when the caller
    /// asked for JSON, also as `{"error": {...}}` on stdout (see ``ErrorReport``).
    static func main() async {
        // No file may take the number of a standard stream the caller closed.
        ProcessProtection.ensureStandardDescriptors()
        // Before any secret is read: no core dumps, no same-user debugger.
        ProcessProtection.makeNonDumpable()
        // The launcher execs this file, clavis-cli; the kernel names a process after its file, so
        // name it as users know it (`pgrep -x clavis`, `top`).
        ProcessName.adopt("clavis")
        // The libraries log through `Logger.current` (swift-log's task-local logger); unbound, it is
        // a logger with an empty label made by this factory, so it is named "clavis" here.
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label.isEmpty ? "clavis" : label)
            handler.logLevel = LogSettings.level
            return handler
        }
        let invocation = Invocation.current
        // The emulator and broker passthroughs with --verbose: the server executable reads the level from the environment.
        if invocation.verbose, invocation.startsServer { setenv("CLAVIS_LOG_LEVEL", "debug", 0) }
        do {
            // Parsed on the main thread before any `await`: `--help` and `--version` end here without
            // starting Swift's cooperative threads (a `withLogger` scope around the parse started
            // four, +5 MiB resident for `clavis --version`).
            var command = try parseAsRoot(invocation.arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let (message, status) = describe(error)
            if status == 0 { exit(withError: error) }  // --help, --version
            // An empty message is an exit status a command chose after reporting (scan's findings).
            guard !message.isEmpty else { Glibc.exit(status) }
            Terminal.printError(message)
            // Microsoft support's ids, kept off the one-line error: with --verbose or CLAVIS_LOG_LEVEL=debug.
            if LogSettings.level <= .debug, let entra = (error as? ClavisError)?.entraError, let ids = entra.supportIds {
                Terminal.note("Entra ID \(ids)")
            }
            if invocation.wantsJSON {
                try? Terminal.printJSONLine(ErrorReport(error, message: message, exitCode: status))
            }
            Glibc.exit(status)
        }
    }

    /// The one-line message (without `error: `) and the exit status for a failure.
    static func describe(_ error: any Error) -> (message: String, status: Int32) {
        switch error {
        case let error as ClavisError: return ("\(error)", 1)
        case let error as AgeError: return ("\(error)", 1)
        case let error as CLIFailure: return (error.message, error.exitCode)
        default:
            let code = exitCode(for: error)
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = String(message.dropFirst("Error: ".count)) }
            return (message, code.rawValue)
        }
    }
}

/// The process's name (`/proc/self/comm`), as `prctl(PR_SET_NAME)` sets it.
enum ProcessName {
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32

    /// Names this process `name` (at most 15 bytes are kept).
    static func adopt(_ name: String) {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { return }
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        _ = name.withCString { prctl(15 /* PR_SET_NAME */, UInt(bitPattern: $0), 0, 0, 0) }
    }
}

/// A failure the CLI reports as `error: MESSAGE` with a chosen exit code.
struct CLIFailure: Error {
    var message: String
    var exitCode: Int32 = 1
}

/// The log level: `CLAVIS_LOG_LEVEL` (trace…critical), default `warning`; `--verbose` makes it
/// at least `debug` (each request: method, host, path, status, time). Logs go to stderr.
enum LogSettings {
    static var level: Logger.Level {
        var level = Logger.Level.warning
        if let raw = getenv("CLAVIS_LOG_LEVEL"), let chosen = Logger.Level(rawValue: String(cString: raw).lowercased()) { level = chosen }
        return Invocation.current.verbose ? min(level, .debug) : level
    }
}
