import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The offline stand-in for Entra ID, Key Vault, the Defender XDR API and Microsoft Graph security: one `buildApplication` used
/// by `clavis emulator serve`, `clavis demo` and the tests.
public enum Emulator {
    /// The router with every route group and the admin endpoints (`/_emulator/stats`,
    /// `/_emulator/faults`, `/_emulator/reset`).
    public static func buildRouter(state: EmulatorState, scheme: String = "http") -> Router<BasicRequestContext> {
        let router = Router()
        IdentityRoutes(state: state, scheme: scheme).register(on: router)
        VaultRoutes(state: state, scheme: scheme).register(on: router)
        DefenderRoutes(state: state, scheme: scheme).register(on: router)
        router.get("/_emulator/stats") { _, _ in EntraReply.json(state.statistics) }
        router.post("/_emulator/reset") { _, _ in state.reset(); return EntraReply.json(["reset": true]) }
        router.post("/_emulator/faults") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let faults = try JSONDecoder().decode([Fault].self, from: Data(buffer: body))
            state.inject(faults)
            return EntraReply.json(["faults": faults.count])
        }
        return router
    }

    /// An application serving `state` on `host:port` (port 0 picks a free one; `onStart` gets it).
    public static func buildApplication(state: EmulatorState, host: String = "127.0.0.1", port: Int = 0, tls: EmulatorTLS? = nil,
                                        logger: Logger = Logger(label: "clavis.emulator"),
                                        onStart: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: "clavis-emulator")
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0.serverConfiguration) } ?? .http1()
        return Application(router: buildRouter(state: state, scheme: tls == nil ? "http" : "https"), server: server,
                           configuration: configuration, onServerRunning: { channel in await onStart(channel.localAddress?.port ?? port) },
                           logger: logger)
    }

    /// Starts an emulator in this process, on a free loopback port.
    public static func start(_ config: EmulatorConfig, tls: EmulatorTLS? = nil, logger: Logger? = nil) async throws -> RunningEmulator {
        var quiet = logger ?? Logger(label: "clavis.emulator")
        if logger == nil { quiet.logLevel = .warning }
        let state = try await EmulatorState(config: config)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = try buildApplication(state: state, tls: tls, logger: quiet) { port in continuation.yield(port) }
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: quiet))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return RunningEmulator(state: state, port: port, scheme: tls == nil ? "http" : "https", group: group, task: task)
    }
}

/// An emulator running in this process.
public final class RunningEmulator: Sendable {
    /// Its state (statistics, faults).
    public let state: EmulatorState
    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// `http` or `https`.
    public let scheme: String
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(state: EmulatorState, port: Int, scheme: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.state = state
        self.port = port
        self.scheme = scheme
        self.group = group
        self.task = task
    }

    /// `http(s)://127.0.0.1:PORT`.
    public var baseURL: String { "\(scheme)://127.0.0.1:\(port)" }

    /// Stops it and waits until it has.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
