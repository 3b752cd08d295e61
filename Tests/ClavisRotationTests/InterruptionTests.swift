import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// A rotation killed (SIGKILL, as `kill -9`) at each step leaves a working secret in the reference,
/// and running it again finishes the job: one credential left, the one in the reference.
@Suite(.serialized) struct InterruptionTests {
    func killedAt(_ step: String, reference: String, extra: [String], environment: [String: String] = [:]) async throws {
        try await R.withEmulator(replicationMilliseconds: 300) { emulator in
            let options = ["app", "secret", "rotate"] + R.appOptions(emulator, secret: reference) + ["--overlap", "0s"] + extra
            let killed = try await Command.clavis(options, environment: environment.merging(["CLAVIS_TEST_ROTATION_STOP_AT": step]) { $1 })
            #expect(killed.status == 128 + 9, "stopped at \(step): \(killed.status) \(killed.stderr)")
            // Whatever the reference holds now works.
            let held = try await Command.clavis(["secret", "get", reference] + extra, environment: environment)
            let value = held.output.trimmingCharacters(in: .newlines)
            #expect(try await R.tokenStatus(emulator, secret: value).status == 200, "after a kill at \(step) the reference holds a secret that does not work")
            let token = try await Command.clavis(["token"] + R.appOptions(emulator, secret: reference) + extra, environment: environment)
            #expect(token.status == 0, "\(step): \(token.stderr)")
            // Running it again finishes the rotation.
            let again = try await Command.clavis(options, environment: environment, timeout: .seconds(120))
            #expect(again.status == 0, "\(step): \(again.stderr)")
            let final = try await Command.clavis(["secret", "get", reference] + extra, environment: environment).output.trimmingCharacters(in: .newlines)
            #expect(final != R.initial)
            #expect(try await R.tokenStatus(emulator, secret: final).status == 200)
            #expect(try await R.tokenStatus(emulator, secret: R.initial).codes == [7000215], "\(step): the old secret still works")
            let left = emulator.state.passwordCredentials(tenant: R.tenant, appId: R.rotator)
            #expect(left.count == 1, "\(step): \(left.map(\.keyId)) left; \(again.stderr)")
        }
    }

    @Test(arguments: ["after-add", "after-write", "before-remove"])
    func anAgeStoreRotationKilledAtAStepFinishesWhenRunAgain(_ step: String) async throws {
        let directory = try TemporaryDirectory()
        let (reference, identity) = try await R.ageStore(in: directory)
        #expect(try await Command.clavis(["secret", "set", reference] + identity, stdin: Data((R.initial + "\n").utf8)).status == 0)
        try await killedAt(step, reference: reference, extra: identity)
    }

    @Test(.enabled(if: TestSession.hasKeyring, "needs the D-Bus session and unlocked gnome-keyring that `bash scripts/test` starts"),
          arguments: ["after-add", "after-write", "before-remove"])
    func aKeyringRotationKilledAtAStepFinishesWhenRunAgain(_ step: String) async throws {
        let reference = "keyring:clavis-rotate-\(UUID().uuidString.prefix(8))/app-secret"
        #expect(try await Command.clavis(["secret", "set", reference], stdin: Data((R.initial + "\n").utf8)).status == 0)
        try await killedAt(step, reference: reference, extra: [])
        _ = try await Command.clavis(["secret", "delete", reference])
    }
}

/// An app that may not rotate its own secret gets one clear line naming the permission and how to
/// grant it, and nothing changes.
@Suite struct RotationPermissionTests {
    func refused(_ app: String, mentions expected: [String]) async throws {
        try await R.withEmulator { emulator in
            let directory = try TemporaryDirectory()
            let (reference, identity) = try await R.ageStore(in: directory)
            #expect(try await Command.clavis(["secret", "set", reference] + identity, stdin: Data((R.initial + "\n").utf8)).status == 0)
            let rotate = try await Command.clavis(["app", "secret", "rotate"] + R.appOptions(emulator, app: app, secret: reference) + identity)
            #expect(rotate.status == 1)
            let lines = rotate.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.hasPrefix("error: ") == true, "\(rotate.stderr)")
            for text in expected { #expect(rotate.stderr.contains(text), "\(rotate.stderr)") }
            #expect(try await Command.clavis(["secret", "get", reference] + identity).output == R.initial + "\n")
            #expect(emulator.state.passwordCredentials(tenant: R.tenant, appId: app).map(\.keyId) == [R.initialKeyId])
        }
    }

    @Test func anAppWithoutThePermissionIsToldWhichAndHow() async throws {
        try await refused(R.unpermitted, mentions: ["lacks the Microsoft Graph application permission Application.ReadWrite.OwnedBy", "az ad app permission add",
                                                    "18a4783c-866b-4cc7-a460-3d5e5662c884", "az ad app owner add"])
    }

    @Test func anAppThatDoesNotOwnItselfIsToldHowToBecomeOwner() async throws {
        try await refused(R.notOwner, mentions: ["not an owner of the application", "az ad app owner add --id \(R.notOwner)"])
    }

    @Test func aReadOnlySourceIsRefusedBeforeAnythingHappens() async throws {
        try await R.withEmulator { emulator in
            let rotate = try await Command.clavis(["app", "secret", "rotate"] + R.appOptions(emulator, secret: "env:ROTATE_ME"), environment: ["ROTATE_ME": R.initial])
            #expect(rotate.status == 1 && rotate.stderr.hasPrefix("error: ") && rotate.stderr.contains("keyring:, age: or keyvault:"), "\(rotate.stderr)")
            #expect(emulator.state.passwordCredentials(tenant: R.tenant, appId: R.rotator).count == 1)
        }
    }
}

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
