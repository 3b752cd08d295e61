import Logging
import Synchronization

/// The one cache primitive behind Clavis's caches: ``CachedSecretSource`` (secrets) and
/// `CachingTokenCredential` (tokens). Its rules, in one place:
///
/// - **Single flight:** any number of concurrent callers of a key that has no fresh value share
///   one fetch.
/// - **Refresh ahead:** once a value reaches its ``Lifetime/refreshFrom`` the first caller starts a
///   background fetch, and every caller keeps getting the current value meanwhile — nobody waits.
/// - **Failures are not cached:** a caller without a fresh value fetches again. A failed
///   background refresh keeps the current value until it expires and is not retried before
///   ``failureBackoff`` has passed.
/// - **Invalidation wins over a fetch in flight:** after ``invalidate(_:keepingInFlight:)`` or
///   ``removeAll()``, a fetch started before it still answers its own callers but never fills
///   the cache.
/// - One clock, `ContinuousClock`, injectable for tests; durations are `Duration`.
///
/// ```swift
/// let cache = RefreshingCache<String, Secret>()
/// let value = try await cache.value(for: "db", fetch: { try await source.secret(for: "env:DB") },
///                                   lifetime: { _, now in .init(expires: now + .seconds(300), refreshFrom: now + .seconds(240)) })
/// ```
public final class RefreshingCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    /// When a fetched value expires, and from when a reader starts a background refresh.
    public struct Lifetime: Sendable, Equatable {
        /// After this instant the value is never returned.
        public var expires: ContinuousClock.Instant
        /// From this instant the first reader starts a background refresh (at or after `expires`: never).
        public var refreshFrom: ContinuousClock.Instant

        /// A lifetime ending at `expires`, refreshed from `refreshFrom` (default: not refreshed ahead).
        public init(expires: ContinuousClock.Instant, refreshFrom: ContinuousClock.Instant? = nil) {
            self.expires = expires
            self.refreshFrom = min(refreshFrom ?? expires, expires)
        }
    }

    /// The pause after a failed background refresh before the next one.
    public let failureBackoff: Duration
    @usableFromInline let now: @Sendable () -> ContinuousClock.Instant
    private let explicitLogger: Logger?
    /// The logger given, else the task's (`Logger.current`, swift-log's way for libraries).
    private var logger: Logger { explicitLogger ?? Logger.current }
    @usableFromInline let state = Mutex<State>(State())

    @usableFromInline struct State {
        /// Every change of an entry forgets `last`, so it never outlives what it copies.
        @usableFromInline var entries: [Key: Entry] = [:] { didSet { last = nil } }
        /// The entry of the last hit: a daemon asks for one key again and again, and comparing
        /// keys is cheaper than hashing one (a token cache hit went from 226 to ~110 ns:
        /// docs/performance.md).
        @usableFromInline var last: (key: Key, value: Value, refreshFrom: ContinuousClock.Instant)?
        /// Monotonic: every new or invalidated entry gets a fresh generation, so a fetch can tell
        /// whether the entry it was started for still exists.
        var nextGeneration = 0

        mutating func newEntry() -> Entry {
            nextGeneration += 1
            return Entry(generation: nextGeneration)
        }
    }

    @usableFromInline struct Entry {
        @usableFromInline var value: (value: Value, lifetime: Lifetime)?
        var inFlight: Task<Value, any Error>?
        var lastFailure: ContinuousClock.Instant?
        var generation: Int
    }

    private enum Plan { case cached(Value, refreshing: Bool), wait(Task<Value, any Error>, shared: Bool) }

    /// Creates an empty cache.
    ///
    /// - Parameters:
    ///   - failureBackoff: the pause after a failed background refresh.
    ///   - logger: trace lines for refreshes and shared fetches, a debug line for a failed background
    ///     refresh (keys only, never a value). Default: `Logger.current` where each line is written.
    ///   - now: the clock, injectable for tests.
    public init(failureBackoff: Duration = .seconds(5), logger: Logger? = nil,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.failureBackoff = failureBackoff
        explicitLogger = logger
        self.now = now
    }

    /// The cached value for `key` while it is fresh and not yet due for a refresh, else `nil` —
    /// the hot path: one lock, one look-up, no allocation, no log line. ``value(for:fetch:lifetime:)``
    /// begins with it; callers on a hot path call it first themselves, so they do not build the
    /// fetch closures when the value is there. Inlinable, so it is specialised for the caller's
    /// types: unspecialised, every hit paid for generic metadata look-ups (a token cache hit took
    /// 424 ns instead of ~240 ns in the release benchmark).
    @inlinable
    public func cachedValue(for key: Key) -> Value? {
        let instant = now()
        return state.withLock { state -> Value? in
            if let last = state.last, instant < last.refreshFrom, last.key == key { return last.value }
            guard let cached = state.entries[key]?.value, instant < cached.lifetime.refreshFrom else { return nil }
            state.last = (key, cached.value, cached.lifetime.refreshFrom)
            return cached.value
        }
    }

    /// The value for `key`: the cached one while fresh (starting a background refresh from its
    /// `refreshFrom`), otherwise the result of one `fetch` shared by every concurrent caller.
    ///
    /// - Parameters:
    ///   - key: what is cached.
    ///   - fetch: produces a new value; its errors reach the callers waiting on it, uncached.
    ///   - lifetime: the lifetime of a value fetched at the given instant.
    public func value(for key: Key, fetch: @escaping @Sendable () async throws -> Value,
                      lifetime: @escaping @Sendable (Value, ContinuousClock.Instant) -> Lifetime) async throws -> Value {
        if let value = cachedValue(for: key) { return value }
        let instant = now()
        let plan: Plan = state.withLock { state in
            var entry = state.entries[key] ?? state.newEntry()
            defer { state.entries[key] = entry }
            if let cached = entry.value, instant < cached.lifetime.expires {
                let due = instant >= cached.lifetime.refreshFrom
                let backedOff = entry.lastFailure.map { instant - $0 < failureBackoff } ?? false
                if due, entry.inFlight == nil, !backedOff {
                    entry.inFlight = start(key, fetch, lifetime, generation: entry.generation, background: true)
                    return .cached(cached.value, refreshing: true)
                }
                return .cached(cached.value, refreshing: false)
            }
            if let task = entry.inFlight { return .wait(task, shared: true) }
            let task = start(key, fetch, lifetime, generation: entry.generation, background: false)
            entry.inFlight = task
            return .wait(task, shared: false)
        }
        switch plan {
        case .cached(let value, let refreshing):
            if refreshing { logger.trace("cache hit; refreshing ahead of expiry", metadata: ["clavis.cache.key": "\(key)"]) }
            return value
        case .wait(let task, let shared):
            if shared { logger.trace("fetch already in flight: waiting for it", metadata: ["clavis.cache.key": "\(key)"]) }
            return try await task.value
        }
    }

    /// Forgets `key`'s value. A fetch already under way still answers its callers but does not
    /// fill the cache — unless `keepingInFlight`: then that fetch stays the one callers wait for
    /// and its result is cached (the value is dropped either way, so nobody is handed it again).
    public func invalidate(_ key: Key, keepingInFlight: Bool = false) {
        state.withLock { state in
            if keepingInFlight, state.entries[key]?.inFlight != nil {
                state.entries[key]?.value = nil   // callers now wait for the fetch under way
                return
            }
            state.entries[key] = nil
        }
    }

    /// Forgets every key; fetches under way answer their callers but fill nothing.
    public func removeAll() {
        state.withLock { $0.entries = [:] }
    }

    private func start(_ key: Key, _ fetch: @escaping @Sendable () async throws -> Value,
                       _ lifetime: @escaping @Sendable (Value, ContinuousClock.Instant) -> Lifetime,
                       generation: Int, background: Bool) -> Task<Value, any Error> {
        Task {
            let result: Result<Value, any Error>
            do { result = .success(try await fetch()) } catch { result = .failure(error) }
            let finished = now()
            state.withLock { state in
                // Invalidated meanwhile: the entry (if any) belongs to a newer fetch.
                guard var entry = state.entries[key], entry.generation == generation else { return }
                entry.inFlight = nil
                switch result {
                case .success(let value):
                    entry.value = (value, lifetime(value, finished))
                    entry.lastFailure = nil
                case .failure:
                    entry.lastFailure = finished
                }
                state.entries[key] = entry
            }
            if background, case .failure(let error) = result {
                // Readers kept the current value, so this failure is logged here; a caller that
                // joined this fetch after the value expired receives the error as well.
                logger.debug("background refresh failed; serving the current value until it expires",
                             metadata: ["clavis.cache.key": "\(key)", "clavis.error": "\(error)"])
            }
            return try result.get()
        }
    }
}
