import ClavisCore
import ClavisKeyring
import ClavisLocal
#if canImport(Glibc)
import Glibc
#endif

/// The two argument lists `clavis` answers without `clavis-cli`, and how it answers them.
enum FastPath {
    /// The schemes read here: local sources only. `age:` needs Foundation and swift-crypto (and
    /// an unlock costs far more than a process start); `keyvault:` needs the HTTP client.
    static let schemes: Set<String> = ["env", "credential", "dir", "keyring"]

    /// Variables that change what `clavis-cli` would print for these commands: the log level (it
    /// logs each read at debug). With one set, `clavis-cli` answers. (CA files are not checked for
    /// a local read by either executable.)
    static let deferringVariables = ["CLAVIS_LOG_LEVEL"]

    /// One of the two argument lists answered here.
    enum Request: Equatable {
        /// `--version`.
        case version
        /// `secret get REF`, REF a local reference.
        case read(SecretReference)
    }

    /// The request `arguments` make when they are one of the two argument lists answered here,
    /// else `nil` (decided before any `await`, on the main thread, so everything else is exec'd
    /// at once).
    static func request(in arguments: [String]) -> Request? {
        guard !deferringVariables.contains(where: { getenv($0) != nil }) else { return nil }
        if arguments == ["--version"] { return .version }
        guard arguments.count == 3, arguments[0] == "secret", arguments[1] == "get",
              let reference = try? SecretReference(parsing: arguments[2]), schemes.contains(reference.scheme)
        else { return nil }
        return .read(reference)
    }

    /// Reads `reference` (a ``Request/read(_:)``) and prints its value on stdout, returning `true`; or returns
    /// `false` having printed nothing, for `clavis-cli` to answer. A source's failure is reported
    /// here as `clavis-cli` reports a `ClavisError` — `error: DESCRIPTION` on stderr, status 1 —
    /// rather than read twice (a keyring that times out would cost its timeout twice); a test
    /// holds the two executables to the same bytes.
    static func answer(_ reference: SecretReference) async -> Bool {
        // As `clavis-cli` does before any secret is read: no core dumps, no same-user debugger.
        ProcessProtection.makeNonDumpable()
        // The sources `SecretResolver.standard(interactive: false)` holds for these schemes, built
        // the same way (no prompts: `--unlock` is not one of the two argument lists).
        let resolver = SecretResolver([EnvironmentSource(), CredentialSource(), DirectorySource(), KeyringSource(interactive: false)])
        let secret: Secret
        do {
            secret = try await resolver.secret(for: reference)
        } catch let error as ClavisError {
            let line = Array("error: \(error)\n".utf8)
            _ = line.withUnsafeBytes { ClavisExecutables.writeAll($0, to: 2) }
            exit(1)
        } catch {
            return false
        }
        // Written from the secret's own storage: no copy is left behind.
        return secret.withRevealedBytes { writeLine($0) }
    }

    /// Prints the version, as `clavis-cli --version` does (swift-argument-parser ignores a failed
    /// write there, and so does this).
    static func printVersion() {
        let line = Array(ClavisVersion.string.utf8) + [0x0A]
        _ = line.withUnsafeBytes { ClavisExecutables.writeAll($0, to: 1) }
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
