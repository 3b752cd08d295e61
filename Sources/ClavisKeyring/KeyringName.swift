import ClavisCore

/// The parts of a `keyring:SERVICE/USERNAME[?collection=NAME]` reference.
///
/// The service ends at the first `/`; the username is the rest. Either may use `%XX` escapes for
/// characters the reference syntax reserves (`/`, `?`, `#`, `%`). Without `?collection=`, the
/// Secret Service's `default` alias is used — the collection desktops unlock at login.
struct KeyringName: Sendable, Hashable {
    var service: String
    var username: String?
    var collection: String
    /// Whether no `?collection=` was given (the `default` alias).
    var isDefaultCollection: Bool

    /// Parses an item reference (`username` required) or a container reference (`keyring:SERVICE`).
    init(_ reference: SecretReference, requireUsername: Bool) throws {
        guard reference.item == nil else {
            throw ClavisError.invalidReference(reference.description, reason: "keyring: references have no '#' part; write keyring:SERVICE/USERNAME")
        }
        for item in reference.query where item.name != "collection" {
            throw ClavisError.invalidReference(reference.description, reason: "unknown option '\(item.name)'; keyring: takes only ?collection=NAME")
        }
        let collection = reference.queryValue("collection") ?? "default"
        guard !collection.isEmpty, !collection.contains("/") else {
            throw ClavisError.invalidReference(reference.description, reason: "collection must be a collection or alias name, as in ?collection=login")
        }
        let parts = reference.locator.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let service = try Self.decode(String(parts.first ?? ""), reference)
        let username = try parts.count > 1 ? Self.decode(String(parts[1]), reference) : nil
        guard !service.isEmpty else {
            throw ClavisError.invalidReference(reference.description, reason: "the service name is empty; write keyring:SERVICE/USERNAME")
        }
        if requireUsername, username?.isEmpty ?? true {
            throw ClavisError.invalidReference(reference.description, reason: "the username is missing; write keyring:\(reference.locator.split(separator: "/").first ?? "SERVICE")/USERNAME")
        }
        self.service = service
        self.username = username.flatMap { $0.isEmpty ? nil : $0 }
        self.collection = collection
        isDefaultCollection = reference.queryValue("collection") == nil
    }

    /// The label new items get — the one Python's `keyring` gives, so every tool shows the same.
    var label: String { "Password for '\(username ?? "")' on '\(service)'" }

    private static func decode(_ text: String, _ reference: SecretReference) throws -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw ClavisError.invalidReference(reference.description, reason: "'%' must be followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw ClavisError.invalidReference(reference.description, reason: "the %-escapes do not decode to UTF-8")
        }
        return decoded
    }

    /// `%XX`-escapes the characters the reference syntax reserves in a username.
    static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "%", "/", "?", "#", "&":
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result += "%" + (hex.count < 2 ? "0" : "") + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
