/// Environment variables whose values are secret references: what `clavis run` resolves.
///
/// Bindings come from `NAME=REF` arguments, from env files (dotenv syntax: `#` comments, blank
/// lines, optional `export `, single or double quotes), and from inherited variables whose value
/// is `clavis:REF` (e.g. `AZURE_CLIENT_SECRET=clavis:keyring:defender-daemon/app-secret`).
/// An env file holds references, not values, so it is safe to commit.
public enum SecretEnvironment {
    /// One variable to fill from a reference.
    public struct Binding: Sendable, Hashable {
        /// The variable name.
        public var name: String
        /// Where its value comes from.
        public var reference: SecretReference
        /// Creates a binding.
        public init(name: String, reference: SecretReference) {
            self.name = name
            self.reference = reference
        }
    }

    /// The prefix that marks an inherited variable's value as a reference.
    public static let inheritedPrefix = "clavis:"

    /// Parses `NAME=REF`. Errors name the origin (`FILE:LINE` or `--env`) and the variable, never
    /// the value: a value that is not a reference may well be the secret itself.
    public static func parseBinding(_ text: String, origin: String = "--env") throws -> Binding {
        guard let equals = text.firstIndex(of: "=") else {
            throw ClavisError(.invalidReference, reference: origin, reason: "\(origin) takes NAME=REFERENCE (the line has no '='; not shown)")
        }
        let name = String(text[..<equals]).trimmingWhitespace()
        try checkName(name, origin: origin)
        var value = try unquote(String(text[text.index(after: equals)...]).trimmingWhitespace(), name: name, origin: origin)
        if value.hasPrefix(inheritedPrefix) { value = String(value.dropFirst(inheritedPrefix.count)) }
        return Binding(name: name, reference: try reference(value, name: name, origin: origin))
    }

    /// dotenv's value rules: `"…"` or `'…'` quoted (anything after the closing quote must be a
    /// comment), or unquoted up to an inline comment — a `#` after whitespace.
    static func unquote(_ raw: String, name: String, origin: String) throws -> String {
        guard let first = raw.first, first == "\"" || first == "'" else {
            var scalars = Array(raw.unicodeScalars)
            if let hash = scalars.indices.first(where: { scalars[$0] == "#" && $0 > 0 && (scalars[$0 - 1] == " " || scalars[$0 - 1] == "\t") }) {
                scalars = Array(scalars[..<hash])
            }
            var value = ""
            value.unicodeScalars.append(contentsOf: scalars)
            return value.trimmingWhitespace()
        }
        let rest = raw.dropFirst()
        guard let close = rest.firstIndex(of: first) else {
            throw ClavisError(.invalidReference, reference: "\(origin): \(name)", reason: "the value of \(name) opens a quote that does not close (value not shown)")
        }
        let after = String(rest[rest.index(after: close)...]).trimmingWhitespace()
        guard after.isEmpty || after.hasPrefix("#") else {
            throw ClavisError(.invalidReference, reference: "\(origin): \(name)", reason: "text follows the closing quote of \(name)'s value (value not shown)")
        }
        return String(rest[..<close])
    }

    /// Parses the value of `name` as a reference, with an error that does not repeat the value.
    static func reference(_ value: String, name: String, origin: String) throws -> SecretReference {
        do {
            return try SecretReference(parsing: value)
        } catch {
            throw ClavisError(.invalidReference, reference: "\(origin): \(name)",
                              reason: "the value of \(name) is not a secret reference (value not shown)",
                              hint: "write a reference such as keyring:SERVICE/USER or credential:NAME; an env file for clavis run holds references, never values", cause: error)
        }
    }

    /// Parses an env file of `NAME=REF` lines.
    public static func parseEnvFile(_ text: String, path: String) throws -> [Binding] {
        var bindings: [Binding] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw.hasSuffix("\r") ? raw.dropLast() : raw).trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)).trimmingWhitespace() }
            bindings.append(try parseBinding(line, origin: "\(path):\(number + 1)"))
        }
        return bindings
    }

    /// Bindings for inherited variables whose value starts with `clavis:`.
    public static func inheritedBindings(_ environment: [String: String]) throws -> [Binding] {
        try environment.filter { $0.value.hasPrefix(inheritedPrefix) }.sorted { $0.key < $1.key }.map { name, value in
            Binding(name: name, reference: try reference(String(value.dropFirst(inheritedPrefix.count)), name: name, origin: "environment"))
        }
    }

    /// Resolves every binding concurrently. Returns the values, or every failure (one per
    /// binding, naming the variable and the reference, never a value).
    public static func resolve(_ bindings: [Binding], with resolver: SecretResolver) async -> Result<[String: Secret], Failures> {
        let results = await withTaskGroup(of: (Binding, Result<Secret, any Error>).self) { group in
            for binding in bindings {
                group.addTask {
                    do { return (binding, .success(try await resolver.secret(for: binding.reference))) } catch { return (binding, .failure(error)) }
                }
            }
            var collected: [(Binding, Result<Secret, any Error>)] = []
            for await result in group { collected.append(result) }
            return collected
        }
        var values: [String: Secret] = [:]
        var failures: [String] = []
        for (binding, result) in results.sorted(by: { $0.0.name < $1.0.name }) {
            switch result {
            case .success(let secret):
                if secret.withRevealedBytes({ $0.contains(0) }) {
                    failures.append("\(binding.name)=\(binding.reference): the value contains a NUL byte, which an environment variable cannot hold")
                } else {
                    values[binding.name] = secret
                }
            case .failure(let error):
                failures.append("\(binding.name)=\(binding.reference): \(error)")
            }
        }
        return failures.isEmpty ? .success(values) : .failure(Failures(lines: failures))
    }

    /// Every binding that failed, one line each.
    public struct Failures: Error, Sendable {
        /// `NAME=REF: reason` lines.
        public var lines: [String]
    }

    private static func checkName(_ name: String, origin: String) throws {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic),
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }) else {
            throw ClavisError(.invalidReference, reference: origin, reason: "\(origin): the text before '=' is not a valid variable name (not shown)")
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let scalars = unicodeScalars.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        var result = ""
        result.unicodeScalars.append(contentsOf: scalars)
        return result
    }
}
