import ArgumentParser
import Clavis
import ClavisDefender
import Foundation
import Logging
import ServiceLifecycle

extension DefenderCommand {
    /// `clavis defender watch`: a polling daemon emitting new/changed incidents as JSON lines.
    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Poll incidents and print each new or changed one once, as JSON lines (for a SIEM), until SIGTERM.",
            discussion: "Reads the whole window (lastUpdateTime >= cursor - overlap, every page), orders it locally, and saves a checkpoint after it, so a restart loses nothing. Throttling is waited out (up to an hour). Tokens are refreshed ahead of expiry.")

        @OptionGroup var api: APIOptions
        @Option(help: "Seconds between polls.") var interval: Int = 60
        @Option(help: "Seconds each poll looks back before the cursor (late incidents).") var overlap: Int = 600
        @Option(help: "Where to keep the checkpoint (JSON).") var checkpoint: String?
        @Option(help: "How far back the first poll looks, e.g. 24h, 7d.") var lookback: String = "30d"
        @Option(help: "Only this status.") var status: String?
        @Flag(help: "Poll once and exit.") var once = false
        @OptionGroup var expiry: ExpiryOptions

        func run() async throws {
            guard let lookback = DurationText.parse(lookback) else { throw CLIFailure(message: "--lookback takes a duration such as 7d", exitCode: 64) }
            let watcher = IncidentWatcher(client: try api.client(waitBudget: .seconds(3700)), checkpointPath: checkpoint, overlap: .seconds(overlap),
                                          extraFilter: status.map { "status eq '\($0)'" })
            // Warn at start, then daily, when the client secret in use expires soon.
            let checkExpiry = try expiry.warner(api.credentials, resolver: CLIContext.resolver(api.sources))
            await checkExpiry()
            let service = WatchService(watcher: watcher, interval: interval, lookback: lookback, once: once, checkExpiry: checkExpiry)
            if once {
                try await service.pollOnce(try watcher.loadCheckpoint())
                return
            }
            var logger = Logger(label: "clavis.watch")
            logger.logLevel = LogSettings.level
            try await ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
        }
    }
}

/// The poll loop as a service: stops between polls on graceful shutdown (SIGTERM).
struct WatchService: Service {
    let watcher: IncidentWatcher
    let interval: Int
    let lookback: Duration
    let once: Bool
    var checkExpiry: @Sendable () async -> Void = {}

    @discardableResult
    func pollOnce(_ checkpoint: IncidentWatcher.Checkpoint) async throws -> IncidentWatcher.Checkpoint {
        let path = watcher.checkpointPath
        return try await watcher.poll(from: checkpoint, lookback: lookback, emit: { incident, kind in
            try Terminal.printJSONLine(WatchEvent(event: kind, incident: incident.raw))
        }, save: { state in
            guard let path else { return }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try AtomicFile.write(Array(try encoder.encode(state)), to: path, mode: 0o600)
        })
    }

    func run() async throws {
        var checkpoint = try watcher.loadCheckpoint()
        Terminal.note("watching incidents every \(interval) s" + (checkpoint.cursor.map { " from \($0)" } ?? ""))
        var lastExpiryCheck = ContinuousClock.now
        while !Task.isShuttingDownGracefully {
            if ContinuousClock.now - lastExpiryCheck > .seconds(86400) {
                lastExpiryCheck = ContinuousClock.now
                await checkExpiry()
            }
            do {
                checkpoint = try await pollOnce(checkpoint)
            } catch let error as ClavisError where error.code == .sourceUnavailable || error.code == .timedOut {
                Terminal.printError("\(error) — will retry at the next poll")
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
        }
        Terminal.note("stopped (checkpoint saved)")
    }
}

struct WatchEvent: Encodable {
    var event: String
    var incident: [String: DecodedToken.JSONValue]
}
