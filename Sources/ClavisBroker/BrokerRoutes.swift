import ClavisCore
import ClavisIdentity
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A request context that keeps the connection's channel, to ask who is on its other end.
public struct BrokerRequestContext: RequestContext {
    /// Hummingbird's core storage.
    public var coreContext: CoreRequestContextStorage
    /// The connection.
    public let channel: any Channel

    /// Creates the context for a request on `source.channel`.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The broker's endpoints: the App Service managed-identity protocol (API version 2019-08-01) on
/// loopback TCP, and the same request plus `/status` on the Unix socket.
///
/// The protocol, as Microsoft's clients speak it: `GET IDENTITY_ENDPOINT?api-version=2019-08-01&
/// resource=R[&client_id=C]` with header `X-IDENTITY-HEADER: IDENTITY_HEADER` (azure-identity
/// `_credentials/app_service.py` `_get_request`/`_get_client_args`; MSAL Python
/// `managed_identity.py` `_obtain_token_on_app_service`, which also sends `Metadata: true`); the
/// reply `{access_token, expires_on, resource, token_type, client_id}` with `expires_on` in Unix
/// seconds as a string (App Service's REST endpoint reference, "overview-managed-identity"); errors
/// as `{"statusCode", "message", "correlationId"}`, the fields MSAL reads from a failed reply.
struct BrokerRoutes: Sendable {
    let identities: [String: BrokerIdentity]
    let headers: HeaderSecrets
    let shutdown: ShutdownSignal
    let audit: Logger
    let peers = PeerCache()

    /// The loopback TCP side: identity by header, user by the kernel's socket table.
    func registerTCP(on router: Router<BrokerRequestContext>) {
        router.get("/msi/token") { request, context in
            guard let value = request.headers.first(where: { $0.name.canonicalName == "x-identity-header" })?.value, !value.isEmpty, let grant = headers.grant(for: value),
                  let identity = identities[grant.identity] else {
                return Self.error(.unauthorized, "The X-IDENTITY-HEADER is missing or is not the IDENTITY_HEADER this broker issued.")
            }
            guard let client = context.channel.remoteAddress, let server = context.channel.localAddress,
                  let peer = await peers.peer(of: context.channel, lookup: { PeerCredentials.tcp(client: client, server: server) }) else {
                identity.refused()
                return Self.error(.forbidden, "The connecting process could not be identified.")
            }
            guard peer.uid == grant.uid, identity.uids.contains(peer.uid) else {
                identity.refused()
                audit.notice("refused: header of another user", metadata: Self.metadata(peer, identity: identity.name, resource: nil))
                return Self.error(.forbidden, "This IDENTITY_HEADER was not issued to uid \(peer.uid).")
            }
            return await serve(request, identity: identity, peer: peer)
        }
    }

    /// The Unix-socket side: identity by `identity=`, user by `SO_PEERCRED`; `/status` too.
    func registerUnix(on router: Router<BrokerRequestContext>) {
        router.get("/msi/token") { request, context in
            guard let name = request.uri.queryParameters.get("identity"), let identity = identities[name] else {
                return Self.error(.badRequest, "No such identity is configured on this broker.")
            }
            guard let peer = await peers.peer(of: context.channel, lookup: { await PeerCredentials.unix(context.channel) }) else {
                identity.refused()
                return Self.error(.forbidden, "The connecting process could not be identified.")
            }
            guard identity.uids.contains(peer.uid) else {
                identity.refused()
                audit.notice("refused: user not allowed", metadata: Self.metadata(peer, identity: identity.name, resource: nil))
                return Self.error(.forbidden, "uid \(peer.uid) may not use identity \(name).")
            }
            return await serve(request, identity: identity, peer: peer)
        }
        router.get("/status") { _, context in
            guard let peer = await PeerCredentials.unix(context.channel) else { return Self.error(.forbidden, "The connecting process could not be identified.") }
            var visible: [[String: Any]] = []
            for name in identities.keys.sorted() {
                guard let identity = identities[name], peer.uid == 0 || identity.uids.contains(peer.uid) else { continue }
                let counters = identity.snapshot
                visible.append(["name": name, "clientId": identity.clientId, "resources": identity.resources.values.sorted(),
                                "users": identity.uids.sorted().map { Int($0) }, "served": counters.served, "refused": counters.refused,
                                "failed": counters.failed, "expiries": counters.expiries])
            }
            return Self.json(["identities": visible, "pid": Int(getpid())], status: .ok)
        }
    }

    /// The checks shared by both sides (query, client id, resource), then the token.
    func serve(_ request: Request, identity: BrokerIdentity, peer: PeerCredentials) async -> Response {
        let query = request.uri.queryParameters
        guard query.get("api-version") == "2019-08-01" else {
            identity.refused()
            return Self.error(.badRequest, "api-version must be 2019-08-01.")
        }
        guard let asked = query.get("resource"), !asked.isEmpty else {
            identity.refused()
            return Self.error(.badRequest, "Required query variable 'resource' is missing.")
        }
        if let clientId = query.get("client_id"), clientId.lowercased() != identity.clientId.lowercased() {
            identity.refused()
            return Self.error(.badRequest, "No identity with client_id \(clientId) is available with this IDENTITY_HEADER.")
        }
        if query.get("mi_res_id") != nil || query.get("object_id") != nil || query.get("principal_id") != nil {
            identity.refused()
            return Self.error(.badRequest, "Only client_id selects an identity on this broker.")
        }
        let resource = BrokerIdentity.normalise(asked)
        guard let configured = identity.resources[resource] else {
            identity.refused()
            audit.notice("refused: resource not configured", metadata: Self.metadata(peer, identity: identity.name, resource: resource))
            return Self.error(.badRequest, "Identity \(identity.name) is not configured for resource \(asked).")
        }
        let token: AccessToken
        do {
            token = try await shutdown.race { try await identity.credential.getToken(TokenRequestContext(resource: configured)) }
        } catch is BrokerShuttingDown {
            return Self.error(.serviceUnavailable, "The broker is shutting down; retry shortly.")
        } catch {
            identity.failed()
            audit.notice("token request failed", metadata: Self.metadata(peer, identity: identity.name, resource: resource)
                        .merging(["clavis.error": "\(error)"]) { $1 })
            return Self.error(.internalServerError, "Could not get a token for identity \(identity.name): \(error)")
        }
        guard let value = token.token.revealedString() else { return Self.error(.internalServerError, "The token is not text.") }
        identity.served(resource: resource, expiresOn: token.expiresOn)
        var metadata = Self.metadata(peer, identity: identity.name, resource: resource)
        metadata["broker.expires_on"] = "\(Self.timestamp(token.expiresOn))"
        audit.info("token served", metadata: metadata)
        return Self.json(["access_token": value, "expires_on": String(Int(token.expiresOn.timeIntervalSince1970)), "resource": asked,
                          "token_type": "Bearer", "client_id": identity.clientId], status: .ok)
    }

    /// The audit fields: time, uid, pid, executable, identity, resource — never a token or header.
    static func metadata(_ peer: PeerCredentials, identity: String, resource: String?) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["broker.time": "\(timestamp(Date()))", "broker.uid": "\(peer.uid)", "broker.pid": "\(peer.pid)",
                                         "broker.exe": "\(peer.executable ?? "?")", "broker.identity": "\(identity)"]
        if let resource { metadata["broker.resource"] = "\(resource)" }
        return metadata
    }

    static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }

    /// An error in App Service's shape.
    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(["statusCode": Int(status.code), "message": message, "correlationId": UUID().uuidString.lowercased()], status: status)
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
