import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// A file replaced all at once: written to a temporary file in the same directory, `fsync`ed,
/// renamed over the target, and the directory `fsync`ed. A crash at any point leaves either the
/// old file or the new one, never a mix.
///
/// ```swift
/// let file = try AtomicFile(path: "/etc/clavis/store.age", mode: 0o600)
/// try file.write(bytes)
/// try file.commit()        // or let it go: the temporary file is removed
/// ```
public final class AtomicFile {
    /// The target path.
    public let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var committed = false

    /// Creates the temporary file (mode `mode`, exclusive) next to `path`.
    public init(path: String, mode: mode_t = 0o600) throws {
        self.path = path
        let directory = AtomicFile.directory(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? "file"
        var template = Array("\(directory)/.\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else {
            throw ClavisError(errno == EACCES ? .permissionDenied : .sourceUnavailable, reference: path,
                              reason: "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        fchmod(fd, mode)
        descriptor = fd
        temporaryPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !committed { unlink(temporaryPath) }
    }

    /// Appends bytes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let wrote = Glibc.write(descriptor, base + offset, bytes.count - offset)
            if wrote < 0, errno == EINTR { continue }
            guard wrote > 0 else {
                throw ClavisError(.sourceUnavailable, reference: path, reason: "cannot write \(temporaryPath): \(String(cString: strerror(errno)))")
            }
            offset += wrote
        }
    }

    /// Appends bytes.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Flushes, renames over the target and flushes the directory. With `replacing: false` the
    /// target is created only if nothing exists at its path at that instant (a hard link, which
    /// fails on an existing name, then the temporary name is removed): no file created at the same
    /// moment by someone else is ever overwritten.
    public func commit(replacing: Bool = true) throws {
        guard fsync(descriptor) == 0 else {
            throw ClavisError(.sourceUnavailable, reference: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
        }
        close(descriptor)
        descriptor = -1
        if replacing {
            guard rename(temporaryPath, path) == 0 else {
                throw ClavisError(.sourceUnavailable, reference: path, reason: "cannot replace \(path): \(String(cString: strerror(errno)))")
            }
        } else {
            guard link(temporaryPath, path) == 0 else {
                let code = errno
                unlink(temporaryPath)
                committed = true    // nothing left to clean up
                throw ClavisError(code == EEXIST ? .invalidValue : .sourceUnavailable, reference: path,
                                  reason: code == EEXIST ? "\(path) already exists; not overwriting it"
                                                         : "cannot create \(path): \(String(cString: strerror(code)))")
            }
            unlink(temporaryPath)
        }
        committed = true
        let directoryDescriptor = open(AtomicFile.directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Writes `bytes` to `path` atomically (`replacing: false`: only if `path` does not exist).
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, replacing: Bool = true) throws {
        let file = try AtomicFile(path: path, mode: mode)
        try file.write(bytes)
        try file.commit(replacing: replacing)
    }

    /// The temporary files a writer killed mid-write left next to `path` (`.NAME.tmp-XXXXXX`).
    public static func temporaries(of path: String) -> [String] {
        let directory = directory(of: path)
        let prefix = ".\(path.split(separator: "/").last.map(String.init) ?? "file").tmp-"
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var found: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(prefix), name.utf8.count == prefix.utf8.count + 6 { found.append("\(directory)/\(name)") }
        }
        return found.sorted()
    }

    /// Removes the temporaries of `path` left by killed writers. Call it only while holding the
    /// writers' lock (no live writer has one then). Returns those that could not be removed.
    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> [String] {
        temporaries(of: path).filter { unlink($0) != 0 && errno != ENOENT }
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}
