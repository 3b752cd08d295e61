import ClavisCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Finding the server executables `clavis` starts (`clavis-emulator`, `clavis-broker`) with
/// `ClavisExecutables.locate`, the one search the launcher also uses for `clavis-cli`: next to
/// this executable, then — from the package's `/usr/libexec/clavis/clavis-cli` — in `/usr/bin`,
/// then on `PATH`, as git finds `git-<name>`.
enum ServerExecutable {
    /// The path of `name`, or a failure saying where it was looked for and how to get it.
    static func locate(_ name: String) throws -> String {
        guard let path = ClavisExecutables.locate(name) else {
            throw CLIFailure(message: ClavisExecutables.notFound(name), exitCode: 69)
        }
        return path
    }

    /// Becomes `name` with `arguments` (exec, same environment).
    static func exec(_ name: String, _ arguments: [String]) throws -> Never {
        let program = try locate(name)
        let environment = ProcessInfo.processInfo.environment.mapValues { Array($0.utf8) }
        Exec.replaceProcess(program: program, arguments: [program] + arguments, environment: environment)
    }
}
