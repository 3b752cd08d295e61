import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether a TCP connection to a URL's host and port can be made within a deadline — the
/// "short connect timeout" of the IMDS probe (azure-identity `imds.py` bounds only the connection,
/// not the reply: a live IMDS that is slow to answer is still IMDS). Numeric hosts only (IMDS is
/// `169.254.169.254`, the emulator a loopback address); a name is resolved first by `getaddrinfo`.
/// Runs off the cooperative pool, since `poll` blocks.
enum ConnectProbe {
    /// `true` when the connection was accepted within `timeout`.
    static func canConnect(to url: String, within timeout: Duration) async -> Bool {
        guard let components = URLComponents(string: url), let host = components.encodedHost else { return false }  // wire form, no IDNA decoding
        let port = components.port ?? (components.scheme == "https" ? 443 : 80)
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: connect(host: host.trimmingCharacters(in: ["[", "]"]), port: port, milliseconds: milliseconds))
            }
        }
    }

    static func connect(host: String, port: Int, milliseconds: Int32) -> Bool {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, milliseconds) == 1 else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0
    }
}
