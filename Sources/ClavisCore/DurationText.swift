/// Durations as people type them in options and variables: `30s`, `15m`, `12h`, `30d` — one parser
/// for the CLI (`--since`, `--lookback`, `--overlap`, `--expiry-warning`) and the broker
/// (`CLAVIS_SECRET_EXPIRY_WARNING`).
public enum DurationText {
    /// The duration, or `nil` when `text` is not a number followed by s, m, h or d.
    public static func parse(_ text: String) -> Duration? {
        guard let unit = text.last, let value = Double(text.dropLast()), value.isFinite else { return nil }
        let scale: Double
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86400
        default: return nil
        }
        let seconds = value * scale
        guard abs(seconds) < 1e12 else { return nil }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }
}

extension Duration {
    /// The duration in seconds as a `Double`, for arithmetic with `Date` (whose intervals are
    /// seconds). Within the package only: public API takes and returns `Duration`.
    package var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
