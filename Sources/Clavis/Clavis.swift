@_exported import ClavisAge
@_exported import ClavisCore
@_exported import ClavisKeyring
@_exported import ClavisLocal

extension SecretResolver {
    /// A resolver for every scheme Clavis ships — `env:`, `credential:`, `dir:`, `keyring:` —
    /// that never prompts.
    public static var standard: SecretResolver { standard(interactive: false) }

    /// A resolver for every scheme Clavis ships.
    ///
    /// - Parameter interactive: whether sources may prompt (e.g. to unlock a locked keyring).
    public static func standard(interactive: Bool) -> SecretResolver {
        SecretResolver([
            EnvironmentSource(),
            CredentialSource(),
            DirectorySource(),
            KeyringSource(interactive: interactive),
        ])
    }

    /// Every source of `standard`, for diagnosis.
    public static var standardSources: [any SecretSource] {
        [EnvironmentSource(), CredentialSource(), DirectorySource(), KeyringSource()]
    }
}
