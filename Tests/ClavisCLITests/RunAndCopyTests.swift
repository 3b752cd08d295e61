import ClavisTestSupport
import Foundation
import Testing

@Suite struct RunCommandTests {
    @Test func childSeesResolvedValuesFromEveryKindOfBinding() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("app", "from-credential\n")
        try directory.write("refs.env", """
            # references, not values: safe to commit
            export FROM_FILE="credential:app"
            QUOTED='env:CLAVIS_SRC'

            """)
        let result = try await Command.clavis(
            ["run", "--env", "FROM_FLAG=env:CLAVIS_SRC", "--env-file", directory.file("refs.env"), "--",
             "sh", "-c", #"printf '%s|%s|%s|%s' "$FROM_FLAG" "$FROM_FILE" "$QUOTED" "$INHERITED""#],
            environment: ["CLAVIS_SRC": "from-env", "CREDENTIALS_DIRECTORY": directory.path, "INHERITED": "clavis:env:CLAVIS_SRC"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == "from-env|from-credential|from-env|from-env")
    }

    /// docs/programs.md's example, as written there (dotenv: inline comments, quotes, export).
    @Test func theDocsEnvFileExampleRuns() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("store.txt", "app-secret-value")
        try directory.write("defender.env", """
            # defender.env — references only, never values
            AZURE_TENANT_ID=env:TENANT            # not secret: its value comes from the variable TENANT
            export AZURE_CLIENT_SECRET="dir:\(directory.path)#store.txt"   # the app secret
            QUOTED='env:TENANT' # single quotes too

            """)
        let result = try await Command.clavis(["run", "--env-file", directory.file("defender.env"), "--",
                                               "sh", "-c", #"printf '%s|%s|%s' "$AZURE_TENANT_ID" "$AZURE_CLIENT_SECRET" "$QUOTED""#],
                                              environment: ["TENANT": "contoso.onmicrosoft.com"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == "contoso.onmicrosoft.com|app-secret-value|contoso.onmicrosoft.com")
    }

    @Test func aFailingReferenceStartsNoChild() async throws {
        let directory = try TemporaryDirectory()
        let marker = directory.file("child-ran")
        let result = try await Command.clavis(["run", "--env", "A=env:CLAVIS_MISSING_1", "--env", "B=env:CLAVIS_SRC", "--env", "C=keyring:svc/u%zz",
                                         "--", "touch", marker], environment: ["CLAVIS_SRC": "ok"], removing: ["CLAVIS_MISSING_1"])
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 2, "\(result.stderr)")
        #expect(lines.contains { $0.hasPrefix("error: A=env:CLAVIS_MISSING_1: secret not found") })
        #expect(lines.contains { $0.hasPrefix("error: C=keyring:svc/u%zz: invalid secret reference") })
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func exitStatusPassesThrough() async throws {
        #expect(try await Command.clavis(["run", "--", "sh", "-c", "exit 7"]).status == 7)
        #expect(try await Command.clavis(["run", "--", "clavis-no-such-program"]).status == 127)
    }

    @Test func afterExecClavisIsTheProgram() async throws {
        // The program reports its own pid and waits for SIGTERM; the test signals the pid it
        // started (clavis's) and sees the program's trap run.
        let directory = try TemporaryDirectory()
        let pidFile = directory.file("pid")
        let script = #"trap 'echo got-term; exit 42' TERM; echo $$ > "$PID_FILE"; while :; do sleep 0.05; done"#
        let runner = """
            "$CLAVIS" run -- sh -c "$SCRIPT" & started=$!
            for i in $(seq 1 200); do [ -s "$PID_FILE" ] && break; sleep 0.02; done
            echo "started=$started reported=$(cat "$PID_FILE")"
            kill -TERM $started; wait $started; echo "status=$?"
            """
        let result = try await Command.run("bash", ["-c", runner],
                                     environment: ["CLAVIS": Command.clavis, "SCRIPT": script, "PID_FILE": pidFile], timeout: .seconds(30))
        let output = result.output
        let started = output.firstMatch(of: /started=(\d+)/)?.1, reported = output.firstMatch(of: /reported=(\d+)/)?.1
        #expect(started != nil && started == reported, "\(output)")
        #expect(output.contains("got-term"))
        #expect(output.contains("status=42"))
    }

    @Test func theSecretIsNeitherOnTheCommandLineNorInFiles() async throws {
        let directory = try TemporaryDirectory()
        let canary = "canary-\(UUID().uuidString)"
        let script = #"cat /proc/$$/cmdline | tr '\0' ' ' > "$OUT/cmdline"; printf '%s' "$SECRET" | wc -c > "$OUT/length""#
        let result = try await Command.clavis(["run", "--env", "SECRET=env:CLAVIS_CANARY", "--", "sh", "-c", script],
                                        environment: ["CLAVIS_CANARY": canary, "OUT": directory.path, "TMPDIR": directory.path])
        #expect(result.status == 0, "\(result.stderr)")
        let cmdline = try String(contentsOfFile: directory.file("cmdline"), encoding: .utf8)
        #expect(!cmdline.contains(canary))
        #expect(try String(contentsOfFile: directory.file("length"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "\(canary.utf8.count)")
        for name in try FileManager.default.subpathsOfDirectory(atPath: directory.path) {
            let data = (try? Data(contentsOf: URL(fileURLWithPath: directory.file(name)))) ?? Data()
            #expect(data.range(of: Data(canary.utf8)) == nil, "\(name) holds the secret")
        }
        #expect(!result.output.contains(canary) && !result.stderr.contains(canary))
    }

    @Test func noInheritKeepsOnlyTheNamedVariables() async throws {
        let result = try await Command.clavis(["run", "--no-inherit", "--env", "ONLY=env:CLAVIS_SRC", "--", "env"],
                                        environment: ["CLAVIS_SRC": "v", "CLAVIS_OTHER": "hidden"])
        let names = Set(result.output.split(separator: "\n").compactMap { $0.split(separator: "=").first.map(String.init) })
        #expect(names.isSubset(of: ["ONLY", "PATH", "HOME", "LANG"]), "\(names)")
        #expect(result.output.contains("ONLY=v"))
    }
}

@Suite struct CopyCommandTests {
    func makeStore(_ directory: TemporaryDirectory) async throws -> (store: String, identity: [String]) {
        let keygen = try await Command.clavis(["keygen", "-o", directory.file("key.txt")])
        let recipient = String(keygen.stderr.dropFirst("Public key: ".count)).trimmingCharacters(in: .whitespacesAndNewlines)
        let store = "age:\(directory.file("s.age"))"
        #expect(try await Command.clavis(["store", "init", store, "--recipient", recipient]).status == 0)
        return (store, ["--identity", directory.file("key.txt")])
    }

    @Test func copiesBetweenStoresKeepingExistingDestinationsAndDryRunChangesNothing() async throws {
        let directory = try TemporaryDirectory()
        let source = try TemporaryDirectory()
        try source.write("a", "1")
        try source.write("b", "2")
        let (store, identity) = try await makeStore(directory)
        #expect(try await Command.clavis(["secret", "set", "\(store)#b"] + identity, stdin: Data("kept".utf8)).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: directory.file("s.age")))
        let dry = try await Command.clavis(["secret", "copy", "--all", "--dry-run", "dir:\(source.path)", store] + identity)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stderr.contains("would copy 1, skipped 1, failed 0"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.file("s.age"))) == before)
        let copy = try await Command.clavis(["secret", "copy", "--all", "--json", "dir:\(source.path)", store] + identity)
        #expect(copy.status == 0)
        #expect(!copy.output.contains("\"1\"") && !copy.stderr.contains(": 1"))
        #expect(try await Command.clavis(["secret", "get", "\(store)#a"] + identity).output == "1\n")
        #expect(try await Command.clavis(["secret", "get", "\(store)#b"] + identity).output == "kept\n")
        let overwrite = try await Command.clavis(["secret", "copy", "--overwrite", "dir:\(source.path)#b", "\(store)#b"] + identity)
        #expect(overwrite.stderr.contains("copied 1, skipped 0, failed 0"))
        #expect(try await Command.clavis(["secret", "get", "\(store)#b"] + identity).output == "2\n")
        let readOnly = try await Command.clavis(["secret", "copy", "\(store)#a", "env:X"] + identity)
        #expect(readOnly.status == 1)
        #expect(readOnly.stderr.contains("read-only"))
    }

