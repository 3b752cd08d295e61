/// The strict PEM armor of age files (RFC 7468 §3, label `AGE ENCRYPTED FILE`, padded base64
/// in 64-column lines). Whitespace around the block and CRLF line endings are accepted;
/// anything else non-canonical is refused.
enum Armor {
    static let begin = "-----BEGIN AGE ENCRYPTED FILE-----"
    static let end = "-----END AGE ENCRYPTED FILE-----"

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        let body = Base64.encode(bytes, padded: true)
        var text = begin + "\n"
        var index = body.startIndex
        while index < body.endIndex {
            let next = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            text += body[index..<next] + "\n"
            index = next
        }
        return Array((text + end + "\n").utf8)
    }

    /// Whether `bytes` (after leading whitespace) start with the armor's BEGIN line.
    /// The largest armored input read (armor is for text channels, not bulk data; the binary
    /// format streams without a limit).
    static let maximumSize = 64 << 20

    /// The error for armored input over ``maximumSize``.
    static var tooLarge: AgeError {
        AgeError(.armor, "the armored input is larger than \(maximumSize >> 20) MiB; use the binary format (no --armor) for large files")
    }

    static func isArmored(_ bytes: [UInt8]) -> Bool {
        let trimmed = bytes.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        return trimmed.starts(with: Array(begin.utf8))
    }

    static func decode(_ bytes: [UInt8]) throws -> [UInt8] {
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        let trimmed = Array(bytes.drop { whitespace.contains($0) }.reversed().drop { whitespace.contains($0) }.reversed())
        var lines = trimmed.split(separator: 0x0A, omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == 0x0D ? line.dropLast() : line
        }
        guard lines.first.map(Array.init) == Array(begin.utf8) else { throw AgeError(.armor, "missing '\(begin)' line") }
        guard lines.last.map(Array.init) == Array(end.utf8) else { throw AgeError(.armor, "missing '\(end)' line (truncated?)") }
        lines = Array(lines.dropFirst().dropLast())
        guard !lines.isEmpty else { throw AgeError(.armor, "the armor holds no data") }
        for (index, line) in lines.enumerated() {
            let isLast = index == lines.count - 1
            guard isLast ? (1...64).contains(line.count) : line.count == 64 else {
                throw AgeError(.armor, "line \(index + 2) is not 64 columns (only the last line may be shorter)")
            }
        }
        guard let decoded = Base64.decode(lines.flatMap { $0 }, padded: true) else {
            throw AgeError(.armor, "the armored data is not canonical base64")
        }
        return decoded
    }
}
