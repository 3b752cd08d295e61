import ClavisCore
import Foundation
import Logging

/// Reuses tokens until shortly before they expire. Tokens live in memory only.
///
/// - Keyed by the request context (scopes, tenant); one cache per credential (so per authority
///   and client).
/// - **Single flight:** any number of concurrent callers with a cold cache cause exactly one
///   token request; the others await it.
/// - **Refresh ahead:** from the token's `refreshOn` (Entra's `refresh_in`, else 5 minutes or half
///   the lifetime before expiry) the first caller starts a background refresh and every caller
///   keeps the current token while it is valid — nobody stalls.
/// - Failures are not cached; a failed background refresh is retried no sooner than
///   `failureBackoff` later, while the old token still serves.
/// - These are ``RefreshingCache``'s rules, the same as the secret cache's.
public final class CachingTokenCredential: TokenCredential {
    /// The wrapped credential.
    public let base: any TokenCredential
    /// The pause after a failed background refresh.
    public let failureBackoff: Duration
    private let cache: RefreshingCache<TokenRequestContext, AccessToken>
    /// How long before `expiresOn` a token stops being handed out (it must survive its trip).
    static let leeway: Duration = .seconds(30)

    /// Wraps `base`.
    ///
    /// - Parameters:
    ///   - base: the credential whose tokens are cached.
    ///   - failureBackoff: the pause after a failed background refresh.
    ///   - logger: refreshes and shared requests (trace), failed background refreshes (debug), never a token.
    ///     Default: `Logger.current` (swift-log's task-local logger).
    ///   - now: the clock, injectable for tests.
    public init(_ base: any TokenCredential, failureBackoff: Duration = .seconds(5), logger: Logger? = nil,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.base = base
        self.failureBackoff = failureBackoff
        cache = RefreshingCache(failureBackoff: failureBackoff, logger: logger, now: now)
    }

    /// `cached BASE`.
    public var credentialDescription: String { "cached \(base.credentialDescription)" }

    /// A valid token from the cache, or from one shared request.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        if let token = cache.cachedValue(for: context) { return token }  // the hot path: no closures built
        let base = base
        return try await cache.value(for: context, fetch: { try await base.getToken(context) }) { token, fetched in
            // The token's wall-clock times, as instants of the cache's clock.
            let wall = Date()
            func instant(_ date: Date) -> ContinuousClock.Instant {
                // Bounded, so no reply can make the conversion trap (TokenEndpoint clamps too).
                let seconds = date.timeIntervalSince(wall)
                return fetched + .milliseconds(Int64((seconds.isFinite ? min(max(seconds, -1e9), 1e9) : 0) * 1000))
            }
            return .init(expires: instant(token.expiresOn) - Self.leeway, refreshFrom: instant(token.refreshOn))
        }
    }

    /// Forgets every token. A request already under way still answers its callers, but its token
    /// is not cached (it was asked for before the cache was cleared).
    public func removeAll() {
        cache.removeAll()
    }

    /// Forgets the token for `context` (a service refused it although it looked valid): it is never
    /// handed out again. If a request for a new one is already under way (a refresh ahead), callers
    /// wait for that; the wrapped credential is told too.
    public func invalidate(_ context: TokenRequestContext) async {
        cache.invalidate(context, keepingInFlight: true)
        await base.invalidate(context)
    }
}
