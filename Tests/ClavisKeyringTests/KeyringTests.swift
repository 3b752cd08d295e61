import ClavisCore
import ClavisKeyring
import ClavisTestSupport
import Foundation
import Testing

/// A reference to a fresh item, so runs and tests never see each other's items.
func freshReference(_ username: String = "app-secret", query: String = "") throws -> (SecretReference, service: String) {
    let service = "clavis-test-\(UUID().uuidString.prefix(8))"
    return (try SecretReference(parsing: "keyring:\(service)/\(username)\(query)"), service)
}

@Suite(.enabled(if: TestSession.hasKeyring, "needs the D-Bus session and unlocked gnome-keyring that `bash scripts/test` starts"),
       .serialized)
struct KeyringSourceTests {
    let source = KeyringSource()

    @Test func storeReadListDelete() async throws {
        let (reference, service) = try freshReference()
        try await source.store(Secret("first"), for: reference)
        #expect(try await source.secret(for: reference).revealedString() == "first")
        try await source.store(Secret("second"), for: reference)
        #expect(try await source.secret(for: reference).revealedString() == "second")
        let other = try SecretReference(parsing: "keyring:\(service)/other")
        try await source.store(Secret("x"), for: other)
        #expect(try await source.listNames(in: SecretReference(parsing: "keyring:\(service)")) == ["app-secret", "other"])
        try await source.delete(reference)
        do {
            _ = try await source.secret(for: reference)
            Issue.record("deleted item still readable")
        } catch ClavisError.notFound {}
        do {
            try await source.delete(reference)
            Issue.record("deleting twice succeeded")
        } catch ClavisError.notFound {}
        #expect(try await source.listNames(in: SecretReference(parsing: "keyring:\(service)")) == ["other"])
        try await source.delete(other)
    }

    @Test(arguments: [
        "line one\nline two\n",
        "ünïcødé — 秘密 — 🔑",
        String(repeating: "0123456789abcdef", count: 4096),  // 64 KiB
    ])
    func valuesRoundTrip(value: String) async throws {
        let (reference, _) = try freshReference()
        try await source.store(Secret(value), for: reference)
        #expect(try await source.secret(for: reference).revealedString() == value)
        try await source.delete(reference)
    }

    @Test func binaryValuesRoundTrip() async throws {
        let (reference, _) = try freshReference()
        let bytes: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 0, 10, 13]
        try await source.store(Secret(bytes: bytes), for: reference)
        #expect(try await source.secret(for: reference).revealedBytes() == bytes)
        try await source.delete(reference)
    }

    @Test func secretToolReadsWhatClavisStored() async throws {
        let (reference, service) = try freshReference()
        try await source.store(Secret("stored-by-clavis"), for: reference)
        let lookup = try await Command.run("secret-tool", ["lookup", "service", service, "username", "app-secret"])
        #expect(lookup.status == 0, "\(lookup.stderr)")
        #expect(lookup.output == "stored-by-clavis")
        try await source.delete(reference)
    }

    @Test func clavisReadsWhatSecretToolStored() async throws {
        let service = "clavis-test-\(UUID().uuidString.prefix(8))"
        let store = try await Command.run("secret-tool", ["store", "--label=from secret-tool", "service", service, "username", "u"],
                                    stdin: Data("stored-by-secret-tool".utf8))
        #expect(store.status == 0, "\(store.stderr)")
        let get = try await Command.clavis(["secret", "get", "keyring:\(service)/u"])
        #expect(get.status == 0, "\(get.stderr)")
        #expect(get.output == "stored-by-secret-tool\n")
        let delete = try await Command.clavis(["secret", "delete", "keyring:\(service)/u"])
        #expect(delete.status == 0)
        #expect(try await Command.run("secret-tool", ["lookup", "service", service, "username", "u"]).status != 0)
    }

    @Test func pythonKeyringInteropBothWays() async throws {
        let (reference, service) = try freshReference()
        let set = try await Command.run("python3", ["-c", "import keyring, sys; keyring.set_password(sys.argv[1], 'app-secret', sys.stdin.read())", service],
                                  stdin: Data("from-python".utf8))
        #expect(set.status == 0, "\(set.stderr)")
        #expect(try await source.secret(for: reference).revealedString() == "from-python")
        // Clavis updates Python's item in place: still one item, still readable by Python.
        try await source.store(Secret("from-clavis"), for: reference)
        let get = try await Command.run("python3", ["-c", "import keyring, sys; sys.stdout.write(keyring.get_password(sys.argv[1], 'app-secret'))", service])
        #expect(get.status == 0, "\(get.stderr)")
        #expect(get.output == "from-clavis")
        let search = try await Command.run("secret-tool", ["search", "--all", "service", service, "username", "app-secret"])
        #expect(search.output.split(separator: "\n").filter { $0.hasPrefix("[/") }.count == 1, "\(search.output)")
        #expect(search.output.contains("label = Password for 'app-secret' on '\(service)'"))
        try await source.delete(reference)
    }

    @Test func namedCollectionAndMissingCollection() async throws {
        let (reference, service) = try freshReference(query: "?collection=login")
        try await source.store(Secret("in-login"), for: reference)
        // `default` is an alias of `login` in a fresh gnome-keyring.
        #expect(try await source.secret(for: SecretReference(parsing: "keyring:\(service)/app-secret")).revealedString() == "in-login")
        try await source.delete(reference)
        do {
            _ = try await source.secret(for: SecretReference(parsing: "keyring:\(service)/x?collection=nonexistent"))
            Issue.record("read from a missing collection")
        } catch let error as ClavisError {
            #expect(error.code == .noSuchCollection && error.code.is(.notFound))
            #expect(error.reason.contains("no collection or alias called 'nonexistent'"))
        }
    }

    @Test func malformedReferences() async throws {
        for text in ["keyring:svc", "keyring:/user", "keyring:svc/u#x", "keyring:svc/u?color=red", "keyring:svc/u%zz"] {
            do {
                _ = try await source.secret(for: SecretReference(parsing: text))
                Issue.record("\(text) was accepted")
            } catch ClavisError.invalidReference {}
        }
    }

    @Test func percentEscapesReachTheAttributes() async throws {
        let service = "clavis-test-\(UUID().uuidString.prefix(8))"
        let reference = try SecretReference(parsing: "keyring:\(service)/user%2Fwith%23odd")
        try await source.store(Secret("v"), for: reference)
        let lookup = try await Command.run("secret-tool", ["lookup", "service", service, "username", "user/with#odd"])
        #expect(lookup.output == "v")
        try await source.delete(reference)
    }

    @Test func concurrentCallersAllSucceed() async throws {
        let (reference, _) = try freshReference()
        try await source.store(Secret("shared"), for: reference)
        let values = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<50 { group.addTask { try await source.secret(for: reference).revealedString() } }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(values.count == 50)
        #expect(values.allSatisfy { $0 == "shared" })
        try await source.delete(reference)
    }

    @Test func doctorReportsAWorkingKeyring() async throws {
        let doctor = try await Command.clavis(["doctor", "--json"])
        #expect(doctor.status == 0)
        let findings = try JSONDecoder().decode([SourceDiagnosis].self, from: doctor.stdout)
        let keyring = findings.filter { $0.scheme == "keyring" }
        #expect(keyring.map(\.status) == [.ok, .ok, .ok], "\(keyring)")
    }
}

