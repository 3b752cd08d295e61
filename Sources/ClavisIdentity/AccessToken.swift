import ClavisCore
import Foundation

/// An access token and when it expires. The token is a ``Secret``: it prints `<redacted>`.
public struct AccessToken: Sendable {
    /// The bearer token.
    public var token: Secret
    /// When it stops being valid.
    public var expiresOn: Date
    /// When to start refreshing it (Entra's `refresh_in`, or a margin before expiry).
    public var refreshOn: Date

    /// Creates a token; without `refreshOn`, refresh starts at the earlier of 5 minutes before
    /// expiry and half its lifetime.
    public init(token: Secret, expiresOn: Date, refreshOn: Date? = nil, now: Date = Date()) {
        self.token = token
        self.expiresOn = expiresOn
        let lifetime = expiresOn.timeIntervalSince(now)
        self.refreshOn = refreshOn ?? now.addingTimeInterval(max(0, min(lifetime - 300, lifetime / 2)))
    }

    /// Whether it is still usable at `date`, with `leeway` to spare.
    public func isValid(at date: Date = Date(), leeway: Duration = .seconds(30)) -> Bool {
        expiresOn.timeIntervalSince(date) > leeway.inSeconds
    }
}

/// What a token is for.
public struct TokenRequestContext: Sendable, Hashable {
    /// v2 scopes, e.g. `https://api.security.microsoft.com/.default`.
    public var scopes: [String]
    /// A tenant other than the credential's own, if any.
    public var tenant: String?

    /// Creates a context.
    public init(scopes: [String], tenant: String? = nil) {
        self.scopes = scopes
        self.tenant = tenant
    }

    /// A context for the v1 `resource` (e.g. `https://api.security.microsoft.com`).
    public init(resource: String, tenant: String? = nil) {
        self.init(scopes: [Self.scope(forResource: resource)], tenant: tenant)
    }

    /// `RESOURCE/.default`.
    public static func scope(forResource resource: String) -> String {
        resource.hasSuffix("/.default") ? resource : (resource.hasSuffix("/") ? resource + ".default" : resource + "/.default")
    }

    /// The v1 resource of the first scope (`…/.default` removed).
    public var resource: String {
        let scope = scopes.first ?? ""
        return scope.hasSuffix("/.default") ? String(scope.dropLast("/.default".count)) : scope
    }
}

/// Something that can get Entra ID access tokens for an app (no signed-in user).
///
/// ```swift
/// let credential = ClientSecretCredential(tenant: "contoso.onmicrosoft.com", clientId: "…",
///                                         secret: try SecretReference(parsing: "keyring:defender-daemon/app-secret"),
///                                         resolver: .standard)
/// let token = try await credential.getToken(TokenRequestContext(resource: "https://api.security.microsoft.com"))
/// ```
public protocol TokenCredential: Sendable {
    /// Gets a token (from the service; wrap in ``CachingTokenCredential`` to reuse it).
    func getToken(_ context: TokenRequestContext) async throws -> AccessToken
    /// A short description for errors, e.g. `client secret credential (app 1234…)`.
    var credentialDescription: String { get }
    /// Forgets any token cached for `context`, so the next ``getToken(_:)`` asks the service
    /// (called when a service refused a token that looked valid, e.g. Key Vault's 401 with an
    /// unchanged challenge). Credentials without a cache need not implement it.
    func invalidate(_ context: TokenRequestContext) async
}

extension TokenCredential {
    /// Nothing to forget: this credential caches nothing.
    public func invalidate(_ context: TokenRequestContext) async {}
}
