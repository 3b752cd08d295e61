/// The one error family of Clavis.
///
/// A `ClavisError` carries a ``Code`` to branch on, the reference it concerns (never the value),
/// a reason saying what happened, and a hint saying what to do next. `description` is one line
/// fit for a terminal or a log; ``shortDescription`` is a fixed string per code, safe as a metric
/// label.
///
/// ```swift
/// do {
///     let secret = try await resolver.secret(for: "env:APP_SECRET")
/// } catch ClavisError.notFound {
///     // fall back
/// }
/// ```
///
/// Providers add codes of their own in an extension of ``Code``.
public struct ClavisError: Error, Sendable {
    /// What kind of failure this is. Open for providers: `extension ClavisError.Code { static let … }`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A stable identifier, e.g. `not-found`. Safe to log and to use as a metric label.
        public let rawValue: String
        /// The broader code this one refines, if any: `incident-not-found` refines `not-found`, so
        /// `catch ClavisError.notFound` still matches it and a ``SecretChain`` treats it as not found,
        /// while the message names the real cause.
        public let refines: String?
        /// Creates a code; providers define theirs as static members, refining a core code where
        /// one fits (then matching and the chain's fall-through follow the core code).
        public init(_ rawValue: String, refines broader: Code? = nil) {
            self.rawValue = rawValue
            refines = broader?.rawValue
        }
        /// The raw value.
        public var description: String { rawValue }

        /// Whether this is `other` or refines it.
        public func `is`(_ other: Code) -> Bool { rawValue == other.rawValue || refines == other.rawValue }

        /// Codes are equal when their raw values are.
        public static func == (lhs: Code, rhs: Code) -> Bool { lhs.rawValue == rhs.rawValue }
        /// Hashes the raw value.
        public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

        /// The source has no secret under that name ("not mine, try the next" in a chain).
        public static let notFound = Code("not-found")
        /// The source cannot be used on this machine now (no D-Bus, variable unset, vault unreachable).
        public static let sourceUnavailable = Code("source-unavailable")
        /// The store is locked and must be unlocked first.
        public static let locked = Code("locked")
        /// The operating system or the service refused access.
        public static let permissionDenied = Code("permission-denied")
        /// The stored data is damaged or not in the expected format.
        public static let corrupted = Code("corrupted")
        /// The key, identity or passphrase given does not open the store.
        public static let wrongKey = Code("wrong-key")
        /// The reference string is malformed or does not fit its scheme.
        public static let invalidReference = Code("invalid-reference")
        /// No source is registered for the reference's scheme.
        public static let unknownScheme = Code("unknown-scheme")
        /// The source cannot write, delete or list.
        public static let readOnly = Code("read-only")
        /// The value cannot be stored (too large, NUL byte where not allowed…).
        public static let invalidValue = Code("invalid-value")
        /// The operation did not finish in time.
        public static let timedOut = Code("timed-out")
        /// The remote service refused or failed the request in a way not covered above.
        public static let serviceError = Code("service-error")

        /// Matches an error against a code or a code refining it: `catch ClavisError.notFound { … }`.
        public static func ~= (pattern: Code, error: any Error) -> Bool {
            (error as? ClavisError)?.code.is(pattern) ?? false
        }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The reference the failure concerns, as text (never a secret value).
    public let reference: String?
    /// What happened, in a few words. Never contains a secret value.
    public let reason: String
    /// What to do about it, if there is something to say.
    public let hint: String?

    /// The error behind this one, when it says more: the Entra ID reply (with its AADSTS codes and
    /// support ids), a libgcrypt failure, an HTTP reply. Never holds a secret value.
    public let cause: (any Error)?

    /// Creates an error. `reason` and `hint` must never contain secret values.
    public init(_ code: Code, reference: String? = nil, reason: String, hint: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.reference = reference
        self.reason = reason
        self.hint = hint
        self.cause = cause
    }

    /// A fixed, value-free summary of the code, e.g. `secret not found`.
    public var shortDescription: String {
        switch code {
        case .notFound: "secret not found"
        case .sourceUnavailable: "secret source unavailable"
        case .locked: "secret store locked"
        case .permissionDenied: "permission denied"
        case .corrupted: "secret store corrupted"
        case .wrongKey: "wrong key or passphrase"
        case .invalidReference: "invalid secret reference"
        case .unknownScheme: "unknown secret scheme"
        case .readOnly: "secret source is read-only"
        case .invalidValue: "invalid secret value"
        case .timedOut: "timed out"
        case .serviceError: "service error"
        default: String(code.rawValue.map { $0 == "-" ? " " : $0 })
        }
    }

    /// The first error of type `T` down the chain of causes (this error's ``cause``, that one's if
    /// it is a ``ClavisError``, and so on), so wrapping a Clavis error never hides the service's.
    public func underlyingCause<T: Error>(_ type: T.Type) -> T? {
        var next = cause
        while let error = next {
            if let match = error as? T { return match }
            next = (error as? ClavisError)?.cause
        }
        return nil
    }

    /// The same error with a different hint.
    public func withHint(_ hint: String?) -> ClavisError {
        ClavisError(code, reference: reference, reason: reason, hint: hint, cause: cause)
    }

}

extension ClavisError {
    /// `catch ClavisError.notFound` — matches any ``ClavisError`` whose code is ``Code/notFound``.
    public static let notFound = Code.notFound
    /// Matches ``Code/sourceUnavailable``.
    public static let sourceUnavailable = Code.sourceUnavailable
    /// Matches ``Code/locked``.
    public static let locked = Code.locked
    /// Matches ``Code/permissionDenied``.
    public static let permissionDenied = Code.permissionDenied
    /// Matches ``Code/corrupted``.
    public static let corrupted = Code.corrupted
    /// Matches ``Code/wrongKey``.
    public static let wrongKey = Code.wrongKey
    /// Matches ``Code/invalidReference``.
    public static let invalidReference = Code.invalidReference
    /// Matches ``Code/unknownScheme``.
    public static let unknownScheme = Code.unknownScheme
    /// Matches ``Code/readOnly``.
    public static let readOnly = Code.readOnly
    /// Matches ``Code/timedOut``.
    public static let timedOut = Code.timedOut

    /// A malformed reference.
    public static func invalidReference(_ reference: String, reason: String, hint: String? = nil) -> ClavisError {
        ClavisError(.invalidReference, reference: reference, reason: reason,
                    hint: hint ?? "see docs/references.md for the syntax of each scheme")
    }

    /// Whether a chain should try its next member after this error: the secret is simply not in
    /// this source, or this source cannot be used here. Every other failure stops the chain,
    /// because skipping a damaged or locked store would silently serve a different secret.
    public var isFallThrough: Bool {
        code.is(.notFound) || code.is(.sourceUnavailable)
    }
}

extension ClavisError: CustomStringConvertible {
    /// One line: `SHORT: REFERENCE: REASON (HINT)`.
    public var description: String {
        var text = shortDescription
        if let reference { text += ": \(reference)" }
        text += ": \(reason)"
        if let hint { text += " (\(hint))" }
        return text
    }
}

extension ClavisError: Equatable {
    /// Two errors are equal when every field is.
    public static func == (lhs: ClavisError, rhs: ClavisError) -> Bool {
        lhs.code == rhs.code && lhs.reference == rhs.reference && lhs.reason == rhs.reason && lhs.hint == rhs.hint
    }
}
