import ClavisCore
import Synchronization
import Testing

/// Counts the reads that reach a real source.
final class CountingSource<Base: SecretSource>: SecretSource {
    let base: Base
    let reads = Atomic<Int>(0)
    let delay: Duration
    init(_ base: Base, delay: Duration = .zero) { self.base = base; self.delay = delay }
    var schemes: Set<String> { base.schemes }
    var sourceDescription: String { "counting \(base.sourceDescription)" }
    func secret(for reference: SecretReference) async throws -> Secret {
        reads.add(1, ordering: .relaxed)
        if delay > .zero { try await Task.sleep(for: delay) }
        return try await base.secret(for: reference)
    }
    var count: Int { reads.load(ordering: .relaxed) }
}

/// A source that fails with a fixed error, standing for a locked or corrupted store.
struct FailingSource: SecretSource {
    let scheme: String
    let code: ClavisError.Code
    var schemes: Set<String> { [scheme] }
    var sourceDescription: String { "failing" }
    func secret(for reference: SecretReference) async throws -> Secret {
        throw ClavisError(code, reference: reference.description, reason: "\(code) on purpose")
    }
}

@Suite struct ResolverTests {
    @Test func routesBySchemeAndReportsUnknownSchemes() async throws {
        let resolver = SecretResolver([MemorySource(secrets: ["a": Secret("1")])])
        #expect(try await resolver.secret(for: "memory:a").revealedString() == "1")
        do {
            _ = try await resolver.secret(for: "nope:a")
            Issue.record("resolved an unknown scheme")
        } catch ClavisError.unknownScheme {
        } catch { Issue.record("wrong error \(error)") }
        #expect(resolver.schemes == ["memory"])
    }

    @Test func writesThroughAWritableSourceAndRefusesReadOnlyOnes() async throws {
        let resolver = SecretResolver([MemorySource(), FailingSource(scheme: "ro", code: .notFound)])
        let reference = try SecretReference(parsing: "memory:k")
        try await resolver.store(Secret("v"), for: reference)
        #expect(try await resolver.secret(for: reference) == Secret("v"))
        #expect(try await resolver.listNames(in: SecretReference(parsing: "memory:")) == ["k"])
        try await resolver.delete(reference)
        await #expect(throws: ClavisError.self) { try await resolver.secret(for: reference) }
        do {
            try await resolver.store(Secret("v"), for: SecretReference(parsing: "ro:x"))
            Issue.record("stored into a read-only source")
        } catch let error as ClavisError {
            #expect(error.code == .readOnly)
            #expect(error.description.contains("cannot store"))
        }
        do {
            _ = try await resolver.listNames(in: SecretReference(parsing: "ro:"))
            Issue.record("listed a source that cannot list")
        } catch ClavisError.readOnly {}
    }

    @Test func registeringAddsAThirdPartyScheme() async throws {
        let resolver = SecretResolver().registering(MemorySource(scheme: "vendor", secrets: ["x": Secret("y")]))
        #expect(try await resolver.secret(for: "vendor:x").revealedString() == "y")
    }

    @Test func errorMatchingByCode() {
        let error: any Error = ClavisError(.locked, reference: "keyring:a/b", reason: "locked", hint: "unlock it")
        var matched = false
        switch error {
        case ClavisError.locked: matched = true
        default: break
        }
        #expect(matched)
        #expect("\(error)" == "secret store locked: keyring:a/b: locked (unlock it)")
        #expect((error as? ClavisError)?.shortDescription == "secret store locked")
    }
}

@Suite struct ChainTests {
    let resolver = SecretResolver([
        MemorySource(secrets: ["b": Secret("from-memory")]),
        FailingSource(scheme: "down", code: .sourceUnavailable),
        FailingSource(scheme: "broken", code: .corrupted),
    ])

    @Test func firstMemberThatHasItWins() async throws {
        let chain = try SecretChain(["memory:a", "down:x", "memory:b"], resolver: resolver)
        let (secret, reference) = try await chain.resolve()
        #expect(secret.revealedString() == "from-memory")
        #expect(reference.description == "memory:b")
    }

    @Test func aRealFailureStopsTheChain() async throws {
        let chain = try SecretChain(["broken:x", "memory:b"], resolver: resolver)
        do {
            _ = try await chain.secret()
            Issue.record("skipped a corrupted store")
        } catch ClavisError.corrupted {}
    }

