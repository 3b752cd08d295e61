import Foundation
import HTTPTypes
import Hummingbird

/// One vault's secrets REST API (api-version 7.x), served at the root of the vault's own origin so
/// its ids are `https://HOST:PORT/secrets/NAME/VERSION` — the only shape Azure SDKs parse
/// (azure-keyvault-secrets `_shared/__init__.py` `parse_vault_id`: two or three path segments).
/// Versions, paging by `nextLink`, asynchronous soft delete (``VaultStore``), disabled secrets,
/// attributes, 401 challenges and per-app access (``VaultAuth``), Key Vault error JSON.
final class VaultRoutes: Sendable {
    let state: EmulatorState
    let scheme: String
    let vault: EmulatorConfig.Vault
    let store: VaultStore
    let auth: VaultAuth

    init(state: EmulatorState, vault: EmulatorConfig.Vault, scheme: String) {
        self.state = state
        self.vault = vault
        self.scheme = scheme
        store = VaultStore(vault: vault)
        auth = VaultAuth(vault: vault, state: state)
    }

    func register(on router: Router<BasicRequestContext>) {
        router.get("secrets") { request, context in try await self.handle(request, context, "list") { _ in self.list(request, deleted: false) } }
        router.get("deletedsecrets") { request, context in try await self.handle(request, context, "list") { _ in self.list(request, deleted: true) } }
        router.get("deletedsecrets/:name") { request, context in
            try await self.handle(request, context, "get") { name in
                do throws(VaultStore.Refusal) {
                    let (entry, deletedDate) = try self.store.deleted(name)
                    guard let latest = entry.versions.last else { return VaultReply.refusal(.deletedNotFound, name: name) }
                    return EntraReply.json(self.deletedBundle(entry, latest, deletedDate: deletedDate, root: self.root(request)))
                } catch { return VaultReply.refusal(error, name: name) }
            }
        }
        router.get("secrets/:name") { request, context in try await self.handle(request, context, "get") { self.get(request, $0, version: nil) } }
        router.get("secrets/:name/:version") { request, context in
            let version = context.parameters.get("version") ?? ""
            // The Azure SDKs ask for the latest version as `/secrets/NAME/` (an empty version).
            return try await self.handle(request, context, version == "versions" ? "list" : "get") { name in
                version == "versions" ? self.versions(request, name) : self.get(request, name, version: version.isEmpty ? nil : version)
            }
        }
        router.put("secrets/:name") { request, context in
            let body = try await request.body.collect(upTo: 1 << 20)
            return try await self.handle(request, context, "set") { self.set(request, $0, body: Data(buffer: body)) }
        }
        for path in ["secrets/:name/:version", "secrets/:name"] {
            router.patch(RouterPath(path)) { request, context in
                let body = try await request.body.collect(upTo: 1 << 20)
                return try await self.handle(request, context, "update") { self.update(request, $0, version: context.parameters.get("version"), body: Data(buffer: body)) }
            }
        }
        router.delete("secrets/:name") { request, context in
            try await self.handle(request, context, "delete") { name in
                do throws(VaultStore.Refusal) {
                    let (entry, deletedDate) = try self.store.delete(name)
                    guard let latest = entry.versions.last else { return VaultReply.refusal(.notFound, name: name) }
                    return EntraReply.json(self.deletedBundle(entry, latest, deletedDate: deletedDate, root: self.root(request)))
                } catch { return VaultReply.refusal(error, name: name) }
            }
        }
        router.delete("deletedsecrets/:name") { request, context in
            try await self.handle(request, context, "purge") { name in
                do throws(VaultStore.Refusal) {
                    try self.store.purge(name)
                    return Response(status: .noContent)
                } catch .beingDeleted {
                    // What Key Vault says to a purge right after the delete (Azure/azure-cli#12722).
                    return VaultReply.error(.conflict, "Conflict", "Secret is currently being deleted.", inner: "ObjectIsBeingDeleted")
                } catch { return VaultReply.refusal(error, name: name) }
            }
        }
        router.post("deletedsecrets/:name/recover") { request, context in
            try await self.handle(request, context, "recover") { name in
                do throws(VaultStore.Refusal) {
                    let entry = try self.store.recover(name)
                    guard let latest = entry.versions.last else { return VaultReply.refusal(.deletedNotFound, name: name) }
                    return EntraReply.json(self.bundle(entry, latest, root: self.root(request), withValue: false))
                } catch .beingDeleted {
                    return VaultReply.error(.conflict, "Conflict", "Secret is currently being deleted.", inner: "ObjectIsBeingDeleted")
                } catch { return VaultReply.refusal(error, name: name) }
            }
        }
    }

