import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where plain `http` is allowed: the loopback interface only (the emulator, a sidecar).
///
/// Loopback is an *address*, not a prefix: a literal IPv4 address in `127.0.0.0/8` (four decimal
/// octets, parsed strictly), the IPv6 loopback `::1` (bracketed or not), or the name `localhost`.
/// `127.evil.example`, `127.0.0.1.nip.io` and `localhost.evil` are names that resolve wherever
/// their owner likes, so they are not loopback.
public enum Loopback {
    /// Whether `host` (as in a URL's host, IPv6 optionally in brackets) is a loopback address.
    public static func isLoopback(_ host: String) -> Bool {
        var text = host.lowercased()
        if text == "localhost" { return true }
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.contains(":") {
            var address = in6_addr()
            guard inet_pton(AF_INET6, text, &address) == 1 else { return false }
            return withUnsafeBytes(of: &address) { bytes in bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1 }
        }
        // inet_pton(AF_INET) accepts exactly four decimal octets (no `127.1`, hex or octal forms).
        var address = in_addr()
        guard text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), inet_pton(AF_INET, text, &address) == 1 else { return false }
        return withUnsafeBytes(of: &address) { $0.first == 127 }
    }

    /// Whether a request to `scheme://host` may go out: `https` anywhere, `http` only to loopback.
    public static func permits(scheme: String, host: String) -> Bool {
        let scheme = scheme.lowercased()
        return scheme == "https" || (scheme == "http" && isLoopback(host))
    }

    /// Whether `url` is `https`, or `http` to a loopback address. The host is judged as written,
    /// percent-escapes and all (`127%2E0.0.1` is not a loopback address).
    public static func permits(_ url: URL) -> Bool {
        guard let scheme = url.scheme, let host = url.host(percentEncoded: true) else { return false }
        return permits(scheme: scheme, host: host)
    }
}
