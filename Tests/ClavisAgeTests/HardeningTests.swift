@testable import ClavisAge
import ClavisCore
import ClavisTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Size caps of the age parser: each input fails fast with its own error.
@Suite struct AgeInputCapTests {
    @Test func aTenMegabyteHeaderIsRefusedWithItsOwnError() throws {
        var header = Array("age-encryption.org/v1\n-> X25519 AAAA\n".utf8)
        let line = Array(String(repeating: "A", count: 64).utf8) + [0x0A]
        while header.count < 10 << 20 { header += line }
        expectAgeError(.header, containing: "larger than 1 MiB") {
            _ = try Age.decrypt(header, identities: [.x25519(try X25519Identity.generate())])
        }
    }

    @Test func armoredInputOverTheCapIsRefusedWithItsOwnError() throws {
        var armored = Array("-----BEGIN AGE ENCRYPTED FILE-----\n".utf8)
        let line = Array(String(repeating: "A", count: 64).utf8) + [0x0A]
        armored.reserveCapacity((65 << 20) + 100)
        while armored.count < 65 << 20 { armored += line }
        expectAgeError(.armor, containing: "larger than 64 MiB") {
            _ = try Age.decrypt(armored, identities: [.x25519(try X25519Identity.generate())])
        }
        // The streaming path (a file, as `clavis age decrypt` reads it) too.
        let directory = try TemporaryDirectory()
        let path = try directory.write("big.age", Data(armored))
        let descriptor = open(path, O_RDONLY)
        defer { close(descriptor) }
        expectAgeError(.armor, containing: "larger than 64 MiB") {
            try Age.decrypt(BufferedInput(fileDescriptor: descriptor), identities: [.x25519(try X25519Identity.generate())]) { _ in }
        }
    }

    @Test func aPrivateKeyGivenAsARecipientIsNeverEchoed() throws {
        let identity = try X25519Identity.generate()
        let key = identity.encoded().revealedString() ?? ""
        do {
            _ = try AgeRecipient(parsing: key)
            Issue.record("a private key was accepted as a recipient")
        } catch let error as AgeError {
            #expect(error.description.contains("private key"))
            #expect(!error.description.contains(String(key.dropFirst(15).prefix(20))), "\(error)")
        }
    }
}

/// The store's own files: exclusive creation, the lock, killed writers' temporaries, links.
@Suite struct AgeStoreFileTests {
    @Test func creationNeverOverwritesAFileMadeMeanwhile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("new.age")
        let file = try AtomicFile(path: path, mode: 0o600)
        try file.write(Array("mine".utf8))
        try directory.write("new.age", "theirs")       // appears between our check and our commit
        expectClavisError(.invalidValue, containing: "already exists") { try file.commit(replacing: false) }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "theirs")
        #expect(AtomicFile.temporaries(of: path).isEmpty)
    }

    @Test func theLockFileIsNeverFollowedThroughALink() throws {
        let fixture = try StoreFixture()
        let elsewhere = try TemporaryDirectory()
        try FileManager.default.removeItem(atPath: fixture.directory.file(".store.age.lock"))
        try FileManager.default.createSymbolicLink(atPath: fixture.directory.file(".store.age.lock"),
                                                   withDestinationPath: elsewhere.file("planted"))
        expectClavisError(.permissionDenied, containing: "symbolic link") { try fixture.store.store(Secret("x"), named: "a") }
        #expect(!FileManager.default.fileExists(atPath: elsewhere.file("planted")))
    }

    @Test func identityFilesAndStoresAreNeverReadThroughALink() throws {
        let fixture = try StoreFixture()
        try FileManager.default.createSymbolicLink(atPath: fixture.directory.file("key-link.txt"), withDestinationPath: fixture.key)
        let viaLink = AgeStore(path: fixture.path, unlock: AgeUnlock(identityFiles: [fixture.directory.file("key-link.txt")], useEnvironment: false))
        expectClavisError(.permissionDenied, containing: "symbolic link") { _ = try viaLink.names() }
        try FileManager.default.createSymbolicLink(atPath: fixture.directory.file("store-link.age"), withDestinationPath: fixture.path)
        let storeLink = AgeStore(path: fixture.directory.file("store-link.age"), unlock: fixture.unlock)
        expectClavisError(.permissionDenied, containing: "symbolic link") { _ = try storeLink.names() }
    }

    @Test func theNextWriterRemovesKilledWritersTemporaries() throws {
        let fixture = try StoreFixture()
        let stale = try fixture.directory.write(".store.age.tmp-Ab12Cd", "the store as it was, to old recipients")
        #expect(fixture.store.staleTemporaries() == [stale])
        try fixture.store.store(Secret("v"), named: "a")
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(fixture.store.staleTemporaries().isEmpty)
    }

    @Test func writersKilledMidWriteLeaveNothingOnceTheNextWriteHasRun() async throws {
        let fixture = try StoreFixture()
        try fixture.store.store(Secret("0"), named: "counter")
        for round in 1...15 {
            _ = try await Command.run("bash", ["-c", """
                printf '%s' "$VALUE" | "$CLAVIS" secret set "age:$STORE#counter" --identity "$KEY" 2>/dev/null &
                pid=$!; sleep \(Double.random(in: 0.005...0.08)); kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; true
                """], environment: ["CLAVIS": Command.clavis, "STORE": fixture.path, "KEY": fixture.key, "VALUE": String(round)])
        }
        try fixture.store.store(Secret("last"), named: "counter")
        #expect(fixture.store.staleTemporaries().isEmpty, "\(fixture.store.staleTemporaries())")
        #expect(try fixture.store.secret(named: "counter").revealedString() == "last")
    }
}

