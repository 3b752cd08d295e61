import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// Becoming `clavis-cli`, the whole command-line tool: found by `ClavisExecutables.locate` (next
/// to this executable, in `../libexec/clavis/`, then on `PATH`) and exec'd with the same arguments and environment, so
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

    /// Execs `clavis-cli` with this process's argument vector as it is — argv[0] as the caller gave
    /// it, so `ps` shows the command that was typed; on failure, one `error:` line and exit 69 (not
    /// found) or 126 (found but not runnable).
    static func becomeFullTool(_ arguments: Arguments) -> Never {
        guard let program = ClavisExecutables.locate(fullTool) else { fail(ClavisExecutables.notFound(fullTool), status: 69) }
        sigaction(SIGPIPE, &startPipe, nil)
        pthread_sigmask(SIG_SETMASK, &startMask, nil)
        if arguments.count >= 0 {
            execv(program, arguments.vector)
        } else {
            // Started with no argv[0] at all: `clavis-cli` gets one.
            var name = Array("clavis".utf8CString)
            name.withUnsafeMutableBufferPointer { bytes in
                var vector: [UnsafeMutablePointer<CChar>?] = [bytes.baseAddress, nil]
                _ = execv(program, &vector)
            }
        }
        let reason = String(cString: strerror(errno))
        fail("cannot run \(program): \(reason)", status: 126)
    }

    private static func fail(_ message: String, status: Int32) -> Never {
        let line = Array("error: \(message)\n".utf8)
        _ = line.withUnsafeBytes { ClavisExecutables.writeAll($0, to: 2) }
        exit(status)
    }
}
