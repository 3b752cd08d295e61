import ClavisCore
import ClavisIdentity
import Foundation
import Synchronization

/// A secret as Key Vault returns it.
public struct KeyVaultSecret: Sendable {
    /// The value.
    public var value: Secret
    /// The full identifier, `https://VAULT/secrets/NAME/VERSION`.
    public var id: String
    /// The content type, if set.
    public var contentType: String?
    /// Whether it is enabled.
    public var enabled: Bool
    /// Tags.
    public var tags: [String: String]
}

/// The Key Vault secrets REST API (api-version 7.6) with challenge-based authentication.
///
/// The first request to a vault goes without a token; the 401 challenge names the authority
/// (tenant) and resource. The client refuses a challenge whose resource is not the vault's
/// domain's (a hostile vault URL must not harvest tokens) or whose `scope` and `resource`
/// disagree, then asks the credential for a token for exactly that resource, naming the
/// challenge's tenant — which the credential honours only when it is its own tenant or one of its
/// additionally allowed tenants — and repeats the request. The challenge is remembered per vault.
/// A `nextLink` is followed only to the vault's own origin (scheme, host and port).
public struct KeyVaultClient: Sendable {
    /// The api-version sent.
    public static let apiVersion = "7.6"
    let credential: any TokenCredential
    let transport: HTTPTransport
    /// The resource expected for hosts outside the Azure vault domains (the emulator).
    let expectedResource: String
    private let challenges = ChallengeCache()

    final class ChallengeCache: Sendable {
        private let state = Mutex<[String: Challenge]>([:])
        func withLock<R>(_ body: (inout [String: Challenge]) -> R) -> R { state.withLock { body(&$0) } }
    }

    struct Challenge: Sendable, Equatable {
        /// The tenant the challenge's authorization URL names.
        var tenant: String?
        /// The validated resource; the token is requested for exactly this.
        var resource: String
    }

    /// Creates a client.
    public init(credential: any TokenCredential, transport: HTTPTransport = HTTPTransport(), expectedResource: String = "https://vault.azure.net") {
        self.credential = credential
        self.transport = transport
        self.expectedResource = expectedResource
    }

    /// Reads a secret (latest or a version).
    public func get(_ location: KeyVaultLocation, reference: String) async throws -> KeyVaultSecret {
        let path = "/secrets/\(location.name ?? "")" + (location.version.map { "/\($0)" } ?? "")
        let reply = try await send(.GET, location, path: path, reference: reference, operation: "get")
        return try Self.secret(from: reply, reference: reference)
    }

    /// Creates a new version of a secret.
    public func set(_ location: KeyVaultLocation, value: Secret, contentType: String? = nil, tags: [String: String] = [:], reference: String) async throws {
        guard value.count <= 25 * 1024 else {
            throw ClavisError(.invalidValue, reference: reference, reason: "Key Vault secrets are limited to 25 KB; this one is \(value.count) bytes")
        }
        guard let text = value.revealedString() else { throw ClavisError(.invalidValue, reference: reference, reason: "Key Vault secrets are text; this value is not UTF-8") }
        var body: [String: Any] = ["value": text]
        if let contentType { body["contentType"] = contentType }
        if !tags.isEmpty { body["tags"] = tags }
        let data = try JSONSerialization.data(withJSONObject: body)
        _ = try await send(.PUT, location, path: "/secrets/\(location.name ?? "")", body: Array(data), reference: reference, operation: "set")
    }

    /// Deletes a secret (soft delete: recoverable until purged).
    public func delete(_ location: KeyVaultLocation, reference: String) async throws {
        _ = try await send(.DELETE, location, path: "/secrets/\(location.name ?? "")", reference: reference, operation: "delete")
    }

    /// Recovers a soft-deleted secret (all its versions).
    public func recover(_ location: KeyVaultLocation, reference: String) async throws {
        _ = try await send(.POST, location, path: "/deletedsecrets/\(location.name ?? "")/recover", body: [], reference: reference, operation: "recover")
    }

