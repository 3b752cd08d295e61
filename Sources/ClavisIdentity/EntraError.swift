import ClavisCore
import Foundation

/// An error reply of Entra ID's token endpoint, parsed: branch on ``error`` and ``codes``, never
/// on the message text.
public struct EntraError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public var status: Int
    /// The OAuth error, e.g. `invalid_client`.
    public var error: String
    /// The first line of `error_description` (`AADSTS7000215: Invalid client secret provided…`).
    public var message: String
    /// `error_codes`, e.g. `[7000215]`.
    public var codes: [Int]
    /// `trace_id`, for Microsoft support.
    public var traceId: String?
    /// `correlation_id`, for Microsoft support.
    public var correlationId: String?

    /// Parses an error reply; `nil` if it is not one.
    public init?(status: Int, body: [UInt8]) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], let error = object["error"] as? String else {
            return nil
        }
        self.status = status
        self.error = error
        let description = object["error_description"] as? String ?? error
        // The first line: Entra appends "\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …" (and
        // "\r\n" is one Character in Swift, so split on any newline).
        message = description.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? description
        codes = (object["error_codes"] as? [Any])?.compactMap { ($0 as? Int) ?? ($0 as? String).flatMap(Int.init) } ?? []
        traceId = object["trace_id"] as? String
        correlationId = object["correlation_id"] as? String
    }

    /// Codes that a retry may clear (Entra's own transient failures). Not AADSTS50196: that is
    /// loop detection — the client asked too often (no token cache, a tight loop) — and retrying
    /// makes it worse (entra-docs reference-error-codes: "The server terminated an operation because
    /// it encountered a client request loop").
    public static let transientCodes: Set<Int> = [90055, 50033, 90024, 90006]

    /// Whether Entra detected a request loop (AADSTS50196).
    public var isLoopDetected: Bool { codes.contains(50196) }

    /// Whether retrying later may succeed.
    public var isTransient: Bool { !codes.filter(Self.transientCodes.contains).isEmpty }

    /// Whether the client secret was rejected as wrong or expired (re-reading it may help).
    public var isBadSecret: Bool { codes.contains(7000215) || codes.contains(7000222) }

    /// What to do, for the common codes.
    public var hint: String? {
        for code in codes {
            switch code {
            case 7000215: return "the client secret is wrong — often the secret's ID was pasted instead of its value"
            case 7000222: return "the client secret has expired — create a new one under Certificates & secrets and store it"
            case 700016: return "the application is not in this tenant — check the client id, the tenant, and that the app was consented here"
            case 90002: return "the tenant was not found — check the tenant id and the cloud (--authority)"
            case 500011: return "the resource is not in the tenant — check the scope/resource and that the API's permissions were consented"
            case 65001: return "admin consent is missing — open the link from `clavis consent-url`"
            case 7000218: return "the request carried no credential — configure a secret, certificate or federated token"
            case 700027: return "the certificate signature was not accepted — upload the certificate to the app registration"
            case 700021, 700023, 50027: return "the client assertion is malformed (issuer/subject, audience or format)"
            case 7000112: return "the application is disabled in the tenant"
            case 53003: return "Conditional Access blocked the request — ask the tenant's admins"
            case 50196: return "Entra detected a request loop: this client asks for tokens too often — cache them (CachingTokenCredential) and back off before trying again"
            default: continue
            }
        }
        return nil
    }

    /// One line: `Entra ID refused the token request: AADSTS7000215: …` — without the trace and
    /// correlation ids, which ``supportIds`` gives (shown with `--json` and in debug logs).
    public var description: String { "Entra ID refused the token request: \(message)" }

    /// `trace …, correlation …`, for Microsoft support; `nil` when the reply had none.
    public var supportIds: String? {
        traceId.map { "trace \($0)" + (correlationId.map { ", correlation \($0)" } ?? "") }
    }

    /// The code naming the cause: an unknown tenant or application, a rejected or expired client
    /// secret (each refining ``ClavisError/Code/permissionDenied``), else by status.
    public var clavisCode: ClavisError.Code {
        if isTransient { return .sourceUnavailable }
        if codes.contains(90002) { return .unknownTenant }
        if codes.contains(700016) { return .unknownApplication }
        if codes.contains(7000222) { return .expiredClientSecret }
        if codes.contains(7000215) { return .invalidClientSecret }
        return status == 401 || status == 400 ? .permissionDenied : .serviceError
    }

    /// The same failure in the Clavis error family. `reference` (the secret's) is kept only where
    /// the secret is the cause; a tenant or application error names no reference.
    public func clavisError(reference: String?) -> ClavisError {
        let code = clavisCode
        let blamesSecret = code == .invalidClientSecret || code == .expiredClientSecret || !code.is(.permissionDenied)
        return ClavisError(code, reference: blamesSecret ? reference : nil, reason: description, hint: hint, cause: self)
    }
}

extension ClavisError.Code {
    /// Entra ID has no such tenant (AADSTS90002); refines ``permissionDenied``.
    public static let unknownTenant = ClavisError.Code("unknown-tenant", refines: .permissionDenied)
    /// The tenant has no such application (AADSTS700016); refines ``permissionDenied``.
    public static let unknownApplication = ClavisError.Code("unknown-application", refines: .permissionDenied)
    /// The client secret was refused (AADSTS7000215: often the secret's ID pasted for its value); refines ``permissionDenied``.
    public static let invalidClientSecret = ClavisError.Code("invalid-client-secret", refines: .permissionDenied)
    /// The client secret has expired (AADSTS7000222); refines ``permissionDenied``.
    public static let expiredClientSecret = ClavisError.Code("expired-client-secret", refines: .permissionDenied)
}

extension ClavisError {
    /// The Entra ID error reply behind this error (anywhere down its causes), when the token
    /// endpoint refused a request:
    /// branch on its ``EntraError/codes`` (AADSTS numbers). The token endpoint is the one place
    /// such a reply becomes a ``ClavisError``; every credential throws that error unchanged.
    public var entraError: EntraError? { underlyingCause(EntraError.self) }
}
