import ArgumentParser
import Clavis
import Foundation

/// `--expiry-warning`: how early `clavis token`, `clavis doctor` and `clavis defender watch` warn
/// that the client secret in use expires (default 30d, or CLAVIS_SECRET_EXPIRY_WARNING).
struct ExpiryOptions: ParsableArguments {
    @Option(help: "Warn when the client secret (--secret) expires within this long, e.g. 30d (also CLAVIS_SECRET_EXPIRY_WARNING; 0s: never).")
    var expiryWarning: String?

    func threshold() throws -> TimeInterval {
        let text = expiryWarning ?? ProcessInfo.processInfo.environment["CLAVIS_SECRET_EXPIRY_WARNING"] ?? "30d"
        guard let seconds = DurationText.seconds(text), seconds >= 0 else {
            throw CLIFailure(message: "--expiry-warning takes a duration such as 30d", exitCode: 64)
        }
        return seconds
    }

    /// Checks the secret `credentials` names (nothing when there is no `--secret`, or the warning is
    /// off); `nil` when its end date cannot be learnt.
    func status(_ credentials: CredentialOptions, resolver: SecretResolver) async throws -> SecretExpiryCheck.Status? {
        let within = try threshold()
        guard within > 0, let secret = credentials.secret else { return nil }
        let check = SecretExpiryCheck(tenant: try credentials.requiredTenant(), clientId: try credentials.requiredClientId(),
                                      authority: try credentials.resolvedAuthority(), version: credentials.v1 ? .v1 : .v2, warnWithin: within)
        return await check.check(reference: try SecretReference(parsing: secret), resolver: resolver)
    }

    /// Prints `warning: …` on stderr when the secret expires within the threshold.
    func warn(_ credentials: CredentialOptions, resolver: SecretResolver) async {
        guard let status = try? await status(credentials, resolver: resolver), status.warning else { return }
        Terminal.note("warning: \(status.message)")
    }
}
