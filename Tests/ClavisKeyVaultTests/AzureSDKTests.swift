import ClavisCore
import ClavisEmulator
import ClavisTestSupport
import Foundation
import Testing

/// Microsoft's own Python SDKs from PyPI (`azure-identity`, `azure-keyvault-secrets`; installed
/// into `.venv` by scripts/setup), unmodified and configured exactly as for Azure — default
/// authority, `https://sdk.vault.azure.net`, no option a production program would not carry —
/// against the emulator serving under Azure's names (``AzureHostNames``).
///
/// The names resolve to the emulator's loopback addresses only inside the Python child: it runs in
/// a private mount namespace (`unshare -m`) with the emulator's hosts file bound over `/etc/hosts`,
/// and refuses to start unless `login.microsoftonline.com` resolves into 127.0.0.0/8 there, so no
/// request can leave the machine. Needs root (port 443, the mount), as CI has.
/// REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / SSL_CERT_FILE point at the emulator's CA for the Python
/// child: these machines export them pointing at the system bundle, and `requests` lets them
/// override a session's `verify` (docs/emulator.md).
@Suite(.serialized, .enabled(if: PrivateHosts.available, "binds port 443 and mounts a private /etc/hosts: run as root, as CI does"))
struct AzureSDKTests {
    static let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35"
    static let app = "55555555-aaaa-4bbb-8ccc-000000000001"
    static let identity = "55555555-aaaa-4bbb-8ccc-000000000002"
    static let secret = "sdk-client-secret-value-0123456789abcdef"  // clavis:allow (emulator test value)
    static let identityHeader = "emulated-identity-header-value"

    static func config() -> EmulatorConfig {
        var config = EmulatorConfig(tenants: [.init(id: tenant, apps: [.init(clientId: app, secrets: [secret])],
                                       managedIdentities: [.init(clientId: identity, systemAssigned: true)])],
                       vaults: [.init(name: "sdk", tenant: tenant, access: [app: ["get", "list", "set", "delete", "recover", "purge"], identity: ["get", "set"]],
                                      pendingMilliseconds: 700)])
        config.identityHeader = identityHeader  // App Service compares X-IDENTITY-HEADER with it
        return config
    }

