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

    /// Whether this process is dumpable now (`nil` if it cannot be told).
    public static var isDumpable: Bool? {
        guard let value = prctl?(getDumpable, 0, 0, 0, 0), value >= 0 else { return nil }
        return value != 0
    }
}
