@testable import ClavisAge
import ClavisCore

/// Recipient and identity strings and files, Bech32, the canonical base64 decoder and armor.
/// Properties checked: what decodes re-encodes to the same text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAgeStrings(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    let text = String(decoding: bytes, as: UTF8.self)
    if let recipient = try? AgeRecipient(parsing: text) {
        precondition(recipient.description == text, "a recipient does not round-trip")
    }
    _ = try? AgeIdentity(parsing: text)
    _ = try? AgeIdentity.parseIdentityFile(Secret(bytes: bytes), path: "fuzz")
    _ = try? AgeIdentity.parseRecipientsFile(text, path: "fuzz")
    if let (hrp, data) = Bech32.decode(text) {
        let upper = text.uppercased() == text
        precondition(Bech32.encode(hrp: upper ? hrp.uppercased() : hrp, data: data, uppercase: upper).lowercased() == text.lowercased(),
                     "Bech32 does not round-trip")
    }
    for padded in [false, true] {
        if let decoded = Base64.decode(bytes, padded: padded) {
            precondition(Array(Base64.encode(decoded, padded: padded).utf8) == bytes, "base64 is not canonical")
        }
    }
    _ = try? Armor.decode(bytes)
    return 0
}
