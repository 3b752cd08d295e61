import Crypto
import Foundation
import Hummingbird
import JWTKit
import _CryptoExtras

/// How the emulator mints access tokens: the format the resource accepts, the `aud` Entra puts in,
/// Graph's `nonce` header, managed identity's long lifetime.
extension IdentityRoutes {
    /// Who the token is for and how it was obtained.
    struct Grant {
        var tenant: EmulatorConfig.Tenant
        var appId: String
        /// The resource as the client named it (without `/.default`).
        var resource: String
        var roles: [String]
        /// The endpoint asked: 1 or 2.
        var endpoint: Int
        /// `appidacr`/`azpacr`: 1 secret, 2 certificate or managed identity.
        var authentication: String
        var managed: Bool
        /// Asked through the App Service endpoint (its reply has its own shape).
        var appService = false
    }

    /// Whether `resource` gets v2 tokens: only a custom resource configured for them, from either
    /// endpoint — `accessTokenAcceptedVersion` "changes the version and format of the JWT produced
    /// independent of the endpoint or client used to request the access token" (entra-docs
    /// `reference-app-manifest.md`). Microsoft's APIs (Key Vault, Graph, Defender, ARM) get v1.
    func tokenVersion(resource: String) -> Int {
        guard KnownAPI.named(resource) == nil else { return 1 }
        return (state.config.v2Resources ?? []).contains { KnownAPI.same($0, resource) || KnownAPI.same(Self.apiClientId($0), resource) } ? 2 : 1
    }

    /// The client id of a custom API, which a v2 token carries as `aud` ("In v2.0 tokens, this value
    /// is always the client ID of the API", entra-docs `access-token-claims-reference.md`): the GUID
    /// of an `api://{GUID}` identifier, else one derived from the identifier (docs/emulator.md).
    static func apiClientId(_ identifier: String) -> String {
        let trimmed = identifier.hasSuffix("/") ? String(identifier.dropLast()) : identifier
        if trimmed.lowercased().hasPrefix("api://"), UUID(uuidString: String(trimmed.dropFirst(6))) != nil { return String(trimmed.dropFirst(6)).lowercased() }
        if UUID(uuidString: trimmed) != nil { return trimmed.lowercased() }
        return stableUUID("api/" + trimmed.lowercased())
    }

    func issue(_ grant: Grant, request: Request) async throws -> Response {
        let now = Int(Date().timeIntervalSince1970)
        // Managed-identity tokens live about a day (and come with refresh_in); app tokens ~1 hour.
        let lifetime = state.config.tokenLifetime ?? (grant.managed ? 86399 : 3599)
        let version = tokenVersion(resource: grant.resource)
        let objectId = Self.stableUUID(grant.tenant.id + "/" + grant.appId)
        // v1: `aud` is the identifier exactly as the client asked (a trailing slash kept: Key Vault
        // then refuses it, as go-autorest#525 shows); v2: the API's client id.
        let claims = AppTokenClaims(
            aud: version == 2 ? Self.apiClientId(grant.resource) : grant.resource, iss: version == 2 ? "\(base(request))/\(grant.tenant.id)/v2.0" : "https://sts.windows.net/\(grant.tenant.id)/",
            // Entra backdates iat/nbf by five minutes (exp − iat is 3900 s for a 3599 s expires_in).
            iat: now - 300, nbf: now - 300, exp: now + lifetime, tid: grant.tenant.id, oid: objectId, sub: objectId,
            idtyp: KnownAPI.named(grant.resource)?.nonce == true ? "app" : nil, idp: "https://sts.windows.net/\(grant.tenant.id)/",
            ver: version == 2 ? "2.0" : "1.0", uti: String(UUID().uuidString.prefix(22)), roles: grant.roles.isEmpty ? nil : grant.roles,
            appid: version == 1 ? grant.appId : nil, appidacr: version == 1 ? grant.authentication : nil,
            azp: version == 2 ? grant.appId : nil, azpacr: version == 2 ? grant.authentication : nil)
        let token = KnownAPI.named(grant.resource)?.nonce == true
            ? try signWithNonce(claims)
            : try await state.keys.sign(claims, kid: JWKIdentifier(string: state.keyId))
        var reply: [String: Any] = ["token_type": "Bearer", "access_token": token]
        if grant.managed && grant.appService {
            // App Service's documented reply: {access_token, expires_on, resource, token_type, client_id}
            // (app-service/overview-managed-identity.md, "REST endpoint reference").
            reply.merge(["expires_on": String(now + lifetime), "resource": grant.resource, "client_id": grant.appId]) { $1 }
        } else if grant.managed {
            reply.merge(["expires_in": String(lifetime), "expires_on": String(now + lifetime), "ext_expires_in": String(lifetime),
                         "not_before": String(now), "resource": grant.resource, "client_id": grant.appId]) { $1 }
        } else if grant.endpoint == 1 {
            reply.merge(["expires_in": String(lifetime), "ext_expires_in": String(lifetime), "expires_on": String(now + lifetime),
                         "not_before": String(now), "resource": grant.resource]) { $1 }
        } else {
            reply.merge(["expires_in": lifetime, "ext_expires_in": lifetime]) { $1 }
        }
        if !grant.appService, let refreshIn = state.config.refreshIn ?? (grant.managed ? lifetime / 2 : nil) { reply["refresh_in"] = refreshIn }
        return EntraReply.json(reply)
    }

    /// A Graph-style token: its header carries a `nonce`, and the signature covers the header with
    /// the nonce's SHA-256 in its place — so only Graph (which knows to swap it back) can verify
    /// it, as with real Graph tokens. Everyone else must check the claims only.
    func signWithNonce(_ claims: AppTokenClaims) throws -> String {
        let nonce = Self.base64URL(Array(SHA256.hash(data: Data(UUID().uuidString.utf8))))
        let hashed = Self.base64URL(Array(SHA256.hash(data: Data(nonce.utf8))))
        func header(_ value: String) throws -> String {
            Self.base64URL(Array(try JSONSerialization.data(withJSONObject: ["typ": "JWT", "nonce": value, "alg": "RS256", "kid": state.keyId],
                                                            options: [.sortedKeys])))
        }
        let payload = Self.base64URL(Array(try JSONEncoder().encode(claims)))
        let signed = try header(hashed) + "." + payload
        let signature = try state.rawSigningKey.signature(for: Data(signed.utf8), padding: .insecurePKCS1v1_5)
        return try header(nonce) + "." + payload + "." + Self.base64URL(Array(signature.rawRepresentation))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func stableUUID(_ seed: String) -> String {
        let digest = Array(SHA256.hash(data: Data(seed.utf8)))
        let hex = digest.prefix(16).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let characters = Array(hex)
        return "\(String(characters[0..<8]))-\(String(characters[8..<12]))-\(String(characters[12..<16]))-\(String(characters[16..<20]))-\(String(characters[20..<32]))"
    }
}
