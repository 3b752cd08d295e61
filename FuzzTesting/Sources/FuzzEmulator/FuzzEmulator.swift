@testable import ClavisEmulator
import Foundation

/// The emulator's config parser (an invalid file fails with an error, never a crash).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEmulator(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(UnsafeRawBufferPointer(start: start, count: count))
    _ = try? JSONDecoder().decode(EmulatorConfig.self, from: data)
    return 0
}
