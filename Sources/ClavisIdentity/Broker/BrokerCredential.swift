import AsyncHTTPClient
import ClavisCore
import Foundation

/// Tokens from a local `clavis-broker` (docs/broker.md), over its Unix socket: the app's secret
/// stays with the broker, and every program on the host shares the broker's one token cache.
///
/// The broker knows who is asking from the socket itself (`SO_PEERCRED`), so over the socket no
/// header is needed; it answers only identities this user is allowed to use, and only for their
/// configured resources.
///
/// ```swift
/// let credential = try BrokerCredential(identity: "defender")
/// let token = try await credential.getToken(TokenRequestContext(resource: "https://api.security.microsoft.com"))
/// ```
public struct BrokerCredential: TokenCredential {
    /// The broker identity's name.
    public let identity: String
    /// The Unix socket's path.
    public let socketPath: String
    let transport: HTTPTransport

    /// A credential for `identity`, on the broker at `socketPath` (default: the one the broker
    /// names in this user's broker directory, see ``BrokerPaths``).
    public init(identity: String, socketPath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                transport: HTTPTransport = HTTPTransport(retry: .noRetries, attemptTimeout: .seconds(60))) throws {
        guard BrokerPaths.isValidIdentityName(identity) else {
            throw ClavisError(.invalidReference, reference: "broker identity \(identity)", reason: "an identity name is letters, digits, '.', '_' and '-'")
        }
        self.identity = identity
        if let socketPath {
            self.socketPath = socketPath
        } else if let named = environment["CLAVIS_BROKER_SOCKET"], !named.isEmpty {
            self.socketPath = named
        } else {
            // Found lazily: a program that never asks for a token (e.g. `clavis run --broker` with a
            // header from a systemd credential) must not fail for want of a socket.
            let directory = (try? BrokerPaths.clientDirectory(for: identity, environment: environment))
                ?? (try? BrokerPaths.clientDirectory(for: nil, environment: environment))
            self.socketPath = directory.flatMap { try? String(contentsOfFile: "\($0)/\(BrokerPaths.socketFileName)", encoding: .utf8) }?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        }
        self.transport = transport
    }

    /// `broker credential (identity I, SOCKET)`.
    public var credentialDescription: String { "broker credential (identity \(identity), \(socketPath))" }

    /// Asks the broker for a token for the context's resource.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        let reference = "broker identity \(identity)"
        guard !socketPath.isEmpty else {
            throw ClavisError(.credentialUnavailable, reference: reference, reason: "no broker directory of this user names the broker's socket",
                              hint: "is clavis-broker running, with this user among the identity's users? Set CLAVIS_BROKER_DIR or CLAVIS_BROKER_SOCKET")
        }
        var components = URLComponents()
        components.path = "/msi/token"
        components.queryItems = [URLQueryItem(name: "api-version", value: "2019-08-01"), URLQueryItem(name: "resource", value: context.resource),
                                 URLQueryItem(name: "identity", value: identity)]
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: components.percentEncodedPath + "?" + (components.percentEncodedQuery ?? "")) else {
            throw ClavisError(.invalidReference, reference: reference, reason: "the socket path \(socketPath) cannot be used in a URL")
        }
        let reply: HTTPReply
        do {
            reply = try await transport.send(.GET, url.absoluteString, retry: .noRetries)
        } catch let error as ClavisError where error.code == .sourceUnavailable {
            throw ClavisError(.credentialUnavailable, reference: reference, reason: "the broker at \(socketPath) did not answer",
                              hint: "is clavis-broker running? (`clavis broker status`)")
        }
        if reply.status == 200 { return try TokenEndpoint.parse(reply, reference: reference) }
        // The broker's errors have App Service's shape: {"statusCode", "message"}.
        let message = (reply.jsonObject?["message"] as? String).map { ": \($0.prefix(300))" } ?? ""
        switch reply.status {
        case 401, 403:
            throw ClavisError(.permissionDenied, reference: reference, reason: "the broker refused (HTTP \(reply.status))\(message)")
        case 400, 404:
            throw ClavisError(.credentialUnavailable, reference: reference, reason: "the broker refused the request (HTTP \(reply.status))\(message)")
        case 503:
            throw ClavisError(.sourceUnavailable, reference: reference, reason: "the broker is unavailable (HTTP 503)\(message)")
        default:
            throw ClavisError(.serviceError, reference: reference, reason: "the broker answered HTTP \(reply.status)\(message)")
        }
    }
}
