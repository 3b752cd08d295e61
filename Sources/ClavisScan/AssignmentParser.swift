#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
                // A typed declaration, `name: String = "…"` (Swift): the value follows the `=`.
                if let equals = typedDeclarationValue(after: index, in: bytes) { index = equals; colon = false }
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

    /// After `name: `, the index just past `=` when a type name and `=` follow (`String = `).
    static func typedDeclarationValue(after position: Int, in bytes: [UInt8]) -> Int? {
        var index = position
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        let start = index
        while index < bytes.count, isNameByte(bytes[index]) || bytes[index] == 0x3F || bytes[index] == 0x21 { index += 1 }  // ? !
        guard index > start, let first = bytes[start...].first, first >= 0x41 && first <= 0x5A else { return nil }  // Types are capitalised.
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        guard index < bytes.count, bytes[index] == 0x3D, index + 1 >= bytes.count || bytes[index + 1] != 0x3D else { return nil }
        return index + 1
    }

    /// The first index at or after `from` where `needle` occurs in `haystack` (the C library's
    /// `memchr` and `memcmp`, vectorised: every trigger of every detector is looked up on every line).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, needle.count <= haystack.count, from >= 0, from <= haystack.count - needle.count else { return nil }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                guard let base = hay.baseAddress, let pinBase = pin.baseAddress else { return nil }
                let first = Int32(needle[0]), last = hay.count - pin.count
                var index = from
                while index <= last {
                    guard let hit = memchr(base + index, first, last - index + 1) else { return nil }
                    let offset = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(hit, pinBase, pin.count) == 0 { return offset }
                    index = offset + 1
                }
                return nil
            }
        }
    }
}
