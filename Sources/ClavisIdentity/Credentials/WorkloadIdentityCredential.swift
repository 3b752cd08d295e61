import ClavisCore
import Foundation

/// Workload identity federation (Kubernetes, GitHub Actions): the app presents a token issued by
/// another identity provider, read from `AZURE_FEDERATED_TOKEN_FILE` at each request (projected
/// tokens rotate), as a `client_assertion`.
public struct WorkloadIdentityCredential: TokenCredential {
    let endpoint: TokenEndpoint
    let tokenFile: String

    /// Creates the credential. `additionallyAllowedTenants` names tenants besides `tenant` a request
    /// may ask for (`*`: any).
    public init(tenant: String, clientId: String, tokenFile: String, authority: Authority = .publicCloud,
                version: EndpointVersion = .v2, transport: HTTPTransport = HTTPTransport(), additionallyAllowedTenants: [String] = []) {
        endpoint = TokenEndpoint(authority: authority, tenant: tenant, clientId: clientId, version: version, transport: transport,
                                 additionallyAllowedTenants: additionallyAllowedTenants)
        self.tokenFile = tokenFile
    }

    /// `workload identity credential (app C, token file F)`.
    public var credentialDescription: String { "workload identity credential (app \(endpoint.clientId), token file \(tokenFile))" }

    /// Exchanges the federated token for an Entra token.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        let assertion: String
        do {
            assertion = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw ClavisError(.sourceUnavailable, reference: tokenFile, reason: "cannot read the federated token file \(tokenFile)",
                              hint: "on Kubernetes, label the pod for workload identity so AZURE_FEDERATED_TOKEN_FILE is projected", cause: error)
        }
        guard !assertion.isEmpty else { throw ClavisError(.invalidValue, reference: tokenFile, reason: "the federated token file is empty") }
        return try await endpoint.requestToken(context, fields: [
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion),
        ], reference: tokenFile)
    }
}
