import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisKeyVault
import ClavisTestSupport
import Foundation
import Testing

/// `clavis app secret rotate` end to end against the emulator, for each writable source.
@Suite(.serialized) struct RotateCommandTests {
    /// Rotates `reference` (holding `R.initial`) with no overlap and checks the outcome: a new value
    /// that gets a token, the portal-made secret removed, the key id kept next to the value, and
    /// the value printed nowhere.
    func rotateAndCheck(_ emulator: RunningEmulator, reference: String, extra: [String] = [], environment: [String: String] = [:]) async throws -> String {
        let rotate = try await Command.clavis(["app", "secret", "rotate"] + R.appOptions(emulator, secret: reference) + ["--overlap", "0s", "--json"] + extra,
                                              environment: environment, timeout: .seconds(120))
        #expect(rotate.status == 0, "\(rotate.stderr)")
        let read = try await Command.clavis(["secret", "get", reference] + extra, environment: environment)
        let value = read.output.trimmingCharacters(in: .newlines)
        #expect(!value.isEmpty && value != R.initial, "\(read.stderr)")
        #expect(!rotate.output.contains(value) && !rotate.stderr.contains(value), "the new secret was printed")
        #expect(try await R.tokenStatus(emulator, secret: value).status == 200)
        #expect(try await R.tokenStatus(emulator, secret: R.initial).codes == [7000215])  // the old one is gone
        let report = try #require(try JSONSerialization.jsonObject(with: rotate.stdout) as? [String: Any])
        let added = try #require((report["added"] as? [String: Any])?["keyId"] as? String)
        #expect(report["removed"] as? [String] == [R.initialKeyId])
        let left = emulator.state.passwordCredentials(tenant: R.tenant, appId: R.rotator)
        #expect(left.map(\.keyId) == [added])
        #expect(left.first?.displayName?.hasPrefix("Clavis rotation ") == true)
        // The reference itself authorizes a token (as a daemon would use it).
        let token = try await Command.clavis(["token"] + R.appOptions(emulator, secret: reference) + extra, environment: environment)
        #expect(token.status == 0, "\(token.stderr)")
        return added
    }

