import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// The credential chain, and tenants of token requests.
@Suite(.serialized) struct ChainAndTenantTests {
    /// A configured credential whose authority cannot be reached fails with that network error; the
    /// chain does not fall through to the host's managed identity (a different principal).
    @Test func aConfiguredCredentialsNetworkErrorStopsTheChain() async throws {
        try await F.withEmulator { emulator, _, transport, _, _ in
            let environment = ["AZURE_TENANT_ID": F.tenant, "AZURE_CLIENT_ID": F.secretApp, "AZURE_CLIENT_SECRET": F.secret,
                               "AZURE_AUTHORITY_HOST": "http://127.0.0.1:9"]  // nothing listens
            let configured = EnvironmentCredential(environment: environment, resolver: SecretResolver([]),
                                                   transport: HTTPTransport(retry: .noRetries, attemptTimeout: .seconds(5)))
            let managed = ManagedIdentityCredential(environment: [:], imdsEndpoint: "\(emulator.baseURL)/metadata/identity/oauth2/token", transport: transport)
            _ = try await managed.getToken(F.context)  // the managed identity works: falling through would succeed
            emulator.state.reset()
            let chain = ChainedTokenCredential([configured, managed])
            // The network error itself travels as the cause (AsyncHTTPClient's or NIO's, not text).
            await expectFailure(ClavisError.self, where: { $0.code.is(.sourceUnavailable) && !$0.description.contains(F.secret) && $0.cause != nil },
                                containing: "could not reach 127.0.0.1") {
                _ = try await chain.getToken(F.context)
            }
            #expect(emulator.state.statistics["imds"] == nil)
            // Unconfigured, it is "unavailable" and the chain moves on.
            let unconfigured = EnvironmentCredential(environment: [:], resolver: SecretResolver([]), transport: transport)
            _ = try await ChainedTokenCredential([unconfigured, managed]).getToken(F.context)
            #expect(emulator.state.statistics["imds"] == 1)  // the probe was done (and remembered) above
        }
    }

    @Test func anotherTenantIsAskedOnlyWhenAllowed() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            let other = "0b9d2c71-1111-4222-8333-444455556666"
            await expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "but the credential is for tenant") {
                _ = try await secretCredential(authority, transport).getToken(TokenRequestContext(resource: F.defender, tenant: other))
            }
            #expect(emulator.state.statistics["token"] == nil)  // not even requested
            // The configured tenant named explicitly is fine; an allowed tenant is asked.
            _ = try await secretCredential(authority, transport).getToken(TokenRequestContext(resource: F.defender, tenant: F.tenant.uppercased()))
            let allowing = ClientSecretCredential(tenant: F.tenant, clientId: F.secretApp, reference: "memory:app-secret", authority: authority,
                                                  transport: transport, additionallyAllowedTenants: [other]) { Secret(F.secret) }
            await expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "AADSTS90002") {  // the emulator has no such tenant
                _ = try await allowing.getToken(TokenRequestContext(resource: F.defender, tenant: other))
            }
            #expect(emulator.state.statistics["token"] == 2)
        }
    }
}
