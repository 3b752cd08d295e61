import ClavisCore
import ClavisDefender
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

enum DefenderFixture {
    static let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35"
    static let reader = "55555555-aaaa-4bbb-8ccc-000000000001"
    static let writer = "55555555-aaaa-4bbb-8ccc-000000000002"
    static let noRoles = "55555555-aaaa-4bbb-8ccc-000000000003"
    static let graphApp = "55555555-aaaa-4bbb-8ccc-000000000004"
    static let secret = "defender-emulator-test-secret-0123456789"  // clavis:allow (emulator test value)

    static func withDefender<R>(incidents: Int = 250, callsPerMinute: Int? = nil,
                                graph: Bool = false, _ body: (RunningEmulator, (String) -> DefenderClient) async throws -> R) async throws -> R {
        let api = "https://api.security.microsoft.com"
        let emulator = try await Emulator.start(EmulatorConfig(tenants: [.init(id: tenant, apps: [
            .init(clientId: reader, secrets: [secret], permissions: [api: ["Incident.Read.All", "AdvancedHunting.Read.All"]]),
            .init(clientId: writer, secrets: [secret], permissions: [api: ["Incident.ReadWrite.All"]]),
            .init(clientId: noRoles, secrets: [secret]),
            .init(clientId: graphApp, secrets: [secret], permissions: ["https://graph.microsoft.com": ["SecurityIncident.ReadWrite.All", "ThreatHunting.Read.All"]]),
        ])], defender: .init(incidents: incidents, callsPerMinute: callsPerMinute)))
        defer { Task { await emulator.stop() } }
        let authority = try Authority(emulator.baseURL)
        let transport = HTTPTransport(retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .seconds(3), maxTotal: .seconds(60)),
                                      attemptTimeout: .seconds(30))
        let endpoint = try DefenderEndpoint(baseURL: emulator.baseURL, flavour: graph ? .graph : .defender)
        let result = try await body(emulator) { app in
            DefenderClient(credential: CachingTokenCredential(ClientSecretCredential(tenant: tenant, clientId: app, reference: "memory:s", authority: authority,
                                                                                    transport: transport) { Secret(secret) }),
                           endpoint: endpoint, transport: transport)
        }
        await emulator.stop()
        return result
    }
}

typealias D = DefenderFixture

