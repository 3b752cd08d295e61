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
        // Fixed positions: YYYY-MM-DDThh:mm:ss, then an optional fraction and zone.
        let characters = Array(text)
        guard characters.count >= 19, characters[4] == "-", characters[7] == "-", characters[10] == "T" || characters[10] == "t",
              characters[13] == ":", characters[16] == ":" else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.allSatisfy({ characters[$0].isASCII && characters[$0].isNumber }) else { return nil }
            return Int(String(characters[range]))
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var fraction = ""
        if index < characters.count, characters[index] == "." {
            index += 1
            while index < characters.count, characters[index].isASCII, characters[index].isNumber { fraction.append(characters[index]); index += 1 }
            guard (1...12).contains(fraction.count) else { return nil }
        }
        var offset = 0
        let zone = String(characters[index...])
        if zone == "Z" || zone == "z" || zone.isEmpty {
            offset = 0
        } else if zone.count == 6, zone.first == "+" || zone.first == "-", Array(zone)[3] == ":",
                  let hours = Int(zone.dropFirst().prefix(2)), let minutes = Int(zone.suffix(2)), hours < 24, minutes < 60 {
            offset = (zone.first == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        let whole = Int64(Self.days(year: year, month: month, day: day)) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        let ticks = Int64(String(fraction.prefix(7)).padding(toLength: 7, withPad: "0", startingAt: 0)) ?? 0
        self.init(seconds: whole, ticks: ticks)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        return era * 146_097 + yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear - 719_468
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
