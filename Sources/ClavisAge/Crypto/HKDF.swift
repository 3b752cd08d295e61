#if canImport(Glibc)
import Glibc
#endif
import CGcrypt

/// HMAC-SHA-256 and HKDF-SHA-256 (RFC 5869) on libgcrypt's MAC API.
///
/// libgcrypt 1.10 has no HKDF (1.11 adds it), so HKDF's two steps are composed here from
/// libgcrypt's HMAC — composition only, no primitive is implemented in Swift.
enum HMACSHA256 {
    static let length = 32

    /// HMAC-SHA-256 of the concatenation of `parts` under `key`.
    static func authenticate(key: UnsafeRawBufferPointer, _ parts: [UnsafeRawBufferPointer], into output: UnsafeMutableRawBufferPointer) throws {
        try Gcrypt.ensureReady()
        var handle: gcry_mac_hd_t?
        try Gcrypt.check(gcry_mac_open(&handle, Int32(GCRY_MAC_HMAC_SHA256.rawValue), UInt32(GCRY_MAC_FLAG_SECURE.rawValue), nil), "mac_open")
        defer { gcry_mac_close(handle) }
        // An empty HMAC key equals a zero-filled block key (RFC 2104); libgcrypt wants a non-empty one.
        let zero = [UInt8](repeating: 0, count: length)
        try zero.withUnsafeBytes { zeroKey in
            let usable = key.isEmpty ? zeroKey : key
            try Gcrypt.check(gcry_mac_setkey(handle, usable.baseAddress, usable.count), "mac_setkey")
        }
        for part in parts where !part.isEmpty {
            try Gcrypt.check(gcry_mac_write(handle, part.baseAddress, part.count), "mac_write")
        }
        var produced = output.count
        try Gcrypt.check(gcry_mac_read(handle, output.baseAddress, &produced), "mac_read")
    }

    /// HMAC-SHA-256 of `message` under `key`, as a new array.
    static func authenticate(key: SecureBytes, message: [UInt8]) throws -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: length)
        try key.withUnsafeBytes { keyBytes in
            try message.withUnsafeBytes { messageBytes in
                try tag.withUnsafeMutableBytes { try authenticate(key: keyBytes, [messageBytes], into: $0) }
            }
        }
        return tag
    }
}

enum HKDFSHA256 {
    /// HKDF-Extract then HKDF-Expand to `length` bytes (≤ 255 × 32) of secure memory.
    static func deriveKey(ikm: SecureBytes, salt: [UInt8], info: [UInt8], length: Int = 32) throws -> SecureBytes {
        guard length <= 255 * HMACSHA256.length else { throw AgeError(.crypto, "HKDF output too long") }
        let prk = try SecureBytes(count: HMACSHA256.length)
        try ikm.withUnsafeBytes { ikmBytes in
            try salt.withUnsafeBytes { saltBytes in
                try prk.withUnsafeMutableBytes { try HMACSHA256.authenticate(key: saltBytes, [ikmBytes], into: $0) }
            }
        }
        let output = try SecureBytes(count: length)
        let block = try SecureBytes(count: HMACSHA256.length)
        var previousLength = 0
        var counter: UInt8 = 1
        var filled = 0
        while filled < length {
            try prk.withUnsafeBytes { prkBytes in
                try block.withUnsafeMutableBytes { blockBytes in
                    let previous = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(blockBytes)[0..<previousLength])
                    var next = [UInt8](repeating: 0, count: HMACSHA256.length)
                    try info.withUnsafeBytes { infoBytes in
                        try withUnsafeBytes(of: counter) { counterBytes in
                            try next.withUnsafeMutableBytes {
                                try HMACSHA256.authenticate(key: prkBytes, [previous, infoBytes, counterBytes], into: $0)
                            }
                        }
                    }
                    next.withUnsafeBytes { blockBytes.copyMemory(from: $0) }
                    next.withUnsafeMutableBytes { if let base = $0.baseAddress { _ = memset(base, 0, $0.count) } }
                }
            }
            previousLength = HMACSHA256.length
            let take = min(HMACSHA256.length, length - filled)
            block.withUnsafeBytes { blockBytes in
                output.withUnsafeMutableBytes { outBytes in
                    UnsafeMutableRawBufferPointer(rebasing: outBytes[filled..<(filled + take)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: blockBytes[0..<take]))
                }
            }
            filled += take
            counter &+= 1
        }
        return output
    }
}
