/// A failure libsecret reported (its `GError`), kept as the ``ClavisCore/ClavisError/cause`` of
/// the Clavis error a keyring operation throws. The messages come from libsecret and D-Bus and
/// name no secret values.
public struct SecretServiceError: Error, Sendable, CustomStringConvertible {
    /// The GError domain, e.g. `g-dbus-error-quark`, `g-io-error-quark`, `secret-error-quark`.
    public var domain: String
    /// The code within ``domain`` (e.g. `G_IO_ERROR_CANCELLED` is 19 in `g-io-error-quark`).
    public var code: Int32
    /// libsecret's message.
    public var message: String

    /// A failure as libsecret reported it.
    public init(domain: String, code: Int32, message: String) {
        self.domain = domain
        self.code = code
        self.message = message
    }

    /// `domain code: message`.
    public var description: String { "\(domain) \(code): \(message)" }
}
