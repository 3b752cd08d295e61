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
    /// The longest the retries may take in all; a `Retry-After` beyond it is not waited for.
    public var maxTotal: Duration

    /// Creates a policy.
    public init(maxAttempts: Int = 4, baseDelay: Duration = .milliseconds(400), maxDelay: Duration = .seconds(10),
                maxTotal: Duration = .seconds(30)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxTotal = maxTotal
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
    /// if given (capped at `maxDelay`), else exponential backoff with full jitter.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(retryAfter, maxDelay) }
        let exponential = baseDelay * (1 << min(attempt - 1, 16))
        let capped = min(exponential, maxDelay)
        let milliseconds = capped.components.seconds * 1000 + capped.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(Int64.random(in: (milliseconds / 2)...max(milliseconds / 2, milliseconds)))
    }

    /// Parses `Retry-After` (seconds or an HTTP date), `retry-after-ms` and `x-ms-retry-after-ms`.
    public static func retryAfter(_ headers: [(String, String)], now: Date = Date()) -> Duration? {
        func value(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1.trimmingCharacters(in: .whitespaces) }
        for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
            if let text = value(name), let milliseconds = Double(text), milliseconds >= 0 { return .milliseconds(Int64(milliseconds)) }
        }
        guard let text = value("retry-after") else { return nil }
        if let seconds = Double(text), seconds >= 0 { return .milliseconds(Int64(seconds * 1000)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
    }
}
