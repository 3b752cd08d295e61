import Foundation
import HTTPTypes
import Hummingbird

/// Microsoft Graph's application object routes that a secret rotation uses, with the documented
/// request and reply shapes and permission checks (microsoft-graph-docs-contrib, v1.0):
///
/// - `GET /applications/{id}`, `GET /applications(appId='{appId}')`, `$select` honoured
///   (`api/application-get.md`): Application.Read.All, Application.ReadWrite.All,
///   Directory.Read.All, Directory.ReadWrite.All for any application; Application.ReadWrite.OwnedBy
///   for the applications the caller's service principal owns.
/// - `POST /applications/{id}/addPassword` and `/applications(appId='{appId}')/addPassword`, body
///   `{"passwordCredential": {displayName?, startDateTime?, endDateTime?}}` (optional; end defaults
///   to start + 2 years), reply 200 with the passwordCredential including `secretText`
///   (`api/application-addpassword.md`).
/// - `POST /applications/{id}/removePassword` (and the `appId` form), body `{"keyId": …}`, reply
///   204 (`api/application-removepassword.md`).
///   Both: Application.ReadWrite.OwnedBy (owned applications only) or Application.ReadWrite.All.
///
/// A caller without the permission, or with OwnedBy on an application it does not own, gets 403
/// `Authorization_RequestDenied` "Insufficient privileges to complete the operation." (the reply
/// users report, microsoftgraph/microsoft-graph-docs#6139); an unknown application 404
/// `Request_ResourceNotFound`. An unknown `keyId` in removePassword is our choice: 400
/// `Request_BadRequest` (the docs say nothing).
struct ApplicationRoutes: Sendable {
    let state: EmulatorState
    let scheme: String

