import Foundation
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of a connection: its uid (which the kernel vouches for) and, for the
/// audit line, a pid and executable.
///
/// - Loopback TCP: the kernel's socket table (`/proc/net/tcp`, `/proc/net/tcp6`, see proc(5))
///   lists the client's own socket — local address = the client's address and port, remote = the
///   broker's — with the uid that owns it and its inode; the pid is the process holding that
///   inode among `/proc/PID/fd`.
/// - Unix socket: `SO_PEERCRED` (unix(7)) gives pid, uid and gid of the connecting process.
public struct PeerCredentials: Sendable, Equatable {
    /// The uid that owns the client socket.
    public var uid: uid_t
    /// A process holding the client socket (0 when it could not be found, e.g. it exited).
    public var pid: pid_t
    /// That process's executable (`/proc/PID/exe`), if readable.
    public var executable: String?

    /// Creates peer credentials.
    public init(uid: uid_t, pid: pid_t, executable: String? = nil) {
        self.uid = uid
        self.pid = pid
        self.executable = executable
    }

    /// The peer of a loopback TCP connection from `client` to `server`, from the kernel's tables.
    public static func tcp(client: SocketAddress, server: SocketAddress, findProcess: Bool = true) -> PeerCredentials? {
        guard let clientPort = client.port, let serverPort = server.port,
              let clientHex = hexAddress(client), let serverHex = hexAddress(server) else { return nil }
        let table = clientHex.count == 8 ? "/proc/net/tcp" : "/proc/net/tcp6"
        let local = "\(clientHex):\(String(format: "%04X", clientPort))"
        let remote = "\(serverHex):\(String(format: "%04X", serverPort))"
        guard let text = readProcFile(table) else { return nil }
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
            guard fields.count >= 10, fields[1] == local, fields[2] == remote, let uid = uid_t(fields[7]), let inode = UInt64(fields[9]) else { continue }
            guard findProcess else { return PeerCredentials(uid: uid, pid: 0) }
            let pid = process(holdingSocket: inode, ownedBy: uid)
            return PeerCredentials(uid: uid, pid: pid, executable: pid > 0 ? executable(of: pid) : nil)
        }
        return nil
    }

    /// The peer of a Unix-socket channel, from `SO_PEERCRED`.
    public static func unix(_ channel: any Channel) async -> PeerCredentials? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<PeerCred> = provider.unsafeGetSocketOption(level: .socket, name: .init(rawValue: peerCredOption))
        guard let credentials = try? await future.get() else { return nil }
        return PeerCredentials(uid: uid_t(credentials.uid), pid: pid_t(credentials.pid), executable: executable(of: pid_t(credentials.pid)))
    }

    /// `struct ucred` (unix(7)): pid, uid, gid.
    struct PeerCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// `SO_PEERCRED` (asm-generic/socket.h: 17 on x86 and ARM).
    static let peerCredOption: CInt = 17

    /// The address as /proc/net/tcp* prints it: each 32-bit word in host (little-endian) order, in hex.
    public static func hexAddress(_ address: SocketAddress) -> String? {
        let bytes: [UInt8]
        switch address {
        case .v4(let v4):
            bytes = withUnsafeBytes(of: v4.address.sin_addr.s_addr) { Array($0) }
        case .v6(let v6):
            bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        default:
            return nil
        }
        var hex = ""
        for word in stride(from: 0, to: bytes.count, by: 4) {
            for byte in bytes[word..<word + 4].reversed() { hex += String(format: "%02X", byte) }
        }
        return hex
    }

    /// The pid of a process of `uid` with a descriptor on socket `inode`, or 0.
    static func process(holdingSocket inode: UInt64, ownedBy uid: uid_t) -> pid_t {
        let target = "socket:[\(inode)]"
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return 0 }
        var info = stat()
        // Newest first: a client has usually just started.
        for pid in entries.compactMap({ pid_t($0) }).sorted(by: >) where pid != getpid() {
            let entry = String(pid)
            guard stat("/proc/\(entry)", &info) == 0, info.st_uid == uid else { continue }
            guard let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(entry)/fd") else { continue }
            for descriptor in descriptors where link("/proc/\(entry)/fd/\(descriptor)") == target {
                return pid
            }
        }
        return 0
    }

    /// A /proc file read to its end (they report size 0, so readers that trust the size stop early).
    static func readProcFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `/proc/PID/exe`, if readable.
    static func executable(of pid: pid_t) -> String? { pid > 0 ? link("/proc/\(pid)/exe") : nil }

    private static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Peers by connection: a keep-alive connection is looked up once, not at every request.
final class PeerCache: Sendable {
    private let peers = Mutex<[ObjectIdentifier: PeerCredentials]>([:])

    /// The peer of `channel`, looked up with `lookup` the first time.
    func peer(of channel: any Channel, lookup: () async -> PeerCredentials?) async -> PeerCredentials? {
        let key = ObjectIdentifier(channel)
        if let known = peers.withLock({ $0[key] }) { return known }
        guard let found = await lookup() else { return nil }
        let inserted = peers.withLock { $0.updateValue(found, forKey: key) == nil }
        if inserted {
            channel.closeFuture.whenComplete { [self] _ in forget(key) }
        }
        return found
    }

    private func forget(_ key: ObjectIdentifier) {
        _ = peers.withLock { $0.removeValue(forKey: key) }
    }
}
