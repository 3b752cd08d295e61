import ClavisCore

/// A Microsoft REST error reply, read once for every client that gets one: Graph and the Defender
/// API (`{"error":{"code","message","innerError":{…}}}`, learn.microsoft.com/graph/errors — the
/// innermost `code` is the most specific) and Key Vault (the same shape with `innererror`,
/// learn.microsoft.com/azure/key-vault/general/rest-error-codes). Entra's token endpoint has
/// its own shape (``EntraError``).
///
/// This is where such a reply's status becomes a ``ClavisError/Code`` (``clavisCode``); each
/// client builds its error from it, adds its own hints, and keeps it as the error's
/// ``ClavisError/cause`` (``ClavisError/serviceReply``): branch on ``specificCode``. Throttling (429) is the clients' own:
/// they wait and retry before a reply reaches here.
public struct ServiceErrorReply: Error, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public var status: Int
    /// The top-level `code`, e.g. `Forbidden`; `HTTP 403` when the body has none.
    public var code: String
    /// The innermost `innererror.code` (`ForbiddenByRbac`, `SecretDisabled`); `nil` when absent.
    public var innerCode: String?
    /// The service's `message`, at most 300 characters; `nil` when absent or empty. Services never
    /// echo the token or a secret value in it.
    public var message: String?

    /// Reads `reply`'s body; a body that is not this shape leaves only the status.
    public init(_ reply: HTTPReply) {
        status = reply.status
        let error = reply.jsonObject?["error"] as? [String: Any]
        code = (error?["code"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "HTTP \(reply.status)"
        var inner: String?
        var level = error
        // Graph nests innerError objects (the deepest code is the most specific); Key Vault
        // spells it innererror. Bounded, so a hostile reply cannot make this loop long.
        for _ in 0..<8 {
            guard let next = (level?["innererror"] ?? level?["innerError"]) as? [String: Any] else { break }
            if let text = next["code"] as? String, !text.isEmpty { inner = text }
            level = next
        }
        innerCode = inner
        message = (error?["message"] as? String).flatMap { $0.isEmpty ? nil : ($0.count > 300 ? String($0.prefix(300)) + "…" : $0) }
    }

    /// The most specific code: ``innerCode`` when there is one, else ``code``.
    public var specificCode: String { innerCode ?? code }

    /// ``message``, or `HTTP 403` when the reply had none.
    public var messageOrStatus: String { message ?? "HTTP \(status)" }

    /// What the status means in Clavis's codes: 401 and 403 refuse the caller
    /// (``ClavisError/Code/permissionDenied``), 404 names nothing (``ClavisError/Code/notFound``),
    /// the statuses the transport retries as passing — 408, 429, 502, 503, 504 — are still passing
    /// when retries ran out (``ClavisError/Code/sourceUnavailable``, so a chain tries its next
    /// source), and anything else is the service's failure (``ClavisError/Code/serviceError``).
    public var clavisCode: ClavisError.Code {
        switch status {
        case 401, 403: .permissionDenied
        case 404: .notFound
        case 408, 429, 502, 503, 504: .sourceUnavailable
        default: .serviceError
        }
    }

    /// `HTTP 403 Forbidden (ForbiddenByRbac): message`.
    public var description: String {
        "HTTP \(status)" + (code == "HTTP \(status)" ? "" : " \(code)") + (innerCode.map { " (\($0))" } ?? "") + (message.map { ": \($0)" } ?? "")
    }
}

extension ClavisError {
    /// The service's error reply behind this error (anywhere down its causes), when Graph, the
    /// Defender API or Key Vault refused a request; `nil` otherwise.
    public var serviceReply: ServiceErrorReply? { underlyingCause(ServiceErrorReply.self) }
}
