import ClavisCore
@testable import ClavisIdentity
import Testing

/// The Microsoft REST error shape every service client reads through ``ServiceErrorReply``.
/// Shapes from learn.microsoft.com/graph/errors (nested `innerError`, the innermost code the most
/// specific) and Key Vault's rest-error-codes (`innererror`); the values are ours.
@Suite struct ServiceErrorReplyTests {
    func reply(_ status: Int, _ json: String) -> HTTPReply {
        HTTPReply(status: status, headers: [("Content-Type", "application/json")], body: Array(json.utf8))
    }

    @Test func graphNestsInnerErrorsAndTheDeepestCodeWins() {
        let error = ServiceErrorReply(reply(400, #"""
            {"error":{"code":"badRequest","message":"The range is not valid.","innerError":{"code":"invalidRange",
             "innerError":{"code":"rangeOverlap"},"date":"2026-11-27T10:00:00","request-id":"5b2c0b8e-0000-4000-8000-000000000001"}}}
            """#))
        #expect(error.code == "badRequest")
        #expect(error.innerCode == "rangeOverlap")
        #expect(error.specificCode == "rangeOverlap")
        #expect(error.message == "The range is not valid.")
        #expect(error.clavisCode == .serviceError)
    }

    @Test func keyVaultSpellsItInnererror() {
        let error = ServiceErrorReply(reply(403, #"{"error":{"code":"Forbidden","message":"Caller is not authorized.","innererror":{"code":"ForbiddenByRbac"}}}"#))
        #expect(error.code == "Forbidden" && error.innerCode == "ForbiddenByRbac")
        #expect(error.clavisCode == .permissionDenied)
    }

    @Test func aReplyWithoutTheShapeKeepsOnlyItsStatus() {
        for body in ["", "<html>busy</html>", #"{"error":"invalid_client"}"#, #"{"error":{"code":"","message":""}}"#] {
            let error = ServiceErrorReply(reply(503, body))
            #expect(error.code == "HTTP 503", "\(body)")
            #expect(error.innerCode == nil && error.message == nil, "\(body)")
            #expect(error.messageOrStatus == "HTTP 503")
            #expect(error.clavisCode == .sourceUnavailable)
        }
    }

    @Test func statusesMapToOneCodeEach() {
        let expected: [Int: ClavisError.Code] = [400: .serviceError, 401: .permissionDenied, 403: .permissionDenied, 404: .notFound, 408: .sourceUnavailable,
                                                 409: .serviceError, 410: .serviceError, 429: .sourceUnavailable, 500: .serviceError, 502: .sourceUnavailable,
                                                 503: .sourceUnavailable, 504: .sourceUnavailable]
        for (status, code) in expected {
            #expect(ServiceErrorReply(reply(status, "{}")).clavisCode == code, "\(status)")
        }
    }

    @Test func hostileRepliesAreBounded() {
        // A deep chain is read to a fixed depth, and a long message is cut.
        let deep = String(repeating: #"{"code":"level","innerError":"#, count: 40) + "{}" + String(repeating: "}", count: 40)
        let error = ServiceErrorReply(reply(400, #"{"error":{"code":"x","innerError":"# + deep + "}}"))
        #expect(error.innerCode == "level")
        let long = ServiceErrorReply(reply(400, #"{"error":{"code":"x","message":""# + String(repeating: "m", count: 5000) + #""}}"#))
        #expect((long.message?.count ?? 0) <= 301)
    }
}

extension ServiceErrorReplyTests {
    @Test func describesItselfInOneLine() {
        #expect(ServiceErrorReply(reply(403, #"{"error":{"code":"Forbidden","message":"no","innererror":{"code":"ForbiddenByRbac"}}}"#)).description
            == "HTTP 403 Forbidden (ForbiddenByRbac): no")
        #expect(ServiceErrorReply(reply(503, "")).description == "HTTP 503")
    }
}

extension ServiceErrorReplyTests {
    /// A Clavis error that wraps another (rotation's proof wraps the token endpoint's) still shows
    /// the service's reply and Entra's codes.
    @Test func causesAreFoundDownTheChain() throws {
        let entra = try #require(EntraError(status: 401, body: Array(#"{"error":"invalid_client","error_codes":[7000215],"trace_id":"t1"}"#.utf8)))
        let inner = entra.clavisError(reference: "keyring:app/secret")
        let outer = ClavisError(.serviceError, reference: "keyring:app/secret", reason: "the new secret did not get a token", cause: inner)
        #expect(outer.entraError?.codes == [7000215] && outer.entraError?.traceId == "t1")
        #expect(outer.serviceReply == nil)
        let vault = ClavisError(.permissionDenied, reason: "refused", cause: ServiceErrorReply(reply(403, #"{"error":{"code":"Forbidden","innererror":{"code":"SecretDisabled"}}}"#)))
        let wrapped = ClavisError(.notFound, reason: "wrapped", cause: ClavisError(.serviceError, reason: "middle", cause: vault))
        #expect(wrapped.serviceReply?.specificCode == "SecretDisabled")
        #expect(wrapped.underlyingCause(EntraError.self) == nil)
    }
}
