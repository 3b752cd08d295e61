import ClavisCore
import ClavisKeyring
import ClavisLocal
#if canImport(Glibc)
import Glibc
#endif

/// The two argument lists `clavis` answers without `clavis-cli`, and how it answers them.
enum FastPath {
    /// A variable that changes what `clavis-cli` would print for these commands: the log level (it
    /// logs each read at debug). With it set, `clavis-cli` answers. (CA files are not checked for a
    /// local read by either executable.)
    static let deferringVariable = "CLAVIS_LOG_LEVEL"

    /// What `clavis` does with its arguments.
    enum Request {
        /// Become `clavis-cli`: anything but the two argument lists below.
        case delegate
        /// `--version`.
        case version
        /// `secret get REF`, REF a local reference, and the source that reads it.
        case read(SecretReference, any SecretSource)
    }

    /// What `arguments` ask for (decided before any `await`, on the main thread, so everything
    /// else is exec'd at once).
    static func request(in arguments: Arguments) -> Request {
        guard getenv(deferringVariable) == nil else { return .delegate }
        if arguments.count == 1, arguments.argument(0, is: "--version") { return .version }
        guard arguments.count == 3, arguments.argument(0, is: "secret"), arguments.argument(1, is: "get"),
              let text = arguments.string(2), let reference = try? SecretReference(parsing: text),
              let source = localSource(for: reference.scheme)
        else { return .delegate }
        return .read(reference, source)
    }

    /// The source for `scheme` when it is read here, built as `SecretResolver.standard(interactive:
    /// false)` builds it (no prompts: `--unlock` is not one of the two argument lists); `nil` for
    /// the rest. Local sources only: `age:` needs Foundation and swift-crypto (and an unlock costs
    /// far more than a process start); `keyvault:` needs the HTTP client.
    static func localSource(for scheme: String) -> (any SecretSource)? {
        switch scheme {
        case "env": EnvironmentSource()
        case "credential": CredentialSource()
        case "dir": DirectorySource()
        case "keyring": KeyringSource(interactive: false)
        default: nil
        }
    }

    /// Reads `reference` from `source` (a ``Request/read(_:_:)``) and prints its value on stdout, returning `true`; or returns
    /// `false` having printed nothing, for `clavis-cli` to answer. A source's failure is reported
    /// here as `clavis-cli` reports a `ClavisError` — `error: DESCRIPTION` on stderr, status 1 —
    /// rather than read twice (a keyring that times out would cost its timeout twice); a test
    /// holds the two executables to the same bytes.
    static func answer(_ reference: SecretReference, from source: any SecretSource) async -> Bool {
        // As `clavis-cli` does before any secret is read: no core dumps, no same-user debugger.
        ProcessProtection.makeNonDumpable()
        let secret: Secret
        do {
            secret = try await source.secret(for: reference)
        } catch let error as ClavisError {
            fail(error)
        } catch {
            return false
        }
        // Written from the secret's own storage: no copy is left behind.
        return secret.withRevealedBytes { writeLine($0) }
    }

    /// Answers a keyring read on this thread, before any task exists, with the Secret Service's
    /// own messages (``KeyringSource/directSecret(for:)``): `true` having printed the value, or
    /// `false` having printed nothing, when ``answer(_:from:)`` must answer (a locked collection,
    /// a missing item, `?collection=`). A failure is reported as ``answer(_:from:)`` reports it.
    static func answerDirectly(_ reference: SecretReference, from keyring: KeyringSource) -> Bool {
        ProcessProtection.makeNonDumpable()
        let found: Secret?
        do {
            found = try keyring.directSecret(for: reference)
        } catch let error as ClavisError {
            fail(error)
        } catch {
            return false
        }
        guard let secret = found else { return false }
        return secret.withRevealedBytes { writeLine($0) }
    }

    /// Reports a source's failure as `clavis-cli` reports a `ClavisError`: `error: DESCRIPTION`, status 1.
    private static func fail(_ error: ClavisError) -> Never {
        let line = Array("error: \(error)\n".utf8)
        _ = line.withUnsafeBytes { ClavisExecutables.writeAll($0, to: 2) }
        exit(1)
    }

    /// Prints the version, as `clavis-cli --version` does (swift-argument-parser ignores a failed
    /// write there, and so does this).
    static func printVersion() {
        var line = ClavisVersion.string + "\n"
        _ = line.withUTF8 { ClavisExecutables.writeAll(UnsafeRawBufferPointer($0), to: 1) }
    }

    /// Writes the value and a line feed to stdout. A failed write (stdout closed, a broken pipe,
    /// a full disk) is reported in `clavis-cli`'s words (`Terminal.printSecret`), status 1.
    private static func writeLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var failure = ClavisExecutables.writeAll(bytes, to: 1)
        if failure == nil { failure = withUnsafeBytes(of: UInt8(0x0A)) { ClavisExecutables.writeAll($0, to: 1) } }
        if let failure {
            let line = Array("error: could not write the value to stdout: \(String(cString: strerror(failure)))\n".utf8)
            _ = line.withUnsafeBytes { ClavisExecutables.writeAll($0, to: 2) }
            exit(1)
        }
        return true
    }
}
