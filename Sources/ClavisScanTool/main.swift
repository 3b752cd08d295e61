import ClavisScan
#if canImport(Glibc)
import Glibc
#endif

// `clavis-scan`: the scanner alone, small enough for the SwiftPM plugin to build quickly.
func write(_ descriptor: Int32, _ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let wrote = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        if wrote <= 0 { return }
        bytes = bytes.dropFirst(wrote)
    }
}

let status = ScanCommandLine.run(Array(CommandLine.arguments.dropFirst()), version: "0.1.0",
                                 output: { write(1, $0) }, errors: { write(2, $0) })
exit(status)
