import CGcrypt

/// X25519 (RFC 7748) through `gcry_ecc_mul_point(GCRY_ECC_CURVE25519, …)`, RFC byte order.
enum X25519 {
    static let length = 32

    /// X25519(scalar, point); the base point when `point` is nil.
    static func multiply(_ scalar: SecureBytes, _ point: [UInt8]?) throws -> SecureBytes {
        guard scalar.count == length, point.map({ $0.count == length }) ?? true else {
            throw AgeError(.crypto, "X25519 takes 32-byte inputs")
        }
        let result = try SecureBytes(count: length)
        try scalar.withUnsafeBytes { scalarBytes in
            try result.withUnsafeMutableBytes { out in
                let status: gcry_error_t
                if let point {
                    status = point.withUnsafeBytes { pointBytes in
                        gcry_ecc_mul_point(Int32(GCRY_ECC_CURVE25519.rawValue), out.bindMemory(to: UInt8.self).baseAddress,
                                           scalarBytes.bindMemory(to: UInt8.self).baseAddress,
                                           pointBytes.bindMemory(to: UInt8.self).baseAddress)
                    }
                } else {
                    status = gcry_ecc_mul_point(Int32(GCRY_ECC_CURVE25519.rawValue), out.bindMemory(to: UInt8.self).baseAddress,
                                                scalarBytes.bindMemory(to: UInt8.self).baseAddress, nil)
                }
                try Gcrypt.check(status, "X25519")
            }
        }
        return result
    }

    /// The public key of `secret`, as plain bytes.
    static func publicKey(of secret: SecureBytes) throws -> [UInt8] {
        try multiply(secret, nil).withUnsafeBytes { Array($0) }
    }
}
