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

    /// The signal mask and SIGPIPE's disposition this process started with, handed on unchanged
    /// at exec: Swift's threads block signals on themselves, and GIO (loaded for a keyring read)
    /// ignores SIGPIPE process-wide; the caller's choices (e.g. `nohup`'s) are kept as they were.
    nonisolated(unsafe) static var startMask = sigset_t()
    nonisolated(unsafe) static var startPipe = sigaction()

    /// Records the signal state; called first, on the main thread, before any other thread exists.
    static func recordSignalState() {
        pthread_sigmask(SIG_SETMASK, nil, &startMask)
        sigaction(SIGPIPE, nil, &startPipe)
    }

    /// Execs `clavis-cli` with this process's arguments, byte for byte; on
    /// failure, one `error:` line and exit 69 (not found) or 126 (found but not runnable).
    static func becomeFullTool(_ arguments: Arguments) -> Never {
        guard let program = locate() else {
            fail("\(fullTool) was not found next to clavis (\(ownDirectory() ?? "?")), in ../libexec/clavis or on PATH; build it with `swift build --product \(fullTool)`, or install the clavis package, which ships it", status: 69)
        }
        // argv[0] as the caller gave it: `ps` shows the command that was typed.
        var argv: [UnsafeMutablePointer<CChar>?] = ([arguments.zeroth] + arguments.raw).map { bytes in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (index, byte) in bytes.enumerated() { copy[index] = CChar(bitPattern: byte) }
            copy[bytes.count] = 0
            return copy
        } + [nil]
        sigaction(SIGPIPE, &startPipe, nil)
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
        // Absolute entries only: a relative one (`.`, `bin`) would run whatever the current
        // directory holds.
        guard let path = getenv("PATH") else { return nil }
        for entry in String(cString: path).split(separator: ":") where entry.hasPrefix("/") {
            let candidate = "\(entry)/\(fullTool)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The directory of this executable (`/proc/self/exe`), or `nil` when it cannot be told
    /// exactly (no /proc, a path longer than PATH_MAX, or one that is not UTF-8).
    static func ownDirectory() -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = buffer.withUnsafeMutableBufferPointer { raw in
            raw.baseAddress.map { readlink("/proc/self/exe", UnsafeMutableRawPointer($0).assumingMemoryBound(to: CChar.self), raw.count) } ?? -1
        }
        guard length > 0, length < buffer.count, let path = String(validating: buffer[..<length], as: UTF8.self),
              let slash = path.lastIndex(of: "/")
        else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func fail(_ message: String, status: Int32) -> Never {
        let line = Array("error: \(message)\n".utf8)
        _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        exit(status)
    }
}
