import ArgumentParser
import Clavis
#if canImport(Glibc)
import Glibc
#endif

/// `clavis age encrypt|decrypt`: age-compatible file encryption.
struct AgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "age",
        abstract: "Encrypt and decrypt files in the age v1 format (interoperable with the age tool).",
        subcommands: [Encrypt.self, Decrypt.self])

    struct Encrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "encrypt", abstract: "Encrypt INPUT (or stdin) to recipients or a passphrase.")

        @Option(name: .customShort("r"), help: "An age1... recipient (repeatable).")
        var recipient: [String] = []
        @Option(name: .customShort("R"), help: "A file of recipients, one per line (repeatable).")
        var recipientsFile: [String] = []
        @Flag(name: .customShort("p"), help: "Encrypt with a passphrase (prompted twice without echo, or --passphrase-file).")
        var passphrase = false
        @Option(help: "Read the passphrase from this file (first line).")
        var passphraseFile: String?
        @Option(help: "log2 of scrypt's work factor for -p (age's default: 18).")
        var workFactor = 18
        @Flag(name: [.customShort("a"), .long], help: "Write ASCII armor.")
        var armor = false
        @Option(name: .customShort("o"), help: "Write to FILE (atomically) instead of stdout.")
        var output: String?
        @Argument(help: "The file to encrypt (default: stdin).")
        var input: String?

        func run() async throws {
            var recipients = try recipient.map { try AgeRecipient(parsing: $0) }
            for path in recipientsFile {
                recipients += try AgeIdentity.parseRecipientsFile(try AgeFiles.readText(path), path: path)
            }
            if passphrase || passphraseFile != nil {
                guard recipients.isEmpty else { throw CLIFailure(message: "-p cannot be combined with -r/-R: a passphrase must be a file's only recipient") }
                recipients = [.scrypt(ScryptRecipient(passphrase: try AgeFiles.passphrase(file: passphraseFile, confirm: true), workFactor: workFactor))]
            }
            guard !recipients.isEmpty else { throw CLIFailure(message: "no recipients: give -r age1…, -R FILE or -p", exitCode: 64) }
            try AgeFiles.withInput(input) { source in
                try AgeFiles.withOutput(output, mode: 0o644) { write in
                    try Age.encrypt(source, to: recipients, armor: armor) { bytes in try bytes.withUnsafeBytes { try write($0) } }
                }
            }
        }
    }

    struct Decrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "decrypt", abstract: "Decrypt INPUT (or stdin), binary or armored.")

        @Option(name: .customShort("i"), help: "An identity file (repeatable). Without -i, a passphrase is asked for.")
        var identity: [String] = []
        @Option(help: "Read the passphrase from this file (first line).")
        var passphraseFile: String?
        @Option(help: "Refuse scrypt work factors above 2^N (default 22), so a hostile file cannot burn minutes of CPU.")
        var maxWorkFactor = 22
        @Option(name: .customShort("o"), help: "Write to FILE (mode 0600, only once fully authenticated) instead of stdout.")
        var output: String?
        @Argument(help: "The file to decrypt (default: stdin).")
        var input: String?

        func run() async throws {
            var identities: [AgeIdentity] = []
            for path in identity {
                identities += try AgeIdentity.parseIdentityFile(try AgeFiles.readSecret(path), path: path)
            }
            if identities.isEmpty || passphraseFile != nil {
                identities.append(.scrypt(ScryptIdentity(passphrase: try AgeFiles.passphrase(file: passphraseFile, confirm: false),
                                                         maximumWorkFactor: maxWorkFactor)))
            }
            try AgeFiles.withInput(input) { source in
                try AgeFiles.withOutput(output, mode: 0o600) { write in
                    try Age.decrypt(source, identities: identities, output: write)
                }
            }
        }
    }
}

