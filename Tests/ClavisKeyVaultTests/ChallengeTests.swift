import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisKeyVault
import ClavisTestSupport
import Foundation
import Testing

/// Key Vault's challenge, paging and redirects: a token only for the validated resource and an
/// allowed tenant, pages only from the vault's origin, no redirect followed.
@Suite(.serialized) struct ChallengeTests {
    static let otherTenant = "0b9d2c71-1111-4222-8333-444455556666"

    static func config(nextLinkPort: Int? = nil) -> EmulatorConfig {
        EmulatorConfig(tenants: [
            .init(id: V.tenant, apps: [.init(clientId: V.reader, secrets: [V.vaultSecret])]),
            .init(id: otherTenant, apps: [.init(clientId: V.reader, secrets: [V.vaultSecret])]),
        ], vaults: [
            .init(name: "prod", tenant: V.tenant, secrets: ["a": "1", "b": "2", "c": "3"], access: [V.reader: ["get", "list"]], pageSize: 1),
            .init(name: "mismatch", tenant: V.tenant, secrets: ["a": "1"], access: [V.reader: ["get"]],
                  challengeScope: "https://graph.microsoft.com/.default"),
            .init(name: "foreign", tenant: otherTenant, secrets: ["a": "foreign"], access: [V.reader: ["get"]]),
            .init(name: "port", tenant: V.tenant, secrets: ["a": "1", "b": "2"], access: [V.reader: ["list"]], pageSize: 1, nextLinkPort: nextLinkPort),
            .init(name: "scheme", tenant: V.tenant, secrets: ["a": "1", "b": "2"], access: [V.reader: ["list"]], pageSize: 1, nextLinkScheme: "https"),
        ])
    }

    /// A plain-http emulator with the vaults above, and another loopback origin that counts what reaches it.
    static func withVaults(_ body: (RunningEmulator, RunningEmulator, Authority, HTTPTransport) async throws -> Void) async throws {
        let other = try await Emulator.start(config())
        let emulator = try await Emulator.start(config(nextLinkPort: other.vaultPorts["port"]))
        let transport = HTTPTransport(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200), maxTotal: .seconds(30)))
        do {
            try await body(emulator, other, try Authority(emulator.baseURL), transport)
        } catch {
            await emulator.stop()
            await other.stop()
            throw error
        }
        await emulator.stop()
        await other.stop()
    }

    static func source(_ authority: Authority, _ transport: HTTPTransport, allowing tenants: [String] = []) -> KeyVaultSource {
        let credential = ClientSecretCredential(tenant: V.tenant, clientId: V.reader, reference: "memory:vault-client", authority: authority,
                                                transport: transport, additionallyAllowedTenants: tenants) { Secret(V.vaultSecret) }
        return KeyVaultSource(credential: CachingTokenCredential(credential), transport: transport, allowedHosts: ["127.0.0.1"], environment: [:])
    }

    @Test func aChallengeWhoseScopeAndResourceDisagreeGetsNoToken() async throws {
        try await Self.withVaults { emulator, _, authority, transport in
            await expectCode(.permissionDenied, containing: "disagree") {
                _ = try await Self.source(authority, transport).secret(for: V.ref(emulator, "mismatch", "/secrets/a"))
            }
            #expect(emulator.state.statistics["token"] == nil)  // no token requested, for either
            #expect(emulator.state.statistics["vault.authorized"] == nil)
        }
    }

    @Test func aChallengeNamingAnotherTenantIsFollowedOnlyWhenAllowed() async throws {
        try await Self.withVaults { emulator, _, authority, transport in
            await expectCode(.permissionDenied, containing: "asked for a token from tenant \(Self.otherTenant), but the credential is for tenant") {
                _ = try await Self.source(authority, transport).secret(for: V.ref(emulator, "foreign", "/secrets/a"))
            }
            #expect(emulator.state.statistics["token"] == nil)
            for allowed in [[Self.otherTenant], ["*"]] {
                let value = try await Self.source(authority, transport, allowing: allowed).secret(for: V.ref(emulator, "foreign", "/secrets/a"))
                #expect(value.revealedString() == "foreign")
            }
            // The vault's own tenant needs no allowance.
            let own = try await Self.source(authority, transport).secret(for: V.ref(emulator, "prod", "/secrets/a"))
            #expect(own.revealedString() == "1")
        }
    }

    @Test func aNextLinkToAnotherPortOrSchemeIsNotFollowed() async throws {
        try await Self.withVaults { emulator, other, authority, transport in
            let source = Self.source(authority, transport)
            let names = try await source.listNames(in: V.ref(emulator, "prod"))
            #expect(names == ["a", "b", "c"])  // same-origin paging works
            await expectCode(.permissionDenied, containing: "outside the vault's origin") {
                _ = try await source.listNames(in: V.ref(emulator, "port"))
            }
            #expect(other.state.statistics.isEmpty, "the other origin saw \(other.state.statistics)")
            await expectCode(.permissionDenied, containing: "https://127.0.0.1:\(try #require(emulator.vaultPorts["scheme"])), outside the vault's origin") {
                _ = try await source.listNames(in: V.ref(emulator, "scheme"))
            }
        }
    }

    @Test func aRedirectFromTheVaultIsNeverFollowed() async throws {
        try await Self.withVaults { emulator, other, authority, transport in
            let source = Self.source(authority, transport)
            let reference = try V.ref(emulator, "prod", "/secrets/a")
            _ = try await source.secret(for: reference)  // challenge answered, token cached: the next request carries it
            emulator.state.inject([Fault(target: "vault", kind: "redirect", status: 307,
                                         location: "\(try V.url(other, "prod"))/secrets/a?api-version=7.6")])
            await expectCode(.serviceError, containing: "HTTP 307, redirecting to 127.0.0.1:\(try #require(other.vaultPorts["prod"]))") { _ = try await source.secret(for: reference) }
            #expect(other.state.statistics.isEmpty, "the other origin saw \(other.state.statistics)")
        }
    }
}
