import AsyncHTTPClient
import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisKeyVault
import ClavisTestSupport
import Foundation
import NIOSSL
import Testing

enum VaultFixture {
    static let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35"
    static let reader = "33333333-aaaa-4bbb-8ccc-000000000001"
    static let writer = "33333333-aaaa-4bbb-8ccc-000000000002"
    static let outsider = "33333333-aaaa-4bbb-8ccc-000000000003"
    static let defenderApp = "33333333-aaaa-4bbb-8ccc-000000000004"
    static let managedIdentity = "44444444-aaaa-4bbb-8ccc-000000000001"
    static let appSecret = "kv-held-secret-for-the-defender-app-0123"  // clavis:allow (emulator test value)
    static let vaultSecret = "vault-client-secret-value-abcdef0123456789"  // clavis:allow (emulator test value)

    static func config() -> EmulatorConfig {
        EmulatorConfig(tenants: [.init(id: tenant, apps: [
            .init(clientId: reader, secrets: [vaultSecret]), .init(clientId: writer, secrets: [vaultSecret]),
            .init(clientId: outsider, secrets: [vaultSecret]),
            .init(clientId: defenderApp, secrets: [appSecret], permissions: ["https://api.security.microsoft.com": ["Incident.Read.All"]]),
        ], managedIdentities: [.init(clientId: managedIdentity, systemAssigned: true)])],
        vaults: [
            .init(name: "prod", tenant: tenant, secrets: ["defender-app-secret": appSecret, "old": "x"], disabled: ["old"],
                  access: [reader: ["get", "list"], writer: ["get", "list", "set", "delete", "recover", "purge"], managedIdentity: ["get"]], pageSize: 3,
                  pendingMilliseconds: 0),
            .init(name: "legacy", tenant: tenant, secrets: ["a": "1"], access: [reader: ["list"]], authorization: "policy"),
            .init(name: "hostile", tenant: tenant, secrets: ["a": "1"], access: [reader: ["get"]], challengeResource: "https://vault.evil.example"),
        ])
    }

    /// An emulator serving HTTPS (a throwaway CA the transport alone trusts), or plain http for
    /// tests that drive the `clavis` binary.
    static func withVault<R>(tls: Bool = true, _ body: (RunningEmulator, Authority, HTTPTransport) async throws -> R) async throws -> R {
        let certificates = try tls ? EmulatorTLS.make() : nil
        let emulator = try await Emulator.start(config(), tls: certificates)
        defer { Task { await emulator.stop() } }
        var client: HTTPClient?
        if let certificates {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(certificates.caPEM.utf8), format: .pem)])
            client = HTTPTransport.makeClient(HTTPClient.Configuration(tlsConfiguration: configuration))
        }
        let transport = HTTPTransport(client: client ?? HTTPTransport.defaultClient,
                                      retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .seconds(2), maxTotal: .seconds(60)),
                                      attemptTimeout: .seconds(30))
        let result: R
        do {
            result = try await body(emulator, try Authority(emulator.baseURL), transport)
        } catch {
            try? await client?.shutdown()
            throw error
        }
        try await client?.shutdown()
        await emulator.stop()
        return result
    }

    static func source(_ emulator: RunningEmulator, _ authority: Authority, _ transport: HTTPTransport, app: String = reader) -> KeyVaultSource {
        let credential = ClientSecretCredential(tenant: tenant, clientId: app, reference: "memory:vault-client", authority: authority,
                                                transport: transport) { Secret(vaultSecret) }
        return KeyVaultSource(credential: CachingTokenCredential(credential), transport: transport, allowedHosts: ["127.0.0.1"], environment: [:])
    }

    static func ref(_ emulator: RunningEmulator, _ vault: String, _ path: String = "") throws -> SecretReference {
        try SecretReference(parsing: "keyvault:\(try url(emulator, vault))\(path)")
    }

    /// The vault's origin (each vault has its own port, as each Azure vault has its own host).
    static func url(_ emulator: RunningEmulator, _ vault: String) throws -> String {
        try #require(emulator.vaultURL(vault), "no vault \(vault)")
    }
}

typealias V = VaultFixture

func expectCode(_ code: ClavisError.Code, containing text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                _ body: () async throws -> Void) async {
    await expectFailure(ClavisError.self, where: { $0.code.is(code) }, containing: text, sourceLocation: sourceLocation, body)
}

