import ArgumentParser
import Clavis
import Foundation

/// `--expiry-warning`: how early `clavis token`, `clavis doctor` and `clavis defender watch` warn
/// that the client secret in use expires (default 30d, or CLAVIS_SECRET_EXPIRY_WARNING).
struct ExpiryOptions: ParsableArguments {
    @Option(help: "Warn when the client secret (--secret) expires within this long, e.g. 30d (also CLAVIS_SECRET_EXPIRY_WARNING; 0s: never).")
    var expiryWarning: String?

    func threshold() throws -> Duration {
        let text = expiryWarning ?? ProcessInfo.processInfo.environment["CLAVIS_SECRET_EXPIRY_WARNING"] ?? "30d"
        guard let within = DurationText.parse(text), within >= .zero else {
            throw CLIFailure(message: "--expiry-warning takes a duration such as 30d", exitCode: 64)
        }
        return within
    }

    /// The check for the secret `credentials` names; `nil` when there is no `--secret` or the
    /// warning is off.
    func check(_ credentials: CredentialOptions) throws -> (check: SecretExpiryCheck, reference: SecretReference)? {
        let within = try threshold()
        guard within > .zero, let secret = credentials.secret else { return nil }
        let check = SecretExpiryCheck(tenant: try credentials.requiredTenant(), clientId: try credentials.requiredClientId(),
                                      authority: try credentials.resolvedAuthority(), version: credentials.v1 ? .v1 : .v2, warnWithin: within)
        return (check, try SecretReference(parsing: secret))
    }

    /// Checks the secret `credentials` names; `nil` when its end date cannot be learnt.
    func status(_ credentials: CredentialOptions, resolver: SecretResolver) async throws -> SecretExpiryCheck.Status? {
        guard let (check, reference) = try check(credentials) else { return nil }
        return await check.check(reference: reference, resolver: resolver)
    }

    /// Prints `warning: …` on stderr when the secret expires within the threshold.
    func warn(_ credentials: CredentialOptions, resolver: SecretResolver) async {
        guard let status = try? await status(credentials, resolver: resolver), status.warning else { return }
        Terminal.note("warning: \(status.message)")
    }

    /// A closure that warns (for daemons that check again later); does nothing without `--secret`.
    func warner(_ credentials: CredentialOptions, resolver: SecretResolver) throws -> @Sendable () async -> Void {
        guard let (check, reference) = try check(credentials) else { return {} }
        return {
            if let status = await check.check(reference: reference, resolver: resolver), status.warning {
                Terminal.note("warning: \(status.message)")
            }
        }
    }
}
