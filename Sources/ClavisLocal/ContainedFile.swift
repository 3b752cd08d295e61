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

    /// Reads `name` inside `directory`, without one trailing newline: opened once through
    /// ``SecretFile`` (no link followed at the last step, no FIFO or device, size-capped, empty
    /// refused), and checked to lie inside the directory on the open descriptor, so a link swapped
    /// in after the name was resolved cannot lead out.
    static func read(_ name: String, in directory: String, reference: SecretReference) throws -> Secret {
        let (root, path) = try resolvePair(name, in: directory, reference: reference)
        let options = SecretFile.Options(what: "secret file", maximumSize: maximumSize, containedIn: root)
        let secret = try SecretFile.read(path, reference: reference.description, options: options).trimmingOneTrailingNewline()
        guard !secret.isEmpty else {
            throw ClavisError(.notFound, reference: reference.description, reason: "secret file \(path) holds only a newline",
                              hint: "an empty secret is always a mistake: write the value into the file")
        }
        return secret
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
        try resolvePair(name, in: directory, reference: reference).path
    }

    /// The directory's real path and the real path of `name` inside it.
    static func resolvePair(_ name: String, in directory: String, reference: SecretReference) throws -> (root: String, path: String) {
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
        return (root, target)
    }

    private static func realPath(_ path: String) -> String? { SecretFile.realPath(path) }

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
