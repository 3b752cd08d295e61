import ClavisCore
import Foundation
import Logging

/// An app's client secret, read from any ``SecretSource`` by reference when a token is needed.
///
/// The secret is never stored: it is read for each token request (put a cache in front of the
/// credential, not of the secret). When Entra answers AADSTS7000215 (wrong secret) or
/// AADSTS7000222 (expired), the secret is read again once and the request retried, so a rotated
/// secret is picked up without a restart.
public struct ClientSecretCredential: TokenCredential {
    let endpoint: TokenEndpoint
    let secret: @Sendable () async throws -> Secret
    let reference: String

    /// A credential whose secret comes from `secret`, resolved by `resolver` at each request.
    /// `additionallyAllowedTenants` names tenants besides `tenant` a request may ask for (`*`: any).
    public init(tenant: String, clientId: String, secret: SecretReference, resolver: SecretResolver,
                authority: Authority = .publicCloud, version: EndpointVersion = .v2, transport: HTTPTransport = HTTPTransport(),
                additionallyAllowedTenants: [String] = []) {
        self.init(tenant: tenant, clientId: clientId, reference: secret.description, authority: authority, version: version,
                  transport: transport, additionallyAllowedTenants: additionallyAllowedTenants) { try await resolver.secret(for: secret) }
    }

    /// A credential whose secret comes from a closure (`reference` names it in errors).
    /// `additionallyAllowedTenants` names tenants besides `tenant` a request may ask for (`*`: any).
    public init(tenant: String, clientId: String, reference: String, authority: Authority = .publicCloud, version: EndpointVersion = .v2,
                transport: HTTPTransport = HTTPTransport(), additionallyAllowedTenants: [String] = [],
                secret: @escaping @Sendable () async throws -> Secret) {
        endpoint = TokenEndpoint(authority: authority, tenant: tenant, clientId: clientId, version: version, transport: transport,
                                 additionallyAllowedTenants: additionallyAllowedTenants)
        self.secret = secret
        self.reference = reference
    }

    /// `client secret credential (app C, secret REF)`.
    public var credentialDescription: String { "client secret credential (app \(endpoint.clientId), secret \(reference))" }

    /// Requests a token; re-reads the secret once if Entra rejects it as wrong or expired.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        do {
            return try await attempt(context)
        } catch let error as ClavisError where error.entraError?.isBadSecret == true {
            return try await attempt(context)
        }
    }

    private func attempt(_ context: TokenRequestContext) async throws -> AccessToken {
        let value = try await secret()
        guard let text = value.revealedString(), !text.isEmpty else {
            throw ClavisError(.invalidValue, reference: reference, reason: "the client secret is empty or not UTF-8 text")
        }
        return try await endpoint.requestToken(context, fields: [("client_secret", text)], reference: reference)
    }
}
