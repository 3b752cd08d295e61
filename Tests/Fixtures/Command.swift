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

    /// The path of the built `clavis`.
    public static var clavis: String { buildDirectory + "/clavis" }

    /// Runs `clavis ARGUMENTS`.
    public static func clavis(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                              removing: [String] = [], timeout: Duration = .seconds(60)) throws -> CommandResult {
        try run(clavis, arguments, stdin: stdin, environment: environment, removing: removing, timeout: timeout)
    }

    /// Runs `program` (a path, or a name looked up on `PATH`) with the test's environment plus
    /// `environment`, minus the names in `removing`, feeding `stdin` (or nothing) and capturing both
    /// outputs. Kills the process and throws after `timeout`.
    public static func run(_ program: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                           removing: [String] = [], timeout: Duration = .seconds(60)) throws -> CommandResult {
        let process = Process()
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [program] + arguments
        }
        var merged = ProcessInfo.processInfo.environment
        for name in removing { merged.removeValue(forKey: name) }
        merged.merge(environment) { $1 }
        process.environment = merged
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        let started = ContinuousClock.now
        try process.run()
        let stdinData = stdin ?? Data()
        let writer = Thread {
            input.fileHandleForWriting.write(stdinData)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let collected = CollectedOutput()
        let readers = [
            Thread { collected.setOut(output.fileHandleForReading.readDataToEndOfFile()) },
            Thread { collected.setErr(errors.fileHandleForReading.readDataToEndOfFile()) },
        ]
        readers.forEach { $0.start() }
        let deadline = started + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                kill(process.processIdentifier, SIGKILL)
                throw CommandTimeout(command: "\(program) \(arguments.joined(separator: " "))", timeout: timeout)
            }
            usleep(2_000)
        }
        collected.wait()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(status: status, stdout: collected.out, stderr: String(decoding: collected.err, as: UTF8.self),
                             duration: ContinuousClock.now - started)
    }
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

private final class CollectedOutput: @unchecked Sendable {
    private let lock = NSCondition()
    private var outData: Data?
    private var errData: Data?
    func setOut(_ data: Data) { lock.lock(); outData = data; lock.broadcast(); lock.unlock() }
    func setErr(_ data: Data) { lock.lock(); errData = data; lock.broadcast(); lock.unlock() }
    func wait() {
        lock.lock()
        while outData == nil || errData == nil { lock.wait() }
        lock.unlock()
    }
    var out: Data { lock.lock(); defer { lock.unlock() }; return outData ?? Data() }
    var err: Data { lock.lock(); defer { lock.unlock() }; return errData ?? Data() }
}