/// `clavis keygen`: a new identity, like `age-keygen` (`--pq` like `age-keygen -pq`).
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate an age identity (like age-keygen); prints the public key on stderr.",
        discussion: "clavis keygen -y FILE prints the recipient of each identity in FILE.")

    @Option(name: .customShort("o"), help: "Write the identity to FILE (mode 0600; refuses to overwrite).")
    var output: String?
    @Flag(help: "Generate a post-quantum hybrid identity (ML-KEM-768 + X25519, age1pq1...; readable by age >= 1.3).")
    var pq = false
    @Option(name: .customShort("y"), help: "Print the recipients of the identities in FILE instead.")
    var convert: String?

    func run() async throws {
        if let convert {
            let identities = try AgeIdentity.parseIdentityFile(try AgeFiles.readSecret(convert), path: convert)
            identities.compactMap(\.recipientString).forEach(Terminal.printLine)
            return
        }
        let encoded: Secret
        let recipient: String
        if pq {
            let identity = try HybridIdentity.generate()
            (encoded, recipient) = (identity.encoded(), identity.recipient.description)
        } else {
            let identity = try X25519Identity.generate()
            (encoded, recipient) = (identity.encoded(), identity.recipient.description)
        }
        let text = "# created: \(AgeFiles.timestamp())\n# public key: \(recipient)\n"
        if let output {
            guard access(output, F_OK) != 0 else { throw CLIFailure(message: "\(output) exists; not overwriting an identity") }
            let file = try AtomicFile(path: output, mode: 0o600)
            try file.write(Array(text.utf8))
            try encoded.withRevealedBytes { try file.write($0) }
            try file.write([0x0A])
            // Created only if nothing stands at OUTPUT at that instant: never over a key made meanwhile.
            try file.commit(replacing: false)
        } else {
            Terminal.writeAll(1, Array(text.utf8))
            try Terminal.printSecret(encoded)
        }
        Terminal.note("Public key: \(recipient)")
    }
}

/// File plumbing shared by the age commands and the store commands.
enum AgeFiles {
    static func withInput<R>(_ path: String?, _ body: (BufferedInput) throws -> R) throws -> R {
        guard let path, path != "-" else { return try body(BufferedInput(fileDescriptor: 0)) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIFailure(message: "cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try body(BufferedInput(fileDescriptor: fd))
    }

    /// Streams to stdout, or to FILE through an AtomicFile so a failure leaves no partial file.
    static func withOutput(_ path: String?, mode: mode_t, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        guard let path, path != "-" else {
            try body { Terminal.writeAll(1, $0) }
            return
        }
        let file = try AtomicFile(path: path, mode: mode)
        try body { try file.write($0) }
        try file.commit()
    }

    static func readSecret(_ path: String) throws -> Secret {
        try Terminal.readSecretFile(path)
    }

    static func readText(_ path: String) throws -> String {
        guard let text = try readSecret(path).revealedString() else { throw CLIFailure(message: "\(path) is not UTF-8 text") }
        return text
    }

    /// A passphrase from a file (first line) or a no-echo prompt (twice when `confirm`).
    static func passphrase(file: String?, confirm: Bool) throws -> Secret {
        if let file { return try AgeUnlock.passphrase(fromFile: file) }
        guard open("/dev/tty", O_RDONLY | O_CLOEXEC).closingDescriptor() else {
            throw CLIFailure(message: "no identity and no terminal to ask for a passphrase: pass -i IDENTITY_FILE or --passphrase-file FILE")
        }
        let first = try Terminal.promptWithoutEcho("Passphrase: ")
        if confirm {
            let second = try Terminal.promptWithoutEcho("Confirm passphrase: ")
            guard first == second else { throw CLIFailure(message: "the passphrases do not match") }
        }
        return first
    }

    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Int32 {
    /// Closes the descriptor if it is valid; returns whether it was.
    fileprivate func closingDescriptor() -> Bool {
        guard self >= 0 else { return false }
        close(self)
        return true
    }
}
