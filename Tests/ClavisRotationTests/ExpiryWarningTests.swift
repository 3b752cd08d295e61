import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// Warnings when the secret in use expires within 30 days (configurable): at 29 days, not at 31.
@Suite struct ExpiryWarningTests {
    func tokenWarning(_ emulator: RunningEmulator, app: String, extra: [String] = []) async throws -> String {
        let token = try await Command.clavis(["token"] + R.appOptions(emulator, app: app, secret: "env:EXPIRY_SECRET") + extra,
                                             environment: ["EXPIRY_SECRET": R.initial])
        #expect(token.status == 0, "\(token.stderr)")
        return token.stderr
    }

    @Test func clavisTokenWarnsAt29DaysAndNotAt31() async throws {
        try await R.withEmulator { emulator in
            let soon = try await tokenWarning(emulator, app: R.soon)
            #expect(soon.contains("warning: the client secret in env:EXPIRY_SECRET (key id \(R.initialKeyId)) expires on"), "\(soon)")
            #expect(soon.contains("in 29 days") && soon.contains("clavis app secret rotate"), "\(soon)")
            #expect(!(try await tokenWarning(emulator, app: R.later)).contains("warning"))
            // Configurable: a 45-day threshold warns at 31 days; 0s turns it off.
            #expect(try await tokenWarning(emulator, app: R.later, extra: ["--expiry-warning", "45d"]).contains("in 31 days"))
            #expect(!(try await tokenWarning(emulator, app: R.soon, extra: ["--expiry-warning", "0s"])).contains("warning"))
        }
    }

    @Test func defenderWatchWarnsAtStart() async throws {
        try await R.withEmulator { emulator in
            func watch(_ app: String) async throws -> String {
                let run = try await Command.clavis(["defender", "watch", "--once", "--api", emulator.baseURL, "--lookback", "40d"]
                                                   + R.appOptions(emulator, app: app, secret: "env:EXPIRY_SECRET"), environment: ["EXPIRY_SECRET": R.initial])
                #expect(run.status == 0, "\(run.stderr)")
                return run.stderr
            }
            let soon = try await watch(R.soon), later = try await watch(R.later)
            #expect(soon.contains("warning: the client secret in env:EXPIRY_SECRET"), "\(soon)")
            #expect(!later.contains("warning"), "\(later)")
        }
    }

    @Test func doctorReportsTheExpiry() async throws {
        try await R.withEmulator { emulator in
            let soon = try await Command.clavis(["doctor", "--json"] + R.appOptions(emulator, app: R.soon, secret: "env:EXPIRY_SECRET"),
                                                environment: ["EXPIRY_SECRET": R.initial])
            let findings = try #require(try JSONSerialization.jsonObject(with: soon.stdout) as? [[String: Any]], "\(soon.stderr)")
            let expiry = try #require(findings.first { $0["check"] as? String == "client secret expiry" })
            #expect(expiry["status"] as? String == "warning", "\(expiry)")
            let later = try await Command.clavis(["doctor", "--json"] + R.appOptions(emulator, app: R.later, secret: "env:EXPIRY_SECRET"),
                                                 environment: ["EXPIRY_SECRET": R.initial])
            let laterFindings = try #require(try JSONSerialization.jsonObject(with: later.stdout) as? [[String: Any]])
            #expect(laterFindings.first { $0["check"] as? String == "client secret expiry" }?["status"] as? String == "ok")
        }
    }

    /// The reusable check (for the broker): from the annotation a rotation stored, without Graph.
    @Test func theLibraryCheckReadsTheAnnotation() async throws {
        let check = SecretExpiryCheck(tenant: R.tenant, clientId: R.rotator, authority: try Authority("http://127.0.0.1:9"))
        let now = Date()
        for (days, warns) in [(29.0, true), (31.0, false)] {
            let end = now.addingTimeInterval(days * 86400 + 60)
            let status = try await check.check(secret: Secret("x"), annotations: ["clavis-expires": R.iso(end), "clavis-key-id": "k"], reference: "age:/s#a", now: now)
            #expect(status?.warning == warns, "\(days) days: \(String(describing: status))")
        }
    }

    @Test func listShowsCredentialsButNeverValues() async throws {
        try await R.withEmulator { emulator in
            let list = try await Command.clavis(["app", "secret", "list", "--json"] + R.appOptions(emulator, secret: "env:S"), environment: ["S": R.initial])
            #expect(list.status == 0, "\(list.stderr)")
            let rows = try #require(try JSONSerialization.jsonObject(with: list.stdout) as? [[String: Any]])
            #expect(rows.count == 1 && rows.first?["keyId"] as? String == R.initialKeyId && rows.first?["hint"] as? String == "rot")
            #expect(!list.output.contains(R.initial))
            let table = try await Command.clavis(["app", "secret", "list"] + R.appOptions(emulator, secret: "env:S"), environment: ["S": R.initial])
            #expect(table.output.contains("KEY ID") && table.output.contains(R.initialKeyId))
        }
    }
}
