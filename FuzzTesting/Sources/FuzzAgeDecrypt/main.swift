@testable import ClavisAge
import ClavisCore

/// age header + payload (binary and armored): decrypt with a fixed X25519, scrypt and post-quantum
/// identity. Any outcome but a crash, a hang or a leak is fine; a success must round-trip.
// The keys are separate globals, and the `AgeIdentity` array is made per input: an enum with
// payloads stores its pointers with tag bits set, which LeakSanitizer cannot follow, so a global
// array of them reads as a leak.
let x25519 = try? X25519Identity(parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")  // clavis:allow (the age spec's published example key)
let postQuantum = try? HybridIdentity(parsing: "AGE-SECRET-KEY-PQ-1FXXDNAH3PUN67YVADUCHXJWT62X2CMZ5W7Y907CNE73RFEQFNJ4QUZHL73")  // clavis:allow (a fuzzing-only key, published here)

/// The identities, built per input (see above). A low scrypt work-factor cap keeps each execution
/// fast; hostile factors fail fast by design.
func identities() -> [AgeIdentity] {
    var result: [AgeIdentity] = [.scrypt(ScryptIdentity(passphrase: Secret("fuzz"), maximumWorkFactor: 4))]
    if let x25519 { result.append(.x25519(x25519)) }
    if let postQuantum { result.append(.mlkem768x25519(postQuantum)) }
    return result
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgeDecrypt(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    _ = try? Age.decrypt(bytes, identities: identities())
    _ = try? Age.stanzaTypes(bytes)
    return 0
}

/// Runs before fuzzing: one-time lazy initialisation (libgcrypt's set-up, Swift's metadata and
/// global caches) happens here, so libFuzzer's per-input leak check does not count it as a leak.
@_cdecl("LLVMFuzzerInitialize")
public func initializeAgeDecrypt(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    for sample in [[UInt8](), Array("age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- AAAA\n".utf8)] {
        _ = sample.withUnsafeBytes { fuzzAgeDecrypt($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1).unsafelyUnwrapped, $0.count) }
    }
    return 0
}
