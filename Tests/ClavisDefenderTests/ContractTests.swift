import ClavisCore
import ClavisDefender
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// Contract tests: fixtures in the documented shapes (our own values; every field, nulls, 0–7 and
/// more fractional digits, `±hh:mm`), decoded by the client. Shapes: D-LIST
/// (https://learn.microsoft.com/defender-xdr/api-list-incidents) and G-LIST/G-INC
/// (https://learn.microsoft.com/graph/api/security-list-incidents) — research-15 §2.1, §2.2, §5.1.
extension Throttling {
    /// The test's (headers, body) pair.
    static func wait(parts: (headers: [(String, String)], body: [UInt8])) -> Duration? { wait(headers: parts.headers, body: parts.body) }
}

@Suite struct ContractTests {
    static func fixture(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)"))
    }

    /// Every string value under `object` that looks like a timestamp (for checking they all parse).
    static func timestamps(_ object: Any) -> [String] {
        switch object {
        case let dictionary as [String: Any]: return dictionary.values.flatMap(timestamps)
        case let array as [Any]: return array.flatMap(timestamps)
        case let text as String where text.count >= 20 && text.dropFirst(4).first == "-" && text.dropFirst(10).first == "T": return [text]
        default: return []
        }
    }

    @Test func defenderListDecodes() throws {
        let data = try Self.fixture("defender-incidents.json")
        let page = try Incident.page(data)
        #expect(page.nextLink == nil)
        #expect(page.incidents.map(\.id) == [4127, 4126, 4125])
        let first = page.incidents[0]
        #expect(first.name == "Credential theft attempt on two endpoints")
        #expect(first.status == "InProgress" && first.severity == "High" && first.classification == "TruePositive")
        #expect(first.determination == "CompromisedAccount")  // the D-INC alias CompromisedUser, read canonically
        #expect(first.tags == ["tier1", "credential"] && first.comments == ["Isolated the first device"])
        #expect(first.alertIds == ["da638642233112345678_-1930118221"])
        #expect(first.created == Timestamp(seconds: 1_791_018_764, ticks: 1_234_567))
        #expect(first.lastUpdated == Timestamp(seconds: 1_791_027_602, ticks: 5_500_000))
        #expect(page.incidents[1].assignedTo == nil && page.incidents[1].severity == "UnSpecified")
        #expect(page.incidents[2].determination == "NotMalicious")  // Clean is the doc alias (OBS-DET)
        // `…02.55Z` < `…02.5500001Z` and `…02Z` < `…02.55Z`: as strings the last pair sorts the other way.
        let times = page.incidents.compactMap(\.lastUpdated)
        #expect(times.count == 3 && times[2] < times[0] && times[0] < times[1])
        #expect("2026-10-03T11:40:02Z" > "2026-10-03T11:40:02.55Z")
        let all = Self.timestamps(try JSONSerialization.jsonObject(with: data))
        #expect(all.count >= 14)
        for text in all { #expect(Timestamp(text) != nil, "\(text)") }
    }

    @Test func graphListDecodes() throws {
        let data = try Self.fixture("graph-incidents.json")
        let page = try Incident.page(data)
        #expect(page.nextLink?.hasSuffix("$skiptoken=opaque-token-2") == true)
        let first = page.incidents[0], second = page.incidents[1]
        #expect(first.id == 5309 && first.name == "Ransomware staging on a file server")
        #expect(first.status == "awaitingAction")  // no Defender counterpart: kept as sent
        #expect(first.severity == "High" && first.classification == "TruePositive" && first.determination == "MultiStagedAttack")
        #expect(first.tags == ["crown-jewels"])  // customTags
        #expect(first.alertIds == ["fa0123456789abcdef_1234567890"])
        #expect(first.comments == ["Escalated to IR"])
        #expect(second.status == "Resolved" && second.severity == "UnSpecified" && second.determination == "ConfirmedActivity")
        #expect(second.classification == "InformationalExpectedActivity" && second.assignedTo == nil)
        #expect(second.comments == ["Old-style comment keys"])
        // 18:22:45.6543210+02:00 is the same instant as 16:22:45.654321Z.
        #expect(first.lastUpdated == second.lastUpdated && first.lastUpdated != nil)
        for text in Self.timestamps(try JSONSerialization.jsonObject(with: data)) { #expect(Timestamp(text) != nil, "\(text)") }
    }

    @Test func timestampsParseEveryDigitCountAndCompareExactly() throws {
        let base = try #require(Timestamp("2020-09-06T14:46:57Z"))
        #expect(base.seconds == 1_599_403_617 && base.ticks == 0)
        for digits in 1...7 {
            let text = "2020-09-06T14:46:57." + String(repeating: "1", count: digits) + "Z"
            let parsed = try #require(Timestamp(text), "\(digits) digits")
            #expect(parsed > base && parsed.seconds == base.seconds)
        }
        #expect(Timestamp("2020-09-06T14:46:57.0733333Z") == Timestamp(seconds: 1_599_403_617, ticks: 733_333))
        #expect(Timestamp("2020-09-06T14:46:57.29Z") == Timestamp(seconds: 1_599_403_617, ticks: 2_900_000))
        #expect(Timestamp("2020-09-06T14:46:57.123456789012Z") == Timestamp("2020-09-06T14:46:57.1234567Z"))  // 12 digits, truncated
        #expect(Timestamp("2020-09-06T14:46:57.0000001Z")! > Timestamp("2020-09-06T14:46:57Z")!)  // 100 ns apart
        #expect(Timestamp("2020-09-06T16:46:57+02:00") == base && Timestamp("2020-09-06T13:46:57-01:00") == base)
        #expect(Timestamp("2025-01-11T19:43:26") != nil)  // Graph innerError.date: no zone → UTC
        for bad in ["", "2020-09-06", "2020-09-06T14:46Z", "2020-09-06T14:46:57.Z", "2020-13-06T14:46:57Z", "2020-09-06T14:46:57.1234567890123Z",
                    "2020-09-06T14:46:57Zjunk", "2020-09-06 14:46:57Z"] {
            #expect(Timestamp(bad) == nil, "\(bad)")
        }
        #expect(Timestamp("2026-11-20T08:15:02.441Z")?.odataLiteral == "2026-11-20T08:15:02.4410000Z")
        #expect(Timestamp("1969-12-31T23:59:59.5Z")?.odataLiteral == "1969-12-31T23:59:59.5000000Z")
        let now = Timestamp(Date())
        #expect(Timestamp(now.odataLiteral) == now)
        #expect(now.adding(.seconds(-600)).adding(.seconds(600)) == now)
    }

    @Test func oneMappingTableBothWays() {
        for (field, pairs) in GraphMapping.values {
            for pair in pairs {
                #expect(GraphMapping.graphValue(pair.defender, field: field) == pair.graph)
                #expect(GraphMapping.defenderValue(pair.graph, field: field) == pair.defender)
            }
        }
        let body = GraphMapping.graphUpdate(["tags": .array([.string("x")]), "determination": .string("Clean"), "status": .string("Resolved"),
                                             "comment": .string("not a Graph property")])
        #expect(body["customTags"] == .array([.string("x")]) && body["tags"] == nil && body["comment"] == nil)
        #expect(body["determination"] == .string("notMalicious") && body["status"] == .string("resolved"))
        #expect(GraphMapping.defenderUpdate(["determination": .string("InsufficientData")])["determination"] == .string("NoEnoughDataToValidate"))
        // By token: a quoted value that happens to contain a field name is left alone.
        #expect(GraphMapping.graphFilter("lastUpdateTime ge 2026-11-01T00:00:00.0000000Z and status eq 'InProgress' and assignedTo eq 'lastUpdateTime@x'")
                == "lastUpdateDateTime ge 2026-11-01T00:00:00.0000000Z and status eq 'inProgress' and assignedTo eq 'lastUpdateTime@x'")
    }

    @Test func throttlingResetFromHeaderOrBody() {
        func reply(_ headers: [(String, String)], _ message: String?) -> (headers: [(String, String)], body: [UInt8]) {
            let body = message.map { Array("{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"\($0)\",\"target\":\"t\"}}".utf8) } ?? []
            return (headers, body)
        }
        #expect(Throttling.wait(parts: reply([], "API calls quota exceeded! maximum allowed 1500 per 01:00:00. Try again in 1734 seconds.")) == .seconds(1734))
        #expect(Throttling.wait(parts: reply([], "API calls quota exceeded! maximum allowed 45 per 00:01:00")) == .seconds(60))  // the window, in full
        #expect(Throttling.wait(parts: reply([], "You can run queries again in 00:12:30.")) == .seconds(750))
        #expect(Throttling.wait(parts: reply([("Retry-After", "2.128")], "Please retry again later.")) == .milliseconds(2128))
        #expect(Throttling.wait(parts: reply([("Retry-After", "5")], "Try again in 30 seconds.")) == .seconds(30))  // the larger
        #expect(Throttling.wait(parts: reply([], "Injected fault")) == nil)
        // Waits no clock can hold are capped at a day or ignored, never a crash (FuzzDefender found
        // a Retry-After of forty 9s trapping in the Int64 conversion).
        let huge = String(repeating: "9", count: 40)
        #expect(Throttling.wait(parts: reply([("Retry-After", huge)], nil)) == .seconds(86_400))
        #expect(Throttling.wait(parts: reply([("retry-after-ms", huge)], nil)) == .seconds(86_400))
        #expect(Throttling.wait(parts: reply([("Retry-After", "inf")], nil)) == nil)
        #expect(Throttling.wait(parts: reply([], "Try again in \(huge) hours.")) == .seconds(86_400))
        #expect(Throttling.wait(parts: reply([], "maximum allowed 1 per \(huge):00:00")) == .seconds(86_400))
    }

    @Test func limiterHonoursTheHourAsWellAsTheMinute() async throws {
        let limiter = RateLimiter(perMinute: 100, perHour: 3)
        for _ in 0..<3 { try await limiter.acquire(budget: .seconds(1), host: "api.example") }
        let started = ContinuousClock.now
        await expectFailure(ClavisError.self, where: { $0.code.is(.sourceUnavailable) }, containing: "retry after 3600 s") {
            try await limiter.acquire(budget: .seconds(10), host: "api.example")
        }
        #expect(ContinuousClock.now - started < .seconds(1))  // failed at once, did not wait
        let minute = RateLimiter(perMinute: 2, perHour: 100)
        for _ in 0..<2 { try await minute.acquire(budget: .seconds(1), host: "h") }
        await expectFailure(ClavisError.self, where: { $0.code.is(.sourceUnavailable) }, containing: "retry after 60 s") {
            try await minute.acquire(budget: .seconds(1), host: "h")
        }
    }
}
