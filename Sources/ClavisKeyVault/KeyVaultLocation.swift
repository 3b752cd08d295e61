import ClavisCore
import ClavisIdentity
import Foundation

/// Where a Key Vault secret lives, parsed from `keyvault:https://VAULT.vault.azure.net/secrets/NAME[/VERSION]`
/// (a bare secret identifier URL is accepted too).
public struct KeyVaultLocation: Sendable, Hashable {
    /// The vault's base URL, e.g. `https://contoso.vault.azure.net`.
    public var vault: URL
    /// The secret's name (`nil` for the whole vault).
    public var name: String?
    /// A specific version (32 hex characters), or the latest.
    public var version: String?

    /// Vault domains of the Azure clouds (managed HSM is not a secrets store).
    public static let knownDomains = ["vault.azure.net", "vault.usgovcloudapi.net", "vault.azure.cn"]

    /// Parses a reference's locator (or a bare URL). Hosts outside ``knownDomains`` need to be in
    /// `allowedHosts` (e.g. the emulator's `127.0.0.1`).
    public init(_ text: String, reference: String, allowedHosts: Set<String>) throws {
        // The host as it goes on the wire (`encodedHost`, not the IDNA/percent-decoded `host`): the
        // form the domain rule must judge, and no ICU tables loaded to get it.
        guard var components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), let host = components.encodedHost?.lowercased() else {
            throw ClavisError.invalidReference(reference, reason: "keyvault: takes a vault URL such as https://contoso.vault.azure.net/secrets/NAME")
        }
        let known = Self.knownDomains.contains { host.hasSuffix("." + $0) }
        let allowed = allowedHosts.contains(host) || allowedHosts.contains("\(host):\(components.port ?? 0)")
        guard known || allowed else {
            throw ClavisError.invalidReference(reference, reason: "\(host) is not a Key Vault domain (\(Self.knownDomains.joined(separator: ", ")))",
                                               hint: "for the emulator, allow the host with CLAVIS_KEYVAULT_ALLOWED_HOSTS=\(host)")
        }
        guard Loopback.permits(scheme: scheme, host: host), scheme == "https" || allowed else {
            throw ClavisError.invalidReference(reference, reason: "Key Vault is reached over https only (plain http only to an allowed loopback host)")
        }
        let segments = components.path.split(separator: "/").map(String.init)
        var base: [String] = segments, name: String?, version: String?
        if let index = segments.firstIndex(of: "secrets") {
            base = Array(segments[..<index])
            let rest = segments[(index + 1)...]
            name = rest.first
            version = rest.dropFirst().first
            guard rest.count <= 2 else { throw ClavisError.invalidReference(reference, reason: "expected …/secrets/NAME[/VERSION]") }
        }
        if let name, name.range(of: "^[0-9a-zA-Z-]{1,127}$", options: .regularExpression) == nil {
            throw ClavisError.invalidReference(reference, reason: "Key Vault secret names are 1–127 letters, digits and '-'")
        }
        if let version, version.range(of: "^[0-9a-fA-F]{32}$", options: .regularExpression) == nil {
            throw ClavisError.invalidReference(reference, reason: "a secret version is 32 hexadecimal characters")
        }
        components.path = base.isEmpty ? "" : "/" + base.joined(separator: "/")
        components.query = nil
        components.fragment = nil
        guard let vault = components.url else { throw ClavisError.invalidReference(reference, reason: "invalid vault URL") }
        self.vault = vault
        self.name = name
        self.version = version
    }

    /// The vault's host.
    public var host: String { vault.host?.lowercased() ?? "" }
}
