import Foundation
import HTTPTypes
import Hummingbird
import JWTKit

/// How a vault authenticates and authorizes a request, as Key Vault does
/// (azure-security-docs `rest-error-codes.md`, "HTTP 401: Unauthenticated Request"): no token, an
/// invalid signature, a token not yet valid or expired, another audience, or an issuer that is not
/// the vault's tenant's → 401 `Unauthorized` with a `WWW-Authenticate` challenge naming the vault's
/// own tenant (so a client signed in to another tenant learns which one to ask); then the access
/// policy or RBAC role decides (403 `ForbiddenByPolicy` / `ForbiddenByRbac`).
struct VaultAuth: Sendable {
    let vault: EmulatorConfig.Vault
    let state: EmulatorState

    /// The access-policy permission each operation needs. `recover` and `purge` are permissions of
    /// their own (Key Vault access policies; `Undo-AzKeyVaultSecretRemoval`: "Caller needs to have
    /// 'recover' permission").
    static let permissions: Set<String> = ["get", "list", "set", "delete", "recover", "purge"]

    /// The RBAC data action Azure names in a `ForbiddenByRbac` message for each operation.
    static func dataAction(_ operation: String) -> String {
        switch operation {
        case "get": "Microsoft.KeyVault/vaults/secrets/getSecret/action"
        case "list": "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
        case "set": "Microsoft.KeyVault/vaults/secrets/setSecret/action"
        case "update": "Microsoft.KeyVault/vaults/secrets/update/action"
        case "delete": "Microsoft.KeyVault/vaults/secrets/delete"
        case "recover": "Microsoft.KeyVault/vaults/secrets/recover/action"
        case "purge": "Microsoft.KeyVault/vaults/secrets/purge/action"
        default: "Microsoft.KeyVault/vaults/secrets/\(operation)"
        }
    }

    /// `Bearer authorization="{login}/{tenant}", resource="https://vault.azure.net"`.
    func challenge(_ root: String) -> HTTPFields {
        var fields = HTTPFields()
        let login = state.identityBase ?? root
        fields[.wwwAuthenticate] =
            "Bearer authorization=\"\(login)/\(vault.tenant)\", resource=\"\(vault.challengeResource ?? "https://vault.azure.net")\""
            + (vault.challengeScope.map { ", scope=\"\($0)\"" } ?? "")
        return fields
    }

    /// The app id of an acceptable token, or the 401 to send.
    enum Outcome {
        case app(String)
        case refused(Response)
    }

    /// Checks the bearer token.
    func authenticate(_ request: Request, root: String) async -> Outcome {
        let challenge = challenge(root)
        func unauthorized(_ message: String) -> Outcome {
            .refused(VaultReply.error(.unauthorized, "Unauthorized", message, headers: challenge))
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return unauthorized("AKV10000: Request is missing a Bearer or PoP token.")
        }
        state.count("vault.authorized")
        guard let claims = await state.verifiedClaims(String(header.dropFirst(7))) else {
            return unauthorized("AKV10022: Invalid audience or signature: the token's signature could not be verified.")
        }
        let now = Int(Date().timeIntervalSince1970)
        // The same 5-minute skew both ways. Texts as the service sends them (issue threads:
        // azure-sdk-for-java#26624 "Token not yet valid", CDCgov/prime-reportstream#2566 "[TokenExpired]").
        guard claims.nbf <= now + 300 else { return unauthorized("Token not yet valid.") }
        guard claims.exp > now - 300 else { return unauthorized("[TokenExpired] Error validating token: 'S2S12086'.") }  // clavis:allow (Key Vault's error text, not a secret)
        // Exactly Key Vault's identifier or its application id; a trailing slash is refused
        // (rest-error-codes.md: the resource "with no trailing slash"; argocd-vault-plugin#621 quotes
        // "AKV10022: Invalid audience. Expected https://vault.azure.net or cfa8b339-…").
        guard ["https://vault.azure.net", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093"].contains(claims.aud.lowercased()) else {
            return unauthorized("AKV10022: Invalid audience. Expected https://vault.azure.net or cfa8b339-82a2-471a-a3c9-0fc0be7a4093, found: \(claims.aud).")
        }
        let issuers = ["https://sts.windows.net/\(vault.tenant)/", "\(state.identityBase ?? "")/\(vault.tenant)/v2.0"]
        guard claims.tid.lowercased() == vault.tenant.lowercased(), issuers.contains(where: { $0.lowercased() == claims.iss.lowercased() }) else {
            return unauthorized("AKV10032: Invalid issuer. Expected one of \(issuers.joined(separator: ", ")), found \(claims.iss).")
        }
        return .app(claims.appid ?? claims.azp ?? "")
    }

