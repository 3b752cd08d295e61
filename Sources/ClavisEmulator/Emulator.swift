import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The offline stand-in for Entra ID, Key Vault, the Defender XDR API and Microsoft Graph security:
/// one `buildServices` used by `clavis-emulator serve`, `clavis demo` and the tests.
public enum Emulator {
    /// The router of the Entra ID and Defender side, with the admin endpoints (`/_emulator/stats`,
    /// `/_emulator/faults`, `/_emulator/reset`). Vaults have origins of their own (``vaultRouter(state:vault:scheme:)``).
    public static func buildRouter(state: EmulatorState, scheme: String = "http") -> Router<BasicRequestContext> {
        let router = Router()
        IdentityRoutes(state: state, scheme: scheme).register(on: router)
        ConsentRoutes(state: state).register(on: router)
        DefenderRoutes(state: state, scheme: scheme).register(on: router)
        ApplicationRoutes(state: state, scheme: scheme).register(on: router)
        router.get("/_emulator/stats") { _, _ in EntraReply.json(state.statistics) }
        // Rotation: `{"clientId": "…", "secrets": ["…"]}` replaces the secrets an app accepts.
        router.post("/_emulator/secrets") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let replacement = try JSONDecoder().decode(SecretReplacement.self, from: Data(buffer: body))
            state.replaceSecrets(clientId: replacement.clientId, secrets: replacement.secrets)
            return EntraReply.json(["secrets": replacement.secrets.count])
        }
        router.post("/_emulator/reset") { _, _ in state.reset(); return EntraReply.json(["reset": true]) }
        router.post("/_emulator/faults") { request, _ in
            let body = try await request.body.collect(upTo: 1 << 20)
            let faults = try JSONDecoder().decode([Fault].self, from: Data(buffer: body))
            state.inject(faults)
            return EntraReply.json(["faults": faults.count])
        }
        return router
    }

    /// The router of one vault, served at the root of its own origin as Azure serves
    /// `https://NAME.vault.azure.net/`.
    static func vaultRouter(state: EmulatorState, vault: EmulatorConfig.Vault, scheme: String) -> Router<BasicRequestContext> {
        let router = Router()
        VaultRoutes(state: state, vault: vault, scheme: scheme).register(on: router)
        return router
    }

    /// An application serving the Entra ID and Defender side of `state` on `host:port` (port 0
    /// picks a free one; `onStart` gets it).
    public static func buildApplication(state: EmulatorState, host: String = "127.0.0.1", port: Int = 0, tls: EmulatorTLS? = nil,
                                        logger: Logger = Logger(label: "clavis.emulator"),
                                        onStart: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        try application(router: buildRouter(state: state, scheme: tls == nil ? "http" : "https"), host: host, port: port, tls: tls,
                        logger: logger, onStart: onStart)
    }

    static func application(router: Router<BasicRequestContext>, host: String, port: Int, tls: EmulatorTLS?, logger: Logger,
                            onStart: @escaping @Sendable (Int) async -> Void) throws -> Application<RouterResponder<BasicRequestContext>> {
        let configuration = ApplicationConfiguration(address: .hostname(host, port: port), serverName: "clavis-emulator")
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0.serverConfiguration) } ?? .http1()
        return Application(router: router, server: server, configuration: configuration,
                           onServerRunning: { channel in await onStart(channel.localAddress?.port ?? port) }, logger: logger)
    }

    /// Every service of the emulator: the Entra ID and Defender side on `port`, and each vault on
    /// its own port (its `port`, else `port + 1 + index`, else a free one when `port` is 0).
    /// `onStart` gets `nil` and the main port, then each vault's name and port.
    ///
    /// With `hostNames` (and `tls`), each side listens instead on port 443 of its own address, and
    /// the vaults' challenges name `https://login.microsoftonline.com` (see ``AzureHostNames``).
    public static func buildServices(state: EmulatorState, host: String = "127.0.0.1", port: Int = 0, tls: EmulatorTLS? = nil,
                                     hostNames: AzureHostNames? = nil, logger: Logger = Logger(label: "clavis.emulator"),
                                     onStart: @escaping @Sendable (String?, Int) async -> Void = { _, _ in }) throws -> [any Service] {
        let scheme = tls == nil ? "http" : "https"
        let urlHost = host.contains(":") ? "[\(host)]" : host
        let mainHost = hostNames?.serviceAddress ?? host
        var services: [any Service] = [try application(router: buildRouter(state: state, scheme: scheme), host: mainHost, port: hostNames == nil ? port : 443,
                                                       tls: tls, logger: logger) { bound in
            state.setIdentityBase(hostNames == nil ? "\(scheme)://\(urlHost):\(bound)" : "https://\(AzureHostNames.login)")
            await onStart(nil, bound)
        }]
        for (index, vault) in (state.config.vaults ?? []).enumerated() {
            let vaultHost = hostNames?.vaultAddresses[vault.name] ?? host
            let vaultPort = hostNames?.vaultAddresses[vault.name] != nil ? 443 : vault.port ?? (port == 0 ? 0 : port + 1 + index)
            services.append(try application(router: vaultRouter(state: state, vault: vault, scheme: scheme), host: vaultHost, port: vaultPort, tls: tls,
                                            logger: logger) { bound in await onStart(vault.name, bound) })
        }
        return services
    }

    /// Starts an emulator in this process, on free loopback ports (or under Azure's names, see
    /// ``AzureHostNames``; `tls` must then be made for them).
    public static func start(_ config: EmulatorConfig, tls: EmulatorTLS? = nil, hostNames: AzureHostNames? = nil,
                             logger: Logger? = nil) async throws -> RunningEmulator {
        var quiet = logger ?? Logger(label: "clavis.emulator")
        if logger == nil { quiet.logLevel = .warning }
        let state = try await EmulatorState(config: config)
        let (ports, continuation) = AsyncStream<(String?, Int)>.makeStream()
        let services = try buildServices(state: state, tls: tls, hostNames: hostNames, logger: quiet) { name, port in continuation.yield((name, port)) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [], logger: quiet))
        let task = Task { try await group.run() }
        var main: Int?
        var vaults: [String: Int] = [:]
        for await (name, port) in ports {
            if let name { vaults[name] = port } else { main = port }
            if main != nil, vaults.count == services.count - 1 { break }
        }
        guard let main else { throw CancellationError() }
        let scheme = tls == nil ? "http" : "https"
        return RunningEmulator(state: state, port: main, scheme: scheme, vaultPorts: vaults, hostNames: hostNames, group: group, task: task)
    }
}

