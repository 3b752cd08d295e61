import ClavisCore
import Crypto
import Foundation
import JWTKit

/// An app certificate: a `client_assertion` JWT signed with the certificate's private key.
///
/// PS256 with the `x5t#S256` thumbprint is the default (what MSAL ≥ 1.30 sends); RS256 with the
/// SHA-1 `x5t` is the fallback for older setups. Claims follow Microsoft's documentation: `aud` =
/// the token endpoint, `iss` = `sub` = the client id, a fresh `jti`, `nbf`/`iat` = now, `exp` =
/// now + 10 minutes.
public struct ClientCertificateCredential: TokenCredential {
    /// The signature algorithm of the assertion.
    public enum Algorithm: String, Sendable { case ps256 = "PS256", rs256 = "RS256" }

    let endpoint: TokenEndpoint
    let certificateDER: [UInt8]
    let keyPEM: Secret
    let algorithm: Algorithm
    let path: String

    /// Creates the credential from PEM text holding the certificate and its RSA private key
    /// (one file, as `AZURE_CLIENT_CERTIFICATE_PATH` expects, or two concatenated).
    /// `additionallyAllowedTenants` names tenants besides `tenant` a request may ask for (`*`: any).
    public init(tenant: String, clientId: String, pem: Secret, path: String = "certificate", algorithm: Algorithm = .ps256,
                authority: Authority = .publicCloud, version: EndpointVersion = .v2, transport: HTTPTransport = HTTPTransport(),
                additionallyAllowedTenants: [String] = []) throws {
        guard let text = pem.revealedString(), let der = Self.firstCertificate(in: text) else {
            throw ClavisError(.invalidValue, reference: path, reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) in \(path)")
        }
        guard text.contains("PRIVATE KEY-----") else {
            throw ClavisError(.invalidValue, reference: path, reason: "no PEM private key in \(path)")
        }
        endpoint = TokenEndpoint(authority: authority, tenant: tenant, clientId: clientId, version: version, transport: transport,
                                 additionallyAllowedTenants: additionallyAllowedTenants)
        certificateDER = der
        keyPEM = pem
        self.algorithm = algorithm
        self.path = path
    }

    /// `client certificate credential (app C, PATH)`.
    public var credentialDescription: String { "client certificate credential (app \(endpoint.clientId), \(path))" }

    /// The certificate's SHA-256 thumbprint, base64url (the `x5t#S256` header).
    public var thumbprintSHA256: String { Self.base64URL(Array(SHA256.hash(data: certificateDER))) }

    /// Requests a token with a freshly signed assertion.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        let audience = try endpoint.url(for: context, reference: path)
        let assertion = try await makeAssertion(audience: audience)
        return try await endpoint.requestToken(context, fields: [
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion),
        ], reference: path)
    }

    /// A signed client assertion for `audience`.
    public func makeAssertion(audience: String, now: Date = Date()) async throws -> String {
        let key: JWTKit.Insecure.RSA.PrivateKey
        do {
            guard let text = keyPEM.revealedString(), let pem = Self.privateKeyBlock(in: text) else { throw ClavisError(.invalidValue, reason: "no key") }
            key = try JWTKit.Insecure.RSA.PrivateKey(pem: pem)
        } catch {
            throw ClavisError(.invalidValue, reference: path, reason: "the private key in \(path) is not an RSA key jwt-kit can read", cause: error)
        }
        let keys = JWTKeyCollection()
        var header = JWTHeader()
        switch algorithm {
        case .ps256:
            await keys.add(pss: key, digestAlgorithm: .sha256)
            header.x5tS256 = thumbprintSHA256
        case .rs256:
            await keys.add(rsa: key, digestAlgorithm: .sha256)
            header.x5t = Self.base64URL(Array(Crypto.Insecure.SHA1.hash(data: certificateDER)))
        }
        header.typ = "JWT"
        let claims = AssertionClaims(aud: AudienceClaim(value: [audience]), iss: IssuerClaim(value: endpoint.clientId),
                                     sub: SubjectClaim(value: endpoint.clientId), jti: IDClaim(value: UUID().uuidString),
                                     nbf: NotBeforeClaim(value: now), iat: IssuedAtClaim(value: now),
                                     exp: ExpirationClaim(value: now.addingTimeInterval(600)))
        return try await keys.sign(claims, header: header)
    }

    struct AssertionClaims: JWTPayload {
        var aud: AudienceClaim
        var iss: IssuerClaim
        var sub: SubjectClaim
        var jti: IDClaim
        var nbf: NotBeforeClaim
        var iat: IssuedAtClaim
        var exp: ExpirationClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func firstCertificate(in text: String) -> [UInt8]? {
        guard let block = block(named: "CERTIFICATE", in: text) else { return nil }
        let body = block.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return Data(base64Encoded: body).map(Array.init)
    }

    static func privateKeyBlock(in text: String) -> String? {
        for label in ["RSA PRIVATE KEY", "PRIVATE KEY"] { if let block = block(named: label, in: text) { return block } }
        return nil
    }

    static func block(named label: String, in text: String) -> String? {
        guard let start = text.range(of: "-----BEGIN \(label)-----"), let end = text.range(of: "-----END \(label)-----", range: start.upperBound..<text.endIndex) else {
            return nil
        }
        return String(text[start.lowerBound..<end.upperBound])
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
