import ClavisCore
import Foundation
import Logging

/// The client-credentials request every app credential sends: one POST to the token endpoint,
/// with the policy's retries, and the reply parsed whether numbers come as numbers or strings.
struct TokenEndpoint: Sendable {
    var authority: Authority
    var tenant: String
    var clientId: String
    var version: EndpointVersion
    var transport: HTTPTransport
    /// Tenants besides `tenant` a request may name (`*`: any).
    var additionallyAllowedTenants: [String] = []

    var url: String { authority.tokenEndpoint(tenant: tenant, version: version) }

    /// The token endpoint for `context`: the configured tenant's, or that of the tenant the
    /// context names (a Key Vault challenge does) when it is allowed.
    func url(for context: TokenRequestContext, reference: String) throws -> String {
        authority.tokenEndpoint(tenant: try tenant(for: context, reference: reference), version: version)
    }

    /// The tenant to ask: the configured one unless the context names another that is in
    /// `additionallyAllowedTenants` (or that list holds `*`); any other tenant is refused before a
    /// request is sent. This is azure-identity's rule (`resolve_tenant` in
    /// azure-sdk-for-python sdk/identity/azure-identity/azure/identity/_internal/utils.py, the
    /// `additionally_allowed_tenants` option; Azure.Identity's `AdditionallyAllowedTenants`).
    func tenant(for context: TokenRequestContext, reference: String) throws -> String {
        guard let requested = context.tenant, requested.lowercased() != tenant.lowercased() else { return tenant }
        let allowed = additionallyAllowedTenants.map { $0.lowercased() }
        guard allowed.contains("*") || allowed.contains(requested.lowercased()) else {
            // The likelier cause is a wrong tenant setting, not a wrong secret: name no secret
            // reference, and say that first; allowing another tenant is the second remedy.
            throw ClavisError(.tenantNotAllowed, reference: nil,
                              reason: "the service asked for a token from tenant \(requested), but the credential is for tenant \(tenant) (client \(clientId)); no token was requested",
                              hint: "if the app lives in \(requested), set the tenant to it (--tenant \(requested) or AZURE_TENANT_ID); to trust a service in another tenant, allow it: --additionally-allowed-tenant \(requested) (AZURE_ADDITIONALLY_ALLOWED_TENANTS, additionallyAllowedTenants:)")
        }
        return requested
    }

    /// Requests a token with the credential-specific `fields` (client_secret, or client_assertion…).
    func requestToken(_ context: TokenRequestContext, fields: [(String, String)], reference: String) async throws -> AccessToken {
        var form: [(String, String)] = [("grant_type", "client_credentials"), ("client_id", clientId)]
        switch version {
        case .v2: form.append(("scope", context.scopes.joined(separator: " ")))
        case .v1: form.append(("resource", context.resource))
        }
        form += fields
        let endpoint = try url(for: context, reference: reference)
        let reply = try await transport.send(.POST, endpoint, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                                             body: HTTPTransport.formBody(form))
        return try Self.parse(reply, reference: reference)
    }

    /// Parses a token reply (Entra v1/v2, managed identity): `expires_in`/`expires_on`/`refresh_in`
    /// as numbers or strings.
    static func parse(_ reply: HTTPReply, reference: String, now: Date = Date()) throws -> AccessToken {
        guard (200..<300).contains(reply.status) else {
            // The one place an Entra error reply becomes a ClavisError (the EntraError is its cause).
            if let entra = EntraError(status: reply.status, body: reply.body) { throw entra.clavisError(reference: reference) }
            throw ClavisError(.serviceError, reference: reference,
                              reason: "the token endpoint answered HTTP \(reply.status) without an OAuth error body",
                              hint: reply.status == 404 ? "check the tenant and the authority host" : nil)
        }
        guard let object = reply.jsonObject else {
            throw ClavisError(.serviceError, reference: reference, reason: "the token endpoint's reply is not JSON (HTTP \(reply.status))")
        }
        guard let token = object["access_token"] as? String, !token.isEmpty else {
            throw ClavisError(.serviceError, reference: reference, reason: "the token endpoint's reply has no access_token")
        }
        // Finite numbers only: "inf" and "nan" parse as Doubles, and a token that claims to live
        // forever is refused rather than trusted (or left to trap in a later conversion).
        func number(_ key: String) throws -> Double? {
            let value: Double?
            if let double = object[key] as? Double { value = double
            } else if let integer = object[key] as? Int { value = Double(integer)
            } else if let text = object[key] as? String { value = Double(text)
            } else { value = nil }
            if let value, !value.isFinite {
                throw ClavisError(.serviceError, reference: reference, reason: "the token endpoint's reply has a \(key) that is not a finite number")
            }
            return value
        }
        let yearInSeconds = 366.0 * 86_400
        let expiresOn: Date
        if let epoch = try number("expires_on") {
            // Clamped to [now, now + a year]: outside it the reply is wrong, and the cache must not trap.
            expiresOn = Date(timeIntervalSince1970: min(max(epoch, now.timeIntervalSince1970), now.timeIntervalSince1970 + yearInSeconds))
        } else if let seconds = try number("expires_in") {
            expiresOn = now.addingTimeInterval(min(max(seconds, 0), yearInSeconds))
        } else {
            throw ClavisError(.serviceError, reference: reference, reason: "the token endpoint's reply says neither expires_in nor expires_on")
        }
        let refreshOn = try number("refresh_in").map { now.addingTimeInterval(min(max($0, 0), yearInSeconds)) }
        return AccessToken(token: Secret(token), expiresOn: expiresOn, refreshOn: refreshOn, now: now)
    }
}

extension ClavisError.Code {
    /// A service (a Key Vault challenge) named a tenant the credential may not ask for; refines ``permissionDenied``.
    public static let tenantNotAllowed = ClavisError.Code("tenant-not-allowed", refines: .permissionDenied)
}
