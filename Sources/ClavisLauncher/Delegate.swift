import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// Becoming `clavis-cli`, the whole command-line tool: found next to this executable, in
/// `../libexec/clavis/`, then on `PATH`, and exec'd with the same arguments and environment, so
/// the caller sees one process whatever answers.
enum Delegate {
    /// The name of the whole command-line tool.
    static let fullTool = "clavis-cli"

    /// The signal mask this process started with, handed on unchanged at exec (Swift's threads
    /// block signals on themselves; the caller's choices — e.g. `nohup`'s — are kept as they were).
    nonisolated(unsafe) static var startMask = sigset_t()

    /// Records the signal mask; called first, on the main thread.
    static func recordSignalMask() {
        pthread_sigmask(SIG_SETMASK, nil, &startMask)
    }

    /// Execs `clavis-cli` (as argv[0]) with this process's other arguments, byte for byte; on
    /// failure, one `error:` line and exit 69 (not found) or 126 (found but not runnable).
    static func becomeFullTool(_ arguments: Arguments) -> Never {
        guard let program = locate() else {
            fail("\(fullTool) was not found next to clavis (\(ownDirectory() ?? "?")), in ../libexec/clavis or on PATH; build it with `swift build --product \(fullTool)`, or install the clavis package, which ships it", status: 69)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup(program)] + arguments.raw.map { bytes in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (index, byte) in bytes.enumerated() { copy[index] = CChar(bitPattern: byte) }
            copy[bytes.count] = 0
            return copy
        } + [nil]
        pthread_sigmask(SIG_SETMASK, &startMask, nil)
        execv(program, &argv)
        let reason = String(cString: strerror(errno))
        fail("cannot run \(program): \(reason)", status: 126)
    }

    /// `clavis-cli` beside this executable (a build directory, `/usr/local/bin` of the clone
    /// route), else in `../libexec/clavis/` from it (where the package installs it, as git keeps
    /// `git-*` in its exec path), else the first on `PATH`.
    static func locate() -> String? {
        if let directory = ownDirectory() {
            for candidate in [directory + "/" + fullTool, directory + "/../libexec/clavis/" + fullTool] where access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        guard let path = getenv("PATH") else { return nil }
        for entry in String(cString: path).split(separator: ":") where !entry.isEmpty {
            let candidate = "\(entry)/\(fullTool)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The directory of this executable (`/proc/self/exe`).
    static func ownDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let path = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func fail(_ message: String, status: Int32) -> Never {
        let line = Array("error: \(message)\n".utf8)
        _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        exit(status)
    }
}
