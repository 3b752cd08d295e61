import ArgumentParser
import Clavis
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `clavis app secret list|rotate`: an app registration's client secrets, through Microsoft Graph.
struct AppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "Manage the app registration itself through Microsoft Graph (its client secrets).",
        subcommands: [SecretGroup.self])

    struct SecretGroup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "secret",
            abstract: "List or rotate the app's client secrets (docs/rotation.md).",
            subcommands: [List.self, Rotate.self])
    }

    /// Options naming the app and Graph.
    struct GraphOptions: ParsableArguments {
        @Option(help: "Microsoft Graph's base URL (default: the authority's cloud; the emulator's origin when the authority is on loopback).")
        var graphUrl: String?

        func baseURL(_ credentials: CredentialOptions) throws -> String {
            if let graphUrl { return graphUrl }
            return GraphApplicationsClient.baseURL(for: try credentials.resolvedAuthority())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List the app's client secrets: key id, name, hint, start and end - never a value.",
            discussion: "Needs Application.Read.All, or Application.ReadWrite.OwnedBy with the app's service principal an owner of its application. --json serves monitoring (daysLeft per secret).")

        @OptionGroup var credentials: CredentialOptions
        @OptionGroup var graph: GraphOptions
        @Flag(help: "Print a JSON array.") var json = false
        @OptionGroup var sources: SourceOptions

        func run() async throws {
            let resolver = try CLIContext.resolver(sources)
            let clientId = try credentials.requiredClientId()
            let client = try GraphApplicationsClient(credential: try credentials.credential(resolver: resolver), baseURL: try graph.baseURL(credentials))
            let app = try await client.application(appId: clientId)
            let now = Date()
            let sorted = app.passwordCredentials.sorted { ($0.endDateTime ?? .distantFuture) < ($1.endDateTime ?? .distantFuture) }
            if json {
                try Terminal.printJSON(sorted.map { Listed(credential: $0, now: now) })
                return
            }
            let rows = sorted.map { credential -> [String] in
                [credential.keyId, credential.displayName ?? "", credential.hint.map { "\($0)…" } ?? "",
                 credential.startDateTime.map(Self.day) ?? "", credential.endDateTime.map(Self.day) ?? "",
                 credential.daysLeft(now: now).map { $0 < 0 ? "expired" : "\(Int($0.rounded(.down)))" } ?? ""]
            }
            Terminal.printLine(Table.render([["KEY ID", "NAME", "HINT", "START", "END", "DAYS LEFT"]] + rows))
        }

        static func day(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle().year().month().day()) }

        struct Listed: Encodable {
            var keyId: String
            var displayName: String?
            var hint: String?
            var startDateTime: String?
            var endDateTime: String?
            var daysLeft: Int?
            init(credential: PasswordCredentialInfo, now: Date) {
                keyId = credential.keyId
                displayName = credential.displayName
                hint = credential.hint
                startDateTime = credential.startDateTime.map { $0.formatted(Date.ISO8601FormatStyle()) }
                endDateTime = credential.endDateTime.map { $0.formatted(Date.ISO8601FormatStyle()) }
                daysLeft = credential.daysLeft(now: now).map { Int($0.rounded(.down)) }
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Replace the client secret in --secret REF with a new one from Graph, then remove the old one after --overlap.",
            discussion: "Gets a Graph token with the current secret, adds a new secret (addPassword), proves it gets a token, writes it to the same reference (keyring:, age: or keyvault:) and removes the previous secret once the overlap has passed - in this run or a later one (run it from a timer). Interrupted at any point, run it again. Needs the Graph application permission Application.ReadWrite.OwnedBy with the app's service principal an owner of its own application.")

        @OptionGroup var credentials: CredentialOptions
        @OptionGroup var graph: GraphOptions
        @Option(help: "How long the new secret is valid, e.g. 180d (Entra allows up to two years).") var lifetime = "180d"
        @Option(help: "How long the previous secret stays valid after the new one is written, e.g. 7d (0s: remove it now).") var overlap = "7d"
        @Option(help: "Rotate only if the current secret expires within this long, e.g. 45d (default: always).") var ifExpiresWithin: String?
        @Option(help: "How long to wait for Entra ID to accept the new secret.") var verifyTimeout = "300s"
        @Flag(help: "Print what was done as JSON.") var json = false
        @OptionGroup var sources: SourceOptions

        func run() async throws {
            guard let lifetime = DurationText.parse(lifetime), lifetime > .zero,
                  let overlap = DurationText.parse(overlap), overlap >= .zero,
                  let verifyTimeout = DurationText.parse(verifyTimeout), verifyTimeout > .zero else {
                throw CLIFailure(message: "--lifetime, --overlap and --verify-timeout take durations such as 180d, 7d, 300s", exitCode: 64)
            }
            guard let secret = credentials.secret else {
                throw CLIFailure(message: "--secret REF is required: the reference whose secret is rotated (keyring:, age: or keyvault:)", exitCode: 64)
            }
            let resolver = try CLIContext.resolver(sources)
            let reference = try SecretReference(parsing: secret)
            let source = try resolver.annotatedSource(for: reference, operation: "rotate")
            var rotation = SecretRotation(reference: reference, source: source, tenant: try credentials.requiredTenant(),
                                          clientId: try credentials.requiredClientId(), authority: try credentials.resolvedAuthority(),
                                          version: credentials.v1 ? .v1 : .v2, graphBaseURL: try graph.baseURL(credentials))
            rotation.lifetime = lifetime
            rotation.overlap = overlap
            rotation.verifyTimeout = verifyTimeout
            if let ifExpiresWithin {
                guard let within = DurationText.parse(ifExpiresWithin) else { throw CLIFailure(message: "--if-expires-within takes a duration such as 45d", exitCode: 64) }
                rotation.onlyIfExpiringWithin = within
            }
            rotation.progress = { Terminal.note($0) }
            // Test hook: stop dead (as kill -9 would) at a step, to prove a re-run finishes the rotation.
            let stopAt = ProcessInfo.processInfo.environment["CLAVIS_TEST_ROTATION_STOP_AT"]
            rotation.checkpoint = { step in
                if step.rawValue == stopAt { Glibc.kill(getpid(), SIGKILL) }
            }
            let report = try await rotation.run()
            if json { try Terminal.printJSON(report) }
        }
    }
}

extension CredentialOptions {
    func requiredTenant() throws -> String {
        guard let value = tenant ?? ProcessInfo.processInfo.environment["AZURE_TENANT_ID"], !value.isEmpty else {
            throw CLIFailure(message: "--tenant (or AZURE_TENANT_ID) is required", exitCode: 64)
        }
        return value
    }

    func requiredClientId() throws -> String {
        guard let value = clientId ?? ProcessInfo.processInfo.environment["AZURE_CLIENT_ID"], !value.isEmpty else {
            throw CLIFailure(message: "--client-id (or AZURE_CLIENT_ID) is required", exitCode: 64)
        }
        return value
    }

    func resolvedAuthority() throws -> Authority {
        try authority.map(Authority.init) ?? Authority.fromEnvironment()
    }
}
