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
public actor CachingTokenCredential: TokenCredential {
    /// The wrapped credential.
    public nonisolated let base: any TokenCredential
    /// The pause after a failed background refresh.
    public let failureBackoff: TimeInterval
    private var entries: [TokenRequestContext: Entry] = [:]
    /// Bumped by ``removeAll()``: a request started before it must not refill the cache.
    private var generation = 0
    private let now: @Sendable () -> Date
    private let logger: Logger

    private struct Entry {
        var token: AccessToken?
        var inFlight: Task<AccessToken, any Error>?
        var lastFailure: Date?
    }

    /// Wraps `base`.
    public init(_ base: any TokenCredential, failureBackoff: TimeInterval = 5, logger: Logger = Logger(label: "clavis.tokens"),
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.base = base
        self.failureBackoff = failureBackoff
        self.logger = logger
        self.now = now
    }

    /// `cached BASE`.
    public nonisolated var credentialDescription: String { "cached \(base.credentialDescription)" }

    /// A valid token from the cache, or from one shared request.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        let instant = now()
        var entry = entries[context] ?? Entry()
        if let token = entry.token, token.isValid(at: instant) {
            if instant >= token.refreshOn, entry.inFlight == nil,
               entry.lastFailure.map({ instant.timeIntervalSince($0) >= failureBackoff }) ?? true {
                entry.inFlight = fetch(context)
                entries[context] = entry
                logger.debug("refreshing token ahead of expiry", metadata: ["clavis.token.expires_in_s": "\(Int(token.expiresOn.timeIntervalSince(instant)))"])
            }
            logger.trace("token cache hit", metadata: ["clavis.token.resource": "\(context.resource)",
                                                       "clavis.token.expires_in_s": "\(Int(token.expiresOn.timeIntervalSince(instant)))"])
            return token
        }
        if let task = entry.inFlight {
            logger.trace("token request already in flight: waiting for it", metadata: ["clavis.token.resource": "\(context.resource)"])
            return try await task.value
        }
        let task = fetch(context)
        entry.inFlight = task
        entries[context] = entry
        return try await task.value
    }

    /// Forgets every token. A request already under way still answers its callers, but its token
    /// is not cached (it was asked for before the cache was cleared).
    public func removeAll() {
        entries = [:]
        generation += 1
    }

    /// Forgets the token for `context` (a service refused it although it looked valid), unless a
    /// request for a new one is already under way; the wrapped credential is told too.
    public func invalidate(_ context: TokenRequestContext) async {
        if entries[context]?.inFlight == nil { entries[context] = nil }
        await base.invalidate(context)
    }

    private func fetch(_ context: TokenRequestContext) -> Task<AccessToken, any Error> {
        let started = generation
        return Task {
            do {
                let token = try await base.getToken(context)
                finish(context, .success(token), generation: started)
                return token
            } catch {
                finish(context, .failure(error), generation: started)
                throw error
            }
        }
    }

    private func finish(_ context: TokenRequestContext, _ result: Result<AccessToken, any Error>, generation started: Int) {
        guard started == generation else { return }  // cleared meanwhile: the entry belongs to a newer request, if any
        var entry = entries[context] ?? Entry()
        entry.inFlight = nil
        switch result {
        case .success(let token):
            entry.token = token
            entry.lastFailure = nil
        case .failure(let error):
            entry.lastFailure = now()
            // The caller gets the error itself; a warning here would print it twice.
            logger.debug("token request failed", metadata: ["clavis.error": "\(error)"])
        }
        entries[context] = entry
    }
}