    @Test func exhaustedChainNamesEveryMember() async throws {
        let chain = try SecretChain(["memory:a", "down:x"], resolver: resolver)
        do {
            _ = try await chain.secret()
            Issue.record("resolved")
        } catch let error as ClavisError {
            #expect(error.code == .sourceUnavailable)
            #expect(error.reason.contains("memory:a: no secret called 'a'"))
            #expect(error.reason.contains("down:x: source-unavailable on purpose"))
        }
        let allMissing = try SecretChain(["memory:a", "memory:c"], resolver: resolver)
        await #expect(throws: ClavisError.self) { try await allMissing.secret() }
        do { _ = try await allMissing.secret() } catch ClavisError.notFound {} catch { Issue.record("\(error)") }
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let offset = Mutex<Duration>(.zero)
    private let start = ContinuousClock.now
    func advance(by duration: Duration) { offset.withLock { $0 += duration } }
    var now: ContinuousClock.Instant { start + offset.withLock { $0 } }
}

@Suite struct CachedSecretSourceTests {
    @Test func servesFromCacheWithinTTLAndRereadsAfter() async throws {
        let memory = MemorySource(secrets: ["a": Secret("1")])
        let counting = CountingSource(memory)
        let clock = ManualClock()
        let cached = CachedSecretSource(counting, ttl: .seconds(60), now: { clock.now })
        let reference = try SecretReference(parsing: "memory:a")
        #expect(try await cached.secret(for: reference).revealedString() == "1")
        try await memory.store(Secret("2"), for: reference)
        clock.advance(by: .seconds(59))
        #expect(try await cached.secret(for: reference).revealedString() == "1")
        #expect(counting.count == 1)
        clock.advance(by: .seconds(2))
        #expect(try await cached.secret(for: reference).revealedString() == "2")
        #expect(counting.count == 2)
    }

    @Test func concurrentColdReadersShareOneRead() async throws {
        let counting = CountingSource(MemorySource(secrets: ["a": Secret("1")]), delay: .milliseconds(50))
        let cached = CachedSecretSource(counting, ttl: .seconds(60))
        let reference = try SecretReference(parsing: "memory:a")
        let results = try await withThrowingTaskGroup(of: Secret.self) { group in
            for _ in 0..<200 { group.addTask { try await cached.secret(for: reference) } }
            return try await group.reduce(into: [Secret]()) { $0.append($1) }
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0 == Secret("1") })
        #expect(counting.count == 1)
    }

    @Test func failuresAreNotCached() async throws {
        let memory = MemorySource()
        let counting = CountingSource(memory)
        let cached = CachedSecretSource(counting, ttl: .seconds(60))
        let reference = try SecretReference(parsing: "memory:a")
        await #expect(throws: ClavisError.self) { try await cached.secret(for: reference) }
        try await memory.store(Secret("now"), for: reference)
        #expect(try await cached.secret(for: reference).revealedString() == "now")
        #expect(counting.count == 2)
    }

    @Test func refreshesAheadWithoutMakingReadersWait() async throws {
        let memory = MemorySource(secrets: ["a": Secret("old")])
        let counting = CountingSource(memory)
        let clock = ManualClock()
        let cached = CachedSecretSource(counting, ttl: .seconds(100), refreshAhead: .seconds(20), now: { clock.now })
        let reference = try SecretReference(parsing: "memory:a")
        _ = try await cached.secret(for: reference)
        try await memory.store(Secret("new"), for: reference)
        clock.advance(by: .seconds(85))
        // Inside the refresh window: the old value is served at once and a refresh starts.
        #expect(try await cached.secret(for: reference).revealedString() == "old")
        var refreshed = false
        for _ in 0..<200 where !refreshed {
            try await Task.sleep(for: .milliseconds(5))
            refreshed = try await cached.secret(for: reference).revealedString() == "new"
        }
        #expect(refreshed)
        #expect(counting.count == 2)
    }

    @Test func writesInvalidateTheEntry() async throws {
        let cached = CachedSecretSource(MemorySource(secrets: ["a": Secret("1")]), ttl: .seconds(60))
        let reference = try SecretReference(parsing: "memory:a")
        _ = try await cached.secret(for: reference)
        try await cached.store(Secret("2"), for: reference)
        #expect(try await cached.secret(for: reference).revealedString() == "2")
        try await cached.delete(reference)
        await #expect(throws: ClavisError.self) { try await cached.secret(for: reference) }
    }
}
