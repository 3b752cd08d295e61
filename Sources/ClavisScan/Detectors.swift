/// The detectors, each a name, a confidence, a cheap pre-filter and a matcher.
struct Detector: Sendable {
    let name: String
    let confidence: Confidence
    /// Lowercased substrings one of which a line must contain before the matcher runs.
    let triggers: [String]
    let match: @Sendable (Substring, LineContext) -> [Range<String.Index>]

    static let all: [Detector] = [
        entraClientSecret, legacyClientSecret, jwt, pemPrivateKey, ageSecretKey, connectionString, secretAssignment, highEntropyLiteral,
    ]

    /// Microsoft Entra ID client secrets in the current format: 40 characters with `Q~` at
    /// offset 4 (`abc8Q~…`).
    static let entraClientSecret = Detector(name: "entra-client-secret", confidence: .high, triggers: ["q~"]) { line, _ in
        line.matches(of: /(?:^|[^A-Za-z0-9_~.\-])(?<secret>[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34})(?![A-Za-z0-9_~.\-])/)
            .map { $0.output.secret.startIndex..<$0.output.secret.endIndex }
            .filter { !Placeholders.isPlaceholder(line[$0]) }
    }

    /// Older Entra secrets (32 or 44 characters) as a quoted literal, where the file also names a
    /// client/application/tenant id.
    static let legacyClientSecret = Detector(name: "entra-client-secret-legacy", confidence: .medium, triggers: ["\"", "'"]) { line, context in
        guard context.mentionsAppIdentity else { return [] }
        return Literals.quoted(in: line).filter { range in
            let value = line[range]
            return (value.count == 32 || value.count == 44) && !Placeholders.isPlaceholder(value) && !Literals.looksLikeCode(value)
                && Entropy.bitsPerCharacter(value) >= 4.0 && Literals.hasMixedClasses(value) && !Literals.isGUID(value)
                && value.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && $0 != "\\" && $0 != "{" && $0 != "}" }
        }
    }

    /// JSON Web Tokens: three base64url segments whose first two decode to JSON objects.
    static let jwt = Detector(name: "jwt", confidence: .high, triggers: ["eyj"]) { line, _ in
        line.ranges(of: /eyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{8,}/).filter { range in
            let parts = line[range].split(separator: ".")
            return parts.count == 3 && Base64URL.decodesToJSONObject(parts[0]) && Base64URL.decodesToJSONObject(parts[1])
        }
    }

    /// PEM private keys of any kind.
    static let pemPrivateKey = Detector(name: "pem-private-key", confidence: .high, triggers: ["private key-----"]) { line, _ in
        line.ranges(of: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/)
    }

    /// age identities, classical and post-quantum.
    static let ageSecretKey = Detector(name: "age-secret-key", confidence: .high, triggers: ["age-secret-key-"]) { line, _ in
        line.ranges(of: /AGE-SECRET-KEY-(?:PQ-)?1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}/)
    }

    /// Azure Storage and Service Bus connection strings with a key.
    static let connectionString = Detector(name: "azure-connection-string", confidence: .high, triggers: ["accountkey=", "sharedaccesskey="]) { line, _ in
        line.matches(of: /(?i:AccountKey|SharedAccessKey)=(?<key>[A-Za-z0-9+\/]{20,}={0,2})/).compactMap { match in
            Placeholders.isPlaceholder(match.output.key) ? nil : match.output.key.startIndex..<match.output.key.endIndex
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
            // A GUID is an id (client, tenant, secret id), never a secret value.
            guard trimmed.count >= 8, !Placeholders.isPlaceholder(trimmed), !Literals.looksLikeCode(trimmed), !Literals.isGUID(trimmed) else { continue }
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
            return value.count >= 20 && !value.contains(" ") && !Placeholders.isPlaceholder(value)
                && !value.contains("://") && !value.contains("$") && !(value.contains("=") && value.contains("&"))
                && Entropy.bitsPerCharacter(value) >= 4.2 && !Literals.isGUID(value) && !Literals.looksLikeCode(value)
        }
    }
}

/// What a detector may know about the file around a line.
struct LineContext: Sendable {
    /// Whether the file names a client, application or tenant id anywhere.
    var mentionsAppIdentity: Bool
    /// Whether the file is YAML (unquoted `key: value` pairs).
    var isYAML: Bool = false
}

enum SecretNames {
    static let words = ["secret", "password", "passwd", "pwd", "token", "apikey", "api_key", "api-key", "accesskey", "access_key",
                        "privatekey", "private_key", "credential"]
    static let triggers = words
    static let contextWords = ["secret", "password", "token", "credential", "apikey", "api_key", "accesskey", "access_key", "private_key"]

    /// `NAME: VALUE` in YAML, where values need no quotes.
    nonisolated(unsafe) static let yamlAssignment =
        /^\s*-?\s*(?<name>[A-Za-z_][A-Za-z0-9_.\-]*)\s*:\s+(?<value>"[^"\n]*"|'[^'\n]*'|[^\s#]+)\s*(?:#.*)?$/