    func root(_ request: Request) -> String { "\(scheme)://\(request.head.authority ?? "127.0.0.1")" }

    /// Applies faults, then checks api-version, the bearer token (challenging when absent or
    /// invalid) and the app's access, then runs `body` with the secret name (if any).
    func handle(_ request: Request, _ context: BasicRequestContext, _ operation: String,
                _ body: @escaping (String) throws -> Response) async throws -> Response {
        if let faulted = try await state.intercept("vault", status: { fault, headers in
            let status = fault.status ?? 429
            return VaultReply.error(HTTPResponse.Status(code: status), status == 429 ? "Throttled" : "InternalServerError",
                                    status == 429 ? "Request was not processed because too many requests were received." : "Injected fault", headers: headers)
        }) {
            return faulted
        }
        guard request.uri.queryParameters.get("api-version") != nil else {
            return VaultReply.error(.badRequest, "BadParameter", "The 'api-version' query parameter is missing")
        }
        let app: String
        switch await auth.authenticate(request, root: root(request)) {
        case let .refused(reply): return reply
        case let .app(id): app = id
        }
        if let refused = auth.authorize(app, operation) { return refused }
        return try body(context.parameters.get("name") ?? "")
    }

    /// `attributes` as Key Vault returns them.
    func attributes(_ version: VaultStore.Version) -> [String: Any] {
        var attributes: [String: Any] = ["enabled": version.enabled, "created": version.created, "updated": version.updated,
                                         "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": vault.recoverableDays ?? 90]
        if let notBefore = version.notBefore { attributes["nbf"] = notBefore }
        if let expires = version.expires { attributes["exp"] = expires }
        return attributes
    }

    /// A SecretBundle (or, without the value, a SecretItem with `id` naming the version).
    func bundle(_ entry: VaultStore.Entry, _ version: VaultStore.Version, root: String, withValue: Bool, itemId: Bool = false) -> [String: Any] {
        var object: [String: Any] = [
            "id": "\(root)/secrets/\(entry.name)" + (itemId ? "" : "/\(version.id)"),
            "attributes": attributes(version),
            "tags": version.tags,
        ]
        if withValue { object["value"] = version.value }
        if let contentType = version.contentType { object["contentType"] = contentType }
        return object
    }

    /// A DeletedSecretBundle / DeletedSecretItem.
    func deletedBundle(_ entry: VaultStore.Entry, _ version: VaultStore.Version, deletedDate: Int, root: String, itemId: Bool = false) -> [String: Any] {
        var object = bundle(entry, version, root: root, withValue: false, itemId: itemId)
        object["recoveryId"] = "\(root)/deletedsecrets/\(entry.name)"
        object["deletedDate"] = deletedDate
        object["scheduledPurgeDate"] = deletedDate + (vault.recoverableDays ?? 90) * 86400
        return object
    }

    func get(_ request: Request, _ name: String, version: String?) -> Response {
        do throws(VaultStore.Refusal) {
            let (entry, found) = try store.get(name, version: version)
            // exp and nbf are informational: only a disabled secret is refused (about-secrets.md).
            guard found.enabled else { return VaultReply.refusal(.disabled, name: name) }
            return EntraReply.json(bundle(entry, found, root: root(request), withValue: true))
        } catch { return VaultReply.refusal(error, name: name) }
    }

