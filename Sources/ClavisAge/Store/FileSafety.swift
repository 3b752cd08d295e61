import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// The checks ssh makes before trusting a key file, applied to stores and identity files, and the
/// advisory lock that serialises writers.
enum FileSafety {
    /// Refuses a file that another user owns or that group/others may read or write.
    static func checkPrivate(_ path: String, what: String, reference: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT {
                throw ClavisError(.notFound, reference: reference, reason: "\(what) \(path) does not exist",
                                  hint: what == "store" ? "create it with `clavis store init age:\(path) --recipient age1…`" : nil)
            }
            throw ClavisError(errno == EACCES ? .permissionDenied : .sourceUnavailable, reference: reference,
                              reason: "cannot open \(what) \(path): \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw ClavisError(.corrupted, reference: reference, reason: "\(what) \(path) is not a regular file")
        }
        guard status.st_uid == geteuid() else {
            throw ClavisError(.permissionDenied, reference: reference,
                              reason: "\(what) \(path) is owned by uid \(status.st_uid), not by you (uid \(geteuid()))",
                              hint: "run as its owner, or `chown $(id -u) \(path)` if it is yours")
        }
        let mode = status.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw ClavisError(.permissionDenied, reference: reference,
                              reason: "\(what) \(path) is accessible by group or others (mode \(String(mode, radix: 8)))",
                              hint: "fix it with `chmod 600 \(path)`")
        }
    }

    /// Holds an exclusive `flock` on a lock file next to `path` until released.
    final class Lock {
        private let descriptor: Int32

        /// Waits up to `timeout` for the lock.
        init(for path: String, reference: String, timeout: Duration = .seconds(10)) throws {
            let directory = AtomicFile.directory(of: path)
            let base = path.split(separator: "/").last.map(String.init) ?? "store"
            let lockPath = "\(directory)/.\(base).lock"
            descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw ClavisError(errno == EACCES ? .permissionDenied : .sourceUnavailable, reference: reference,
                                  reason: "cannot open the lock file \(lockPath): \(String(cString: strerror(errno)))")
            }
            let deadline = ContinuousClock.now + timeout
            while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                    close(descriptor)
                    throw ClavisError(.timedOut, reference: reference, reason: "another process has held the store's lock for over \(timeout)",
                                      hint: "is another clavis stuck? the lock is \(lockPath)")
                }
                usleep(5_000)
            }
        }

        deinit {
            flock(descriptor, LOCK_UN)
            close(descriptor)
        }
    }
}
