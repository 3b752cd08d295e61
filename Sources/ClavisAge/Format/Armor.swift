/// The strict PEM armor of age files (RFC 7468 §3, label `AGE ENCRYPTED FILE`, padded base64
/// in 64-column lines), read as age's own reader reads it: blank lines before the block,
/// whitespace after it and CRLF line endings are accepted; anything else non-canonical is refused.
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

    /// The most whitespace read before the BEGIN line and after the END line (age's reader
    /// allows less than 1 KiB on each side).
    static let maximumWhitespace = 1024

    /// Decodes the armor as age's own reader does (filippo.io/age/armor, and the test suite's
    /// armor_* vectors): whole blank lines may come before the BEGIN line and whitespace after the
    /// END line's line break, at most ``maximumWhitespace`` bytes each; the BEGIN and END lines
    /// are exact (only a CR before the line feed may follow them); every line between holds 64
    /// columns of strict base64 except the last.
    static func decode(_ bytes: [UInt8]) throws -> [UInt8] {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)[...]
        var skipped = 0
        while let first = lines.first, first.allSatisfy(isWhitespace), lines.count > 1 || !first.isEmpty {
            skipped += first.count + 1
            guard skipped <= maximumWhitespace else { throw AgeError(.armor, "more than \(maximumWhitespace) bytes of whitespace before the armor") }
            lines.removeFirst()
        }
        guard let first = lines.first.map(withoutCR), first.elementsEqual(begin.utf8) else {
            throw AgeError(.armor, "the first line is not '\(begin)' (nothing else may share its line)")
        }
        guard let endIndex = lines.dropFirst().firstIndex(where: { withoutCR($0).elementsEqual(end.utf8) }) else {
            throw AgeError(.armor, "missing '\(end)' line (truncated, or something shares its line)")
        }
        let trailing = Array(lines[(endIndex + 1)...].joined(separator: [0x0A]))
        guard trailing.allSatisfy(isWhitespace) else { throw AgeError(.armor, "data after the '\(end)' line") }
        // Every line ends in a line feed that the split removed; the file's own last one is not trailing.
        guard trailing.count < maximumWhitespace else { throw AgeError(.armor, "\(maximumWhitespace) or more bytes of whitespace after the armor") }
        let body = lines[(lines.startIndex + 1)..<endIndex].map(withoutCR)
        guard !body.isEmpty else { throw AgeError(.armor, "the armor holds no data") }
        for (index, line) in body.enumerated() {
            let isLast = index == body.count - 1
            guard isLast ? (1...64).contains(line.count) : line.count == 64 else {
                throw AgeError(.armor, "line \(index + 2) is not 64 columns (only the last line may be shorter)")
            }
        }
        guard let decoded = Base64.decode(body.flatMap { $0 }, padded: true) else {
            throw AgeError(.armor, "the armored data is not canonical base64")
        }
        return decoded
    }

    /// A line without the CR of a CRLF line ending.
    private static func withoutCR(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        line.last == 0x0D ? line.dropLast() : line
    }

    /// ASCII whitespace as Go's `bytes.TrimSpace` sees it: space, tab, LF, VT, FF, CR.
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
