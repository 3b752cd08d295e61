import ClavisCore
import Foundation

/// One client secret of an app registration as Microsoft Graph describes it (passwordCredential,
/// https://learn.microsoft.com/graph/api/resources/passwordcredential): never its value.
public struct PasswordCredentialInfo: Sendable, Hashable, Codable {
    /// The credential's id (`keyId`), what `removePassword` takes.
    public var keyId: String
    /// Its friendly name, if any.
    public var displayName: String?
    /// The first three characters of the value, as Graph shows them (`hint`).
    public var hint: String?
    /// When it became valid.
    public var startDateTime: Date?
    /// When it expires: after this Entra ID answers AADSTS7000222.
    public var endDateTime: Date?

    /// Creates one.
    public init(keyId: String, displayName: String? = nil, hint: String? = nil, startDateTime: Date? = nil, endDateTime: Date? = nil) {
        self.keyId = keyId
        self.displayName = displayName
        self.hint = hint
        self.startDateTime = startDateTime
        self.endDateTime = endDateTime
    }

    /// Parses Graph's JSON object; `nil` without a `keyId`.
    init?(_ object: [String: Any]) {
        guard let keyId = object["keyId"] as? String, !keyId.isEmpty else { return nil }
        self.keyId = keyId
        displayName = object["displayName"] as? String
        hint = object["hint"] as? String
        startDateTime = (object["startDateTime"] as? String).flatMap(GraphDate.parse)
        endDateTime = (object["endDateTime"] as? String).flatMap(GraphDate.parse)
    }

    /// Whole days from `now` until it expires (negative once expired); `nil` without an end date.
    public func daysLeft(now: Date = Date()) -> Double? {
        endDateTime.map { $0.timeIntervalSince(now) / 86400 }
    }

    /// Whether this credential's value could be `secret`: its hint is the value's first three
    /// characters. Graph shows nothing more of a value, so this is how a secret whose key id was
    /// never recorded is matched to its credential (a match is likely, not certain).
    public func hintMatches(_ secret: Secret) -> Bool {
        guard let hint, !hint.isEmpty, let text = secret.revealedString() else { return false }
        return text.hasPrefix(hint)
    }
}

/// An app registration's application object, as much as rotation needs.
public struct ApplicationInfo: Sendable, Hashable {
    /// The application object's id (Graph `id`, the portal's "Object ID").
    public var id: String
    /// The client id (`appId`).
    public var appId: String
    /// The display name.
    public var displayName: String?
    /// Its client secrets.
    public var passwordCredentials: [PasswordCredentialInfo]
}

/// Graph timestamps: ISO 8601 in UTC with 0–7 fractional digits (`2021-09-09T19:50:29.3086381Z`).
enum GraphDate {
    static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        // More than the three fractional digits Foundation may accept: keep three.
        guard let dot = text.firstIndex(of: "."), let zone = text[dot...].firstIndex(where: { $0 == "Z" || $0 == "+" || $0 == "-" }) else { return nil }
        let fraction = text[text.index(after: dot)..<zone].prefix(3)
        return try? Date(String(text[..<dot]) + "." + fraction + String(text[zone...]), strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false))
    }
}
