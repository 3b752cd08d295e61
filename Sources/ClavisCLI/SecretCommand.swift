import ArgumentParser
import Clavis

/// `clavis secret get|set|list|delete|copy|info|recover|purge`.
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Read, store, list and delete secrets by reference.",
        subcommands: [Get.self, Set.self, List.self, Delete.self, Copy.self, Info.self, Recover.self, Purge.self, Enable.self, Disable.self]
    )

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "Print a secret's value on stdout.",
            discussion: "Example: CLAVIS_T=xyz clavis secret get env:CLAVIS_T")

        @Argument(help: "The secret reference, e.g. env:NAME, credential:NAME, dir:/path#NAME.")
        var reference: String

        @Flag(help: "Print {\"reference\": ..., \"value\": ...} as JSON.")
        var json = false

        @OptionGroup var options: SourceOptions

        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws {
            let reference = try SecretReference(parsing: reference)
            let secret = try await CLIContext.resolver(options, vault: credentials, reading: reference).secret(for: reference)
            if json {
                guard let value = secret.revealedString() else {
                    throw CLIFailure(message: "\(reference) is not UTF-8 text, so it cannot be printed as JSON; omit --json")
                }
                try Terminal.printJSON(["reference": reference.description, "value": value])
            } else {
                try Terminal.printSecret(secret)
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Store a secret read from stdin, or typed at a prompt without echo.",
            discussion: """
                The value is never taken as an argument. From a script: printf %s "$VALUE" | clavis secret set REF
                One trailing newline is stripped.
                """)

        @Argument(help: "Where to store it, e.g. keyring:SERVICE/USER or age:/path/store.age#NAME.")
        var reference: String

        @Option(help: "Key Vault: the content type, e.g. text/plain.") var contentType: String?
        @Option(help: "Key Vault: a tag NAME=VALUE (repeatable, at most 15).") var tag: [String] = []
        @Option(help: "Key Vault: when it expires (2027-01-31, 2027-01-31T12:00:00Z or @UNIX; informational, reads still work).") var expires: String?
        @Option(help: "Key Vault: not valid before (same formats; informational).") var notBefore: String?

        @OptionGroup var options: SourceOptions

        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws {
            let reference = try SecretReference(parsing: reference)
            let resolver = try CLIContext.resolver(options, vault: credentials)
            _ = try resolver.writableSource(for: reference)
            let attributes = contentType != nil || !tag.isEmpty || expires != nil || notBefore != nil
            if attributes { _ = try SecretCommand.vault(reference, resolver, requireName: true, what: "--content-type, --tag, --expires and --not-before") }
            let secret = try Terminal.readSecret(prompt: "Value for \(reference): ")
            guard !secret.isEmpty else { throw CLIFailure(message: "the value is empty; nothing was stored") }
            if attributes {
                try await SecretCommand.setInVault(secret, reference, resolver: resolver, contentType: contentType, tags: tag, expires: expires, notBefore: notBefore)
            } else {
                try await resolver.store(secret, for: reference)
            }
            Terminal.note("stored \(reference)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the names (never values) of the secrets in a source.",
            discussion: "Examples: clavis secret list dir:/run/secrets, clavis secret list keyring:defender-daemon")

        @Argument(help: "The container, e.g. env:, dir:/run/secrets, keyring:SERVICE, age:/path/store.age.")
        var source: String

        @Flag(help: "Print a JSON array of names.")
        var json = false

        @Flag(help: "Key Vault: list the soft-deleted secrets (with when each is purged).")
        var deleted = false

        @OptionGroup var options: SourceOptions

        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws {
            let reference = try SecretReference(parsing: source)
            if deleted { return try await SecretCommand.listDeleted(reference, options: options, credentials: credentials, json: json) }
            let names = try await CLIContext.resolver(options, vault: credentials).listNames(in: reference)
            if json {
                try Terminal.printJSON(names)
            } else {
                names.forEach(Terminal.printLine)
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a secret from a writable source.")

        @Argument(help: "The secret reference.")
        var reference: String

        @OptionGroup var options: SourceOptions

        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws {
            let reference = try SecretReference(parsing: reference)
            try await CLIContext.resolver(options, vault: credentials).delete(reference)
            Terminal.note("deleted \(reference)")
        }
    }
}

extension SecretCommand {
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copy",
            abstract: "Copy a secret, or every secret of a source, to another backend without printing values.",
            discussion: """
                clavis secret copy keyring:defender-daemon/app-secret age:/etc/clavis/store.age#app-secret
                clavis secret copy --all keyring:defender-daemon age:/etc/clavis/store.age
                Existing destinations are kept unless --overwrite. The source is never modified.
                """)

        @Flag(help: "Copy every secret of the SOURCE container into the DESTINATION container, by name.")
        var all = false
        @Flag(help: "Replace destinations that exist.")
        var overwrite = false
        @Flag(help: "Only say what would be copied.")
        var dryRun = false
        @Flag(help: "Print the report as JSON on stdout.")
        var json = false
        @Argument(help: "The source reference (a container with --all).") var source: String
        @Argument(help: "The destination reference (a container with --all).") var destination: String
        @OptionGroup var options: SourceOptions
        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws {
            let resolver = try CLIContext.resolver(options, vault: credentials)
            let from = try SecretReference(parsing: source), to = try SecretReference(parsing: destination)
            let report = all
                ? try await resolver.copyAll(from: from, to: to, overwrite: overwrite, dryRun: dryRun)
                : await resolver.copy(from: from, to: to, overwrite: overwrite, dryRun: dryRun)
            for name in report.copied { Terminal.note("\(dryRun ? "would copy" : "copied") → \(name)") }
            for name in report.skipped { Terminal.note("skipped \(name): it exists (use --overwrite to replace it)") }
            for failure in report.failed { Terminal.printError("\(failure.source): \(failure.reason)") }
            if json { try Terminal.printJSON(report) }
            Terminal.note(report.summary)
            if !report.failed.isEmpty {
                if !report.copied.isEmpty, !dryRun { Terminal.note("already copied: \(report.copied.joined(separator: ", ")); the source is unchanged") }
                throw ExitCode(1)
            }
        }
    }
}

