import Logging
import Synchronization

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
    private let now: @Sendable () -> ContinuousClock.Instant
    private let logger: Logger
    private let state = Mutex<[SecretReference: Entry]>([:])

    private enum Plan { case cached(Secret), wait(Task<Secret, any Error>) }

    private struct Entry {
        var value: (secret: Secret, expires: ContinuousClock.Instant)?
        var inFlight: Task<Secret, any Error>?
        var generation: Int
    }

    /// Wraps `base`.
    ///
    /// - Parameters:
    ///   - base: the source whose reads are cached.
    ///   - ttl: how long a read is reused.
    ///   - refreshAhead: how long before expiry a background refresh starts (0 disables it).
    ///   - logger: where refresh failures are logged (never a value).
    ///   - now: the clock, injectable for tests.
    public init(_ base: Base, ttl: Duration, refreshAhead: Duration = .zero, logger: Logger = Logger(label: "clavis.cache"),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.base = base
        self.ttl = ttl
        self.refreshAhead = min(refreshAhead, ttl)
        self.now = now
        self.logger = logger
    }

    /// The base source's schemes.
    public var schemes: Set<String> { base.schemes }
    /// The base source's description, marked as cached.
    public var sourceDescription: String { "\(base.sourceDescription) (cached)" }
    /// The base source's capabilities.
    public var capabilities: SecretSourceCapabilities { base.capabilities }

    /// Returns the cached secret while fresh, otherwise reads it once for all concurrent callers.
    public func secret(for reference: SecretReference) async throws -> Secret {
        let instant = now()
        let plan: Plan = state.withLock { entries in
            var entry = entries[reference] ?? Entry(generation: 0)
            if let value = entry.value, instant < value.expires {
                if entry.inFlight == nil, refreshAhead > .zero, instant >= value.expires - refreshAhead {
                    entry.inFlight = makeFetch(reference, generation: entry.generation, background: true)
                    entries[reference] = entry
                }
                return .cached(value.secret)
            }
            if let task = entry.inFlight { return .wait(task) }
            let task = makeFetch(reference, generation: entry.generation, background: false)
            entry.inFlight = task
            entries[reference] = entry
            return .wait(task)
        }
        switch plan {
        case .cached(let secret):
            logger.trace("secret cache hit", metadata: ["clavis.reference": "\(reference)"])
            return secret
        case .wait(let task):
            return try await task.value
        }
    }

    /// Lists through the base source (never cached).
    public func listNames(in container: SecretReference) async throws -> [String] {
        try await base.listNames(in: container)
    }

    /// Drops every cached entry.
    public func removeAll() {
        state.withLock { entries in
            for key in Array(entries.keys) { invalidate(key, in: &entries) }
        }
    }

    /// Drops the entry for `reference`, so the next read goes to the base source.
    public func invalidate(_ reference: SecretReference) {
        state.withLock { invalidate(reference, in: &$0) }
    }

    private func invalidate(_ reference: SecretReference, in entries: inout [SecretReference: Entry]) {
        // Bump the generation so an in-flight read started before the change cannot repopulate.
        let generation = (entries[reference]?.generation ?? 0) + 1
        entries[reference] = Entry(generation: generation)
    }

    private func makeFetch(_ reference: SecretReference, generation: Int, background: Bool) -> Task<Secret, any Error> {
        Task {
            do {
                let secret = try await base.secret(for: reference)
                let expires = now() + ttl
                state.withLock { entries in
                    guard var entry = entries[reference], entry.generation == generation else { return }
                    entry.value = (secret, expires)
                    entry.inFlight = nil
                    entries[reference] = entry
                }
                return secret
            } catch {
                state.withLock { entries in
                    guard var entry = entries[reference], entry.generation == generation else { return }
                    entry.inFlight = nil
                    entries[reference] = entry
                }
                if background {
                    logger.warning("background secret refresh failed; serving the cached value until it expires",
                                   metadata: ["clavis.reference": "\(reference)", "clavis.error": "\(error)"])
                }
                throw error
            }
        }
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
