import CLibsecret
import ClavisCore

/// A read of a reference without `?collection=` in the Secret Service's own messages (CLibsecret's
/// `clavis_direct_read`: OpenSession, SearchItems, GetSecrets over GIO, the session's
/// Diffie-Hellman, HKDF and AES from libgcrypt). It overlaps the client's cryptography with the
/// round trips, which libsecret's calls cannot, and so reads in less time than `secret-tool lookup`
/// (docs/performance.md). Like `secret-tool lookup` it searches every unlocked collection (the
/// default one included). It never unlocks, so it never prompts.
enum DirectRead {
    /// The value of the first unlocked item whose `service` and `username` match, in any collection;
    /// `nil` when libsecret should answer (nothing unlocked matches, the provider lacks the
    /// algorithm, libsecret is built without libgcrypt). Errors are translated as libsecret's are.
    /// Blocks the calling thread (the keyring thread, or the launcher's main thread) for at most
    /// `timeout`, after which it fails with ``ClavisError/Code/timedOut``; `cancellable` ends it sooner.
    static func lookup(service: String, username: String, cancellable: OpaquePointer, timeout: Duration, reference: String) throws -> Secret? {
        var value: UnsafeMutablePointer<UInt8>?
        var length = 0
        var operation: UnsafePointer<CChar>?
        var error: UnsafeMutablePointer<ClavisGError>?
        let milliseconds = UInt32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let result = clavis_direct_read(service, username, cancellable, milliseconds, &value, &length, &operation, &error)
        switch result {
        case Int32(CLAVIS_DIRECT_FOUND):
            defer { clavis_direct_free(value, length) }
            return Secret(bytes: UnsafeRawBufferPointer(start: value, count: length))
        case Int32(CLAVIS_DIRECT_DECLINED):
            return nil
        default:
            throw KeyringSession.translate(error, reference: reference, operation: operation.map { String(cString: $0) } ?? "read the item")
        }
    }
}
