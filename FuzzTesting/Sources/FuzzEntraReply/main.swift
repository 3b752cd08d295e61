@testable import ClavisIdentity
import Foundation

/// The Entra ID token endpoint's replies: error bodies (every status) and success bodies.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEntraReply(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let body = Array(UnsafeRawBufferPointer(start: start, count: count))
    for status in [400, 401, 429, 500] {
        if let error = EntraError(status: status, body: body) {
            _ = error.description
            _ = error.clavisError(reference: "fuzz")
        }
    }
    for status in [200, 400] {
        _ = try? TokenEndpoint.parse(HTTPReply(status: status, headers: [], body: body), reference: "fuzz")
    }
    return 0
}