    static let readAny: Set<String> = ["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"]
    static let writeAny: Set<String> = ["Application.ReadWrite.All", "Directory.ReadWrite.All"]
    static let owned = "Application.ReadWrite.OwnedBy"

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1.0/applications/:id") { request, context in
            try await handle(request, selector: "/" + (context.parameters.get("id") ?? ""), action: nil)
        }
        router.get("/v1.0/applications{selector}") { request, context in
            try await handle(request, selector: context.parameters.get("selector") ?? "", action: nil)
        }
        for action in ["addPassword", "removePassword"] {
            router.post("/v1.0/applications/:id/\(action)") { request, context in
                try await handle(request, selector: "/" + (context.parameters.get("id") ?? ""), action: action)
            }
            router.post("/v1.0/applications{selector}/\(action)") { request, context in
                try await handle(request, selector: context.parameters.get("selector") ?? "", action: action)
            }
        }
    }

    /// `selector` is `/OBJECT-ID` or `(appId='APP-ID')` (possibly percent-encoded).
    func handle(_ request: Request, selector: String, action: String?) async throws -> Response {
        let body = action == nil ? nil : Data(buffer: try await request.body.collect(upTo: 1 << 20))
        // Faults aimed at `applications` (counted there too): a `status` fault answers in Graph's error shape.
        if let reply = try await state.intercept("applications", status: { fault, headers in
            SecurityAPI.graph.error(HTTPResponse.Status(code: fault.status ?? 503), fault.code ?? "ServiceUnavailable", "Injected fault", headers: headers, request: request)
        }) { return reply }
        let claims: AppTokenClaims
        switch await state.securityClaims(request, api: .graph, scheme: scheme) {
        case .success(let valid): claims = valid
        case .failure(let reply): return reply
        }
        let decoded = selector.removingPercentEncoding ?? selector
        guard let tenant = state.tenant(claims.tid) else { return notFound(decoded, request) }
        let app: EmulatorConfig.App?
        if decoded.hasPrefix("/") {
            let objectId = String(decoded.dropFirst()).lowercased()
            app = tenant.apps.first { ApplicationDirectory.objectId(tenant: tenant.id, appId: $0.clientId) == objectId }
        } else if decoded.hasPrefix("(appId='"), decoded.hasSuffix("')") {
            let appId = String(decoded.dropFirst("(appId='".count).dropLast(2)).lowercased()
            app = tenant.apps.first { $0.clientId.lowercased() == appId }
        } else {
            return SecurityAPI.graph.error(.badRequest, "BadRequest", "Resource not found for the segment 'applications\(decoded)'.", request: request)
        }
        guard let app else { return notFound(decoded, request) }
        let roles = Set(claims.roles ?? [])
        let caller = claims.appid ?? claims.azp ?? ""
        let owns = (app.owners ?? []).contains { $0.lowercased() == caller.lowercased() }
        let allowed = action == nil
            ? !roles.isDisjoint(with: Self.readAny) || (roles.contains(Self.owned) && owns)
            : !roles.isDisjoint(with: Self.writeAny) || (roles.contains(Self.owned) && owns)
        guard allowed else {
            return SecurityAPI.graph.error(.forbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", request: request)
        }
        switch action {
        case "addPassword": return addPassword(app, tenant: tenant, body: body ?? Data(), request: request)
        case "removePassword": return removePassword(app, tenant: tenant, body: body ?? Data(), request: request)
        default: return get(app, tenant: tenant, request: request)
        }
    }

    func notFound(_ selector: String, _ request: Request) -> Response {
        SecurityAPI.graph.error(.notFound, "Request_ResourceNotFound",
                                "Resource '\(selector.trimmingCharacters(in: CharacterSet(charactersIn: "/()")))' does not exist or one of its queried reference-property objects are not present.",
                                request: request)
    }

    static func shape(_ credential: ApplicationDirectory.Credential, secretText: Bool) -> [String: Any] {
        [
            "customKeyIdentifier": NSNull(), "displayName": credential.displayName ?? NSNull(), "hint": credential.hint,
            "keyId": credential.keyId, "secretText": secretText ? credential.secret : NSNull(),
            "startDateTime": ServiceTime(credential.start).text(digits: 7), "endDateTime": ServiceTime(credential.end).text(digits: 7),
        ]
    }

    func get(_ app: EmulatorConfig.App, tenant: EmulatorConfig.Tenant, request: Request) -> Response {
        let full: [String: Any] = [
            "id": ApplicationDirectory.objectId(tenant: tenant.id, appId: app.clientId), "appId": app.clientId,
            "displayName": app.name ?? app.clientId, "deletedDateTime": NSNull(), "signInAudience": "AzureADMyOrg",
            "keyCredentials": [] as [Any],
            "passwordCredentials": state.directory.list(tenant: tenant.id, appId: app.clientId).map { Self.shape($0, secretText: false) },
        ]
        var object = full
        var context = "https://graph.microsoft.com/v1.0/$metadata#applications/$entity"
        if let select = request.uri.queryParameters.get("$select").map({ String($0) }), !select.isEmpty {
            let fields = select.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            object = full.filter { fields.contains($0.key) }
            context = "https://graph.microsoft.com/v1.0/$metadata#applications(\(fields.joined(separator: ",")))/$entity"
        }
        object["@odata.context"] = context
        return EntraReply.json(object)
    }

    func addPassword(_ app: EmulatorConfig.App, tenant: EmulatorConfig.Tenant, body: Data, request: Request) -> Response {
        var requested: [String: Any] = [:]
        if !body.isEmpty {
            guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
                return SecurityAPI.graph.error(.badRequest, "BadRequest", "Unable to read JSON request payload.", request: request)
            }
            requested = object["passwordCredential"] as? [String: Any] ?? [:]
        }
        func date(_ key: String) -> Date? { (requested[key] as? String).flatMap(ServiceTime.init).map(ApplicationDirectory.date) }
        if let start = date("startDateTime"), let end = date("endDateTime"), end <= start {
            return SecurityAPI.graph.error(.badRequest, "Request_BadRequest", "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.", request: request)
        }
        let credential = state.directory.add(tenant: tenant.id, appId: app.clientId, displayName: requested["displayName"] as? String,
                                             start: date("startDateTime"), end: date("endDateTime"))
        var shape = Self.shape(credential, secretText: true)
        shape["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.passwordCredential"
        return EntraReply.json(shape)
    }

    func removePassword(_ app: EmulatorConfig.App, tenant: EmulatorConfig.Tenant, body: Data, request: Request) -> Response {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any], let keyId = object["keyId"] as? String,
              UUID(uuidString: keyId) != nil else {
            return SecurityAPI.graph.error(.badRequest, "Request_BadRequest", "The request body must contain a 'keyId' (a GUID).", request: request)
        }
        guard state.directory.remove(tenant: tenant.id, appId: app.clientId, keyId: keyId) else {
            return SecurityAPI.graph.error(.badRequest, "Request_BadRequest", "No password credential with keyId '\(keyId)' exists on the application.", request: request)
        }
        return Response(status: .noContent)
    }
}
