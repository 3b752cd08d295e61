import Crypto
import Foundation

/// Finds hardcoded secrets in text: the engine behind `clavis scan` and `swift package scan-secrets`.
///
/// ```swift
/// let scanner = SecretScanner(allowlist: try Allowlist(contentsOf: ".clavis-scan-allow"))
/// let findings = try scanner.scan(root: ".")
/// print(Reporter.text(findings))
/// ```
public struct SecretScanner: Sendable {
    /// Suppressions.
    public var allowlist: Allowlist
    /// Findings below this confidence are dropped.
    public var minimumConfidence: Confidence
    /// Files larger than this are skipped.
    public var maximumFileSize = 4 << 20

    /// Creates a scanner.
    public init(allowlist: Allowlist = Allowlist(), minimumConfidence: Confidence = .low) {
        self.allowlist = allowlist
        self.minimumConfidence = minimumConfidence
    }

    /// The inline marker that suppresses findings on its line.
    public static let inlineAllow = "clavis:allow"
    static let allowMarker = Array(inlineAllow.utf8)
    static let identityWords = ["client_id", "clientid", "client-id", "appid", "app_id", "application id", "applicationid", "tenant"].map { Array($0.utf8) }
    static let detectors = Detector.all.map { ($0, $0.triggers.map { Array($0.utf8) }) }

    /// Splits on `\n` by bytes (splitting by Character walks grapheme clusters, many times slower).
    static func lines(of text: String) -> [Substring] {
        let utf8 = text.utf8
        var result: [Substring] = []
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            if utf8[index] == 0x0A {
                result.append(text[start..<index])
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        result.append(text[start..<utf8.endIndex])
        return result
    }

    static func lowercasedASCII<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
    }

    /// Scans one text, reporting paths as `path`.
    public func scan(text: String, path: String) -> [Finding] {
        let lines = Self.lines(of: text)
        let loweredBytes = Self.lowercasedASCII(text.utf8)
        var context = LineContext(mentionsAppIdentity: Self.identityWords.contains { AssignmentParser.find($0, in: loweredBytes, from: 0) != nil },
                                  isYAML: path.hasSuffix(".yaml") || path.hasSuffix(".yml"))
        var findings: [Finding] = []
        for (number, rawLine) in lines.enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let lowerLine = Self.lowercasedASCII(line.utf8)
            if AssignmentParser.find(Self.allowMarker, in: lowerLine, from: 0) != nil { continue }
            var claimed: [Range<String.Index>] = []
            context.lowercased = lowerLine
            // A line that fetches its secret from a store holds no literal secret; only a
            // high-confidence format (a token's own shape) is still reported there.
            var fetches: Bool?
            for (detector, triggers) in Self.detectors where detector.confidence >= minimumConfidence {
                guard triggers.contains(where: { AssignmentParser.find($0, in: lowerLine, from: 0) != nil }) else { continue }
                if detector.confidence != .high {
                    let fetching = fetches ?? Suppressions.fetches(lowerLine)
                    fetches = fetching
                    if fetching { continue }
                }
                for range in detector.match(line, context) {
                    // One finding per secret: a stronger detector already claimed this text.
                    if claimed.contains(where: { $0.overlaps(range) }) { continue }
                    claimed.append(range)
                    let secret = line[range]
                    let fingerprint = Self.fingerprint(detector: detector.name, secret: secret)
                    guard !allowlist.allows(path: path, fingerprint: fingerprint) else { continue }
                    findings.append(Finding(detector: detector.name, confidence: detector.confidence, path: path, line: number + 1,
                                            column: line.distance(from: line.startIndex, to: range.lowerBound) + 1,
                                            excerpt: Self.redact(line, range), fingerprint: fingerprint))
                }
            }
        }
        return findings
    }

    /// Scans the files under `root` (a file or a directory), honouring `.gitignore` inside a git
    /// work tree, skipping `.build/`, `.git/`, binary and oversized files. Paths are reported
    /// relative to `base` (the current directory) when the file lies under it, else as found —
    /// the same whatever folder was named, so an allowlist written for one report matches the
    /// next. Allowlist paths match that reported path, or the path relative to `root`.
    public func scan(root: String, reportingRelativeTo base: String = FileManager.default.currentDirectoryPath) throws -> [Finding] {
        var findings: [Finding] = []
        for relative in try FileWalker.files(under: root) {
            let path = root.hasSuffix("/") ? root + relative : (relative.isEmpty ? root : root + "/" + relative)
            let reported = Self.displayPath(path, base: base)
            guard !allowlist.allows(path: reported, fingerprint: nil), relative.isEmpty || !allowlist.allows(path: relative, fingerprint: nil),
                  !allowlist.allows(absolutePath: Allowlist.absolute(path)),
                  let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  (attributes[.size] as? Int ?? 0) <= maximumFileSize,
                  let data = FileManager.default.contents(atPath: path), !data.prefix(8192).contains(0) else { continue }
            findings += scan(text: String(decoding: data, as: UTF8.self), path: reported)
        }
        return findings
    }

    /// `path` relative to `base` when it lies under it (`./` dropped), else unchanged.
    static func displayPath(_ path: String, base: String) -> String {
        var path = path
        while path.hasPrefix("./") { path.removeFirst(2) }
        guard path.hasPrefix("/") else { return path }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }

    static func fingerprint(detector: String, secret: Substring) -> String {
        let digest = SHA256.hash(data: Data((detector + "\u{0}" + secret).utf8))
        return digest.prefix(16).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The line with the secret shown as its first 4 characters, an ellipsis and its length.
    static func redact(_ line: Substring, _ range: Range<String.Index>) -> String {
        let secret = line[range]
        let shown = secret.count > 12 ? String(secret.prefix(4)) : ""
        var excerpt = String(line[..<range.lowerBound]) + "\(shown)…[\(secret.count) chars redacted]" + String(line[range.upperBound...])
        excerpt = excerpt.trimmingCharacters(in: .whitespaces)
        return excerpt.count > 200 ? String(excerpt.prefix(200)) + "…" : excerpt
    }
}

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

