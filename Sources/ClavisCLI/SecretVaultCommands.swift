import ArgumentParser
import Clavis
import Foundation

/// What `clavis secret` offers only for Key Vault: attributes, recover, purge, deleted secrets.
extension SecretCommand {
    /// The Key Vault source and location behind `reference`, or a failure naming the scheme.
    static func vault(_ reference: SecretReference, _ resolver: SecretResolver, requireName: Bool, what: String) throws -> (KeyVaultClient, KeyVaultLocation) {
        guard let source = try resolver.source(for: reference) as? KeyVaultSource else {
            throw CLIFailure(message: "\(what) is a Key Vault feature; \(reference.scheme): references do not have it", exitCode: 64)
        }
        return (source.vaultClient, try source.location(reference, requireName: requireName))
    }

    /// Parses `2027-01-31`, `2027-01-31T12:00:00Z` or `@UNIX_SECONDS`.
    static func date(_ text: String, option: String) throws -> Date {
        if text.hasPrefix("@"), let seconds = TimeInterval(text.dropFirst()) { return Date(timeIntervalSince1970: seconds) }
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle().year().month().day()) { return date }
        throw CLIFailure(message: "--\(option) takes a date such as 2027-01-31, 2027-01-31T12:00:00Z or @1800000000", exitCode: 64)
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info",
            abstract: "Show a Key Vault secret's attributes, content type and tags (never its value).",
            discussion: "Example: clavis secret info keyvault:https://contoso.vault.azure.net/secrets/db-password")

        @Argument(help: "The keyvault: reference (latest version unless it names one).")
        var reference: String
        @Flag(help: "Print the properties as JSON.")
        var json = false
        @OptionGroup var options: SourceOptions
        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws {
            let reference = try SecretReference(parsing: reference)
            let (client, location) = try SecretCommand.vault(reference, try CLIContext.resolver(options, vault: credentials), requireName: true, what: "secret info")
            let properties = try await client.properties(location, reference: reference.description)
            if json { return try Terminal.printJSON(properties) }
            func time(_ seconds: Int?) -> String {
                seconds.map { Date(timeIntervalSince1970: TimeInterval($0)).ISO8601Format() } ?? "-"
            }
            let lines = [
                ("name", properties.name), ("version", properties.version ?? "-"), ("enabled", String(properties.enabled)),
                ("content type", properties.contentType ?? "-"),
                ("tags", properties.tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")),
                ("created", time(properties.created)), ("updated", time(properties.updated)),
                ("not before", time(properties.notBefore)), ("expires", time(properties.expires)),
                ("recovery level", properties.recoveryLevel ?? "-"), ("recoverable days", properties.recoverableDays.map(String.init) ?? "-"),
            ]
            for (label, value) in lines { Terminal.printLine("\(label): \(value.isEmpty ? "-" : value)") }
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "recover",
            abstract: "Recover a soft-deleted Key Vault secret (every version), waiting until it can be read.")

        @Argument(help: "The keyvault: reference of the deleted secret.")
        var reference: String
        @OptionGroup var options: SourceOptions
        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws {
            let reference = try SecretReference(parsing: reference)
            let (client, location) = try SecretCommand.vault(reference, try CLIContext.resolver(options, vault: credentials), requireName: true, what: "recover")
            try await client.recover(location, reference: reference.description)
            Terminal.note("recovered \(reference)")
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "purge",
            abstract: "Purge a soft-deleted Key Vault secret for good (it cannot be recovered afterwards).")

        @Argument(help: "The keyvault: reference of the deleted secret.")
        var reference: String
        @OptionGroup var options: SourceOptions
        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws {
            let reference = try SecretReference(parsing: reference)
            let (client, location) = try SecretCommand.vault(reference, try CLIContext.resolver(options, vault: credentials), requireName: true, what: "purge")
            try await client.purge(location, reference: reference.description)
            Terminal.note("purged \(reference)")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enable",
            abstract: "Enable a Key Vault secret version (the latest unless the reference names one).")

        @Argument(help: "The keyvault: reference.")
        var reference: String
        @OptionGroup var options: SourceOptions
        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws { try await SecretCommand.setEnabled(true, reference, options: options, credentials: credentials) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "disable",
            abstract: "Disable a Key Vault secret version: reads of it then fail with SecretDisabled (403) until it is enabled.")

        @Argument(help: "The keyvault: reference.")
        var reference: String
        @OptionGroup var options: SourceOptions
        @OptionGroup(title: "Key Vault credential (for keyvault: references; default: AZURE_* variables, then managed identity)") var credentials: CredentialOptions

        func run() async throws { try await SecretCommand.setEnabled(false, reference, options: options, credentials: credentials) }
    }

    /// `secret enable` / `secret disable`.
    static func setEnabled(_ enabled: Bool, _ text: String, options: SourceOptions, credentials: CredentialOptions) async throws {
        let reference = try SecretReference(parsing: text)
        let (client, location) = try vault(reference, try CLIContext.resolver(options, vault: credentials), requireName: true,
                                           what: enabled ? "enable" : "disable")
        let properties = try await client.setEnabled(enabled, location, reference: reference.description)
        Terminal.note("\(enabled ? "enabled" : "disabled") \(properties.name)\(properties.version.map { " version \($0)" } ?? "")")
    }

    /// `secret list --deleted`.
    static func listDeleted(_ reference: SecretReference, options: SourceOptions, credentials: CredentialOptions, json: Bool) async throws {
        let (client, location) = try vault(reference, try CLIContext.resolver(options, vault: credentials), requireName: false, what: "listing deleted secrets")
        let deleted = try await client.listDeleted(location, reference: reference.description)
        if json { return try Terminal.printJSON(deleted) }
        for secret in deleted {
            let purge = secret.scheduledPurgeDate.map { " (purged \(Date(timeIntervalSince1970: TimeInterval($0)).ISO8601Format()))" } ?? ""
            Terminal.printLine(secret.properties.name + purge)
        }
    }

    /// `secret set` with Key Vault attributes.
    static func setInVault(_ secret: Secret, _ reference: SecretReference, resolver: SecretResolver, contentType: String?, tags: [String],
                           expires: String?, notBefore: String?) async throws {
        let (client, location) = try vault(reference, resolver, requireName: true, what: "--content-type, --tag, --expires and --not-before")
        var parsed: [String: String] = [:]
        for tag in tags {
            let parts = tag.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else { throw CLIFailure(message: "--tag takes NAME=VALUE", exitCode: 64) }
            parsed[String(parts[0])] = String(parts[1])
        }
        try await client.set(location, value: secret, contentType: contentType, tags: parsed, notBefore: try notBefore.map { try date($0, option: "not-before") },
                             expires: try expires.map { try date($0, option: "expires") }, reference: reference.description)
    }
}
