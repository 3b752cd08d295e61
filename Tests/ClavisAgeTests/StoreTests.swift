@testable import ClavisAge
import ClavisCore
import ClavisTestSupport
import Foundation
import Testing

/// A store in a private directory, with an identity file next to it.
struct StoreFixture {
    let directory: TemporaryDirectory
    let identity: X25519Identity
    var path: String { directory.file("store.age") }
    var key: String { directory.file("key.txt") }
    var unlock: AgeUnlock { AgeUnlock(identityFiles: [key], useEnvironment: false) }
    var store: AgeStore { AgeStore(path: path, unlock: unlock) }

    init() throws {
        directory = try TemporaryDirectory()
        identity = try X25519Identity.generate()
        try directory.write("key.txt", "# test identity\n" + (identity.encoded().revealedString() ?? "") + "\n")
        try AgeStore.create(path: path, recipients: [.x25519(identity.recipient)])
    }

    func bytes() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
}

func expectClavisError(_ code: ClavisError.Code, containing text: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    expectFailure(ClavisError.self, where: { $0.code.is(code) }, containing: text, sourceLocation: sourceLocation, body)
}

@Suite struct AgeStoreTests {
    @Test func storeReadListDeleteAndTheStockToolReadsIt() async throws {
        let fixture = try StoreFixture()
        try fixture.store.store(Secret("first"), named: "app-secret")
        try fixture.store.store(Secret("line1\nline2 ✓"), named: "other")
        try fixture.store.store(Secret(bytes: [0, 255, 10]), named: "binary")
        #expect(try fixture.store.secret(named: "app-secret").revealedString() == "first")
        #expect(try fixture.store.secret(named: "other").revealedString() == "line1\nline2 ✓")
        #expect(try fixture.store.secret(named: "binary").revealedBytes() == [0, 255, 10])
        #expect(try fixture.store.names() == ["app-secret", "binary", "other"])
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let age = try await Command.run("age", ["-d", "-i", fixture.key, fixture.path])
        #expect(age.status == 0, "\(age.stderr)")
        let json = try JSONSerialization.jsonObject(with: age.stdout) as? [String: Any]
        #expect(json?["format"] as? String == "clavis-store/v1")
        #expect((json?["recipients"] as? [String]) == [fixture.identity.recipient.description])
        #expect(((json?["secrets"] as? [String: Any])?["app-secret"] as? [String: Any])?["value"] as? String == "first")
        try fixture.store.delete(named: "other")
        expectClavisError(.notFound) { _ = try fixture.store.secret(named: "other") }
        expectClavisError(.notFound) { try fixture.store.delete(named: "other") }
    }

    @Test func refusesStoresOthersCanReadOrThatOthersOwn() async throws {
        let fixture = try StoreFixture()
        chmod(fixture.path, 0o644)
        expectClavisError(.permissionDenied, containing: "chmod 600") { _ = try fixture.store.names() }
        chmod(fixture.path, 0o600)
        chmod(fixture.key, 0o640)
        expectClavisError(.permissionDenied, containing: "identity file") { _ = try fixture.store.names() }
        chmod(fixture.key, 0o600)
        if getuid() == 0 {
            chown(fixture.path, 65534, 65534)
            expectClavisError(.permissionDenied, containing: "owned by uid 65534") { _ = try fixture.store.names() }
            chown(fixture.path, 0, 0)
        }
        #expect(try fixture.store.names() == [])
    }

