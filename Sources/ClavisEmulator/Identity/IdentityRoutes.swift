import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import JWTKit

/// The claims of an app-only token, as Entra issues them.
struct AppTokenClaims: JWTPayload {
    var aud: String
    var iss: String
    var iat: Int
    var nbf: Int
    var exp: Int
    var tid: String
    var oid: String
    var sub: String
    var idtyp: String
    var ver: String
    var uti: String
    var roles: [String]?
    var appid: String?
    var appidacr: String?
    var azp: String?
    var azpacr: String?
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Entra ID's endpoints: v1/v2 token, OpenID discovery, JWKS, IMDS and App Service managed identity.
struct IdentityRoutes: Sendable {
    let state: EmulatorState
    let scheme: String

    func register(on router: Router<BasicRequestContext>) {
        router.post("/:tenant/oauth2/v2.0/token") { request, context in try await token(request, context, version: 2) }
        router.post("/:tenant/oauth2/token") { request, context in try await token(request, context, version: 1) }
        router.get("/:tenant/v2.0/.well-known/openid-configuration") { request, context in try await discovery(request, context, version: 2) }
        router.get("/:tenant/.well-known/openid-configuration") { request, context in try await discovery(request, context, version: 1) }
        router.get("/:tenant/discovery/v2.0/keys") { _, _ in try await faulted("jwks") { EntraReply.json(try state.jwks()) } }
        router.get("/:tenant/discovery/keys") { _, _ in try await faulted("jwks") { EntraReply.json(try state.jwks()) } }
        router.get("/common/discovery/instance") { request, _ in
            EntraReply.json(["tenant_discovery_endpoint": "\(base(request))/common/v2.0/.well-known/openid-configuration", "api-version": "1.1",
                             "metadata": [] as [Any]])
        }
        router.get("/metadata/identity/oauth2/token") { request, _ in try await managedIdentity(request, appService: false) }
        router.get("/msi/token") { request, _ in try await managedIdentity(request, appService: true) }
    }

    func base(_ request: Request) -> String { "\(scheme)://\(request.head.authority ?? "127.0.0.1")" }

    /// Applies an injected fault for `target`, or runs `body`.
    func faulted(_ target: String, _ body: () async throws -> Response) async throws -> Response {
        let faulted = try await state.intercept(target) { fault, headers in
            let status = HTTPResponse.Status(code: fault.status ?? 500)
            return EntraReply.json(["error": "temporarily_unavailable", "error_description": "AADSTS50196: injected fault (HTTP \(status.code))",
                                    "error_codes": [50196]], status: status, headers: headers)
        }
        if let faulted { return faulted }
        return try await body()
    }

    func discovery(_ request: Request, _ context: BasicRequestContext, version: Int) async throws -> Response {
        try await faulted("discovery") {
            let name = context.parameters.get("tenant") ?? "common"
            let tenantId = state.tenant(name)?.id ?? name
            let root = base(request)
            let path = version == 2 ? "oauth2/v2.0" : "oauth2"
            return EntraReply.json([
                "issuer": version == 2 ? "\(root)/\(tenantId)/v2.0" : "https://sts.windows.net/\(tenantId)/",
                "token_endpoint": "\(root)/\(tenantId)/\(path)/token",
                "authorization_endpoint": "\(root)/\(tenantId)/\(path)/authorize",
                "jwks_uri": "\(root)/\(tenantId)/discovery/\(version == 2 ? "v2.0/" : "")keys",
                "response_types_supported": ["code", "id_token", "token"], "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"], "tenant_region_scope": "EU",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            ])
        }
    }

