import ClavisCore
import ClavisIdentity
import Foundation

/// Key Vault's error JSON `{"error":{"code","message","innererror":{"code"}}}`, mapped to
/// Clavis errors with a hint per case.
enum KeyVaultErrorReply {
    /// A 409 `ObjectIsBeingDeleted`: a delete or purge of this name is still completing
    /// (Key Vault's soft delete is asynchronous; it passes within seconds).
    static func isBeingDeleted(_ reply: HTTPReply) -> Bool {
        guard reply.status == 409 else { return false }
        let error = reply.jsonObject?["error"] as? [String: Any]
        return (error?["innererror"] as? [String: Any])?["code"] as? String == "ObjectIsBeingDeleted"
    }

    static func map(_ reply: HTTPReply, reference: String, operation: String) -> ClavisError {
        let error = reply.jsonObject?["error"] as? [String: Any]
        let code = error?["code"] as? String ?? "HTTP \(reply.status)"
        let inner = (error?["innererror"] as? [String: Any])?["code"] as? String
        let message = (error?["message"] as? String).map { $0.count > 300 ? String($0.prefix(300)) + "…" : $0 } ?? "no error body"
        switch (reply.status, inner ?? code) {
        case (404, _):
            return ClavisError(.notFound, reference: reference, reason: "Key Vault has no such secret (\(code))",
                               hint: "check the name and version; a deleted secret is under deletedsecrets")
        case (403, "SecretDisabled"):
            return ClavisError(.permissionDenied, reference: reference, reason: "the secret is disabled (SecretDisabled)",
                               hint: "enable it, or read another version")
        case (403, "ForbiddenByRbac"):
            return ClavisError(.permissionDenied, reference: reference, reason: "the identity may not \(operation) secrets in this vault (ForbiddenByRbac): \(message)",
                               hint: "assign it the 'Key Vault Secrets User' role (read) or 'Key Vault Secrets Officer' (write) on the vault")
        case (403, "ForbiddenByPolicy"):
            return ClavisError(.permissionDenied, reference: reference, reason: "the vault's access policy does not allow \(operation) (ForbiddenByPolicy)",
                               hint: "add Get/List (read) or Set/Delete (write) secret permissions for the identity in the vault's access policies")
        case (403, "ForbiddenByFirewall"):
            return ClavisError(.permissionDenied, reference: reference, reason: "the vault's firewall refused this client (ForbiddenByFirewall)",
                               hint: "allow this network, or use a private endpoint")
        case (403, _):
            return ClavisError(.permissionDenied, reference: reference, reason: "Key Vault refused the request (\(code)): \(message)")
        case (401, _):
            return ClavisError(.permissionDenied, reference: reference, reason: "Key Vault did not accept the token (\(code)): \(message)",
                               hint: "check that the token is for https://vault.azure.net and the vault's tenant")
        case (409, "ObjectIsBeingDeleted"):
            return ClavisError(.sourceUnavailable, reference: reference,
                               reason: "Key Vault is still deleting or purging this secret (ObjectIsBeingDeleted) and did not finish while Clavis retried",
                               hint: "Key Vault completes deletes and purges asynchronously, usually within seconds; try again shortly")
        case (409, "ObjectIsDeletedButRecoverable"):
            return ClavisError(.invalidValue, reference: reference, reason: "a deleted secret of this name is still recoverable (ObjectIsDeletedButRecoverable)",
                               hint: "recover it, or purge it first")
        case (429, _):
            return ClavisError(.sourceUnavailable, reference: reference, reason: "Key Vault throttled the requests (Throttled) even after backing off",
                               hint: "cache reads (they are, for the TTL) and spread writes")
        default:
            return ClavisError(.serviceError, reference: reference, reason: "Key Vault answered HTTP \(reply.status) (\(code)): \(message)")
        }
    }
}
