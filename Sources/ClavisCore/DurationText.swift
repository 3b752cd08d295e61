/// Durations as people type them in options and variables: `30s`, `15m`, `12h`, `30d` — one parser
/// for the CLI (`--since`, `--expiry-warning`) and the broker (`CLAVIS_SECRET_EXPIRY_WARNING`).
public enum DurationText {
    /// The duration in seconds, or `nil` when `text` is not a number followed by s, m, h or d.
    public static func seconds(_ text: String) -> Double? {
        guard let unit = text.last, let value = Double(text.dropLast()) else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return nil
        }
    }
}