/// Headless failure modes, each in its own private D-Bus session. Every one must give its own
/// `error:` line, fast. The bound (2 s) is the issue's; typical times are 20–200 ms.
@Suite(.enabled(if: TestSession.hasKeyring, "needs dbus-run-session and gnome-keyring, which `bash scripts/test` installs"))
struct KeyringFailureTests {
    let bound: Duration = .seconds(2) * TestSession.slowdown

    @Test func lockedCollectionFailsFastWithItsOwnError() async throws {
        let home = try TemporaryDirectory()
        let create = try await TestSession.isolated(
            #"printf right | gnome-keyring-daemon --unlock --components=secrets >/dev/null && printf v | "$CLAVIS" secret set keyring:svc/user"#,
            home: home)
        #expect(create.status == 0, "\(create.stderr)")
        // A wrong password leaves the collection locked.
        let locked = try await TestSession.isolated(#"""
            printf wrong | gnome-keyring-daemon --unlock --components=secrets >/dev/null
            start=$(date +%s%N); "$CLAVIS" secret get keyring:svc/user; rc=$?; end=$(date +%s%N)
            echo "rc=$rc ms=$(( (end - start) / 1000000 ))"
            printf x | "$CLAVIS" secret set keyring:svc/user; echo "set-rc=$?"
            "$CLAVIS" doctor --json
            """#, home: home)
        #expect(locked.output.contains("rc=1 "), "\(locked.output)")
        #expect(locked.output.contains("set-rc=1"))
        let lines = locked.stderr.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 2, "\(locked.stderr)")
        #expect(lines.allSatisfy { $0.hasPrefix("error: secret store locked: keyring:svc/user: keyring collection 'default' is locked") })
        #expect(milliseconds(locked.output) < 2000 * TestSession.slowdown)
        #expect(locked.output.contains(#""detail" : "locked""#))
        // Nothing was lost: the right password still opens the original value.
        let reopened = try await TestSession.isolated(
            #"printf right | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "$CLAVIS" secret get keyring:svc/user"#,
            home: home)
        #expect(reopened.output == "v\n", "\(reopened.stderr)")
    }

    @Test func noBusFailsFastWithItsOwnError() async throws {
        let empty = try TemporaryDirectory()
        let result = try await Command.clavis(["secret", "get", "keyring:svc/user"], environment: ["XDG_RUNTIME_DIR": empty.path],
                                        removing: ["DBUS_SESSION_BUS_ADDRESS", "DISPLAY"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: secret source unavailable: keyring:svc/user: no D-Bus session bus"))
        #expect(result.stderr.contains("dbus-run-session"))
        #expect(result.duration < bound)
    }

    @Test func busWithoutProviderFailsFastWithItsOwnError() async throws {
        let home = try TemporaryDirectory()
        let config = try TestSession.busConfigWithoutServices(in: home)
        let result = try await TestSession.isolated(#"""
            start=$(date +%s%N); "$CLAVIS" secret get keyring:svc/user; rc=$?; end=$(date +%s%N)
            echo "rc=$rc ms=$(( (end - start) / 1000000 ))"
            """#, home: home, configFile: config)
        #expect(result.output.contains("rc=1 "), "\(result.output) \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: secret source unavailable: keyring:svc/user: no Secret Service provider"), "\(result.stderr)")
        #expect(milliseconds(result.output) < 2000 * TestSession.slowdown)
    }

    private func milliseconds(_ output: String) -> Int {
        guard let range = output.range(of: #"ms=(\d+)"#, options: .regularExpression) else { return .max }
        return Int(output[range].dropFirst(3)) ?? .max
    }
}