    @Test func wrongKeyCorruptAndTruncatedStoresAreNeverOverwritten() async throws {
        let fixture = try StoreFixture()
        try fixture.store.store(Secret("keep"), named: "a")
        let other = try X25519Identity.generate()
        try fixture.directory.write("other.txt", other.encoded().revealedString() ?? "")
        let wrong = AgeStore(path: fixture.path, unlock: AgeUnlock(identityFiles: [fixture.directory.file("other.txt")], useEnvironment: false))
        let original = try fixture.bytes()
        expectClavisError(.wrongKey) { try wrong.store(Secret("x"), named: "b") }
        // The age failure behind it travels as the cause, for callers that branch on it.
        do {
            _ = try wrong.names()
            Issue.record("a wrong identity opened the store")
        } catch let error as ClavisError {
            #expect((error.cause as? AgeError)?.kind == .noMatchingIdentity, "\(String(describing: error.cause))")
        }
        #expect(try fixture.bytes() == original)
        for damaged in [original.dropLast(20), original.prefix(40), Data(original.reversed())] {
            try fixture.directory.write("store.age", Data(damaged))
            expectClavisError(.corrupted) { try fixture.store.store(Secret("x"), named: "b") }
            #expect(try fixture.bytes() == Data(damaged))
        }
    }

    @Test func passphraseStoreRoundTripsAndPyrageReadsIt() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("p.age")
        try directory.write("pw", "s3cret pass\n")
        try AgeStore.create(path: path, recipients: [.scrypt(ScryptRecipient(passphrase: Secret("s3cret pass"), workFactor: 10))])
        let store = AgeStore(path: path, unlock: AgeUnlock(passphrase: { Secret("s3cret pass") }, useEnvironment: false))
        try store.store(Secret("v"), named: "k")
        #expect(try store.secret(named: "k").revealedString() == "v")
        #expect(try store.info().isPassphraseProtected)
        let python = try await Command.run("python3", ["-c", "import pyrage,sys; sys.stdout.write(pyrage.passphrase.decrypt(open(sys.argv[1],'rb').read(), 's3cret pass').decode())", path])
        #expect(python.status == 0, "\(python.stderr)")
        #expect(python.output.contains(#""value" : "v""#))
        let wrong = AgeStore(path: path, unlock: AgeUnlock(passphrase: { Secret("nope") }, useEnvironment: false))
        expectClavisError(.wrongKey, containing: "incorrect passphrase") { _ = try wrong.names() }
        let none = AgeStore(path: path, unlock: AgeUnlock(useEnvironment: false))
        expectClavisError(.locked, containing: "passphrase") { _ = try none.names() }
    }

    @Test func recipientsAndRekey() async throws {
        let fixture = try StoreFixture()
        try fixture.store.store(Secret("kept"), named: "a")
        let second = try X25519Identity.generate()
        try fixture.directory.write("second.txt", second.encoded().revealedString() ?? "")
        try fixture.store.addRecipients([.x25519(second.recipient)])
        let bySecond = AgeStore(path: fixture.path, unlock: AgeUnlock(identityFiles: [fixture.directory.file("second.txt")], useEnvironment: false))
        #expect(try bySecond.secret(named: "a").revealedString() == "kept")
        // The second member confirms the list once before writing (RecipientPin).
        try bySecond.confirmRecipients()
        try bySecond.removeRecipients([.x25519(fixture.identity.recipient)])
        expectClavisError(.wrongKey) { _ = try fixture.store.names() }
        expectClavisError(.invalidValue, containing: "no recipient") { try bySecond.removeRecipients([.x25519(second.recipient)]) }
        // Rekey to a passphrase, then back to a recipient.
        try bySecond.rekey(to: [.scrypt(ScryptRecipient(passphrase: Secret("pp"), workFactor: 10))])
        let byPassphrase = AgeStore(path: fixture.path, unlock: AgeUnlock(passphrase: { Secret("pp") }, useEnvironment: false))
        #expect(try byPassphrase.secret(named: "a").revealedString() == "kept")
        try byPassphrase.rekey(to: [.x25519(fixture.identity.recipient)])
        #expect(try fixture.store.secret(named: "a").revealedString() == "kept")
        #expect(try fixture.store.info().stanzaTypes == ["X25519"])
    }

    @Test func sourceResolvesReferencesWithEnvironmentAndCredentials() async throws {
        let fixture = try StoreFixture()
        try fixture.store.store(Secret("via-source"), named: "app")
        let source = AgeSource(unlock: AgeUnlock(identityFiles: [fixture.key], useEnvironment: false))
        let reference = try SecretReference(parsing: "age:\(fixture.path)#app")
        #expect(try await source.secret(for: reference).revealedString() == "via-source")
        try await source.store(Secret("new"), for: try SecretReference(parsing: "age:\(fixture.path)#b"))
        #expect(try await source.listNames(in: try SecretReference(parsing: "age:\(fixture.path)")) == ["app", "b"])
        // A systemd credential named clavis-age-identity unlocks it.
        let credentials = try TemporaryDirectory()
        try credentials.write("clavis-age-identity", fixture.identity.encoded().revealedString() ?? "", mode: 0o400)
        let viaCredential = try await Command.clavis(["secret", "get", "age:\(fixture.path)#app"],
                                               environment: ["CREDENTIALS_DIRECTORY": credentials.path], removing: ["CLAVIS_AGE_IDENTITY_FILE"])
        #expect(viaCredential.status == 0, "\(viaCredential.stderr)")
        #expect(viaCredential.output == "via-source\n")
        let viaEnvironment = try await Command.clavis(["secret", "get", "age:\(fixture.path)#b"], environment: ["CLAVIS_AGE_IDENTITY_FILE": fixture.key])
        #expect(viaEnvironment.output == "new\n")
        for bad in ["age:relative.age#x", "age:\(fixture.path)?x=1#a"] {
            do {
                _ = try await source.secret(for: try SecretReference(parsing: bad))
                Issue.record("\(bad) accepted")
            } catch ClavisError.invalidReference {}
        }
    }
}

