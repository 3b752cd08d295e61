#if canImport(Glibc)
import Glibc
#endif

/// What Clavis's executables share about one another and about their standard streams: where a
/// sibling executable is found, and writing a whole buffer to a descriptor. Foundation-free, so
/// the launcher (`clavis`) and the whole tool (`clavis-cli`) use the same code. Package-internal:
/// it describes this package's own executables, not an API for programs that use Clavis.
package enum ClavisExecutables {
    /// The path of the executable `name`, or `nil`. Looked for, in order:
    /// - next to this executable (a build directory, or `/usr/local/bin` of the clone route);
    /// - in the package's other directory: `PREFIX/libexec/clavis/` from `PREFIX/bin` (where the
    ///   package installs `clavis-cli`, as git keeps `git-*` in its exec path), or `PREFIX/bin/`
    ///   from `PREFIX/libexec/clavis` (where `clavis-emulator` and `clavis-broker` are) — only
    ///   when `PREFIX` and that directory are owned by root or this user and writable by their
    ///   owner alone (so `/tmp/bin/clavis` never runs a `/tmp/libexec/clavis/clavis-cli` another
    ///   user made);
    /// - on the absolute entries of `PATH` (a relative one, `.` or `bin`, would run whatever the
    ///   current directory holds).
    package static func locate(_ name: String) -> String? {
        if let directory = ownDirectory() {
            var candidates = ["\(directory)/\(name)"]
            if let other = packageDirectory(from: directory) { candidates.append("\(other)/\(name)") }
            for candidate in candidates where access(candidate, X_OK) == 0 { return candidate }
        }
        guard let path = getenv("PATH") else { return nil }
        for entry in String(cString: path).split(separator: ":") where entry.hasPrefix("/") {
            let candidate = "\(entry)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// `PREFIX/libexec/clavis` for `PREFIX/bin` and `PREFIX/bin` for `PREFIX/libexec/clavis`, when
    /// `PREFIX` and the result are trusted (``isTrusted(_:)``); else `nil`.
    package static func packageDirectory(from directory: String) -> String? {
        let other: (prefix: Substring, path: String)
        if directory.hasSuffix("/libexec/clavis") {
            let prefix = directory.dropLast("/libexec/clavis".count)
            other = (prefix, "\(prefix)/bin")
        } else if directory.hasSuffix("/bin") {
            let prefix = directory.dropLast("/bin".count)
            other = (prefix, "\(prefix)/libexec/clavis")
        } else {
            return nil
        }
        guard isTrusted(other.prefix.isEmpty ? "/" : String(other.prefix)), isTrusted(other.path) else { return nil }
        return other.path
    }

    /// Whether `directory` is owned by root or this user and writable by no one else.
    static func isTrusted(_ directory: String) -> Bool {
        var status = stat()
        guard stat(directory, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else { return false }
        return (status.st_uid == 0 || status.st_uid == geteuid()) && status.st_mode & (S_IWGRP | S_IWOTH) == 0
    }

    /// The one-line reason `name` could not be run, with how to get it (both executables exit 69
    /// after it).
    package static func notFound(_ name: String) -> String {
        "\(name) was not found next to this executable (\(ownDirectory() ?? "?")), in the package's directories or on PATH; "
            + "build it with `swift build --product \(name)`, or install the clavis package, which ships it"
    }

    /// The directory of this executable (`/proc/self/exe`), or `nil` when it cannot be told
    /// exactly (no /proc, a path longer than PATH_MAX, or one that is not UTF-8).
    package static func ownDirectory() -> String? {
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
    package static func writeAll(_ buffer: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
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
