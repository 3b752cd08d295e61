import ClavisCore

/// A failure of the age format, one kind per failure class of the spec.
public struct AgeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The failure class.
    public enum Kind: String, Sendable {
        /// No identity given opens any stanza (wrong key or wrong passphrase).
        case noMatchingIdentity = "no-matching-identity"
        /// The header is malformed (syntax, a stanza that breaks its type's rules).
        case header
        /// The header MAC does not verify: the header was altered, or the file key is wrong.
        case headerMAC = "header-mac"
        /// The payload is truncated, reordered, tampered with or has trailing data.
        case payload
        /// The ASCII armor is malformed.
        case armor
        /// A scrypt stanza asks for more work than allowed.
        case workFactor = "work-factor"
        /// A recipient or identity string is malformed.
        case invalidKey = "invalid-key"
        /// Recipients that must not be combined (scrypt with others).
        case invalidRecipients = "invalid-recipients"
        /// libgcrypt failed.
        case crypto
    }

    /// The failure class.
    public let kind: Kind
    /// What went wrong, never key material.
    public let message: String
    /// For a ``Kind/crypto`` failure, libgcrypt's error code (`gcry_error_t`: source and code,
    /// as `gcry_strerror` reads them); `nil` otherwise.
    public let libgcryptCode: UInt32?

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, libgcryptCode: UInt32? = nil) {
        self.kind = kind
        self.message = message
        self.libgcryptCode = libgcryptCode
    }

    /// One line naming the class.
    public var description: String {
        switch kind {
        case .noMatchingIdentity: "no identity matched: \(message)"
        case .header: "invalid age header: \(message)"
        case .headerMAC: "age header MAC mismatch: \(message)"
        case .payload: "age payload failure: \(message)"
        case .armor: "invalid age armor: \(message)"
        case .workFactor: "scrypt work factor refused: \(message)"
        case .invalidKey: "invalid age key: \(message)"
        case .invalidRecipients: "invalid recipients: \(message)"
        case .crypto: "crypto failure: \(message)"
        }
    }

    /// The same failure in the Clavis error family, naming `reference`, with this error as its
    /// ``ClavisError/cause`` (the one place an age failure becomes a Clavis error).
    public func clavisError(reference: String?) -> ClavisError {
        switch kind {
        case .noMatchingIdentity:
            ClavisError(.wrongKey, reference: reference, reason: description,
                        hint: "pass the identity file the store was encrypted to (--identity, CLAVIS_AGE_IDENTITY_FILE) or the right passphrase", cause: self)
        case .header, .headerMAC, .payload, .armor:
            ClavisError(.corrupted, reference: reference, reason: description,
                        hint: "the file is damaged or was altered; restore it from a backup (it was not modified)", cause: self)
        case .workFactor:
            ClavisError(.corrupted, reference: reference, reason: description, hint: "raise the cap with --max-work-factor only if you trust the file", cause: self)
        case .invalidKey, .invalidRecipients:
            ClavisError(.invalidValue, reference: reference, reason: description, cause: self)
        case .crypto:
            ClavisError(.serviceError, reference: reference, reason: description, cause: self)
        }
    }
}
