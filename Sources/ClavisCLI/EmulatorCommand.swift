import ArgumentParser
import Clavis
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `clavis emulator …`: runs the `clavis-emulator` executable with the same arguments, as git
/// runs `git-<name>` — so `clavis` itself links no server code.
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Run the local Entra ID, Key Vault and Defender stand-in (the clavis-emulator executable).",
        discussion: """
            Everything after `emulator` goes to clavis-emulator, found next to clavis (or in the package's bin), then on PATH:
              clavis emulator init [--dir clavis-emulator]     (a ready config, and the commands that use it)
              clavis emulator serve --config emulator.json [--port 8400] [--tls --ca-out ca.pem]
            See `clavis-emulator --help` and docs/emulator.md.
            """)

    @Argument(parsing: .captureForPassthrough, help: "init|serve [OPTIONS] - passed to clavis-emulator.")
    var arguments: [String] = []

    func run() async throws {
        let program = try EmulatorProcess.locate()
        let environment = ProcessInfo.processInfo.environment.mapValues { Array($0.utf8) }
        Exec.replaceProcess(program: program, arguments: [program] + arguments, environment: environment)
    }
}

/// Finding and starting `clavis-emulator` as a child on loopback.
final class EmulatorProcess: @unchecked Sendable {
    /// The emulator's base URL, from the first line it prints.
    let url: String
    private let pid: pid_t
    private let scratch: URL

    /// `clavis-emulator`, found by `ServerExecutable.locate`.
    static func locate() throws -> String { try ServerExecutable.locate("clavis-emulator") }

    /// Starts `clavis-emulator serve --config FILE --port 0` on loopback with `config` (JSON) and
    /// waits for its URL. Its notes go to a file, shown only if it fails to start.
    static func start(config: [String: Any], timeout: Duration = .seconds(30)) throws -> EmulatorProcess {
        let program = try locate()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("clavis-emulator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let configPath = scratch.appendingPathComponent("emulator.json").path
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: URL(fileURLWithPath: configPath))
        let logPath = scratch.appendingPathComponent("emulator.log").path
        var pipe: [Int32] = [-1, -1]
        guard Glibc.pipe(&pipe) == 0 else { throw CLIFailure(message: "cannot create a pipe: \(String(cString: strerror(errno)))") }
        defer { close(pipe[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addclose(&actions, pipe[0])
        // The child starts with nothing blocked and default dispositions (see Exec).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let arguments = [program, "serve", "--config", configPath, "--port", "0", "--host", "127.0.0.1"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = argv.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return EINVAL }
            return posix_spawn(&pid, program, &actions, &attributes, base, environ)
        }
        close(pipe[1])
        guard spawned == 0 else { throw CLIFailure(message: "cannot start \(program): \(String(cString: strerror(spawned)))") }
        guard let line = readLine(pipe[0], timeout: timeout), line.hasPrefix("http") else {
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
            try? FileManager.default.removeItem(at: scratch)
            throw CLIFailure(message: "clavis-emulator did not start: \(log.isEmpty ? "no URL within \(timeout)" : log)")
        }
        return EmulatorProcess(url: line, pid: pid, scratch: scratch)
    }

    private init(url: String, pid: pid_t, scratch: URL) {
        self.url = url
        self.pid = pid
        self.scratch = scratch
    }

    /// Stops the child (SIGTERM, a graceful shutdown) and removes its files.
    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        try? FileManager.default.removeItem(at: scratch)
    }

    /// The first line read from `descriptor`, or `nil` at end of input or after `timeout`.
    private static func readLine(_ descriptor: Int32, timeout: Duration) -> String? {
        var bytes: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready < 0 && errno != EINTR { return nil }
            guard ready > 0 else { continue }
            var byte: UInt8 = 0
            guard Glibc.read(descriptor, &byte, 1) == 1 else { return nil }
            if byte == 0x0A { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }
}