@Suite(.serialized) struct KeyVaultTests {
    @Test func everyOperationWithVersionsPagingAndSoftDelete() async throws {
        try await V.withVault { emulator, authority, transport in
            let writer = V.source(emulator, authority, transport, app: V.writer)
            #expect(try await writer.secret(for: V.ref(emulator, "prod", "/secrets/defender-app-secret")).revealedString() == V.appSecret)
            for index in 0..<8 { try await writer.store(Secret("v\(index)"), for: V.ref(emulator, "prod", "/secrets/s\(index)")) }
            // 10 secrets at a page size of 3: four pages, followed by nextLink.
            let names = try await writer.listNames(in: V.ref(emulator, "prod"))
            #expect(names == ["defender-app-secret", "old"] + (0..<8).map { "s\($0)" }.sorted())
            try await writer.store(Secret("second"), for: V.ref(emulator, "prod", "/secrets/s1"))
            let client = KeyVaultClient(credential: CachingTokenCredential(ClientSecretCredential(tenant: V.tenant, clientId: V.writer, reference: "m",
                                                                                                authority: authority, transport: transport) { Secret(V.vaultSecret) }),
                                        transport: transport)
            let location = try KeyVaultLocation("\(try V.url(emulator, "prod"))/secrets/s1", reference: "s1", allowedHosts: ["127.0.0.1"])
            let versions = try await client.listVersions(location, reference: "s1")
            #expect(versions.count == 2)
            let first = try KeyVaultLocation("\(try V.url(emulator, "prod"))/secrets/s1/\(versions[0])", reference: "s1", allowedHosts: ["127.0.0.1"])
            #expect(try await client.get(first, reference: "s1").value.revealedString() == "v1")
            #expect(try await writer.secret(for: V.ref(emulator, "prod", "/secrets/s1")).revealedString() == "second")
            try await writer.delete(V.ref(emulator, "prod", "/secrets/s2"))
            await expectCode(.notFound) { _ = try await writer.secret(for: V.ref(emulator, "prod", "/secrets/s2")) }
            await expectCode(.invalidValue, containing: "ObjectIsDeletedButRecoverable") { try await writer.store(Secret("x"), for: V.ref(emulator, "prod", "/secrets/s2")) }
            let s2 = try KeyVaultLocation("\(try V.url(emulator, "prod"))/secrets/s2", reference: "s2", allowedHosts: ["127.0.0.1"])
            #expect(try await client.listDeletedNames(s2, reference: "s2") == ["s2"])
            try await client.recover(s2, reference: "s2")
            #expect(try await writer.secret(for: V.ref(emulator, "prod", "/secrets/s2")).revealedString() == "v2")
            try await writer.delete(V.ref(emulator, "prod", "/secrets/s2"))
            try await client.purge(s2, reference: "s2")
            #expect(try await client.listDeletedNames(s2, reference: "s2").isEmpty)
            try await writer.store(Secret("reborn"), for: V.ref(emulator, "prod", "/secrets/s2"))  // the name is free again
            #expect(try await writer.secret(for: V.ref(emulator, "prod", "/secrets/s2")).revealedString() == "reborn")
            #expect((emulator.state.statistics["vault"] ?? 0) > 10)
        }
    }