    /// Purges a soft-deleted secret for good, freeing its name.
    public func purge(_ location: KeyVaultLocation, reference: String) async throws {
        _ = try await send(.DELETE, location, path: "/deletedsecrets/\(location.name ?? "")", reference: reference, operation: "purge")
    }

    /// The names of soft-deleted secrets.
    public func listDeletedNames(_ location: KeyVaultLocation, reference: String) async throws -> [String] {
        try await list(location, path: "/deletedsecrets", reference: reference).compactMap { id in id.split(separator: "/").last.map(String.init) }.sorted()
    }

    /// The names of the vault's secrets, following `nextLink` across pages.
    public func listNames(_ location: KeyVaultLocation, reference: String) async throws -> [String] {
        try await list(location, path: "/secrets", reference: reference).compactMap { id in id.split(separator: "/").last.map(String.init) }.sorted()
    }

    /// The versions of a secret.
    public func listVersions(_ location: KeyVaultLocation, reference: String) async throws -> [String] {
        try await list(location, path: "/secrets/\(location.name ?? "")/versions", reference: reference)
            .compactMap { id in id.split(separator: "/").last.map(String.init) }
    }

    private func list(_ location: KeyVaultLocation, path: String, reference: String) async throws -> [String] {
        var ids: [String] = []
        var reply = try await send(.GET, location, path: path, query: "maxresults=25", reference: reference, operation: "list")
        var pages = 0
        while true {
            guard let object = reply.jsonObject else { throw ClavisError(.serviceError, reference: reference, reason: "a list page is not JSON") }
            ids += (object["value"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            pages += 1
            guard let next = object["nextLink"] as? String, !next.isEmpty, pages < 10_000 else { return ids }
            // nextLink is followed verbatim, but only to the vault's own origin: same scheme, host and port.
            guard let origin = Origin(next), origin == Origin(location.vault) else {
                throw ClavisError(.permissionDenied, reference: reference,
                                  reason: "a nextLink points to \(Origin(next)?.description ?? "an invalid URL"), outside the vault's origin \(Origin(location.vault)?.description ?? location.host); it was not followed",
                                  hint: "a vault only pages within itself; check the vault URL (a proxy rewriting links?)")
            }
            reply = try await sendURL(.GET, next, location: location, reference: reference, operation: "list")
        }
    }

    private func send(_ method: HTTPMethod, _ location: KeyVaultLocation, path: String, query: String? = nil, body: [UInt8]? = nil,
                      reference: String, operation: String) async throws -> HTTPReply {
        var url = location.vault.absoluteString + path + "?api-version=\(Self.apiVersion)"
        if let query { url += "&" + query }
        return try await sendURL(method, url, location: location, body: body, reference: reference, operation: operation)
    }

    private func sendURL(_ method: HTTPMethod, _ url: String, location: KeyVaultLocation, body: [UInt8]? = nil,
                         reference: String, operation: String) async throws -> HTTPReply {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        var challenge = challenges.withLock { $0[location.host] }
        for _ in 0..<2 {
            var sent = headers
            if let challenge {
                let token = try await credential.getToken(TokenRequestContext(resource: challenge.resource, tenant: challenge.tenant))
                guard let text = token.token.revealedString() else { throw ClavisError(.serviceError, reference: reference, reason: "the token is not text") }
                sent.append(("Authorization", "Bearer \(text)"))
            }
            let reply = try await transport.send(method, url, headers: sent, body: challenge == nil ? (body == nil ? nil : []) : body)
            if reply.status == 401, let header = reply.header("WWW-Authenticate") {
                let parsed = try parseChallenge(header, location: location, reference: reference)
                let known = challenge
                challenges.withLock { $0[location.host] = parsed }
                if let known, known == parsed {
                    throw KeyVaultError.map(reply, reference: reference, operation: operation)
                }
                challenge = parsed
                continue
            }
            if (200..<300).contains(reply.status) { return reply }
            throw KeyVaultError.map(reply, reference: reference, operation: operation)
        }
        throw ClavisError(.permissionDenied, reference: reference, reason: "Key Vault kept asking for authentication")
    }

    /// Parses `Bearer authorization="https://login.windows.net/TENANT", resource="https://vault.azure.net"`
    /// (or `authorization_uri`, `scope`) and checks it, as azure-keyvault-secrets'
    /// `ChallengeAuthPolicy.on_challenge` does (azure-sdk-for-python,
    /// sdk/keyvault/azure-keyvault-secrets/azure/keyvault/secrets/_shared/challenge_auth_policy.py:
    /// the scope's domain must be a suffix of the vault's, and the challenge's tenant is passed to
    /// the credential, whose `additionally_allowed_tenants` decide), and stricter: `scope` and
    /// `resource`, when both are given, must agree (scope = resource + `/.default`); the resource
    /// must be https and exactly the vault's domain (or `expectedResource` for other hosts).
    func parseChallenge(_ header: String, location: KeyVaultLocation, reference: String) throws -> Challenge {
        var parameters: [String: String] = [:]
        let body = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : header
        for match in body.matches(of: /([A-Za-z_]+)="([^"]*)"/) {
            parameters[String(match.output.1).lowercased()] = String(match.output.2)
        }
        let authorization = parameters["authorization"] ?? parameters["authorization_uri"]
        let tenant = authorization.flatMap { URL(string: $0)?.path.split(separator: "/").first.map(String.init) }
        func refuse(_ reason: String) -> ClavisError {
            ClavisError(.permissionDenied, reference: reference, reason: "\(reason); no token was sent (none was requested)",
                        hint: "a vault URL that is not a real Key Vault may be trying to harvest tokens — check the reference")
        }
        let resourceText: String
        switch (parameters["resource"], parameters["scope"]) {
        case let (resource?, scope?):
            guard Self.trimmed(TokenRequestContext.scope(forResource: Self.trimmed(resource))).lowercased() == Self.trimmed(scope).lowercased() else {
                throw refuse("the vault's challenge names resource \(resource) but scope \(scope), which disagree (the scope must be the resource + /.default)")
            }
            resourceText = resource
        case let (resource?, nil):
            resourceText = resource
        case let (nil, scope?) where scope.hasSuffix("/.default"):
            resourceText = String(scope.dropLast("/.default".count))
        default:
            throw ClavisError(.serviceError, reference: reference, reason: "Key Vault's authentication challenge names no resource")
        }
        guard let resourceURL = URL(string: resourceText), resourceURL.scheme?.lowercased() == "https", let resourceHost = resourceURL.host?.lowercased() else {
            throw refuse("the vault's challenge names \(resourceText), which is not an https resource URI")
        }
        let domain = KeyVaultLocation.knownDomains.first { location.host.hasSuffix("." + $0) }
        let matches = domain.map { $0 == resourceHost } ?? (Self.trimmed(resourceText).lowercased() == Self.trimmed(expectedResource).lowercased())
        guard matches else {
            throw refuse("the vault's challenge asks for a token for \(resourceText), which does not belong to \(location.host)")
        }
        return Challenge(tenant: tenant, resource: Self.trimmed(resourceText))
    }

    /// `text` without trailing slashes.
    static func trimmed(_ text: String) -> String {
        var text = text
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    static func secret(from reply: HTTPReply, reference: String) throws -> KeyVaultSecret {
        guard let object = reply.jsonObject, let value = object["value"] as? String, let id = object["id"] as? String else {
            throw ClavisError(.serviceError, reference: reference, reason: "Key Vault's reply has no secret value")
        }
        let attributes = object["attributes"] as? [String: Any]
        return KeyVaultSecret(value: Secret(value), id: id, contentType: object["contentType"] as? String,
                              enabled: attributes?["enabled"] as? Bool ?? true, tags: object["tags"] as? [String: String] ?? [:])
    }
}
