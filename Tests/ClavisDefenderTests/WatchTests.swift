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

    /// At steady state, a poll with nothing changed is one request: two polls, two requests.
    @Test func twoIdlePollsSendExactlyTwoRequests() async throws {
        try await D.withDefender(incidents: 60) { emulator, _ in
            let directory = try TemporaryDirectory()
            let checkpoint = directory.file("checkpoint.json")
            let environment = ["WATCH_SECRET": D.secret]
            let first = try await Command.clavis(arguments(emulator, checkpoint: checkpoint) + ["--once"], environment: environment)
            #expect(first.status == 0, "\(first.stderr)")
            #expect(try events(first.output).count == 60)
            let before = emulator.state.statistics["defender"] ?? 0
            for _ in 0..<2 {
                let idle = try await Command.clavis(arguments(emulator, checkpoint: checkpoint) + ["--once"], environment: environment)
                #expect(idle.status == 0 && idle.output.isEmpty, "\(idle.stderr) \(idle.output)")
            }
            #expect((emulator.state.statistics["defender"] ?? 0) - before == 2)
        }
    }

    /// kill -9 during a poll of 2,000 incidents over 20 pages, then a restart: every incident is
    /// emitted, none twice (the checkpoint is saved only after the whole window).
    @Test func killedMidPollThenRestartedLosesNothingAndRepeatsNothing() async throws {
        try await D.withDefender(incidents: 2000) { emulator, _ in
            let directory = try TemporaryDirectory()
            let checkpoint = directory.file("checkpoint.json"), output = directory.file("out1")
            emulator.state.inject([Fault(target: "defender", kind: "delay", delayMilliseconds: 150)])  // every page is slow
            let command = ([Command.clavis] + arguments(emulator, checkpoint: checkpoint) + ["--once"]).map { "'\($0)'" }.joined(separator: " ")
            let script = """
                \(command) > "\(output)" 2> "\(output).err" & pid=$!
                for i in $(seq 1 400); do
                  n=$(curl -s --noproxy '*' \(emulator.baseURL)/_emulator/stats | python3 -c 'import json,sys; print(json.load(sys.stdin).get("defender", 0))')
                  [ "$n" -ge 8 ] && break; sleep 0.05
                done
                kill -9 $pid; wait $pid; echo "status=$?"
                """
            let killed = try await Command.run("bash", ["-c", script], environment: ["WATCH_SECRET": D.secret], timeout: .seconds(120))
            #expect(killed.output.contains("status=137"), "\(killed.output)")
            let pagesBeforeKill = emulator.state.statistics["defender"] ?? 0
            #expect(pagesBeforeKill >= 8 && pagesBeforeKill < 20, "killed after \(pagesBeforeKill) pages")
            emulator.state.reset()
            let restarted = try await Command.clavis(arguments(emulator, checkpoint: checkpoint) + ["--once"], environment: ["WATCH_SECRET": D.secret],
                                                     timeout: .seconds(120))
            #expect(restarted.status == 0, "\(restarted.stderr)")
            let all = try events(String(contentsOfFile: output, encoding: .utf8)) + events(restarted.output)
            #expect(all.count == 2000)
            #expect(Set(all.map(\.id)) == Set(1...2000))
        }
    }

    /// The server returns newest first and several incidents share a `lastUpdateTime` (to the tick, or to
    /// the second with other digit counts): the watcher orders locally and emits each once, oldest first.
    @Test func identicalTimesAndNewestFirstServer() async throws {
        try await D.withDefender(incidents: 200) { _, client in
            var listed: [Incident] = []
            for try await incident in client(D.reader).incidents() { listed.append(incident) }
            let times = listed.compactMap(\.lastUpdated)
            #expect(times.count == 200 && Set(times).count < 200, "the emulator must hand out shared lastUpdateTimes")
            #expect(listed.map(\.id) == Array((1...200).reversed()))  // newest first, whatever was asked
            let watcher = IncidentWatcher(client: client(D.reader), checkpointPath: nil)
            var emitted: [Incident] = []
            var saves = 0
            let state = try await watcher.poll(from: .init(), lookback: .seconds(40 * 86400), emit: { incident, _ in emitted.append(incident) }, save: { _ in saves += 1 })
            #expect(emitted.count == 200 && Set(emitted.map(\.id)).count == 200 && saves == 1)
            let keys = emitted.map { ($0.lastUpdated ?? Timestamp(seconds: 0, ticks: 0), $0.id) }
            #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
            #expect(state.cursor == times.max()?.odataLiteral)
            var again = 0
            _ = try await watcher.poll(from: state, emit: { _, _ in again += 1 }, save: { _ in })
            #expect(again == 0)
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
