import Foundation

/// Suppressions: path globs and fingerprints, from a file of lines such as
/// `path: Tests/Fixtures/**` and `fingerprint: 3f2a…` (`#` comments).
public struct Allowlist: Sendable {
    /// Glob patterns (`*` within a path segment, `**` across segments), matched against the
    /// reported path and the path relative to the scanned folder.
    public var pathGlobs: [String] = []
    /// Finding fingerprints.
    public var fingerprints: Set<String> = []
    /// The globs of each allowlist file, also matched against paths relative to the folder that
    /// holds the file — so the repository root's `.clavis-scan-allow` means the same whichever
    /// folder is scanned, from wherever.
    var anchored: [(directory: String, glob: String)] = []

    /// An empty allowlist.
    public init() {}

    /// Adds the rules of `other`.
    public mutating func merge(_ other: Allowlist) {
        pathGlobs += other.pathGlobs
        fingerprints.formUnion(other.fingerprints)
        anchored += other.anchored
    }

    /// Parses an allowlist file.
    public init(contentsOf path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ScanError(message: "cannot read the allowlist \(path)")
        }
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("path:") {
                let glob = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
                pathGlobs.append(glob)
                anchored.append((Self.absolute((path as NSString).deletingLastPathComponent), glob))
            } else if line.hasPrefix("fingerprint:") {
                fingerprints.insert(line.dropFirst(12).trimmingCharacters(in: .whitespaces).lowercased())
            } else {
                throw ScanError(message: "\(path):\(number + 1): expected 'path: GLOB' or 'fingerprint: HEX'")
            }
        }
    }

    func allows(path: String, fingerprint: String?) -> Bool {
        if let fingerprint, fingerprints.contains(fingerprint) { return true }
        return pathGlobs.contains { Glob.matches($0, path) }
    }

    /// Whether a glob of an allowlist file matches `absolutePath` relative to that file's folder.
    func allows(absolutePath: String) -> Bool {
        anchored.contains { rule in
            let prefix = rule.directory.hasSuffix("/") ? rule.directory : rule.directory + "/"
            return absolutePath.hasPrefix(prefix) && Glob.matches(rule.glob, String(absolutePath.dropFirst(prefix.count)))
        }
    }

    /// `path` made absolute against the current directory, `.` and `..` resolved (not links).
    static func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + (path.isEmpty ? "." : path)
        return (joined as NSString).standardizingPath
    }

    /// The `.clavis-scan-allow` files that apply to a scan of `root`: the one in `root` (a
    /// folder) and the one at the top of the git work tree holding it, if any.
    public static func files(applyingTo root: String) -> [String] {
        var found: [String] = []
        var isDirectory: ObjCBool = false
        var folder = absolute(root)
        if !(FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) && isDirectory.boolValue) {
            folder = (folder as NSString).deletingLastPathComponent
        }
        if FileManager.default.fileExists(atPath: folder + "/.clavis-scan-allow") { found.append(folder + "/.clavis-scan-allow") }
        var candidate = folder
        while true {
            if FileManager.default.fileExists(atPath: candidate + "/.git") {
                let file = (candidate == "/" ? "" : candidate) + "/.clavis-scan-allow"
                if !found.contains(file), FileManager.default.fileExists(atPath: file) { found.append(file) }
                break
            }
            guard candidate != "/" else { break }
            candidate = (candidate as NSString).deletingLastPathComponent
        }
        return found
    }
}
