@testable import ClavisIdentity
@testable import ClavisKeyVault
import ClavisCore
import Foundation

/// Key Vault's `WWW-Authenticate` challenge parser (anything accepted names exactly the vault's
/// resource) and its reply decoders (secret bundles, deleted secrets, and the REST error reply that
/// Graph, Defender and Key Vault share: bounded however deep or long).
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
    let reply = ServiceErrorReply(HTTPReply(status: 403, headers: [], body: bytes))
    if (reply.message?.count ?? 0) > 301 || reply.description.utf8.count > 2_000 + reply.code.utf8.count + (reply.innerCode?.utf8.count ?? 0) {
        fatalError("an error reply's message is not bounded")
    }
    return 0
}
