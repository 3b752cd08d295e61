import ClavisIdentity
import Foundation

/// JWT decoding and the local claim checks (expiry, tenant, issuer, audience, roles).
let validator = TokenValidator(authority: .publicCloud, tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47",
                               audiences: ["https://api.security.microsoft.com"], requiredRoles: ["Incident.Read.All"])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWT(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    if let decoded = try? DecodedToken(text) {
        _ = try? validator.checkClaims(decoded, now: Date(timeIntervalSince1970: 1_800_000_000))
    }
    return 0
}
