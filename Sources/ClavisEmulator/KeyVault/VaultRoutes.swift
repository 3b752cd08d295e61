import Foundation
import HTTPTypes
import Hummingbird
import JWTKit
import Synchronization

/// Key Vault's secrets REST API (api-version 7.x): versions, paging by `nextLink`, soft delete,
/// disabled secrets, 401 challenges of the real shape, access per app, Key Vault error JSON.
final class VaultRoutes: Sendable {
    let state: EmulatorState
    let scheme: String
    private let vaults: Mutex<[String: VaultData]>

    struct Version {
        var id: String
        var value: String
        var contentType: String?
        var tags: [String: String]
        var enabled: Bool
        var created: Int
    }

    struct VaultData {
        var secrets: [String: [Version]] = [:]
        var deleted: [String: (versions: [Version], deletedDate: Int)] = [:]
    }

    init(state: EmulatorState, scheme: String) {
        self.state = state
        self.scheme = scheme
        var initial: [String: VaultData] = [:]
        let now = Int(Date().timeIntervalSince1970)
        for vault in state.config.vaults ?? [] {
            var data = VaultData()
            for (name, value) in vault.secrets ?? [:] {
                data.secrets[name] = [Version(id: Self.newVersion(), value: value, contentType: nil, tags: [:],
                                              enabled: !(vault.disabled ?? []).contains(name), created: now)]
            }
            initial[vault.name] = data
        }
        vaults = Mutex(initial)
    }

    static func newVersion() -> String { UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }

