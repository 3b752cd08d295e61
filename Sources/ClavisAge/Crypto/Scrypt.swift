import _CryptoExtras
import CGcrypt
import Crypto

/// scrypt (RFC 7914) with r = 8, p = 1.
///
/// age's passphrase stanzas derive through **swift-crypto** (`KDF.Scrypt`, BoringSSL's
/// `EVP_PBE_scrypt`): measured in one `Benchmarks/run` on the development VM, 663 ms against
/// libgcrypt 1.10's 837 ms at N = 2^18 (the row "scrypt 2^18 derive in process"), and issue 17 asks
/// for the faster of the two allowed primitive sources. The libgcrypt path stays, `package`-only,
/// for that benchmark row. swift-crypto derives into an ordinary buffer before its `SymmetricKey`
/// (zeroed on release); the 32 bytes are copied into libgcrypt's secure memory at once, but that
/// first buffer is freed unwiped — SECURITY.md says so.
package enum Scrypt {
    /// Derives `length` bytes from `passphrase` and `salt` with N = 2^logN and parallelism p (swift-crypto).
    package static func deriveKey(passphrase: SecureBytes, salt: [UInt8], logN: Int, parallelism: Int = 1, length: Int = 32) throws -> SecureBytes {
        guard (1...30).contains(logN) else { throw AgeError(.crypto, "scrypt work factor 2^\(logN) is out of range") }
        let derived: SymmetricKey
        do {
            derived = try passphrase.withUnsafeBytes { pass in
                try KDF.Scrypt.deriveKey(from: pass, salt: salt, outputByteCount: length, rounds: 1 << logN, blockSize: 8, parallelism: parallelism)
            }
        } catch {
            throw AgeError(.crypto, "scrypt failed: \(error)")
        }
        let key = try SecureBytes(count: length)
        derived.withUnsafeBytes { source in
            key.withUnsafeMutableBytes { target in target.copyMemory(from: source) }
        }
        return key
    }

    /// The same through libgcrypt's `gcry_kdf_derive(…, GCRY_KDF_SCRYPT, …)`: the measured
    /// alternative (benchmark only).
    package static func deriveKeyWithLibgcrypt(passphrase: SecureBytes, salt: [UInt8], logN: Int, parallelism: Int = 1,
                                               length: Int = 32) throws -> SecureBytes {
        try Gcrypt.ensureReady()
        guard (1...30).contains(logN) else { throw AgeError(.crypto, "scrypt work factor 2^\(logN) is out of range") }
        let key = try SecureBytes(count: length)
        try passphrase.withUnsafeBytes { pass in
            try salt.withUnsafeBytes { saltBytes in
                try key.withUnsafeMutableBytes { out in
                    try Gcrypt.check(gcry_kdf_derive(pass.baseAddress, pass.count, Int32(GCRY_KDF_SCRYPT.rawValue), Int32(1 << logN),
                                                     saltBytes.baseAddress, saltBytes.count, UInt(parallelism), length, out.baseAddress),
                                     "scrypt")
                }
            }
        }
        return key
    }
}
