import ClavisTestSupport
import Foundation
import Testing

/// Every hint in the code that names a `clavis …` command, an option of it, or a file under docs/
/// names one that exists — so a hint can no longer send a newcomer to `--recipient` when the flag
/// is `--to`, or to a doc that was never written. Walks every Swift file under Sources/.
@Suite struct HintTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardizedFileURL

    static func sourceLines() throws -> [(file: String, line: String)] {
        let sources = root.appendingPathComponent("Sources")
        guard let walker = FileManager.default.enumerator(atPath: sources.path) else { return [] }
        var lines: [(String, String)] = []
        while let path = walker.nextObject() as? String {
            guard path.hasSuffix(".swift") else { continue }
            let text = try String(contentsOf: sources.appendingPathComponent(path), encoding: .utf8)
            lines += text.split(separator: "\n").map { (path, String($0)) }
        }
        return lines
    }

    /// `docs/…md` named in code (not in comments citing Microsoft's docs) exists.
    @Test func everyDocNamedInCodeExists() throws {
        var missing: [String] = []
        for (file, line) in try Self.sourceLines() where !line.trimmingCharacters(in: .whitespaces).hasPrefix("//") {
            for match in line.matches(of: /docs\/[A-Za-z0-9_\/.-]+\.md/) {
                let path = String(match.output)
                if !FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(path).path) { missing.append("\(file): \(path)") }
            }
        }
        #expect(missing.isEmpty, "\(missing)")
    }

    /// Every `` `clavis A B --option` `` in code or doc comments is a command whose help lists the option.
    @Test func everyCommandAndOptionNamedInCodeExists() async throws {
        var wanted: [[String]: Set<String>] = [:]
        for (_, line) in try Self.sourceLines() {
            for match in line.matches(of: /`clavis ([^`]*)`/) {
                let tokens = match.output.1.split(separator: " ").map(String.init)
                var paths: [[String]] = [[]]
                var flags: Set<String> = []
                var inCommand = true
                for token in tokens {
                    if token == "|" { break }  // a pipe into another program: its options are not ours
                    if inCommand, token.wholeMatch(of: /[a-z][a-z-]*(\|[a-z][a-z-]*)*/) != nil {
                        let alternatives = token.split(separator: "|").map(String.init)
                        paths = paths.flatMap { path in alternatives.map { path + [$0] } }
                        continue
                    }
                    inCommand = false
                    if let flag = token.wholeMatch(of: /(--?[a-z][a-z0-9-]*)(=.*)?/) { flags.insert(String(flag.output.1)) }
                }
                for path in paths where !path.isEmpty { wanted[path, default: []].formUnion(flags) }
            }
        }
        #expect(wanted.count > 20)
        var problems: [String] = []
        for (path, flags) in wanted.sorted(by: { $0.key.joined(separator: " ") < $1.key.joined(separator: " ") }) {
            let help = try await Command.clavis(path + ["--help"], timeout: .seconds(30))
            guard help.status == 0 else {
                problems.append("clavis \(path.joined(separator: " ")): not a command (\(help.stderr.prefix(120)))")
                continue
            }
            for flag in flags.sorted() where !help.output.contains(flag + " ") && !help.output.contains(flag + ",") && !help.output.contains(flag + "\n")
                && !help.output.contains(flag + "=") && !help.output.contains(flag + "]") {
                problems.append("clavis \(path.joined(separator: " ")): no option \(flag)")
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }

    /// scripts/doctest checks the command blocks it does not run against the binaries' command
    /// tree: a drifted block (the old `store rekey --recipient` hint, a misspelled command, an
    /// option the server executable lacks) fails it, naming each problem.
    @Test func theDocTestCatchesADriftedBlock() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("drift.md", """
            # A drifted page

            ```sh
            clavis store rekey age:/srv/store.age --recipient age1example   # placeholder values
            clavis secrets get env:X
            sudo clavis emulator serve --config emulator.json --tls --no-such-flag
            clavis token --tenant T --client-id C --secret env:S --verbose
            ```
            """)
        let script = Self.root.appendingPathComponent("scripts/doctest").path
        let result = try await Command.run("python3", [script, directory.file("drift.md")], environment: ["CLAVIS_BIN": Command.buildDirectory],
                                           timeout: .seconds(60))
        #expect(result.status == 1)
        #expect(result.output.contains("clavis store rekey: no option --recipient"), "\(result.output)")
        #expect(result.output.contains("clavis secrets: no such command"))
        #expect(result.output.contains("clavis-emulator serve: no option --no-such-flag"))
        #expect(!result.output.contains("token"), "\(result.output)")  // token get is the default subcommand; --verbose is global
        #expect(result.output.contains("0 passed, 1 failed"))
    }

    /// Help text is ASCII: swift-argument-parser's generate-manual drops every other character from
    /// the manual pages (`age >= 1.3` came out as `age  1.3`), so a `≥`, `…` or `—` in an abstract,
    /// discussion or help string would lose meaning in the packaged man pages.
    @Test func helpTextOfEveryExecutableIsASCII() async throws {
        var problems: [String] = []
        for executable in ["clavis", "clavis-broker", "clavis-emulator"] {
            let dump = try await Command.run(Command.buildDirectory + "/" + executable, ["--experimental-dump-help"], timeout: .seconds(30))
            #expect(dump.status == 0, "\(executable): \(dump.stderr)")
            for line in dump.output.split(separator: "\n") where line.unicodeScalars.contains(where: { !$0.isASCII }) {
                problems.append("\(executable): \(line.trimmingCharacters(in: .whitespaces))")
            }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
    }
}

/// Options named in plain `hint:` text (not inside a backticked command) exist on some command.
@Suite struct HintOptionTests {
    static let commands: [[String]] = [
        ["secret", "get"], ["secret", "set"], ["secret", "list"], ["secret", "delete"], ["secret", "copy"], ["secret", "info"],
        ["secret", "recover"], ["secret", "purge"], ["store", "init"], ["store", "info"], ["store", "rekey"], ["store", "recipients", "add"],
        ["run"], ["token", "get"], ["token", "decode"], ["consent-url"], ["defender", "incidents"], ["defender", "watch"],
        ["app", "secret", "rotate"], ["emulator", "serve"], ["scan"], ["keygen"], ["age", "encrypt"], ["age", "decrypt"], ["doctor"],
    ]

    @Test func everyOptionNamedInAHintExists() async throws {
        var named: Set<String> = []
        for (_, line) in try HintTests.sourceLines() {
            for hint in line.matches(of: /hint: "([^"]*)"/) {
                for flag in hint.output.1.matches(of: /--[a-z][a-z0-9-]+/) { named.insert(String(flag.output)) }
            }
        }
        #expect(named.count > 5)
        var help = ""
        for command in Self.commands {
            let result = try await Command.clavis(command + ["--help"], timeout: .seconds(30))
            #expect(result.status == 0, "clavis \(command.joined(separator: " ")) --help: \(result.stderr)")
            help += result.output
        }
        let missing = named.sorted().filter { !help.contains($0 + " ") && !help.contains($0 + "\n") && !help.contains($0 + ",") && !help.contains($0 + "]") }
        #expect(missing.isEmpty, "options named in hints that no command has: \(missing)")
    }
}
