import ArgumentParser
import Clavis
import ClavisDefender
import ClavisIdentity
import Foundation

/// `clavis demo`: the README's main job. The whole walkthrough — register an app, grant and consent
/// its permissions, store its secret (never in code), get a token by reference, validate it
/// locally, list incidents, hunt — against `clavis-emulator` started as a separate local service:
/// the real topology (a daemon and a service), no tenant, no network.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the Defender walkthrough end to end, offline, against a local clavis-emulator.")

    @Option(help: "How many incidents to list.") var incidents = 10
    @Option(help: "Keep the demo's identity file and age store in DIR (created, must not exist) instead of deleting them.")
    var keep: String?

    func run() async throws {
        let step = Steps()
        let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35", appId = UUID().uuidString.lowercased()
        let roles = ["Incident.Read.All", "AdvancedHunting.Read.All"]
        let resource = "https://api.security.microsoft.com"

        step("Register an app (no signed-in user) in tenant \(tenant)")
        let generated = Secret((0..<2).map { _ in UUID().uuidString.replacingOccurrences(of: "-", with: "") }.joined())
        guard let secretText = generated.revealedString() else { throw CLIFailure(message: "could not make a secret") }
        let config: [String: Any] = [
            "tenants": [["id": tenant, "domain": "contoso.onmicrosoft.com", "apps": [
                ["clientId": appId, "name": "defender-daemon", "secrets": [secretText], "permissions": [resource: roles]],
            ]]],
            "defender": ["incidents": 120],
        ]
        let emulator = try EmulatorProcess.start(config: config)
        defer { emulator.stop() }
        let authority = try Authority(emulator.url)
        step("  client id \(appId); clavis-emulator, a local Entra ID + Defender stand-in, serves \(emulator.url)")
        step("Grant application permissions \(roles.joined(separator: ", ")) and admin consent")
        step("  consent link: \(authority)/\(tenant)/v2.0/adminconsent?client_id=\(appId)")

        step("Store the client secret in an encrypted age store — never in code")
        let directory = keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("clavis-demo-\(UUID().uuidString)")
        if keep != nil, FileManager.default.fileExists(atPath: directory.path) {
            throw CLIFailure(message: "--keep \(directory.path) exists; name a new directory", exitCode: 64)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { if keep == nil { try? FileManager.default.removeItem(at: directory) } }
        let identity = try X25519Identity.generate()
        let keyPath = directory.appendingPathComponent("key.txt").path
        let key = try AtomicFile(path: keyPath, mode: 0o600)
        try identity.encoded().withRevealedBytes { try key.write($0) }
        try key.commit()
        let storePath = directory.appendingPathComponent("store.age").path
        try AgeStore.create(path: storePath, recipients: [.x25519(identity.recipient)])
        let unlock = AgeUnlock(identityFiles: [keyPath], useEnvironment: false)
        let reference = try SecretReference(parsing: "age:\(storePath)#defender-app-secret")
        try AgeStore(path: storePath, unlock: unlock).store(generated, named: "defender-app-secret")
        if keep != nil {
            step("  stored as \(reference) (recoverable with: age -d -i \(keyPath) \(storePath))")
        } else {
            step("  stored as \(reference) (a throwaway store, deleted at the end; --keep DIR keeps it, readable with age -d)")
        }

        step("Get an app-only token by reference (the daemon only ever knows \(reference))")
        let resolver = SecretResolver([AgeSource(unlock: unlock)])
        let credential = CachingTokenCredential(ClientSecretCredential(tenant: tenant, clientId: appId, secret: reference, resolver: resolver,
                                                                       authority: authority))
        let token = try await credential.getToken(TokenRequestContext(resource: resource))
        step("  token acquired, valid until \(ISO8601DateFormatter().string(from: token.expiresOn)); it prints as \(token.token)")

        step("Validate the token locally (signature, audience, expiry, roles) instead of pasting it into a website")
        guard let jwt = token.token.revealedString() else { throw CLIFailure(message: "the token is not text") }
        let decoded = try await TokenValidator(authority: authority, tenant: tenant, audiences: [resource], requiredRoles: roles).validate(jwt)
        step("  roles: \(decoded.roles.joined(separator: ", ")); aud: \(decoded.claims["aud"]?.string ?? "?")")

        let client = DefenderClient(credential: credential, endpoint: try DefenderEndpoint(baseURL: emulator.url))
        step("Call the API: GET /api/incidents (newest first)")
        var listed: [Incident] = []
        for try await incident in client.incidents(filter: "status eq 'Active'", pageSize: 50, limit: incidents) { listed.append(incident) }
        try IncidentPrinter.print(listed, format: .table)
        step("Run an advanced-hunting query")
        let query = "DeviceProcessEvents | where FileName == \"powershell.exe\" | project Timestamp, DeviceName, AccountName | take 5"
        step("  \(query)")
        try HuntPrinter.print(try await client.hunt(query), format: .table)
        step("Done: no secret was hardcoded, passed on a command line, logged or printed.")
    }
}

/// Numbered progress lines on stderr.
final class Steps {
    private var number = 0
    func callAsFunction(_ text: String) {
        if text.hasPrefix("  ") {
            Terminal.note("   \(text)")
        } else {
            number += 1
            Terminal.note("\(number). \(text)")
        }
    }
}
