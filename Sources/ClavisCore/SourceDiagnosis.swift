/// One finding of `clavis doctor`: whether a source is usable on this machine, and why not.
public struct SourceDiagnosis: Sendable, Hashable, Codable {
    /// How usable the source is.
    public enum Status: String, Sendable, Hashable, Codable {
        /// Ready to use.
        case ok
        /// Usable, with a caveat (e.g. a locked collection that needs unlocking first).
        case warning
        /// Cannot be used here now.
        case unavailable
    }

    /// The scheme concerned, e.g. `keyring`.
    public var scheme: String
    /// What was checked, e.g. `D-Bus session bus`.
    public var check: String
    /// The outcome.
    public var status: Status
    /// What was found, in a few words.
    public var detail: String
    /// What to do about it, if anything.
    public var hint: String?

    /// Creates a finding.
    public init(scheme: String, check: String, status: Status, detail: String, hint: String? = nil) {
        self.scheme = scheme
        self.check = check
        self.status = status
        self.detail = detail
        self.hint = hint
    }
}

extension SecretSource {
    /// By default a source reports nothing to check.
    public func diagnose() async -> [SourceDiagnosis] { [] }
}
