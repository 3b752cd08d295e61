import Foundation

/// A service timestamp (`Edm.DateTimeOffset`), parsed once and compared exactly.
///
/// Defender and Graph send 0–7 fractional digits, and the count varies between fields of one
/// object (`2020-09-06T14:46:57.0733333Z` beside `…57.29Z`) — research-15 §1, D-LIST
/// (https://learn.microsoft.com/defender-xdr/api-list-incidents) and G-LIST
/// (https://learn.microsoft.com/graph/api/security-list-incidents). Graph's OpenAPI pattern allows
/// up to 12 digits and a `±hh:mm` zone; `innerError.date` has no zone at all (read as UTC).
/// A `Date` cannot hold 100 ns apart values reliably, so the comparable key is
/// (seconds since 1970, 100 ns ticks); digits beyond the seventh are truncated.
/// Never compare the strings: `"…57.29Z" < "…57Z"`.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64
    /// 100 ns ticks within the second (0 ..< 10,000,000).
    public let ticks: Int32

    /// A timestamp from its parts (`ticks` is reduced into range).
    public init(seconds: Int64, ticks: Int32) {
        let carry = Int64(ticks) / 10_000_000
        var remainder = Int64(ticks) % 10_000_000
        var whole = seconds + carry
        if remainder < 0 { remainder += 10_000_000; whole -= 1 }
        self.seconds = whole
        self.ticks = Int32(remainder)
    }

    /// The timestamp of `date`, to the nearest 100 ns.
    public init(_ date: Date) {
        let total = (date.timeIntervalSince1970 * 10_000_000).rounded()
        let ticks = Int64(total)
        let seconds = ticks >= 0 ? ticks / 10_000_000 : (ticks - 9_999_999) / 10_000_000
        self.init(seconds: seconds, ticks: Int32(ticks - seconds * 10_000_000))
    }

    /// Parses `YYYY-MM-DDThh:mm:ss(.f{1,12})?(Z|±hh:mm)?` (a missing zone is UTC); `nil` otherwise.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            index += count
            return value
        }
        func expect(_ character: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == character else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2),
              index < bytes.count, bytes[index] == 84 || bytes[index] == 116 else { return nil }
        index += 1
        guard let hour = number(2), expect(58), let minute = number(2), expect(58), let second = number(2) else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var ticks = 0, digits = 0
        if expect(46) {
            while index < bytes.count, (48...57).contains(bytes[index]) {
                if digits < 7 { ticks = ticks * 10 + Int(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard (1...12).contains(digits) else { return nil }
            for _ in min(digits, 7)..<7 { ticks *= 10 }
        }
        var offset = 0
        if index < bytes.count {
            if bytes[index] == 90 || bytes[index] == 122 {
                index += 1
            } else if bytes[index] == 43 || bytes[index] == 45 {
                let sign = bytes[index] == 45 ? -1 : 1
                index += 1
                guard let hours = number(2), expect(58), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
                offset = sign * (hours * 3600 + minutes * 60)
            } else {
                return nil
            }
        }
        guard index == bytes.count else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm), so no calendar or formatter is involved.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        self.init(seconds: seconds, ticks: Int32(ticks))
    }

    /// The instant as a `Date` (for display and arithmetic only; compare timestamps, not dates).
    public var date: Date { Date(timeIntervalSince1970: Double(seconds) + Double(ticks) / 10_000_000) }

    /// This timestamp moved by `duration` (negative: earlier).
    public func adding(_ duration: Duration) -> Timestamp {
        let interval = duration.inSeconds
        let delta = Int64((interval * 10_000_000).rounded())
        return Timestamp(seconds: seconds + delta / 10_000_000, ticks: ticks + Int32(delta % 10_000_000))
    }

    /// The OData `Edm.DateTimeOffset` literal with exactly 7 fractional digits, in UTC, unquoted
    /// (`2026-11-20T08:15:02.4410000Z`) — what the client writes into `$filter` (research-15 §1).
    public var odataLiteral: String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = Int(seconds - days * 86400)
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(Int(ticks), 7))Z"
    }

    /// ``odataLiteral``.
    public var description: String { odataLiteral }

    /// Earlier first; exact to 100 ns.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.seconds, lhs.ticks) < (rhs.seconds, rhs.ticks)
    }
}
