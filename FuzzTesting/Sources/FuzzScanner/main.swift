import ClavisScan

/// The scanner's detectors on arbitrary text: no crash, no hang, and a finding always points
/// inside the text it came from.
let scanner = SecretScanner()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScanner(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    // Lines as the scanner counts them: split on the byte \n (by Character, "\r\n" is one
    // grapheme and no split, which undercounted and reported a correct finding as outside).
    let lines = UnsafeRawBufferPointer(start: start, count: count).reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    for finding in scanner.scan(text: text, path: "fuzz.txt") {
        precondition(finding.line >= 1 && finding.line <= lines, "a finding points outside the text")
    }
    return 0
}
