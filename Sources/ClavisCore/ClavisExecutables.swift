#if canImport(Glibc)
import Glibc
#endif

/// What Clavis's executables share about one another and about their standard streams: where a
/// sibling executable is found, and writing a whole buffer to a descriptor. Foundation-free, so
/// the launcher (`clavis`) and the whole tool (`clavis-cli`) use the same code.
public enum ClavisExecutables {
    /// Where the package installs the whole command-line tool, relative to `/usr/bin`.
    public static let packageLibexec = "../libexec/clavis"

    /// The path of the executable `name`, or `nil`. Looked for, in order:
    /// - next to this executable (a build directory, or `/usr/local/bin` of the clone route);
    /// - in the package's other directory: `../libexec/clavis/` from `/usr/bin` (where `clavis-cli`
    ///   is installed, as git keeps `git-*` in its exec path), or `../../bin/` from
    ///   `/usr/libexec/clavis` (where `clavis-emulator` and `clavis-broker` are);
    /// - on the absolute entries of `PATH` (a relative one, `.` or `bin`, would run whatever the
    ///   current directory holds).
    public static func locate(_ name: String) -> String? {
        if let directory = ownDirectory() {
            let packageDirectory = directory.hasSuffix("/libexec/clavis") ? "../../bin" : packageLibexec
            for candidate in ["\(directory)/\(name)", "\(directory)/\(packageDirectory)/\(name)"] where access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        guard let path = getenv("PATH") else { return nil }
        for entry in String(cString: path).split(separator: ":") where entry.hasPrefix("/") {
            let candidate = "\(entry)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// The one-line reason `name` could not be run, with how to get it (both executables exit 69
    /// after it).
    public static func notFound(_ name: String) -> String {
        "\(name) was not found next to clavis (\(ownDirectory() ?? "?")), in the package's directories or on PATH; "
            + "build it with `swift build --product \(name)`, or install the clavis package, which ships it"
    }

    /// The directory of this executable (`/proc/self/exe`), or `nil` when it cannot be told
    /// exactly (no /proc, a path longer than PATH_MAX, or one that is not UTF-8).
    public static func ownDirectory() -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = buffer.withUnsafeMutableBufferPointer { raw in
            raw.baseAddress.map { readlink("/proc/self/exe", UnsafeMutableRawPointer($0).assumingMemoryBound(to: CChar.self), raw.count) } ?? -1
        }
        guard length > 0, length < buffer.count, let path = String(validating: buffer[..<length], as: UTF8.self),
              let slash = path.lastIndex(of: "/")
        else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Writes all of `buffer` to `descriptor`, retrying short writes and `EINTR`; the errno of a
    /// failed write (`EIO` for a write of nothing), else `nil`.
    public static func writeAll(_ buffer: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
        var offset = 0
        while offset < buffer.count, let base = buffer.baseAddress {
            let written = write(descriptor, base + offset, buffer.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if written == 0 { return EIO }
            offset += written
        }
        return nil
    }
}
