import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `clavis-emulator init` (also `clavis emulator init`): a ready config with fresh ids and a fresh
/// app secret — one tenant, one app with the Defender and Graph security permissions and access to
/// one vault, one managed identity — and the exact commands that use it, on stdout.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a ready emulator config (fresh ids and secret) and print the commands that use it.")

    @Option(help: "The directory to create (mode 0700): emulator.json, secrets/app-secret.") var dir = "clavis-emulator"
    @Option(help: "The port the emulator will serve on (the vault on the next one).") var port = 8400

    func run() throws {
        let root = URL(fileURLWithPath: dir).standardizedFileURL.path
        let config = root + "/emulator.json", secrets = root + "/secrets", secretFile = secrets + "/app-secret"
        guard !FileManager.default.fileExists(atPath: config) else {
            throw ToolFailure(message: "\(config) exists; choose another --dir (nothing was changed)", exitCode: 73)
        }
        for path in [root, secrets] where mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ToolFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let tenant = Self.uuid(), app = Self.uuid(), identity = Self.uuid(), secret = Self.clientSecret()
        let defender = "https://api.security.microsoft.com", graph = "https://graph.microsoft.com"
        let document: [String: Any] = [
            "//": "clavis emulator config (docs/emulator.md lists every key). Keys starting with // are comments.",
            "tenants": [[
                "//": "A tenant with one daemon app and one managed identity. Fresh ids; change them freely.",
                "id": tenant, "domain": "contoso.onmicrosoft.com",
                "apps": [[
                    "//": "The daemon. Its secret is in secrets/app-secret (also here, as Entra ID holds it); admin consent granted.",
                    "clientId": app, "name": "defender-daemon", "secrets": [secret], "consented": true,
                    "permissions": [defender: ["Incident.Read.All", "Incident.ReadWrite.All", "AdvancedHunting.Read.All"],
                                    graph: ["SecurityIncident.Read.All", "ThreatHunting.Read.All"]],
                ]],
                "managedIdentities": [[
                    "//": "The host's system-assigned identity (IMDS at /metadata/identity/oauth2/token).",
                    "clientId": identity, "systemAssigned": true, "permissions": [defender: ["Incident.Read.All"]],
                ]],
            ]],
            "defender": [
                "//": "Defender XDR (/api/incidents, /api/advancedhunting/run) and Graph security: incidents spread over the last 30 days.",
                "incidents": 60,
            ] as [String: Any],
            "vaults": [[
                "//": "A Key Vault at https://127.0.0.1:\(port + 1): the app may do everything, the managed identity read.",
                "name": "dev", "tenant": tenant, "port": port + 1, "secrets": ["greeting": "hello from the emulator's vault"],
                "access": [app: ["get", "list", "set", "delete", "recover", "purge"], identity: ["get", "list"]],
            ]],
        ]
        let json = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try Self.writePrivate(secretFile, Data((secret + "\n").utf8))
        try Self.writePrivate(config, json + Data("\n".utf8))
        let origin = "https://127.0.0.1:\(port)", ca = root + "/ca.pem"
        let app_ = "--ca-file \(ca) --authority \(origin) --tenant \(tenant) --client-id \(app) --secret 'dir:\(secrets)#app-secret'"
        Output.note("wrote \(config) and \(secretFile) (mode 0600)")
        for line in [
            "# 1. Start the emulator and leave it running (it writes the CA that step 2 on trusts):",
            "clavis emulator serve --config \(config) --port \(port) --tls --ca-out \(ca)",
            "# 2. In another terminal: a token for the Defender API, the secret read by reference:",
            "clavis token \(app_) --require-role Incident.Read.All",
            "# 3. Incidents of the last 7 days, and an advanced-hunting query:",
            "clavis defender incidents \(app_) --api \(origin) --since 7d",
            "clavis defender hunt \(app_) --api \(origin) 'DeviceProcessEvents | take 3'",
            "# 4. The vault (loopback must be allowed for Key Vault):",
            "CLAVIS_KEYVAULT_ALLOWED_HOSTS=127.0.0.1 clavis secret get keyvault:https://127.0.0.1:\(port + 1)/secrets/greeting \(app_)",
        ] { Output.line(line) }
    }

    static func uuid() -> String { UUID().uuidString.lowercased() }

    /// A client secret in Entra's shape: 40 characters, the 4th–6th `8Q~`-like.
    static func clientSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
        var generator = SystemRandomNumberGenerator()
        let random = (0..<37).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }
        return String(random.prefix(3)) + "8Q~" + String(random.dropFirst(3).prefix(34))
    }

    /// Creates `path` with mode 0600, refusing to follow a link or replace a file.
    static func writePrivate(_ path: String, _ data: Data) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ToolFailure(message: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw ToolFailure(message: "cannot write \(path)") }
    }
}
