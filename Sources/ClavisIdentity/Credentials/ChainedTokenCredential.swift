import ClavisCore
import Foundation

/// Tries credentials in order. A credential that cannot be used here (not configured, no managed
/// identity endpoint) passes to the next; an authentication failure stops the chain — a wrong
/// secret is not silently replaced by another identity. When every credential falls through, the
/// error lists each with its reason.
public struct ChainedTokenCredential: TokenCredential {
    /// The credentials, in order.
    public let credentials: [any TokenCredential]

    /// Creates a chain.
    public init(_ credentials: [any TokenCredential]) { self.credentials = credentials }

    /// `chain of N credentials`.
    public var credentialDescription: String { "chain of \(credentials.count) credentials" }

    /// The first credential's token that works.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        var reasons: [String] = []
        for credential in credentials {
            do {
                return try await credential.getToken(context)
            } catch let error as ClavisError where error.code == .sourceUnavailable {
                reasons.append("\(credential.credentialDescription): \(error.reason)")
            }
        }
        throw ClavisError(.sourceUnavailable, reference: credentialDescription,
                          reason: "no credential could get a token — " + (reasons.isEmpty ? "the chain is empty" : reasons.joined(separator: "; ")),
                          hint: "configure one of them (see docs/credentials.md)")
    }
}
