import AsyncHTTPClient
import ClavisCore
import ClavisDefender
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import NIOSSL
import Testing

enum DefenderFixture {
    static let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35"
    static let reader = "55555555-aaaa-4bbb-8ccc-000000000001"
    static let writer = "55555555-aaaa-4bbb-8ccc-000000000002"
    static let noRoles = "55555555-aaaa-4bbb-8ccc-000000000003"
    static let graphApp = "55555555-aaaa-4bbb-8ccc-000000000004"
    static let secret = "defender-emulator-test-secret-0123456789"  // clavis:allow (emulator test value)

    static func withDefender<R>(incidents: Int = 250, config defender: EmulatorConfig.Defender? = nil, graph: Bool = false, waitBudget: Duration = .seconds(30),
                                _ body: (RunningEmulator, (String) -> DefenderClient) async throws -> R) async throws -> R {
        let api = "https://api.security.microsoft.com"
        let emulator = try await Emulator.start(EmulatorConfig(tenants: [.init(id: tenant, apps: [
            .init(clientId: reader, secrets: [secret], permissions: [api: ["Incident.Read.All", "AdvancedHunting.Read.All"]]),
            .init(clientId: writer, secrets: [secret], permissions: [api: ["Incident.ReadWrite.All"]]),
            .init(clientId: noRoles, secrets: [secret]),
            .init(clientId: graphApp, secrets: [secret], permissions: ["https://graph.microsoft.com": ["SecurityIncident.ReadWrite.All", "ThreatHunting.Read.All"]]),
        ])], defender: defender ?? .init(incidents: incidents)))
        defer { Task { await emulator.stop() } }
        let authority = try Authority(emulator.baseURL)
        let transport = HTTPTransport(retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .seconds(3), maxTotal: .seconds(60)),
                                      attemptTimeout: .seconds(30))
        let endpoint = try DefenderEndpoint(baseURL: emulator.baseURL, flavour: graph ? .graph : .defender)
        let result = try await body(emulator) { app in
            DefenderClient(credential: CachingTokenCredential(ClientSecretCredential(tenant: tenant, clientId: app, reference: "memory:s", authority: authority,
                                                                                    transport: transport) { Secret(secret) }),
                           endpoint: endpoint, transport: transport, waitBudget: waitBudget)
        }
        await emulator.stop()
        return result
    }

    /// A token from the emulator's token endpoint, for requests sent without the client.
    static func token(_ emulator: RunningEmulator, app: String, resource: String) async throws -> String {
        let credential = ClientSecretCredential(tenant: tenant, clientId: app, reference: "memory:s", authority: try Authority(emulator.baseURL)) { Secret(secret) }
        return try await credential.getToken(TokenRequestContext(resource: resource)).token.revealedString() ?? ""
    }

    /// One raw GET (no client logic), returning the status, the JSON body and the headers.
    static func rawGet(_ url: String, token: String, headers: [(String, String)] = []) async throws -> (status: Int, body: [String: Any], headers: [(String, String)]) {
        let reply = try await HTTPTransport(retry: .noRetries).send(.GET, url, headers: [("Authorization", "Bearer \(token)")] + headers)
        return (reply.status, reply.jsonObject ?? [:], reply.headers)
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
            #expect(ids.first == 250)  // newest first (D-LIST), the only order the service gives
            #expect((emulator.state.statistics["defender"] ?? 0) == 7)  // 6 full pages and a short one
            var active: [Incident] = []
            for try await incident in client(D.reader).incidents(filter: "status eq 'Active'") { active.append(incident) }
            #expect(!active.isEmpty && active.allSatisfy { $0.status == "Active" })
            // A fractional cutoff, compared as parsed timestamps (never strings): research-15 §1.
            let cutoff = Timestamp(Date().addingTimeInterval(-27 * 86400 + 0.1234567))
            var recent: [Incident] = []
            for try await incident in client(D.reader).incidents(filter: "lastUpdateTime ge \(cutoff.odataLiteral)") { recent.append(incident) }
            #expect(!recent.isEmpty && recent.count < 250)
            #expect(recent.allSatisfy { ($0.lastUpdated.map { $0 >= cutoff }) == true })
            let digits = Set(recent.map { $0.lastUpdateTime.contains(".") ? ($0.lastUpdateTime.split(separator: ".").last?.count ?? 1) - 1 : 0 })
            #expect(digits.count >= 4, "fractional digit counts should vary: \(digits)")
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
            await expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "Incident.ReadWrite.All") {
                _ = try await client(D.reader).update(42, fields: ["status": .string("Active")])
            }
            await expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) && $0.serviceReply?.status == 403 }, containing: "Incident.Read.All") {
                _ = try await client(D.noRoles).incident(1)
            }
            await expectFailure(ClavisError.self, where: { $0.code == .incidentNotFound && $0.code.is(.notFound) }, containing: "incident not found") {
                _ = try await client(D.reader).incident(99_999)
            }
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
            await expectFailure(ClavisError.self, where: { $0.code.is(.serviceError) }, containing: "Unsupported KQL") {
                _ = try await client(D.reader).hunt("DeviceProcessEvents | summarize count() by DeviceName")
            }
            await expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "AdvancedHunting.Read.All") {
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
    /// G-LIST: `$top` ≤ 50 and `@odata.nextLink` paging; the client's default page size must be valid.
    @Test func graphListingWithTheDefaultPageSize() async throws {
        try await D.withDefender(graph: true) { emulator, client in
            let graph = client(D.graphApp)
            #expect(DefenderClient.defaultPageSize(.graph) <= 50 && DefenderClient.defaultPageSize(.defender) <= 100)
            var all: [Incident] = []
            for try await incident in graph.incidents() { all.append(incident) }
            let ids = all.map(\.id)
            #expect(ids.count == 250 && Set(ids).count == 250)
            #expect(all.first { $0.id == 7 }?.status == "awaitingAction")  // sent only because the client says Prefer (G-ENUM)
            #expect(emulator.state.statistics["graph"] == 5)  // 5 pages of 50 through @odata.nextLink
            var active: [Incident] = []
            for try await incident in graph.incidents(filter: "status eq 'Active'") { active.append(incident) }
            #expect(!active.isEmpty && active.allSatisfy { $0.status == "Active" })
            var expanded: [Incident] = []
            for try await incident in graph.incidents(expandAlerts: true, limit: 3) { expanded.append(incident) }
            #expect(expanded.count == 3 && expanded.allSatisfy { !$0.alertIds.isEmpty })
            var plain: [Incident] = []
            for try await incident in graph.incidents(limit: 3) { plain.append(incident) }
            #expect(plain.allSatisfy { $0.alertIds.isEmpty && $0.raw["customTags"] != nil && $0.raw["tags"] == nil })
            let hunt = try await graph.hunt("AlertInfo | take 2")
            #expect(hunt.rows.count == 2 && hunt.schema.first?.name == "Timestamp")
            await expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) },
                                containing: "Missing application roles. API required roles: SecurityIncident.Read.All,SecurityIncident.ReadWrite.All, application roles: .") {
                _ = try await client(D.noRoles).incident(1)
            }
        }
    }

    /// The real 400 for `$top` > 50 (OBS-TOP, wazuh/wazuh#28070); `awaitingAction` only with the Prefer header.
    @Test func graphAnswersAsTheServiceDoes() async throws {
        try await D.withDefender(incidents: 60, graph: true) { emulator, _ in
            let token = try await D.token(emulator, app: D.graphApp, resource: "https://graph.microsoft.com")
            let tooMany = try await D.rawGet(emulator.baseURL + "/v1.0/security/incidents?$top=100", token: token)
            #expect(tooMany.status == 400)
            let error = tooMany.body["error"] as? [String: Any]
            #expect(error?["code"] as? String == "")
            #expect(error?["message"] as? String == "The query specified in the URI is not valid. The limit of '50' for Top query has been exceeded. The value from the incoming request is '100'.")
            let inner = error?["innerError"] as? [String: Any]
            #expect(inner?["request-id"] is String && inner?["client-request-id"] is String && (error?["details"] as? [Any])?.isEmpty == true)
            #expect((inner?["date"] as? String).map { $0.count == 19 && !$0.hasSuffix("Z") } == true)
            let without = try await D.rawGet(emulator.baseURL + "/v1.0/security/incidents/7", token: token)
            #expect(without.body["status"] as? String == "unknownFutureValue")
            let with = try await D.rawGet(emulator.baseURL + "/v1.0/security/incidents/7", token: token, headers: [("Prefer", "include-unknown-enum-members")])
            #expect(with.body["status"] as? String == "awaitingAction")
            // $orderby is not honoured: newest first regardless.
            let ordered = try await D.rawGet(emulator.baseURL + "/v1.0/security/incidents?$top=3&$orderby=lastUpdateDateTime%20asc", token: token)
            #expect((ordered.body["value"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["60", "59", "58"])
            let next = ordered.body["@odata.nextLink"] as? String
            #expect(next?.hasPrefix(emulator.baseURL + "/v1.0/security/incidents?") == true)
        }
    }

    /// Under `--tls` the `@odata.nextLink` is https (the scheme actually served), and the client follows it.
    @Test func nextLinkUsesTheServedSchemeUnderTLS() async throws {
        let certificates = try EmulatorTLS.make()
        let emulator = try await Emulator.start(EmulatorConfig(tenants: [.init(id: D.tenant, apps: [
            .init(clientId: D.graphApp, secrets: [D.secret], permissions: ["https://graph.microsoft.com": ["SecurityIncident.Read.All"]]),
        ])], defender: .init(incidents: 120)), tls: certificates)
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(certificates.caPEM.utf8), format: .pem)])
        let http = HTTPTransport.makeClient(HTTPClient.Configuration(tlsConfiguration: configuration))
        do {
            let transport = HTTPTransport(client: http, retry: RetryPolicy(baseDelay: .milliseconds(20)))
            let credential = CachingTokenCredential(ClientSecretCredential(tenant: D.tenant, clientId: D.graphApp, reference: "memory:s",
                                                                           authority: try Authority(emulator.baseURL), transport: transport) { Secret(D.secret) })
            let token = try await credential.getToken(TokenRequestContext(resource: "https://graph.microsoft.com")).token.revealedString() ?? ""
            let page = try await transport.send(.GET, emulator.baseURL + "/v1.0/security/incidents?$top=50&$expand=alerts",
                                                headers: [("Authorization", "Bearer \(token)")])
            let next = page.jsonObject?["@odata.nextLink"] as? String
            #expect(emulator.baseURL.hasPrefix("https://") && next?.hasPrefix(emulator.baseURL + "/v1.0/security/incidents?") == true, "\(next ?? "none")")
            #expect(next?.contains("$expand=alerts") == true)
            let client = DefenderClient(credential: credential, endpoint: try DefenderEndpoint(baseURL: emulator.baseURL, flavour: .graph), transport: transport)
            var count = 0
            for try await _ in client.incidents() { count += 1 }
            #expect(count == 120)
        } catch {
            try? await http.shutdown()
            await emulator.stop()
            throw error
        }
        try await http.shutdown()
        await emulator.stop()
    }

    /// One mapping table both ways: Defender names in, Graph vocabulary on the wire (G-UPD), comments by POST (G-COM).
    @Test func updateTagsDeterminationAndCommentOverGraph() async throws {
        try await D.withDefender(graph: true) { emulator, client in
            let graph = client(D.graphApp)
            let updated = try await graph.update(7, fields: ["status": .string("Resolved"), "tags": .array([.string("x")]),
                                                             "classification": .string("TruePositive"), "determination": .string("MultiStagedAttack"),
                                                             "comment": .string("via Graph")])
            #expect(updated.status == "Resolved" && updated.tags == ["x"] && updated.determination == "MultiStagedAttack")
            #expect(updated.raw["customTags"] == .array([.string("x")]) && updated.raw["determination"] == .string("multiStagedAttack"))
            #expect(updated.comments == ["via Graph"])
            let token = try await D.token(emulator, app: D.graphApp, resource: "https://graph.microsoft.com")
            let reply = try await HTTPTransport(retry: .noRetries).send(.PATCH, emulator.baseURL + "/v1.0/security/incidents/7",
                                                                        headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                                                                        body: Array(#"{"tags":["y"]}"#.utf8))
            #expect(reply.status == 400)  // a Defender key is not a Graph property
        }
    }

    /// `clavis defender update --graph --tag x --determination …` through the built binary.
    @Test func theUpdateCommandWorksOnGraph() async throws {
        try await D.withDefender(incidents: 20, graph: true) { emulator, client in
            let result = try await Command.clavis(["defender", "update", "9", "--api", emulator.baseURL, "--graph", "--authority", emulator.baseURL,
                                                   "--tenant", D.tenant, "--client-id", D.graphApp, "--secret", "env:GRAPH_SECRET",
                                                   "--tag", "x", "--classification", "FalsePositive", "--determination", "NotMalicious"],
                                                  environment: ["GRAPH_SECRET": D.secret])
            #expect(result.status == 0, "\(result.stderr)")
            let incident = try await client(D.graphApp).incident(9)
            #expect(incident.tags == ["x"] && incident.determination == "NotMalicious" && incident.classification == "FalsePositive")
            // `clavis defender incidents --graph` with its default page size: the first request must not be refused.
            let listed = try await Command.clavis(["defender", "incidents", "--api", emulator.baseURL, "--graph", "--authority", emulator.baseURL,
                                                   "--tenant", D.tenant, "--client-id", D.graphApp, "--secret", "env:GRAPH_SECRET", "--format", "json"],
                                                  environment: ["GRAPH_SECRET": D.secret])
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.output.split(separator: "\n").count == 20)
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
