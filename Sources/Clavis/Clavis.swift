@_exported import ClavisAge
@_exported import ClavisCore
@_exported import ClavisIdentity
@_exported import ClavisKeyVault
@_exported import ClavisKeyring
@_exported import ClavisLocal

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
    /// - Parameter additionallyAllowedTenants: tenants besides `AZURE_TENANT_ID` whose Key Vault
    ///   challenges may be followed (`*`: any); see `EnvironmentCredential` (ClavisIdentity).
    public static func standard(interactive: Bool, ageUnlock: AgeUnlock = AgeUnlock(), additionallyAllowedTenants: [String] = []) -> SecretResolver {
        SecretResolver(standardSources(interactive: interactive, ageUnlock: ageUnlock, additionallyAllowedTenants: additionallyAllowedTenants))
    }

    /// Every source of `standard`, e.g. for diagnosis.
    public static func standardSources(interactive: Bool = false, ageUnlock: AgeUnlock = AgeUnlock(),
                                       additionallyAllowedTenants: [String] = []) -> [any SecretSource] {
        let local: [any SecretSource] = [
            EnvironmentSource(),
            CredentialSource(),
            DirectorySource(),
            AgeSource(unlock: ageUnlock),
            KeyringSource(interactive: interactive),
        ]
        // Key Vault is reached as azure-identity would: AZURE_* variables (the secret may itself be a
        // reference to a local source, CLAVIS_CLIENT_SECRET_REF), then managed identity.
        let vaultCredential = CachingTokenCredential(ChainedTokenCredential([
            EnvironmentCredential(resolver: SecretResolver(local), additionallyAllowedTenants: additionallyAllowedTenants), ManagedIdentityCredential(),
        ]))
        return local + [KeyVaultSource(credential: vaultCredential)]
    }
}
