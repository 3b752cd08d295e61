import Crypto
import Foundation
import Hummingbird
import JWTKit

/// Checks `client_assertion`s: certificate-signed (verified against the app's registered
/// certificates) or federated (issuer and subject matched against the app's federated credentials;
/// the external issuer's signature is not fetched, see docs/emulator.md).
enum Assertions {
    struct Claims: JWTPayload {
        var aud: AudienceClaim?
        var iss: String?
        var sub: String?
        var exp: Double?
        var nbf: Double?
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func check(_ assertion: String, app: EmulatorConfig.App, audience: String, tenantId: String) async -> Response? {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = decode(parts[0]), let claims = decode(parts[1]) else {
            return EntraReply.error("invalid_client", code: 50027, message: "JWT token is invalid or malformed.", status: .unauthorized)
        }
        let issuer = claims["iss"] as? String, subject = claims["sub"] as? String
        let now = Date().timeIntervalSince1970
        // Entra checks the assertion's validity window, with 5 minutes of clock skew
        // (entra-docs certificate-credentials.md: exp, nbf are required claims).
        guard let exp = (claims["exp"] as? NSNumber)?.doubleValue else {
            return EntraReply.error("invalid_client", code: 50027, message: "JWT token is invalid or malformed: it has no 'exp' claim.", status: .unauthorized)
        }
        let notBefore = (claims["nbf"] as? NSNumber)?.doubleValue
        if exp < now - 300 || notBefore.map({ $0 > now + 300 }) == true {
            return EntraReply.error("invalid_client", code: 700024, message: "Client assertion is not within its valid time range. Current time: \(Date(timeIntervalSince1970: now).ISO8601Format()), assertion valid from \(notBefore.map { Date(timeIntervalSince1970: $0).ISO8601Format() } ?? "-"), expiry time of assertion \(Date(timeIntervalSince1970: exp).ISO8601Format()).", status: .unauthorized)
        }
        if issuer != app.clientId {
            // Federated credential.
            guard let match = app.federated?.first(where: { $0.issuer == issuer && $0.subject == subject }) else {
                return EntraReply.error("invalid_client", code: 70021, message: "No matching federated identity record found for presented assertion. Assertion Issuer: '\(issuer ?? "")'. Assertion Subject: '\(subject ?? "")'.", status: .badRequest)
            }
            let audiences = (claims["aud"] as? [String]) ?? [(claims["aud"] as? String) ?? ""]
            guard audiences.contains("api://AzureADTokenExchange") else {
                return EntraReply.error("invalid_client", code: 700212, message: "No matching federated identity record found for presented assertion audience '\(audiences.joined(separator: ","))'.", status: .badRequest)
            }
            _ = match
            return nil
        }
        guard subject == app.clientId else {
            return EntraReply.error("invalid_client", code: 700021, message: "Client assertion application identifier doesn't match 'client_id' parameter.", status: .unauthorized)
        }
        let audiences = (claims["aud"] as? [String]) ?? [(claims["aud"] as? String) ?? ""]
        guard audiences.contains(where: { audienceMatches($0, audience) || $0.lowercased().hasSuffix("/\(tenantId.lowercased())/oauth2/v2.0/token") }) else {
            return EntraReply.error("invalid_client", code: 700023, message: "Client assertion audience claim does not match Realm issuer. Review the documentation at https://aka.ms/certCredentials .", status: .unauthorized)
        }
        let algorithm = header["alg"] as? String ?? ""
        let thumbprint256 = header["x5t#S256"] as? String, thumbprint1 = header["x5t"] as? String
        for pem in app.certificates ?? [] {
            guard let der = certificateDER(pem) else { continue }
            let matches = thumbprint256 == base64URL(Array(SHA256.hash(data: der))) || thumbprint1 == base64URL(Array(Crypto.Insecure.SHA1.hash(data: der)))
            guard matches, let key = try? JWTKit.Insecure.RSA.PublicKey(certificatePEM: pem) else { continue }
            let keys = JWTKeyCollection()
            switch algorithm {
            case "PS256": await keys.add(pss: key, digestAlgorithm: .sha256)
            case "RS256": await keys.add(rsa: key, digestAlgorithm: .sha256)
            default:
                return EntraReply.error("invalid_client", code: 5002738, message: "Invalid JWT token. '\(algorithm)' is not a supported signature algorithm.", status: .unauthorized)
            }
            do {
                _ = try await keys.verify(assertion, as: Claims.self)
                return nil
            } catch {
                break
            }
        }
        return EntraReply.error("invalid_client", code: 700027, message: "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found.]", status: .unauthorized)
    }

    static func audienceMatches(_ claimed: String, _ expected: String) -> Bool {
        claimed.lowercased() == expected.lowercased()
    }

    static func decode(_ part: Substring) -> [String: Any]? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    static func certificateDER(_ pem: String) -> [UInt8]? {
        guard let start = pem.range(of: "-----BEGIN CERTIFICATE-----"), let end = pem.range(of: "-----END CERTIFICATE-----") else { return nil }
        let body = pem[start.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body)).map(Array.init)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
