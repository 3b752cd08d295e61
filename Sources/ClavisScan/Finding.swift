/// How sure a detector is that a match is a real secret.
public enum Confidence: String, Sendable, Codable, Comparable, CaseIterable {
    /// A shape only a secret has (a PEM private key, an age identity, Microsoft's secret format).
    case high
    /// A literal assigned to a secret-like name.
    case medium
    /// A high-entropy literal in secret-like context.
    case low

    private var rank: Int { switch self { case .high: 2; case .medium: 1; case .low: 0 } }
    /// Orders by rank: `low < medium < high`.
    public static func < (lhs: Confidence, rhs: Confidence) -> Bool { lhs.rank < rhs.rank }
}

/// One suspected secret in a file. Holds a redacted excerpt and a fingerprint, never the secret.
public struct Finding: Sendable, Codable, Hashable {
    /// The detector's name, e.g. `entra-client-secret`.
    public var detector: String
    /// How sure the detector is.
    public var confidence: Confidence
    /// The path, relative to the current directory when the file lies under it (else as found).
    public var path: String
    /// 1-based line.
    public var line: Int
    /// 1-based column (in characters) where the secret starts.
    public var column: Int
    /// The line with the secret replaced by its first characters and a length.
    public var excerpt: String
    /// A stable SHA-256-based fingerprint of detector and secret, for allowlists.
    public var fingerprint: String
}

/// A detector's raw match on one line: the secret's range in the line.
struct Match {
    var detector: String
    var confidence: Confidence
    var range: Range<String.Index>
}