/// What every command shares: the resolver (and, first, the extra CAs HTTPS connections trust).
enum CLIContext {
    /// `vault` says how `keyvault:` references authenticate (the command's credential options;
    /// default: the environment, then managed identity). `reading`: the one reference the command
    /// reads, when it reads only one — a local one (anything but `keyvault:`) makes no HTTPS
    /// connection, so the CA files the environment names are not checked for it (a stale
    /// `SSL_CERT_FILE` does not break `secret get env:X`); `--ca-file` files always are.
    static func resolver(_ options: SourceOptions, vault: CredentialOptions? = nil, reading: SecretReference? = nil) throws -> SecretResolver {
        try options.tls.apply(checkingEnvironment: reading.map { $0.scheme == "keyvault" } ?? true)
        if let vault, vault.isGiven { _ = try vault.credential(resolver: SecretResolver([])) }  // a usage error now, not at the first keyvault: read
        return .standard(interactive: options.unlock, ageUnlock: options.ageUnlock, credential: try vault?.selection() ?? CredentialSelection())
    }
}

/// Options every command that touches a source shares.
struct SourceOptions: ParsableArguments {
    @Flag(help: "Allow interactive prompts: unlock a locked keyring collection, ask for an age store's passphrase.")
    var unlock = false

    @Option(name: .customLong("identity"), help: "An age identity file for age: stores (repeatable; also CLAVIS_AGE_IDENTITY_FILE).")
    var identities: [String] = []

    @Option(help: "A file whose first line is the passphrase of an age: passphrase store (also CLAVIS_PASSPHRASE_FILE).")
    var passphraseFile: String?

    @Option(help: "Refuse age scrypt work factors above 2^N when opening a store.")
    var maxWorkFactor = 22

    @OptionGroup var tls: TLSOptions

    /// How age: stores are unlocked, from these options and the environment.
    var ageUnlock: AgeUnlock {
        let file = passphraseFile
        let prompt = unlock
        var provider: (@Sendable () throws -> Secret)?
        if let file {
            provider = { try AgeUnlock.passphrase(fromFile: file) }
        } else if prompt {
            provider = { try Terminal.promptWithoutEcho("Store passphrase: ") }
        }
        return AgeUnlock(identityFiles: identities, passphrase: provider, maximumWorkFactor: maxWorkFactor)
    }
}

/// `--ca-file`: CAs every HTTPS connection of the command trusts besides the system roots.
struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("ca-file"),
            help: "A PEM CA certificate to trust besides the system roots, e.g. the emulator's (repeatable; also CLAVIS_CA_FILE, and SSL_CERT_FILE as OpenSSL tools read it).")
    var caFiles: [String] = []

    /// Adds the files to the trust of every HTTP client made from now on, after checking them and
    /// (when `checkingEnvironment`) the files the environment names.
    func apply(checkingEnvironment: Bool = true) throws {
        if checkingEnvironment { try TrustedCAs.validateEnvironment() }
        try TrustedCAs.add(files: caFiles)
    }
}
