/// The detectors, each a name (the SARIF rule id), a confidence, a cheap pre-filter, a matcher and
/// the help a user gets for moving the secret into a reference.
struct Detector: Sendable {
    let name: String
    let confidence: Confidence
    /// Lowercased substrings one of which a line must contain before the matcher runs.
    let triggers: [String]
    /// How to move a value this detector finds out of the file (SARIF `help`).
    let help: String
    let match: @Sendable (Substring, LineContext) -> [Range<String.Index>]

    init(name: String, confidence: Confidence, triggers: [String], help: String = Help.generic,
         match: @escaping @Sendable (Substring, LineContext) -> [Range<String.Index>]) {
        self.name = name
        self.confidence = confidence
        self.triggers = triggers
        self.help = help
        self.match = match
    }

    /// In order of strength: a stronger detector claims a range before a weaker one sees it.
    static let all: [Detector] = [
        entraClientSecret, githubToken, githubFineGrainedToken, slackToken, awsAccessKeyID, azureSASSignature, jwt, pemPrivateKey,
        ageSecretKey, connectionString, legacyClientSecret, commandLinePassword, secretAssignment, highEntropyLiteral,
    ]

    /// Microsoft Entra ID client secrets in the current format: 40 characters with `Q~` at
    /// offset 4 (`abc8Q~…`).
    static let entraClientSecret = Detector(name: "entra-client-secret", confidence: .high, triggers: ["q~"], help: Help.entra) { line, _ in
        line.matches(of: /(?:^|[^A-Za-z0-9_~.\-])(?<secret>[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?![A-Za-z0-9_~.\-])/)
            .map { $0.output.secret.startIndex..<$0.output.secret.endIndex }
            .filter { !Suppressions.isPlaceholder(line[$0]) }
    }

    /// Older Entra secrets: 32 or 44 characters from base64's alphabet plus `[ ] : ? @ = . - _ *`
    /// (the generator before the `Q~` format), as a quoted literal or an assigned value, where the
    /// file names a client/application/tenant id or the line names a secret.
    static let legacyClientSecret = Detector(name: "entra-client-secret-legacy", confidence: .medium, triggers: ["\"", "'", "=", ": "],
                                             help: Help.entra) { line, context in
        guard LegacySecret.hasLongRun(context.lowercased),
              context.mentionsAppIdentity || SecretNames.mentionsSecret(context.lowercased) else { return [] }
        let values = Literals.quoted(in: line) + AssignmentParser.pairs(in: line).map { pair in
            let value = Literals.stripQuotes(pair.value)
            return value.startIndex..<value.endIndex
        }
        var ranges: [Range<String.Index>] = []
        for range in values where !ranges.contains(where: { $0.overlaps(range) }) && LegacySecret.matches(line[range]) {
            ranges.append(range)
        }
        return ranges
    }

    /// JSON Web Tokens: three base64url segments whose first two decode to JSON objects.
    static let jwt = Detector(name: "jwt", confidence: .high, triggers: ["eyj"]) { line, _ in
        line.ranges(of: /eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{8,}/).filter { range in
            let parts = line[range].split(separator: ".")
            return parts.count == 3 && Base64URL.decodesToJSONObject(parts[0]) && Base64URL.decodesToJSONObject(parts[1])
        }
    }

    /// PEM private keys of any kind.
    static let pemPrivateKey = Detector(name: "pem-private-key", confidence: .high, triggers: ["private key-----"], help: Help.file) { line, _ in
        line.ranges(of: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/)
    }

    /// age identities, classical and post-quantum.
    static let ageSecretKey = Detector(name: "age-secret-key", confidence: .high, triggers: ["age-secret-key-"], help: Help.file) { line, _ in
        line.ranges(of: /AGE-SECRET-KEY-(?:PQ-)?1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}/)
    }

