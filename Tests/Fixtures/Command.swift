import Foundation

/// What a finished process left behind.
public struct CommandResult: Sendable {
    /// The exit status (or 128 + signal).
    public var status: Int32
    /// Everything written on stdout.
    public var stdout: Data
    /// Everything written on stderr, as text.
    public var stderr: String
    /// stdout as text.
    public var output: String { String(decoding: stdout, as: UTF8.self) }
    /// How long it ran.
    public var duration: Duration
}

/// Runs programs for tests: the built `clavis`, and peers such as `secret-tool`, `age`, `python3`.
public enum Command {
    /// The directory of the test bundle, where SwiftPM also puts the package's executables.
    public static var buildDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        while url.path != "/" && !FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("clavis").path) {
            url = url.deletingLastPathComponent()
        }
        return url.path
    }

    /// How many symbols `binary` defines whose names contain `pattern` (`nm --defined-only`).
    public static func definedSymbols(in binary: String, matching pattern: String) async throws -> Int {
        let result = try await run("bash", ["-c", #"nm --defined-only "$1" | grep -c "$2" || true"#, "bash", binary, pattern])
        return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The path of the built `clavis`.
    public static var clavis: String { buildDirectory + "/clavis" }

    /// Runs `clavis ARGUMENTS`.
    public static func clavis(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                              removing: [String] = [], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        try await run(clavis, arguments, stdin: stdin, environment: environment, removing: removing, timeout: timeout)
    }

    /// Runs a program and waits for it on a thread of its own — never on Swift's cooperative pool,
    /// which in-process emulators need free while a child process talks to them.
    public static func run(_ program: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                           removing: [String] = [], timeout: Duration = .seconds(60)) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    try runBlocking(program, arguments, stdin: stdin, environment: environment, removing: removing, timeout: timeout)
                })
            }
        }
    }

    /// Runs `program` (a path, or a name looked up on `PATH`) with the test's environment plus
    /// `environment`, minus the names in `removing`, feeding `stdin` (or nothing) and capturing both
    /// outputs. Kills the process and throws after `timeout`.
    static func runBlocking(_ program: String, _ arguments: [String], stdin: Data?, environment: [String: String],
                            removing: [String], timeout: Duration) throws -> CommandResult {
        var merged = ProcessInfo.processInfo.environment
        for name in removing { merged.removeValue(forKey: name) }
        merged.merge(environment) { $1 }
        // Outputs go to files, not pipes: a daemon the command leaves behind (gnome-keyring,
        // dbus-daemon) may hold inherited descriptors open long after the command exits.
        let scratch = try TemporaryDirectory()
        let outPath = scratch.file("out"), errPath = scratch.file("err"), inPath = scratch.file("in")
        try (stdin ?? Data()).write(to: URL(fileURLWithPath: inPath))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Children start with default signal handling and nothing blocked, whatever the test
        // runner's threads have: a blocked SIGTERM would outlive dbus-run-session's cleanup.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let argv = [program] + arguments
        let envp = merged.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let started = ContinuousClock.now
        let spawned = withCStrings(argv) { argvPointers in
            withCStrings(envp) { envPointers in
                posix_spawnp(&pid, program, &actions, &attributes, argvPointers, envPointers)
            }
        }
        guard spawned == 0 else { throw CommandFailedToStart(command: program, errorNumber: spawned) }
        var status: Int32 = 0
        let deadline = started + timeout
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { break }
            if ContinuousClock.now > deadline {
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw CommandTimeout(command: "\(program) \(arguments.joined(separator: " "))", timeout: timeout)
            }
            usleep(1_000)
        }
        let duration = ContinuousClock.now - started
        let exitStatus: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let out = readAll(outPath)
        let err = readAll(errPath)
        return CommandResult(status: exitStatus, stdout: out, stderr: String(decoding: err, as: UTF8.self), duration: duration)
    }

    /// A file's bytes, read with POSIX calls: `Data(contentsOf:)` leaks its 4 KiB buffer for an
    /// empty file (seen under LeakSanitizer, scripts/sanitize), and most stderr files are empty.
    private static func readAll(_ path: String) -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return Data() }
        defer { close(fd) }
        var result = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            result.append(contentsOf: chunk[..<count])
        }
        return result
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { pointers.forEach { free($0) } }
        return pointers.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { fatalError("argv always holds its terminating nil") }
            return body(base)
        }
    }
}

/// A test command could not be started.
public struct CommandFailedToStart: Error, CustomStringConvertible {
    /// The program.
    public var command: String
    /// The `errno` posix_spawn returned.
    public var errorNumber: Int32
    /// A one-line message.
    public var description: String { "cannot start \(command): \(String(cString: strerror(errorNumber)))" }
}

/// A test command ran past its time limit.
public struct CommandTimeout: Error, CustomStringConvertible {
    /// The command line.
    public var command: String
    /// The limit.
    public var timeout: Duration
    /// A one-line message.
    public var description: String { "\(command) did not finish within \(timeout)" }
}
