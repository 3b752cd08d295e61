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

    /// The largest armored input read (armor is for text channels, not bulk data; the binary
    /// format streams without a limit).
    static let maximumSize = 64 << 20

    /// The error for armored input over ``maximumSize``.
    static var tooLarge: AgeError {
        AgeError(.armor, "the armored input is larger than \(maximumSize >> 20) MiB; use the binary format (no --armor) for large files")
    }

    /// Whether `bytes`, after leading whitespace, start with the armor's BEGIN line. (Whether
    /// that whitespace is allowed is ``decode(_:)``'s to say, with an error that names it.)
    static func isArmored(_ bytes: [UInt8]) -> Bool {
        bytes.drop(while: isWhitespace).starts(with: begin.utf8)
    }

    /// The most whitespace read before the BEGIN line and after the END line (age's reader
    /// allows less than 1 KiB on each side).
    static let maximumWhitespace = 1024

    /// Decodes the armor as age's own reader does (filippo.io/age/armor, and the test suite's
    /// armor_* vectors): whole blank lines may come before the BEGIN line and whitespace after the
    /// END line's line break, at most ``maximumWhitespace`` bytes each; the BEGIN and END lines
    /// are exact (only a CR before the line feed may follow them); every line between holds 64
    /// columns of strict base64 except the last.
    ///
    /// One pass over the bytes by index, so no input — a flood of line feeds included — costs more
    /// than its own size.
    static func decode(_ bytes: [UInt8]) throws -> [UInt8] {
        // The index of the line feed ending the line that starts at `start`, or the end of input.
        func lineEnd(from start: Int) -> Int { bytes[start...].firstIndex(of: 0x0A) ?? bytes.endIndex }
        var position = bytes.startIndex
        var lineNumber = 0
        var skipped = 0  // counted as age counts: each line without its CR, plus its line feed
        while position < bytes.endIndex {
            let end = lineEnd(from: position)
            guard bytes[position..<end].allSatisfy(isWhitespace) else { break }
            skipped += withoutCR(bytes[position..<end]).count + 1
            guard skipped <= maximumWhitespace else { throw AgeError(.armor, "more than \(maximumWhitespace) bytes of whitespace before the armor") }
            position = end + 1
            lineNumber += 1
        }
        let beginEnd = lineEnd(from: min(position, bytes.endIndex))
        guard position < bytes.endIndex, withoutCR(bytes[position..<beginEnd]).elementsEqual(begin.utf8) else {
            throw AgeError(.armor, "the first line is not '\(begin)' (nothing else may share its line)")
        }
        position = beginEnd + 1
        lineNumber += 1
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count)
        var sawShortLine = false
        while true {
            guard position < bytes.endIndex else { throw AgeError(.armor, "missing '\(end)' line (truncated, or something shares its line)") }
            let stop = lineEnd(from: position)
            let line = withoutCR(bytes[position..<stop])
            position = stop + 1
            lineNumber += 1
            if line.elementsEqual(end.utf8) { break }
            guard !sawShortLine else {
                throw AgeError(.armor, "line \(lineNumber - 1) is shorter than 64 columns but is not the last (or the '\(end)' line is malformed)")
            }
            guard (1...64).contains(line.count) else {
                throw AgeError(.armor, "line \(lineNumber) is not 64 columns (only the last line may be shorter)")
            }
            sawShortLine = line.count < 64
            text.append(contentsOf: line)
        }
        guard !text.isEmpty else { throw AgeError(.armor, "the armor holds no data") }
        let trailing = bytes[min(position, bytes.endIndex)...]
        guard trailing.count < maximumWhitespace else { throw AgeError(.armor, "\(maximumWhitespace) or more bytes after the armor") }
        guard trailing.allSatisfy(isWhitespace) else { throw AgeError(.armor, "data after the '\(end)' line") }
        guard let decoded = Base64.decode(text, padded: true) else {
            throw AgeError(.armor, "the armored data is not canonical base64")
        }
        return decoded
    }

    /// A line without the CR of a CRLF line ending.
    private static func withoutCR(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        line.last == 0x0D ? line.dropLast() : line
    }

    /// ASCII whitespace as age's reader (Go's `bytes.TrimSpace`) sees it: space, tab, LF, VT, FF,
    /// CR. Go also trims Unicode spaces (U+0085, U+00A0, U+2000…); an armored file with those
    /// around it is refused here (age writes none).
    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
