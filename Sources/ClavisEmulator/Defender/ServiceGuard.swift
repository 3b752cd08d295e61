import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import Synchronization

/// Which API a route belongs to: its error shape, its token audience and its quota bucket.
enum SecurityAPI: Sendable {
    case defender, graph

    var audience: String { self == .graph ? "https://graph.microsoft.com" : "https://api.security.microsoft.com" }
    /// Every `aud` the API accepts: its identifier or its application id (a v1 token's `aud` is the
    /// identifier the client asked with, entra-docs `access-token-claims-reference.md`).
    var audiences: [String] { KnownAPI.named(audience)?.names.map { $0.lowercased() } ?? [audience] }

    /// Defender errors: `{"error": {"code", "message", "target"}}` (D-ERR,
    /// https://learn.microsoft.com/defender-xdr/api-error-codes). Graph errors: `{"error": {"code",
    /// "message", "innerError": {"date", "request-id", "client-request-id"}}}` (research-15 §5.4, OBS-TOP).
    func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:], request: Request? = nil,
               details: Bool = false) -> Response {
        switch self {
        case .defender:
            return EntraReply.json(["error": ["code": code, "message": message, "target": UUID().uuidString.lowercased()]], status: status, headers: headers)
        case .graph:
            let requestId = UUID().uuidString.lowercased()
            let clientRequestId = HTTPField.Name("client-request-id").flatMap { request?.headers[$0] } ?? requestId
            var error: [String: Any] = ["code": code, "message": message,
                                        "innerError": ["date": ServiceTime.innerErrorDate(), "request-id": requestId, "client-request-id": clientRequestId]]
            if details { error["details"] = [] as [Any] }
            return EntraReply.json(["error": error], status: status, headers: headers)
        }
    }

    /// A 429 with the reset time in the body. Defender: the body "includes the time until the quota …
    /// is reset" (D-INC) — the observed text is `API calls quota exceeded! maximum allowed 45 per
    /// 00:01:00` (OBS-429D, MicrosoftDocs/microsoft-365-docs#4616); the "Try again in N seconds."
    /// clause is our rendering of the documented reset time. Graph: G-THR's body
    /// (https://learn.microsoft.com/graph/throttling), whose reset is the `Retry-After` header.
    func throttled(limit: Int, window: String, reset: Int, retryAfterHeader: Bool, code: String? = nil, request: Request? = nil) -> Response {
        var headers: HTTPFields = [:]
        if retryAfterHeader, let name = HTTPField.Name("Retry-After") { headers[name] = String(reset) }
        switch self {
        case .defender:
            return error(.tooManyRequests, code ?? "TooManyRequests",
                         "API calls quota exceeded! maximum allowed \(limit) per \(window). Try again in \(reset) seconds.", headers: headers)
        case .graph:
            let requestId = UUID().uuidString.lowercased()
            return EntraReply.json(["error": ["code": code ?? "TooManyRequests", "message": "Please retry again later.",
                                              "innerError": ["code": "429", "date": ServiceTime.innerErrorDate(), "message": "Please retry after",
                                                             "request-id": requestId, "status": "429"]]],
                                   status: .tooManyRequests, headers: headers)
        }
    }
}

/// Sliding-window quotas per bucket (app and tenant): Defender incidents 50/min **and** 1,500/h
/// (D-LIST "Limitations"), hunting 45/min (D-AH), Graph `/security` its own bucket, 150/min (G-THR).
final class Quotas: Sendable {
    private let calls = Mutex<[String: [Date]]>([:])