    @Test(.enabled(if: TestSession.hasKeyring, "needs the keyring session `bash scripts/test` starts"))
    func copiesBetweenAnAgeStoreAndTheRealKeyringBothWays() async throws {
        let directory = try TemporaryDirectory()
        let (store, identity) = try await makeStore(directory)
        let service = "clavis-copy-\(UUID().uuidString.prefix(8))"
        for (name, value) in [("one", "v1"), ("two/slash", "v2")] {
            #expect(try await Command.run("secret-tool", ["store", "--label=x", "service", service, "username", name], stdin: Data(value.utf8)).status == 0)
        }
        let toStore = try await Command.clavis(["secret", "copy", "--all", "keyring:\(service)", store] + identity)
        #expect(toStore.status == 0, "\(toStore.stderr)")
        #expect(try await Command.clavis(["secret", "list", store] + identity).output == "one\ntwo/slash\n")
        #expect(try await Command.clavis(["secret", "get", "\(store)#two/slash"] + identity).output == "v2\n")
        let back = "\(service)-back"
        let toKeyring = try await Command.clavis(["secret", "copy", "--all", store, "keyring:\(back)"] + identity)
        #expect(toKeyring.status == 0, "\(toKeyring.stderr)")
        #expect(try await Command.run("secret-tool", ["lookup", "service", back, "username", "two/slash"]).output == "v2")
        #expect(try await Command.run("secret-tool", ["lookup", "service", back, "username", "one"]).output == "v1")
        for (svc, name) in [(service, "one"), (service, "two/slash"), (back, "one"), (back, "two/slash")] {
            _ = try await Command.run("secret-tool", ["clear", "service", svc, "username", name])
        }
    }
}
