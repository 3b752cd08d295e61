import CGcrypt

/// libgcrypt set-up and the helpers every primitive wrapper shares.
enum Gcrypt {
    /// Whether libgcrypt initialised (once, thread-safely, on first use).
    static let isReady: Bool = clavis_gcrypt_initialize() == 0

    /// Fails with an `AgeError` if libgcrypt could not be initialised.
    static func ensureReady() throws {
        guard isReady else { throw AgeError(.crypto, "libgcrypt 1.8 or newer is required") }
    }

    /// Throws if `error` is not success, naming the operation.
    static func check(_ error: gcry_error_t, _ operation: String) throws {
        guard error == 0 else {
            let message = String(cString: gcry_strerror(error))
            throw AgeError(.crypto, "libgcrypt \(operation) failed: \(message)", libgcryptCode: error)
        }
    }

    /// `count` bytes from libgcrypt's strong RNG.
    static func random(_ count: Int, veryStrong: Bool = false) throws -> [UInt8] {
        try ensureReady()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress {
                gcry_randomize(base, raw.count, veryStrong ? GCRY_VERY_STRONG_RANDOM : GCRY_STRONG_RANDOM)
            }
        }
        return bytes
    }

    /// Random key material straight into secure memory.
    static func randomKey(_ count: Int) throws -> SecureBytes {
        try ensureReady()
        let key = try SecureBytes(count: count)
        key.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { gcry_randomize(base, raw.count, GCRY_VERY_STRONG_RANDOM) }
        }
        return key
    }
}

/// Key material in libgcrypt's secure memory (locked where the system allows, wiped on free).
package final class SecureBytes: @unchecked Sendable {
    // Written only during initialisation or by the owning operation before sharing.
    private let pointer: UnsafeMutableRawPointer
    /// The length in bytes.
    let count: Int

    /// Allocates `count` zeroed bytes of secure memory.
    init(count: Int) throws {
        try Gcrypt.ensureReady()
        guard let pointer = gcry_calloc_secure(1, max(count, 1)) else {
            throw AgeError(.crypto, "libgcrypt could not allocate \(count) bytes of secure memory")
        }
        self.pointer = pointer
        self.count = count
    }

    /// Copies `bytes` into secure memory.
    package convenience init<Bytes: Collection>(_ bytes: Bytes) throws where Bytes.Element == UInt8 {
        try self.init(count: bytes.count)
        withUnsafeMutableBytes { raw in _ = raw.initializeMemory(as: UInt8.self, from: bytes) }
    }

    deinit { gcry_free(pointer) }  // gcry_free wipes secure memory before releasing it

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Compares in constant time.
    func equals(_ other: SecureBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { a in
            other.withUnsafeBytes { b in
                var difference: UInt8 = 0
                for index in 0..<a.count { difference |= a[index] ^ b[index] }
                return difference == 0
            }
        }
    }

    /// Whether every byte is zero (constant time).
    var isAllZero: Bool {
        withUnsafeBytes { raw in raw.reduce(UInt8(0)) { $0 | $1 } == 0 }
    }
}
