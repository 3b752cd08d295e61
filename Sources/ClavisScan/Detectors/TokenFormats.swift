/// Tokens whose format has a fixed prefix: found wherever they stand on a line (a header, a command
/// line, a URL, any key style), and checked against the format's length rule or checksum so that a
/// look-alike is not reported.
extension Detector {
    /// GitHub tokens in the 2021 format: `ghp_` (personal access), `gho_` (OAuth), `ghu_`
    /// (user-to-server), `ghs_` (server-to-server), `ghr_` (refresh), then 36 base62 characters, the
    /// last 6 of which are the CRC32 of the first 30, base62-encoded and zero-padded.
    /// Format: https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/
    static let githubToken = Detector(name: "github-token", confidence: .high, triggers: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
                                      help: Help.github) { line, _ in
        line.ranges(of: /gh[pousr]_[A-Za-z0-9]{36}/).filter { range in
            Literals.standsAlone(range, in: line) && TokenChecksum.githubValid(line[range].utf8.dropFirst(4))
        }
    }

    /// GitHub fine-grained personal access tokens: `github_pat_`, 22 base62 characters, `_`, 59
    /// base62 characters (93 in all). GitHub documents the prefix; the length rule is the shape
    /// every fine-grained token has (https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats).
    static let githubFineGrainedToken = Detector(name: "github-token", confidence: .high, triggers: ["github_pat_"], help: Help.github) { line, _ in
        line.ranges(of: /github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}/).filter {
            Literals.standsAlone($0, in: line) && !Suppressions.isPlaceholder(line[$0]) && Literals.hasMixedClasses(line[$0].dropFirst(11))
        }
    }

    /// Slack tokens: `xoxb-` (bot), `xoxp-` (user), `xoxa-` (workspace app), `xoxr-` (refresh), then
    /// dash-separated numeric ids and a final random part
    /// (https://docs.slack.dev/authentication/tokens). Rule: at least one id of 8+ digits and a
    /// final part of 16+ base62 characters, which placeholders such as `xoxb-your-token` lack.
    static let slackToken = Detector(name: "slack-token", confidence: .high, triggers: ["xoxb-", "xoxp-", "xoxa-", "xoxr-"],
                                     help: Help.slack) { line, _ in
        line.ranges(of: /xox[bpar]-(?:[0-9]{1,13}-){1,4}[A-Za-z0-9]{16,64}/).filter { range in
            guard Literals.standsAlone(range, in: line, alsoWord: "-") else { return false }
            let parts = line[range].split(separator: "-")
            return parts.dropFirst().dropLast().contains { $0.count >= 8 } && !Suppressions.isPlaceholder(line[range])
                && parts.last.map { Literals.hasMixedClasses($0) || $0.allSatisfy(\.isHexDigit) } == true
        }
    }

    /// AWS access key ids: `AKIA` (long-term) or `ASIA` (temporary), then 16 upper-case letters and
    /// digits, 20 characters in all (https://docs.aws.amazon.com/IAM/latest/UserGuide/security-creds-programmatic-access.html),
    /// under any key style (`aws_access_key_id`, `AWS-ACCESS-KEY-ID`, `aws-access-key-id:`) or none.
    static let awsAccessKeyID = Detector(name: "aws-access-key-id", confidence: .high, triggers: ["akia", "asia"], help: Help.aws) { line, _ in
        line.ranges(of: /(?:AKIA|ASIA)[A-Z0-9]{16}/).filter { range in
            guard Literals.standsAlone(range, in: line) else { return false }
            let body = line[range].dropFirst(4)
            return !Suppressions.isPlaceholder(line[range]) && body.contains(where: \.isNumber) && body.contains(where: \.isLetter)
        }
    }

    /// Azure shared access signatures: the `sig=` parameter of a SAS query (`sv=…&…&sig=…` in a URL,
    /// `SharedAccessSignature=sv=…&sig=…` in a Storage connection string, `SharedAccessSignature
    /// sr=…&sig=…&se=…&skn=…` for Service Bus and Event Hubs). The signature is an HMAC-SHA256,
    /// base64 (often URL-encoded): it must decode to exactly 32 bytes, and the query must carry
    /// another SAS field (https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas).
    static let azureSASSignature = Detector(name: "azure-sas-signature", confidence: .high, triggers: ["sig="], help: Help.sas) { line, _ in
        let lowered = line.lowercased()
        guard ["sv=", "sr=", "se=", "skn=", "sp=", "sharedaccesssignature"].contains(where: { lowered.contains($0) }) else { return [] }
        return line.matches(of: /(?i:sig)=(?<value>[A-Za-z0-9+\/%]{40,80}={0,2})/).compactMap { match in
            let value = match.output.value
            guard Literals.standsAlone(match.range, in: line, alsoWord: nil), SASSignature.decodedLength(value) == 32, !Suppressions.isPlaceholder(value) else { return nil }
            return value.startIndex..<value.endIndex
        }
    }
}

/// GitHub's token checksum.
enum TokenChecksum {
    static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Whether the last 6 of 36 characters are the base62 CRC32 of the first 30.
    static func githubValid(_ body: Substring.UTF8View.SubSequence) -> Bool {
        let bytes = Array(body)
        guard bytes.count == 36 else { return false }
        var checksum = UInt64(CRC32.checksum(bytes[..<30]))
        var encoded = [UInt8](repeating: base62[0], count: 6)
        for position in stride(from: 5, through: 0, by: -1) {
            encoded[position] = base62[Int(checksum % 62)]
            checksum /= 62
        }
        return checksum == 0 && encoded[...] == bytes[30...]
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib computes it.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

enum SASSignature {
    /// The number of bytes a (possibly %-encoded) base64 value decodes to, or nil when it is not base64.
    static func decodedLength(_ value: Substring) -> Int? {
        var symbols = 0, padding = 0
        var index = value.utf8.startIndex
        let utf8 = value.utf8
        while index != utf8.endIndex {
            var byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first != utf8.endIndex, utf8.index(after: first) != utf8.endIndex else { return nil }
                let code = String(decoding: [utf8[first], utf8[utf8.index(after: first)]], as: UTF8.self).uppercased()
                switch code {
                case "2B": byte = UInt8(ascii: "+")
                case "2F": byte = UInt8(ascii: "/")
                case "3D": byte = UInt8(ascii: "=")
                default: return nil
                }
                index = utf8.index(index, offsetBy: 3)
            } else {
                index = utf8.index(after: index)
            }
            if byte == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0 else { return nil }
            symbols += 1
        }
        guard (symbols + padding) % 4 == 0 || padding == 0 else { return nil }
        return symbols * 6 / 8
    }
}
