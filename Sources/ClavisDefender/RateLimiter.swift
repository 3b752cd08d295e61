import ClavisCore
import ClavisIdentity
import Foundation
import Synchronization

/// A client-side limiter over two sliding windows — per minute **and** per hour — so a poller
/// stays under the documented quota instead of learning it from 429s.
///
/// Defender incidents: 50 calls/min and 1,500 calls/h per app and tenant (D-LIST "Limitations",
/// D-INC; https://learn.microsoft.com/defender-xdr/api-list-incidents). Graph `/security`: no
/// incidents-specific number; 150/min is documented for the sibling resources (G-THR,
/// https://learn.microsoft.com/graph/throttling). `acquire` waits for the later of the two windows
/// and never lets a call go early; a wait beyond the caller's budget fails at once naming it.
public final class RateLimiter: Sendable {
    /// Calls allowed in any 60 s.
    public let perMinute: Int
    /// Calls allowed in any 3,600 s.
    public let perHour: Int
    private let calls = Mutex<[ContinuousClock.Instant]>([])

    /// Creates a limiter.
    public init(perMinute: Int, perHour: Int) {
        self.perMinute = max(perMinute, 1)
        self.perHour = max(perHour, 1)
    }

    /// The documented defaults of a flavour: Defender 50/min + 1,500/h; Graph 150/min (no hourly
    /// number documented, so only the minute binds).
    public static func defaults(for flavour: DefenderEndpoint.Flavour) -> RateLimiter {
        flavour == .graph ? RateLimiter(perMinute: 150, perHour: 150 * 60) : RateLimiter(perMinute: 50, perHour: 1500)
    }

    /// Takes a slot, waiting for one if needed. Throws ``ClavisError/Code/sourceUnavailable`` at
    /// once, naming the wait, when the next slot is further away than `budget`.
    public func acquire(budget: Duration, host: String) async throws {
        while true {
            let wait: Duration? = calls.withLock { calls in
                let now = ContinuousClock.now
                calls.removeAll { now - $0 >= .seconds(3600) }
                let lastMinute = calls.filter { now - $0 < .seconds(60) }
                var wait = Duration.zero
                if lastMinute.count >= perMinute { wait = max(wait, lastMinute[lastMinute.count - perMinute] + .seconds(60) - now) }
                if calls.count >= perHour { wait = max(wait, calls[calls.count - perHour] + .seconds(3600) - now) }
                if wait <= .zero { calls.append(now); return nil }
                return wait
            }
            guard let wait else { return }
            if wait > budget {
                throw Throttling.error(host: host, wait: wait, detail: "the client-side quota of \(perMinute)/min and \(perHour)/h is used up")
            }
            try await Task.sleep(for: wait)
        }
    }
}

/// Reading a 429: how long the service asked to wait, from `Retry-After` **or** the body.
///
/// Defender documents the reset time only in the body, with no field name ("The response body
/// includes the time until the quota you reached is reset" — D-INC, D-UPD); the observed bodies
/// (OBS-429D, MicrosoftDocs/microsoft-365-docs#4616) read `API calls quota exceeded! maximum allowed
/// 45 per 00:01:00`. MDE common-errors adds `Retry-After` (OBS-RA, MicrosoftDocs/microsoft-365-docs
/// PR #10349); Graph sends `Retry-After`, possibly fractional (G-THR). Rule (research-15 §2.3):
/// take the largest of everything given; a bare window means waiting the whole window.
public enum Throttling {
    /// The wait a reply asks for, or `nil` when it names none.
    public static func wait(_ reply: HTTPReply) -> Duration? { wait(headers: reply.headers, body: reply.body) }

    /// The wait named by `headers` or by a JSON error `body` (`error.message`), the larger of the two.
    public static func wait(headers: [(String, String)], body: [UInt8]) -> Duration? {
        var waits: [Duration] = []
        if let header = RetryPolicy.retryAfter(headers) { waits.append(header) }
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        if let message = (object?["error"] as? [String: Any])?["message"] as? String, let fromBody = wait(message: message) {
            waits.append(fromBody)
        }
        return waits.max()
    }

    /// The wait named in an error message: `again in N seconds|minutes|hours`, `again in hh:mm:ss`,
    /// or only a window (`maximum allowed N per hh:mm:ss`, waited in full).
    public static func wait(message: String) -> Duration? {
        let text = message.lowercased()
        if let range = text.range(of: "again in ") {
            let rest = text[range.upperBound...]
            var number = rest.prefix { $0.isNumber || $0 == "." || $0 == ":" }
            while number.hasSuffix(".") { number = number.dropLast() }
            let unit = rest.dropFirst(number.count).drop { $0 == " " }.prefix { $0.isLetter }
            if number.contains(":"), let seconds = timespan(String(number)) { return seconds }
            if let value = Double(number) {
                switch unit {
                case "s", "sec", "secs", "second", "seconds": return RetryPolicy.wait(seconds: value)
                case "minute", "minutes", "min", "mins": return RetryPolicy.wait(seconds: value * 60)
                case "hour", "hours", "h": return RetryPolicy.wait(seconds: value * 3600)
                default: break
                }
            }
        }
        if let range = text.range(of: " per ") {
            var window = text[range.upperBound...].prefix { $0.isNumber || $0 == ":" || $0 == "." }
            while window.hasSuffix(".") { window = window.dropLast() }
            if let seconds = timespan(String(window)) { return seconds }
        }
        return nil
    }

    /// `[d.]hh:mm:ss[.f]` or `mm:ss` as a duration.
    static func timespan(_ text: String) -> Duration? {
        let parts = text.split(separator: ":").map(String.init)
        guard (2...3).contains(parts.count) else { return nil }
        var seconds = 0.0
        for part in parts {
            guard let value = Double(part) else { return nil }
            seconds = seconds * 60 + value
        }
        return seconds > 0 ? RetryPolicy.wait(seconds: seconds) : nil
    }

    /// The error for a wait the caller will not make: it names the host and the wait.
    public static func error(host: String, wait: Duration, detail: String) -> ClavisError {
        let seconds = Int(wait.inSeconds.rounded(.up))
        return ClavisError(.sourceUnavailable, reference: host,
                           reason: "throttled by \(host); retry after \(seconds) s (\(detail)); not retried early",
                           hint: "wait \(seconds) s, or allow a longer wait (DefenderClient.waitBudget); the quotas are per app and tenant")
    }
}
