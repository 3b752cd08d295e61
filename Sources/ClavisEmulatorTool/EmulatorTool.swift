import ArgumentParser
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `clavis-emulator`: the server executable that holds the emulator, so the `clavis` client links
/// no server code (Hummingbird, the TLS server, the certificate authority). `clavis emulator …`
/// and `clavis demo` start it as a child, as git starts `git-<name>`.
@main
struct EmulatorTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clavis-emulator",
        abstract: "The local stand-in for Entra ID, Key Vault and Defender (also run as `clavis emulator ...`).",
        subcommands: [ServeCommand.self, InitCommand.self])

    /// Runs the command; failures are one `error:` line on stderr.
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Output.logLevel
            return handler
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as ToolFailure {
            Output.error(failure.message)
            Glibc.exit(failure.exitCode)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = String(message.dropFirst("Error: ".count)) }
            if !message.isEmpty { Output.error(message) }
            Glibc.exit(code.rawValue)
        }
    }
}

/// A failure reported as `error: MESSAGE` with an exit code.
struct ToolFailure: Error {
    var message: String
    var exitCode: Int32 = 1
}

/// Where the emulator may listen without `--allow-remote`: a literal loopback address or
/// `localhost` (the emulator shares no code with the client modules, so it has its own check).
enum EmulatorHost {
    static func isLoopback(_ host: String) -> Bool {
        var text = host.lowercased()
        if text == "localhost" { return true }
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, text, &address) == 1 else { return false }
            return withUnsafeBytes(of: &address) { $0.prefix(15).allSatisfy { $0 == 0 } && $0[15] == 1 }
        }
        var address = in_addr()
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), inet_pton(AF_INET, text, &address) == 1 else { return false }
        return withUnsafeBytes(of: &address) { $0.first == 127 }
    }
}

/// stdout for values, stderr for everything else.
enum Output {
    static func line(_ text: String) { write(1, text + "\n") }
    static func note(_ text: String) { write(2, text + "\n") }
    static func error(_ text: String) { write(2, "error: " + text + "\n") }

    /// `CLAVIS_LOG_LEVEL` (trace…critical), default `warning`.
    static var logLevel: Logger.Level {
        guard let raw = getenv("CLAVIS_LOG_LEVEL"), let level = Logger.Level(rawValue: String(cString: raw).lowercased()) else { return .warning }
        return level
    }

    private static func write(_ descriptor: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let wrote = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if wrote < 0, errno == EINTR { continue }
            guard wrote > 0 else { return }
            bytes = bytes.dropFirst(wrote)
        }
    }
}