    /// `nil` if `app` may run `operation`, else the 403 to send.
    func authorize(_ app: String, _ operation: String) -> Response? {
        let allowed = vault.access.first { $0.key.lowercased() == app.lowercased() }?.value ?? []
        // PATCH is the access policy's `set` permission, and RBAC's own `update/action`.
        guard !allowed.contains(operation == "update" ? "set" : operation) else { return nil }
        let rbac = (vault.authorization ?? "rbac") == "rbac"
        return VaultReply.error(.forbidden, "Forbidden",
                                rbac ? "Caller is not authorized to perform action on resource. Action: '\(Self.dataAction(operation))'"
                                     : "The user, group or application 'appid=\(app)' does not have secrets \(operation == "update" ? "set" : operation) permission on key vault '\(vault.name)'.",
                                inner: rbac ? "ForbiddenByRbac" : "ForbiddenByPolicy")
    }
}

/// Key Vault's reply shapes.
enum VaultReply {
    /// `{"error":{"code","message","innererror":{"code"}}}`.
    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, inner: String? = nil, headers: HTTPFields = [:]) -> Response {
        var error: [String: Any] = ["code": code, "message": message]
        if let inner { error["innererror"] = ["code": inner] }
        return EntraReply.json(["error": error], status: status, headers: headers)
    }

    /// A refusal from the store as Key Vault words it.
    static func refusal(_ refusal: VaultStore.Refusal, name: String) -> Response {
        switch refusal {
        case .notFound:
            error(.notFound, "SecretNotFound", "A secret with (name/id) \(name) was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.")
        case .deletedNotFound:
            error(.notFound, "SecretNotFound", "Deleted Secret not found: \(name)")
        case .beingDeleted:
            error(.conflict, "Conflict", "Secret \(name) is currently being deleted and cannot be re-created; retry later.", inner: "ObjectIsBeingDeleted")
        case .deletedButRecoverable:
            error(.conflict, "Conflict", "Secret \(name) is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
                  inner: "ObjectIsDeletedButRecoverable")
        case .disabled:
            error(.forbidden, "Forbidden", "Operation get is not allowed on a disabled secret.", inner: "SecretDisabled")
        }
    }
}

extension EmulatorState {
    /// Signs a token with the emulator's key, with claims of the caller's choosing — for tests of
    /// how services treat bad tokens (expired, not yet valid, another audience, issuer or tenant).
    /// `issuer` defaults to the v1 issuer of `tenant`.
    public func mintToken(audience: String, tenant: String, appId: String, issuer: String? = nil,
                          notBefore: Date = Date(), expires: Date = Date().addingTimeInterval(3600)) async throws -> String {
        let objectId = UUID().uuidString.lowercased()
        let claims = AppTokenClaims(aud: audience, iss: issuer ?? "https://sts.windows.net/\(tenant)/", iat: Int(notBefore.timeIntervalSince1970),
                                    nbf: Int(notBefore.timeIntervalSince1970), exp: Int(expires.timeIntervalSince1970), tid: tenant, oid: objectId,
                                    sub: objectId, idtyp: nil, idp: nil, ver: "1.0", uti: String(UUID().uuidString.prefix(22)), roles: nil,
                                    appid: appId, appidacr: "1", azp: nil, azpacr: nil)
        return try await keys.sign(claims, kid: JWKIdentifier(string: keyId))
    }
}