    static func isSecretName(_ name: Substring) -> Bool {
        let lowered = String(decoding: name.utf8.compactMap { $0 == 0x24 ? nil : ($0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0) }, as: UTF8.self)
        guard words.contains(where: { lowered.contains($0) }) else { return false }
        // Names that describe a secret rather than hold one.
        let descriptive = ["secretname", "secret_name", "secretid", "secret_id", "tokenendpoint", "token_endpoint", "tokenurl", "token_url",
                           "passwordfile", "password_file", "secretfile", "secret_file", "secretref", "secret_ref", "tokentype", "token_type",
                           "keyvault", "secretkeyref", "passwordpolicy", "tokenfile", "token_file", "expires", "length", "reference", "ref",
                           "loadcredential", "loadcredentialencrypted", "setcredential", "setcredentialencrypted"]
        return !descriptive.contains(where: { lowered.hasSuffix($0) || lowered == $0 })
    }
}

enum Literals {
    static func stripQuotes(_ value: Substring) -> Substring {
        var result = value
        if let first = result.first, first == "\"" || first == "'", result.count >= 2, result.last == first {
            result = result.dropFirst().dropLast()
        }
        return result
    }

    /// The contents (without quotes) of the quoted literals on a line.
    static func quoted(in line: Substring) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if character == "\"" || character == "'" {
                let start = line.index(after: index)
                if let end = line[start...].firstIndex(of: character) {
                    ranges.append(start..<end)
                    index = line.index(after: end)
                    continue
                }
                break
            }
            index = line.index(after: index)
        }
        return ranges
    }

    /// Upper case, lower case and digits all present (generated secrets; not words or hex).
    static func hasMixedClasses(_ value: Substring) -> Bool {
        value.contains(where: \.isUppercase) && value.contains(where: \.isLowercase) && value.contains(where: \.isNumber)
    }

    static func isGUID(_ value: Substring) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) { guard byte == 0x2D else { return false }; continue }
            guard isHex(byte) else { return false }
        }
        return true
    }

    static func isHex(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
    }

    static let codePrefixes = ["$", "%", "process.env", "os.environ", "Environment.", "ProcessInfo", "getenv", "os.getenv",
                               "http://", "https://", "/", "./", "~/"]
    static let referenceSchemes = ["env", "credential", "dir", "age", "keyring", "keyvault", "clavis", "op", "vault", "sops"]

    /// Values that are expressions, not literals: variable references, calls, paths, URLs,
    /// interpolations and secret references (byte checks: Swift's Regex is too slow here).
    static func looksLikeCode(_ value: Substring) -> Bool {
        if codePrefixes.contains(where: { value.hasPrefix($0) }) { return true }
        let bytes = Array(value.utf8)
        if bytes.contains(where: { $0 == 0x28 || $0 == 0x5B || $0 == 0x7B }) { return true }  // ( [ {
        func isWordByte(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F }
        // A bare identifier such as `appSecret` or `config.secret`: code, not a value.
        if let first = bytes.first, !(first >= 0x30 && first <= 0x39), bytes.allSatisfy({ isWordByte($0) || $0 == 0x2E }),
           bytes.contains(where: { $0 >= 0x61 && $0 <= 0x7A }), !bytes.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) {
            return true
        }
        if let colon = bytes.firstIndex(of: 0x3A), colon > 0 {
            let head = bytes[..<colon]
            // NAME:/path pairs (LoadCredential=NAME:/path).
            if colon + 1 < bytes.count, bytes[colon + 1] == 0x2F, head.allSatisfy({ isWordByte($0) || $0 == 0x2E || $0 == 0x2D }) { return true }
            // Secret references are what we want people to write.
            if referenceSchemes.contains(String(decoding: head, as: UTF8.self).lowercased()), colon + 1 < bytes.count,
               !bytes[(colon + 1)...].contains(where: { $0 == 0x20 }) {
                return true
            }
        }
        return false
    }
}

enum Placeholders {
    static let markers = ["your", "here", "xxxx", "****", "...", "…", "changeme", "change_me", "example", "placeholder", "dummy",
                          "redacted", "<", ">", "${", "$(", "{{", "todo", "insert", "replace", "secret_value", "my-secret", "mysecret",
                          "password123", "fake", "sample"]

    static func isPlaceholder(_ value: Substring) -> Bool {
        let lowered = value.lowercased()
        if lowered.isEmpty { return true }
        if markers.contains(where: { lowered.contains($0) }) { return true }
        // Repetitive values such as 22222222-0000-0000-0000-000000000000 or aaaaaaaa.
        let distinct = Set(lowered.filter { $0 != "-" })
        if distinct.count <= 3 { return true }
        return false
    }
}

