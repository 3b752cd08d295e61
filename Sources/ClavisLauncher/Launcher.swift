// `clavis`: the command users and scripts type. It answers the calls that shell scripts,
// `ExecStartPre=` lines and git hooks make in a loop — `clavis --version` and
// `clavis secret get REF` for a local reference (env:, credential:, dir:, keyring:) — itself, and
// becomes `clavis-cli` (the whole command-line tool, swift-argument-parser and all) for everything
// else. It links only ClavisCore, ClavisLocal and ClavisKeyring: no Foundation, no HTTP client, no
// argument parser, so it starts as fast as a C tool (docs/performance.md).
//
// One way of doing each thing: `clavis-cli` owns the grammar, the help, every error message and
// `--json`. This target recognises two exact argument lists and nothing else, with none of the
// variables that change `clavis-cli`'s output set; whatever it does not recognise goes to
// `clavis-cli` unchanged. A source's failure is printed as `clavis-cli` prints it (one `error:`
// line, status 1), and ClavisCLITests hold the two executables to the same bytes.
import ClavisCore
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The entry point. Synchronous: `--version` and the decision to exec end before Swift's
/// concurrency runtime starts a thread; only a read runs async.
@main
enum Launcher {
    static func main() {
        ProcessProtection.ensureStandardDescriptors()
        Delegate.recordSignalState()
        let given = Arguments.current
        switch FastPath.request(in: given.strings) {
        case nil:
            Delegate.becomeFullTool(given)
        case .version:
            FastPath.printVersion()
            exit(0)
        case .read(let reference):
            // A read: its sources are async. The main thread waits; nothing else runs meanwhile.
            nonisolated(unsafe) var answered = false
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                answered = await FastPath.answer(reference)
                done.signal()
            }
            done.wait()
            if answered { exit(0) }
            Delegate.becomeFullTool(given)
        }
    }
}

/// This process's arguments as the C runtime received them (`CommandLine.unsafeArgv`, not the
/// `CommandLine.arguments` array of repaired `String`s), kept as bytes: an argument that is not
/// UTF-8 (a Latin-1 file name) reaches `clavis-cli` unchanged.
struct Arguments {
    /// argv without argv[0], byte for byte.
    let raw: [[UInt8]]
    /// argv[0] as given (handed on to `clavis-cli`, so `ps` shows the command the caller typed).
    let zeroth: [UInt8]
    /// The same, as text (for recognising the two argument lists only).
    var strings: [String] { raw.map { String(decoding: $0, as: UTF8.self) } }

    /// This process's arguments.
    static var current: Arguments {
        var all: [[UInt8]] = []
        for index in 0..<max(0, Int(CommandLine.argc)) {
            guard let argument = CommandLine.unsafeArgv[index] else { break }
            all.append(Array(UnsafeRawBufferPointer(start: argument, count: strlen(argument))))
        }
        return Arguments(raw: Array(all.dropFirst()), zeroth: all.first ?? Array("clavis".utf8))
    }
}
