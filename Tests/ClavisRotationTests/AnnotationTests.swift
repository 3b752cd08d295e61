import ClavisAge
import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisKeyVault
import ClavisKeyring
import ClavisTestSupport
import Foundation
import Testing

/// Every writable source that rotation uses keeps Clavis annotations **with** the value: written
/// together, replaced together, dropped by a plain write (they described the old value), and other
/// tools' attributes or tags left alone.
@Suite struct AnnotationTests {
    func exercise(_ source: any AnnotatedSecretSource, _ reference: SecretReference) async throws {
        try await source.store(Secret("first"), annotations: ["clavis-key-id": "a", "clavis-expires": "2030-01-01T00:00:00Z"], for: reference)
        #expect(try await source.secret(for: reference).revealedString() == "first")
        #expect(try await source.annotations(for: reference) == ["clavis-key-id": "a", "clavis-expires": "2030-01-01T00:00:00Z"])
        try await source.store(Secret("second"), annotations: ["clavis-key-id": "b"], for: reference)
        #expect(try await source.secret(for: reference).revealedString() == "second")
        #expect(try await source.annotations(for: reference) == ["clavis-key-id": "b"])  // replaced, not merged
        try await source.store(Secret("third"), for: reference)
        #expect(try await source.secret(for: reference).revealedString() == "third")
        #expect(try await source.annotations(for: reference).isEmpty)  // a plain write drops them
    }

    @Test func ageStoreEntriesKeepAnnotationsEncryptedWithTheValue() async throws {
        let directory = try TemporaryDirectory()
        let (reference, identity) = try await R.ageStore(in: directory)
        let source = AgeSource(unlock: AgeUnlock(identityFiles: [identity[1]]))
        try await exercise(source, try SecretReference(parsing: reference))
        // Not readable from the file: the annotations are inside the encrypted document.
        let raw = try Data(contentsOf: URL(fileURLWithPath: directory.file("store.age")))
        try await source.store(Secret("v"), annotations: ["clavis-key-id": "findme-key-id"], for: try SecretReference(parsing: reference))
        let after = try Data(contentsOf: URL(fileURLWithPath: directory.file("store.age")))
        #expect(raw != after)
        #expect(after.range(of: Data("findme-key-id".utf8)) == nil)
    }

    @Test(.enabled(if: TestSession.hasKeyring, "needs the D-Bus session and unlocked gnome-keyring that `bash scripts/test` starts"))
    func keyringItemsKeepAnnotationsAsAttributes() async throws {
        let service = "clavis-annotate-\(UUID().uuidString.prefix(8))"
        let reference = try SecretReference(parsing: "keyring:\(service)/app-secret")
        // An item another tool made, with an attribute of its own.
        let stored = try await Command.run("secret-tool", ["store", "--label", "made elsewhere", "service", service, "username", "app-secret", "note", "kept"],
                                           stdin: Data("original".utf8))
        #expect(stored.status == 0, "\(stored.stderr)")
        let source = KeyringSource()
        try await exercise(source, reference)
        try await source.store(Secret("fourth"), annotations: ["clavis-key-id": "c"], for: reference)
        // The other tool's attribute survived every write, and there is still one item.
        let found = try await Command.run("secret-tool", ["lookup", "service", service, "username", "app-secret", "note", "kept"])
        #expect(found.output == "fourth", "\(found.stderr)")
        #expect(try await source.annotations(for: reference) == ["clavis-key-id": "c"])
        try await source.delete(reference)
    }

    @Test func vaultVersionsCarryAnnotationsAsTags() async throws {
        try await R.withEmulator { emulator in
            let credential = ClientSecretCredential(tenant: R.tenant, clientId: R.vaultApp, reference: "vault", authority: try Authority(emulator.baseURL)) { Secret(R.vaultSecret) }
            let source = KeyVaultSource(credential: credential, allowedHosts: ["127.0.0.1"], environment: [:])
            let reference = try SecretReference(parsing: "keyvault:\(try #require(emulator.vaultURL("rot")))/secrets/annotated")
            try await exercise(source, reference)
            // Tags other tools set survive an annotated write.
            let location = try source.location(reference, requireName: true)
            try await source.vaultClient.set(location, value: Secret("tagged"), tags: ["owner": "team-a"], reference: reference.description)
            try await source.store(Secret("rotated"), annotations: ["clavis-key-id": "d"], for: reference)
            let tags = try await source.vaultClient.properties(location, reference: reference.description).tags
            #expect(tags == ["owner": "team-a", "clavis-key-id": "d"])
        }
    }
}
