import Foundation

/// Serving the emulator under Azure's own host names, so that a program written for Azure runs
/// against it with no setting changed — not even the ones Microsoft's SDKs offer for private clouds.
///
/// Two checks in Microsoft's clients need the real names:
/// - MSAL asks `https://login.microsoftonline.com/common/discovery/instance` about any authority
///   host it does not know (msal `authority.py`, `WELL_KNOWN_AUTHORITY_HOSTS`); for
///   `login.microsoftonline.com` itself it asks nothing.
/// - azure-keyvault-secrets accepts a challenge only when the vault's `netloc` ends with `.` and the
///   challenge resource's host (`_shared/challenge_auth_policy.py`, `_verify_challenge_resource`),
///   so a vault must be `https://NAME.vault.azure.net` — on port 443, since `netloc` keeps a port.
///
/// Each name maps to an address of its own in 127.0.0.0/8, port 443 (binding it needs root or
/// `CAP_NET_BIND_SERVICE`). The names resolve there only for a program run with ``hostsFile`` in
/// place of `/etc/hosts`, in a private mount namespace (`unshare -m` + `mount --bind`, as the tests
/// and docs/emulator.md do); nothing on the system changes.
public struct AzureHostNames: Sendable, Hashable {
    /// Entra ID's host: MSAL's well-known authority host.
    public static let login = "login.microsoftonline.com"
    /// The hosts served by the Entra ID and Defender side: Entra ID, the Defender XDR API, Graph.
    public static let serviceHosts = [login, "api.security.microsoft.com", "api.securitycenter.microsoft.com", "graph.microsoft.com"]

    /// The loopback address the ``serviceHosts`` map to.
    public var serviceAddress: String
    /// Each vault's loopback address, by vault name (`NAME.vault.azure.net`).
    public var vaultAddresses: [String: String]

    /// Names mapped to the given loopback addresses.
    public init(serviceAddress: String, vaultAddresses: [String: String]) {
        self.serviceAddress = serviceAddress
        self.vaultAddresses = vaultAddresses
    }

    /// Fresh addresses in 127.0.0.0/8 (not 127.0.0.1) for the service side and each vault, so that
    /// several emulators can hold port 443 at once.
    public static func random(vaults: [String]) -> AzureHostNames {
        var used: Set<String> = []
        func fresh() -> String {
            while true {
                let address = "127.\(UInt8.random(in: 1...254)).\(UInt8.random(in: 0...255)).\(UInt8.random(in: 1...254))"
                if used.insert(address).inserted { return address }
            }
        }
        let service = fresh()
        return AzureHostNames(serviceAddress: service, vaultAddresses: Dictionary(uniqueKeysWithValues: vaults.map { ($0, fresh()) }))
    }

    /// The vault's host name, `NAME.vault.azure.net` (lowercase, as DNS names compare).
    public static func vaultHost(_ name: String) -> String { "\(name.lowercased()).vault.azure.net" }

    /// The names the server certificate must carry.
    public var dnsNames: [String] { Self.serviceHosts + vaultAddresses.keys.sorted().map(Self.vaultHost) }

    /// The addresses, for the certificate's IP names (so the test process can reach them directly).
    public var addresses: [String] { [serviceAddress] + vaultAddresses.keys.sorted().compactMap { vaultAddresses[$0] } }

    /// A complete hosts file: `localhost`, then every name on its address.
    public var hostsFile: String {
        var lines = ["127.0.0.1 localhost", "::1 localhost"]
        lines += Self.serviceHosts.map { "\(serviceAddress) \($0)" }
        lines += vaultAddresses.keys.sorted().compactMap { name in vaultAddresses[name].map { "\($0) \(Self.vaultHost(name))" } }
        return lines.joined(separator: "\n") + "\n"
    }
}
