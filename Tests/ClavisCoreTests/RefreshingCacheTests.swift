import ClavisCore
import InMemoryLogging
import Logging
import Synchronization
import Testing

/// The cache primitive's own rules (the secret and token caches are tested through it too).
@Suite struct RefreshingCacheTests {
    struct Failure: Error {}

    /// A fetch the test answers by hand, counting calls.
    final class Fetches: Sendable {
        private let state = Mutex<(calls: Int, fail: Bool)>((0, false))
        var calls: Int { state.withLock { $0.calls } }
        func failing(_ fail: Bool) { state.withLock { $0.fail = fail } }
        func next() throws -> Int {
            try state.withLock { state in
                state.calls += 1
                if state.fail { throw Failure() }
                return state.calls
            }
        }
    }

    static func lifetime(_ value: Int, _ fetched: ContinuousClock.Instant) -> RefreshingCache<String, Int>.Lifetime {
        .init(expires: fetched + .seconds(100), refreshFrom: fetched + .seconds(80))
    }

    /// The last hit is remembered (a daemon asks for one key again and again), but never outlives
    /// its entry: after `invalidate`, `removeAll`, a hit on another key, or its refresh time, the
    /// next read goes to the entries again.
    @Test func theLastHitNeverOutlivesItsEntry() async throws {
        let clock = ManualClock()
        let fetches = Fetches()
        let cache = RefreshingCache<String, Int>(failureBackoff: .seconds(10), now: { clock.now })
        let read = { (key: String) in try await cache.value(for: key, fetch: { try fetches.next() }, lifetime: Self.lifetime) }
        #expect(try await read("k") == 1)
        #expect(cache.cachedValue(for: "k") == 1 && cache.cachedValue(for: "k") == 1)  // the second from the last hit
        cache.invalidate("k")
        #expect(cache.cachedValue(for: "k") == nil)
        #expect(try await read("k") == 2)
        #expect(try await read("j") == 3)
        #expect(cache.cachedValue(for: "k") == 2 && cache.cachedValue(for: "j") == 3 && cache.cachedValue(for: "k") == 2)
        cache.removeAll()
        #expect(cache.cachedValue(for: "k") == nil && cache.cachedValue(for: "j") == nil)
        #expect(try await read("k") == 4)
        #expect(cache.cachedValue(for: "k") == 4)
        clock.advance(by: .seconds(81))   // past refreshFrom: not a hit any more
        #expect(cache.cachedValue(for: "k") == nil)
    }

    /// A failed background refresh keeps the current value and is not retried before the backoff;
    /// after the backoff the next reader refreshes again.
    @Test func aFailedBackgroundRefreshBacksOff() async throws {
        let clock = ManualClock()
        let fetches = Fetches()
        let cache = RefreshingCache<String, Int>(failureBackoff: .seconds(10), now: { clock.now })
        let read = { try await cache.value(for: "k", fetch: { try fetches.next() }, lifetime: Self.lifetime) }
        #expect(try await read() == 1)
        clock.advance(by: .seconds(85))
        fetches.failing(true)
        #expect(try await read() == 1)  // served at once; a background refresh starts and fails
        for _ in 0..<200 where fetches.calls < 2 { try await Task.sleep(for: .milliseconds(2)) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(fetches.calls == 2)
        clock.advance(by: .seconds(5))
        #expect(try await read() == 1)
        try await Task.sleep(for: .milliseconds(20))
        #expect(fetches.calls == 2)  // within the backoff: no new attempt
        fetches.failing(false)
        clock.advance(by: .seconds(6))
        _ = try await read()
        var value = 1
        for _ in 0..<200 where value == 1 {
            try await Task.sleep(for: .milliseconds(2))
            value = try await read()
        }
        #expect(value == 3)
    }

    /// A foreground failure reaches the caller and is not cached; expiry forces a waiting fetch.
    @Test func failuresReachTheCallerAndExpiryRefetches() async throws {
        let clock = ManualClock()
        let fetches = Fetches()
        let cache = RefreshingCache<String, Int>(now: { clock.now })
        let read = { try await cache.value(for: "k", fetch: { try fetches.next() }, lifetime: Self.lifetime) }
        fetches.failing(true)
        await #expect(throws: Failure.self) { try await read() }
        fetches.failing(false)
        #expect(try await read() == 2)
        clock.advance(by: .seconds(101))
        #expect(try await read() == 3)
    }

    /// `invalidate(keepingInFlight: true)` leaves an entry whose fetch is under way; plain
    /// `invalidate` drops it, and that fetch then fills nothing.
    @Test func invalidationAndFetchesInFlight() async throws {
        let gate = AsyncStream<Void>.makeStream()
        let cache = RefreshingCache<String, Int>()
        let started = Mutex(0)
        let slow: @Sendable () async throws -> Int = {
            started.withLock { $0 += 1 }
            for await _ in gate.stream { break }
            return 7
        }
        let first = Task { try await cache.value(for: "k", fetch: slow, lifetime: Self.lifetime) }
        while started.withLock({ $0 }) == 0 { await Task.yield() }
        cache.invalidate("k", keepingInFlight: true)
        cache.invalidate("k")
        gate.continuation.yield()
        #expect(try await first.value == 7)
        #expect(try await cache.value(for: "k", fetch: { 8 }, lifetime: Self.lifetime) == 8)  // 7 was not cached
        #expect(try await cache.value(for: "k", fetch: { 9 }, lifetime: Self.lifetime) == 8)
    }
}

/// swift-log's guidance for libraries: the resolver logs one debug line per resolution, naming
/// the reference and the source, never the value — to the logger it was given, else to the
/// task's `Logger.current`.
@Suite struct ResolutionLoggingTests {
    @Test func oneDebugLinePerResolutionWithoutTheValue() async throws {
        let handler = InMemoryLogHandler()
        var logger = Logger(label: "test", factory: { _ in handler })
        logger.logLevel = .trace
        let resolver = SecretResolver([MemorySource(secrets: ["a": Secret("value-CANARY-91c2")])], logger: logger)
        _ = try await resolver.secret(for: "memory:a")
        let lines = handler.entries
        #expect(lines.count == 1)
        #expect(lines.first?.level == .debug)
        #expect(lines.first?.metadata["clavis.reference"] == "memory:a")
        #expect(lines.first?.metadata["clavis.source"] != nil)
        #expect(!lines.map { "\($0.message) \($0.metadata)" }.joined().contains("CANARY"))
    }

    @Test func withoutALoggerTheTasksLoggerIsUsed() async throws {
        let handler = InMemoryLogHandler()
        var logger = Logger(label: "bound", factory: { _ in handler })
        logger.logLevel = .debug
        let resolver = SecretResolver([MemorySource(secrets: ["a": Secret("x")])])
        try await withLogger(logger) { _ in _ = try await resolver.secret(for: "memory:a") }
        #expect(handler.entries.count == 1)
    }
}