/// Crash safety and concurrency, with real processes.
@Suite struct AgeStoreDurabilityTests {
    @Test func twoConcurrentWritersLoseNoUpdate() async throws {
        let fixture = try StoreFixture()
        let script = try fixture.directory.write("writer.sh", """
            for i in $(seq 1 15); do
                printf 'v%s' "$i" | "$CLAVIS" secret set "age:$STORE#$1-$i" --identity "$KEY" 2>>"$ERRORS" || exit 1
            done
            """, mode: 0o700)
        let environment = ["CLAVIS": Command.clavis, "STORE": fixture.path, "KEY": fixture.key, "ERRORS": fixture.directory.file("errors"),
                           "SCRIPT": script]
        let both = try await Command.run("bash", ["-c", #"bash "$SCRIPT" a & first=$!; bash "$SCRIPT" b & second=$!; wait $first && wait $second"#],
                                   environment: environment, timeout: .seconds(120))
        #expect(both.status == 0, "\((try? String(contentsOfFile: fixture.directory.file("errors"), encoding: .utf8)) ?? "")")
        let names = try fixture.store.names()
        #expect(names.count == 30, "\(names)")
        #expect(try fixture.store.secret(named: "b-15").revealedString() == "v15")
    }

    @Test func killedWritersLeaveTheOldOrTheNewStore() async throws {
        let fixture = try StoreFixture()
        try fixture.store.store(Secret("0"), named: "counter")
        var written = Set(["0"])
        for round in 1...12 {
            let value = String(round)
            written.insert(value)
            // Kill the writer at a random point of its update (after 1–60 ms).
            let delay = Double.random(in: 0.001...0.06)
            let result = try await Command.run("bash", ["-c", """
                printf '%s' "$VALUE" | "$CLAVIS" secret set "age:$STORE#counter" --identity "$KEY" 2>/dev/null &
                pid=$!; sleep \(delay); kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; true
                """], environment: ["CLAVIS": Command.clavis, "STORE": fixture.path, "KEY": fixture.key, "VALUE": value])
            #expect(result.status == 0)
            let current = try fixture.store.secret(named: "counter").revealedString() ?? ""
            #expect(written.contains(current), "round \(round): store holds '\(current)'")
        }
    }
}
