import ClavisCore
import Foundation
import JWTKit
import Synchronization

/// A decoded JWT: header and claims, not yet trusted.
public struct DecodedToken: Sendable {
    /// The header (`alg`, `kid`, `typ`…).
    public var header: [String: JSONValue]
    /// The claims.
    public var claims: [String: JSONValue]

    /// A JSON value (Sendable, for printing and checks).
    public enum JSONValue: Sendable, Equatable, Codable {
        case string(String), number(Double), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

        /// Converts a JSONSerialization value.
        public init(_ any: Any) {
            switch any {
            case let value as String: self = .string(value)
            case let value as Bool where type(of: any) == type(of: true): self = .bool(value)
            case let value as NSNumber: self = .number(value.doubleValue)
            case let value as [Any]: self = .array(value.map(JSONValue.init))
            case let value as [String: Any]: self = .object(value.mapValues(JSONValue.init))
            default: self = .null
            }
        }

        /// The string, if this is one.
        public var string: String? { if case .string(let value) = self { value } else { nil } }
        /// The number, if this is one.
        public var number: Double? { if case .number(let value) = self { value } else { nil } }
        /// The strings of an array (or a single string).
        public var strings: [String] {
            switch self {
            case .string(let value): [value]
            case .array(let values): values.compactMap(\.string)
            default: []
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
            else { self = .object(try container.decode([String: JSONValue].self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .string(let value): try container.encode(value)
            case .number(let value): if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
            case .bool(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            case .null: try container.encodeNil()
            }
        }
    }

    /// Decodes `token` without verifying it.
    public init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = Self.decodePart(parts[0]), let claims = Self.decodePart(parts[1]) else {
            throw ClavisError(.invalidValue, reference: "token", reason: "not a JWT (three base64url parts, header and claims JSON objects)")
        }
        self.header = header.mapValues(JSONValue.init)
        self.claims = claims.mapValues(JSONValue.init)
    }

    static func decodePart(_ part: Substring) -> [String: Any]? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// The `roles` claim (application permissions).
    public var roles: [String] { claims["roles"]?.strings ?? [] }
    /// Whether the header carries a `nonce`, as Microsoft Graph's tokens do: their signature covers
    /// a hash of the nonce, so only Graph can verify it (entra-docs `access-tokens.md`: "tokens for
    /// Microsoft Graph … can't be validated" by other apps).
    public var hasNonce: Bool { header["nonce"] != nil }
    /// Whether ``TokenValidator/validate(_:now:)`` verified the signature (`false` for a Graph token
    /// with a `nonce` header, whose claims alone were checked).
    public var signatureVerified = false
    /// `exp` as a date.
    public var expiresOn: Date? { claims["exp"]?.number.map { Date(timeIntervalSince1970: $0) } }
    /// `nbf` as a date.
    public var notBefore: Date? { claims["nbf"]?.number.map { Date(timeIntervalSince1970: $0) } }
}

/// Checks tokens locally — never by pasting them into a website.
///
/// Checks `aud`, `tid`, `iss`, `exp`/`nbf` (with clock skew), that `roles` holds every required
/// permission, and the signature against the tenant's keys from OpenID discovery + JWKS (cached).
/// `alg: none` and HMAC algorithms are refused before anything else; a token without `exp`,
/// `tid` or `iss` is refused, and `iss` must be the issuer Entra ID documents for the token's
/// tenant and version.
public struct TokenValidator: Sendable {
    /// The authority that issued the token.
    public var authority: Authority
    /// The expected tenant id (`tid`), if checked.
    public var tenant: String?
    /// Acceptable audiences (e.g. `https://api.security.microsoft.com`), if checked.
    public var audiences: [String]
    /// Permissions the `roles` claim must hold.
    public var requiredRoles: [String]
    /// Allowed clock skew.
    public var clockSkew: Duration
    let transport: HTTPTransport
    private let keyCache = KeyCache()

    /// Creates a validator.
    public init(authority: Authority = .publicCloud, tenant: String? = nil, audiences: [String] = [], requiredRoles: [String] = [],
                clockSkew: Duration = .seconds(300), transport: HTTPTransport = HTTPTransport()) {
        self.authority = authority
        self.tenant = tenant
        self.audiences = audiences
        self.requiredRoles = requiredRoles
        self.clockSkew = clockSkew
        self.transport = transport
    }

    /// The claims checks alone (no signature): algorithm, expiry, audience, tenant, roles.
    public func checkClaims(_ decoded: DecodedToken, now: Date = Date()) throws {
        let algorithm = decoded.header["alg"]?.string ?? "none"
        guard !(algorithm.lowercased() == "none" || algorithm.uppercased().hasPrefix("HS")) else {
            throw ClavisError(.permissionDenied, reference: "token", reason: "the token's algorithm is \(algorithm); unsigned and HMAC tokens are refused")
        }
        guard let expires = decoded.expiresOn else {
            throw ClavisError(.permissionDenied, reference: "token", reason: "the token has no exp (expiry) claim; Entra ID tokens always carry one")
        }
        if expires.addingTimeInterval(clockSkew.inSeconds) < now {
            throw ClavisError(.permissionDenied, reference: "token", reason: "the token expired at \(ISO8601DateFormatter().string(from: expires))")
        }
        if let notBefore = decoded.notBefore, notBefore.addingTimeInterval(-clockSkew.inSeconds) > now {
            throw ClavisError(.permissionDenied, reference: "token", reason: "the token is not valid before \(ISO8601DateFormatter().string(from: notBefore))")
        }
        if !audiences.isEmpty {
            let audience = decoded.claims["aud"]?.strings ?? []
            // A v2 token's `aud` is the API's client id ("In v2.0 tokens, this value is always the
            // client ID of the API", entra-docs access-token-claims-reference.md): an `api://{id}`
            // identifier also accepts its id.
            let normalized = Set(audiences.flatMap { audience -> [String] in
                let apiId = audience.lowercased().hasPrefix("api://") ? [String(audience.dropFirst(6)).trimmingCharacters(in: ["/"])] : []
                return [audience, audience.hasSuffix("/") ? String(audience.dropLast()) : audience + "/"] + apiId
            })
            guard audience.contains(where: normalized.contains) else {
                throw ClavisError(.permissionDenied, reference: "token", reason: "the token is for \(audience.joined(separator: ", ")), not \(audiences.joined(separator: ", "))")
            }
        }
        guard let tid = decoded.claims["tid"]?.string, !tid.isEmpty else {
            throw ClavisError(.permissionDenied, reference: "token", reason: "the token has no tid (tenant) claim; Entra ID tokens always carry one")
        }
        if let tenant, tid.lowercased() != tenant.lowercased() {
            throw ClavisError(.permissionDenied, reference: "token", reason: "the token is from tenant \(tid), not \(tenant)")
        }
        try checkIssuer(decoded, tenant: tid)
        let missing = requiredRoles.filter { !decoded.roles.contains($0) }
        guard missing.isEmpty else {
            throw ClavisError(.permissionDenied, reference: "token",
                              reason: "the token lacks the application permission(s) \(missing.joined(separator: ", ")) (it has: \(decoded.roles.isEmpty ? "none" : decoded.roles.joined(separator: ", ")))",
                              hint: "add them under API permissions as Application permissions, then grant admin consent (`clavis consent-url`)")
        }
    }

    /// The issuers Entra ID documents for a token of `tenant`: v1.0 tokens `https://sts.windows.net/{tid}/`,
    /// v2.0 tokens `{authority}/{tid}/v2.0` — "If the token issued is a v2.0 token (see the `ver`
    /// claim), the URI ends in `/v2.0`" (entra-docs, docs/identity-platform/access-token-claims-reference.md,
    /// `iss`; access-tokens.md). Tokens for Microsoft's APIs (Key Vault, Defender, Graph) are v1.0
    /// even from the v2 endpoint. The China cloud's v1 STS is `sts.chinacloudapi.cn` and its v2
    /// issuer `login.partner.microsoftonline.cn`.
    public func acceptedIssuers(tenant tid: String, version: String?) -> [String] {
        var v1 = ["https://sts.windows.net/\(tid)/"]
        var v2 = ["\(authority.url.absoluteString)/\(tid)/v2.0"]
        if authority == .china {
            v1.append("https://sts.chinacloudapi.cn/\(tid)/")
            v2.append("https://login.partner.microsoftonline.cn/\(tid)/v2.0")
        }
        switch version {
        case "1.0": return v1
        case "2.0": return v2
        default: return v1 + v2
        }
    }

    func checkIssuer(_ decoded: DecodedToken, tenant tid: String) throws {
        guard let issuer = decoded.claims["iss"]?.string, !issuer.isEmpty else {
            throw ClavisError(.permissionDenied, reference: "token", reason: "the token has no iss (issuer) claim; Entra ID tokens always carry one")
        }
        let accepted = acceptedIssuers(tenant: tid, version: decoded.claims["ver"]?.string)
        guard accepted.contains(issuer) else {
            throw ClavisError(.permissionDenied, reference: "token",
                              reason: "the token's issuer \(issuer) is not Entra ID's for tenant \(tid) (expected \(accepted.joined(separator: " or ")))",
                              hint: "check the authority (a sovereign cloud or the emulator needs --authority) and that the token comes from Entra ID")
        }
    }

    /// Graph's application id, an audience its tokens may carry instead of its URI.
    static let graphAudiences = ["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"]

    /// Verifies the signature with the issuing tenant's keys and checks the claims. A Graph token
    /// (a `nonce` header) has its claims checked only — its signature is Graph's alone to verify —
    /// and the result says so (``DecodedToken/signatureVerified`` is `false`); a `nonce` header on a
    /// token for any other audience is refused. A `kid` the cached keys lack makes one refetch
    /// (Entra rolls its keys).
    public func validate(_ token: String, now: Date = Date()) async throws -> DecodedToken {
        var decoded = try DecodedToken(token)
        try checkClaims(decoded, now: now)
        if decoded.hasNonce {
            let audience = decoded.claims["aud"]?.strings ?? []
            guard !audience.isEmpty, audience.allSatisfy({ Self.graphAudiences.contains($0.lowercased()) }) else {
                throw ClavisError(.permissionDenied, reference: "token",
                                  reason: "the token has a nonce header, which only Microsoft Graph tokens carry, but it is for \(audience.joined(separator: ", "))")
            }
            return decoded
        }
        let tenantForKeys = tenant ?? decoded.claims["tid"]?.string ?? "common"
        var (keys, kids, fresh) = try await signingKeys(tenant: tenantForKeys)
        let kid = decoded.header["kid"]?.string
        while true {
            do {
                _ = try await keys.verify(token, as: VerifiedClaims.self)
                decoded.signatureVerified = true
                return decoded
            } catch {
                // An unknown kid with cached keys: the tenant may have rolled its keys; refetch once.
                if !fresh, let kid, !kids.contains(kid) {
                    keyCache.remove(tenantForKeys)
                    (keys, kids, fresh) = try await signingKeys(tenant: tenantForKeys)
                    continue
                }
                throw ClavisError(.permissionDenied, reference: "token", reason: "the token's signature does not verify with tenant \(tenantForKeys)'s published keys", cause: error)
            }
        }
    }

    /// The tenant's keys, their key ids, and whether they were just fetched.
    private func signingKeys(tenant: String) async throws -> (JWTKeyCollection, kids: Set<String>, fresh: Bool) {
        if let (cached, kids) = keyCache.get(tenant) { return (cached, kids, false) }
        let discovery = try await transport.send(.GET, authority.openIDConfiguration(tenant: tenant))
        guard discovery.status == 200, let jwksURI = discovery.jsonObject?["jwks_uri"] as? String else {
            throw ClavisError(.serviceError, reference: authority.openIDConfiguration(tenant: tenant),
                              reason: "OpenID discovery failed (HTTP \(discovery.status)) for tenant \(tenant)")
        }
        // The keys decide what verifies: fetched over https only (plain http to loopback: the emulator).
        guard let jwksURL = URL(string: jwksURI), Loopback.permits(jwksURL) else {
            throw ClavisError(.serviceError, reference: authority.openIDConfiguration(tenant: tenant),
                              reason: "OpenID discovery names a jwks_uri that is not https (\(HTTPTransport.redactedURL(jwksURI)))")
        }
        let jwks = try await transport.send(.GET, jwksURI)
        guard jwks.status == 200 else {
            throw ClavisError(.serviceError, reference: jwksURI, reason: "the JWKS could not be fetched (HTTP \(jwks.status))")
        }
        let keys = JWTKeyCollection()
        do {
            try await keys.add(jwksJSON: String(decoding: jwks.body, as: UTF8.self))
        } catch {
            throw ClavisError(.serviceError, reference: jwksURI, reason: "the JWKS is not valid: \(error)", cause: error)
        }
        let kids = Set((jwks.jsonObject?["keys"] as? [[String: Any]] ?? []).compactMap { $0["kid"] as? String })
        keyCache.set(tenant, keys, kids: kids)
        return (keys, kids, true)
    }

    struct VerifiedClaims: JWTPayload {
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    final class KeyCache: Sendable {
        private let state = Mutex<[String: (JWTKeyCollection, Set<String>, ContinuousClock.Instant)]>([:])
        func get(_ tenant: String) -> (JWTKeyCollection, Set<String>)? {
            state.withLock { entries in
                guard let (keys, kids, expires) = entries[tenant], expires > ContinuousClock.now else { return nil }
                return (keys, kids)
            }
        }
        func set(_ tenant: String, _ keys: JWTKeyCollection, kids: Set<String>) {
            state.withLock { $0[tenant] = (keys, kids, ContinuousClock.now + .seconds(3600)) }
        }
        func remove(_ tenant: String) {
            _ = state.withLock { $0.removeValue(forKey: tenant) }
        }
    }
}
