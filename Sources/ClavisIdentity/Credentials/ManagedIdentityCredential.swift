import ClavisCore
import Foundation
import Synchronization

/// Managed identity: the Azure host hands out tokens for the identity assigned to it.
///
/// - App Service / Functions / Container Apps: `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`.
/// - VMs, VM scale sets, AKS nodes: the instance metadata service (IMDS) at `169.254.169.254`.
///
/// Off Azure there is no IMDS, and a connection to it hangs until a timeout: the first probe — a
/// header-less GET, as azure-identity's `imds.py` sends it, which a real IMDS answers with 400 —
/// has its connection bounded (1 s by default; the reply is not, a busy IMDS may be slow) and its
/// failure is remembered for a minute, so a chain falls
/// through fast instead of the 10–25 s users report from other SDKs. The real request is then
/// retried as the IMDS guidance says: 404 (identity not yet available), 410 (IMDS updating: for at
/// least 70 s), 429 and 5xx, with the one backoff policy; IMDS's own `error_description` is passed
/// through in errors.
public struct ManagedIdentityCredential: TokenCredential {
    /// A user-assigned identity's client id (nil: the system-assigned identity).
    public var clientId: String?
    let transport: HTTPTransport
    let endpoint: Endpoint
    let probeTimeout: Duration
    /// Backoff and bounds for the retries of the real request.
    let imdsRetry: RetryPolicy
    /// How long a 410 keeps being retried (IMDS guidance: at least 70 s).
    let goneWindow: Duration
    private let unavailableUntil = UnavailableMemo()
    private let probed = ProbedMemo()

    enum Endpoint: Sendable {
        case imds(String)
        case appService(String, header: String)
    }

    /// The IMDS token URL.
    public static let imdsEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"

    /// Chooses App Service when `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` are set, else IMDS
    /// (`imdsEndpoint` overridable, e.g. the emulator's, or `CLAVIS_IMDS_ENDPOINT`).
    public init(clientId: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                imdsEndpoint: String? = nil, probeTimeout: Duration = .seconds(1), transport: HTTPTransport = HTTPTransport(),
                imdsRetry: RetryPolicy = RetryPolicy(maxAttempts: 6, baseDelay: .seconds(1), maxDelay: .seconds(20), maxTotal: .seconds(90)),
                goneWindow: Duration = .seconds(70)) {
        self.clientId = clientId
        self.transport = transport
        self.probeTimeout = probeTimeout
        self.imdsRetry = imdsRetry
        self.goneWindow = goneWindow
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
        do {
            // The probe: the connection bounded by `probeTimeout` (off Azure it hangs), then one
            // header-less attempt, which a live IMDS answers with 400 — not bounded by the probe
            // timeout: a busy IMDS may be slow to reply. App Service's endpoint is local: no probe.
            if case .imds = endpoint, !probed.value {
                guard await ConnectProbe.canConnect(to: url, within: probeTimeout) else {
                    throw ClavisError(.sourceUnavailable, reference: "managed identity", reason: "no connection")
                }
                _ = try await transport.send(.GET, url, retry: .noRetries)
                probed.set()
            }
        } catch let error as ClavisError where error.code == .sourceUnavailable {
            unavailableUntil.set(ContinuousClock.now + .seconds(60))
            throw ClavisError(.credentialUnavailable, reference: "managed identity",
                              reason: "the managed identity endpoint could not be reached within \(probeTimeout) (not on Azure, or no identity assigned)",
                              hint: "enable a managed identity on the host, or use another credential")
        }
        let reply = try await requestWithRetries(url, headers: headers)
        if reply.status == 200 { return try TokenEndpoint.parse(reply, reference: "managed identity") }
        let object = reply.jsonObject
        let described = (object?["error_description"] as? String).map { ": \($0.count > 300 ? String($0.prefix(300)) + "…" : $0)" } ?? ""
        switch reply.status {
        case 400:
            throw ClavisError(.credentialUnavailable, reference: "managed identity",
                              reason: "the managed identity endpoint answered 400\(described)",
                              hint: "no identity is assigned to this host, the client id is wrong, or several user-assigned identities exist and none was named (--client-id)")
        case 401, 403:
            throw ClavisError(.permissionDenied, reference: "managed identity", reason: "the managed identity endpoint refused the request (HTTP \(reply.status))\(described)")
        case 404, 410, 429, 500..<600:
            throw ClavisError(.sourceUnavailable, reference: "managed identity",
                              reason: "the managed identity endpoint still answered HTTP \(reply.status) after retrying\(described)",
                              hint: reply.status == 404 ? "a newly assigned identity takes a while to become available; try again shortly" : nil)
        default:
            throw ClavisError(.serviceError, reference: "managed identity", reason: "the managed identity endpoint answered HTTP \(reply.status)\(described)")
        }
    }

    /// The real request, retried on 404, 410 (for at least ``goneWindow``), 429 and 5xx with
    /// ``imdsRetry``'s backoff (honouring `Retry-After`).
    func requestWithRetries(_ url: String, headers: [(String, String)]) async throws -> HTTPReply {
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            let reply = try await transport.send(.GET, url, headers: headers, retry: .noRetries)
            let retryable = reply.status == 404 || reply.status == 410 || reply.status == 429 || (500..<600).contains(reply.status)
            guard retryable else { return reply }
            let elapsed = ContinuousClock.now - started
            let wait = imdsRetry.delay(afterAttempt: attempt, retryAfter: RetryPolicy.retryAfter(reply.headers))
            let withinAttempts = attempt < imdsRetry.maxAttempts && elapsed + wait <= imdsRetry.maxTotal
            let goneStillWaiting = reply.status == 410 && elapsed < goneWindow
            guard withinAttempts || goneStillWaiting else { return reply }
            try await Task.sleep(for: wait)
        }
    }

    static func url(_ base: String, _ query: [URLQueryItem]) -> String {
        guard var components = URLComponents(string: base) else { return base }
        components.queryItems = (components.queryItems ?? []) + query
        return components.string ?? base
    }

    final class ProbedMemo: Sendable {
        private let state = Mutex(false)
        var value: Bool { state.withLock { $0 } }
        func set() { state.withLock { $0 = true } }
    }

    final class UnavailableMemo: Sendable {
        private let state = Mutex<ContinuousClock.Instant?>(nil)
        var value: ContinuousClock.Instant? { state.withLock { $0 } }
        func set(_ instant: ContinuousClock.Instant) { state.withLock { $0 = instant } }
    }
}
