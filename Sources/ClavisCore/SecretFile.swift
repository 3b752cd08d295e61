#if canImport(Glibc)
import Glibc
#endif

/// The one way Clavis reads a file that holds a secret: `dir:` and `credential:` files, age stores,
/// identity and passphrase files, env files, certificates.
///
/// The file is opened once, with `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`, so a symlink swapped in
/// for the last component is refused and a FIFO cannot block; every check is then made on that
/// descriptor (`fstat`), never on the path again:
/// - only a regular file is read — a FIFO, device, socket or directory is refused at once;
/// - optionally it must be private (owned by this user, no group/other access: ssh's rule);
/// - optionally its real path must lie inside a directory (checked on the open descriptor through
///   `/proc/self/fd`, which also catches an intermediate directory swapped for a symlink);
/// - it is read with a size cap, and an empty file is refused unless asked for.
///
/// ```swift
/// let key = try SecretFile.read("/etc/clavis/key.txt", reference: "age:/etc/clavis/store.age",
///                               options: .init(what: "identity file", requirePrivate: true))
/// ```
public enum SecretFile {
    /// What a read checks.
    public struct Options: Sendable {
        /// What the file is, for errors: "secret file", "identity file", "store"…
        public var what: String
        /// The largest file read.
        public var maximumSize: Int
        /// Whether the file must be owned by this user and inaccessible to group and others.
        public var requirePrivate: Bool
        /// Whether an empty file is a value (else it is refused, like an empty variable).
        public var allowEmpty: Bool
        /// A real directory path the file's real path must lie inside.
        public var containedIn: String?
        /// Whether a link at the last step is followed (for files a user names that are commonly
        /// links, such as certificates under `/etc/letsencrypt/live`); off for secret files.
        public var followsLinks: Bool

        /// Creates options; by default a private-ness check is not made, 1 MiB is the cap and
        /// empty files are refused.
        public init(what: String = "secret file", maximumSize: Int = 1 << 20, requirePrivate: Bool = false,
                    allowEmpty: Bool = false, containedIn: String? = nil, followsLinks: Bool = false) {
            self.followsLinks = followsLinks
            self.what = what
            self.maximumSize = maximumSize
            self.requirePrivate = requirePrivate
            self.allowEmpty = allowEmpty
            self.containedIn = containedIn
        }
    }

    /// Reads the whole file at `path` into a secret. Errors name `reference` and the path, never
    /// anything read.
    public static func read(_ path: String, reference: String, options: Options = Options()) throws -> Secret {
        let descriptor = open(path, O_RDONLY | (options.followsLinks ? 0 : O_NOFOLLOW) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else { throw openError(errno, path: path, what: options.what, reference: reference) }
        defer { close(descriptor) }
        try check(descriptor, path: path, reference: reference, options: options)
        return try readAll(descriptor, path: path, reference: reference, options: options)
    }

    /// Runs every check of `options` on an open descriptor: type, containment, owner and mode.
    public static func check(_ descriptor: Int32, path: String, reference: String, options: Options) throws {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw ClavisError(.sourceUnavailable, reference: reference, reason: "cannot stat \(options.what) \(path): \(describe(errno))")
        }
        if let kind = nonRegularKind(status.st_mode) {
            throw ClavisError(.invalidValue, reference: reference, reason: "\(options.what) \(path) is \(kind), not a regular file",
                              hint: "point the reference at the file that holds the secret")
        }
        if let root = options.containedIn {
            let real = realPath(of: descriptor)
            guard let real, real.hasPrefix(root == "/" ? "/" : root + "/") else {
                throw ClavisError(.permissionDenied, reference: reference,
                                  reason: "\(options.what) \(path) lies outside \(root) once opened",
                                  hint: "a path inside the directory was replaced by a link out of it; secret files must stay inside")
            }
        }
        if options.requirePrivate {
            guard status.st_uid == geteuid() else {
                throw ClavisError(.permissionDenied, reference: reference,
                                  reason: "\(options.what) \(path) is owned by uid \(status.st_uid), not by you (uid \(geteuid()))",
                                  hint: "run as its owner, or `chown $(id -u) \(path)` if it is yours")
            }
            let mode = status.st_mode & 0o777
            guard mode & 0o077 == 0 else {
                throw ClavisError(.permissionDenied, reference: reference,
                                  reason: "\(options.what) \(path) is accessible by group or others (mode \(String(mode, radix: 8)))",
                                  hint: "fix it with `chmod 600 \(path)`")
            }
        }
        guard Int(status.st_size) <= options.maximumSize else {
            throw ClavisError(.invalidValue, reference: reference,
                              reason: "\(options.what) \(path) is \(status.st_size) bytes; the limit is \(options.maximumSize) bytes")
        }
    }

    /// Reads from a checked descriptor up to the cap (a file that grows past it is refused).
    static func readAll(_ descriptor: Int32, path: String, reference: String, options: Options) throws -> Secret {
        var capacity = 4096
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer { wipe(buffer); buffer.deallocate() }
        var filled = 0
        while true {
            if filled == capacity {
                guard capacity <= options.maximumSize else {
                    throw ClavisError(.invalidValue, reference: reference,
                                      reason: "\(options.what) \(path) holds more than \(options.maximumSize) bytes")
                }
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity * 2, alignment: 1)
                bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
                wipe(buffer)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
            guard let base = buffer.baseAddress else { break }
            let got = Glibc.read(descriptor, base + filled, capacity - filled)
            if got < 0 {
                if errno == EINTR { continue }
                throw ClavisError(.sourceUnavailable, reference: reference, reason: "cannot read \(options.what) \(path): \(describe(errno))")
            }
            if got == 0 { break }
            filled += got
        }
        guard filled <= options.maximumSize else {
            throw ClavisError(.invalidValue, reference: reference, reason: "\(options.what) \(path) holds more than \(options.maximumSize) bytes")
        }
        guard filled > 0 || options.allowEmpty else {
            throw ClavisError(.notFound, reference: reference, reason: "\(options.what) \(path) is empty",
                              hint: "an empty secret is always a mistake: write the value into the file")
        }
        return Secret(bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
    }

    /// The error for a failed `open`.
    static func openError(_ code: Int32, path: String, what: String, reference: String) -> ClavisError {
        switch code {
        case ENOENT, ENOTDIR:
            ClavisError(.notFound, reference: reference, reason: "\(what) \(path) does not exist")
        case ELOOP:
            ClavisError(.permissionDenied, reference: reference, reason: "\(what) \(path) is a symbolic link; secret files are never read through one",
                        hint: "name the file itself (`readlink -f \(path)` prints it)")
        case EACCES, EPERM:
            ClavisError(.permissionDenied, reference: reference, reason: "cannot read \(what) \(path): permission denied",
                        hint: "run as the user the file belongs to, or fix its mode")
        default:
            ClavisError(.sourceUnavailable, reference: reference, reason: "cannot open \(what) \(path): \(describe(code))")
        }
    }

    /// "a FIFO", "a directory"… for anything but a regular file.
    static func nonRegularKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG: nil
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFDIR: "a directory"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }

    /// The real path of an open descriptor, from `/proc/self/fd`.
    public static func realPath(of descriptor: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(descriptor)", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The real path of `path` (every link resolved), or `nil`.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        if let base = buffer.baseAddress { explicit_bzero(base, buffer.count) }
    }

    private static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
