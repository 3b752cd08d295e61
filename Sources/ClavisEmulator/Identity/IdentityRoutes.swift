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
    /// Optional in Entra (optional-claims-reference.md): only Graph's tokens carry it here.
    var idtyp: String?
    /// The identity provider: the tenant's v1 issuer for app tokens.
    var idp: String?
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

    /// Applies an injected fault for `target`, or runs `body`. Entra's faults look as Entra sends
    /// them: a 429 is throttling (AADSTS90055, with `Retry-After`), a 5xx `temporarily_unavailable`
    /// (AADSTS50033); kinds `loop` (AADSTS50196, loop detection — a client without a token cache)
    /// and `consent` (AADSTS65001) inject those errors. IMDS faults have IMDS's shapes.
    func faulted(_ target: String, _ body: () async throws -> Response) async throws -> Response {
        let faulted = try await state.intercept(target) { fault, headers in
            target == "imds" ? Self.imdsFault(fault, headers) : Self.entraFault(fault, headers)
        }
        if let faulted { return faulted }
        return try await body()
    }

    static func entraFault(_ fault: Fault, _ headers: HTTPFields) -> Response {
        switch fault.kind {
        case "loop":
            return EntraReply.error("invalid_request", code: 50196, message: "The server terminated an operation because it encountered a client request loop. Please contact your app vendor.",
                                    status: HTTPResponse.Status(code: fault.status ?? 400), headers: headers)
        case "consent":
            return EntraReply.error("invalid_grant", code: 65001, message: "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.",
                                    status: HTTPResponse.Status(code: fault.status ?? 400), headers: headers)
        default:
            let status = HTTPResponse.Status(code: fault.status ?? 503)
            if status.code == 429 {
                return EntraReply.error("temporarily_unavailable", code: 90055, message: "TenantThrottlingError: There are too many incoming requests. Retry later.",
                                        status: status, headers: headers)
            }
            return EntraReply.error("temporarily_unavailable", code: 50033, message: "The service is temporarily unavailable. Retry the request.",
                                    status: status, headers: headers)
        }
    }

    /// IMDS's replies as its guidance lists them (azure-identity `imds.py` retries 404, 410, 429, 5xx).
    static func imdsFault(_ fault: Fault, _ headers: HTTPFields) -> Response {
        let status = HTTPResponse.Status(code: fault.status ?? 500)
        let description: String
        switch status.code {
        case 400: description = "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"
        case 404: description = "Identity not found: the managed identity is not yet available on this resource."
        case 410: description = "IMDS is being updated; retry in at least 70 seconds."
        case 429: description = "Too many requests."
        default: description = "An unexpected error occurred while fetching the token; retry."
        }
        return EntraReply.json(["error": status.code == 400 ? "invalid_request" : "unavailable", "error_description": description], status: status, headers: headers)
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
            // client_secret_basic (discovery advertises it): RFC 6749 §2.3.1, form-encoded id and secret.
            let basic = Self.basicCredentials(request.headers[.authorization])
            guard let clientId = basic?.id ?? form["client_id"], let app = tenant.apps.first(where: { $0.clientId.lowercased() == clientId.lowercased() }) else {
                return EntraReply.error("unauthorized_client", code: 700016, message: "Application with identifier '\(basic?.id ?? form["client_id"] ?? "")' was not found in the directory '\(tenant.id)'.", status: .badRequest)
            }
            if app.disabled == true {
                return EntraReply.error("unauthorized_client", code: 7000112, message: "Application '\(app.clientId)' is disabled.", status: .badRequest)
            }
            let resource: String
            if version == 2 {
                let scopes = (form["scope"] ?? "").split(separator: " ").map(String.init)
                guard !scopes.isEmpty, scopes.allSatisfy({ $0.hasSuffix("/.default") }) else {
                    return EntraReply.error("invalid_scope", code: 1002012, message: "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", status: .badRequest)
                }
                let resources = scopes.map { String($0.dropLast("/.default".count)) }
                guard Set(resources.map { KnownAPI.named($0)?.appId ?? $0.lowercased() }).count == 1, let first = resources.first else {
                    return EntraReply.error("invalid_scope", code: 70011, message: "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope \(scopes.joined(separator: " ")) is not valid.", status: .badRequest)
                }
                resource = first
            } else {
                guard let value = form["resource"], !value.isEmpty else {
                    return EntraReply.error("invalid_request", code: 900144, message: "The request body must contain the following parameter: 'resource'.", status: .badRequest)
                }
                resource = value
            }
            let endpoint = "\(base(request))/\(tenantName)/oauth2/\(version == 2 ? "v2.0/" : "")token"
            let authentication: String
            if let secret = basic?.secret ?? form["client_secret"] {
                switch state.directory.check(secret, tenant: tenant.id, appId: app.clientId) {
                case .valid: break
                case .expired:
                    // entra-docs reference-error-codes: AADSTS7000222 InvalidClientSecretExpiredKeysProvided.
                    return EntraReply.error("invalid_client", code: 7000222, message: "The provided client secret keys for app '\(app.clientId)' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", status: .unauthorized)
                case .invalid, .notYetValid:
                    return EntraReply.error("invalid_client", code: 7000215, message: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '\(app.clientId)'.", status: .unauthorized)
                }
                authentication = "1"
            } else if form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", let assertion = form["client_assertion"] {
                if let failure = await Assertions.check(assertion, app: app, audience: endpoint, tenantId: tenant.id) { return failure }
                authentication = "2"
            } else {
                return EntraReply.error("invalid_client", code: 7000218, message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", status: .unauthorized)
            }
            let permissions = app.permissions?.first { KnownAPI.sameAPI($0.key, resource) }?.value
            guard permissions != nil || KnownAPI.named(resource) != nil || (state.config.v2Resources ?? []).contains(where: { KnownAPI.same($0, resource) }) else {
                return EntraReply.error("invalid_resource", code: 500011, message: "The resource principal named \(resource) was not found in the tenant named \(tenant.id). This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", status: .badRequest)
            }
            // Without admin consent Entra still issues a token — without roles; the API then answers 403.
            let roles = app.consented == false && !state.hasConsent(tenant: tenant.id, clientId: app.clientId) ? [] : (permissions ?? [])
            return try await issue(Grant(tenant: tenant, appId: app.clientId, resource: resource, roles: roles, endpoint: version,
                                         authentication: authentication, managed: false), request: request)
        }
    }

    /// A request header's value by name, case-insensitively.
    static func header(_ name: String, in request: Request) -> String? {
        request.headers.first { $0.name.canonicalName == name.lowercased() }?.value
    }

    /// `Authorization: Basic base64(urlencode(id):urlencode(secret))`, if sent.
    static func basicCredentials(_ header: String?) -> (id: String, secret: String)? {
        guard let header, header.lowercased().hasPrefix("basic "), let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        func decode(_ part: Substring) -> String { String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part) }
        return (decode(text[..<colon]), decode(text[text.index(after: colon)...]))
    }

    func managedIdentity(_ request: Request, appService: Bool) async throws -> Response {
        try await faulted("imds") {
            let query = request.uri.queryParameters
            if appService {
                // App Service compares the header with the IDENTITY_HEADER it gave the app.
                guard let header = Self.header("X-IDENTITY-HEADER", in: request), !header.isEmpty,
                      state.config.identityHeader.map({ $0 == header }) ?? true else {
                    return EntraReply.json(["error": "invalid_request", "error_description": "The X-IDENTITY-HEADER is missing or does not match IDENTITY_HEADER."],
                                           status: .unauthorized)
                }
            } else {
                guard Self.header("Metadata", in: request) == "true" else {
                    return EntraReply.json(["error": "invalid_request", "error_description": "Required metadata header not specified"], status: .badRequest)
                }
            }
            guard let resource = query.get("resource"), !resource.isEmpty else {
                return EntraReply.json(["error": "invalid_request", "error_description": "Required query variable 'resource' is missing"], status: .badRequest)
            }
            // An identity named by object id or resource id (IMDS `object_id`/`msi_res_id`, App Service
            // `principal_id`/`mi_res_id`; azure-identity `imds.py`, `app_service.py`): the emulator's
            // identities have neither, so such a request is for an identity not found — never
            // silently the system-assigned one.
            for other in ["object_id", "msi_res_id", "principal_id", "mi_res_id"] where query.get(other) != nil {
                return EntraReply.json(["error": "invalid_request", "error_description": "Identity not found (\(other))"], status: .badRequest)
            }
            let wanted = query.get("client_id") ?? query.get("clientid")
            let all = state.config.tenants.flatMap { tenant in (tenant.managedIdentities ?? []).map { (tenant, $0) } }
            let candidates: [(EmulatorConfig.Tenant, EmulatorConfig.ManagedIdentity)]
            if let wanted {
                candidates = all.filter { $0.1.clientId.lowercased() == wanted.lowercased() }
            } else if let system = all.first(where: { $0.1.systemAssigned == true }) {
                candidates = [system]
            } else if all.count > 1 {
                return Self.imdsFault(Fault(target: "imds", kind: "status", status: 400), [:])
            } else {
                candidates = all
            }
            guard let (tenant, identity) = candidates.first else {
                return EntraReply.json(["error": "invalid_request", "error_description": "Identity not found"], status: .badRequest)
            }
            let roles = identity.permissions?.first { KnownAPI.sameAPI($0.key, resource) }?.value ?? []
            return try await issue(Grant(tenant: tenant, appId: identity.clientId, resource: resource, roles: roles, endpoint: 1,
                                         authentication: "2", managed: true, appService: appService), request: request)
        }
    }
}
