@testable import ClavisKeyVault
import ClavisCore
import ClavisIdentity
import Foundation

/// Key Vault's `WWW-Authenticate` challenge parser (anything accepted names exactly the vault's
/// resource) and its reply decoders (secret bundles, deleted secrets).
struct NoCredential: TokenCredential {
    var credentialDescription: String { "no credential (fuzzing)" }
    func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        throw ClavisError(.sourceUnavailable, reason: "fuzzing sends no request")
    }
}

let client = KeyVaultClient(credential: NoCredential())
let location: KeyVaultLocation? = try? KeyVaultLocation("https://contoso.vault.azure.net", reference: "fuzz", allowedHosts: [])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyVault(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if let location {
        _ = try? client.parseChallenge(String(decoding: bytes, as: UTF8.self), location: location, reference: "fuzz")
    }
    if let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] {
        _ = KeyVaultSecretProperties(object)
        _ = KeyVaultDeletedSecret(object)
    }
    return 0
}
