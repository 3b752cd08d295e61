import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation

/// The world of the rotation tests: one tenant, apps with and without the right to rotate their
/// own secret, a vault, and the Defender API for a running `defender watch`.
enum R {
    static let tenant = "2c7f6b1e-9d4a-4e3b-8a61-5f0d3c2b1a97"
    /// Application.ReadWrite.OwnedBy and an owner of itself: may rotate.
    static let rotator = "77777777-aaaa-4bbb-8ccc-000000000001"
    /// No Graph permission at all.
    static let unpermitted = "77777777-aaaa-4bbb-8ccc-000000000002"
    /// Application.ReadWrite.OwnedBy, but not an owner of its application.
    static let notOwner = "77777777-aaaa-4bbb-8ccc-000000000003"
    /// Application.Read.All; secrets ending in 29 and 31 days.
    static let soon = "77777777-aaaa-4bbb-8ccc-000000000004"
    static let later = "77777777-aaaa-4bbb-8ccc-000000000005"
    /// Reads and writes the vault.
    static let vaultApp = "77777777-aaaa-4bbb-8ccc-000000000006"
    static let initial = "rotation-test-initial-secret-0123456789"  // clavis:allow (emulator test value)
    static let other = "rotation-test-other-secret-abcdefghijk"  // clavis:allow (emulator test value)
    static let vaultSecret = "rotation-test-vault-secret-0123456789"  // clavis:allow (emulator test value)
    static let initialKeyId = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"

    static func iso(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle()) }

    static func config(replicationMilliseconds: Int = 1500, tokenLifetime: Int? = nil) -> EmulatorConfig {
        let now = Date()
        let defender = ["https://api.security.microsoft.com": ["Incident.Read.All"]]
        func app(_ id: String, graph: [String], owners: [String]?, end: Date? = nil, secret: String = initial, keyId: String = initialKeyId) -> EmulatorConfig.App {
            var permissions = defender
            if !graph.isEmpty { permissions["https://graph.microsoft.com"] = graph }
            return EmulatorConfig.App(clientId: id, name: "rotation test \(id.suffix(1))", permissions: permissions,
                                      passwordCredentials: [.init(secret: secret, keyId: keyId, displayName: "made in the portal",
                                                                  startDateTime: iso(now.addingTimeInterval(-86400)), endDateTime: end.map(iso))],
                                      owners: owners)
        }
        var config = EmulatorConfig(tenants: [EmulatorConfig.Tenant(id: tenant, apps: [
            app(rotator, graph: ["Application.ReadWrite.OwnedBy"], owners: [rotator]),
            app(unpermitted, graph: [], owners: [unpermitted]),
            app(notOwner, graph: ["Application.ReadWrite.OwnedBy"], owners: [rotator]),
            app(soon, graph: ["Application.Read.All"], owners: nil, end: now.addingTimeInterval(29 * 86400 + 3600)),
            app(later, graph: ["Application.Read.All"], owners: nil, end: now.addingTimeInterval(31 * 86400 + 3600)),
            EmulatorConfig.App(clientId: vaultApp, secrets: [vaultSecret]),
        ])], tokenLifetime: tokenLifetime,
        vaults: [EmulatorConfig.Vault(name: "rot", tenant: tenant, access: [vaultApp: ["get", "list", "set", "delete"]], pendingMilliseconds: 50)],
        defender: EmulatorConfig.Defender(incidents: 3))
        config.secretReplicationMilliseconds = replicationMilliseconds
        return config
    }

    static func withEmulator<T>(replicationMilliseconds: Int = 1500, tokenLifetime: Int? = nil,
                                _ body: (RunningEmulator) async throws -> T) async throws -> T {
        let emulator = try await Emulator.start(config(replicationMilliseconds: replicationMilliseconds, tokenLifetime: tokenLifetime))
        do {
            let result = try await body(emulator)
            await emulator.stop()
            return result
        } catch {
            await emulator.stop()
            throw error
        }
    }

    /// The token endpoint's answer to a client-credentials request with `secret`.
    static func tokenStatus(_ emulator: RunningEmulator, app: String = rotator, secret: String) async throws -> (status: Int, codes: [Int]) {
        let body = HTTPTransport.formBody([("grant_type", "client_credentials"), ("client_id", app), ("client_secret", secret),
                                           ("scope", "https://graph.microsoft.com/.default")])
        let reply = try await HTTPTransport(retry: .noRetries).send(.POST, "\(emulator.baseURL)/\(tenant)/oauth2/v2.0/token",
                                                                    headers: [("Content-Type", "application/x-www-form-urlencoded")], body: body)
        return (reply.status, (reply.jsonObject?["error_codes"] as? [Int]) ?? [])
    }

    /// A Graph token for `app` (which authenticates with `secret`).
    static func graphToken(_ emulator: RunningEmulator, app: String = rotator, secret: String = initial) async throws -> String {
        let credential = ClientSecretCredential(tenant: tenant, clientId: app, reference: "test", authority: try Authority(emulator.baseURL)) { Secret(secret) }
        let token = try await credential.getToken(TokenRequestContext(scopes: ["https://graph.microsoft.com/.default"]))
        return token.token.revealedString() ?? ""
    }

    /// The CLI's options for the rotator app against the emulator.
    static func appOptions(_ emulator: RunningEmulator, app: String = rotator, secret: String) -> [String] {
        ["--tenant", tenant, "--client-id", app, "--secret", secret, "--authority", emulator.baseURL]
    }

    /// The environment that lets the CLI reach the emulator's vault.
    static func vaultEnvironment(_ emulator: RunningEmulator) -> [String: String] {
        ["AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": vaultApp, "AZURE_CLIENT_SECRET": vaultSecret,
         "AZURE_AUTHORITY_HOST": emulator.baseURL, "CLAVIS_KEYVAULT_ALLOWED_HOSTS": "127.0.0.1"]
    }

    /// A new age store with an identity; returns the reference of `#app-secret` and the identity options.
    static func ageStore(in directory: TemporaryDirectory) async throws -> (reference: String, identity: [String]) {
        let keygen = try await Command.clavis(["keygen", "-o", directory.file("key.txt")])
        let recipient = String(keygen.stderr.dropFirst("Public key: ".count)).trimmingCharacters(in: .whitespacesAndNewlines)
        let store = "age:\(directory.file("store.age"))"
        let created = try await Command.clavis(["store", "init", store, "--recipient", recipient])
        guard created.status == 0 else { throw ClavisError(.serviceError, reason: created.stderr) }
        return ("\(store)#app-secret", ["--identity", directory.file("key.txt")])
    }
}
