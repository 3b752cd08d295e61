enum SecretNames {
    static let words = ["secret", "password", "passwd", "pwd", "token", "apikey", "api_key", "api-key", "accesskey", "access_key",
                        "privatekey", "private_key", "credential"]
    static let triggers = words
    static let contextWords = ["secret", "password", "token", "credential", "apikey", "api_key", "accesskey", "access_key", "private_key"]

    /// `NAME: VALUE` in YAML, where values need no quotes.
    nonisolated(unsafe) static let yamlAssignment =
        /^\s*-?\s*(?<name>[A-Za-z_][A-Za-z0-9_.\-]*)\s*:\s+(?<value>"[^"\n]*"|'[^'\n]*'|[^\s#]+)\s*(?:#.*)?$/

    /// Whether the line contains one of the context words (`secret`, `password`, `token`, …).
    static func mentionsSecret(_ lowered: [UInt8]) -> Bool {
        contextBytes.contains { AssignmentParser.find($0, in: lowered, from: 0) != nil }
    }

    static let contextBytes = contextWords.map { Array($0.utf8) }

    static func isSecretName(_ name: Substring) -> Bool {
        let lowered = String(decoding: name.utf8.compactMap { $0 == 0x24 ? nil : ($0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0) }, as: UTF8.self)
        guard words.contains(where: { lowered.contains($0) }) else { return false }
        // `secret-name`, `Secret.Name` and `secret_name` are one name.
        let joined = String(lowered.filter { $0 != "-" && $0 != "." && $0 != "_" })
        if descriptiveJoined.contains(where: { joined.hasSuffix($0) }) { return false }
        // Names that describe a secret rather than hold one.
        let descriptive = ["secretname", "secret_name", "secretid", "secret_id", "tokenendpoint", "token_endpoint", "tokenurl", "token_url",
                           "passwordfile", "password_file", "secretfile", "secret_file", "secretref", "secret_ref", "tokentype", "token_type",
                           "keyvault", "secretkeyref", "passwordpolicy", "tokenfile", "token_file", "expires", "length", "reference", "ref",
                           "loadcredential", "loadcredentialencrypted", "setcredential", "setcredentialencrypted"]
        return !descriptive.contains(where: { lowered.hasSuffix($0) || lowered == $0 })
    }

    /// Descriptive suffixes with separators removed (`secretname` for `secret-name`).
    static let descriptiveJoined = ["secretname", "secretid", "tokenendpoint", "tokenurl", "passwordfile", "secretfile", "secretref",
                                    "tokentype", "secretkeyref", "passwordpolicy", "tokenfile", "keyname", "headername", "header",
                                    "secretversion", "tokenversion", "version", "secreturi", "secreturl", "passwordlength", "tokenlifetime",
                                    // Digests of a secret, and text about one.
                                    "sha1", "sha256", "sha512", "md5", "hash", "digest", "checksum", "fingerprint", "prompt", "label",
                                    "message", "hint", "description",
                                    // Paging tokens (OData `$skiptoken`, `nextPageToken`…): opaque cursors, not secrets.
                                    "skiptoken", "nexttoken", "pagetoken", "continuationtoken", "deltatoken", "synctoken"]
}

enum Literals {
    /// Whether an unquoted value is an optional chain in code (`basic?.secret`), not a literal.
    static func isOptionalChain(_ value: Substring) -> Bool {
        guard let first = value.first, first.isLetter || first == "_", let mark = value.firstRange(of: "?.") else { return false }
        return value[..<mark.lowerBound].allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

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

    /// Whether the text at `range` is not part of a longer word: the characters on either side are
    /// not letters, digits, `_` or `alsoWord`.
    static func standsAlone(_ range: Range<String.Index>, in line: Substring, alsoWord: Character? = nil) -> Bool {
        func isWord(_ character: Character) -> Bool {
            (character.isASCII && (character.isLetter || character.isNumber)) || character == "_" || character == alsoWord
        }
        if range.lowerBound > line.startIndex, isWord(line[line.index(before: range.lowerBound)]) { return false }
        if range.upperBound < line.endIndex, isWord(line[range.upperBound]) { return false }
        return true
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

    static let codePrefixes = ["$", "process.env", "os.environ", "Environment.", "ProcessInfo", "getenv", "os.getenv",
                               "http://", "https://", "/", "./", "~/"]
    static let referenceSchemes = ["env", "credential", "dir", "age", "keyring", "keyvault", "clavis", "op", "vault", "sops"]

    /// Values that are expressions, not literals: variable references, calls, paths, URLs,
    /// interpolations and secret references (byte checks: Swift's Regex is too slow here).
    static func looksLikeCode(_ value: Substring) -> Bool {
        if codePrefixes.contains(where: { value.hasPrefix($0) }) { return true }
        // A Windows environment variable, `%NAME%`.
        if value.count > 2, value.hasPrefix("%"), value.hasSuffix("%"), !value.dropFirst().dropLast().contains("%") { return true }
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