    /// Records a call in `bucket`, or returns the window that is full: (limit, window text, seconds to reset).
    func take(_ bucket: String, limits: [(count: Int, seconds: Int)], now: Date = Date()) -> (limit: Int, window: String, reset: Int)? {
        calls.withLock { calls in
            var list = calls[bucket, default: []]
            let longest = limits.map { $0.seconds }.max() ?? 60
            list.removeAll { now.timeIntervalSince($0) >= Double(longest) }
            for limit in limits where limit.count > 0 {
                let inWindow = list.filter { now.timeIntervalSince($0) < Double(limit.seconds) }
                if inWindow.count >= limit.count {
                    let oldest = inWindow[inWindow.count - limit.count]
                    let reset = Int((Double(limit.seconds) - now.timeIntervalSince(oldest)).rounded(.up))
                    calls[bucket] = list
                    let window = String(format: "%02d:%02d:%02d", limit.seconds / 3600, limit.seconds / 60 % 60, limit.seconds % 60)
                    return (limit.count, window, max(reset, 1))
                }
            }
            list.append(now)
            calls[bucket] = list
            return nil
        }
    }
}

/// The outcome of a token check: the claims, or the 401 reply.
enum TokenCheck {
    case success(AppTokenClaims)
    case failure(Response)
}

extension EmulatorState {
    /// Checks a bearer token as the services do: signed by this emulator, not expired, valid now
    /// (`nbf`), for `api`'s audience, from the tenant's issuer (v1 `https://sts.windows.net/{tid}/` or
    /// this emulator's v2 issuer). Returns the claims, or the 401 reply in the API's shape: Graph
    /// `InvalidAuthenticationToken` with the observed messages (OBS-401,
    /// microsoftgraph/microsoft-graph-docs-contrib#2362; Microsoft365DSC#4427), Defender `Unauthorized`
    /// (D-ERR; text observed on the MDE API, MicrosoftDocs/windows-itpro-docs#799).
    func securityClaims(_ request: Request, api: SecurityAPI, scheme: String) async -> TokenCheck {
        func denied(_ graphMessage: String, expired: Bool = false) -> TokenCheck {
            guard api == .graph else { return .failure(api.error(.unauthorized, "Unauthorized", "Authorization has been denied for this request.")) }
            var headers: HTTPFields = [:]
            if expired {
                headers[.wwwAuthenticate] = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\""
            }
            return .failure(api.error(.unauthorized, "InvalidAuthenticationToken", graphMessage, headers: headers, request: request))
        }
        guard let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
              // Graph's tokens carry a `nonce` header and are verified as Graph does (Interception.swift).
              let claims = await verifiedClaims(String(authorization.dropFirst(7))) else {
            return denied("Access token validation failure.")
        }
        let now = Int(Date().timeIntervalSince1970)
        guard claims.exp > now else { return denied("Lifetime validation failed, the token is expired.", expired: true) }
        guard claims.nbf <= now + 30 else { return denied("Access token validation failure.") }
        guard api.audiences.contains(claims.aud.lowercased().trimmingCharacters(in: ["/"])) else { return denied("Access token validation failure. Invalid audience.") }
        let authority = request.head.authority ?? "127.0.0.1"
        let issuers = ["https://sts.windows.net/\(claims.tid)/", "\(scheme)://\(authority)/\(claims.tid)/v2.0"]
        guard tenant(claims.tid) != nil, issuers.contains(claims.iss) else { return denied("Access token validation failure.") }
        return .success(claims)
    }

    /// Mints a token signed by this emulator with any claims, for tests of token validation
    /// (expired, not yet valid, wrong audience or issuer). Never used by the routes.
    public func mintTestToken(tenant: String, appId: String, audience: String, roles: [String], issuer: String? = nil,
                              notBefore: Date = Date(), expires: Date = Date().addingTimeInterval(3600)) async throws -> String {
        let claims = AppTokenClaims(aud: audience, iss: issuer ?? "https://sts.windows.net/\(tenant)/", iat: Int(notBefore.timeIntervalSince1970),
                                    nbf: Int(notBefore.timeIntervalSince1970), exp: Int(expires.timeIntervalSince1970), tid: tenant, oid: appId,
                                    sub: appId, idtyp: nil, idp: nil, ver: "1.0", uti: "emulator-test", roles: roles.isEmpty ? nil : roles,
                                    appid: appId, appidacr: "1", azp: nil, azpacr: nil)
        return try await keys.sign(claims, kid: JWKIdentifier(string: keyId))
    }
}