/// A usage or I/O problem of the scanner (exit status 2).
public struct ScanError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}

enum Glob {
    /// `*` matches within a path segment, `**` across segments, `?` one character.
    static func matches(_ pattern: String, _ path: String) -> Bool {
        matches(Array(pattern.utf8)[...], Array(path.utf8)[...])
    }

    private static func matches(_ pattern: ArraySlice<UInt8>, _ path: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return path.isEmpty }
        if first == UInt8(ascii: "*") {
            let rest = pattern.dropFirst()
            if rest.first == UInt8(ascii: "*") {
                var after = rest.dropFirst()
                if after.first == UInt8(ascii: "/") { after = after.dropFirst() }
                for start in path.indices + [path.endIndex] where matches(after, path[start...]) { return true }
                return false
            }
            var index = path.startIndex
            while true {
                if matches(rest, path[index...]) { return true }
                guard index < path.endIndex, path[index] != UInt8(ascii: "/") else { return false }
                index += 1
            }
        }
        guard let character = path.first else { return false }
        if first == UInt8(ascii: "?") ? character != UInt8(ascii: "/") : first == character {
            return matches(pattern.dropFirst(), path.dropFirst())
        }
        return false
    }
}

enum FileWalker {
    static let skippedDirectories: Set<String> = [".build", ".git", ".swiftpm", "node_modules"]

    static func files(under root: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw ScanError(message: "\(root) does not exist")
        }
        guard isDirectory.boolValue else { return [""] }
        if let tracked = gitFiles(root) { return tracked.filter { !$0.split(separator: "/").contains { skippedDirectories.contains(String($0)) } } }
        var result: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if skippedDirectories.contains(name) { enumerator?.skipDescendants(); continue }
            var directory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + relative, isDirectory: &directory), !directory.boolValue {
                result.append(relative)
            }
        }
        return result.sorted()
    }

    /// Tracked and untracked-but-not-ignored files, when `root` is inside a git work tree.
    static func gitFiles(_ root: String) -> [String]? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            .filter { FileManager.default.fileExists(atPath: root + "/" + $0) }.sorted()
    }
}
