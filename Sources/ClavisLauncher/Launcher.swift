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
import ClavisKeyring
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The entry point. Synchronous: `--version` and the decision to exec end before Swift's
/// concurrency runtime starts a thread; only a read runs async.
///
/// Start-up is measured (docs/performance.md): the arguments are read in place and compared as C
/// strings, and nothing on the `--version` path instantiates generic metadata, which the Swift
/// runtime builds by demangling a type name at first use (a sixth of this executable's CPU time
/// before this was so).
@main
enum Launcher {
    static func main() {
        ProcessProtection.ensureStandardDescriptors()
        Delegate.recordSignalState()
        let given = Arguments.current
        switch FastPath.request(in: given) {
        case .delegate:
            Delegate.becomeFullTool(given)
        case .version:
            FastPath.printVersion()
            exit(0)
        case .read(let reference, let source):
            if var keyring = source as? KeyringSource {
                // On this thread first: a task, the keyring thread and a timer thread cost a
                // keyring read ~1.5 ms (docs/performance.md).
                KeyringSource.prepare(for: reference)
                if FastPath.answerDirectly(reference, from: keyring) { exit(0) }
                // Declined (a locked collection, a missing item, ?collection=): libsecret says which.
                keyring.readsDirectly = false
                read(reference, from: keyring, else: given)
            }
            read(reference, from: source, else: given)
        }
    }

    /// Answers a read, or becomes `clavis-cli` when the source declines it. Kept out of `main` so
    /// that `--version` never sets up what a task needs.
    @inline(never)
    static func read(_ reference: SecretReference, from source: any SecretSource, else given: Arguments) -> Never {
        // The sources are async. The main thread waits; nothing else runs meanwhile.
        nonisolated(unsafe) var answered = false
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            answered = await FastPath.answer(reference, from: source)
            done.signal()
        }
        done.wait()
        if answered { exit(0) }
        Delegate.becomeFullTool(given)
    }
}

/// This process's arguments as the C runtime received them (`CommandLine.unsafeArgv`), read in
/// place: nothing is copied or repaired, so an argument that is not UTF-8 (a Latin-1 file name)
/// reaches `clavis-cli` byte for byte.
struct Arguments {
    /// The argument vector, argv[0] first, ending in a null pointer.
    let vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    /// How many arguments follow argv[0] (-1 when even argv[0] is missing).
    let count: Int

    /// This process's arguments.
    static var current: Arguments {
        Arguments(vector: CommandLine.unsafeArgv, count: Int(CommandLine.argc) - 1)
    }

    /// Whether argument `index` (0 is the first after argv[0]) is `text`, byte for byte.
    func argument(_ index: Int, is text: StaticString) -> Bool {
        guard index < count, let argument = vector[index + 1] else { return false }
        return text.withUTF8Buffer { expected in
            guard strlen(argument) == expected.count else { return false }
            guard let start = expected.baseAddress else { return true }   // both empty
            return memcmp(argument, start, expected.count) == 0
        }
    }

    /// Argument `index` as text (a byte that is not UTF-8 becomes U+FFFD).
    func string(_ index: Int) -> String? {
        guard index < count, let argument = vector[index + 1] else { return nil }
        return String(cString: argument)
    }
}
