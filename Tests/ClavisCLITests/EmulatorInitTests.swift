import ClavisTestSupport
import Foundation
import Testing

/// `clavis emulator init` writes a config that loads and prints commands that work as printed:
/// the test runs every printed line in a shell, against the emulator the first line starts.
@Suite struct EmulatorInitTests {
    @Test func everyPrintedCommandWorksAsPrinted() async throws {
        let directory = try TemporaryDirectory()
        let port = Int.random(in: 20000...29000)
        let script = """
            set -u
            cd "$1" && PATH="$2:$PATH" && export PATH
            clavis emulator init --dir emu --port "$3" > commands 2> init.err || exit 10
            serve=$(grep '^clavis emulator serve' commands)
            sh -c "exec $serve" > serve.out 2> serve.err &
            server=$!
            trap 'kill $server 2>/dev/null' EXIT
            for i in $(seq 100); do grep -q '^vault' serve.out 2>/dev/null && break; sleep 0.1; done
            n=0
            grep -v '^#' commands | grep -v '^clavis emulator serve' > steps
            while IFS= read -r line; do
                n=$((n + 1))
                sh -c "$line" > "step$n.out" 2> "step$n.err"
                echo "$n $?" >> statuses
            done < steps
            """
        let result = try await Command.run("sh", ["-c", script, "sh", directory.path, Command.buildDirectory, String(port)], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        let statuses = try String(contentsOfFile: directory.file("statuses"), encoding: .utf8)
        #expect(statuses == "1 0\n2 0\n3 0\n4 0\n", "\(statuses) \((try? String(contentsOfFile: directory.file("step1.err"), encoding: .utf8)) ?? "")")
        func read(_ name: String) -> String { (try? String(contentsOfFile: directory.file(name), encoding: .utf8)) ?? "" }
        #expect(read("step1.err").contains("verified: signature, audience, expiry, roles Incident.Read.All"))
        let incidents = read("step2.err")
        #expect(incidents.contains(" incidents") && !incidents.contains("… 0 incidents"), "\(incidents)")  // some within --since 7d
        #expect(read("step3.out").split(separator: "\n").count >= 3)
        #expect(read("step4.out") == "hello from the emulator's vault\n")
        // The secret is in a 0600 file and never on a command line.
        let commands = read("commands")
        let secret = read("emu/secrets/app-secret").trimmingCharacters(in: .newlines)
        #expect(!secret.isEmpty && !commands.contains(secret))
        var info = stat()
        #expect(stat(directory.file("emu/secrets/app-secret"), &info) == 0 && info.st_mode & 0o777 == 0o600)
        // A second init never overwrites.
        let again = try await Command.clavis(["emulator", "init", "--dir", directory.file("emu")])
        #expect(again.status == 73 && again.stderr.hasPrefix("error: ") && again.stderr.contains("exists"))
    }
}
