@_exported import ClavisCore
@_exported import ClavisLocal

extension SecretResolver {
    /// A resolver for every scheme Clavis ships: `env:`, `credential:`, `dir:`.
    public static var standard: SecretResolver {
        SecretResolver([EnvironmentSource(), CredentialSource(), DirectorySource()])
    }
}
