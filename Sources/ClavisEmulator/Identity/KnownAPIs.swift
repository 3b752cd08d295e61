import Foundation

/// Microsoft APIs that exist in every tenant, by every identifier a client may ask for them with.
///
/// Entra issues the token format the **resource** accepts, whatever the endpoint: these APIs accept
/// v1 tokens (`ver 1.0`, `appid`/`appidacr`, `iss https://sts.windows.net/{tid}/`) from the v1 and
/// the v2 endpoint alike (entra-docs `access-tokens.md`, "Token formats": the version is set by the
/// resource's `accessTokenAcceptedVersion`). In a v1 token `aud` is the identifier the client used:
/// the resource URI, or the application id when it asked by id (`access-tokens.md`, `aud`). Graph
/// tokens carry a `nonce` header and cannot be verified by anyone but Graph.
struct KnownAPI: Sendable {
    /// The application id of the API's service principal.
    var appId: String
    /// Its identifier URIs (the first is the primary one).
    var identifiers: [String]
    /// Whether its tokens carry a `nonce` header (Graph).
    var nonce = false

    /// Key Vault, Graph, the Defender XDR API ("Microsoft Threat Protection"), Defender for
    /// Endpoint ("WindowsDefenderATP": the walkthrough's `securitycenter.onmicrosoft.com/windowsatpservice`
    /// and `api.securitycenter.microsoft.com`), Azure Resource Manager.
    static let all: [KnownAPI] = [
        KnownAPI(appId: "cfa8b339-82a2-471a-a3c9-0fc0be7a4093", identifiers: ["https://vault.azure.net"]),
        KnownAPI(appId: "00000003-0000-0000-c000-000000000000", identifiers: ["https://graph.microsoft.com"], nonce: true),
        KnownAPI(appId: "8ee8fdad-f234-4243-8f3b-15c294843740", identifiers: ["https://api.security.microsoft.com"]),
        KnownAPI(appId: "fc780465-2017-40d4-a0c5-307022471b92",
                 identifiers: ["https://api.securitycenter.microsoft.com", "https://securitycenter.onmicrosoft.com/windowsatpservice"]),
        KnownAPI(appId: "797f4846-ba00-4fd7-ba43-dac1f8f63013", identifiers: ["https://management.azure.com", "https://management.core.windows.net"]),
    ]

    /// Every name of the API: its identifiers and its application id.
    var names: [String] { identifiers + [appId] }

    /// The known API `resource` names, if any.
    static func named(_ resource: String) -> KnownAPI? {
        all.first { api in api.names.contains { same($0, resource) } }
    }

    /// Whether two resource identifiers are the same (case and a trailing slash aside).
    static func same(_ a: String, _ b: String) -> Bool {
        func trim(_ text: String) -> String { text.hasSuffix("/") ? String(text.dropLast()).lowercased() : text.lowercased() }
        return trim(a) == trim(b)
    }

    /// Whether `key` (a permissions entry) and `resource` (what was asked for) name the same API.
    static func sameAPI(_ key: String, _ resource: String) -> Bool {
        if same(key, resource) { return true }
        guard let api = named(resource) else { return false }
        return api.names.contains { same($0, key) }
    }
}
