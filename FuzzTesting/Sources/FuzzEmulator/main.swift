@testable import ClavisEmulator
import Foundation

/// The emulator's parsers: its config file (an invalid file fails with an error, never a crash) and
/// the OData `$filter` of the Defender and Graph incident routes (what parses, evaluates).
func sample() -> [String: Any] { ["status": "Active", "assignedTo": "soc@contoso.com", "lastUpdateTime": "2026-11-20T08:15:02.4410000Z",
                             "createdTime": "2026-11-19T08:15:02Z", "lastUpdateDateTime": "2026-11-20T08:15:02.441Z",
                             "createdDateTime": "2026-11-19T08:15:02Z", "severity": "high", "classification": "truePositive",
                             "determination": "malware"] }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEmulator(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(UnsafeRawBufferPointer(start: start, count: count))
    _ = try? JSONDecoder().decode(EmulatorConfig.self, from: data)
    let text = String(decoding: data, as: UTF8.self)
    for fields in [ODataFilter.defenderFields, ODataFilter.graphFields] {
        if let filter = ODataFilter(text, fields: fields) { _ = filter.matches(sample()) }
    }
    return 0
}
