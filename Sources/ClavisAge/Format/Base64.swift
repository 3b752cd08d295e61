/// Base64 (RFC 4648 §4) as age uses it: unpadded and canonical in the header, padded in armor.
/// An encoding, not a cryptographic primitive.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    static func encode<Bytes: Collection>(_ bytes: Bytes, padded: Bool = false) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        var output = [UInt8]()
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            for shift in [18, 12, 6, 0] { output.append(alphabet[Int(chunk >> UInt32(shift) & 0x3F)]) }
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let chunk = UInt32(input[index]) << 16
            output += [alphabet[Int(chunk >> 18 & 0x3F)], alphabet[Int(chunk >> 12 & 0x3F)]]
            if padded { output += Array("==".utf8) }
        } else if rest == 2 {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output += [alphabet[Int(chunk >> 18 & 0x3F)], alphabet[Int(chunk >> 12 & 0x3F)], alphabet[Int(chunk >> 6 & 0x3F)]]
            if padded { output += Array("=".utf8) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes canonical base64; `nil` for any other character, wrong padding, or non-zero
    /// trailing bits (non-canonical).
    static func decode<Bytes: Collection>(_ text: Bytes, padded: Bool = false) -> [UInt8]? where Bytes.Element == UInt8 {
        var characters = Array(text)
        if padded {
            guard characters.count % 4 == 0 else { return nil }
            var padding = 0
            while padding < 2, characters.last == UInt8(ascii: "=") { characters.removeLast(); padding += 1 }
        } else if characters.last == UInt8(ascii: "=") {
            return nil
        }
        guard characters.count % 4 != 1 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(characters.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        for character in characters {
            let value = values[Int(character)]
            guard value != 0xFF else { return nil }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
                buffer &= (1 << UInt32(bits)) - 1
            }
        }
        guard buffer == 0 else { return nil }  // leftover bits must be zero: canonical encodings only
        return output
    }
}