    /// Azure Storage and Service Bus connection strings with a key.
    static let connectionString = Detector(name: "azure-connection-string", confidence: .high, triggers: ["accountkey=", "sharedaccesskey="],
                                            help: Help.sas) { line, _ in
        line.matches(of: /(?i:AccountKey|SharedAccessKey)=(?<key>[A-Za-z0-9+\/]{20,}={0,2})/).compactMap { match in
            Suppressions.isPlaceholder(match.output.key) ? nil : match.output.key.startIndex..<match.output.key.endIndex
        }
    }

    /// String literals assigned to secret-like names, in Swift, Python, PowerShell, C#, shell,
    /// JSON, YAML and form bodies (`client_secret=…` in curl).
    static let secretAssignment = Detector(name: "secret-assignment", confidence: .medium, triggers: SecretNames.triggers) { line, context in
        var pairs = AssignmentParser.pairs(in: line)
        if context.isYAML { pairs += line.matches(of: SecretNames.yamlAssignment).map { ($0.output.name, $0.output.value) } }
        var ranges: [Range<String.Index>] = []
        for (name, value) in pairs {
            guard SecretNames.isSecretName(name) else { continue }
            let trimmed = Literals.stripQuotes(value)
            // A GUID is an id (client, tenant, secret id), never a secret value; nor is a version or a name;
            // nor an unquoted code expression (`basic?.secret`, an optional chain).
            guard trimmed.count >= 8, !Suppressions.dismisses(trimmed), !Literals.isOptionalChain(value) else { continue }
            let range = trimmed.startIndex..<trimmed.endIndex
            if !ranges.contains(where: { $0.overlaps(range) }) { ranges.append(range) }
        }
        return ranges
    }

    /// High-entropy quoted literals (≥ 20 characters, ≥ 4.2 bits per character) on a line that
    /// talks about secrets.
    static let highEntropyLiteral = Detector(name: "high-entropy-literal", confidence: .low, triggers: SecretNames.contextWords) { line, _ in
        Literals.quoted(in: line).filter { range in
            let value = line[range]
            // A literal that starts with `)` is the tail of a Swift interpolation (`"\(f(x, "a"))/path"`), not a literal.
            return value.count >= 20 && !value.contains(" ") && !value.contains("://") && !value.contains("$") && value.first != ")"
                && !(value.contains("=") && value.contains("&")) && Entropy.bitsPerCharacter(value) >= 4.2 && !Suppressions.dismisses(value)
        }
    }
}

/// What a detector may know about the file around a line.
struct LineContext: Sendable {
    /// Whether the file names a client, application or tenant id anywhere.
    var mentionsAppIdentity: Bool
    /// Whether the file is YAML (unquoted `key: value` pairs).
    var isYAML: Bool = false
    /// The current line's bytes, ASCII letters lowercased.
    var lowercased: [UInt8] = []
}


/// Older Entra client secrets (see `Detector.legacyClientSecret`).
enum LegacySecret {
    /// Membership by byte value (a table: this runs on every line).
    static let alphabet: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=[]:?@.-_*".utf8 { table[Int(byte)] = true }
        return table
    }()

    /// A cheap pre-filter: a run of 32 or more bytes from the alphabet.
    static func hasLongRun(_ bytes: [UInt8]) -> Bool {
        var run = 0
        for byte in bytes {
            run = alphabet[Int(byte)] ? run + 1 : 0
            if run >= 32 { return true }
        }
        return false
    }

    static func matches(_ value: Substring) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 32 || bytes.count == 44, bytes.allSatisfy({ alphabet[Int($0)] }),
              let first = bytes.first, first != UInt8(ascii: "/"), first != UInt8(ascii: "."), !value.contains("://") else { return false }
        return Literals.hasMixedClasses(value) && Entropy.bitsPerCharacter(value) >= 4.0 && !Suppressions.isPlaceholder(value)
            && !Literals.isGUID(value) && !Suppressions.isVersion(value) && !Suppressions.isName(value) && !isReference(value)
    }

    /// `keyring:…`, `env:…`: a reference, what people should write.
    static func isReference(_ value: Substring) -> Bool {
        guard let colon = value.firstIndex(of: ":") else { return false }
        return Literals.referenceSchemes.contains(value[..<colon].lowercased())
    }
}