    @Test(.enabled(if: TestSession.hasKeyring, "needs the D-Bus session and unlocked gnome-keyring that `bash scripts/test` starts"))
    func rotatesAKeyringReference() async throws {
        try await R.withEmulator { emulator in
            let reference = "keyring:clavis-rotate-\(UUID().uuidString.prefix(8))/app-secret"
            #expect(try await Command.clavis(["secret", "set", reference], stdin: Data((R.initial + "\n").utf8)).status == 0)
            let added = try await rotateAndCheck(emulator, reference: reference)
            // The key id lives on the keyring item itself, as an attribute.
            let attributes = try await Command.run("secret-tool", ["search", "--all", "service", String(reference.dropFirst("keyring:".count).prefix { $0 != "/" })])
            #expect(attributes.output.contains("attribute.clavis-key-id = \(added)") || attributes.stderr.contains("clavis-key-id = \(added)"),
                    "\(attributes.output) \(attributes.stderr)")
            _ = try await Command.clavis(["secret", "delete", reference])
        }
    }

    @Test func rotatesAnAgeStoreReference() async throws {
        try await R.withEmulator { emulator in
            let directory = try TemporaryDirectory()
            let (reference, identity) = try await R.ageStore(in: directory)
            #expect(try await Command.clavis(["secret", "set", reference] + identity, stdin: Data((R.initial + "\n").utf8)).status == 0)
            _ = try await rotateAndCheck(emulator, reference: reference, extra: identity)
        }
    }

    @Test func rotatesAKeyVaultReference() async throws {
        try await R.withEmulator { emulator in
            let environment = R.vaultEnvironment(emulator)
            let reference = "keyvault:\(try #require(emulator.vaultURL("rot")))/secrets/app-secret"
            #expect(try await Command.clavis(["secret", "set", reference], stdin: Data((R.initial + "\n").utf8), environment: environment).status == 0)
            let added = try await rotateAndCheck(emulator, reference: reference, environment: environment)
            // The key id is a tag of the new version.
            let credential = ClientSecretCredential(tenant: R.tenant, clientId: R.vaultApp, reference: "vault", authority: try Authority(emulator.baseURL)) { Secret(R.vaultSecret) }
            let source = KeyVaultSource(credential: credential, allowedHosts: ["127.0.0.1"], environment: [:])
            let annotations = try await source.annotations(for: try SecretReference(parsing: reference))
            #expect(annotations["clavis-key-id"] == added)
            #expect(annotations["clavis-expires"] != nil)
        }
    }

    /// With an overlap the previous secret keeps working until a later run removes it; a run
    /// before then rotates nothing.
    @Test func thePreviousSecretIsRemovedAfterTheOverlap() async throws {
        try await R.withEmulator(replicationMilliseconds: 0) { emulator in
            let directory = try TemporaryDirectory()
            let (reference, identity) = try await R.ageStore(in: directory)
            #expect(try await Command.clavis(["secret", "set", reference] + identity, stdin: Data((R.initial + "\n").utf8)).status == 0)
            let options = ["app", "secret", "rotate"] + R.appOptions(emulator, secret: reference) + ["--overlap", "3s"] + identity
            let first = try await Command.clavis(options)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(try await R.tokenStatus(emulator, secret: R.initial).status == 200)  // still valid during the overlap
            #expect(emulator.state.passwordCredentials(tenant: R.tenant, appId: R.rotator).count == 2)
            let early = try await Command.clavis(options)
            #expect(early.status == 0 && early.stderr.contains("not rotating again"), "\(early.stderr)")
            #expect(emulator.state.passwordCredentials(tenant: R.tenant, appId: R.rotator).count == 2)
            try await Task.sleep(for: .seconds(3))
            let due = try await Command.clavis(options)
            #expect(due.status == 0, "\(due.stderr)")
            #expect(due.stderr.contains("removed secret \(R.initialKeyId)"), "\(due.stderr)")
            #expect(try await R.tokenStatus(emulator, secret: R.initial).codes == [7000215])
            #expect(!emulator.state.passwordCredentials(tenant: R.tenant, appId: R.rotator).map(\.keyId).contains(R.initialKeyId))
        }
    }

    /// A running `clavis defender watch` that reads its secret from the reference keeps polling
    /// across a rotation that removes the secret it started with — no restart.
    func watchAcrossRotation(_ emulator: RunningEmulator, reference: String, extra: [String] = [], environment: [String: String] = [:]) async throws {
        let directory = try TemporaryDirectory()
        #expect(try await Command.clavis(["secret", "set", reference] + extra, stdin: Data((R.initial + "\n").utf8), environment: environment).status == 0)
        func quoted(_ arguments: [String]) -> String { arguments.map { "'\($0)'" }.joined(separator: " ") }
        let watch = quoted([Command.clavis, "defender", "watch", "--api", emulator.baseURL, "--interval", "1", "--lookback", "40d"]
                           + R.appOptions(emulator, secret: reference) + extra)
        let rotate = quoted([Command.clavis, "app", "secret", "rotate", "--overlap", "0s"] + R.appOptions(emulator, secret: reference) + extra)
        let stats = "curl -s --noproxy '*' \(emulator.baseURL)/_emulator/stats | python3 -c 'import json,sys; print(json.load(sys.stdin).get(\"defender\", 0))'"
        let script = """
            \(watch) > "\(directory.file("watch.out"))" 2> "\(directory.file("watch.err"))" & pid=$!
            start=$(\(stats))
            for i in $(seq 1 100); do [ "$(\(stats))" -ge $((start + 2)) ] && break; sleep 0.1; done
            \(rotate) 2> "\(directory.file("rotate.err"))"; echo "rotate=$?"
            before=$(\(stats))
            for i in $(seq 1 100); do [ "$(\(stats))" -ge $((before + 3)) ] && break; sleep 0.1; done
            echo "polls=$(( $(\(stats)) - before ))"
            kill -TERM $pid; wait $pid; echo "watch=$?"
            """
        let run = try await Command.run("bash", ["-c", script], environment: environment, timeout: .seconds(120))
        let watchErrors = (try? String(contentsOfFile: directory.file("watch.err"), encoding: .utf8)) ?? ""
        #expect(run.output.contains("rotate=0"), "\(run.output) \((try? String(contentsOfFile: directory.file("rotate.err"), encoding: .utf8)) ?? "")")
        let polls = Int(run.output.split(separator: "\n").first { $0.hasPrefix("polls=") }?.dropFirst(6) ?? "") ?? 0
        #expect(polls >= 3, "\(run.output)")
        #expect(!watchErrors.contains("error"), "\(watchErrors)")
        #expect(run.output.contains("watch=0"), "\(run.output)")
        #expect(try await R.tokenStatus(emulator, secret: R.initial).codes == [7000215])  // it really runs on the new secret
    }

    // Tokens live 20 s, under the cache's 30 s leeway: every poll asks for a token, reading the reference anew.

    @Test func aRunningWatchPicksUpTheNewSecretFromAnAgeStore() async throws {
        try await R.withEmulator(replicationMilliseconds: 500, tokenLifetime: 20) { emulator in
            let directory = try TemporaryDirectory()
            let (reference, identity) = try await R.ageStore(in: directory)
            try await watchAcrossRotation(emulator, reference: reference, extra: identity)
        }
    }

    @Test func aRunningWatchPicksUpTheNewSecretFromKeyVault() async throws {
        try await R.withEmulator(replicationMilliseconds: 500, tokenLifetime: 20) { emulator in
            try await watchAcrossRotation(emulator, reference: "keyvault:\(try #require(emulator.vaultURL("rot")))/secrets/watched",
                                          environment: R.vaultEnvironment(emulator))
        }
    }

    @Test(.enabled(if: TestSession.hasKeyring, "needs the D-Bus session and unlocked gnome-keyring that `bash scripts/test` starts"))
    func aRunningWatchPicksUpTheNewSecretFromTheKeyring() async throws {
        try await R.withEmulator(replicationMilliseconds: 500, tokenLifetime: 20) { emulator in
            let reference = "keyring:clavis-rotate-\(UUID().uuidString.prefix(8))/app-secret"
            try await watchAcrossRotation(emulator, reference: reference)
            _ = try await Command.clavis(["secret", "delete", reference])
        }
    }
}