    func token(_ request: Request, _ context: BasicRequestContext, version: Int) async throws -> Response {
        let body = try await request.body.collect(upTo: 1 << 20)
        return try await faulted("token") {
            let form = Form.parse(String(buffer: body))
            let tenantName = context.parameters.get("tenant") ?? ""
            guard let tenant = state.tenant(tenantName) else {
                return EntraReply.error("invalid_request", code: 90002, message: "Tenant '\(tenantName)' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", status: .badRequest)
            }
            guard form["grant_type"] == "client_credentials" else {
                return EntraReply.error("unsupported_grant_type", code: 70003, message: "The app requested an unsupported grant type.", status: .badRequest)
            }
            guard let clientId = form["client_id"], let app = tenant.apps.first(where: { $0.clientId.lowercased() == clientId.lowercased() }) else {
                return EntraReply.error("unauthorized_client", code: 700016, message: "Application with identifier '\(form["client_id"] ?? "")' was not found in the directory '\(tenant.id)'.", status: .badRequest)
            }
            if app.disabled == true {
                return EntraReply.error("unauthorized_client", code: 7000112, message: "Application '\(app.clientId)' is disabled.", status: .badRequest)
            }
            let resource: String
            if version == 2 {
                guard let scope = form["scope"], scope.hasSuffix("/.default") else {
                    return EntraReply.error("invalid_scope", code: 1002012, message: "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", status: .badRequest)
                }
                resource = String(scope.dropLast("/.default".count))
            } else {
                guard let value = form["resource"], !value.isEmpty else {
                    return EntraReply.error("invalid_request", code: 900144, message: "The request body must contain the following parameter: 'resource'.", status: .badRequest)
                }
                resource = value
            }
            let endpoint = "\(base(request))/\(tenantName)/oauth2/\(version == 2 ? "v2.0/" : "")token"
            let authentication: String
            if let secret = form["client_secret"] {
                guard app.secrets?.contains(secret) == true else {
                    return EntraReply.error("invalid_client", code: 7000215, message: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(app.clientId)'.", status: .unauthorized)
                }
                authentication = "1"
            } else if form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", let assertion = form["client_assertion"] {
                if let failure = await Assertions.check(assertion, app: app, audience: endpoint, tenantId: tenant.id) { return failure }
                authentication = "2"
            } else {
                return EntraReply.error("invalid_client", code: 7000218, message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", status: .unauthorized)
            }
            let permissions = app.permissions?.first { Self.sameResource($0.key, resource) }?.value
            guard permissions != nil || Self.isKnownAPI(resource) else {
                return EntraReply.error("invalid_resource", code: 500011, message: "The resource principal named \(resource) was not found in the tenant named \(tenant.id).", status: .badRequest)
            }
            if app.consented == false, permissions?.isEmpty == false {
                return EntraReply.error("invalid_grant", code: 65001, message: "The user or administrator has not consented to use the application with ID '\(app.clientId)'. Send an interactive authorization request for this user and resource.", status: .badRequest)
            }
            return try await issue(tenant: tenant, appId: app.clientId, resource: resource, roles: permissions ?? [], version: version,
                                   request: request, authentication: authentication, managed: false)
        }
    }

    func managedIdentity(_ request: Request, appService: Bool) async throws -> Response {
        try await faulted("imds") {
            let query = request.uri.queryParameters
            if appService {
                guard request.headers[HTTPField.Name("X-IDENTITY-HEADER")!] != nil else {
                    return EntraReply.json(["error": "invalid_request", "error_description": "X-IDENTITY-HEADER is missing"], status: .badRequest)
                }
            } else {
                guard request.headers[HTTPField.Name("Metadata")!] == "true" else {
                    return EntraReply.json(["error": "invalid_request", "error_description": "Required metadata header not specified"], status: .badRequest)
                }
            }
            guard let resource = query.get("resource"), !resource.isEmpty else {
                return EntraReply.json(["error": "invalid_request", "error_description": "Required query variable 'resource' is missing"], status: .badRequest)
            }
            let wanted = query.get("client_id")
            for tenant in state.config.tenants {
                for identity in tenant.managedIdentities ?? [] where wanted.map({ $0.lowercased() == identity.clientId.lowercased() }) ?? (identity.systemAssigned ?? false) {
                    let roles = identity.permissions?.first { Self.sameResource($0.key, resource) }?.value ?? []
                    return try await issue(tenant: tenant, appId: identity.clientId, resource: resource, roles: roles, version: 1,
                                           request: request, authentication: "2", managed: true)
                }
            }
            return EntraReply.json(["error": "invalid_request", "error_description": "Identity not found"], status: .badRequest)
        }
    }

    func issue(tenant: EmulatorConfig.Tenant, appId: String, resource: String, roles: [String], version: Int, request: Request,
               authentication: String, managed: Bool) async throws -> Response {
        let now = Int(Date().timeIntervalSince1970)
        let lifetime = state.config.tokenLifetime ?? 3599
        let objectId = Self.stableUUID(tenant.id + "/" + appId)
        let claims = AppTokenClaims(
            aud: resource, iss: version == 2 ? "\(base(request))/\(tenant.id)/v2.0" : "https://sts.windows.net/\(tenant.id)/",
            iat: now, nbf: now, exp: now + lifetime, tid: tenant.id, oid: objectId, sub: objectId, idtyp: "app",
            ver: version == 2 ? "2.0" : "1.0", uti: String(UUID().uuidString.prefix(22)), roles: roles.isEmpty ? nil : roles,
            appid: version == 1 ? appId : nil, appidacr: version == 1 ? authentication : nil,
            azp: version == 2 ? appId : nil, azpacr: version == 2 ? authentication : nil)
        let token = try await state.keys.sign(claims, kid: JWKIdentifier(string: state.keyId))
        var reply: [String: Any] = ["token_type": "Bearer", "access_token": token]
        if managed {
            reply.merge(["expires_in": String(lifetime), "expires_on": String(now + lifetime), "ext_expires_in": String(lifetime),
                         "not_before": String(now), "resource": resource, "client_id": appId]) { $1 }
        } else if version == 1 {
            reply.merge(["expires_in": String(lifetime), "ext_expires_in": String(lifetime), "expires_on": String(now + lifetime),
                         "not_before": String(now), "resource": resource]) { $1 }
        } else {
            reply.merge(["expires_in": lifetime, "ext_expires_in": lifetime]) { $1 }
        }
        if let refreshIn = state.config.refreshIn { reply["refresh_in"] = refreshIn }
        return EntraReply.json(reply)
    }

    static func sameResource(_ a: String, _ b: String) -> Bool {
        func trim(_ text: String) -> String { text.hasSuffix("/") ? String(text.dropLast()).lowercased() : text.lowercased() }
        return trim(a) == trim(b)
    }

    /// Microsoft APIs that exist in every tenant (a token without roles is issued for them).
    static func isKnownAPI(_ resource: String) -> Bool {
        ["https://api.security.microsoft.com", "https://api.securitycenter.microsoft.com", "https://graph.microsoft.com",
         "https://vault.azure.net", "https://management.azure.com"].contains { sameResource($0, resource) }
    }

    static func stableUUID(_ seed: String) -> String {
        let digest = Array(SHA256.hash(data: Data(seed.utf8)))
        let hex = digest.prefix(16).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        let characters = Array(hex)
        return "\(String(characters[0..<8]))-\(String(characters[8..<12]))-\(String(characters[12..<16]))-\(String(characters[16..<20]))-\(String(characters[20..<32]))"
    }
}
