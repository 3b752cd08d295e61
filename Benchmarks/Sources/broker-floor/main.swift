// broker-floor: the smallest program built like `clavis-broker` — a Hummingbird server on loopback
// that, on a cache miss, gets one token over HTTPS with AsyncHTTPClient (swift-nio-ssl) and decodes
// its JSON with Foundation — so Benchmarks/broker.py can put the broker's resident memory beside
// what this stack costs before any of Clavis is linked (issue 18's memory row). Not shipped.
//
// Environment: FLOOR_TOKEN_URL (an Entra ID v2 token endpoint: the emulator's), FLOOR_CA (a PEM
// file of trust roots), FLOOR_FORM (the client-credentials form to POST). Prints its URL, then
// serves `GET /token` until terminated.
import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOSSL

struct TokenReply: Decodable {
    let accessToken: String
    enum CodingKeys: String, CodingKey { case accessToken = "access_token" }
}

actor TokenCache {
    private var token: String?
    func cached() -> String? { token }
    func store(_ value: String) { token = value }
}

let environment = ProcessInfo.processInfo.environment
var tls = TLSConfiguration.makeClientConfiguration()
tls.trustRoots = .file(environment["FLOOR_CA"] ?? "")
let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
let cache = TokenCache()
let router = Router()
router.get("/token") { _, _ -> String in
    if let token = await cache.cached() { return token }
    var request = HTTPClientRequest(url: environment["FLOOR_TOKEN_URL"] ?? "")
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
    request.body = .bytes(ByteBuffer(string: environment["FLOOR_FORM"] ?? ""))
    let response = try await client.execute(request, timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 1 << 20)
    let token = try JSONDecoder().decode(TokenReply.self, from: Data(buffer: body)).accessToken
    await cache.store(token)
    return token
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                      onServerRunning: { channel in
                          print("http://127.0.0.1:\(channel.localAddress?.port ?? 0)/token")
                          fflush(nil)
                      })
try await app.runService()
try await client.shutdown()
