import ClavisCore
import Foundation

extension ClavisError.Code {
    /// A credential is not configured here (its variables are unset) or cannot be used on this
    /// host (no managed identity endpoint answers): the only failure ``ChainedTokenCredential``
    /// passes over.
    public static let credentialUnavailable = ClavisError.Code("credential-unavailable")
}

extension ClavisError {
    /// Matches ``Code/credentialUnavailable``.
    public static let credentialUnavailable = Code.credentialUnavailable
}

/// Tries credentials in order.
///
/// The one rule: a credential that throws ``ClavisError/Code/credentialUnavailable`` (not
/// configured here, no managed identity endpoint) passes to the next; every other failure of a
/// configured credential — a wrong secret, a refusal, and a network error or timeout too — stops
/// the chain with that error. Otherwise an outage of the configured credential's authority would
/// silently hand the request to the next credential, e.g. the host's managed identity: a
/// different principal. When every credential is unavailable, the error
/// (``ClavisError/Code/sourceUnavailable``, so a secret chain moves on) lists each with its reason.
public struct ChainedTokenCredential: TokenCredential {
    /// The credentials, in order.
    public let credentials: [any TokenCredential]

    /// Creates a chain.
    public init(_ credentials: [any TokenCredential]) { self.credentials = credentials }

    /// `chain of N credentials`.
    public var credentialDescription: String { "chain of \(credentials.count) credentials" }

    /// Forgets `context`'s token in every credential of the chain.
    public func invalidate(_ context: TokenRequestContext) async {
        for credential in credentials { await credential.invalidate(context) }
    }

    /// The token of the first credential available here.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        var reasons: [String] = []
        for credential in credentials {
            do {
                return try await credential.getToken(context)
            } catch let error as ClavisError where error.code == .credentialUnavailable {
                reasons.append("\(credential.credentialDescription): \(error.reason)")
            }
        }
        throw ClavisError(.sourceUnavailable, reference: credentialDescription,
                          reason: "no credential could get a token — " + (reasons.isEmpty ? "the chain is empty" : reasons.joined(separator: "; ")),
                          hint: "configure one of them (see docs/credentials/README.md)")
    }
}