    @Test func everyErrorClass() async throws {
        try await V.withVault { emulator, authority, transport in
            let reader = V.source(emulator, authority, transport)
            await expectCode(.notFound, containing: "SecretNotFound") { _ = try await reader.secret(for: V.ref(emulator, "prod", "/secrets/nope")) }
            await expectCode(.permissionDenied, containing: "SecretDisabled") { _ = try await reader.secret(for: V.ref(emulator, "prod", "/secrets/old")) }
            await expectCode(.permissionDenied, containing: "ForbiddenByRbac") { try await reader.store(Secret("x"), for: V.ref(emulator, "prod", "/secrets/n")) }
            do {
                try await reader.store(Secret("x"), for: V.ref(emulator, "prod", "/secrets/n"))
                Issue.record("a reader could write")
            } catch let error as ClavisError {
                #expect(error.hint?.contains("Key Vault Secrets Officer") == true)
                // The vault's reply is the cause: a caller branches on its code, not on our text.
                #expect(error.serviceReply?.status == 403 && error.serviceReply?.specificCode == "ForbiddenByRbac")
            }
            await expectCode(.permissionDenied, containing: "ForbiddenByPolicy") { _ = try await reader.secret(for: V.ref(emulator, "legacy", "/secrets/a")) }
            let outsider = V.source(emulator, authority, transport, app: V.outsider)
            await expectCode(.permissionDenied) { _ = try await outsider.secret(for: V.ref(emulator, "prod", "/secrets/defender-app-secret")) }
            // An unreachable vault (nothing listens) is "unavailable", with the host named.
            let nowhere = try SecretReference(parsing: "keyvault:http://127.0.0.1:9/secrets/a")
            let quick = KeyVaultSource(credential: ClientSecretCredential(tenant: V.tenant, clientId: V.reader, reference: "m", authority: authority,
                                                                          transport: transport) { Secret(V.vaultSecret) },
                                       transport: HTTPTransport(retry: .noRetries, attemptTimeout: .seconds(2)), allowedHosts: ["127.0.0.1"], environment: [:])
            await expectCode(.sourceUnavailable, containing: "127.0.0.1") { _ = try await quick.secret(for: nowhere) }
            // A vault name that does not resolve says so, fast.
            let typo = KeyVaultSource(credential: ChainedTokenCredential([]), transport: HTTPTransport(retry: .noRetries),
                                      allowedHosts: ["clavis-test.invalid"], environment: [:])
            let started = ContinuousClock.now
            await expectCode(.sourceUnavailable, containing: "does not resolve (DNS)") {
                _ = try await typo.secret(for: SecretReference(parsing: "keyvault:https://clavis-test.invalid/secrets/a"))
            }
            #expect(ContinuousClock.now - started < .seconds(10))
            // References: foreign hosts need opt-in; names and versions are checked.
            let strict = KeyVaultSource(credential: ChainedTokenCredential([]), environment: [:])
            await expectCode(.invalidReference, containing: "not a Key Vault domain") { _ = try await strict.secret(for: SecretReference(parsing: "keyvault:https://evil.example/secrets/a")) }
            // The domain rule reads the host as sent: a percent-encoded dot is not a dot.
            await expectCode(.invalidReference, containing: "not a Key Vault domain") {
                _ = try await strict.secret(for: SecretReference(parsing: "keyvault:https://evil%2Evault.azure.net/secrets/a"))
            }
            await expectCode(.invalidReference, containing: "https only") {
                _ = try await strict.secret(for: SecretReference(parsing: "keyvault:http://contoso.vault.azure.net/secrets/a"))
            }
            await expectCode(.invalidReference, containing: "1–127") { _ = try await strict.secret(for: SecretReference(parsing: "keyvault:https://contoso.vault.azure.net/secrets/a_b")) }
            await expectCode(.invalidReference, containing: "32 hexadecimal") {
                _ = try await strict.secret(for: SecretReference(parsing: "keyvault:https://contoso.vault.azure.net/secrets/a/123"))
            }
        }
    }

    @Test func aChallengeForAForeignDomainNeverGetsAToken() async throws {
        try await V.withVault { emulator, authority, transport in
            let reader = V.source(emulator, authority, transport)
            await expectCode(.permissionDenied, containing: "no token was sent") { _ = try await reader.secret(for: V.ref(emulator, "hostile", "/secrets/a")) }
            #expect(emulator.state.statistics["vault"] == 1)
            #expect(emulator.state.statistics["vault.authorized"] == nil)
            #expect(emulator.state.statistics["token"] == nil)  // not even requested
        }
    }

    @Test func throttlingIsRetriedWithRetryAfterAndCacheHitsStayLocal() async throws {
        try await V.withVault { emulator, authority, transport in
            let reader = V.source(emulator, authority, transport)
            let reference = try V.ref(emulator, "prod", "/secrets/defender-app-secret")
            _ = try await reader.secret(for: reference)
            emulator.state.reset()
            emulator.state.inject([Fault(target: "vault", kind: "status", status: 429, retryAfter: 1, count: 1),
                                   Fault(target: "vault", kind: "status", status: 429, count: 1)])  // no Retry-After: backs off anyway
            let started = ContinuousClock.now
            #expect(try await reader.secret(for: reference).revealedString() == V.appSecret)
            #expect(ContinuousClock.now - started >= .seconds(1))
            #expect(emulator.state.statistics["vault"] == 3)
            let cached = reader.cached(ttl: .seconds(60))
            emulator.state.reset()
            for _ in 0..<20 { _ = try await cached.secret(for: reference) }
            #expect(emulator.state.statistics["vault"] == 1)
        }
    }

