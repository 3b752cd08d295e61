import Foundation

/// An HTTP date (RFC 9110 §5.6.7), as `Retry-After` may carry one. Recipients must accept all
/// three forms: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850
/// `Sunday, 06-Nov-94 08:49:37 GMT` and asctime `Sun Nov  6 08:49:37 1994`. Parsed by hand, in
/// UTC: Foundation's `DateFormatter` leaks an allocation per parse on Linux (found by the
/// FuzzDefender target), and a watcher under throttling parses one per reply.
enum HTTPDate {
    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// The date, or `nil` when `text` is none of the three forms.
    static func parse(_ text: String) -> Date? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" || $0 == ":" }).map { $0.lowercased() }
        guard parts.count >= 7, let monthIndex = parts.firstIndex(where: { months.contains($0) }),
              let month = months.firstIndex(of: parts[monthIndex]) else { return nil }
        let day: Int?, year: Int?, clock: ArraySlice<String>
        if monthIndex == 1 {  // asctime: weekday month day hh mm ss year
            day = Int(parts[2]); clock = parts[3...5]; year = Int(parts[6])
        } else if monthIndex == 2 {  // IMF-fixdate or RFC 850: weekday day month year hh mm ss GMT
            guard parts.count >= 8, parts[7] == "gmt" else { return nil }
            day = Int(parts[1]); clock = parts[4...6]
            year = Int(parts[3]).map { $0 < 100 ? ($0 < 70 ? 2000 + $0 : 1900 + $0) : $0 }
        } else {
            return nil
        }
        let numbers = clock.compactMap { Int($0) }
        guard let day, let year, (1...31).contains(day), (1601...9999).contains(year), numbers.count == 3,
              (0...23).contains(numbers[0]), (0...59).contains(numbers[1]), (0...60).contains(numbers[2]) else { return nil }
        let seconds = daysFromCivil(year: year, month: month + 1, day: day) * 86_400 + numbers[0] * 3_600 + numbers[1] * 60 + numbers[2]
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