/// Whoever can replace the store file must not be able to add a recipient of theirs.
@Suite struct RecipientPinTests {
    /// A store file as an attacker with write access (but no identity) would make it: encrypted to
    /// the victim's public recipient, with a document of the attacker's choosing.
    func forge(_ fixture: StoreFixture, listing recipients: [String], pins: [String: String]? = nil, encryptTo: [AgeRecipient]) throws {
        var document = StoreDocument(recipients: recipients, passphrase: nil, secrets: [:])
        document.pins = pins
        let bytes = try Age.encrypt(try document.encoded(), to: encryptTo)
        try fixture.directory.write("store.age", Data(bytes))
    }

    @Test func anAddedRecipientIsRefusedUntilConfirmed() throws {
        let fixture = try StoreFixture()
        try fixture.store.store(Secret("before"), named: "a")        // a sole-recipient store pins itself
        let attacker = try X25519Identity.generate()
        let victim = fixture.identity.recipient.description
        try forge(fixture, listing: [victim, attacker.recipient.description], encryptTo: [.x25519(fixture.identity.recipient)])
        let forged = try fixture.bytes()
        expectClavisError(.permissionDenied, containing: "not confirmed") { try fixture.store.store(Secret("secret"), named: "b") }
        expectClavisError(.permissionDenied, containing: attacker.recipient.description) { try fixture.store.addRecipients([]) }
        #expect(try fixture.bytes() == forged, "nothing was written")
        // A forged tag is no better than none.
        try forge(fixture, listing: [victim, attacker.recipient.description], pins: [victim: "AAAA"], encryptTo: [.x25519(fixture.identity.recipient)])
        expectClavisError(.permissionDenied, containing: "changed since you last confirmed") { try fixture.store.store(Secret("s"), named: "b") }
        // Reading is unaffected; after the user confirms, writes go ahead.
        #expect(try fixture.store.names() == [])
        #expect(try fixture.store.confirmRecipients().count == 2)
        try fixture.store.store(Secret("now"), named: "b")
    }

    @Test func aDocumentThatDoesNotListTheWriterIsRefused() throws {
        let fixture = try StoreFixture()
        let attacker = try X25519Identity.generate()
        try forge(fixture, listing: [attacker.recipient.description], encryptTo: [.x25519(fixture.identity.recipient)])
        expectClavisError(.permissionDenied, containing: "does not name your identity") { try fixture.store.store(Secret("s"), named: "b") }
    }

    @Test func membersConfirmAChangeOnceAndTheCreatorPinsAtCreation() throws {
        let fixture = try StoreFixture()
        let second = try X25519Identity.generate()
        try fixture.directory.write("second.txt", second.encoded().revealedString() ?? "")
        let bySecond = AgeStore(path: fixture.path, unlock: AgeUnlock(identityFiles: [fixture.directory.file("second.txt")], useEnvironment: false))
        try fixture.store.addRecipients([.x25519(second.recipient)])
        expectClavisError(.permissionDenied, containing: "store recipients confirm") { try bySecond.store(Secret("x"), named: "y") }
        try bySecond.confirmRecipients()
        try bySecond.store(Secret("x"), named: "y")
        try fixture.store.store(Secret("z"), named: "w")           // the first member's tag still holds
        // A team store created with the creator's identity is pinned for the creator at once.
        let team = fixture.directory.file("team.age")
        try AgeStore.create(path: team, recipients: [.x25519(fixture.identity.recipient), .x25519(second.recipient)], pinning: fixture.unlock)
        try AgeStore(path: team, unlock: fixture.unlock).store(Secret("v"), named: "k")
    }
}
