@_exported import ClavisAge
@_exported import ClavisCore
@_exported import ClavisIdentity
@_exported import ClavisKeyVault
@_exported import ClavisKeyring
@_exported import ClavisLocal
import Logging

extension SecretResolver {
    /// A resolver for every scheme Clavis ships — `env:`, `credential:`, `dir:`, `age:`, `keyring:`, `keyvault:` —
    /// that never prompts. Built once per process, on first use (it reads the environment then), so
    /// its token cache and HTTP client serve every call: a loop of `keyvault:` reads asks Entra ID
    /// for one token, not one per read.
    public static let standard: SecretResolver = standard(interactive: false)

    /// A resolver for every scheme Clavis ships.
    ///
    /// - Parameter interactive: whether sources may prompt (e.g. to unlock a locked keyring).
    /// - Parameter ageUnlock: how `age:` stores are unlocked (default: from the environment and
    ///   systemd credentials).
    /// - Parameter credential: how `keyvault:` references authenticate (default: the environment
    ///   azure-identity reads, then managed identity; see `CredentialSelection` in ClavisIdentity). An invalid
    ///   selection (e.g. a malformed authority) makes every `keyvault:` read fail with its error.
    /// - Parameter logger: where the resolver, the keyring, the token cache and the HTTP transport
    ///   log (debug and trace only; never a value). Default: `Logger.current` at each line.
    public static func standard(interactive: Bool, ageUnlock: AgeUnlock = AgeUnlock(),
                                credential: CredentialSelection = CredentialSelection(), logger: Logger? = nil) -> SecretResolver {
        SecretResolver(standardSources(interactive: interactive, ageUnlock: ageUnlock, credential: credential, logger: logger), logger: logger)
    }

    /// Every source of `standard`, e.g. for diagnosis.
    public static func standardSources(interactive: Bool = false, ageUnlock: AgeUnlock = AgeUnlock(),
                                       credential: CredentialSelection = CredentialSelection(), logger: Logger? = nil) -> [any SecretSource] {
        let local: [any SecretSource] = [
            EnvironmentSource(),
            CredentialSource(),
            DirectorySource(),
            AgeSource(unlock: ageUnlock),
            KeyringSource(interactive: interactive, logger: logger),
        ]
        // Key Vault is reached with the selected credential; by default as azure-identity would:
        // AZURE_* variables (the secret may itself be a reference to a local source,
        // CLAVIS_CLIENT_SECRET_REF), then managed identity. Its secret never comes from a vault.
        let selected: any TokenCredential
        do {
            selected = try credential.credential(resolver: SecretResolver(local, logger: logger), transport: HTTPTransport(logger: logger))
        } catch {
            selected = FailingCredential(error: error)
        }
        return local + [KeyVaultSource(credential: CachingTokenCredential(selected, logger: logger), transport: HTTPTransport(logger: logger))]
    }
}

/// A credential that could not be built: every request fails with the reason.
struct FailingCredential: TokenCredential {
    let error: any Error
    var credentialDescription: String { "unusable credential" }
    func getToken(_ context: TokenRequestContext) async throws -> AccessToken { throw error }
}
