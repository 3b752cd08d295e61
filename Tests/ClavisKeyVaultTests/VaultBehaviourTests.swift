import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisKeyVault
import ClavisTestSupport
import Foundation
import Testing

/// Key Vault as the service behaves: tokens checked as Key Vault checks them, soft delete that
/// takes time, 401 with an unchanged challenge answered with one fresh token.
@Suite(.serialized) struct VaultBehaviourTests {
    static let otherTenant = "0b9d2c71-1111-4222-8333-444455556666"

    static func config(pending: Int = 1500) -> EmulatorConfig {
        EmulatorConfig(tenants: [
            .init(id: V.tenant, apps: [.init(clientId: V.writer, secrets: [V.vaultSecret])]),
            .init(id: otherTenant, apps: [.init(clientId: V.writer, secrets: [V.vaultSecret])]),
        ], vaults: [
            .init(name: "slow", tenant: V.tenant, secrets: ["Mixed-Case": "m"],
                  access: [V.writer: ["get", "list", "set", "delete", "recover", "purge"]], pendingMilliseconds: pending),
            .init(name: "policy", tenant: V.tenant, secrets: ["a": "1"], access: [V.writer: ["get", "delete"]], authorization: "policy",
                  pendingMilliseconds: 0),
        ])
    }

    static func withEmulator(pending: Int = 1500, _ body: (RunningEmulator, Authority, HTTPTransport) async throws -> Void) async throws {
        let emulator = try await Emulator.start(config(pending: pending))
        let transport = HTTPTransport(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200), maxTotal: .seconds(30)))
        do {
            try await body(emulator, try Authority(emulator.baseURL), transport)
        } catch {
            await emulator.stop()
            throw error
        }
        await emulator.stop()
    }

    static func client(_ authority: Authority, _ transport: HTTPTransport, polling: KeyVaultPolling = KeyVaultPolling(interval: .milliseconds(100), timeout: .seconds(20)),
                       credential: (any TokenCredential)? = nil) -> KeyVaultClient {
        KeyVaultClient(credential: credential ?? CachingTokenCredential(ClientSecretCredential(tenant: V.tenant, clientId: V.writer, reference: "m",
                                                                                             authority: authority, transport: transport) { Secret(V.vaultSecret) }),
                       transport: transport, polling: polling)
    }

    static func location(_ emulator: RunningEmulator, _ vault: String, _ name: String? = nil) throws -> KeyVaultLocation {
        try KeyVaultLocation("\(try V.url(emulator, vault))" + (name.map { "/secrets/\($0)" } ?? ""), reference: name ?? vault, allowedHosts: ["127.0.0.1"])
    }

    /// Every way a token can be wrong gets a 401 with a challenge naming the vault's own tenant
    /// (azure-security-docs rest-error-codes.md, "HTTP 401: Unauthenticated Request").
    @Test func everyBadTokenIsRefusedWithAChallenge() async throws {
        try await Self.withEmulator { emulator, _, _ in
            let state = emulator.state
            let url = "\(try V.url(emulator, "slow"))/secrets/Mixed-Case?api-version=7.6"
            let now = Date()
            let good = try await state.mintToken(audience: "https://vault.azure.net", tenant: V.tenant, appId: V.writer)
            var forged = good.split(separator: ".").map(String.init)
            forged[2] = String(forged[2].reversed())
            let cases: [(String, String?, String)] = [
                ("no token", nil, "AKV10000"),
                ("expired", try await state.mintToken(audience: "https://vault.azure.net", tenant: V.tenant, appId: V.writer,
                                                      notBefore: now.addingTimeInterval(-7200), expires: now.addingTimeInterval(-360)), "TokenExpired"),
                ("not yet valid", try await state.mintToken(audience: "https://vault.azure.net", tenant: V.tenant, appId: V.writer,
                                                            notBefore: now.addingTimeInterval(3600), expires: now.addingTimeInterval(7200)), "Token not yet valid"),
                // A trailing slash is another audience to Key Vault (go-autorest#525).
                ("audience with a trailing slash", try await state.mintToken(audience: "https://vault.azure.net/", tenant: V.tenant, appId: V.writer),
                 "AKV10022: Invalid audience"),
                ("wrong audience", try await state.mintToken(audience: "https://graph.microsoft.com", tenant: V.tenant, appId: V.writer), "AKV10022: Invalid audience"),
                ("wrong issuer", try await state.mintToken(audience: "https://vault.azure.net", tenant: V.tenant, appId: V.writer,
                                                           issuer: "https://evil.example/\(V.tenant)/"), "AKV10032: Invalid issuer"),
                ("forged", forged.joined(separator: "."), "signature"),
                ("another tenant", try await state.mintToken(audience: "https://vault.azure.net", tenant: Self.otherTenant, appId: V.writer), "AKV10032"),
            ]
            let transport = HTTPTransport(retry: .noRetries)
            for (name, token, message) in cases {
                let reply = try await transport.send(.GET, url, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
                #expect(reply.status == 401, "\(name)")
                #expect(reply.header("WWW-Authenticate")?.contains("/\(V.tenant)\", resource=\"https://vault.azure.net\"") == true, "\(name)")
                let error = reply.jsonObject?["error"] as? [String: Any]
                #expect(error?["code"] as? String == "Unauthorized", "\(name)")
                #expect((error?["message"] as? String)?.contains(message) == true, "\(name): \(String(describing: error?["message"]))")
            }
            let ok = try await transport.send(.GET, url, headers: [("Authorization", "Bearer \(good)")])
            #expect(ok.status == 200)
            // maxresults is 1…25; beyond, 400 BadParameter (Get Secrets REST reference).
            let listURL = url.components(separatedBy: "/secrets/")[0] + "/secrets?api-version=7.6&maxresults="
            #expect(try await transport.send(.GET, listURL + "26", headers: [("Authorization", "Bearer \(good)")]).status == 400)
            #expect(try await transport.send(.GET, listURL + "25", headers: [("Authorization", "Bearer \(good)")]).status == 200)
            // Asked by Key Vault's application id, `aud` is that id, and Key Vault accepts it (argocd-vault-plugin#621).
            let byId = try await state.mintToken(audience: "cfa8b339-82a2-471a-a3c9-0fc0be7a4093", tenant: V.tenant, appId: V.writer)
            #expect(try await transport.send(.GET, url, headers: [("Authorization", "Bearer \(byId)")]).status == 200)
            #expect((ok.jsonObject?["id"] as? String)?.hasPrefix("\(try V.url(emulator, "slow"))/secrets/Mixed-Case/") == true)
        }
    }

    /// Delete, recover and purge take time; the client waits (polling as the Azure SDK does) and
    /// retries `ObjectIsBeingDeleted`, bounded.
    /// The window is 3 s, far beyond the impatient client's 200 ms: under a loaded CI machine a
    /// 1.5 s window once closed before the impatient purge was sent, and the purge succeeded.
    @Test func theClientWaitsThroughPendingSoftDeleteWindows() async throws {
        try await Self.withEmulator(pending: 3000) { emulator, authority, transport in
            let client = Self.client(authority, transport)
            let secret = try Self.location(emulator, "slow", "Pending")
            try await client.set(secret, value: Secret("v1"), contentType: "text/plain", tags: ["env": "test"], reference: "p")
            var started = ContinuousClock.now
            try await client.delete(secret, reference: "p")
            #expect(ContinuousClock.now - started >= .milliseconds(1000))  // it waited for the deletion to complete
            #expect(try await client.listDeletedNames(secret, reference: "p") == ["Pending"])  // so it is listed at once
            let deleted = try await client.deleted(secret, reference: "p")
            #expect(deleted.recoveryId?.hasSuffix("/deletedsecrets/Pending") == true && deleted.scheduledPurgeDate != nil)
            started = ContinuousClock.now
            try await client.recover(secret, reference: "p")
            #expect(ContinuousClock.now - started >= .milliseconds(1000))
            #expect(try await client.get(secret, reference: "p").value.revealedString() == "v1")  // readable at once
            // A purge right after a delete that was not awaited: 409 "currently being deleted", retried.
            let impatient = Self.client(authority, transport, polling: KeyVaultPolling(interval: .milliseconds(50), timeout: .milliseconds(200)))
            await expectCode(.timedOut, containing: "had not completed") { try await impatient.delete(secret, reference: "p") }
            await expectCode(.sourceUnavailable, containing: "ObjectIsBeingDeleted") { try await impatient.purge(secret, reference: "p") }
            try await client.purge(secret, reference: "p")
            // Re-creating the name while the purge completes: 409 ObjectIsBeingDeleted, retried until free.
            await expectCode(.sourceUnavailable, containing: "ObjectIsBeingDeleted") { try await impatient.set(secret, value: Secret("x"), reference: "p") }
            try await client.set(secret, value: Secret("v2"), reference: "p")
            #expect(try await client.get(secret, reference: "p").value.revealedString() == "v2")
            #expect(try await client.listVersions(secret, reference: "p").count == 1)  // the purged versions are gone
        }
    }

    @Test func namesAreCaseInsensitiveAndAttributesAreKept() async throws {
        try await Self.withEmulator(pending: 0) { emulator, authority, transport in
            let client = Self.client(authority, transport)
            let lower = try Self.location(emulator, "slow", "mixed-case")
            let read = try await client.get(lower, reference: "m")
            #expect(read.id.contains("/secrets/Mixed-Case/"))  // the creation casing
            let expires = Date().addingTimeInterval(-60), notBefore = Date().addingTimeInterval(-3600)
            let stored = try await client.set(try Self.location(emulator, "slow", "Expiring"), value: Secret("old"), contentType: "text/plain",
                                              tags: ["a": "b"], notBefore: notBefore, expires: expires, reference: "e")
            #expect(stored.expires == Int(expires.timeIntervalSince1970) && stored.notBefore == Int(notBefore.timeIntervalSince1970))
            let expiring = try Self.location(emulator, "slow", "EXPIRING")
            #expect(try await client.get(expiring, reference: "e").value.revealedString() == "old")  // exp is informational
            let listed = try await client.listProperties(try Self.location(emulator, "slow"), reference: "v")
            let item = try #require(listed.first { $0.name == "Expiring" })
            #expect(item.contentType == "text/plain" && item.tags == ["a": "b"] && item.enabled && item.created != nil && item.updated != nil)
            #expect(item.recoveryLevel == "Recoverable+Purgeable" && item.recoverableDays == 90 && item.expires != nil)
            try await client.setEnabled(false, expiring, reference: "e")
            await expectCode(.permissionDenied, containing: "SecretDisabled") { _ = try await client.get(expiring, reference: "e") }
            #expect(try await client.properties(expiring, reference: "e").enabled == false)  // from the versions list
            #expect(try await client.listProperties(try Self.location(emulator, "slow"), reference: "v").first { $0.name == "Expiring" }?.enabled == false)
            try await client.setEnabled(true, expiring, reference: "e")
            #expect(try await client.properties(expiring, reference: "e").enabled)
        }
    }

    /// Recover and purge are permissions of their own.
    @Test func recoverAndPurgeNeedTheirOwnPermissions() async throws {
        try await Self.withEmulator(pending: 0) { emulator, authority, transport in
            let client = Self.client(authority, transport)
            let secret = try Self.location(emulator, "policy", "a")
            try await client.delete(secret, reference: "a")
            await expectCode(.permissionDenied, containing: "ForbiddenByPolicy") { try await client.recover(secret, reference: "a") }
            await expectCode(.permissionDenied, containing: "ForbiddenByPolicy") { try await client.purge(secret, reference: "a") }
        }
    }

    /// A token the vault refuses although the challenge is unchanged (revoked, say) is dropped
    /// from the cache and replaced once; a second refusal is reported.
    @Test func a401WithAnUnchangedChallengeGetsOneFreshToken() async throws {
        try await Self.withEmulator(pending: 0) { emulator, authority, transport in
            let real = ClientSecretCredential(tenant: V.tenant, clientId: V.writer, reference: "m", authority: authority, transport: transport) { Secret(V.vaultSecret) }
            let revoked = try await emulator.state.mintToken(audience: "https://vault.azure.net", tenant: V.tenant, appId: V.writer,
                                                             notBefore: Date().addingTimeInterval(-7200), expires: Date().addingTimeInterval(-600))
            let flaky = Revoking(real: real, revoked: revoked, badTokens: 1)
            let client = Self.client(authority, transport, credential: CachingTokenCredential(flaky))
            let secret = try Self.location(emulator, "slow", "Mixed-Case")
            #expect(try await client.get(secret, reference: "m").value.revealedString() == "m")
            #expect(await flaky.calls == 2)  // the refused token was dropped from the cache and replaced
            #expect(emulator.state.statistics["vault"] == 3)  // unauthenticated, refused token, fresh token

            let hopeless = Revoking(real: real, revoked: revoked, badTokens: 10)
            emulator.state.reset()
            await expectCode(.permissionDenied, containing: "did not accept the token") {
                _ = try await Self.client(authority, transport, credential: CachingTokenCredential(hopeless)).get(secret, reference: "m")
            }
            #expect(await hopeless.calls == 2)  // exactly one retry
            #expect(emulator.state.statistics["vault"] == 3)
        }
    }
}

/// Hands out a token the vault refuses for the first `badTokens` requests, then real ones.
actor Revoking: TokenCredential {
    let real: any TokenCredential
    let revoked: String
    let badTokens: Int
    private(set) var calls = 0

    init(real: any TokenCredential, revoked: String, badTokens: Int) {
        self.real = real
        self.revoked = revoked
        self.badTokens = badTokens
    }

    nonisolated var credentialDescription: String { "revoking test credential" }

    func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        calls += 1
        if calls <= badTokens { return AccessToken(token: Secret(revoked), expiresOn: Date().addingTimeInterval(3600)) }
        return try await real.getToken(context)
    }
}