@Suite(.serialized) struct DefenderTests {
    @Test func pagingOverManyPagesAndFilters() async throws {
        try await D.withDefender { emulator, client in
            var ids: [Int] = []
            for try await incident in client(D.reader).incidents(pageSize: 40) { ids.append(incident.id) }
            #expect(ids.count == 250)
            #expect(Set(ids).count == 250)
            #expect(ids.first == 250)  // newest first
            #expect((emulator.state.statistics["defender"] ?? 0) == 7)  // 6 full pages and a short one
            var active: [Incident] = []
            for try await incident in client(D.reader).incidents(filter: "status eq 'Active'") { active.append(incident) }
            #expect(!active.isEmpty && active.allSatisfy { $0.status == "Active" })
            let cutoff = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-27 * 86400))
            var recent: [Incident] = []
            for try await incident in client(D.reader).incidents(filter: "lastUpdateTime ge \(cutoff)", orderBy: "lastUpdateTime asc") { recent.append(incident) }
            #expect(!recent.isEmpty && recent.allSatisfy { $0.lastUpdateTime >= cutoff })
            #expect(recent.map(\.lastUpdateTime) == recent.map(\.lastUpdateTime).sorted())
            var limited = 0
            for try await _ in client(D.reader).incidents(limit: 7) { limited += 1 }
            #expect(limited == 7)
        }
    }

    @Test func getUpdateAndRoles() async throws {
        try await D.withDefender { _, client in
            #expect(try await client(D.reader).incident(42).id == 42)
            let updated = try await client(D.writer).update(42, fields: ["status": .string("Resolved"), "classification": .string("TruePositive"),
                                                                        "comment": .string("handled by the poller")])
            #expect(updated.status == "Resolved")
            #expect(updated.raw["comments"].map { if case .array(let items) = $0 { items.count } else { 0 } } == 1)
            await expectFailure(ClavisError.self, where: { $0.code == .permissionDenied }, containing: "Incident.ReadWrite.All") {
                _ = try await client(D.reader).update(42, fields: ["status": .string("Active")])
            }
            await expectFailure(ClavisError.self, where: { $0.code == .permissionDenied }, containing: "Incident.Read.All") {
                _ = try await client(D.noRoles).incident(1)
            }
            await expectFailure(ClavisError.self, where: { $0.code == .notFound }) { _ = try await client(D.reader).incident(99_999) }
        }
    }

    @Test func huntingResultsAndUnsupportedKQL() async throws {
        try await D.withDefender { _, client in
            let result = try await client(D.reader).hunt("DeviceProcessEvents | where FileName == \"powershell.exe\" | project DeviceName, FileName | take 3")
            #expect(result.schema.map(\.name) == ["DeviceName", "FileName"])
            #expect(result.rows.count == 3)
            #expect(result.rows.allSatisfy { $0["FileName"]?.string == "powershell.exe" })
            let count = try await client(D.reader).hunt("DeviceLogonEvents | where ActionType == \"LogonFailed\" | count")
            #expect(count.rows.first?["Count"]?.number == 5)
            await expectFailure(ClavisError.self, where: { $0.code == .serviceError }, containing: "Unsupported KQL") {
                _ = try await client(D.reader).hunt("DeviceProcessEvents | summarize count() by DeviceName")
            }
            await expectFailure(ClavisError.self, where: { $0.code == .permissionDenied }, containing: "AdvancedHunting.Read.All") {
                _ = try await client(D.writer).hunt("AlertInfo | take 1")
            }
        }
    }

    @Test func rateLimitedRequestsWaitForRetryAfter() async throws {
        try await D.withDefender(incidents: 5) { emulator, client in
            let reader = client(D.reader)
            _ = try await reader.incident(1)
            emulator.state.inject([Fault(target: "defender", kind: "status", status: 429, retryAfter: 1, count: 1)])
            let started = ContinuousClock.now
            _ = try await reader.incident(2)
            #expect(ContinuousClock.now - started >= .seconds(1))
        }
    }
}

@Suite(.serialized) struct GraphFlavourTests {
    @Test func theSameSwiftAPIOverMicrosoftGraph() async throws {
        try await D.withDefender(graph: true) { emulator, client in
            let graph = client(D.graphApp)
            var ids: [Int] = []
            for try await incident in graph.incidents(pageSize: 20) { ids.append(incident.id) }
            #expect(ids.count == 250 && Set(ids).count == 250)
            #expect((emulator.state.statistics["defender"] ?? 0) == 13)  // @odata.nextLink across 13 pages
            var active: [Incident] = []
            for try await incident in graph.incidents(filter: "status eq 'Active'", orderBy: "lastUpdateTime asc") { active.append(incident) }
            #expect(!active.isEmpty && active.allSatisfy { $0.status == "Active" })
            let updated = try await graph.update(7, fields: ["status": .string("Resolved"), "comment": .string("via Graph")])
            #expect(updated.status == "Resolved")
            let hunt = try await graph.hunt("AlertInfo | take 2")
            #expect(hunt.rows.count == 2 && hunt.schema.first?.name == "Timestamp")
            await expectFailure(ClavisError.self, where: { $0.code == .permissionDenied }, containing: "Missing application roles") {
                _ = try await client(D.reader).incident(1)
            }
        }
    }
}

@Suite struct DemoTests {
    @Test func demoRunsGreenOffline() async throws {
        let demo = try await Command.clavis(["demo"], timeout: .seconds(120))
        #expect(demo.status == 0, "\(demo.stderr)")
        for step in ["1. Register an app", "Store the client secret in an encrypted age store", "Validate the token locally", "8. Done"] {
            #expect(demo.stderr.contains(step), "\(demo.stderr)")
        }
        #expect(demo.output.contains("ID") && demo.output.contains("Active"))
        #expect(demo.output.contains("DeviceName"))
        #expect(demo.stderr.contains("it prints as <redacted>"))
    }
}
