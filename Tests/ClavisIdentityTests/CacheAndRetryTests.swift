import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

@Suite(.serialized) struct TokenCacheTests {
    @Test func aThousandColdCallersCauseExactlyOneTokenRequest() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            let cache = CachingTokenCredential(secretCredential(authority, transport))
            let tokens = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<1000 { group.addTask { try await cache.getToken(F.context).token.revealedString() } }
                return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
            }
            #expect(tokens.count == 1)
            #expect(emulator.state.statistics["token"] == 1)
            _ = try await cache.getToken(F.context)
            #expect(emulator.state.statistics["token"] == 1)
            // Another scope is another entry.
            _ = try await cache.getToken(TokenRequestContext(resource: "https://graph.microsoft.com"))
            #expect(emulator.state.statistics["token"] == 2)
        }
    }

    @Test func refreshesAheadWithoutStallingCallers() async throws {
        try await F.withEmulator(refreshIn: 1) { emulator, authority, transport, _, _ in
            let cache = CachingTokenCredential(secretCredential(authority, transport))
            let first = try await cache.getToken(F.context)
            try await Task.sleep(for: .milliseconds(1100))
            // Past refresh_in: the current token is returned at once, a refresh starts behind it.
            let second = try await cache.getToken(F.context)
            #expect(second.token == first.token)
            var refreshed = false
            for _ in 0..<100 where !refreshed {
                try await Task.sleep(for: .milliseconds(20))
                refreshed = try await cache.getToken(F.context).token != first.token
            }
            #expect(refreshed)
            #expect(emulator.state.statistics["token"] == 2)
        }
    }

    @Test func failuresAreNotCached() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            emulator.state.inject([Fault(target: "token", kind: "status", status: 400, count: 1)])
            let cache = CachingTokenCredential(secretCredential(authority, transport))
            await expectClavis(.sourceUnavailable, containing: "AADSTS50033") { _ = try await cache.getToken(F.context) }
            _ = try await cache.getToken(F.context)
            #expect(emulator.state.statistics["token"] == 2)
        }
    }
}

@Suite(.serialized) struct RetryTests {
    @Test func transientFailuresAreRetriedHonouringRetryAfter() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            emulator.state.inject([Fault(target: "token", kind: "status", status: 503, count: 1),
                                   Fault(target: "token", kind: "status", status: 429, retryAfter: 1, count: 1)])
            let started = ContinuousClock.now
            _ = try await secretCredential(authority, HTTPTransport(retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(10),
                                                                                       maxDelay: .seconds(2), maxTotal: .seconds(60)),
                                                                    attemptTimeout: .seconds(30)))
                .getToken(F.context)
            let elapsed = ContinuousClock.now - started
            #expect(emulator.state.statistics["token"] == 3)
            #expect(elapsed >= .seconds(1))  // Retry-After: 1 was honoured
            _ = transport
        }
    }

    @Test func retriesAreBoundedAndInvalidClientIsNeverRetried() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            emulator.state.inject([Fault(target: "token", kind: "status", status: 500)])
            await expectClavis(.sourceUnavailable, containing: "AADSTS50033") { _ = try await secretCredential(authority, transport).getToken(F.context) }
            #expect(emulator.state.statistics["token"] == 4)
            emulator.state.reset()
            _ = try? await secretCredential(authority, transport, secret: "wrong").getToken(F.context)
            #expect(emulator.state.statistics["token"] == 2)  // the one re-read of a rejected secret, no retries
        }
    }

    @Test func droppedConnectionsAreRetried() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            emulator.state.inject([Fault(target: "token", kind: "drop", count: 2)])
            _ = try await secretCredential(authority, transport).getToken(F.context)
            #expect(emulator.state.statistics["token"] == 3)
        }
    }

    @Test func malformedRepliesAndSlowServers() async throws {
        try await F.withEmulator { emulator, authority, _, _, _ in
            emulator.state.inject([Fault(target: "token", kind: "malformed", count: 1)])
            await expectClavis(.serviceError, containing: "not JSON") { _ = try await secretCredential(authority, HTTPTransport(retry: .noRetries)).getToken(F.context) }
            emulator.state.inject([Fault(target: "token", kind: "delay", delayMilliseconds: 3000, count: 1)])
            let impatient = HTTPTransport(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50), maxTotal: .seconds(60)),
                                          attemptTimeout: .milliseconds(1000))
            _ = try await secretCredential(authority, impatient).getToken(F.context)  // the first attempt times out, the second succeeds
        }
    }

    @Test func retryAfterParsing() {
        #expect(RetryPolicy.retryAfter([("Retry-After", "7")]) == .seconds(7))
        #expect(RetryPolicy.retryAfter([("x-ms-retry-after-ms", "250")]) == .milliseconds(250))
        // RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms (1_800_000_000 is
        // 2027-01-15T08:00:00Z); parsed without DateFormatter, which leaks on Linux.
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        for form in ["Fri, 15 Jan 2027 08:00:10 GMT", "Friday, 15-Jan-27 08:00:10 GMT", "Fri Jan 15 08:00:10 2027"] {
            #expect(RetryPolicy.retryAfter([("retry-after", form)], now: now) == .seconds(10), "\(form)")
        }
        #expect(RetryPolicy.retryAfter([("retry-after", "Thu, 01 Jan 1970 00:00:00 GMT")], now: now) == .zero)  // past: no wait
        for bad in ["Fri, 15 Jan 2027 08:00:10 CET", "Fri, 32 Jan 2027 08:00:10 GMT", "soon", "Fri, 15 Foo 2027 08:00:10 GMT", "20\u{F2}2.33Z"] {
            #expect(RetryPolicy.retryAfter([("retry-after", bad)], now: now) == nil, "\(bad)")
        }
        #expect(RetryPolicy.retryAfter([("Other", "1")]) == nil)
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for attempt in 1...10 { #expect(policy.delay(afterAttempt: attempt, retryAfter: nil) <= .seconds(1)) }
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(30)) == .seconds(30))  // never shortened: no early retry (issue 15)
    }
}

/// A credential whose requests wait until released, counting them.
actor GatedCredential: TokenCredential {
    private(set) var calls = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    nonisolated var credentialDescription: String { "gated" }

    func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        calls += 1
        let call = calls
        await withCheckedContinuation { waiting.append($0) }
        return AccessToken(token: Secret("token-\(call)"), expiresOn: Date().addingTimeInterval(3600))
    }

    func release() {
        for continuation in waiting { continuation.resume() }
        waiting = []
    }

    var pending: Int { waiting.count }
}

@Suite struct TokenCacheInvalidationTests {
    /// `removeAll()` wins over a request already in flight: that request still answers its caller,
    /// but its token is not cached, so the next call asks again (before: the old request refilled
    /// the cache after it was cleared).
    @Test func removeAllWinsOverAnInFlightRequest() async throws {
        let base = GatedCredential()
        let cache = CachingTokenCredential(base)
        let context = TokenRequestContext(resource: "https://vault.azure.net")
        let first = Task { try await cache.getToken(context) }
        while await base.pending == 0 { await Task.yield() }
        cache.removeAll()
        await base.release()
        #expect(try await first.value.token.revealedString() == "token-1")
        let second = Task { try await cache.getToken(context) }
        for _ in 0..<100_000 where await base.pending == 0 { await Task.yield() }
        #expect(await base.pending == 1)  // a new request, not the cleared token
        await base.release()
        #expect(try await second.value.token.revealedString() == "token-2")
        #expect(await base.calls == 2)
        #expect(try await cache.getToken(context).token.revealedString() == "token-2")  // now cached
        #expect(await base.calls == 2)
    }
}
