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
            """,
        version: ClavisVersion.string,
        subcommands: [SecretCommand.self, TokenCommand.self, AppCommand.self, DefenderCommand.self, ConsentURLCommand.self, EmulatorCommand.self, BrokerCommand.self, RunCommand.self, ScanCommand.self, StoreCommand.self, AgeCommand.self, KeygenCommand.self, DoctorCommand.self, DemoCommand.self]
    )

    /// Runs the command, printing failures as one `error:` line on stderr.
    static func main() async {
        // Before any secret is read: no core dumps, no same-user debugger.
        ProcessProtection.makeNonDumpable()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = LogSettings.level
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as ClavisError {
            Terminal.printError("\(error)")
            // Microsoft support's ids, kept off the one-line error: shown at CLAVIS_LOG_LEVEL=debug.
            if LogSettings.level <= .debug, let entra = error.cause as? EntraError, let ids = entra.supportIds {
                Terminal.note("Entra ID \(ids)")
            }
            Glibc.exit(1)
        } catch let error as AgeError {
            Terminal.printError("\(error)")
            Glibc.exit(1)
        } catch let error as CLIFailure {
            Terminal.printError(error.message)
            Glibc.exit(error.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = String(message.dropFirst("Error: ".count)) }
            if !message.isEmpty { Terminal.printError(message) }
            Glibc.exit(code.rawValue)
        }
    }
}

/// A failure the CLI reports as `error: MESSAGE` with a chosen exit code.
struct CLIFailure: Error {
    var message: String
    var exitCode: Int32 = 1
}

/// The log level: `CLAVIS_LOG_LEVEL` (trace…critical), default `warning`. Logs go to stderr.
enum LogSettings {
    static var level: Logger.Level {
        guard let raw = getenv("CLAVIS_LOG_LEVEL"), let level = Logger.Level(rawValue: String(cString: raw).lowercased()) else {
            return .warning
        }
        return level
    }
}
