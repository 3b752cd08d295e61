import ClavisCore
import Foundation

/// The Microsoft Graph calls that manage an app registration's client secrets: read the
/// application object, `addPassword`, `removePassword` (microsoft-graph-docs-contrib v1.0
/// `api/application-get.md`, `api/application-addpassword.md`, `api/application-removepassword.md`).
///
/// An app can rotate its own secret with the application permission
/// `Application.ReadWrite.OwnedBy` when its service principal owns its application object;
/// `Application.ReadWrite.All` works on any application but is far broader.
///
/// ```swift
/// let graph = try GraphApplicationsClient(credential: credential)
/// let app = try await graph.application(appId: clientId)
/// ```
public struct GraphApplicationsClient: Sendable {
    /// The credential that gets the Graph token.
    public let credential: any TokenCredential
    /// Graph's base URL, e.g. `https://graph.microsoft.com` (or the emulator's).
    public let baseURL: String
    /// The token's resource (`https://graph.microsoft.com`).
    public let resource: String
    let transport: HTTPTransport

    /// The Graph application permission that lets an app manage applications it owns, and its id
    /// in the Microsoft Graph permissions reference.
    public static let ownedByPermission = "Application.ReadWrite.OwnedBy"
    static let ownedByRoleId = "18a4783c-866b-4cc7-a460-3d5e5662c884"
    static let graphAppId = "00000003-0000-0000-c000-000000000000"

    /// A client for Graph at `baseURL` (https, or http to a loopback address only).
    public init(credential: any TokenCredential, baseURL: String = "https://graph.microsoft.com", resource: String = "https://graph.microsoft.com",
                transport: HTTPTransport = HTTPTransport()) throws {
        let trimmed = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        guard let url = URL(string: trimmed), Origin(url) != nil, Loopback.permits(url) else {
            throw ClavisError(.invalidValue, reference: baseURL,
                              reason: "the Graph base URL must be https (plain http only to a loopback address), as in https://graph.microsoft.com")
        }
        self.credential = credential
        self.baseURL = trimmed
        self.resource = resource
        self.transport = transport
    }

    /// The Graph base URL of a cloud's authority: graph.microsoft.com, graph.microsoft.us
    /// (US Government), microsoftgraph.chinacloudapi.cn (21Vianet).
    /// An authority on a loopback address is an emulator, which serves Graph on the same origin.
    public static func baseURL(for authority: Authority) -> String {
        if let url = URL(string: authority.description), let origin = Origin(url), Loopback.isLoopback(origin.host) { return origin.description }
        switch authority.description {
        case Authority.usGovernment.description: return "https://graph.microsoft.us"
        case Authority.china.description: return "https://microsoftgraph.chinacloudapi.cn"
        default: return "https://graph.microsoft.com"
        }
    }

    /// The application object of the app `appId`, with its password credentials.
    public func application(appId: String) async throws -> ApplicationInfo {
        let path = "/v1.0/applications(appId='\(appId)')?$select=id,appId,displayName,passwordCredentials"
        let reply = try await send(.GET, path, body: nil, appId: appId, operation: "read the application object of")
        guard let object = reply.jsonObject, let id = object["id"] as? String else {
            throw ClavisError(.serviceError, reference: appId, reason: "Graph's reply is not an application object")
        }
        let credentials = (object["passwordCredentials"] as? [[String: Any]] ?? []).compactMap(PasswordCredentialInfo.init)
        return ApplicationInfo(id: id, appId: object["appId"] as? String ?? appId, displayName: object["displayName"] as? String,
                               passwordCredentials: credentials)
    }

    /// `addPassword`: a new client secret named `displayName`, valid until `endDateTime`. Returns
    /// its properties and its value (Graph shows the value only in this reply). Never retried
    /// after the request may have arrived: a retry would add a second secret.
    public func addPassword(objectId: String, appId: String, displayName: String, endDateTime: Date) async throws -> (PasswordCredentialInfo, Secret) {
        let body = try JSONSerialization.data(withJSONObject: ["passwordCredential": ["displayName": displayName, "endDateTime": GraphDate.format(endDateTime)]])
        let reply = try await send(.POST, "/v1.0/applications/\(objectId)/addPassword", body: Array(body), appId: appId,
                                   operation: "add a client secret to", retry: transport.retry.nonIdempotent)
        guard let object = reply.jsonObject, let info = PasswordCredentialInfo(object), let text = object["secretText"] as? String, !text.isEmpty else {
            throw ClavisError(.serviceError, reference: appId, reason: "Graph's addPassword reply has no keyId or secretText")
        }
        return (info, Secret(text))
    }

    /// `removePassword`: deletes the client secret `keyId`.
    public func removePassword(objectId: String, appId: String, keyId: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["keyId": keyId])
        _ = try await send(.POST, "/v1.0/applications/\(objectId)/removePassword", body: Array(body), appId: appId, operation: "remove a client secret from")
    }

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8]?, appId: String, operation: String,
                      retry: RetryPolicy? = nil) async throws -> HTTPReply {
        let context = TokenRequestContext(scopes: [TokenRequestContext.scope(forResource: resource)])
        let token = try await credential.getToken(context)
        guard let bearer = token.token.revealedString() else { throw ClavisError(.serviceError, reference: appId, reason: "the Graph token is not text") }
        var headers = [("Authorization", "Bearer \(bearer)"), ("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let reply = try await transport.send(method, baseURL + path, headers: headers, body: body, retry: retry)
        guard (200..<300).contains(reply.status) else { throw failure(reply, appId: appId, operation: operation, token: bearer) }
        return reply
    }

    /// One line naming what was refused and what to do: for a 403, which permission is missing
    /// (read from the token's `roles`) or that the app is not an owner of itself, and how to grant it.
    func failure(_ reply: HTTPReply, appId: String, operation: String, token: String) -> ClavisError {
        let error = ServiceErrorReply(reply)
        let reason = "Graph refused to \(operation) application \(appId) (\(reply.status) \(error.code)\(error.message.map { ": \($0)" } ?? ""))"
        guard reply.status == 403 else {
            return ClavisError(error.clavisCode, reference: appId, reason: reason,
                               hint: reply.status == 404 ? "check the client id and the tenant" : nil, cause: error)
        }
        let roles: [String]
        if case .array(let values)? = (try? DecodedToken(token))?.claims["roles"] {
            roles = values.compactMap { if case .string(let text) = $0 { text } else { nil } }
        } else {
            roles = []
        }
        let grant = "grant it: az ad app permission add --id \(appId) --api \(Self.graphAppId) --api-permissions \(Self.ownedByRoleId)=Role && az ad app permission admin-consent --id \(appId)"
        let own = "make the app's service principal an owner of its application: az ad app owner add --id \(appId) --owner-object-id $(az ad sp show --id \(appId) --query id -o tsv)"
        if roles.contains(Self.ownedByPermission) || roles.contains("Application.ReadWrite.All") {
            return ClavisError(.permissionDenied, reference: appId,
                               reason: reason + "; the app has \(Self.ownedByPermission), but its service principal is not an owner of the application",
                               hint: own, cause: error)
        }
        return ClavisError(.permissionDenied, reference: appId,
                           reason: reason + "; the app lacks the Microsoft Graph application permission \(Self.ownedByPermission)",
                           hint: "\(grant); then \(own)", cause: error)
    }
}
