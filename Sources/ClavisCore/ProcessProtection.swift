#if canImport(Glibc)
import Glibc
#endif

/// Keeps the secrets this process holds out of core dumps and away from same-user debuggers.
///
/// `prctl(PR_SET_DUMPABLE, 0)` turns off core dumps and `ptrace` attachment by other processes of
/// the same user (root excepted); `execve` restores the flag, so a program `clavis run` starts is
/// unaffected. `prctl` is variadic in C, so it is called through its address. Both `clavis`
/// executables call ``makeNonDumpable()`` before they read any secret.
public enum ProcessProtection {
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private static let setDumpable: Int32 = 4   // PR_SET_DUMPABLE
    private static let getDumpable: Int32 = 3   // PR_GET_DUMPABLE

    private static var prctl: Prctl? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl").map { unsafeBitCast($0, to: Prctl.self) }
    }

    /// Makes this process non-dumpable; returns whether it worked.
    @discardableResult
    public static func makeNonDumpable() -> Bool {
        prctl?(setDumpable, 0, 0, 0, 0) == 0
    }

    /// Opens `/dev/null` on whichever of stdin, stdout and stderr the caller left closed, as
    /// glibc does for set-user-ID programs. Otherwise the next file opened would get that number,
    /// and a value meant for stdout would be written into it (seen: an eventfd of the runtime's,
    /// failing the write with EINVAL). Call it first in `main`. A value printed to a stdout the
    /// caller closed is then discarded, as with `>/dev/null`.
    public static func ensureStandardDescriptors() {
        for descriptor in Int32(0)...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY)
            if opened >= 0, opened != descriptor {
                dup2(opened, descriptor)
                close(opened)
            }
        }
    }

    /// Whether this process is dumpable now (`nil` if it cannot be told).
    public static var isDumpable: Bool? {
        guard let value = prctl?(getDumpable, 0, 0, 0, 0), value >= 0 else { return nil }
        return value != 0
    }
}
