import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// No redirect is ever followed: the token endpoint's 3xx is an error, and the other origin sees nothing.
@Suite(.serialized) struct RedirectTests {
    /// Another origin on loopback that counts what reaches it.
    static func otherOrigin() async throws -> RunningEmulator {
        try await Emulator.start(EmulatorConfig(tenants: [.init(id: F.tenant, apps: [.init(clientId: F.secretApp, secrets: [F.secret],
                                                                                            permissions: [F.defender: F.roles])])]))
    }

    @Test func aRedirectFromTheTokenEndpointIsNeverFollowed() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            let other = try await Self.otherOrigin()
            emulator.state.inject([Fault(target: "token", kind: "redirect", status: 307,
                                         location: "http://127.0.0.1:\(other.port)/\(F.tenant)/oauth2/v2.0/token?code=hidden-query")])
            await expectFailure(ClavisError.self, where: { error in
                error.code == .serviceError && error.description.contains("127.0.0.1:\(other.port)") && !error.description.contains("hidden-query")
                    && !error.description.contains(F.secret)
            }, containing: "HTTP 307") {
                _ = try await secretCredential(authority, transport).getToken(F.context)
            }
            #expect(other.state.statistics.isEmpty, "the other origin saw \(other.state.statistics)")
            await other.stop()
        }
    }
}