    /// The whole cloud chain: the Defender app's secret lives in the vault, the vault is reached with
    /// managed identity, and the Defender token comes from that secret.
    @Test func defenderSecretInVaultReachedWithManagedIdentity() async throws {
        try await V.withVault { emulator, authority, transport in
            let managed = ManagedIdentityCredential(environment: [:], imdsEndpoint: "\(emulator.baseURL)/metadata/identity/oauth2/token", transport: transport)
            let vault = KeyVaultSource(credential: CachingTokenCredential(managed), transport: transport, allowedHosts: ["127.0.0.1"], environment: [:])
            let resolver = SecretResolver([vault.cached()])
            let defender = ClientSecretCredential(tenant: V.tenant, clientId: V.defenderApp, secret: try V.ref(emulator, "prod", "/secrets/defender-app-secret"),
                                                  resolver: resolver, authority: authority, transport: transport)
            let token = try await defender.getToken(TokenRequestContext(resource: "https://api.security.microsoft.com"))
            let decoded = try DecodedToken(try #require(token.token.revealedString()))
            #expect(decoded.claims["appid"]?.string == V.defenderApp)  // a v1 token, as Entra issues for Defender
            #expect(decoded.roles == ["Incident.Read.All"])
            #expect(emulator.state.statistics["imds"] == 2)  // the header-less probe, then the token request
        }
    }
}

@Suite struct KeyVaultCLITests {
    @Test func secretCommandsOnKeyVaultReferences() async throws {
        try await V.withVault(tls: false) { emulator, authority, _ in
            let environment = ["AZURE_TENANT_ID": V.tenant, "AZURE_CLIENT_ID": V.writer, "AZURE_CLIENT_SECRET": V.vaultSecret,
                               "AZURE_AUTHORITY_HOST": authority.description, "CLAVIS_KEYVAULT_ALLOWED_HOSTS": "127.0.0.1"]
            let vault = "keyvault:\(try V.url(emulator, "prod"))"
            let set = try await Command.clavis(["secret", "set", "\(vault)/secrets/from-cli"], stdin: Data("cli-value\n".utf8), environment: environment)
            #expect(set.status == 0, "\(set.stderr)")
            let get = try await Command.clavis(["secret", "get", "\(vault)/secrets/from-cli"], environment: environment)
            #expect(get.output == "cli-value\n", "\(get.stderr)")
            let list = try await Command.clavis(["secret", "list", vault], environment: environment)
            #expect(list.output.split(separator: "\n").contains("from-cli"))
            #expect(try await Command.clavis(["secret", "delete", "\(vault)/secrets/from-cli"], environment: environment).status == 0)
            let gone = try await Command.clavis(["secret", "get", "\(vault)/secrets/from-cli"], environment: environment)
            #expect(gone.stderr.hasPrefix("error: secret not found"))
            let refused = try await Command.clavis(["secret", "get", "\(vault)/secrets/x"], environment: environment.filter { $0.key != "CLAVIS_KEYVAULT_ALLOWED_HOSTS" })
            #expect(refused.stderr.hasPrefix("error: invalid secret reference"))
        }
    }
}

@Suite struct KeyVaultCredentialSelectionTests {
    /// The command's own `--tenant`, `--client-id`, `--secret`, `--authority` apply to `keyvault:`
    /// references (before: unknown options, and the AZURE_* variables alone decided), and one
    /// resolver — one token cache — serves every read: 100 `keyvault:` references in one
    /// `clavis run` cost one token request.
    @Test func credentialOptionsApplyToVaultReferencesAndOneTokenServesAHundredReads() async throws {
        try await V.withVault(tls: false) { emulator, authority, _ in
            let vault = "keyvault:\(try V.url(emulator, "prod"))/secrets/defender-app-secret"
            let environment = ["VAULT_APP_SECRET": V.vaultSecret, "CLAVIS_KEYVAULT_ALLOWED_HOSTS": "127.0.0.1"]
            let removing = ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST", "CLAVIS_CLIENT_SECRET_REF",
                            "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "CLAVIS_IMDS_ENDPOINT"]
            let credentials = ["--tenant", V.tenant, "--client-id", V.reader, "--secret", "env:VAULT_APP_SECRET", "--authority", authority.description]
            let get = try await Command.clavis(["secret", "get", vault] + credentials, environment: environment, removing: removing)
            #expect(get.status == 0, "\(get.stderr)")
            #expect(get.output == V.appSecret + "\n")
            #expect(emulator.state.statistics["token"] == 1)

            let bindings = (0..<100).flatMap { ["--env", "S\($0)=\(vault)"] }
            let run = try await Command.clavis(["run"] + bindings + credentials + ["--", "sh", "-c", "test \"$S0\" = \"$S99\" && echo same"],
                                               environment: environment, removing: removing, timeout: .seconds(120))
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.output == "same\n")
            #expect(emulator.state.statistics["token"] == 2)  // one more for the second process, not 100

            let incomplete = try await Command.clavis(["secret", "get", vault, "--secret", "env:VAULT_APP_SECRET"], environment: environment, removing: removing)
            #expect(incomplete.status == 64)
            #expect(incomplete.stderr == "error: a tenant is required: --tenant or AZURE_TENANT_ID\n")
        }
    }
}

