import ClavisCore
import ClavisDefender
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// The bearer token goes only to the API's own origin: https (or loopback) base URLs, no link or
/// redirect followed elsewhere.
@Suite(.serialized) struct OriginTests {
    @Test(arguments: ["http://api.security.microsoft.com", "http://127.evil.example", "http://localhost.evil:8080", "ftp://127.0.0.1",
                      "http://127%2E0.0.1:8080"])
    func aPlainHTTPBaseURLOffLoopbackIsRefused(_ url: String) {
        expectFailure(ClavisError.self, where: { $0.code.is(.invalidValue) }) { _ = try DefenderEndpoint(baseURL: url) }
    }

    @Test func httpsAndLoopbackBaseURLsAreAccepted() throws {
        for url in ["https://api.security.microsoft.com", "http://127.0.0.1:8080/", "http://[::1]:8080", "http://localhost:1"] {
            _ = try DefenderEndpoint(baseURL: url)
        }
    }

    static func config(nextLinkPort: Int? = nil) -> EmulatorConfig {
        EmulatorConfig(tenants: [.init(id: D.tenant, apps: [
            .init(clientId: D.graphApp, secrets: [D.secret], permissions: ["https://graph.microsoft.com": ["SecurityIncident.ReadWrite.All", "ThreatHunting.Read.All"]]),
        ])], defender: .init(incidents: 30, nextLinkPort: nextLinkPort))
    }

    /// An emulator whose Graph `@odata.nextLink`s point at another loopback origin, which counts what reaches it.
    static func withAPIs(_ body: (RunningEmulator, RunningEmulator, DefenderClient) async throws -> Void) async throws {
        let other = try await Emulator.start(config())
        let emulator = try await Emulator.start(config(nextLinkPort: other.port))
        let transport = HTTPTransport(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200), maxTotal: .seconds(30)))
        do {
            let credential = ClientSecretCredential(tenant: D.tenant, clientId: D.graphApp, reference: "memory:s", authority: try Authority(emulator.baseURL),
                                                    transport: transport) { Secret(D.secret) }
            let client = DefenderClient(credential: CachingTokenCredential(credential),
                                        endpoint: try DefenderEndpoint(baseURL: emulator.baseURL, flavour: .graph), transport: transport)
            try await body(emulator, other, client)
        } catch {
            await emulator.stop()
            await other.stop()
            throw error
        }
        await emulator.stop()
        await other.stop()
    }

    @Test func aNextLinkToAnotherOriginIsAnErrorAndGetsNoRequest() async throws {
        try await Self.withAPIs { emulator, other, client in
            var seen = 0
            await expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "points to http://127.0.0.1:\(other.port), outside the API's origin") {
                for try await _ in client.incidents(pageSize: 10) { seen += 1 }
            }
            #expect(seen == 10)  // the first page, from the API itself
            #expect(emulator.state.statistics["graph"] == 1)
            #expect(other.state.statistics.isEmpty, "the other origin saw \(other.state.statistics)")
        }
    }

    @Test func aRedirectFromTheAPIIsNeverFollowed() async throws {
        try await Self.withAPIs { emulator, other, client in
            _ = try await client.incident(1)
            emulator.state.inject([Fault(target: "defender", kind: "redirect", status: 307,
                                         location: "http://127.0.0.1:\(other.port)/v1.0/security/incidents/1")])
            await expectFailure(ClavisError.self, where: { $0.code.is(.serviceError) }, containing: "HTTP 307, redirecting to 127.0.0.1:\(other.port)") {
                _ = try await client.incident(1)
            }
            #expect(other.state.statistics.isEmpty, "the other origin saw \(other.state.statistics)")
        }
    }
}