    /// Runs `script` with the SDKs against a TLS emulator under Azure's names; the script prints `OK` at the end.
    static func runPython(_ script: String, environment: (RunningEmulator) -> [String: String] = { _ in [:] }) async throws -> (CommandResult, RunningEmulator) {
        let directory = try TemporaryDirectory()
        let names = AzureHostNames.random(vaults: ["sdk"])
        let tls = try EmulatorTLS.make(hostNames: names)
        let caPath = try directory.write("ca.pem", tls.caPEM)
        let emulator = try await Emulator.start(config(), tls: tls, hostNames: names)
        let vault = try #require(emulator.vaultURL("sdk"))
        #expect(vault == "https://sdk.vault.azure.net")
        let extra = environment(emulator)
        var environment = ["TENANT": tenant, "CLIENT_ID": app, "CLIENT_SECRET": secret, "VAULT": vault,
                           "REQUESTS_CA_BUNDLE": caPath, "CURL_CA_BUNDLE": caPath, "SSL_CERT_FILE": caPath]
        environment.merge(extra) { $1 }
        let result = try await PrivateHosts.run(hostsFile: names.hostsFile, mustResolveToLoopback: [AzureHostNames.login, "sdk.vault.azure.net"],
                                                "python3", ["-c", script], environment: environment,
                                           removing: ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT",
                                                      "MSI_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
                                                      "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST"].filter { extra[$0] == nil },
                                           timeout: .seconds(240))
        return (result, emulator)
    }

    /// The Key Vault secret life cycle with azure-keyvault-secrets and a client-secret credential.
    @Test func keyVaultSecretsLifeCycle() async throws {
        let script = """
            import os, sys
            from azure.identity import ClientSecretCredential
            from azure.keyvault.secrets import SecretClient
            from azure.core.exceptions import ResourceNotFoundError
            def check(condition, what):
                if not condition:
                    sys.stderr.write("FAILED: " + what + "\\n"); sys.exit(3)
            credential = ClientSecretCredential(os.environ["TENANT"], os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])
            token = credential.get_token("https://vault.azure.net/.default")
            check(token.token.count(".") == 2 and token.expires_on > 0, "a client-secret token")
            client = SecretClient(os.environ["VAULT"], credential)
            first = client.set_secret("Db-Password", "one", content_type="text/plain", tags={"env": "prod", "owner": "ops"})
            check(first.id.startswith(os.environ["VAULT"] + "/secrets/Db-Password/"), "the id " + first.id)
            second = client.set_secret("Db-Password", "two")
            got = client.get_secret("db-password")  # names are case-insensitive; the id keeps the creation casing
            check(got.value == "two" and got.name == "Db-Password", "latest version by another casing")
            check(client.get_secret("Db-Password", first.properties.version).value == "one", "an older version")
            older = client.get_secret("Db-Password", first.properties.version)
            check(older.properties.content_type == "text/plain" and older.properties.tags == {"env": "prod", "owner": "ops"}, "content type and tags")
            versions = list(client.list_properties_of_secret_versions("Db-Password"))
            check(len(versions) == 2, "two versions, got %d" % len(versions))
            for index in range(30):
                client.set_secret("bulk-%02d" % index, "v%d" % index, tags={"index": str(index)})
            listed = list(client.list_properties_of_secrets())
            check(len(listed) == 31, "31 secrets across pages, got %d" % len(listed))
            bulk = [p for p in listed if p.name == "bulk-07"][0]
            check(bulk.tags == {"index": "7"} and bulk.enabled and bulk.created_on is not None and bulk.recovery_level == "Recoverable+Purgeable",
                  "list items carry tags and attributes")
            deleted = client.begin_delete_secret("Db-Password").result()
            check(deleted.recovery_id.endswith("/deletedsecrets/Db-Password"), "recovery id")
            client.begin_delete_secret("bulk-00").wait()  # polls until the deletion completed
            gone = client.get_deleted_secret("bulk-00")
            check(gone.scheduled_purge_date is not None and gone.deleted_date is not None, "deleted secret dates")
            check("bulk-00" in [d.name for d in client.list_deleted_secrets()], "listed as deleted")
            try:
                client.get_secret("bulk-00"); check(False, "a deleted secret is not readable")
            except ResourceNotFoundError:
                pass
            client.begin_recover_deleted_secret("bulk-00").wait()  # polls until readable
            check(client.get_secret("bulk-00").value == "v0", "recovered")
            client.begin_delete_secret("bulk-01").wait()
            client.purge_deleted_secret("bulk-01")
            try:
                client.get_deleted_secret("bulk-01"); check(False, "a purged secret is gone")
            except ResourceNotFoundError:
                pass
            print("OK")
            """
        let (result, emulator) = try await Self.runPython(script)
        await emulator.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.hasSuffix("OK\n"))
        #expect(!result.stderr.contains(Self.secret))
    }

    /// azure-identity's managed identity, App Service style (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`)
    /// and IMDS style (`AZURE_POD_IDENTITY_AUTHORITY_HOST`, its documented override of
    /// 169.254.169.254), reading a secret with azure-keyvault-secrets.
    @Test(arguments: ["appService", "imds"]) func managedIdentityReadsASecret(style: String) async throws {
        let script = """
            import os, sys
            from azure.identity import ManagedIdentityCredential
            from azure.keyvault.secrets import SecretClient
            credential = ManagedIdentityCredential()
            token = credential.get_token("https://vault.azure.net/.default")
            if token.expires_on <= 0: sys.exit(4)
            client = SecretClient(os.environ["VAULT"], credential)
            client.set_secret("from-mi", "mi-value")
            if client.get_secret("from-mi").value != "mi-value": sys.exit(5)
            print("OK")
            """
        let (result, emulator) = try await Self.runPython(script) { emulator in
            style == "appService" ? ["IDENTITY_ENDPOINT": "\(emulator.baseURL)/msi/token", "IDENTITY_HEADER": Self.identityHeader]
                                  : ["AZURE_POD_IDENTITY_AUTHORITY_HOST": emulator.baseURL]
        }
        await emulator.stop()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.hasSuffix("OK\n"))
        #expect((emulator.state.statistics["imds"] ?? 0) >= 1)  // the token came from the managed-identity endpoint
    }
}
