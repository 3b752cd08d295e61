import ArgumentParser
import Clavis
import ClavisDefender
import ClavisEmulator
import ClavisIdentity
import Foundation

/// `clavis demo`: the README's main job. The whole walkthrough — register an app, grant and consent
/// its permissions, store its secret (never in code), get a token by reference, validate it
/// locally, list incidents, hunt — against an in-process emulator: no tenant, no network.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the Defender walkthrough end to end, offline, against an in-process emulator.")

    @Option(help: "How many incidents to list.") var incidents = 10

    func run() async throws {
        let step = Steps()
        let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35", appId = UUID().uuidString.lowercased()
        let roles = ["Incident.Read.All", "AdvancedHunting.Read.All"]
        let resource = "https://api.security.microsoft.com"

        step("Register an app (no signed-in user) in tenant \(tenant)")
        let generated = Secret((0..<2).map { _ in UUID().uuidString.replacingOccurrences(of: "-", with: "") }.joined())
        guard let secretText = generated.revealedString() else { throw CLIFailure(message: "could not make a secret") }
        let config = EmulatorConfig(tenants: [.init(id: tenant, domain: "contoso.onmicrosoft.com", apps: [
            .init(clientId: appId, name: "defender-daemon", secrets: [secretText], permissions: [resource: roles]),
        ])], defender: .init(incidents: 120))
        let emulator = try await Emulator.start(config)
        let authority = try Authority(emulator.baseURL)
        step("  client id \(appId); a local Entra ID + Defender stand-in serves \(emulator.baseURL)")
        step("Grant application permissions \(roles.joined(separator: ", ")) and admin consent")
        step("  consent link: \(authority)/\(tenant)/v2.0/adminconsent?client_id=\(appId)")

        step("Store the client secret in an encrypted age store — never in code")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clavis-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: directory) }
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
        step("  stored as \(reference) (recoverable with: age -d -i \(keyPath) \(storePath))")

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

        let client = DefenderClient(credential: credential, endpoint: try DefenderEndpoint(baseURL: emulator.baseURL))
        step("Call the API: GET /api/incidents (newest first)")
        var listed: [Incident] = []
        for try await incident in client.incidents(filter: "status eq 'Active'", pageSize: 50, limit: incidents) { listed.append(incident) }
        try IncidentPrinter.print(listed, format: .table)
        step("Run an advanced-hunting query")
        let query = "DeviceProcessEvents | where FileName == \"powershell.exe\" | project Timestamp, DeviceName, AccountName | take 5"
        step("  \(query)")
        try HuntPrinter.print(try await client.hunt(query), format: .table)
        step("Done: no secret was hardcoded, passed on a command line, logged or printed.")
        await emulator.stop()
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
