import ClavisCore
import ClavisIdentity
import Foundation

/// Key Vault's error JSON `{"error":{"code","message","innererror":{"code"}}}` (read by
/// ``ServiceErrorReply``), mapped to Clavis errors with a hint per case.
enum KeyVaultErrorReply {
    /// A 409 `ObjectIsBeingDeleted`: a delete or purge of this name is still completing
    /// (Key Vault's soft delete is asynchronous; it passes within seconds).
    static func isBeingDeleted(_ reply: HTTPReply) -> Bool {
        reply.status == 409 && ServiceErrorReply(reply).innerCode == "ObjectIsBeingDeleted"
    }

    static func map(_ reply: HTTPReply, reference: String, operation: String) -> ClavisError {
        let error = ServiceErrorReply(reply)
        let code = error.code
        let message = error.message ?? "no error body"
        let mapped: ClavisError = switch (reply.status, error.specificCode) {
        case (404, _):
            ClavisError(.notFound, reference: reference, reason: "Key Vault has no such secret (\(code))",
                        hint: "check the name and version; a deleted secret is under deletedsecrets")
        case (403, "SecretDisabled"):
            ClavisError(.permissionDenied, reference: reference, reason: "the secret is disabled (SecretDisabled)",
                        hint: "enable it, or read another version")
        case (403, "ForbiddenByRbac"):
            ClavisError(.permissionDenied, reference: reference, reason: "the identity may not \(operation) secrets in this vault (ForbiddenByRbac): \(message)",
                        hint: "assign it the 'Key Vault Secrets User' role (read) or 'Key Vault Secrets Officer' (write) on the vault")
        case (403, "ForbiddenByPolicy"):
            ClavisError(.permissionDenied, reference: reference, reason: "the vault's access policy does not allow \(operation) (ForbiddenByPolicy)",
                        hint: "add Get/List (read) or Set/Delete (write) secret permissions for the identity in the vault's access policies")
        case (403, "ForbiddenByFirewall"):
            ClavisError(.permissionDenied, reference: reference, reason: "the vault's firewall refused this client (ForbiddenByFirewall)",
                        hint: "allow this network, or use a private endpoint")
        case (403, _):
            ClavisError(.permissionDenied, reference: reference, reason: "Key Vault refused the request (\(code)): \(message)")
        case (401, _):
            ClavisError(.permissionDenied, reference: reference, reason: "Key Vault did not accept the token (\(code)): \(message)",
                        hint: "check that the token is for https://vault.azure.net and the vault's tenant")
        case (409, "ObjectIsBeingDeleted"):
            ClavisError(.sourceUnavailable, reference: reference,
                        reason: "Key Vault is still deleting or purging this secret (ObjectIsBeingDeleted) and did not finish while Clavis retried",
                        hint: "Key Vault completes deletes and purges asynchronously, usually within seconds; try again shortly")
        case (409, "ObjectIsDeletedButRecoverable"):
            ClavisError(.invalidValue, reference: reference, reason: "a deleted secret of this name is still recoverable (ObjectIsDeletedButRecoverable)",
                        hint: "recover it, or purge it first")
        case (429, _):
            ClavisError(.sourceUnavailable, reference: reference, reason: "Key Vault throttled the requests (Throttled) even after backing off",
                        hint: "cache reads (they are, for the TTL) and spread writes")
        default:
            ClavisError(error.clavisCode, reference: reference, reason: "Key Vault answered HTTP \(reply.status) (\(code)): \(message)")
        }
        return ClavisError(mapped.code, reference: mapped.reference, reason: mapped.reason, hint: mapped.hint, cause: error)
    }
}
