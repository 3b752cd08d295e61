import ClavisTestSupport
import Foundation
import Testing

/// What a newcomer meets first: the demo runs, errors are one line naming the cause, and debug
/// logs show each request Clavis makes without ever showing a secret.
@Suite struct FirstHourErrorTests {
    /// `clavis demo` (the README's first command) runs end to end.
    @Test func theDemoRuns() async throws {
        let demo = try await Command.clavis(["demo"], timeout: .seconds(300))
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect((demo.output + demo.stderr).contains("Done: no secret was hardcoded"))
    }

    /// A missing identity file is said to be missing — not "secret not found" — in one line.
    @Test func aMissingIdentityFileIsNamed() async throws {
        let directory = try TemporaryDirectory()
        let keygen = try await Command.clavis(["keygen", "-o", directory.file("key.txt")])
        let recipient = try #require(keygen.stderr.firstMatch(of: /age1[a-z0-9]+/).map { String($0.output) })
        #expect(try await Command.clavis(["store", "init", "age:\(directory.file("s.age"))", "--recipient", recipient]).status == 0)
        let result = try await Command.clavis(["secret", "get", "age:\(directory.file("s.age"))#x", "--identity", directory.file("nope.txt")],
                                              environment: ["CLAVIS_AGE_IDENTITY_FILE": ""])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: identity file missing: "), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    /// `CLAVIS_LOG_LEVEL=debug` shows each request (method, host, path, status, time) and the
    /// Entra support ids, on stderr, never the secret; the value alone is on stdout.
    @Test func debugLogsShowRequestsNotSecrets() async throws {
        let directory = try TemporaryDirectory()
        let port = Int.random(in: 29001...29900)
        let script = """
            cd "$1" && PATH="$2:$PATH" && export PATH
            clavis emulator init --dir emu --port "$3" > commands 2>/dev/null || exit 10
            sh -c "exec $(grep '^clavis emulator serve' commands)" > serve.out 2>&1 &
            trap 'kill $!' EXIT
            for i in $(seq 100); do grep -q '^vault' serve.out && break; sleep 0.1; done
            tenant=$(grep -o -- '--tenant [^ ]*' commands | head -1 | cut -d' ' -f2)
            client=$(grep -o -- '--client-id [^ ]*' commands | head -1 | cut -d' ' -f2)
            common="--ca-file $PWD/emu/ca.pem --authority https://127.0.0.1:$3 --client-id $client"
            CLAVIS_LOG_LEVEL=debug clavis token $common --tenant "$tenant" --secret "dir:$PWD/emu/secrets#app-secret" > token.out 2> token.err
            echo "token $?" > statuses
            CLAVIS_LOG_LEVEL=debug clavis token $common --tenant 11111111-2222-4333-8444-555555555555 --secret "dir:$PWD/emu/secrets#app-secret" > bad.out 2> bad.err
            echo "bad $?" >> statuses
            clavis token $common --tenant "$tenant" --secret "dir:$PWD/emu/secrets#app-secret" --verbose > verbose.out 2> verbose.err
            echo "verbose $?" >> statuses
            clavis token $common --tenant 11111111-2222-4333-8444-555555555555 --secret "dir:$PWD/emu/secrets#app-secret" --json > json.out 2> json.err
            echo "json $?" >> statuses
            CLAVIS_LOG_LEVEL=trace clavis token $common --tenant "$tenant" --secret "dir:$PWD/emu/secrets#app-secret" > trace.out 2> trace.err
            echo "trace $?" >> statuses
            """
        let result = try await Command.run("sh", ["-c", script, "sh", directory.path, Command.buildDirectory, String(port)], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        func read(_ name: String) -> String { (try? String(contentsOfFile: directory.file(name), encoding: .utf8)) ?? "" }
        #expect(read("statuses") == "token 0\nbad 1\nverbose 0\njson 1\ntrace 0\n")
        let secret = read("emu/secrets/app-secret").trimmingCharacters(in: .newlines)
        let log = read("token.err")
        #expect(log.contains("clavis.http.method=POST") && log.contains("clavis.http.status=200") && log.contains("clavis.http.ms="), "\(log)")
        #expect(!secret.isEmpty && !log.contains(secret) && !read("bad.err").contains(secret))
        #expect(!log.contains(read("token.out").trimmingCharacters(in: .newlines)))  // the token itself is never logged
        let bad = read("bad.err").split(separator: "\n").filter { !$0.contains(" debug ") }
        #expect(bad.count == 2 && bad[0].hasPrefix("error: unknown tenant: ") && bad[1].hasPrefix("Entra ID trace "), "\(bad)")
        // --verbose (in any position) is CLAVIS_LOG_LEVEL=debug: the same request lines, no secret, the value alone on stdout.
        let verbose = read("verbose.err")
        #expect(verbose.contains("clavis.http.method=POST") && verbose.contains("clavis.http.status=200"), "\(verbose)")
        #expect(!verbose.contains(secret) && !verbose.contains(read("verbose.out").trimmingCharacters(in: .newlines)))
        #expect(read("verbose.out").split(separator: "\n").count == 1)
        // --json: the one error line on stderr, and the error as a JSON object on stdout with the support ids.
        #expect(read("json.err").split(separator: "\n").count == 1 && read("json.err").hasPrefix("error: unknown tenant: "), "\(read("json.err"))")
        let report = try JSONSerialization.jsonObject(with: Data(read("json.out").utf8)) as? [String: Any]
        let body = try #require(report?["error"] as? [String: Any], "\(read("json.out"))")
        #expect(body["code"] as? String == "unknown-tenant")
        #expect(body["exitCode"] as? Int == 1)
        #expect((body["message"] as? String)?.hasPrefix("unknown tenant: ") == true)
        #expect((body["traceId"] as? String)?.isEmpty == false)
        #expect(body["aadsts"] as? [Int] == [90002], "\(body)")
        #expect(!read("json.out").contains(secret))
        // At trace, AsyncHTTPClient would hex-dump the first and last 32 bytes of each HTTP/1.1 body
        // part (the token reply here); Clavis hands it its logger at debug at most.
        let trace = read("trace.err")
        let token = read("trace.out").trimmingCharacters(in: .newlines)
        #expect(trace.contains("clavis.http.status=200"), "\(trace.prefix(400))")
        #expect(!trace.contains("ahc-http-part"), "\(trace.prefix(2000))")
        #expect(!token.isEmpty && !trace.contains(token) && !trace.contains(secret))
        let tokenHex = token.utf8.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        #expect(!trace.contains(tokenHex))
    }

    /// `--verbose` is taken out of the arguments only before `--`: after it, it belongs to the
    /// program `clavis run` starts. And a usage error under `--json` is a JSON object too.
    @Test func verboseAfterDoubleDashIsTheChildsAndUsageErrorsAreJSON() async throws {
        let run = try await Command.clavis(["run", "--verbose", "--", "sh", "-c", "printf '%s\\n' \"$@\"", "sh", "--verbose"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.output == "--verbose\n")
        // Without `--`, everything after `run` is the run's and the program's: not taken either.
        let bare = try await Command.clavis(["run", "sh", "-c", "printf '%s\\n' \"$@\"", "sh", "--verbose", "--json"])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(bare.output == "--verbose\n--json\n")
        let usage = try await Command.clavis(["secret", "get", "--json", "--no-such-option"])
        #expect(usage.status == 64)
        #expect(usage.stderr.hasPrefix("error: "))
        let report = try JSONSerialization.jsonObject(with: usage.stdout) as? [String: Any]
        #expect((report?["error"] as? [String: Any])?["code"] as? String == "usage", "\(usage.output)")
    }
}
