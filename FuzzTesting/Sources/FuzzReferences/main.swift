import ClavisCore

/// `SecretReference` parsing (a parsed reference prints as text that parses back equal) and env
/// files (errors never repeat a value).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReferences(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    if let reference = try? SecretReference(parsing: text) {
        precondition((try? SecretReference(parsing: reference.description)) == reference, "a reference does not round-trip")
    }
    _ = try? SecretEnvironment.parseEnvFile(text, path: "fuzz.env")
    _ = try? SecretEnvironment.parseBinding(text)
    return 0
}
