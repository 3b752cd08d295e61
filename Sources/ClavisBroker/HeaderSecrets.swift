import ClavisCore
import ClavisIdentity
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `X-IDENTITY-HEADER` values: one random value per identity and allowed user, each written
/// to a file only that user can read (0600 in a 0700 directory they own), kept across restarts so
/// programs already started with `IDENTITY_HEADER` keep working.
///
/// App Service compares the header with the `IDENTITY_HEADER` it gave the app (see
/// azure-identity's `app_service.py` and MSAL Python's `_obtain_token_on_app_service`, which send
/// it as `X-IDENTITY-HEADER`); here the value also tells which identity and which user it was
/// given to, and the broker checks that the connecting uid is that user.
public final class HeaderSecrets: Sendable {
    /// What a header value was issued for.
    public struct Grant: Sendable, Hashable {
        /// The identity's name.
        public var identity: String
        /// The user it was given to.
        public var uid: uid_t
    }

    /// SHA-256 of each value (hex) → its grant: lookups never compare secret bytes directly.
    private let grants: [String: Grant]
    /// Each user's directory, by uid.
    public let directories: [uid_t: String]

    /// Creates (or reuses) the header file of every identity for every allowed user, and writes
    /// each user's `endpoint` and `socket` files.
    public init(identities: [(name: String, uids: [uid_t])], userDirectory: (uid_t) -> String, endpoint: String, socket: String) throws {
        var grants: [String: Grant] = [:]
        var directories: [uid_t: String] = [:]
        let runningAsRoot = geteuid() == 0
        for (name, uids) in identities {
            for uid in uids {
                if !runningAsRoot && uid != geteuid() {
                    throw ClavisError(.permissionDenied, reference: "identity \(name)",
                                      reason: "a broker not running as root can serve only its own user (uid \(geteuid())), not uid \(uid)")
                }
                let directory = userDirectory(uid)
                try Self.prepareDirectory(directory, uid: uid)
                directories[uid] = directory
                let value = try Self.loadOrCreate("\(directory)/\(BrokerPaths.headerFileName(name))", uid: uid)
                grants[Self.digest(value)] = Grant(identity: name, uid: uid)
            }
        }
        for (uid, directory) in directories {
            try Self.writeFile("\(directory)/\(BrokerPaths.endpointFileName)", contents: endpoint + "\n", uid: uid)
            try Self.writeFile("\(directory)/\(BrokerPaths.socketFileName)", contents: socket + "\n", uid: uid)
        }
        self.grants = grants
        self.directories = directories
    }

    /// The grant a header value was issued for, if any.
    public func grant(for header: String) -> Grant? { grants[Self.digest(header)] }

    static func digest(_ value: String) -> String {
        SHA256.hash(data: Data(value.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Creates `path` (0700, owned by `uid`) and its parents (0755, as they are) if missing;
    /// refuses one owned by someone else or open to others.
    static func prepareDirectory(_ path: String, uid: uid_t) throws {
        var info = stat()
        if lstat(path, &info) != 0 {
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
                throw ClavisError(.permissionDenied, reference: path, reason: "cannot create the user's broker directory: \(String(cString: strerror(errno)))")
            }
            if geteuid() == 0, chown(path, uid, gid(of: uid)) != 0 {
                throw ClavisError(.permissionDenied, reference: path, reason: "cannot give the directory to uid \(uid): \(String(cString: strerror(errno)))")
            }
            guard lstat(path, &info) == 0 else { throw ClavisError(.notFound, reference: path, reason: "the directory vanished") }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw ClavisError(.invalidValue, reference: path, reason: "is not a directory (a symbolic link is refused)")
        }
        guard info.st_uid == uid else {
            throw ClavisError(.permissionDenied, reference: path, reason: "belongs to uid \(info.st_uid), not to uid \(uid) it is for")
        }
        if info.st_mode & 0o077 != 0 { chmod(path, 0o700) }
    }

    /// The value in `path` if it is a private regular file of `uid` holding a well-formed value;
    /// else a new random value written there.
    static func loadOrCreate(_ path: String, uid: uid_t) throws -> String {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if descriptor >= 0 {
            defer { close(descriptor) }
            var info = stat()
            if fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == uid, info.st_mode & 0o077 == 0, info.st_size <= 256 {
                var buffer = [UInt8](repeating: 0, count: 256)
                let count = read(descriptor, &buffer, buffer.count)
                let text = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
                if text.count == 64, text.allSatisfy(\.isHexDigit) { return text }
            }
        }
        let value = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }.map { String(format: "%02x", $0) }.joined()
        try writeFile(path, contents: value + "\n", uid: uid)
        return value
    }

    /// Writes `contents` to `path` atomically, 0600, owned by `uid`.
    static func writeFile(_ path: String, contents: String, uid: uid_t) throws {
        let temporary = "\(path).\(getpid()).tmp"
        unlink(temporary)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ClavisError(.permissionDenied, reference: path, reason: "cannot write: \(String(cString: strerror(errno)))")
        }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if geteuid() == 0 { fchown(descriptor, uid, gid(of: uid)) }
        fsync(descriptor)
        close(descriptor)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw ClavisError(.permissionDenied, reference: path, reason: "cannot write: \(String(cString: strerror(errno)))")
        }
    }

    /// The primary group of `uid` (its uid when it has no passwd entry).
    static func gid(of uid: uid_t) -> gid_t {
        guard let entry = getpwuid(uid) else { return gid_t(uid) }
        return entry.pointee.pw_gid
    }
}