@Suite struct KeyVaultAttributeCLITests {
    /// `secret set` with Key Vault attributes, `secret info` (never the value), `list --deleted`,
    /// `recover` and `purge`.
    @Test func attributesRecoverAndPurgeFromTheCLI() async throws {
        try await V.withVault(tls: false) { emulator, authority, _ in
            let environment = ["AZURE_TENANT_ID": V.tenant, "AZURE_CLIENT_ID": V.writer, "AZURE_CLIENT_SECRET": V.vaultSecret,
                               "AZURE_AUTHORITY_HOST": authority.description, "CLAVIS_KEYVAULT_ALLOWED_HOSTS": "127.0.0.1"]
            let secret = "keyvault:\(try V.url(emulator, "prod"))/secrets/Tagged"
            let value = "tagged-value-\(UUID().uuidString)"
            let set = try await Command.clavis(["secret", "set", secret, "--content-type", "text/plain", "--tag", "env=prod", "--tag", "team=sec",
                                                "--expires", "2030-01-31", "--not-before", "@1700000000"], stdin: Data("\(value)\n".utf8), environment: environment)
            #expect(set.status == 0, "\(set.stderr)")
            let info = try await Command.clavis(["secret", "info", secret, "--json"], environment: environment)
            #expect(info.status == 0, "\(info.stderr)")
            #expect(!info.output.contains(value) && !info.stderr.contains(value))
            let properties = try JSONDecoder().decode(KeyVaultSecretProperties.self, from: info.stdout)
            #expect(properties.contentType == "text/plain" && properties.tags == ["env": "prod", "team": "sec"])
            let expected = Int(try Date("2030-01-31T00:00:00Z", strategy: .iso8601).timeIntervalSince1970)
            #expect(properties.notBefore == 1_700_000_000 && properties.expires == expected)
            let text = try await Command.clavis(["secret", "info", secret], environment: environment)
            #expect(text.output.contains("tags: env=prod, team=sec") && text.output.contains("enabled: true"), "\(text.output)")
            let disable = try await Command.clavis(["secret", "disable", secret], environment: environment)
            #expect(disable.status == 0, "\(disable.stderr)")
            let disabledRead = try await Command.clavis(["secret", "get", secret, "--json"], environment: environment)
            #expect(disabledRead.status == 1 && disabledRead.stderr.contains("SecretDisabled"), "\(disabledRead.stderr)")
            // With --json the vault's own status and code are in the error object, to branch on.
            let report = try JSONSerialization.jsonObject(with: disabledRead.stdout) as? [String: Any]
            let body = try #require(report?["error"] as? [String: Any], "\(disabledRead.output)")
            #expect(body["code"] as? String == "permission-denied" && body["httpStatus"] as? Int == 403)
            #expect(body["serviceCode"] as? String == "SecretDisabled", "\(body)")
            #expect(try await Command.clavis(["secret", "enable", secret], environment: environment).status == 0)
            #expect(try await Command.clavis(["secret", "get", secret], environment: environment).output == value + "\n")
            #expect(try await Command.clavis(["secret", "delete", secret], environment: environment).status == 0)
            let deleted = try await Command.clavis(["secret", "list", "--deleted", "keyvault:\(try V.url(emulator, "prod"))"], environment: environment)
            #expect(deleted.output.hasPrefix("Tagged (purged "), "\(deleted.output) \(deleted.stderr)")
            let recover = try await Command.clavis(["secret", "recover", secret], environment: environment)
            #expect(recover.status == 0, "\(recover.stderr)")
            #expect(try await Command.clavis(["secret", "get", secret], environment: environment).output == value + "\n")
            #expect(try await Command.clavis(["secret", "delete", secret], environment: environment).status == 0)
            let purge = try await Command.clavis(["secret", "purge", secret], environment: environment)
            #expect(purge.status == 0, "\(purge.stderr)")
            let none = try await Command.clavis(["secret", "list", "--deleted", "keyvault:\(try V.url(emulator, "prod"))"], environment: environment)
            #expect(none.status == 0 && none.output.isEmpty)
            let notVault = try await Command.clavis(["secret", "purge", "env:HOME"], environment: environment)
            #expect(notVault.status == 64 && notVault.stderr.contains("Key Vault feature"))
        }
    }
}
