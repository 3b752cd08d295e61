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

/// A token reply with times no clock can hold is refused or clamped, never trusted and never a
/// trap (a conversion of `"inf"`, which parses as a Double, used to crash the process).
@Suite(.serialized) struct HostileTokenReplyTests {
    @Test(arguments: ["\"inf\"", "\"nan\"", "\"-inf\""])
    func nonFiniteTimesAreRefused(expiresIn: String) async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            emulator.state.inject([Fault(target: "token", kind: "body",
                                         body: "{\"access_token\":\"a.b.c\",\"token_type\":\"Bearer\",\"expires_in\":\(expiresIn)}")])
            await expectFailure(ClavisError.self, where: { $0.code == .serviceError }, containing: "expires_in that is not a finite number") {
                _ = try await CachingTokenCredential(secretCredential(authority, transport)).getToken(F.context)
            }
        }
    }

    @Test(arguments: ["1e300", "-1e300", "1e18"])
    func hugeTimesAreClamped(expiresIn: String) async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            emulator.state.inject([Fault(target: "token", kind: "body",
                                         body: "{\"access_token\":\"a.b.c\",\"token_type\":\"Bearer\",\"expires_in\":\(expiresIn),\"refresh_in\":\(expiresIn)}")])
            let cache = CachingTokenCredential(secretCredential(authority, transport))
            let token = try await cache.getToken(F.context)
            #expect(token.expiresOn.timeIntervalSinceNow <= 366 * 86_400 + 5)
            #expect(token.expiresOn.timeIntervalSinceNow >= -5)
            _ = try? await cache.getToken(F.context)  // a second call converts the cached times again: no trap
        }
    }
}
