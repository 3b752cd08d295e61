import Foundation
import JWTKit
import Synchronization
import _CryptoExtras

/// A fault to inject on matching requests.
public struct Fault: Codable, Sendable {
    /// Which endpoints: `token`, `imds`, `discovery`, `jwks`, `vault`, `defender`, or `*`.
    public var target: String
    /// `status` (reply with `status`), `delay` (wait `delayMilliseconds` first), `malformed` (invalid
    /// JSON), `drop` (the connection closes mid-reply), `redirect` (reply `status`, default 307,
    /// with `Location: location`), `body` (reply 200 with `body` as JSON — a reply no real service
    /// would send, to test a client's defences).
    public var kind: String
    /// The status for `status` faults.
    public var status: Int?
    /// `Retry-After` seconds to send with a `status` fault.
    public var retryAfter: Int?
    /// The wait for `delay` faults.
    public var delayMilliseconds: Int?
    /// How many requests it applies to (nil: until cleared).
    public var count: Int?
    /// Where a `redirect` fault points.
    public var location: String?
    // Defender/Graph (issue 15; see docs/emulator.md): optional, so older fault lists decode unchanged.
    /// Whether a `status` fault with `retryAfter` also sends the `Retry-After` header (default true);
    /// the Defender and Graph routes always put the reset time in the body of a 429.
    public var retryAfterHeader: Bool?
    /// The error `code` of a `status` fault on the Defender/Graph routes (e.g. `TooManyRequests` or `429`).
    public var code: String?
    /// The JSON a `body` fault replies with.
    public var body: String?

    /// Creates a fault.
    public init(target: String, kind: String, status: Int? = nil, retryAfter: Int? = nil, delayMilliseconds: Int? = nil, count: Int? = nil,
                location: String? = nil, retryAfterHeader: Bool? = nil, code: String? = nil, body: String? = nil) {
        self.target = target
        self.kind = kind
        self.status = status
        self.retryAfter = retryAfter
        self.delayMilliseconds = delayMilliseconds
        self.count = count
        self.location = location
        self.retryAfterHeader = retryAfterHeader
        self.code = code
        self.body = body
    }
}

/// The emulator's mutable state: the signing key, faults and request counters.
public final class EmulatorState: Sendable {
    /// The configuration.
    public let config: EmulatorConfig
    let signingKey: JWTKit.Insecure.RSA.PrivateKey
    /// The same key, for tokens signed outside JWTKit (Graph's `nonce` header).
    let rawSigningKey: _RSA.Signing.PrivateKey
    let keyId: String
    let keys = JWTKeyCollection()
    private let faults = Mutex<[Fault]>([])
    private let counters = Mutex<[String: Int]>([:])
    private let identityOrigin = Mutex<String?>(nil)
    private let consents = Mutex<Set<String>>([])
    /// Application objects and their password credentials (Graph `addPassword`/`removePassword`).
    let directory: ApplicationDirectory

    /// Creates the state with a fresh 2048-bit RSA signing key.
    public init(config: EmulatorConfig) async throws {
        self.config = config
        directory = ApplicationDirectory(config: config)
        rawSigningKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        signingKey = try JWTKit.Insecure.RSA.PrivateKey(backing: rawSigningKey)
        keyId = String(UUID().uuidString.prefix(8)).lowercased()
        await keys.add(rsa: signingKey, digestAlgorithm: .sha256, kid: JWKIdentifier(string: keyId))
    }

    /// The Entra ID side's origin (`https://127.0.0.1:PORT`) once it listens: vaults, each on an
    /// origin of their own, name it in their challenges.
    public var identityBase: String? { identityOrigin.withLock { $0 } }

    /// Records the Entra ID side's origin.
    func setIdentityBase(_ base: String) { identityOrigin.withLock { $0 = base } }

    /// Records an admin's consent to `clientId`'s permissions in `tenant` (the consent page).
    func grantConsent(tenant: String, clientId: String) { _ = consents.withLock { $0.insert("\(tenant)/\(clientId)".lowercased()) } }

    /// Whether an admin consented on the consent page (besides the config's `consented`).
    func hasConsent(tenant: String, clientId: String) -> Bool { consents.withLock { $0.contains("\(tenant)/\(clientId)".lowercased()) } }

    /// Counts a request to `endpoint`.
    func count(_ endpoint: String) { counters.withLock { $0[endpoint, default: 0] += 1 } }

    /// Requests seen per endpoint.
    public var statistics: [String: Int] { counters.withLock { $0 } }

    /// Replaces the client secrets an app accepts with `secrets` (a rotation done behind the
    /// client's back: the old values stop working at once). Test hook: `POST /_emulator/secrets`.
    public func replaceSecrets(clientId: String, secrets: [String]) {
        for tenant in config.tenants where tenant.apps.contains(where: { $0.clientId.lowercased() == clientId.lowercased() }) {
            directory.replace(tenant: tenant.id, appId: clientId, secrets: secrets)
        }
    }

    /// The key ids and end dates of an app's password credentials, oldest first (for tests).
    public func passwordCredentials(tenant: String, appId: String) -> [(keyId: String, displayName: String?, end: Date)] {
        directory.list(tenant: tenant, appId: appId).map { ($0.keyId, $0.displayName, $0.end) }
    }

    /// Forgets counts and faults.
    public func reset() {
        counters.withLock { $0 = [:] }
        faults.withLock { $0 = [] }
    }

    /// Adds faults.
    public func inject(_ new: [Fault]) { faults.withLock { $0 += new } }

    /// The fault to apply to a request to `target`, consuming one use.
    func takeFault(for target: String) -> Fault? {
        faults.withLock { list in
            guard let index = list.firstIndex(where: { $0.target == target || $0.target == "*" }) else { return nil }
            let fault = list[index]
            if let count = fault.count {
                if count <= 1 { list.remove(at: index) } else { list[index].count = count - 1 }
            }
            return fault
        }
    }

    /// The tenant named by `idOrDomain`.
    func tenant(_ idOrDomain: String) -> EmulatorConfig.Tenant? {
        config.tenants.first { $0.id.lowercased() == idOrDomain.lowercased() || $0.domain?.lowercased() == idOrDomain.lowercased() }
    }

    /// The JWKS document.
    func jwks() throws -> [String: Any] {
        let primitives = try signingKey.publicKey.getKeyPrimitives()
        func b64url(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        return ["keys": [["kty": "RSA", "use": "sig", "alg": "RS256", "kid": keyId, "n": b64url(primitives.modulus), "e": b64url(primitives.publicExponent)]]]
    }
}
