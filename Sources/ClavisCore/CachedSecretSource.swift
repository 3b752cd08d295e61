import Logging

/// A source that remembers what another source returned, for a while.
///
/// - Within `ttl` of a read, the cached secret is returned without calling the base source.
/// - Concurrent readers of the same uncached reference share one read (single flight).
/// - In the last `refreshAhead` of an entry's life, the first reader starts a background re-read
///   and every reader keeps getting the cached value meanwhile, so rotation reaches callers
///   without any of them waiting.
/// - Failures are never cached: the next read tries again. A failed background refresh keeps the
///   old value until it expires.
/// - ``store(_:for:)`` and ``delete(_:)`` pass through and drop the entry.
/// - These are ``RefreshingCache``'s rules, the same as the token cache's.
///
/// ```swift
/// let cached = CachedSecretSource(KeyVaultSource(...), ttl: .seconds(300), refreshAhead: .seconds(60))
/// ```
public final class CachedSecretSource<Base: SecretSource>: SecretSource {
    /// The wrapped source.
    public let base: Base
    /// How long a read stays fresh.
    public let ttl: Duration
    /// How long before expiry a read starts a background refresh.
    public let refreshAhead: Duration
    private let cache: RefreshingCache<SecretReference, Secret>

    /// Wraps `base`.
    ///
    /// - Parameters:
    ///   - base: the source whose reads are cached.
    ///   - ttl: how long a read is reused.
    ///   - refreshAhead: how long before expiry a background refresh starts (0 disables it).
    ///   - failureBackoff: the pause after a failed background refresh.
    ///   - logger: refreshes and shared reads (trace), failed background refreshes (debug), never a value.
    ///     Default: `Logger.current` (swift-log's task-local logger).
    ///   - now: the clock, injectable for tests.
    public init(_ base: Base, ttl: Duration, refreshAhead: Duration = .zero, failureBackoff: Duration = .seconds(5),
                logger: Logger? = nil, now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.base = base
        self.ttl = ttl
        self.refreshAhead = min(refreshAhead, ttl)
        cache = RefreshingCache(failureBackoff: failureBackoff, logger: logger, now: now)
    }

    /// The base source's schemes.
    public var schemes: Set<String> { base.schemes }
    /// The base source's description, marked as cached.
    public var sourceDescription: String { "\(base.sourceDescription) (cached)" }
    /// The base source's capabilities.
    public var capabilities: SecretSourceCapabilities { base.capabilities }

    /// Returns the cached secret while fresh, otherwise reads it once for all concurrent callers.
    public func secret(for reference: SecretReference) async throws -> Secret {
        if let secret = cache.cachedValue(for: reference) { return secret }  // the hot path: no closures built
        let (base, ttl, refreshAhead) = (base, ttl, refreshAhead)
        return try await cache.value(for: reference, fetch: { try await base.secret(for: reference) }) { _, fetched in
            .init(expires: fetched + ttl, refreshFrom: refreshAhead > .zero ? fetched + ttl - refreshAhead : nil)
        }
    }

    /// Lists through the base source (never cached).
    public func listNames(in container: SecretReference) async throws -> [String] {
        try await base.listNames(in: container)
    }

    /// Drops every cached entry; a read under way does not refill it.
    public func removeAll() {
        cache.removeAll()
    }

    /// Drops the entry for `reference`, so the next read goes to the base source; a read under
    /// way does not refill it.
    public func invalidate(_ reference: SecretReference) {
        cache.invalidate(reference)
    }
}

extension CachedSecretSource: WritableSecretSource where Base: WritableSecretSource {
    /// Stores through the base source and drops the cached entry.
    public func store(_ secret: Secret, for reference: SecretReference) async throws {
        defer { invalidate(reference) }
        try await base.store(secret, for: reference)
    }

    /// Deletes through the base source and drops the cached entry.
    public func delete(_ reference: SecretReference) async throws {
        defer { invalidate(reference) }
        try await base.delete(reference)
    }
}
