/// The name of a secret in some source, written as one string: `SCHEME:LOCATOR[?QUERY][#ITEM]`.
///
/// Every source shares this syntax; each scheme gives the parts its own meaning:
///
/// | reference | scheme | locator | item | query |
/// |---|---|---|---|---|
/// | `env:AZURE_CLIENT_SECRET` | `env` | `AZURE_CLIENT_SECRET` | – | – |
/// | `credential:app-secret` | `credential` | `app-secret` | – | – |
/// | `dir:/var/run/secrets/app#client-secret` | `dir` | `/var/run/secrets/app` | `client-secret` | – |
/// | `age:/etc/clavis/store.age#app-secret` | `age` | `/etc/clavis/store.age` | `app-secret` | – |
/// | `keyring:defender-daemon/app-secret?collection=login` | `keyring` | `defender-daemon/app-secret` | – | `collection=login` |
/// | `keyvault:https://v.vault.azure.net/secrets/app` | `keyvault` | `https://v.vault.azure.net/secrets/app` | – | – |
///
/// A reference with an empty locator, such as `env:`, names a whole source (for listing).
/// The scheme is case-insensitive and stored lowercased. `?` and `#` split the string only where
/// they appear outside the locator's own URL (a `keyvault:` locator is an `https:` URL and keeps
/// everything after the scheme). Parsing checks only the shared syntax; the source that serves a
/// scheme checks the rest and reports precise errors of its own. `description` gives back a
/// string that parses to an equal reference.
///
/// ```swift
/// let ref = try SecretReference(parsing: "dir:/run/secrets#token")
/// ref.scheme   // "dir"
/// ref.locator  // "/run/secrets"
/// ref.item     // "token"
/// ```
public struct SecretReference: Sendable, Hashable {
    /// The scheme, lowercased: `env`, `credential`, `dir`, `age`, `keyring`, `keyvault`, or a
    /// scheme registered by a third party.
    public let scheme: String
    /// What comes after `SCHEME:` up to `?` or `#` (for schemes whose locator is a URL: all of it).
    public let locator: String
    /// The part after `#`, naming an item inside a container (a directory, a store), if any.
    public let item: String?
    /// The `NAME=VALUE` pairs after `?`, in order.
    public let query: [QueryItem]

    /// One `NAME=VALUE` pair of a reference's query.
    public struct QueryItem: Sendable, Hashable {
        /// The name before `=`.
        public var name: String
        /// The value after `=` (empty when there is no `=`).
        public var value: String
        /// Creates a query item.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Schemes whose locator is itself a URL, so `?` and `#` belong to it.
    static let urlLocatorSchemes: Set<String> = ["keyvault"]

    /// Creates a reference from its parts, checking them as ``init(parsing:)`` would.
    public init(scheme: String, locator: String, item: String? = nil, query: [QueryItem] = []) throws {
        let text = Self.render(scheme: scheme.lowercased(), locator: locator, item: item, query: query)
        let parsed = try SecretReference(parsing: text)
        guard parsed.locator == locator, parsed.item == item, parsed.query == query else {
            throw ClavisError.invalidReference(
                text, reason: "its parts do not survive being written as one string ('?', '#', '&' or '=' inside a part)")
        }
        self = parsed
    }

    /// Parses `SCHEME:LOCATOR[?QUERY][#ITEM]`.
    ///
    /// - Throws: ``ClavisError`` with code ``ClavisError/Code/invalidReference`` saying what is wrong.
    public init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":") else {
            throw ClavisError.invalidReference(
                text, reason: "a reference starts with a scheme, as in env:NAME or keyring:SERVICE/USER")
        }
        let scheme = text[..<colon].lowercased()
        try Self.checkScheme(scheme, in: text)
        try Self.checkCharacters(text)
        var rest = Substring(text[text.index(after: colon)...])
        var item: String?
        var query: [QueryItem] = []
        if !Self.urlLocatorSchemes.contains(scheme) {
            if let hash = rest.firstIndex(of: "#") {
                item = String(rest[rest.index(after: hash)...])
                rest = rest[..<hash]
                if item?.isEmpty == true {
                    throw ClavisError.invalidReference(text, reason: "nothing follows '#'; name the item, as in \(scheme):\(rest)#NAME")
                }
            }
            if let question = rest.firstIndex(of: "?") {
                query = try Self.parseQuery(rest[rest.index(after: question)...], in: text)
                rest = rest[..<question]
            }
        }
        self.scheme = scheme
        self.locator = String(rest)
        self.item = item
        self.query = query
    }

    /// The value of the first query item called `name`, if any.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// A reference to `item` inside the container this reference names (same scheme, locator and
    /// query), e.g. from `age:/srv/store.age` to `age:/srv/store.age#app-secret`.
    public func appending(item: String) throws -> SecretReference {
        try SecretReference(scheme: scheme, locator: locator, item: item, query: query)
    }

    private static func checkScheme(_ scheme: String, in text: String) throws {
        guard let first = scheme.unicodeScalars.first, first.isASCIILetter,
              scheme.unicodeScalars.allSatisfy({ $0.isASCIILetter || $0.isASCIIDigit || "+-.".unicodeScalars.contains($0) })
        else {
            throw ClavisError.invalidReference(
                text, reason: "'\(scheme)' is not a valid scheme (letters, digits, '+', '-', '.'; starting with a letter)")
        }
    }

    private static func checkCharacters(_ text: String) throws {
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ClavisError.invalidReference(
                text.filter { !$0.unicodeScalars.contains { $0.properties.generalCategory == .control } },
                reason: "it contains a control character (newline, tab, NUL…)")
        }
    }

    private static func parseQuery(_ text: Substring, in reference: String) throws -> [QueryItem] {
        try text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first, !name.isEmpty else {
                throw ClavisError.invalidReference(reference, reason: "query item '\(pair)' has no name")
            }
            return QueryItem(name: String(name), value: parts.count > 1 ? String(parts[1]) : "")
        }
    }

    private static func render(scheme: String, locator: String, item: String?, query: [QueryItem]) -> String {
        var text = "\(scheme):\(locator)"
        if !query.isEmpty {
            text += "?" + query.map { $0.value.isEmpty ? $0.name : "\($0.name)=\($0.value)" }.joined(separator: "&")
        }
        if let item { text += "#\(item)" }
        return text
    }
}

extension SecretReference: CustomStringConvertible, LosslessStringConvertible {
    /// The reference as a string that ``init(parsing:)`` reads back to an equal value.
    public var description: String {
        Self.render(scheme: scheme, locator: locator, item: item, query: query)
    }

    /// Parses `description`, returning `nil` when it is not a valid reference.
    public init?(_ description: String) {
        guard let parsed = try? SecretReference(parsing: description) else { return nil }
        self = parsed
    }
}

extension SecretReference: Codable {
    /// Decodes a reference from its string form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = try SecretReference(parsing: container.decode(String.self))
    }

    /// Encodes the reference as its string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIILetter: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) }
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
