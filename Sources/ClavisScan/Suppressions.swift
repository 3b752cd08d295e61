/// What is never a hardcoded secret, however it is named: placeholders, version numbers, values
/// that are names, and lines that fetch a secret from a store — the pattern Clavis recommends.
enum Suppressions {
    static let placeholderMarkers = ["your", "here", "xxxx", "****", "...", "…", "changeme", "change_me", "example", "placeholder", "dummy",
                                     "redacted", "<", ">", "${", "$(", "{{", "todo", "insert", "replace", "secret_value", "my-secret",
                                     "mysecret", "password123", "fake", "sample"]

    /// Calls and commands whose result is a secret read from a store (lowercased). A line holding
    /// one is a fetch, not a literal: Python's `SecretClient(...).get_secret(...)` and
    /// `keyring.get_password`, C#'s `GetSecret`/`GetSecretAsync`, PowerShell's
    /// `Get-AzKeyVaultSecret … -AsPlainText` and `Get-Secret`, the `az`, `aws`, `gcloud`, `vault`,
    /// `op`, `secret-tool` and `clavis` CLIs, Swift's `resolver.secret(for:)`, App Service
    /// `@Microsoft.KeyVault(…)` references, Kubernetes `secretKeyRef`.
    static let fetchMarkers = [
        "get-azkeyvaultsecret", "az keyvault secret show", "az keyvault secret download", "get_secret(", "getsecret(", "getsecretasync(",
        "secretclient(", "get-secret ", "get-secret\t", "keyring.get_password(", "secret-tool lookup", "vault kv get", "vault read ",
        "secretsmanager get-secret-value", "getsecretvalue(", "gcloud secrets versions access", "op read ", "op://", "clavis secret get",
        "resolver.secret(", ".secret(for:", "@microsoft.keyvault(", "secretkeyref", "get-storedcredential",
    ]

    /// Whether the line obtains its secret from a store rather than holding it.
    static func fetches(_ lowercasedLine: [UInt8]) -> Bool {
        fetchBytes.contains { AssignmentParser.find($0, in: lowercasedLine, from: 0) != nil }
    }

    static let fetchBytes = fetchMarkers.map { Array($0.utf8) }

    /// Empty values, obvious placeholders and repetitive values (`22222222-0000-…`, `aaaaaaaa`).
    static func isPlaceholder(_ value: Substring) -> Bool {
        let lowered = value.lowercased()
        if lowered.isEmpty { return true }
        if placeholderMarkers.contains(where: { lowered.contains($0) }) { return true }
        let distinct = Set(lowered.filter { $0 != "-" })
        return distinct.count <= 3
    }

    /// Version numbers: `10.0.21510.2778`, `v2.1.0`, `1.2.3-beta.1`.
    static func isVersion(_ value: Substring) -> Bool {
        var rest = value.utf8[...]
        if rest.first == UInt8(ascii: "v") || rest.first == UInt8(ascii: "V") { rest = rest.dropFirst() }
        let core = rest.prefix { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: "+") }
        let parts = core.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return (2...5).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.count <= 10 && $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }

    /// Values that are names, not secrets: words of letters joined by `-`, `_`, `.` or `/`, such as
    /// `app-secret`, `client_secret`, `X-Api-Key`, `Ocp-Apim-Subscription-Key`, `PASSWORD`.
    static func isName(_ value: Substring) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, let last = bytes.last, isLetter(first), isLetter(last) else { return false }
        var previousSeparator = false
        for byte in bytes {
            if isLetter(byte) { previousSeparator = false; continue }
            guard [UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/")].contains(byte), !previousSeparator else { return false }
            previousSeparator = true
        }
        return true
    }

    /// The one test every value-based detector applies: placeholders, code and references, ids,
    /// versions and names are not secrets.
    static func dismisses(_ value: Substring) -> Bool {
        isPlaceholder(value) || Literals.looksLikeCode(value) || Literals.isGUID(value) || isVersion(value) || isName(value)
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) }
}
