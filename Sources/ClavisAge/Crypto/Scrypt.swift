import CGcrypt

/// scrypt (RFC 7914) with r = 8, p = 1 through `gcry_kdf_derive(…, GCRY_KDF_SCRYPT, N, …)`.
package enum Scrypt {
    /// Derives `length` bytes from `passphrase` and `salt` with N = 2^logN.
    package static func deriveKey(passphrase: SecureBytes, salt: [UInt8], logN: Int, parallelism: Int = 1, length: Int = 32) throws -> SecureBytes {
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
