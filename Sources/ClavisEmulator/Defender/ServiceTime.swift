import Foundation

/// The emulator's own timestamp (it imports none of the client modules): parsed from
/// `YYYY-MM-DDThh:mm:ss(.f{1,12})?(Z|±hh:mm)?` and compared as (seconds, 100 ns ticks).
///
/// The services send 0–7 fractional digits, varying between fields of one object (research-15 §1;
/// D-LIST https://learn.microsoft.com/defender-xdr/api-list-incidents: `createdTime`
/// `…57.0733333Z` beside `lastUpdateTime` `…57.29Z`); filters accept them, so this does too.
struct ServiceTime: Comparable, Hashable {
    var seconds: Int64
    var ticks: Int64

    init(seconds: Int64, ticks: Int64) {
        self.seconds = seconds + ticks / 10_000_000
        self.ticks = ticks % 10_000_000
    }

    init(_ date: Date) {
        let total = Int64((date.timeIntervalSince1970 * 10_000_000).rounded(.down))
        self.init(seconds: total / 10_000_000, ticks: total % 10_000_000)
    }

    init?(_ text: String) {
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?([Zz]|[+-]\d{2}:\d{2})?$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        func group(_ index: Int) -> String? {
            Range(match.range(at: index), in: text).map { String(text[$0]) }
        }
        guard let year = group(1).flatMap({ Int($0) }), let month = group(2).flatMap({ Int($0) }), let day = group(3).flatMap({ Int($0) }),
              let hour = group(4).flatMap({ Int($0) }), let minute = group(5).flatMap({ Int($0) }), let second = group(6).flatMap({ Int($0) }),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (year, month, day)
        (components.hour, components.minute, components.second) = (hour, minute, second)
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { return nil }
        calendar.timeZone = utc
        guard let date = calendar.date(from: components) else { return nil }
        var whole = Int64(date.timeIntervalSince1970.rounded())
        if let zone = group(8), zone.count == 6, let hours = Int(zone.dropFirst().prefix(2)), let minutes = Int(zone.suffix(2)) {
            whole -= (zone.hasPrefix("-") ? -1 : 1) * Int64(hours * 3600 + minutes * 60)
        }
        let fraction = (group(7) ?? "").prefix(7)
        let ticks = Int64(fraction.padding(toLength: 7, withPad: "0", startingAt: 0)) ?? 0
        self.init(seconds: whole, ticks: ticks)
    }

    /// UTC text with `digits` (0–7) fractional digits, trailing digits truncated — the services vary
    /// the count between fields, and so does the emulator.
    func text(digits: Int) -> String {
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        var text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
        if digits > 0 { text += "." + String(String(format: "%07lld", ticks).prefix(min(digits, 7))) }
        return text + "Z"
    }

    /// Graph `innerError.date`: no fraction and no zone (OBS-TOP, wazuh/wazuh#28070).
    static func innerErrorDate(_ date: Date = Date()) -> String {
        String(ServiceTime(date).text(digits: 0).dropLast())
    }

    static func < (lhs: ServiceTime, rhs: ServiceTime) -> Bool { (lhs.seconds, lhs.ticks) < (rhs.seconds, rhs.ticks) }
}
