import ClavisCore
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// What `TokenValidator.checkClaims` requires of a token's claims.
@Suite struct TokenClaimsTests {
    static func token(_ claims: [String: Any]) throws -> DecodedToken {
        func b64(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let header = try JSONSerialization.data(withJSONObject: ["alg": "RS256", "typ": "JWT"])
        return try DecodedToken("\(b64(header)).\(b64(try JSONSerialization.data(withJSONObject: claims))).c2ln")
    }

    static var v1: [String: Any] { ["aud": F.defender, "exp": Date().timeIntervalSince1970 + 3600, "tid": F.tenant,
                                    "iss": "https://sts.windows.net/\(F.tenant)/", "ver": "1.0"] }

    static func without(_ key: String) -> [String: Any] { var claims = v1; claims[key] = nil; return claims }
    static func with(_ key: String, _ value: Any) -> [String: Any] { var claims = v1; claims[key] = value; return claims }

    @Test func tokensMissingExpTidOrIssAreRefused() throws {
        let validator = TokenValidator(tenant: F.tenant)
        try validator.checkClaims(try Self.token(Self.v1))
        for (claim, text) in [("exp", "no exp"), ("tid", "no tid"), ("iss", "no iss")] {
            let token = try Self.token(Self.without(claim))
            expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: text) { try validator.checkClaims(token) }
            // Also when no tenant is configured.
            expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: text) { try TokenValidator().checkClaims(token) }
        }
    }

    @Test func theIssuerMustBeEntrasForTheTokensTenantAndVersion() throws {
        let other = "0b9d2c71-1111-4222-8333-444455556666"
        let refused: [[String: Any]] = [
            Self.with("iss", "https://sts.windows.net/\(other)/"),  // another tenant's issuer
            Self.with("iss", "https://evil.example/\(F.tenant)/"),
            Self.with("iss", "https://login.microsoftonline.com/\(F.tenant)/v2.0"),  // v2 issuer on a v1 token
            Self.with("ver", "2.0"),  // v1 issuer on a v2 token
            Self.with("iss", "https://login.microsoftonline.com/\(other)/v2.0").merging(["ver": "2.0"]) { $1 },
        ]
        for validator in [TokenValidator(tenant: F.tenant), TokenValidator()] {
            for claims in refused {
                let token = try Self.token(claims)
                expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "issuer") { try validator.checkClaims(token) }
            }
            try validator.checkClaims(try Self.token(Self.with("iss", "https://login.microsoftonline.com/\(F.tenant)/v2.0").merging(["ver": "2.0"]) { $1 }))
        }
        // A custom authority (the emulator) issues v2 tokens as {authority}/{tid}/v2.0.
        let emulated = TokenValidator(authority: try Authority("http://127.0.0.1:8080"), tenant: F.tenant)
        try emulated.checkClaims(try Self.token(Self.with("iss", "http://127.0.0.1:8080/\(F.tenant)/v2.0").merging(["ver": "2.0"]) { $1 }))
        try emulated.checkClaims(try Self.token(Self.v1))
    }
}
