import ClavisCore
import ClavisIdentity
import Foundation

extension KeyVaultClient {
    /// Parses `Bearer authorization="https://login.windows.net/TENANT", resource="https://vault.azure.net"`
    /// (or `authorization_uri`, `scope`) and checks it, as azure-keyvault-secrets'
    /// `ChallengeAuthPolicy.on_challenge` does (azure-sdk-for-python,
    /// sdk/keyvault/azure-keyvault-secrets/azure/keyvault/secrets/_shared/challenge_auth_policy.py:
    /// the scope's domain must be a suffix of the vault's, and the challenge's tenant is passed to
    /// the credential, whose `additionally_allowed_tenants` decide), and stricter: `scope` and
    /// `resource`, when both are given, must agree (scope = resource + `/.default`); the resource
    /// must be https and exactly the vault's domain (or `expectedResource` for other hosts).
    func parseChallenge(_ header: String, location: KeyVaultLocation, reference: String) throws -> Challenge {
        var parameters: [String: String] = [:]
        let body = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : header
        for match in body.matches(of: /([A-Za-z_]+)="([^"]*)"/) {
            parameters[String(match.output.1).lowercased()] = String(match.output.2)
        }
        let authorization = parameters["authorization"] ?? parameters["authorization_uri"]
        let tenant = authorization.flatMap { URL(string: $0)?.path.split(separator: "/").first.map(String.init) }
        func refuse(_ reason: String) -> ClavisError {
            ClavisError(.permissionDenied, reference: reference, reason: "\(reason); no token was sent (none was requested)",
                        hint: "a vault URL that is not a real Key Vault may be trying to harvest tokens — check the reference")
        }
        let resourceText: String
        switch (parameters["resource"], parameters["scope"]) {
        case let (resource?, scope?):
            guard Self.trimmed(TokenRequestContext.scope(forResource: Self.trimmed(resource))).lowercased() == Self.trimmed(scope).lowercased() else {
                throw refuse("the vault's challenge names resource \(resource) but scope \(scope), which disagree (the scope must be the resource + /.default)")
            }
            resourceText = resource
        case let (resource?, nil):
            resourceText = resource
        case let (nil, scope?) where scope.hasSuffix("/.default"):
            resourceText = String(scope.dropLast("/.default".count))
        default:
            throw ClavisError(.serviceError, reference: reference, reason: "Key Vault's authentication challenge names no resource")
        }
        guard let resourceURL = URL(string: resourceText), resourceURL.scheme?.lowercased() == "https", let resourceHost = resourceURL.host?.lowercased() else {
            throw refuse("the vault's challenge names \(resourceText), which is not an https resource URI")
        }
        let domain = KeyVaultLocation.knownDomains.first { location.host.hasSuffix("." + $0) }
        let matches = domain.map { $0 == resourceHost } ?? (Self.trimmed(resourceText).lowercased() == Self.trimmed(expectedResource).lowercased())
        guard matches else {
            throw refuse("the vault's challenge asks for a token for \(resourceText), which does not belong to \(location.host)")
        }
        return Challenge(tenant: tenant, resource: Self.trimmed(resourceText))
    }

    /// `text` without trailing slashes.
    static func trimmed(_ text: String) -> String {
        var text = text
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
