import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import JWTKit

/// What every route group does before its own work: count the request, apply an injected fault,
/// and recognise the bearer tokens this emulator issued.
extension EmulatorState {
    /// Counts a request to `target` and applies the next fault injected for it. Returns `nil` to
    /// proceed (after a `delay`), or the faulted reply: `malformed` (truncated JSON), `drop` (the
    /// connection closes mid-reply), `redirect` (a 3xx to the fault's `location`), or a `status` reply in the route group's own error shape
    /// (`reply` gets the fault and a `Retry-After` header when the fault sets one).
    func intercept(_ target: String, status reply: (Fault, HTTPFields) -> Response) async throws -> Response? {
        count(target)
        guard let fault = takeFault(for: target) else { return nil }
        return try await apply(fault, status: reply)
    }

    /// Applies one fault already taken (see ``intercept(_:status:)``): `nil` to proceed.
    func apply(_ fault: Fault, status reply: (Fault, HTTPFields) -> Response) async throws -> Response? {
        switch fault.kind {
        case "delay":
            try await Task.sleep(for: .milliseconds(fault.delayMilliseconds ?? 1000))
            return nil
        case "malformed":
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"access_token\": ")))
        case "body":
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: fault.body ?? "{}")))
        case "redirect":
            var headers: HTTPFields = [:]
            headers[.location] = fault.location ?? "/"
            return Response(status: HTTPResponse.Status(code: fault.status ?? 307), headers: headers)
        case "drop":
            // The body fails mid-write: the server closes the connection without a complete reply.
            return Response(status: .ok, headers: [.contentType: "application/json", .contentLength: "4096"],
                            body: ResponseBody { _ in throw DroppedConnection() })
        default:
            var headers: HTTPFields = [:]
            if let retryAfter = fault.retryAfter { headers[HTTPField.Name("Retry-After")!] = String(retryAfter) }
            return reply(fault, headers)
        }
    }

    /// The claims of `authorization` (`Bearer …`) if it is an unexpired token this emulator signed.
    /// Audience, tenant and roles are the caller's to check.
    func issuedClaims(_ authorization: String?) async -> AppTokenClaims? {
        guard let authorization, authorization.hasPrefix("Bearer "),
              let claims = await verifiedClaims(String(authorization.dropFirst(7))),
              claims.exp > Int(Date().timeIntervalSince1970) else { return nil }
        return claims
    }

    /// The claims of a token this emulator signed (expiry unchecked). A token with a `nonce` header
    /// (Graph's) is verified as Graph does: with the nonce's SHA-256 put back in the header.
    func verifiedClaims(_ token: String) async -> AppTokenClaims? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else { return nil }
        var signed = token
        if let header = Assertions.decode(Substring(parts[0])), let nonce = header["nonce"] as? String {
            var hashedHeader = header
            hashedHeader["nonce"] = IdentityRoutes.base64URL(Array(SHA256.hash(data: Data(nonce.utf8))))
            guard let data = try? JSONSerialization.data(withJSONObject: hashedHeader, options: [.sortedKeys]) else { return nil }
            signed = IdentityRoutes.base64URL(Array(data)) + "." + parts[1] + "." + parts[2]
        }
        return try? await keys.verify(signed, as: AppTokenClaims.self)
    }
}

/// Thrown by a `drop` fault's body so the connection closes mid-reply.
struct DroppedConnection: Error {}
