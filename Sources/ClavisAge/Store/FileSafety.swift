import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// The advisory lock that serialises a store's writers. (The checks ssh makes before trusting a
/// key file are ``SecretFile``'s, in the core.)
enum FileSafety {
    /// Holds an exclusive `flock` on a lock file next to `path` until released.
    final class Lock {
        private let descriptor: Int32

        /// Waits up to `timeout` for the lock.
        init(for path: String, reference: String, timeout: Duration = .seconds(10)) throws {
            let directory = AtomicFile.directory(of: path)
            let base = path.split(separator: "/").last.map(String.init) ?? "store"
            let lockPath = "\(directory)/.\(base).lock"
            // Never through a link: a link planted as the lock file would make us create or
            // truncate nothing, but could make us lock (and so wait on) a file of the attacker's.
            descriptor = open(lockPath, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                let code = errno
                throw ClavisError(code == EACCES ? .permissionDenied : code == ELOOP ? .permissionDenied : .sourceUnavailable, reference: reference,
                                  reason: code == ELOOP ? "the lock file \(lockPath) is a symbolic link; refusing to follow it"
                                                        : "cannot open the lock file \(lockPath): \(String(cString: strerror(code)))",
                                  hint: code == ELOOP ? "remove \(lockPath); clavis creates it as a plain file" : nil)
            }
            var status = stat()
            guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG, status.st_uid == geteuid() else {
                close(descriptor)
                throw ClavisError(.permissionDenied, reference: reference,
                                  reason: "the lock file \(lockPath) is not a regular file of yours",
                                  hint: "remove \(lockPath); clavis creates it as a plain file")
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
