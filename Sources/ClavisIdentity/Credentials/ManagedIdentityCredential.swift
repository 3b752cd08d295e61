import ClavisCore
import Foundation
import Synchronization

/// Managed identity: the Azure host hands out tokens for the identity assigned to it.
///
/// - App Service / Functions / Container Apps: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
/// - VMs, VM scale sets, AKS nodes: the instance metadata service (IMDS) at `169.254.169.254`.
///
/// Off Azure there is no IMDS, and a connection to it hangs until a timeout: the first probe is
/// bounded (1 s by default) and its failure is remembered for a minute, so a chain falls through
/// fast instead of the 10–25 s users report from other SDKs.
public struct ManagedIdentityCredential: TokenCredential {
    /// A user-assigned identity's client id (nil: the system-assigned identity).
    public var clientId: String?
    let transport: HTTPTransport
    let endpoint: Endpoint
    let probeTimeout: Duration
    private let unavailableUntil = UnavailableMemo()

    enum Endpoint: Sendable {
        case imds(String)
        case appService(String, header: String)
    }

    /// The IMDS token URL.
    public static let imdsEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"

    /// Chooses App Service when `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` are set, else IMDS
    /// (`imdsEndpoint` overridable, e.g. the emulator's, or `CLAVIS_IMDS_ENDPOINT`).
    public init(clientId: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                imdsEndpoint: String? = nil, probeTimeout: Duration = .seconds(1), transport: HTTPTransport = HTTPTransport()) {
        self.clientId = clientId
        self.transport = transport
        self.probeTimeout = probeTimeout
        if let url = environment["IDENTITY_ENDPOINT"], let header = environment["IDENTITY_HEADER"], !url.isEmpty, !header.isEmpty {
            endpoint = .appService(url, header: header)
        } else {
            endpoint = .imds(imdsEndpoint ?? environment["CLAVIS_IMDS_ENDPOINT"] ?? Self.imdsEndpoint)
        }
    }

    /// `managed identity credential (IMDS|App Service, client id C)`.
    public var credentialDescription: String {
        let kind = switch endpoint { case .imds: "IMDS"; case .appService: "App Service" }
        return "managed identity credential (\(kind)\(clientId.map { ", client id \($0)" } ?? ", system-assigned"))"
    }

    /// Requests a token for the context's resource.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        if let until = unavailableUntil.value, until > ContinuousClock.now {
            throw ClavisError(.credentialUnavailable, reference: "managed identity",
                              reason: "no managed identity endpoint answered recently (not on Azure, or identity not enabled)")
        }
        var query = [URLQueryItem(name: "resource", value: context.resource)]
        if let clientId { query.append(URLQueryItem(name: "client_id", value: clientId)) }
        let url: String, headers: [(String, String)]
        switch endpoint {
        case .imds(let base):
            query.insert(URLQueryItem(name: "api-version", value: "2018-02-01"), at: 0)
            url = Self.url(base, query)
            headers = [("Metadata", "true")]
        case .appService(let base, let secretHeader):
            query.insert(URLQueryItem(name: "api-version", value: "2019-08-01"), at: 0)
            url = Self.url(base, query)
            headers = [("X-IDENTITY-HEADER", secretHeader)]
        }
        let reply: HTTPReply
        do {
            // The probe: one short attempt. A reachable endpoint then gets the normal retries.
            reply = try await transport.send(.GET, url, headers: headers, retry: .noRetries, timeout: probeTimeout)
        } catch let error as ClavisError where error.code == .sourceUnavailable {
            unavailableUntil.set(ContinuousClock.now + .seconds(60))
            throw ClavisError(.credentialUnavailable, reference: "managed identity",
                              reason: "the managed identity endpoint did not answer within \(probeTimeout) (not on Azure, or no identity assigned)",
                              hint: "enable a managed identity on the host, or use another credential")
        }
        var final = reply
        if RetryPolicy.isRetryable(status: reply.status) || reply.status == 410 {
            final = try await transport.send(.GET, url, headers: headers)
        }
        if final.status == 400, case .imds = endpoint {
            throw ClavisError(.credentialUnavailable, reference: "managed identity", reason: "IMDS answered 400: no identity is assigned to this host (or the client id is wrong)")
        }
        do {
            return try TokenEndpoint.parse(final, reference: "managed identity")
        } catch let error as EntraError {
            throw error.clavisError(reference: "managed identity")
        }
    }

    static func url(_ base: String, _ query: [URLQueryItem]) -> String {
        guard var components = URLComponents(string: base) else { return base }
        components.queryItems = (components.queryItems ?? []) + query
        return components.string ?? base
    }

    final class UnavailableMemo: Sendable {
        private let state = Mutex<ContinuousClock.Instant?>(nil)
        var value: ContinuousClock.Instant? { state.withLock { $0 } }
        func set(_ instant: ContinuousClock.Instant) { state.withLock { $0 = instant } }
    }
}
