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
