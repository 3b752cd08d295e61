import ClavisCore
import Foundation

extension ClavisError.Code {
    /// A credential was asked for but is missing a part it needs (a tenant, a client id, the
    /// federated token file): a usage error, not a failure of the service.
    public static let incompleteCredential = ClavisError.Code("incomplete-credential")
}

/// The one place that decides which credential a program uses: built from explicit settings
/// (the CLI's `--tenant`, `--client-id`, `--secret`, `--certificate`, `--managed-identity`,
/// `--workload-identity`, `--authority`, `--v1`, `--additionally-allowed-tenant`) and the
/// environment azure-identity reads (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_AUTHORITY_HOST`,
/// …). The CLI, ``SecretResolver``'s `keyvault:` source and the broker all use it, so a setting
/// means the same everywhere.
///
/// Rules, in order:
/// 1. `managedIdentity` → ``ManagedIdentityCredential`` (with `clientId` as the user-assigned id).
/// 2. `secret` → ``ClientSecretCredential`` reading the secret through the resolver at each request.
/// 3. `certificatePath` → ``ClientCertificateCredential``.
/// 4. `workloadIdentity` → ``WorkloadIdentityCredential`` (token file from `AZURE_FEDERATED_TOKEN_FILE`).
/// 5. Otherwise ``EnvironmentCredential`` (the explicit tenant, client id and authority override
///    the variables), then managed identity: the chain falls through only past an absent
///    credential, never past a configured one that fails.
///
/// In 2–4 a tenant and a client id are required (explicit, else the variables); without them the
/// error is ``ClavisError/Code/incompleteCredential``.
public struct CredentialSelection: Sendable {
    /// The tenant id or domain (else `AZURE_TENANT_ID`).
    public var tenant: String?
    /// The app's client id (else `AZURE_CLIENT_ID`); with `managedIdentity`, the user-assigned identity.
    public var clientId: String?
    /// A reference to the client secret (never the value).
    public var secret: SecretReference?
    /// A PEM file with the app's certificate and private key.
    public var certificatePath: String?
    /// How certificate assertions are signed.
    public var certificateAlgorithm: ClientCertificateCredential.Algorithm = .ps256
    /// Use the host's managed identity.
    public var managedIdentity = false
    /// Use workload identity federation (`AZURE_FEDERATED_TOKEN_FILE`).
    public var workloadIdentity = false
    /// The authority (else `AZURE_AUTHORITY_HOST`, else the public cloud).
    public var authority: Authority?
    /// The token endpoint version.
    public var endpointVersion: EndpointVersion = .v2
    /// Tenants besides `tenant` a request (e.g. a Key Vault challenge) may name; `*` for any.
    public var additionallyAllowedTenants: [String] = []
    /// The environment the variables are read from.
    public var environment: [String: String]
    /// `AZURE_CLIENT_SECRET`'s value, set only by ``EnvironmentCredential`` (a library caller
    /// names a secret by reference, never by value).
    var environmentSecret: Secret?

    /// A selection with nothing explicit: the environment decides (what `SecretResolver.standard` uses).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The credential these settings select. `resolver` reads a `secret` reference; `transport`
    /// carries every request.
    public func credential(resolver: SecretResolver, transport: HTTPTransport = HTTPTransport()) throws -> any TokenCredential {
        let authority = try self.authority ?? environment["AZURE_AUTHORITY_HOST"].flatMap { $0.isEmpty ? nil : $0 }.map(Authority.init) ?? .publicCloud
        if managedIdentity { return ManagedIdentityCredential(clientId: clientId, environment: environment, transport: transport) }
        if let environmentSecret {
            return ClientSecretCredential(tenant: try required(tenant, "a tenant", "--tenant", "AZURE_TENANT_ID"),
                                          clientId: try required(clientId, "a client id", "--client-id", "AZURE_CLIENT_ID"),
                                          reference: "env:AZURE_CLIENT_SECRET", authority: authority, version: endpointVersion, transport: transport,
                                          additionallyAllowedTenants: allowedTenants) { environmentSecret }
        }
        if let secret {
            return ClientSecretCredential(tenant: try required(tenant, "a tenant", "--tenant", "AZURE_TENANT_ID"),
                                          clientId: try required(clientId, "a client id", "--client-id", "AZURE_CLIENT_ID"),
                                          secret: secret, resolver: resolver, authority: authority, version: endpointVersion, transport: transport,
                                          additionallyAllowedTenants: allowedTenants)
        }
        if let certificatePath {
            let pem = try SecretFile.read(certificatePath, reference: certificatePath,
                                          options: .init(what: "certificate file", maximumSize: 1 << 20, followsLinks: true))
            return try ClientCertificateCredential(tenant: try required(tenant, "a tenant", "--tenant", "AZURE_TENANT_ID"),
                                                   clientId: try required(clientId, "a client id", "--client-id", "AZURE_CLIENT_ID"),
                                                   pem: pem, path: certificatePath, algorithm: certificateAlgorithm, authority: authority,
                                                   version: endpointVersion, transport: transport, additionallyAllowedTenants: allowedTenants)
        }
        if workloadIdentity {
            guard let tokenFile = environment["AZURE_FEDERATED_TOKEN_FILE"], !tokenFile.isEmpty else {
                throw ClavisError(.incompleteCredential, reference: "AZURE_FEDERATED_TOKEN_FILE",
                                  reason: "AZURE_FEDERATED_TOKEN_FILE is not set: workload identity reads the federated token from the file it names",
                                  hint: "the workload identity webhook sets it in Kubernetes pods; elsewhere set it yourself")
            }
            return WorkloadIdentityCredential(tenant: try required(tenant, "a tenant", "--tenant", "AZURE_TENANT_ID"),
                                              clientId: try required(clientId, "a client id", "--client-id", "AZURE_CLIENT_ID"),
                                              tokenFile: tokenFile, authority: authority, version: endpointVersion, transport: transport,
                                              additionallyAllowedTenants: allowedTenants)
        }
        var overrides = environment
        if let tenant { overrides["AZURE_TENANT_ID"] = tenant }
        if let clientId { overrides["AZURE_CLIENT_ID"] = clientId }
        if let explicit = self.authority { overrides["AZURE_AUTHORITY_HOST"] = explicit.description }
        return ChainedTokenCredential([
            EnvironmentCredential(environment: overrides, resolver: resolver, transport: transport, additionallyAllowedTenants: additionallyAllowedTenants),
            ManagedIdentityCredential(clientId: clientId, environment: environment, transport: transport),
        ])
    }

    /// The explicit additional tenants and `AZURE_ADDITIONALLY_ALLOWED_TENANTS`.
    var allowedTenants: [String] {
        additionallyAllowedTenants + (environment["AZURE_ADDITIONALLY_ALLOWED_TENANTS"] ?? "")
            .split(whereSeparator: { $0 == ";" || $0 == "," }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func required(_ value: String?, _ what: String, _ option: String, _ variable: String) throws -> String {
        guard let value = value ?? environment[variable], !value.isEmpty else {
            throw ClavisError(.incompleteCredential, reference: variable, reason: "\(what) is required: \(option) or \(variable)")
        }
        return value
    }
}
