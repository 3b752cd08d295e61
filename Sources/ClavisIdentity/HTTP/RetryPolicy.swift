import Foundation

/// The one HTTP retry policy of Clavis (identity, Key Vault, Defender): network errors, 429 and
/// 5xx are retried with exponential backoff and full jitter, honouring `Retry-After`, bounded in
/// attempts and in total time. Nothing else is retried.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// The first backoff.
    public var baseDelay: Duration
    /// The longest single wait.
    public var maxDelay: Duration
    /// The longest the retries may take in all; a `Retry-After` beyond it is not waited for (the
    /// reply is returned at once, so the caller can name the wait).
    public var maxTotal: Duration
    /// The statuses retried (nil: ``isRetryable(status:)``). A non-idempotent request that may
    /// have reached the server retries only `[429]` — a throttled request was not processed.
    public var retryableStatuses: Set<Int>?
    /// Whether a request that got no reply is sent again (false for a non-idempotent request:
    /// it may have been processed before the connection failed).
    public var retriesWithoutReply: Bool
    /// The wait a reply asks for beyond the `Retry-After` headers (e.g. a reset time in the body,
    /// as Defender documents); the larger of the two is used.
    public var replyWait: (@Sendable (HTTPReply) -> Duration?)?

    /// Creates a policy.
    public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(400), maxDelay: Duration = .seconds(10),
                maxTotal: Duration = .seconds(30), retryableStatuses: Set<Int>? = nil, retriesWithoutReply: Bool = true,
                replyWait: (@Sendable (HTTPReply) -> Duration?)? = nil) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxTotal = maxTotal
        self.retryableStatuses = retryableStatuses
        self.retriesWithoutReply = retriesWithoutReply
        self.replyWait = replyWait
    }

    /// This policy for a non-idempotent request (a PATCH that appends a comment, a POST of a
    /// comment, a hunting query): only a 429 is retried (after its full wait); a 5xx or a lost
    /// reply is not, because the request may already have been applied.
    public var nonIdempotent: RetryPolicy {
        var copy = self
        copy.retryableStatuses = [429]
        copy.retriesWithoutReply = false
        return copy
    }

    /// Whether this policy retries a reply with `status`.
    public func retries(status: Int) -> Bool {
        retryableStatuses.map { $0.contains(status) } ?? Self.isRetryable(status: status)
    }

    /// The default: 4 attempts within 30 s.
    public static let `default` = RetryPolicy()
    /// One attempt, no retries (named so that `.none` is never read as `Optional.none`).
    public static let noRetries = RetryPolicy(maxAttempts: 1)

    /// Whether a reply with this status is worth retrying.
    public static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || status == 500 || status == 502 || status == 503 || status == 504
    }

    /// The wait before attempt `attempt + 1` (attempt counts from 1): the server's `Retry-After`
    /// if given — in full, never shortened (retrying early only prolongs throttling; research-15
    /// §2.3, G-THR https://learn.microsoft.com/graph/throttling) — else exponential backoff with
    /// full jitter capped at `maxDelay`. A wait beyond `maxTotal` is not made: the transport
    /// returns the reply at once.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return retryAfter }
        let exponential = baseDelay * (1 << min(attempt - 1, 16))
        let capped = min(exponential, maxDelay)
        let milliseconds = capped.components.seconds * 1000 + capped.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(Int64.random(in: (milliseconds / 2)...max(milliseconds / 2, milliseconds)))
    }

    /// A wait a reply asked for, in seconds, as a duration of at most a day (callers cap their
    /// waits lower still); `nil` when it is not a finite, non-negative number. The one place a
    /// service's number becomes a wait: `Retry-After` here, the throttling messages of Defender
    /// and Graph (`Throttling`).
    package static func wait(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds >= 0 else { return nil }
        return .milliseconds(Int64(min(seconds, 86_400) * 1000))
    }

    /// Parses `Retry-After` (seconds or an HTTP date), `retry-after-ms` and `x-ms-retry-after-ms`.
    /// A value beyond a day is taken as a day (callers cap their waits lower still); one that is
    /// not a finite number is ignored — a reply can ask for a wait, never crash the client (a
    /// `Retry-After` of forty 9s trapped in the Int64 conversion: found by FuzzDefender).
    public static func retryAfter(_ headers: [(String, String)], now: Date = Date()) -> Duration? {
        func value(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1.trimmingCharacters(in: .whitespaces) }
        for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
            if let text = value(name), let milliseconds = Double(text), let duration = wait(seconds: milliseconds / 1000) { return duration }
        }
        guard let text = value("retry-after") else { return nil }
        if let seconds = Double(text) { return wait(seconds: seconds) }
        guard let date = HTTPDate.parse(text) else { return nil }
        return wait(seconds: max(0, date.timeIntervalSince(now)))
    }
}
