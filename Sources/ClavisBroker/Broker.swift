import ClavisCore
import ClavisIdentity
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The local token service (docs/broker.md): one `buildServices` used by `clavis-broker serve`
/// and the tests.
public enum Broker {
    /// What a running broker tells its caller once both endpoints listen.
    public struct Started: Sendable {
        /// `http://127.0.0.1:PORT/msi/token`: `IDENTITY_ENDPOINT`.
        public var endpoint: String
        /// The Unix socket's path.
        public var socket: String
    }

    /// The default Unix socket path for this process's user.
    public static func defaultSocket(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if geteuid() != 0, let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return "\(runtime)/clavis-broker/broker.sock" }
        return "\(BrokerPaths.systemDirectory)/broker.sock"
    }

    /// Where user `uid`'s files go, by the config's template or the defaults of ``BrokerPaths``.
    public static func userDirectory(template: String?, uid: uid_t, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let template {
            let name = getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "\(uid)"
            return template.replacingOccurrences(of: "{uid}", with: "\(uid)").replacingOccurrences(of: "{user}", with: name)
        }
        if geteuid() != 0, uid == geteuid(), let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return "\(runtime)/clavis-broker" }
        var info = stat()
        if stat("/run/user/\(uid)", &info) == 0, info.st_uid == uid { return "/run/user/\(uid)/clavis-broker" }
        return "\(BrokerPaths.systemDirectory)/users/\(uid)"
    }

    /// The broker's services: the TCP endpoint, the Unix socket, the shutdown watcher, the secret
    /// expiry check and the heap trim (run them in one `ServiceGroup`). `onStart` is called once both listen.
    public static func buildServices(config: BrokerConfig, resolver: SecretResolver, transport: HTTPTransport = HTTPTransport(),
                                     logger: Logger = Logger.current, audit: Logger = Logger.current,
                                     onStart: @escaping @Sendable (Started) async -> Void = { _ in }) throws -> [any Service] {
        try config.validate()
        var built: [String: BrokerIdentity] = [:]
        for identity in config.identities {
            built[identity.name] = try BrokerIdentity(identity, defaultAuthority: config.authority, resolver: resolver, transport: transport,
                                                      logger: logger)
        }
        let identities = built
        let (host, port) = try config.listenAddress()
        let socket = config.socket ?? defaultSocket()
        try prepareSocketPath(socket)
        let shutdown = ShutdownSignal()
        let ports = PortRelay()

        // The TCP side binds first; the header files name its URL, so they are written once it
        // listens — and only then is the Unix side started and the caller told.
        let unixRouter = Router(context: BrokerRequestContext.self)
        let tcpRouter = Router(context: BrokerRequestContext.self)
        let pending = PendingRoutes()
        tcpRouter.get("/msi/token") { request, context in
            guard let routes = pending.routes else { return BrokerRoutes.error(.serviceUnavailable, "The broker is starting.") }
            return try await routes.tcp.respond(to: request, context: context)
        }
        unixRouter.get("/msi/token") { request, context in
            guard let routes = pending.routes else { return BrokerRoutes.error(.serviceUnavailable, "The broker is starting.") }
            return try await routes.unix.respond(to: request, context: context)
        }
        unixRouter.get("/status") { request, context in
            guard let routes = pending.routes else { return BrokerRoutes.error(.serviceUnavailable, "The broker is starting.") }
            return try await routes.unix.respond(to: request, context: context)
        }
        let urlHost = host.contains(":") ? "[\(host)]" : host
        let userTemplate = config.userDirectory
        let tcp = Application(router: tcpRouter, configuration: .init(address: .hostname(host, port: port), serverName: "clavis-broker"),
                              onServerRunning: { channel in
                                  let bound = channel.localAddress?.port ?? port
                                  let endpoint = "http://\(urlHost):\(bound)/msi/token"
                                  do {
                                      let headers = try HeaderSecrets(identities: config.identities.compactMap { identity in
                                          identities[identity.name].map { (identity.name, $0.uids.sorted()) }
                                      }, userDirectory: { userDirectory(template: userTemplate, uid: $0) }, endpoint: endpoint, socket: socket)
                                      let routes = BrokerRoutes(identities: identities, headers: headers, shutdown: shutdown, audit: audit)
                                      let tcpInner = Router(context: BrokerRequestContext.self)
                                      routes.registerTCP(on: tcpInner)
                                      let unixInner = Router(context: BrokerRequestContext.self)
                                      routes.registerUnix(on: unixInner)
                                      pending.set(tcp: tcpInner.buildResponder(), unix: unixInner.buildResponder())
                                      await ports.tcpReady(endpoint)
                                  } catch {
                                      await ports.failed("\(error)")
                                  }
                              }, logger: logger)
        let unix = Application(router: unixRouter, configuration: .init(address: .unixDomainSocket(path: socket), serverName: "clavis-broker"),
                               onServerRunning: { _ in
                                   // Anyone may connect: SO_PEERCRED says who did, and only allowed users get answers.
                                   chmod(socket, 0o666)
                                   await ports.unixReady()
                               }, logger: logger)
        let notifier = StartNotifier(ports: ports, socket: socket, onStart: onStart)
        let expiry = try ExpiryWatch(config: config, resolver: resolver, transport: transport, logger: logger)
        return [tcp, unix, notifier, ShutdownWatcher(signal: shutdown), expiry, HeapTrim()]
    }

    /// Creates the socket's directory and removes a stale socket (never another kind of file).
    static func prepareSocketPath(_ path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw ClavisError(.invalidValue, reference: path, reason: "exists and is not a socket; refusing to replace it")
            }
            unlink(path)
        }
    }
}

/// The responders, once the header files exist.
final class PendingRoutes: Sendable {
    struct Responders: Sendable {
        var tcp: RouterResponder<BrokerRequestContext>
        var unix: RouterResponder<BrokerRequestContext>
    }
    private let state = Mutex<Responders?>(nil)
    var routes: Responders? { state.withLock { $0 } }
    func set(tcp: RouterResponder<BrokerRequestContext>, unix: RouterResponder<BrokerRequestContext>) {
        state.withLock { $0 = Responders(tcp: tcp, unix: unix) }
    }
}

/// Collects "listening" from both endpoints.
actor PortRelay {
    private var endpoint: String?
    private var unixListening = false
    private var failure: String?
    private var waiters: [CheckedContinuation<Result<String, BrokerStartFailure>, Never>] = []

    func tcpReady(_ endpoint: String) { self.endpoint = endpoint; wake() }
    func unixReady() { unixListening = true; wake() }
    func failed(_ reason: String) { failure = reason; wake() }

    func ready() async -> Result<String, BrokerStartFailure> {
        if let outcome = outcome() { return outcome }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func outcome() -> Result<String, BrokerStartFailure>? {
        if let failure { return .failure(BrokerStartFailure(reason: failure)) }
        if let endpoint, unixListening { return .success(endpoint) }
        return nil
    }

    private func wake() {
        guard let outcome = outcome() else { return }
        let waiting = waiters
        waiters = []
        waiting.forEach { $0.resume(returning: outcome) }
    }
}

/// Waits for both endpoints, then tells the caller; a failed start ends the group.
struct StartNotifier: Service {
    let ports: PortRelay
    let socket: String
    let onStart: @Sendable (Broker.Started) async -> Void

    func run() async throws {
        switch await ports.ready() {
        case .success(let endpoint):
            await onStart(Broker.Started(endpoint: endpoint, socket: socket))
            try? await gracefulShutdown()
        case .failure(let failure):
            throw failure
        }
    }
}
