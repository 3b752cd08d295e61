import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

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
