import ClavisTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A server executable (`clavis-emulator`, `clavis-broker`) run as a real process on loopback:
/// started with nothing blocked (so SIGTERM reaches it), its first stdout lines read as it
/// prints them, its stderr kept in a file.
final class ServerProcess: @unchecked Sendable {
    let pid: pid_t
    let lines: [String]
    let logPath: String

    /// Starts `program ARGUMENTS` and waits for `lineCount` lines on stdout.
    init(_ program: String, _ arguments: [String], environment: [String: String] = [:], lineCount: Int = 1, logPath: String,
         timeout: Duration = .seconds(60)) throws {
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { $1 }
        var pipe: [Int32] = [-1, -1]
        guard Glibc.pipe(&pipe) == 0 else { throw Failure("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        close(pipe[1])
        defer { close(pipe[0]) }
        guard spawned == 0 else { throw Failure("cannot start \(program): \(String(cString: strerror(spawned)))") }
        self.pid = pid
        self.logPath = logPath
        var lines: [String] = []
        var current: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while lines.count < lineCount && ContinuousClock.now < deadline {
            var poller = pollfd(fd: pipe[0], events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            var byte: UInt8 = 0
            guard read(pipe[0], &byte, 1) == 1 else { break }
            if byte == 0x0A {
                lines.append(String(decoding: current, as: UTF8.self))
                current = []
            } else {
                current.append(byte)
            }
        }
        self.lines = lines
        guard lines.count == lineCount else {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            throw Failure("\(program) did not start: \((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")")
        }
    }

    /// Sends `signal` and waits (at most `timeout`) for the process to exit; returns whether it did.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM, timeout: Duration = .seconds(20)) -> Bool {
        kill(pid, signal)
        let deadline = ContinuousClock.now + timeout
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid { return true }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return false
    }

    /// The stderr log so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// The world of the broker tests: one tenant, one app whose secret the broker holds by
/// reference, Defender incidents and a vault — all in a `clavis-emulator` on loopback.
enum B {
    static let tenant = "4a1b2c3d-0000-4000-8000-00000000b40c"
    static let app = "7d0c4e2a-1111-4111-8111-0000000b40c1"
    static let secret = "broker-test-secret-one"
    static let rotated = "broker-test-secret-two"
    static let defender = "https://api.security.microsoft.com"
    static let vault = "https://vault.azure.net"
    static let graph = "https://graph.microsoft.com"
    static let vaultSecretValue = "value-served-by-the-vault"

    static var emulatorConfig: [String: Any] {
        ["tenants": [["id": tenant, "apps": [["clientId": app, "secrets": [secret],
                                              "permissions": [defender: ["Incident.Read.All"], graph: ["SecurityIncident.Read.All", "Application.Read.All"]]]]]],
         // Long enough for a test, short enough to see a token expire (refresh_in = lifetime: no refresh ahead).
         "tokenLifetime": 60, "refreshIn": 60,
         "defender": ["incidents": 5, "callsPerMinute": 0],
         "vaults": [["name": "prod", "tenant": tenant, "secrets": ["report-key": vaultSecretValue], "access": [app: ["get"]]]]]
    }

    /// A free loopback TCP port (bound and released).
    static func freePort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `POST`s JSON to the emulator's admin routes.
    static func admin(_ base: String, _ path: String, _ body: String = "{}") async throws -> CommandResult {
        try await Command.run("curl", ["-sS", "-X", "POST", "-H", "Content-Type: application/json", "--data", body, "\(base)\(path)"])
    }

    /// Token requests the emulator has seen.
    static func tokenRequests(_ base: String) async throws -> Int {
        let stats = try await Command.run("curl", ["-sS", "\(base)/_emulator/stats"])
        let object = try JSONSerialization.jsonObject(with: stats.stdout) as? [String: Any]
        return object?["token"] as? Int ?? 0
    }
}

/// An emulator and a broker, as processes, in a scratch directory that other local users may
/// traverse (each user's broker directory inside stays private to them).
final class BrokerWorld: @unchecked Sendable {
    let directory: TemporaryDirectory
    let emulator: ServerProcess
    let emulatorURL: String
    let vaultURL: String
    var broker: ServerProcess?
    let configPath: String
    let port: Int

    init(secretReference: String? = nil, users: [String] = ["0"], environment: [String: String] = [:]) throws {
        directory = try TemporaryDirectory()
        chmod(directory.path, 0o755)
        let emulatorConfig = try directory.write("emulator.json", String(decoding: try JSONSerialization.data(withJSONObject: B.emulatorConfig), as: UTF8.self))
        emulator = try ServerProcess(Command.buildDirectory + "/clavis-emulator",
                                     ["serve", "--config", emulatorConfig, "--port", "0", "--host", "127.0.0.1"],
                                     lineCount: 2, logPath: directory.file("emulator.log"))
        emulatorURL = emulator.lines.first { $0.hasPrefix("http") } ?? ""
        vaultURL = emulator.lines.first { $0.hasPrefix("vault ") }.map { String($0.split(separator: " ")[2]) } ?? ""
        let secretFile = try directory.write("secrets/app-secret", B.secret)
        _ = secretFile
        port = B.freePort()
        let reference = secretReference ?? "dir:\(directory.file("secrets"))#app-secret"
        let config: [String: Any] = [
            "listen": "127.0.0.1:\(port)", "socket": directory.file("run/broker.sock"), "userDirectory": directory.file("users/{uid}"),
            "authority": emulatorURL,
            "identities": [["name": "defender", "tenant": B.tenant, "clientId": B.app, "secret": reference,
                            "resources": [B.defender, B.vault], "users": users]],
        ]
        configPath = try directory.write("broker.json", String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self))
        try startBroker(environment: environment)
    }

    /// Starts (or restarts) the broker on the same port, socket and user directories.
    func startBroker(environment: [String: String] = [:]) throws {
        broker = try ServerProcess(Command.buildDirectory + "/clavis-broker", ["serve", "--config", configPath],
                                   environment: ["CLAVIS_LOG_LEVEL": "info"].merging(environment) { $1 }, logPath: directory.file("broker.log"))
    }

    /// The directory the broker writes for `uid`.
    func userDirectory(_ uid: uid_t = getuid()) -> String { directory.file("users/\(uid)") }

    /// The endpoint (`IDENTITY_ENDPOINT`).
    var endpoint: String { broker?.lines.first ?? "" }

    /// The header value the broker issued `uid` for `identity`.
    func header(_ identity: String = "defender", uid: uid_t = getuid()) throws -> String {
        try String(contentsOfFile: "\(userDirectory(uid))/\(identity).header", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func stop() {
        broker?.stop()
        emulator.stop()
    }
}
