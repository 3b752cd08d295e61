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
