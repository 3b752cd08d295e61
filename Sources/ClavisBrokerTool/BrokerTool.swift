import ArgumentParser
import Clavis
import ClavisBroker
import ClavisIdentity
import Foundation
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// `clavis-broker`: the local token service's server executable, so the `clavis` client links no
/// server code. `clavis broker …` runs it, as git runs `git-<name>`.
@main
struct BrokerTool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clavis-broker",
        abstract: "The local token service: app-only tokens for every program on the host over the managed-identity protocol (also `clavis broker ...`).",
        discussion: "See docs/broker.md.",
        subcommands: [Serve.self, Status.self])

    /// Runs the command; failures are one `error:` line on stderr.
    static func main() async {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
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
            write(2, "error: \(error)\n")
            Glibc.exit(1)
        } catch let failure as BrokerStartFailure {
            write(2, "error: \(failure)\n")
            Glibc.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = String(message.dropFirst("Error: ".count)) }
            if !message.isEmpty { write(2, "error: \(message)\n") }
            Glibc.exit(code.rawValue)
        }
    }

    /// `CLAVIS_LOG_LEVEL` (trace…critical), default `info`: the audit lines are at info.
    static var logLevel: Logger.Level {
        guard let raw = getenv("CLAVIS_LOG_LEVEL"), let level = Logger.Level(rawValue: String(cString: raw).lowercased()) else { return .info }
        return level
    }

    /// `prctl(PR_SET_DUMPABLE, 0)`: no core dump, no same-user debugger (prctl is variadic in C,
    /// so it is called through its address, as the `clavis` CLI does).
    static func makeNonDumpable() {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { return }
        _ = unsafeBitCast(address, to: Prctl.self)(4, 0, 0, 0, 0)
    }

    static func write(_ descriptor: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let wrote = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if wrote < 0, errno == EINTR { continue }
            guard wrote > 0 else { return }
            bytes = bytes.dropFirst(wrote)
        }
    }

    /// `clavis-broker serve`.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve tokens until SIGTERM/SIGINT. Prints the endpoint URL on stdout once listening; audit lines go to stderr.")

        @Option(help: "The JSON configuration (docs/broker.md).") var config: String

        func run() async throws {
            let config = try BrokerConfig.load(self.config)
            // Before any secret is read: no core dumps, no same-user debugger.
            BrokerTool.makeNonDumpable()
            try TrustedCAs.validateEnvironment()
            var logger = Logger(label: "clavis.broker")
            logger.logLevel = BrokerTool.logLevel
            var audit = Logger(label: "clavis.broker.audit")
            audit.logLevel = BrokerTool.logLevel
            let services = try Broker.buildServices(config: config, resolver: .standard(interactive: false, logger: logger), logger: logger,
                                                    audit: audit) { started in
                BrokerTool.write(1, started.endpoint + "\n")
                BrokerTool.write(2, "clavis broker: \(started.endpoint) (IDENTITY_ENDPOINT), socket \(started.socket)\n")
            }
            // Library lines without a logger of their own (HTTP, the keyring) go to `Logger.current`: this one.
            try await withLogger(logger) { logger in
                try await ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
            }
        }
    }

    /// `clavis-broker status`.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show the identities this user may use, their tokens' expiries and request counts (from the broker's socket).")

        @Option(help: "The broker's Unix socket (default: as named in this user's broker directory, or CLAVIS_BROKER_SOCKET).") var socket: String?
        @Flag(help: "Print the broker's JSON.") var json = false

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            var path = socket ?? environment["CLAVIS_BROKER_SOCKET"]
            if path == nil, let directory = try? BrokerPaths.clientDirectory(for: nil) {
                path = (try? String(contentsOfFile: "\(directory)/\(BrokerPaths.socketFileName)", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let socketPath = path ?? Broker.defaultSocket()
            guard let url = URL(httpURLWithSocketPath: socketPath, uri: "/status") else {
                throw ClavisError(.invalidValue, reference: socketPath, reason: "cannot be used as a socket path")
            }
            let transport = HTTPTransport(retry: .noRetries, attemptTimeout: .seconds(10))
            let reply: HTTPReply
            do {
                reply = try await transport.send(.GET, url.absoluteString)
            } catch {
                throw ClavisError(.sourceUnavailable, reference: socketPath, reason: "no broker answers on this socket", hint: "start it: clavis broker serve --config FILE")
            }
            guard reply.status == 200, let object = reply.jsonObject else {
                throw ClavisError(.serviceError, reference: socketPath, reason: "the broker answered HTTP \(reply.status)")
            }
            if json {
                BrokerTool.write(1, String(decoding: reply.body, as: UTF8.self) + "\n")
                return
            }
            BrokerTool.write(1, "broker pid \(object["pid"] ?? "?") on \(socketPath)\n")
            for identity in object["identities"] as? [[String: Any]] ?? [] {
                let expiries = (identity["expiries"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { resource, epoch in
                    let date = Date(timeIntervalSince1970: (epoch as? Double) ?? Double("\(epoch)") ?? 0)
                    return "\(resource) until \(date.formatted(.iso8601))"
                }
                BrokerTool.write(1, "\(identity["name"] ?? "?")  client \(identity["clientId"] ?? "?")  served \(identity["served"] ?? 0)  refused \(identity["refused"] ?? 0)  failed \(identity["failed"] ?? 0)\n")
                for line in expiries { BrokerTool.write(1, "  token: \(line)\n") }
            }
        }
    }
}
