import CGcrypt
#if canImport(Glibc)
import Glibc
#endif

/// ChaCha20-Poly1305 (RFC 8439) on libgcrypt: `GCRY_CIPHER_CHACHA20` in `GCRY_CIPHER_MODE_POLY1305`.
/// One handle per key, reused across nonces (the STREAM payload seals thousands of chunks).
final class ChaChaPoly {
    static let tagLength = 16
    static let nonceLength = 12
    private var handle: gcry_cipher_hd_t?

    init(key: SecureBytes) throws {
        try Gcrypt.ensureReady()
        try Gcrypt.check(gcry_cipher_open(&handle, Int32(GCRY_CIPHER_CHACHA20.rawValue), Int32(GCRY_CIPHER_MODE_POLY1305.rawValue),
                                          UInt32(GCRY_CIPHER_SECURE.rawValue)), "cipher_open")
        try key.withUnsafeBytes { try Gcrypt.check(gcry_cipher_setkey(handle, $0.baseAddress, $0.count), "cipher_setkey") }
    }

    deinit { gcry_cipher_close(handle) }

    /// Encrypts `plaintext` into `output` (plaintext.count + 16 bytes: ciphertext then tag).
    func seal(nonce: [UInt8], plaintext: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        try start(nonce)
        try Gcrypt.check(clavis_cipher_final(handle), "cipher_final")
        try Gcrypt.check(gcry_cipher_encrypt(handle, output.baseAddress, plaintext.count, plaintext.baseAddress, plaintext.count), "encrypt")
        let tag = UnsafeMutableRawBufferPointer(rebasing: output[plaintext.count..<(plaintext.count + Self.tagLength)])
        try Gcrypt.check(gcry_cipher_gettag(handle, tag.baseAddress, Self.tagLength), "gettag")
    }

    /// Decrypts and authenticates `sealed` (ciphertext then tag) into `output`
    /// (sealed.count − 16 bytes). Returns `false` when the tag does not verify; `output` must then
    /// be discarded.
    func open(nonce: [UInt8], sealed: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Bool {
        guard sealed.count >= Self.tagLength else { return false }
        let length = sealed.count - Self.tagLength
        try start(nonce)
        try Gcrypt.check(clavis_cipher_final(handle), "cipher_final")
        try Gcrypt.check(gcry_cipher_decrypt(handle, output.baseAddress, length, sealed.baseAddress, length), "decrypt")
        let status = gcry_cipher_checktag(handle, sealed.baseAddress.map { $0 + length }, Self.tagLength)
        if status == 0 { return true }
        if clavis_gcrypt_is_checksum_error(status) != 0 {
            if let base = output.baseAddress, length > 0 { memset(base, 0, length) }
            return false
        }
        try Gcrypt.check(status, "checktag")
        return false
    }

    private func start(_ nonce: [UInt8]) throws {
        try Gcrypt.check(clavis_cipher_reset(handle), "cipher_reset")
        try nonce.withUnsafeBytes { try Gcrypt.check(gcry_cipher_setiv(handle, $0.baseAddress, $0.count), "cipher_setiv") }
    }

    /// Seals a short message (a file key) under a fresh one-shot key with the all-zero nonce, as
    /// the age stanzas do.
    static func sealOnce(key: SecureBytes, plaintext: SecureBytes) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        let cipher = try ChaChaPoly(key: key)
        try plaintext.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { try cipher.seal(nonce: zeroNonce, plaintext: input, into: $0) }
        }
        return output
    }

    /// Opens a stanza body sealed with `sealOnce`; `nil` if it does not authenticate.
    static func openOnce(key: SecureBytes, sealed: [UInt8]) throws -> SecureBytes? {
        guard sealed.count >= tagLength else { return nil }
        let output = try SecureBytes(count: sealed.count - tagLength)
        let cipher = try ChaChaPoly(key: key)
        let ok = try sealed.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { try cipher.open(nonce: zeroNonce, sealed: input, into: $0) }
        }
        return ok ? output : nil
    }

    static let zeroNonce = [UInt8](repeating: 0, count: nonceLength)
}
