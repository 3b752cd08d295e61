/// Passwords and tokens passed as command-line arguments, where they end up in shell history, CI
/// logs and every process listing.
extension Detector {
    /// `--password VALUE`, `--password=VALUE`, `--password:VALUE` (and `--passwd`, `--client-secret`,
    /// `--secret`, `--token`, `--api-key`) on any command line; `-p VALUE`, `-p:VALUE`, `-p=VALUE`
    /// and `-pVALUE` where the command is a login (`docker login`, `podman login`, `helm registry
    /// login`, `az login`, `oras login`) or a database client (`mysql`, `sqlcmd`).
    static let commandLinePassword = Detector(name: "command-line-password", confidence: .medium,
                                              triggers: CommandLineArguments.longFlags + ["login", "mysql", "sqlcmd"],
                                              help: Help.commandLine) { line, _ in
        CommandLineArguments.passwordValues(in: line).filter { range in
            let value = line[range]
            return value.count >= 4 && !value.hasPrefix("-") && !value.hasPrefix("@") && !Suppressions.dismisses(value)
        }
    }
}

enum CommandLineArguments {
    static let longFlags = ["--password", "--passwd", "--client-secret", "--secret", "--token", "--api-key"]
    static let shortFlagCommands = ["login", "mysql", "sqlcmd"]

    /// The ranges of the values given to password flags on the line.
    static func passwordValues(in line: Substring) -> [Range<String.Index>] {
        let words = self.words(in: line)
        let lowered = line.lowercased()
        let shortFlags = shortFlagCommands.contains { command in words.contains { line[$0].lowercased() == command } }
            || lowered.contains("docker login") || lowered.contains("podman login")
        var values: [Range<String.Index>] = []
        for (position, range) in words.enumerated() {
            let word = line[range]
            let lowerWord = word.lowercased()
            var flagLength: Int?
            if let flag = longFlags.first(where: { lowerWord.hasPrefix($0) }) {
                flagLength = flag.count
            } else if shortFlags, word.hasPrefix("-p") || (word.hasPrefix("-P") && lowered.contains("sqlcmd")) {
                flagLength = 2
            }
            guard let flagLength else { continue }
            let rest = word.dropFirst(flagLength)
            if rest.isEmpty || rest == "=" || rest == ":" {
                // `--password VALUE`: the next word.
                guard position + 1 < words.count else { continue }
                values.append(words[position + 1])
            } else if rest.first == "=" || rest.first == ":" {
                values.append(line.index(after: rest.startIndex)..<range.upperBound)
            } else if flagLength == 2, rest.first?.isLetter == true || rest.first?.isNumber == true {
                values.append(rest.startIndex..<range.upperBound)  // mysql -pVALUE
            }
        }
        return values.filter { !$0.isEmpty }
    }

    /// Words separated by whitespace, quotes and the punctuation of argument lists (`,`, `[`, `]`,
    /// `(`, `)`, `;`, `` ` ``), so that a command inside a string or an argv array splits the same
    /// way as one typed in a shell: `run(["docker", "login", "-p", "…"])`.
    static func words(in line: Substring) -> [Range<String.Index>] {
        var result: [Range<String.Index>] = []
        var start: String.Index?
        var index = line.startIndex
        while index < line.endIndex {
            if separators.contains(line[index]) {
                if let begun = start { result.append(begun..<index); start = nil }
            } else if start == nil {
                start = index
            }
            index = line.index(after: index)
        }
        if let begun = start { result.append(begun..<line.endIndex) }
        return result
    }

    static let separators: Set<Character> = [" ", "\t", "\"", "'", ",", "[", "]", "(", ")", ";", "`"]
}
