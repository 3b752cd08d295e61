#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A secret value: bytes that never print.
///
/// `Secret` renders as `<redacted>` in every textual form Swift offers — `description`,
/// `debugDescription`, `dump`, string interpolation, and therefore log lines and error messages
/// that interpolate it. The bytes are reachable only through the explicit, greppable `reveal…`
/// accessors, so a code review can find every place a secret leaves its box:
///
/// ```swift
/// let secret = Secret("s3cr3t")
/// print(secret)                    // <redacted>
/// secret.withRevealedBytes { raw in send(raw) }
/// ```
///
/// The storage is a private heap buffer that is overwritten with zeros (`explicit_bzero`) when the
/// last copy of the `Secret` is released. This is best effort: copies made by `reveal…` callers,
/// the buffers of the `String` or `[UInt8]` a secret was created from, and pages swapped to disk are
/// outside its reach. `Secret` is deliberately not `Codable` and not `Hashable`.
public struct Secret: Sendable {
    private let storage: SecretStorage

    /// Creates a secret holding a copy of `bytes`.
    public init<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        storage = SecretStorage(count: bytes.count)
        _ = storage.buffer.initializeMemory(as: UInt8.self, from: bytes)
    }

    /// Creates a secret holding the UTF-8 bytes of `string`.
    public init(_ string: String) {
        self.init(bytes: Array(string.utf8))
    }

    /// Creates a secret of `count` bytes filled in place by `initializer`, so the bytes never sit
    /// in an intermediate array.
    public init(count: Int, initializingWith initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        storage = SecretStorage(count: count)
        try initializer(storage.buffer)
    }

    /// The number of bytes in the secret. Safe to log.
    public var count: Int { storage.buffer.count }

    /// Whether the secret holds no bytes.
    public var isEmpty: Bool { storage.buffer.isEmpty }

    /// Calls `body` with the raw bytes of the secret. The pointer must not escape `body`.
    public func withRevealedBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(storage.buffer))
    }

    /// Returns a copy of the bytes. The copy is outside the secret's zeroing; prefer
    /// ``withRevealedBytes(_:)`` where you can.
    public func revealedBytes() -> [UInt8] {
        withRevealedBytes { Array($0) }
    }

    /// Returns the secret as a `String` if its bytes are valid UTF-8, `nil` otherwise.
    public func revealedString() -> String? {
        withRevealedBytes { raw in
            String(validating: raw.bindMemory(to: UInt8.self), as: UTF8.self)
        }
    }

    /// Returns a new secret without one trailing line ending (`\n` or `\r\n`), as files written by
    /// `echo` or editors end with one.
    public func trimmingOneTrailingNewline() -> Secret {
        withRevealedBytes { raw in
            var end = raw.count
            if end > 0, raw[end - 1] == 0x0A {
                end -= 1
                if end > 0, raw[end - 1] == 0x0D { end -= 1 }
            }
            if end == raw.count { return self }
            return Secret(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<end]))
        }
    }
}

extension Secret: CustomStringConvertible {
    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
}

extension Secret: CustomDebugStringConvertible {
    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }
}

extension Secret: CustomReflectable {
    /// A mirror with no children, so `dump` and debuggers show only `<redacted>`.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

extension Secret: CustomLeafReflectable {}

extension Secret: Equatable {
    /// Compares two secrets in time that depends only on their lengths.
    public static func == (lhs: Secret, rhs: Secret) -> Bool {
        lhs.withRevealedBytes { a in
            rhs.withRevealedBytes { b in
                guard a.count == b.count else { return false }
                var difference: UInt8 = 0
                for index in 0..<a.count { difference |= a[index] ^ b[index] }
                return difference == 0
            }
        }
    }
}

/// The heap buffer behind a `Secret`: written once at creation, zeroed and freed on release.
private final class SecretStorage: @unchecked Sendable {
    // Immutable after `Secret.init` returns; never shared before that, hence `@unchecked`.
    let buffer: UnsafeMutableRawBufferPointer

    init(count: Int) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 0), alignment: 16)
    }

    deinit {
        if let base = buffer.baseAddress, buffer.count > 0 {
            explicit_bzero(base, buffer.count)
        }
        buffer.deallocate()
    }
}
