import ArgumentParser
import Clavis
import ClavisIdentity
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `clavis run -- CMD`: resolve references into environment variables, then become CMD.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program with secrets in its environment, resolved from references.",
        discussion: """
            Every reference is resolved first, concurrently; if any fails, one error line per failure
            is printed and nothing starts. Then clavis replaces itself with the program (execvp): its
            exit status, signals and stdio are the program's own. Values go only into its environment.
            Inherited variables whose value is clavis:REF are resolved too.
            Example: clavis run --env AZURE_CLIENT_SECRET=keyring:defender-daemon/app-secret -- python3 poll.py
            """)

    @Option(name: .customLong("env"), help: "NAME=REFERENCE (repeatable).")
    var bindings: [String] = []
    @Option(help: "A file of NAME=REFERENCE lines (dotenv syntax; repeatable).")
    var envFile: [String] = []
    @Flag(help: "Start the program with only the named variables plus PATH, HOME and LANG.")
    var noInherit = false
    @OptionGroup var options: SourceOptions
    @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions
    @Argument(parsing: .captureForPassthrough, help: "-- CMD [ARGS...]")
    var command: [String] = []

    func run() async throws {
        var argv = command
        // The program's arguments are captured as given, so `--help`/`-h` before any program is ours.
        if argv.first == "--help" || argv.first == "-h" { throw CleanExit.helpRequest(self) }
        if argv.first == "--" { argv.removeFirst() }
        guard let program = argv.first else { throw CLIFailure(message: "nothing to run: clavis run [--env NAME=REF]… -- CMD [ARGS…]", exitCode: 64) }

        var inherited = ProcessInfo.processInfo.environment
        if noInherit { inherited = inherited.filter { ["PATH", "HOME", "LANG"].contains($0.key) } }
        var planned = try SecretEnvironment.inheritedBindings(inherited)
        for path in envFile {
            guard let text = try Terminal.readSecretFile(path).revealedString() else { throw CLIFailure(message: "\(path) is not UTF-8 text") }
            planned += try SecretEnvironment.parseEnvFile(text, path: path)
        }
        planned += try bindings.map { try SecretEnvironment.parseBinding($0) }
        // A later binding of the same name wins.
        var byName: [String: SecretEnvironment.Binding] = [:]
        for binding in planned { byName[binding.name] = binding }

        switch await SecretEnvironment.resolve(Array(byName.values), with: try CLIContext.resolver(options, vault: credentials)) {
        case .failure(let failures):
            failures.lines.forEach { Terminal.printError($0) }
            throw ExitCode(1)
        case .success(let values):
            // Values go into the environment byte for byte (only NUL is refused, by the resolver):
            // a secret that is not UTF-8 reaches the program unaltered.
            var environment = inherited.mapValues { Array($0.utf8) }
            for (name, secret) in values { environment[name] = secret.revealedBytes() }
            // --broker (from the credential options): the program gets this broker identity's two variables.
            if let broker = credentials.broker {
                // App Service's two variables (azure-identity app_service.py, MSAL managed_identity.py); with
                // IDENTITY_SERVER_THUMBPRINT or MSI_* set, SDKs would pick another source first.
                let settings = try BrokerPaths.clientSettings(for: broker)
                guard let endpoint = settings.endpoint else { throw CLIFailure(message: "\(settings.directory) names no broker endpoint; is clavis-broker running?") }
                for name in ["IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT"] { environment[name] = nil }
                environment["IDENTITY_ENDPOINT"] = Array(endpoint.utf8)
                environment["IDENTITY_HEADER"] = settings.header.revealedBytes()
            }
            Exec.replaceProcess(program: program, arguments: argv, environment: environment)
        }
    }
}

/// execvp with an explicit environment.
enum Exec {
    /// Becomes `program`: an empty signal mask and default signal dispositions first (a thread of
    /// the Swift runtime has most signals blocked, and a program exec'd from it would inherit that
    /// and ignore SIGTERM), then `execve` along `PATH` with `environment` as raw bytes.
    static func replaceProcess(program: String, arguments: [String], environment: [String: [UInt8]]) -> Never {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = environment.map { name, value in
            let entry = Array(name.utf8) + [UInt8(ascii: "=")] + value + [0]
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: entry.count)
            _ = UnsafeMutableBufferPointer(start: pointer, count: entry.count).initialize(from: entry.map { CChar(bitPattern: $0) })
            return pointer
        } + [nil]
        // Search PATH (from the child's environment) as execvp would, then execve.
        var candidates = [program]
        if !program.contains("/") {
            let path = environment["PATH"].map { String(decoding: $0, as: UTF8.self) } ?? "/usr/local/bin:/usr/bin:/bin"
            candidates = path.split(separator: ":", omittingEmptySubsequences: false).map { ($0.isEmpty ? "." : String($0)) + "/" + program }
        }
        resetSignals()
        var lastError = ENOENT
        for candidate in candidates {
            _ = argv.withUnsafeMutableBufferPointer { argvBuffer in
                envp.withUnsafeMutableBufferPointer { envBuffer -> Int32 in
                    guard let argvBase = argvBuffer.baseAddress, let envBase = envBuffer.baseAddress else { return -1 }
                    return execve(candidate, argvBase, envBase)
                }
            }
            if errno != ENOENT && errno != ENOTDIR { lastError = errno }
        }
        errno = lastError
        let reason = String(cString: strerror(errno))
        let code: Int32 = errno == ENOENT ? 127 : 126
        for pointer in envp { if let pointer { explicit_bzero(pointer, strlen(pointer)); pointer.deallocate() } }
        for pointer in argv { free(pointer) }
        Terminal.printError("cannot run \(program): \(reason)")
        exit(code)
    }

    /// Unblocks every signal on this thread and restores the default disposition of each one
    /// (execve keeps ignored signals ignored, and the mask as it is).
    static func resetSignals() {
        for signal in 1..<Int32(65) where signal != SIGKILL && signal != SIGSTOP {
            _ = Glibc.signal(signal, SIG_DFL)
        }
        var empty = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, nil)
    }
}
