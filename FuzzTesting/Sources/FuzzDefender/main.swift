@testable import ClavisDefender
import ClavisIdentity
import Foundation

/// The Defender and Graph reply decoders: incident pages, hunting results, the 429 reset parser,
/// timestamps (ordering must agree with parsing), and the Defender→Graph filter translation.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDefender(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let data = Data(bytes)
    _ = try? Incident.page(data)
    if let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
        _ = HuntingResult(object)
    }
    _ = Throttling.wait(headers: [("Retry-After", String(decoding: bytes.prefix(16), as: UTF8.self))], body: bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    if let time = Timestamp(text) {
        precondition(!(time < time), "a timestamp is less than itself")
    }
    _ = GraphMapping.graphFilter(text)
    return 0
}
