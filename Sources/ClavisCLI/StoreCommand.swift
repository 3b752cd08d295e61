import ArgumentParser
import Clavis

/// `clavis store init|info|recipients|rekey`: managing age stores.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Create and manage age-encrypted secret stores (age:/path/store.age).",
        subcommands: [Init.self, Info.self, Recipients.self, Rekey.self])

    /// Parses `age:/abs/path` (or a bare absolute path) into a store path.
    static func storePath(_ text: String) throws -> String {
        let reference = try SecretReference(parsing: text.hasPrefix("/") ? "age:" + text : text)
        guard reference.scheme == "age", reference.locator.hasPrefix("/"), reference.item == nil else {
            throw CLIFailure(message: "expected a store as age:/absolute/path/store.age, got \(text)", exitCode: 64)
        }
        return reference.locator
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create an empty store encrypted to recipients or a passphrase.",
            discussion: "Example: clavis store init age:/etc/clavis/store.age --recipient $(clavis keygen -o /etc/clavis/key.txt 2>&1 >/dev/null | cut -d' ' -f3)")

        @Argument(help: "The store, age:/absolute/path/store.age.")
        var store: String
        @Option(name: .customLong("recipient"), help: "An age1... recipient (repeatable).")
        var recipients: [String] = []
        @Option(help: "A file of recipients, one per line.")
        var recipientsFile: String?
        @Flag(help: "Protect the store with a passphrase instead (prompted, or --passphrase-file).")
        var passphrase = false
        @Option(help: "Read the passphrase from this file's first line.")
        var passphraseFile: String?
        @Option(help: "log2 of scrypt's work factor for a passphrase store (default 18).")
        var workFactor = 18
        @Option(name: .customLong("identity"), help: "Your identity file: pins the recipient list to you now (see `store recipients confirm`).")
        var identities: [String] = []

        func run() async throws {
            let path = try StoreCommand.storePath(store)
            let recipients = try StoreCommand.recipients(recipients, file: recipientsFile, passphrase: passphrase,
                                                         passphraseFile: passphraseFile, workFactor: workFactor)
            try AgeStore.create(path: path, recipients: recipients,
                                pinning: identities.isEmpty ? nil : AgeUnlock(identityFiles: identities, useEnvironment: false))
            Terminal.note("created age:\(path) (mode 0600) for \(recipients.map(\.description).joined(separator: ", "))")
        }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a store's protection without decrypting it.")
        @Argument(help: "The store.") var store: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let path = try StoreCommand.storePath(store)
            let info = try AgeStore(path: path).info()
            let stale = AgeStore(path: path).staleTemporaries()
            let protection = info.isPassphraseProtected ? "passphrase (scrypt)" : "recipients (\(Set(info.stanzaTypes).sorted().joined(separator: ", ")))"
            if json {
                try Terminal.printJSON(["store": "age:\(path)", "protection": info.isPassphraseProtected ? "passphrase" : "recipients",
                                        "stanzas": info.stanzaTypes.joined(separator: ","), "postQuantum": info.isPostQuantum ? "yes" : "no",
                                        "staleTemporaries": stale.joined(separator: ",")])
            } else {
                Terminal.printLine("store:      age:\(path)")
                Terminal.printLine("protection: \(protection)")
                Terminal.printLine("stanzas:    \(info.stanzaTypes.count)")
                Terminal.printLine("post-quantum: \(info.isPostQuantum ? "yes (mlkem768x25519; recovery needs age ≥ 1.3)" : "no")")
            }
            for file in stale {
                Terminal.note("warning: \(file) was left by a writer killed mid-write; it holds the store encrypted to the recipients of that moment. The next write removes it; if it stays, delete it yourself.")
            }
        }
    }

    struct Recipients: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recipients",
            abstract: "List, add or remove a store's recipients (re-encrypts atomically).",
            subcommands: [List.self, Add.self, Remove.self, Confirm.self])

        struct Confirm: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
            commandName: "confirm",
                abstract: "Pin the store's recipient list to your identity, after checking it.",
                discussion: """
                    Writes refuse a store whose recipients you have not confirmed (someone who can replace the
                    file could add a recipient of theirs). Check the printed list; if every recipient is expected,
                    this pins it, and your later writes go ahead while it is unchanged.
                    """)
            @Argument(help: "The store.") var store: String
            @OptionGroup var options: SourceOptions
            func run() async throws {
                let store = AgeStore(path: try StoreCommand.storePath(store), unlock: options.ageUnlock)
                let confirmed = try store.confirmRecipients()
                confirmed.forEach(Terminal.printLine)
                Terminal.note("pinned these \(confirmed.count) recipient(s) of age:\(store.path) to your identity")
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "Print the store's recipients.")
            @Argument(help: "The store.") var store: String
            @OptionGroup var options: SourceOptions
            func run() async throws {
                let store = AgeStore(path: try StoreCommand.storePath(store), unlock: options.ageUnlock)
                try store.recipients().forEach(Terminal.printLine)
            }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "add", abstract: "Add recipients.")
            @Argument(help: "The store.") var store: String
            @Argument(help: "age1... recipients.") var recipients: [String]
            @OptionGroup var options: SourceOptions
            func run() async throws {
                let store = AgeStore(path: try StoreCommand.storePath(store), unlock: options.ageUnlock)
                try store.addRecipients(try recipients.map { try AgeRecipient(parsing: $0) })
                Terminal.note("re-encrypted \(store.path) to \(try store.recipients().count) recipient(s)")
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove recipients (never the last one).")
            @Argument(help: "The store.") var store: String
            @Argument(help: "age1... recipients.") var recipients: [String]
            @OptionGroup var options: SourceOptions
            func run() async throws {
                let store = AgeStore(path: try StoreCommand.storePath(store), unlock: options.ageUnlock)
                try store.removeRecipients(try recipients.map { try AgeRecipient(parsing: $0) })
                Terminal.note("re-encrypted \(store.path); removed recipients can still read old copies and backups — rotate the secrets")
            }
        }
    }

    struct Rekey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rekey",
            abstract: "Re-encrypt a store to a new passphrase or a new set of recipients, atomically.",
            discussion: "Open with --identity/--passphrase-file (or the environment); the new protection comes from --to/--to-file or --new-passphrase[-file].")

        @Argument(help: "The store.") var store: String
        @Option(name: .customLong("to"), help: "A new age1... recipient (repeatable).")
        var recipients: [String] = []
        @Option(name: .customLong("to-file"), help: "A file of new recipients.")
        var recipientsFile: String?
        @Flag(help: "Protect with a new passphrase (prompted twice).")
        var newPassphrase = false
        @Option(help: "Read the new passphrase from this file's first line.")
        var newPassphraseFile: String?
        @Option(help: "log2 of scrypt's work factor for the new passphrase.")
        var workFactor = 18
        @OptionGroup var options: SourceOptions

        func run() async throws {
            let store = AgeStore(path: try StoreCommand.storePath(store), unlock: options.ageUnlock)
            let target = try StoreCommand.recipients(recipients, file: recipientsFile, passphrase: newPassphrase,
                                                     passphraseFile: newPassphraseFile, workFactor: workFactor)
            try store.rekey(to: target)
            Terminal.note("re-encrypted age:\(store.path) to \(target.map(\.description).joined(separator: ", "))")
        }
    }

    static func recipients(_ strings: [String], file: String?, passphrase: Bool, passphraseFile: String?, workFactor: Int) throws -> [AgeRecipient] {
        var recipients = try strings.map { try AgeRecipient(parsing: $0) }
        if let file { recipients += try AgeIdentity.parseRecipientsFile(try AgeFiles.readText(file), path: file) }
        if passphrase || passphraseFile != nil {
            guard recipients.isEmpty else {
                throw CLIFailure(message: "a passphrase store cannot also have recipients: age requires a passphrase to be the only recipient", exitCode: 64)
            }
            return [.scrypt(ScryptRecipient(passphrase: try AgeFiles.passphrase(file: passphraseFile, confirm: true), workFactor: workFactor))]
        }
        guard !recipients.isEmpty else {
            throw CLIFailure(message: "give --recipient age1… (from `clavis keygen`) or a passphrase", exitCode: 64)
        }
        return recipients
    }
}