/// The body of `POST /_emulator/secrets`.
struct SecretReplacement: Decodable {
    var clientId: String
    var secrets: [String]
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

    /// Each vault's port, by vault name.
    public let vaultPorts: [String: Int]

    /// The Azure names it serves under, if started with them.
    public let hostNames: AzureHostNames?

    init(state: EmulatorState, port: Int, scheme: String, vaultPorts: [String: Int], hostNames: AzureHostNames?,
         group: ServiceGroup, task: Task<Void, any Error>) {
        self.state = state
        self.hostNames = hostNames
        self.port = port
        self.scheme = scheme
        self.vaultPorts = vaultPorts
        self.group = group
        self.task = task
    }

    /// `http(s)://127.0.0.1:PORT` (under Azure's names, `https://ADDRESS:443`, reachable without them).
    public var baseURL: String { "\(scheme)://\(hostNames?.serviceAddress ?? "127.0.0.1"):\(port)" }

    /// The vault's URL, `http(s)://127.0.0.1:PORT` (secrets at `/secrets/NAME`), or under Azure's
    /// names `https://NAME.vault.azure.net`; `nil` for an unknown vault.
    public func vaultURL(_ name: String) -> String? {
        if hostNames?.vaultAddresses[name] != nil { return "https://\(AzureHostNames.vaultHost(name))" }
        return vaultPorts[name].map { "\(scheme)://127.0.0.1:\($0)" }
    }

    /// Stops it and waits until it has.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