    func register(on router: Router<BasicRequestContext>) {
        let group = router.group("vaults/:vault")
        group.get("secrets") { request, context in try await self.handle(request, context, "list") { try self.list($0, $1, $2, deleted: false) } }
        group.get("deletedsecrets") { request, context in try await self.handle(request, context, "list") { try self.list($0, $1, $2, deleted: true) } }
        group.get("secrets/:name") { request, context in try await self.handle(request, context, "get") { try self.get($0, $1, $2, version: nil) } }
        group.get("secrets/:name/:version") { request, context in
            try await self.handle(request, context, context.parameters.get("version") == "versions" ? "list" : "get") {
                context.parameters.get("version") == "versions" ? try self.versions($0, $1, $2) : try self.get($0, $1, $2, version: context.parameters.get("version"))
            }
        }
        group.put("secrets/:name") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.handle(request, context, "set") { try self.set($0, $1, $2, body: Data(buffer: body)) }
        }
        group.delete("secrets/:name") { request, context in try await self.handle(request, context, "delete") { try self.delete($0, $1, $2) } }
        group.delete("deletedsecrets/:name") { request, context in try await self.handle(request, context, "purge") { try self.purge($0, $1, $2) } }
        group.post("deletedsecrets/:name/recover") { request, context in try await self.handle(request, context, "recover") { try self.recover($0, $1, $2) } }
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, inner: String? = nil, headers: HTTPFields = [:]) -> Response {
        var error: [String: Any] = ["code": code, "message": message]
        if let inner { error["innererror"] = ["code": inner] }
        return EntraReply.json(["error": error], status: status, headers: headers)
    }

    /// Checks api-version, the bearer token (challenging when absent or invalid) and the app's access, then runs `body`.
    func handle(_ request: Request, _ context: BasicRequestContext, _ operation: String,
                _ body: @escaping (EmulatorConfig.Vault, String, Request) throws -> Response) async throws -> Response {
        if let faulted = try await state.intercept("vault", status: { fault, headers in
            let status = fault.status ?? 429
            return Self.error(HTTPResponse.Status(code: status), status == 429 ? "Throttled" : "InternalServerError",
                              status == 429 ? "Request was not processed because too many requests were received." : "Injected fault", headers: headers)
        }) {
            return faulted
        }
        guard let name = context.parameters.get("vault"), let vault = state.config.vaults?.first(where: { $0.name == name }) else {
            return Self.error(.notFound, "VaultNotFound", "The vault was not found.")
        }
        guard request.uri.queryParameters.get("api-version") != nil else {
            return Self.error(.badRequest, "BadParameter", "The 'api-version' query parameter is missing")
        }
        let root = "\(scheme)://\(request.head.authority ?? "127.0.0.1")"
        var challenge = HTTPFields()
        challenge[HTTPField.Name("WWW-Authenticate")!] =
            "Bearer authorization=\"\(root)/\(vault.tenant)\", resource=\"\(vault.challengeResource ?? "https://vault.azure.net")\""
            + (vault.challengeScope.map { ", scope=\"\($0)\"" } ?? "")
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return Self.error(.unauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", headers: challenge)
        }
        state.count("vault.authorized")
        guard let claims = await state.issuedClaims(header) else {
            return Self.error(.unauthorized, "Unauthorized", "AKV10022: Invalid audience or signature.", headers: challenge)
        }
        guard claims.aud.trimmingCharacters(in: ["/"]) == "https://vault.azure.net", claims.tid == vault.tenant else {
            return Self.error(.unauthorized, "Unauthorized", "AKV10022: Invalid audience. Expected https://vault.azure.net, found: \(claims.aud).", headers: challenge)
        }
        let app = claims.appid ?? claims.azp ?? ""
        let allowed = vault.access[app] ?? []
        let needed = ["purge": "delete", "recover": "set"][operation] ?? operation
        guard allowed.contains(needed) else {
            let rbac = (vault.authorization ?? "rbac") == "rbac"
            return Self.error(.forbidden, "Forbidden",
                              rbac ? "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/\(needed)'"
                                   : "The user, group or application '\(app)' does not have secrets \(needed) permission on key vault '\(vault.name)'.",
                              inner: rbac ? "ForbiddenByRbac" : "ForbiddenByPolicy")
        }
        return try body(vault, root, request)
    }

    func bundle(_ vault: EmulatorConfig.Vault, _ root: String, _ name: String, _ version: Version, withValue: Bool) -> [String: Any] {
        var object: [String: Any] = [
            "id": "\(root)/vaults/\(vault.name)/secrets/\(name)/\(version.id)",
            "attributes": ["enabled": version.enabled, "created": version.created, "updated": version.created, "recoveryLevel": "Recoverable+Purgeable",
                           "recoverableDays": 90],
            "tags": version.tags,
        ]
        if withValue { object["value"] = version.value }
        if let contentType = version.contentType { object["contentType"] = contentType }
        return object
    }

    func get(_ vault: EmulatorConfig.Vault, _ root: String, _ request: Request, version: String?) throws -> Response {
        let name = request.uri.path.split(separator: "/")[safe: 3].map(String.init) ?? ""
        guard let versions = vaults.withLock({ $0[vault.name]?.secrets[name] }),
              let found = version.map({ wanted in versions.first { $0.id == wanted } }) ?? versions.last else {
            return Self.error(.notFound, "SecretNotFound", "A secret with (name/id) \(name) was not found in this key vault.")
        }
        guard found.enabled else { return Self.error(.forbidden, "Forbidden", "Operation get is not allowed on a disabled secret.", inner: "SecretDisabled") }
        return EntraReply.json(bundle(vault, root, name, found, withValue: true))
    }

    func set(_ vault: EmulatorConfig.Vault, _ root: String, _ request: Request, body: Data) throws -> Response {
        let name = request.uri.path.split(separator: "/")[safe: 3].map(String.init) ?? ""
        guard name.range(of: "^[0-9a-zA-Z-]{1,127}$", options: .regularExpression) != nil else {
            return Self.error(.badRequest, "BadParameter", "The request URI contains an invalid name: \(name)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any], let value = object["value"] as? String else {
            return Self.error(.badRequest, "BadParameter", "Property 'value' is required.")
        }
        guard value.utf8.count <= 25 * 1024 else { return Self.error(.badRequest, "BadParameter", "The secret value exceeds 25 KB.") }
        let version = Version(id: Self.newVersion(), value: value, contentType: object["contentType"] as? String,
                              tags: object["tags"] as? [String: String] ?? [:], enabled: (object["attributes"] as? [String: Any])?["enabled"] as? Bool ?? true,
                              created: Int(Date().timeIntervalSince1970))
        let conflict = vaults.withLock { vaults -> Bool in
            if vaults[vault.name]?.deleted[name] != nil { return true }
            vaults[vault.name, default: VaultData()].secrets[name, default: []].append(version)
            return false
        }
        if conflict {
            return Self.error(.conflict, "Conflict", "Secret \(name) is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
                              inner: "ObjectIsDeletedButRecoverable")
        }
        return EntraReply.json(bundle(vault, root, name, version, withValue: true))
    }

    func delete(_ vault: EmulatorConfig.Vault, _ root: String, _ request: Request) throws -> Response {
        let name = request.uri.path.split(separator: "/")[safe: 3].map(String.init) ?? ""
        let now = Int(Date().timeIntervalSince1970)
        guard let versions = vaults.withLock({ vaults -> [Version]? in
            guard let versions = vaults[vault.name]?.secrets.removeValue(forKey: name) else { return nil }
            vaults[vault.name]?.deleted[name] = (versions, now)
            return versions
        }), let latest = versions.last else {
            return Self.error(.notFound, "SecretNotFound", "A secret with (name/id) \(name) was not found in this key vault.")
        }
        var object = bundle(vault, root, name, latest, withValue: false)
        object["recoveryId"] = "\(root)/vaults/\(vault.name)/deletedsecrets/\(name)"
        object["deletedDate"] = now
        object["scheduledPurgeDate"] = now + 90 * 86400
        return EntraReply.json(object)
    }

    func purge(_ vault: EmulatorConfig.Vault, _ root: String, _ request: Request) throws -> Response {
        let name = request.uri.path.split(separator: "/")[safe: 3].map(String.init) ?? ""
        guard vaults.withLock({ $0[vault.name]?.deleted.removeValue(forKey: name) }) != nil else {
            return Self.error(.notFound, "SecretNotFound", "Deleted Secret not found: \(name)")
        }
        return Response(status: .noContent)
    }

    func recover(_ vault: EmulatorConfig.Vault, _ root: String, _ request: Request) throws -> Response {
        let name = request.uri.path.split(separator: "/")[safe: 3].map(String.init) ?? ""
        guard let versions = vaults.withLock({ vaults -> [Version]? in
            guard let entry = vaults[vault.name]?.deleted.removeValue(forKey: name) else { return nil }
            vaults[vault.name]?.secrets[name] = entry.versions
            return entry.versions
        }), let latest = versions.last else {
            return Self.error(.notFound, "SecretNotFound", "Deleted Secret not found: \(name)")
        }
        return EntraReply.json(bundle(vault, root, name, latest, withValue: false))
    }

    func list(_ vault: EmulatorConfig.Vault, _ root: String, _ request: Request, deleted: Bool) throws -> Response {
        let names = vaults.withLock { vaults in
            deleted ? Array((vaults[vault.name]?.deleted ?? [:]).keys) : Array((vaults[vault.name]?.secrets ?? [:]).keys)
        }.sorted()
        let ids = names.map { "\(root)/vaults/\(vault.name)/\(deleted ? "deletedsecrets" : "secrets")/\($0)" }
        return page(ids, request, vault: vault, root: root, path: deleted ? "deletedsecrets" : "secrets")
    }

    func versions(_ vault: EmulatorConfig.Vault, _ root: String, _ request: Request) throws -> Response {
        let name = request.uri.path.split(separator: "/")[safe: 3].map(String.init) ?? ""
        guard let versions = vaults.withLock({ $0[vault.name]?.secrets[name] }) else {
            return Self.error(.notFound, "SecretNotFound", "A secret with (name/id) \(name) was not found in this key vault.")
        }
        let ids = versions.map { "\(root)/vaults/\(vault.name)/secrets/\(name)/\($0.id)" }
        return page(ids, request, vault: vault, root: root, path: "secrets/\(name)/versions")
    }

    /// One page of ids; `nextLink` carries an opaque `$skiptoken`.
    func page(_ ids: [String], _ request: Request, vault: EmulatorConfig.Vault, root: String, path: String) -> Response {
        let query = request.uri.queryParameters
        let size = min(max(Int(query.get("maxresults") ?? "") ?? 25, 1), vault.pageSize ?? 25)
        let offset = query.get("$skiptoken").flatMap { $0.hasPrefix("kv") ? Int(String($0.dropFirst(2)), radix: 36) : nil } ?? 0
        let slice = ids.dropFirst(offset).prefix(size)
        var object: [String: Any] = ["value": slice.map { ["id": $0, "attributes": ["enabled": true]] }]
        if offset + size < ids.count {
            let token = "kv" + String(offset + size, radix: 36)
            var linkRoot = root
            if vault.nextLinkScheme != nil || vault.nextLinkPort != nil, var components = URLComponents(string: root) {
                if let scheme = vault.nextLinkScheme { components.scheme = scheme }
                if let port = vault.nextLinkPort { components.port = port }
                linkRoot = components.string ?? root
            }
            object["nextLink"] = "\(linkRoot)/vaults/\(vault.name)/\(path)?api-version=7.6&$skiptoken=\(token)&maxresults=\(size)"
        } else {
            object["nextLink"] = NSNull()
        }
        return EntraReply.json(object)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