    func set(_ request: Request, _ name: String, body: Data) -> Response {
        guard name.range(of: "^[0-9a-zA-Z-]{1,127}$", options: .regularExpression) != nil else {
            return VaultReply.error(.badRequest, "BadParameter", "The request URI contains an invalid name: \(name)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any], let value = object["value"] as? String else {
            return VaultReply.error(.badRequest, "BadParameter", "Property 'value' is required.")
        }
        guard value.utf8.count <= 25 * 1024 else { return VaultReply.error(.badRequest, "BadParameter", "The secret value exceeds 25 KB.") }
        let tags = object["tags"] as? [String: String] ?? [:]
        guard tags.count <= 15 else { return VaultReply.error(.badRequest, "BadParameter", "A secret can have at most 15 tags.") }
        let attributes = object["attributes"] as? [String: Any]
        let now = Int(Date().timeIntervalSince1970)
        let version = VaultStore.Version(id: VaultStore.newVersion(), value: value, contentType: object["contentType"] as? String, tags: tags,
                                         enabled: attributes?["enabled"] as? Bool ?? true, created: now, updated: now,
                                         notBefore: Self.int(attributes?["nbf"]), expires: Self.int(attributes?["exp"]))
        do throws(VaultStore.Refusal) {
            let entry = try store.set(name, version)
            return EntraReply.json(bundle(entry, version, root: root(request), withValue: true))
        } catch { return VaultReply.refusal(error, name: name) }
    }

    /// `PATCH /secrets/{name}/{version}`: `contentType`, `tags`, `attributes` (`enabled`, `nbf`, `exp`).
    func update(_ request: Request, _ name: String, version: String?, body: Data) -> Response {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
            return VaultReply.error(.badRequest, "BadParameter", "The request body is not a JSON object.")
        }
        let attributes = object["attributes"] as? [String: Any]
        do throws(VaultStore.Refusal) {
            let (entry, updated) = try store.update(name, version: version?.isEmpty == true ? nil : version) { version in
                if let contentType = object["contentType"] as? String { version.contentType = contentType }
                if let tags = object["tags"] as? [String: String] { version.tags = tags }
                if let enabled = attributes?["enabled"] as? Bool { version.enabled = enabled }
                if attributes?.keys.contains("nbf") == true { version.notBefore = Self.int(attributes?["nbf"]) }
                if attributes?.keys.contains("exp") == true { version.expires = Self.int(attributes?["exp"]) }
            }
            return EntraReply.json(bundle(entry, updated, root: root(request), withValue: false))
        } catch { return VaultReply.refusal(error, name: name) }
    }

    static func int(_ value: Any?) -> Int? {
        (value as? NSNumber)?.intValue ?? (value as? Int)
    }

    func list(_ request: Request, deleted: Bool) -> Response {
        let root = root(request)
        let items = deleted
            ? store.softDeleted().map { deletedBundle($0.0, $0.1, deletedDate: $0.deletedDate, root: root, itemId: true) }
            : store.active().map { bundle($0.0, $0.1, root: root, withValue: false, itemId: true) }
        return page(items, request, root: root, path: deleted ? "deletedsecrets" : "secrets")
    }

    func versions(_ request: Request, _ name: String) -> Response {
        do throws(VaultStore.Refusal) {
            let (entry, _) = try store.get(name, version: nil)
            let items = entry.versions.map { bundle(entry, $0, root: root(request), withValue: false) }
            return page(items, request, root: root(request), path: "secrets/\(entry.name)/versions")
        } catch { return VaultReply.refusal(error, name: name) }
    }

    /// One page of items; `nextLink` carries an opaque `$skiptoken`.
    func page(_ items: [[String: Any]], _ request: Request, root: String, path: String) -> Response {
        let query = request.uri.queryParameters
        // maxresults is 1…25 ("If not specified, the service will return up to 25 results", Get
        // Secrets REST reference); above that Key Vault answers 400 BadParameter.
        if let raw = query.get("maxresults"), !(Int(raw).map { (1...25).contains($0) } ?? false) {
            return VaultReply.error(.badRequest, "BadParameter", "invalid maxresults: \(raw) (1 to 25)")
        }
        let size = min(Int(query.get("maxresults") ?? "") ?? 25, vault.pageSize ?? 25)
        let offset = query.get("$skiptoken").flatMap { $0.hasPrefix("kv") ? Int(String($0.dropFirst(2)), radix: 36) : nil } ?? 0
        var object: [String: Any] = ["value": Array(items.dropFirst(offset).prefix(size))]
        if offset + size < items.count {
            let token = "kv" + String(offset + size, radix: 36)
            var linkRoot = root
            if vault.nextLinkScheme != nil || vault.nextLinkPort != nil, var components = URLComponents(string: root) {
                if let scheme = vault.nextLinkScheme { components.scheme = scheme }
                if let port = vault.nextLinkPort { components.port = port }
                linkRoot = components.string ?? root
            }
            object["nextLink"] = "\(linkRoot)/\(path)?api-version=7.6&$skiptoken=\(token)&maxresults=\(size)"
        } else {
            object["nextLink"] = NSNull()
        }
        return EntraReply.json(object)
    }
}
