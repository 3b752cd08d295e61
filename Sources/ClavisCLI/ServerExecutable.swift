import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Finding the server executables `clavis` starts (`clavis-emulator`, `clavis-broker`): next to
/// this executable, then — when this is the package's `/usr/libexec/clavis/clavis-cli` — in
/// `../../bin`, then on `PATH`, as git finds `git-<name>`.
enum ServerExecutable {
    /// The path of `name`, or a failure saying where it was looked for and how to get it.
    static func locate(_ name: String) throws -> String {
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let directory = URL(fileURLWithPath: own).deletingLastPathComponent()
        var candidates = [directory.appendingPathComponent(name).path]
        if directory.path.hasSuffix("/libexec/clavis") {   // the package: /usr/libexec/clavis/clavis-cli, /usr/bin/NAME
            candidates.append(directory.appendingPathComponent("../../bin/\(name)").standardized.path)
        }
        for candidate in candidates where access(candidate, X_OK) == 0 { return candidate }
        // Absolute entries only: a relative one would run whatever the current directory holds.
        for entry in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") where entry.hasPrefix("/") {
            let candidate = "\(entry)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw CLIFailure(message: "\(name) was not found next to clavis (\(directory.path)) or on PATH; build it with `swift build --product \(name)`, or install the clavis package, which ships it",
                         exitCode: 69)
    }

    /// Becomes `name` with `arguments` (exec, same environment).
    static func exec(_ name: String, _ arguments: [String]) throws -> Never {
        let program = try locate(name)
        let environment = ProcessInfo.processInfo.environment.mapValues { Array($0.utf8) }
        Exec.replaceProcess(program: program, arguments: [program] + arguments, environment: environment)
    }
}
