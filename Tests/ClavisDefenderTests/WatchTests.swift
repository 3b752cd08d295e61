import ClavisCore
import ClavisDefender
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

@Suite(.serialized) struct WatchTests {
    func arguments(_ emulator: RunningEmulator, checkpoint: String) -> [String] {
        ["defender", "watch", "--api", emulator.baseURL, "--authority", emulator.baseURL, "--tenant", D.tenant, "--client-id", D.reader,
         "--secret", "env:WATCH_SECRET", "--checkpoint", checkpoint, "--lookback", "40d"]
    }

    func events(_ output: String) throws -> [(event: String, id: Int)] {
        try output.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (object?["event"] as? String ?? "", (object?["incident"] as? [String: Any])?["incidentId"] as? Int ?? -1)
        }
    }

    @Test func checkpointAcrossRestartsNeitherLosesNorRepeats() async throws {
        try await D.withDefender(incidents: 30) { emulator, client in
            let directory = try TemporaryDirectory()
            let checkpoint = directory.file("checkpoint.json")
            let environment = ["WATCH_SECRET": D.secret]
            let first = try await Command.clavis(arguments(emulator, checkpoint: checkpoint) + ["--once"], environment: environment)
            #expect(first.status == 0, "\(first.stderr)")
            let initial = try events(first.output)
            #expect(initial.count == 30)
            #expect(Set(initial.map(\.id)).count == 30)
            #expect(initial.allSatisfy { $0.event == "new" })
            let again = try await Command.clavis(arguments(emulator, checkpoint: checkpoint) + ["--once"], environment: environment)
            #expect(again.output.isEmpty, "\(again.output)")
            _ = try await client(D.writer).update(5, fields: ["status": .string("InProgress")])
            let third = try await Command.clavis(arguments(emulator, checkpoint: checkpoint) + ["--once"], environment: environment)
            let changed = try events(third.output)
            #expect(changed.map(\.id) == [5])
            #expect(changed.first?.event == "changed")
            let saved = try JSONDecoder().decode(IncidentWatcher.Checkpoint.self, from: Data(contentsOf: URL(fileURLWithPath: checkpoint)))
            #expect(saved.cursor != nil)
        }
    }

    @Test func stopsCleanlyOnSIGTERM() async throws {
        try await D.withDefender(incidents: 5) { emulator, _ in
            let directory = try TemporaryDirectory()
            let output = directory.file("out")
            let command = ([Command.clavis] + arguments(emulator, checkpoint: directory.file("cp.json")) + ["--interval", "1"])
                .map { "'\($0)'" }.joined(separator: " ")
            let script = """
                \(command) > "\(output)" 2> "\(output).err" & pid=$!
                for i in $(seq 1 200); do [ "$(wc -l < "\(output)")" -ge 5 ] && break; sleep 0.05; done
                sleep 0.3; kill -TERM $pid; wait $pid; echo "status=$?"
                """
            let result = try await Command.run("bash", ["-c", script], environment: ["WATCH_SECRET": D.secret], timeout: .seconds(60))
            #expect(result.output.contains("status=0"), "\(result.output) \((try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? "")")
            #expect(try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").count == 5)
            #expect(try String(contentsOfFile: output + ".err", encoding: .utf8).contains("stopped (checkpoint saved)"))
        }
    }
}
