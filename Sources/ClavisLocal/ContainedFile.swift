import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// Reads secret files that must stay inside one directory: the shared reader of `credential:`
/// and `dir:`.
///
/// A name may not be absolute, empty, or contain `.`/`..` components; the file's real path (all
/// symlinks resolved) must lie inside the directory's real path. Symlinks that stay inside are
/// fine — Kubernetes mounts secrets as `NAME -> ..data/NAME`, `..data -> ..2024_…/`.
enum ContainedFile {
    /// The largest secret file read, so a reference to `/dev/zero`-like files cannot exhaust memory.
    static let maximumSize = 1 << 20

    /// Reads `name` inside `directory`, without one trailing newline.
    static func read(_ name: String, in directory: String, reference: SecretReference) throws -> Secret {
        let path = try resolve(name, in: directory, reference: reference)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else {
            throw error(forErrno: errno, path: path, reference: reference)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw error(forErrno: errno, path: path, reference: reference) }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw ClavisError(.notFound, reference: reference.description, reason: "\(path) is not a regular file")
        }
        guard Int(status.st_size) <= maximumSize else {
            throw ClavisError(.invalidValue, reference: reference.description,
                              reason: "\(path) is \(status.st_size) bytes; secret files are limited to \(maximumSize) bytes")
        }
        let capacity = Int(status.st_size)
        let secret = try Secret(count: capacity) { buffer in
            var filled = 0
            while filled < capacity {
                let got = Glibc.read(descriptor, buffer.baseAddress.map { $0 + filled }, capacity - filled)
                if got < 0, errno == EINTR { continue }
                guard got > 0 else {
                    throw ClavisError(.corrupted, reference: reference.description,
                                      reason: "\(path) changed size while being read; try again")
                }
                filled += got
            }
        }
        return secret.trimmingOneTrailingNewline()
    }

    /// Lists the regular files (following in-directory symlinks) directly in `directory`, skipping
    /// dot-files such as Kubernetes' `..data`.
    static func list(_ directory: String, reference: SecretReference) throws -> [String] {
        guard let handle = opendir(directory) else { throw error(forErrno: errno, path: directory, reference: reference) }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard !name.hasPrefix("."), let path = try? resolve(name, in: directory, reference: reference) else { continue }
            var status = stat()
            if stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG { names.append(name) }
        }
        return names.sorted()
    }

    /// The real path of `name` inside `directory`, or an error if it is malformed or escapes.
    static func resolve(_ name: String, in directory: String, reference: SecretReference) throws -> String {
        let components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"),
              !components.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw ClavisError.invalidReference(
                reference.description, reason: "'\(name)' must be a relative name inside the directory, without '.', '..' or empty parts")
        }
        guard let root = realPath(directory) else {
            throw error(forErrno: errno, path: directory, reference: reference)
        }
        guard let target = realPath(root + "/" + name) else {
            throw error(forErrno: errno, path: root + "/" + name, reference: reference)
        }
        guard target.hasPrefix(root == "/" ? "/" : root + "/") else {
            throw ClavisError(.permissionDenied, reference: reference.description,
                              reason: "'\(name)' resolves to \(target), outside \(root)",
                              hint: "a symlink in the directory points out of it; secret files must stay inside")
        }
        return target
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func error(forErrno code: Int32, path: String, reference: SecretReference) -> ClavisError {
        switch code {
        case ENOENT, ENOTDIR:
            ClavisError(.notFound, reference: reference.description, reason: "\(path) does not exist")
        case EACCES, EPERM:
            ClavisError(.permissionDenied, reference: reference.description, reason: "cannot read \(path): permission denied",
                        hint: "run as the user the file belongs to, or fix its mode")
        default:
            ClavisError(.sourceUnavailable, reference: reference.description,
                        reason: "cannot read \(path): \(String(cString: strerror(code)))")
        }
    }
}
