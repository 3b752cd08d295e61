import Foundation

/// A fresh private temporary directory (mode 0700), removed when released.
public final class TemporaryDirectory: Sendable {
    /// The absolute path.
    public let path: String

    /// Creates the directory.
    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("clavis-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` (creating parent directories), returning the file's path.
    @discardableResult
    public func write(_ name: String, _ text: String, mode: Int = 0o600) throws -> String {
        try write(name, Data(text.utf8), mode: mode)
    }

    /// Writes `data` to `name` (creating parent directories), returning the file's path.
    @discardableResult
    public func write(_ name: String, _ data: Data, mode: Int = 0o600) throws -> String {
        let url = URL(fileURLWithPath: path).appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        return url.path
    }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Puts the built executable `built` at `name` (creating parent directories) — a hard link,
    /// not a copy: a copy being written while another test forks cannot be exec'd ("text file
    /// busy"). Returns the new path.
    @discardableResult
    public func place(_ built: String, as name: String) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if link(built, target) != 0 { try FileManager.default.copyItem(atPath: built, toPath: target) }
        return target
    }
}
