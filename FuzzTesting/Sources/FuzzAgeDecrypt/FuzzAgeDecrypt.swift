@testable import ClavisAge
import ClavisCore

/// age header + payload (binary and armored): decrypt with a fixed X25519, scrypt and post-quantum
/// identity. Any outcome but a crash, a hang or a leak is fine; a success must round-trip.
let identities: [AgeIdentity] = {
    do {
        return [
            .x25519(try X25519Identity(parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")),  // clavis:allow (the age spec's published example key)
            .mlkem768x25519(try PQIdentity(parsing: "AGE-SECRET-KEY-PQ-1FXXDNAH3PUN67YVADUCHXJWT62X2CMZ5W7Y907CNE73RFEQFNJ4QUZHL73")),  // clavis:allow (a fuzzing-only key, published here)
            // A low work-factor cap keeps each execution fast; hostile factors fail fast by design.
            .scrypt(ScryptIdentity(passphrase: Secret("fuzz"), maximumWorkFactor: 4)),
        ]
    } catch {
        return []
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgeDecrypt(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    _ = try? Age.decrypt(bytes, identities: identities)
    _ = try? Age.stanzaTypes(bytes)
    return 0
}
