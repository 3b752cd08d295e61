import Foundation
import HTTPTypes
import Hummingbird

/// The admin-consent links `clavis consent-url` prints, as Entra serves them (entra-docs
/// `v2-admin-consent.md`, "Request the permissions from a directory admin"): a page naming the app
/// and the application permissions it asks for, with Accept and Cancel. Accept records the consent
/// (the app's next tokens carry its `roles`) and returns to `redirect_uri` with
/// `admin_consent=True&tenant=…` (and `state`); Cancel returns with `error=access_denied` and
/// AADSTS65004. Both the v2 `/{tenant}/v2.0/adminconsent` and the v1 `/{tenant}/oauth2/authorize?
/// prompt=consent` forms are served.
struct ConsentRoutes: Sendable {
    let state: EmulatorState

    func register(on router: Router<BasicRequestContext>) {
        for path in ["/:tenant/v2.0/adminconsent", "/:tenant/oauth2/authorize"] {
            router.get(RouterPath(path)) { request, context in page(request, context) }
            router.post(RouterPath(path)) { request, context in try await decide(request, context) }
        }
    }

    func target(_ request: Request, _ context: BasicRequestContext) -> (EmulatorConfig.Tenant, EmulatorConfig.App)? {
        let query = request.uri.queryParameters
        guard let tenantName = context.parameters.get("tenant"),
              let tenant = tenantName == "common" || tenantName == "organizations" ? state.config.tenants.first : state.tenant(tenantName),
              let clientId = query.get("client_id"),
              let app = tenant.apps.first(where: { $0.clientId.lowercased() == clientId.lowercased() }) else { return nil }
        return (tenant, app)
    }

    func page(_ request: Request, _ context: BasicRequestContext) -> Response {
        guard let (tenant, app) = target(request, context) else {
            return Self.html("<h1>Sign in</h1><p>AADSTS700016: Application with identifier '\(Self.escape(request.uri.queryParameters.get("client_id").map { String($0) } ?? ""))' was not found in the directory.</p>",
                             status: .badRequest)
        }
        let permissions = (app.permissions ?? [:]).sorted { $0.key < $1.key }
            .map { "<li>\(Self.escape($0.key)): \($0.value.map(Self.escape).joined(separator: ", "))</li>" }.joined()
        let action = Self.escape(request.uri.description)
        return Self.html("""
            <h1>Permissions requested</h1>
            <p><b>\(Self.escape(app.name ?? app.clientId))</b> (\(Self.escape(app.clientId))) asks for these application permissions in
            \(Self.escape(tenant.domain ?? tenant.id)), on behalf of your organization:</p><ul>\(permissions)</ul>
            <form method="post" action="\(action)"><button name="decision" value="accept">Accept</button>
            <button name="decision" value="cancel">Cancel</button></form>
            """)
    }

    func decide(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let (tenant, app) = target(request, context) else { return page(request, context) }
        let body = try await request.body.collect(upTo: 1 << 16)
        let accepted = Form.parse(String(buffer: body))["decision"] == "accept"
        if accepted { state.grantConsent(tenant: tenant.id, clientId: app.clientId) }
        let query = request.uri.queryParameters
        guard let redirect = query.get("redirect_uri").map({ String($0) }), var components = URLComponents(string: redirect),
              components.scheme == "https" || components.scheme == "http" else {
            return Self.html(accepted ? "<h1>Admin consent granted</h1><p>You can close this window.</p>"
                                      : "<h1>Consent declined</h1><p>AADSTS65004: User declined to consent to access the app.</p>")
        }
        var items = components.queryItems ?? []
        if accepted {
            items += [URLQueryItem(name: "admin_consent", value: "True"), URLQueryItem(name: "tenant", value: tenant.id)]
            if let scope = query.get("scope") { items.append(URLQueryItem(name: "scope", value: String(scope))) }
        } else {
            items += [URLQueryItem(name: "error", value: "access_denied"),
                      URLQueryItem(name: "error_description", value: "AADSTS65004: User declined to consent to access the app.")]
        }
        if let value = query.get("state") { items.append(URLQueryItem(name: "state", value: String(value))) }
        components.queryItems = items
        var headers = HTTPFields()
        headers[.location] = components.string ?? redirect
        return Response(status: .found, headers: headers)
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        let page = "<!doctype html><html><head><meta charset=\"utf-8\"><title>clavis emulator: admin consent</title></head><body>\(body)</body></html>"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
