import ClavisCore
import ClavisDefender
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// A credential handing out one fixed token (for the bad-token cases).
struct FixedToken: TokenCredential {
    let token: String
    func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        AccessToken(token: Secret(token), expiresOn: Date().addingTimeInterval(3600))
    }
    var credentialDescription: String { "fixed test token" }
}

/// Quotas, 429s, non-idempotent requests, hunting deadlines and token checks against the emulator
/// in its documented behaviour (research-15 §2.3, §3, §4, §5.4, §6).
@Suite(.serialized) struct ServiceLimitsTests {
    /// D-LIST: 1,500 calls per hour. The 1,501st call gets a 429 whose body names the reset; the client
    /// (10 s budget) fails at once naming the wait and does not resend.
    @Test func anHourlyQuotaHitFailsFastNamingTheWait() async throws {
        try await D.withDefender(config: .init(incidents: 3, callsPerMinute: 0), waitBudget: .seconds(10)) { emulator, _ in
            let token = try await D.token(emulator, app: D.reader, resource: "https://api.security.microsoft.com")
            let client = DefenderClient(credential: FixedToken(token: token), endpoint: try DefenderEndpoint(baseURL: emulator.baseURL),
                                        transport: HTTPTransport(retry: RetryPolicy(baseDelay: .milliseconds(20), maxTotal: .seconds(60))),
                                        callsPerMinute: 100_000, callsPerHour: 100_000, waitBudget: .seconds(10))
            for _ in 0..<1500 { _ = try await client.incident(1) }
            let started = ContinuousClock.now
            await expectFailure(ClavisError.self, where: { $0.code.is(.sourceUnavailable) }, containing: "maximum allowed 1500 per 01:00:00") {
                _ = try await client.incident(1)
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(emulator.state.statistics["defender"] == 1501)
        }
    }

    /// D-INC: the reset time is in the body; no Retry-After. The client waits it out in full.
    @Test func aResetTimeOnlyInTheBodyIsWaitedFor() async throws {
        try await D.withDefender(incidents: 3) { emulator, client in
            let reader = client(D.reader)
            _ = try await reader.incident(1)
            emulator.state.inject([Fault(target: "defender", kind: "status", status: 429, retryAfter: 2, count: 1, retryAfterHeader: false)])
            let started = ContinuousClock.now
            _ = try await reader.incident(2)
            #expect(ContinuousClock.now - started >= .seconds(2))
            #expect(emulator.state.statistics["defender"] == 3)
        }
    }

    /// A 60 s Retry-After with a 10 s budget: no early retry, an immediate error naming the wait.
    @Test func aLongRetryAfterBeyondTheBudgetFailsFast() async throws {
        try await D.withDefender(incidents: 3, waitBudget: .seconds(10)) { emulator, client in
            let reader = client(D.reader)
            _ = try await reader.incident(1)
            emulator.state.inject([Fault(target: "defender", kind: "status", status: 429, retryAfter: 60, count: 1)])
            let started = ContinuousClock.now
            await expectFailure(ClavisError.self, where: { $0.code.is(.sourceUnavailable) }, containing: "retry after 60 s") {
                _ = try await reader.incident(2)
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(emulator.state.statistics["defender"] == 2)
        }
    }

    /// D-UPD: a PATCH with `comment` appends. Answered 500 after the change was applied, it is not
    /// resent: the incident has exactly one comment. The same for Graph's POST …/comments (G-COM).
    @Test func aCommentAnswered500AfterItWasAppliedIsNotResent() async throws {
        try await D.withDefender(incidents: 10) { emulator, client in
            emulator.state.inject([Fault(target: "defender", kind: "statusAfter", status: 500, count: 1)])
            await expectFailure(ClavisError.self, where: { $0.code.is(.serviceError) }, containing: "HTTP 500") {
                _ = try await client(D.writer).update(3, fields: ["comment": .string("only once")])
            }
            #expect(emulator.state.statistics["defender"] == 1)
            let comments = try await client(D.reader).incident(3).comments
            #expect(comments == ["only once"])
            // An update without a comment is idempotent and is retried.
            emulator.state.inject([Fault(target: "defender", kind: "status", status: 503, count: 1)])
            let retried = try await client(D.writer).update(3, fields: ["status": .string("InProgress")])
            #expect(retried.status == "InProgress")
        }
        try await D.withDefender(incidents: 10, graph: true) { emulator, client in
            let graph = client(D.graphApp)
            emulator.state.inject([Fault(target: "graph", kind: "statusAfter", status: 500, count: 1)])
            await expectFailure(ClavisError.self, where: { $0.code.is(.serviceError) }, containing: "HTTP 500") {
                _ = try await graph.update(3, fields: ["comment": .string("only once")])
            }
            let graphComments = try await graph.incident(3).comments
            #expect(graphComments == ["only once"])
        }
    }

    /// D-AH: a query may run up to 3 minutes. A 45 s query succeeds (past the transport's 30 s default)
    /// and is sent once.
    @Test func aFortyFiveSecondHuntingQuerySucceeds() async throws {
        try await D.withDefender(incidents: 1) { emulator, client in
            emulator.state.inject([Fault(target: "hunting", kind: "delay", delayMilliseconds: 45_000, count: 1)])
            let started = ContinuousClock.now
            let result = try await client(D.reader).hunt("AlertInfo | take 2")
            #expect(result.rows.count == 2)
            #expect(ContinuousClock.now - started >= .seconds(45))
            #expect(emulator.state.statistics["hunting"] == 1)
        }
    }

    /// A client deadline passed is a timeout (not "could not reach"), and the query is not resent;
    /// the service's own timeout is its documented error.
    @Test func huntingTimeoutsAreReportedAsTimeouts() async throws {
        try await D.withDefender(config: .init(incidents: 1, huntingTimeoutSeconds: 1)) { emulator, client in
            var impatient = client(D.reader)
            impatient.huntingDeadline = .seconds(1)
            emulator.state.inject([Fault(target: "hunting", kind: "delay", delayMilliseconds: 3000, count: 1)])
            await expectFailure(ClavisError.self, where: { $0.code.is(.timedOut) }, containing: "timed out") {
                _ = try await impatient.hunt("AlertInfo | take 1")
            }
            #expect(emulator.state.statistics["hunting"] == 1)
            emulator.state.inject([Fault(target: "hunting", kind: "delay", delayMilliseconds: 5000, count: 1)])
            await expectFailure(ClavisError.self, where: { $0.code.is(.serviceError) }, containing: "Query exceeded the timeout period.") {
                _ = try await client(D.reader).hunt("AlertInfo | take 1")
            }
        }
    }

    /// Tokens are checked on every route: expired, not yet valid, wrong audience, wrong issuer and a
    /// forged signature are 401 (Graph `InvalidAuthenticationToken`, OBS-401), and the client says the
    /// service rejected the token — without echoing it.
    @Test func everyBadTokenIsRejected() async throws {
        try await D.withDefender(incidents: 3) { emulator, _ in
            for (flavour, audience, role, path) in [(DefenderEndpoint.Flavour.defender, "https://api.security.microsoft.com", "Incident.Read.All", "/api/incidents/1"),
                                                    (.graph, "https://graph.microsoft.com", "SecurityIncident.Read.All", "/v1.0/security/incidents/1")] {
                let state = emulator.state
                let good = try await state.mintTestToken(tenant: D.tenant, appId: D.reader, audience: audience, roles: [role])
                let parts = good.split(separator: ".")
                let signature = String(parts[2])
                let forged = String(parts[0]) + "." + String(parts[1]) + "." + (signature.hasPrefix("A") ? "B" : "A") + String(signature.dropFirst())
                let cases: [(String, String)] = [
                    ("expired", try await state.mintTestToken(tenant: D.tenant, appId: D.reader, audience: audience, roles: [role],
                                                              notBefore: Date().addingTimeInterval(-7200), expires: Date().addingTimeInterval(-60))),
                    ("not yet valid", try await state.mintTestToken(tenant: D.tenant, appId: D.reader, audience: audience, roles: [role],
                                                                    notBefore: Date().addingTimeInterval(1800), expires: Date().addingTimeInterval(7200))),
                    ("wrong audience", try await state.mintTestToken(tenant: D.tenant, appId: D.reader,
                                                                     audience: flavour == .graph ? "https://api.security.microsoft.com" : "https://graph.microsoft.com",
                                                                     roles: [role])),
                    ("wrong issuer", try await state.mintTestToken(tenant: D.tenant, appId: D.reader, audience: audience, roles: [role],
                                                                   issuer: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/")),
                    ("forged", String(forged)),
                ]
                let endpoint = try DefenderEndpoint(baseURL: emulator.baseURL, flavour: flavour)
                #expect(try await DefenderClient(credential: FixedToken(token: good), endpoint: endpoint).incident(1).id == 1)
                for (name, token) in cases {
                    let client = DefenderClient(credential: FixedToken(token: token), endpoint: endpoint, transport: HTTPTransport(retry: .noRetries))
                    await expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) && !$0.description.contains(token) },
                                        containing: "the service rejected the token") {
                        _ = try await client.incident(1)
                    }
                    let raw = try await D.rawGet(emulator.baseURL + path, token: token)
                    #expect(raw.status == 401, "\(name) on \(flavour)")
                    let code = (raw.body["error"] as? [String: Any])?["code"] as? String
                    #expect(code == (flavour == .graph ? "InvalidAuthenticationToken" : "Unauthorized"), "\(name) on \(flavour)")
                }
                // Valid but without the role → 403.
                let roleless = try await state.mintTestToken(tenant: D.tenant, appId: D.noRoles, audience: audience, roles: [])
                #expect(try await D.rawGet(emulator.baseURL + path, token: roleless).status == 403)
            }
        }
    }
}
