import Foundation

/// A URL's origin: scheme, host and port (the default port made explicit), compared exactly.
///
/// Clients pin the services they talk to by origin: a Key Vault `nextLink` or a Defender
/// `@odata.nextLink` is followed, and a bearer token sent, only when its origin is the one the
/// caller configured — not merely the same host over another scheme or port.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
    /// `https` or `http`, lowercased.
    public let scheme: String
    /// The host, lowercased (IPv6 without brackets).
    public let host: String
    /// The port (443 for https and 80 for http when the URL names none).
    public let port: Int

    /// The origin of `url`, or `nil` when it has no scheme or host, or a scheme other than http(s).
    public init?(_ url: URL) {
        guard let scheme = url.scheme?.lowercased(), ["https", "http"].contains(scheme), let host = url.host, !host.isEmpty else { return nil }
        self.scheme = scheme
        var lowered = host.lowercased()
        if lowered.hasPrefix("["), lowered.hasSuffix("]") { lowered = String(lowered.dropFirst().dropLast()) }
        self.host = lowered
        port = url.port ?? (scheme == "https" ? 443 : 80)
    }

    /// The origin of `text`, or `nil` when it is not an absolute http(s) URL.
    public init?(_ text: String) {
        guard let url = URL(string: text) else { return nil }
        self.init(url)
    }

    /// `scheme://host:port`.
    public var description: String { "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}
