#if canImport(Glibc)
import Glibc
#endif
/// The age payload: a 16-byte nonce, then ChaCha20-Poly1305 over 64 KiB chunks with a
/// big-endian chunk counter and a last-chunk flag in the nonce (the STREAM construction).
enum PayloadStream {
    static let chunkSize = 64 * 1024
    static let nonceSize = 16
    static let sealedChunkSize = chunkSize + ChaChaPoly.tagLength

    private static func nonce(counter: UInt64, last: Bool) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: ChaChaPoly.nonceLength)
        for index in 0..<8 { nonce[3 + index] = UInt8(truncatingIfNeeded: counter >> UInt64(8 * (7 - index))) }
        nonce[11] = last ? 1 : 0
        return nonce
    }

    private static func payloadKey(fileKey: SecureBytes, nonce: [UInt8]) throws -> SecureBytes {
        try HKDFSHA256.deriveKey(ikm: fileKey, salt: nonce, info: Array("payload".utf8))
    }

    /// Encrypts everything `input` holds, writing the nonce and sealed chunks to `output`.
    static func encrypt(_ input: BufferedInput, fileKey: SecureBytes, output: ([UInt8]) throws -> Void) throws {
        let streamNonce = try Gcrypt.random(nonceSize)
        try output(streamNonce)
        let cipher = try ChaChaPoly(key: try payloadKey(fileKey: fileKey, nonce: streamNonce))
        var counter: UInt64 = 0
        var chunk = try input.read(upTo: chunkSize)
        var sealed = [UInt8](repeating: 0, count: sealedChunkSize)
        while true {
            let next = chunk.count == chunkSize ? try input.read(upTo: chunkSize) : []
            let last = next.isEmpty
            let length = chunk.count + ChaChaPoly.tagLength
            try chunk.withUnsafeBytes { plain in
                try sealed.withUnsafeMutableBytes { out in
                    try cipher.seal(nonce: nonce(counter: counter, last: last), plaintext: plain,
                                    into: UnsafeMutableRawBufferPointer(rebasing: out[0..<length]))
                }
            }
            try output(Array(sealed[0..<length]))
            if last { return }
            guard counter < UInt64.max else { throw AgeError(.payload, "too many chunks") }
            counter += 1
            chunk = next
        }
    }

    /// Decrypts the payload from `input`, handing each authenticated chunk to `output`. Fails on
    /// truncation, tampering, reordering, an empty final chunk and trailing data.
    static func decrypt(_ input: BufferedInput, fileKey: SecureBytes, output: (UnsafeRawBufferPointer) throws -> Void) throws {
        let streamNonce = try input.read(upTo: nonceSize)
        guard !streamNonce.isEmpty else { throw AgeError(.payload, "truncated: no payload after the header") }
        guard streamNonce.count == nonceSize else { throw AgeError(.payload, "truncated: the payload nonce is incomplete") }
        let cipher = try ChaChaPoly(key: try payloadKey(fileKey: fileKey, nonce: streamNonce))
        var counter: UInt64 = 0
        var plain = [UInt8](repeating: 0, count: chunkSize)
        defer { plain.withUnsafeMutableBytes { if let base = $0.baseAddress { memset(base, 0, $0.count) } } }
        while true {
            let sealed = try input.read(upTo: sealedChunkSize)
            guard sealed.count >= ChaChaPoly.tagLength else {
                throw AgeError(.payload, counter == 0 && sealed.isEmpty ? "truncated: no payload after the header"
                                                                        : "truncated: the file ends without a final chunk")
            }
            let atEnd = try input.atEnd()
            let length = sealed.count - ChaChaPoly.tagLength
            if sealed.count < sealedChunkSize && !atEnd { throw AgeError(.payload, "a short chunk is followed by more data") }
            func attempt(last: Bool) throws -> Bool {
                try sealed.withUnsafeBytes { sealedBytes in
                    try plain.withUnsafeMutableBytes { out in
                        try cipher.open(nonce: nonce(counter: counter, last: last), sealed: sealedBytes,
                                        into: UnsafeMutableRawBufferPointer(rebasing: out[0..<length]))
                    }
                }
            }
            if atEnd {
                guard try attempt(last: true) else {
                    if sealed.count == sealedChunkSize, try attempt(last: false) {
                        throw AgeError(.payload, "truncated: the file ends after a full chunk that is not the final one")
                    }
                    throw AgeError(.payload, "truncated or modified: the last chunk (\(counter)) failed to authenticate")
                }
                guard length > 0 || counter == 0 else { throw AgeError(.payload, "the final chunk is empty") }
                try plain.withUnsafeBytes { try output(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
                return
            }
            guard try attempt(last: false) else {
                if try attempt(last: true) { throw AgeError(.payload, "data follows the final chunk") }
                throw AgeError(.payload, "modified: chunk \(counter) failed to authenticate (tampered or reordered)")
            }
            try plain.withUnsafeBytes { try output(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
            counter += 1
        }
    }
}