enum Entropy {
    /// Shannon entropy in bits per character.
    static func bitsPerCharacter(_ value: Substring) -> Double {
        var counts: [Character: Int] = [:]
        for character in value { counts[character, default: 0] += 1 }
        let total = Double(value.count)
        return counts.values.reduce(0.0) { sum, count in
            let p = Double(count) / total
            return sum - p * log2(p)
        }
    }

    private static func log2(_ x: Double) -> Double {
        // ln(x)/ln(2) via the standard library's Foundation-free path.
        var y = x, result = 0.0
        while y >= 2 { y /= 2; result += 1 }
        while y < 1 { y *= 2; result -= 1 }
        // y in [1, 2): series for ln(y) with t = (y-1)/(y+1).
        let t = (y - 1) / (y + 1)
        var term = t, sum = 0.0, n = 1.0
        for _ in 0..<12 { sum += term / n; term *= t * t; n += 2 }
        return result + 2 * sum / 0.6931471805599453
    }
}

enum Base64URL {
    static func decodesToJSONObject(_ segment: Substring) -> Bool {
        var bits: UInt32 = 0, count = 0
        var bytes: [UInt8] = []
        for scalar in segment.unicodeScalars.prefix(64) {
            let value: UInt32
            switch scalar {
            case "A"..."Z": value = scalar.value - 65
            case "a"..."z": value = scalar.value - 97 + 26
            case "0"..."9": value = scalar.value - 48 + 52
            case "-": value = 62
            case "_": value = 63
            default: return false
            }
            bits = bits << 6 | value
            count += 6
            if count >= 8 { count -= 8; bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(count))) }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.hasPrefix("{\"") || text.hasPrefix("{ \"") || text.hasPrefix("{\n")
    }
}

/// Finds `NAME = VALUE`, `NAME := VALUE`, `$NAME = 'VALUE'`, `NAME=VALUE&` (form bodies, shell),
/// and `"NAME": "VALUE"` / `NAME: 'VALUE'` (JSON, Python dicts: a colon takes quoted values only)
/// where NAME contains a secret word. A byte scanner: Swift's Regex is far too slow for whole trees.
enum AssignmentParser {
    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x5F || byte == 0x2E || byte == 0x2D || byte == 0x24 || byte == 0x40
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    static func pairs(in line: Substring) -> [(name: Substring, value: Substring)] {
        let bytes = Array(line.utf8)
        let lowered = bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
        var results: [(Substring, Substring)] = []
        var seenNames = Set<Int>()
        for word in SecretNames.words {
            let needle = Array(word.utf8)
            var from = 0
            while let hit = find(needle, in: lowered, from: from) {
                from = hit + 1
                var start = hit, end = hit + needle.count
                while start > 0, isNameByte(bytes[start - 1]) { start -= 1 }
                while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
                guard seenNames.insert(start).inserted, let value = value(after: end, in: bytes) else { continue }
                let utf8 = line.utf8
                let nameRange = utf8.index(utf8.startIndex, offsetBy: start)..<utf8.index(utf8.startIndex, offsetBy: end)
                let valueRange = utf8.index(utf8.startIndex, offsetBy: value.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: value.upperBound)
                results.append((line[nameRange], line[valueRange]))
            }
        }
        return results
    }

    /// The byte range of the value (quotes included) after a name ending at `position`.
    static func value(after position: Int, in bytes: [UInt8]) -> Range<Int>? {
        var index = position
        if index < bytes.count, bytes[index] == 0x22 || bytes[index] == 0x27 { index += 1 }  // closing quote of "name"
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        guard index < bytes.count else { return nil }
        var colon = false
        if bytes[index] == 0x3D {  // =
            index += 1
            if index < bytes.count, bytes[index] == 0x3D { return nil }  // ==, a comparison
        } else if bytes[index] == 0x3A {  // : or :=
            index += 1
            if index < bytes.count, bytes[index] == 0x3D { index += 1 } else {
                guard index < bytes.count, isSpace(bytes[index]) else { return nil }
                colon = true
            }
        } else {
            return nil
        }
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        if index < bytes.count, bytes[index] == 0x40 { index += 1 }  // C# @"…"
        guard index < bytes.count else { return nil }
        let first = bytes[index]
        if first == 0x22 || first == 0x27 {
            guard let close = bytes[(index + 1)...].firstIndex(of: first) else { return nil }
            return index..<(close + 1)
        }
        if colon { return nil }
        let stops: Set<UInt8> = [0x20, 0x09, 0x22, 0x27, 0x26, 0x2C, 0x3B, 0x29, 0x7D, 0x60, 0x7C]
        var end = index
        while end < bytes.count, !stops.contains(bytes[end]) { end += 1 }
        return end > index ? index..<end : nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard needle.count <= haystack.count, from <= haystack.count - needle.count else { return nil }
        var index = from
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] { matched = false; break }
                if matched { return index }
            }
            index += 1
        }
        return nil
    }
}
