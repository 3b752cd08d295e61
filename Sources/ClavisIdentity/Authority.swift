import ClavisCore
import Foundation

/// Where tokens come from: an Entra ID authority host.
public struct Authority: Sendable, Hashable, CustomStringConvertible {
    /// The base URL, e.g. `https://login.microsoftonline.com`.
    public let url: URL

    /// Microsoft's public cloud.
    public static let publicCloud = Authority(trusted: "https://login.microsoftonline.com")
    /// US Government (GCC High, DoD).
    public static let usGovernment = Authority(trusted: "https://login.microsoftonline.us")
    /// China (21Vianet).
    public static let china = Authority(trusted: "https://login.chinacloudapi.cn")

    private init(trusted: String) {
        url = URL(string: trusted) ?? URL(fileURLWithPath: "/")
    }

    /// A custom authority: `https`, or plain `http` only to a loopback address (the emulator).
    public init(_ text: String) throws {
        let named = ["public": Self.publicCloud, "usgov": Self.usGovernment, "usgovernment": Self.usGovernment, "china": Self.china]
        if let authority = named[text.lowercased()] { self = authority; return }
        // `encodedHost`: the host as it goes on the wire (ASCII, IDNA- and percent-encoded), the form
        // the loopback rule must judge; `host` would decode it, through ICU's IDNA tables (1.8 MiB
        // resident for every process that asks, docs/performance.md).
        guard var components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), let host = components.encodedHost else {
            throw ClavisError(.invalidValue, reference: text, reason: "'\(text)' is not an authority URL such as https://login.microsoftonline.com")
        }
        guard Loopback.permits(scheme: scheme, host: host) else {
            throw ClavisError(.invalidValue, reference: text, reason: "the authority must use https (plain http is allowed only to a loopback address: 127.0.0.0/8, ::1, localhost)")
        }
        while components.path.hasSuffix("/") { components.path.removeLast() }
        guard let url = components.url else { throw ClavisError(.invalidValue, reference: text, reason: "invalid authority URL") }
        self.url = url
    }

    /// The authority from `AZURE_AUTHORITY_HOST`, or the public cloud.
    public static func fromEnvironment() throws -> Authority {
        guard let value = ProcessInfo.processInfo.environment["AZURE_AUTHORITY_HOST"], !value.isEmpty else { return .publicCloud }
        return try Authority(value)
    }

    /// The token endpoint of `tenant` (v2 by default).
    public func tokenEndpoint(tenant: String, version: EndpointVersion = .v2) -> String {
        switch version {
        case .v2: "\(url.absoluteString)/\(tenant)/oauth2/v2.0/token"
        case .v1: "\(url.absoluteString)/\(tenant)/oauth2/token"
        }
    }

    /// The OpenID discovery document of `tenant` (v2).
    public func openIDConfiguration(tenant: String) -> String {
        "\(url.absoluteString)/\(tenant)/v2.0/.well-known/openid-configuration"
    }

    /// The base URL.
    public var description: String { url.absoluteString }
}

/// Which token endpoint: v2 (`scope=…/.default`) or v1 (`resource=…`).
public enum EndpointVersion: String, Sendable, Hashable, Codable {
    /// `/oauth2/v2.0/token` with `scope`.
    case v2
    /// `/oauth2/token` with `resource`.
    case v1
}
