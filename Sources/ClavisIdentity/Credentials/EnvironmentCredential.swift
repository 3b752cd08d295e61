import ClavisCore
import Foundation

/// The credential azure-identity users configure with environment variables:
/// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and one of `AZURE_CLIENT_SECRET`,
/// `CLAVIS_CLIENT_SECRET_REF` (a secret *reference*, e.g. `keyring:defender-daemon/app-secret`),
/// `AZURE_CLIENT_CERTIFICATE_PATH`, `AZURE_FEDERATED_TOKEN_FILE`; `AZURE_AUTHORITY_HOST` picks the cloud;
/// `AZURE_ADDITIONALLY_ALLOWED_TENANTS` (`;`- or `,`-separated, or `*`) adds tenants a request may
/// name besides `AZURE_TENANT_ID`.
///
/// Unconfigured (tenant, client id or every kind of credential unset) it is
/// ``ClavisError/Code/credentialUnavailable`` and a chain moves on. Configured but broken — an
/// invalid `AZURE_AUTHORITY_HOST` or `CLAVIS_CLIENT_SECRET_REF`, an unreadable certificate — its
/// error stops the chain, like any failure of the configured credential.
public struct EnvironmentCredential: TokenCredential {
    let inner: Result<any TokenCredential, ClavisError>?
    let missing: String

    /// Forgets `context`'s token in the configured credential.
    public func invalidate(_ context: TokenRequestContext) async {
        if case let .success(credential)? = inner { await credential.invalidate(context) }
    }

    /// Reads the variables now. `additionallyAllowedTenants` adds to `AZURE_ADDITIONALLY_ALLOWED_TENANTS`.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, resolver: SecretResolver,
                transport: HTTPTransport = HTTPTransport(), additionallyAllowedTenants: [String] = []) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let tenant = value("AZURE_TENANT_ID"), let clientId = value("AZURE_CLIENT_ID") else {
            inner = nil
            missing = "AZURE_TENANT_ID and AZURE_CLIENT_ID must be set"
            return
        }
        missing = "none of AZURE_CLIENT_SECRET, CLAVIS_CLIENT_SECRET_REF, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE is set"
        inner = Self.configured(value, environment: environment, tenant: tenant, clientId: clientId, resolver: resolver, transport: transport,
                                allowed: additionallyAllowedTenants)
    }

    /// The variables as a ``CredentialSelection`` (the one place credentials are built), or `nil`
    /// when no kind of credential is set.
    static func configured(_ value: (String) -> String?, environment: [String: String], tenant: String, clientId: String, resolver: SecretResolver,
                           transport: HTTPTransport, allowed: [String]) -> Result<any TokenCredential, ClavisError>? {
        var selection = CredentialSelection(environment: environment)
        selection.tenant = tenant
        selection.clientId = clientId
        selection.additionallyAllowedTenants = allowed
        do {
            selection.authority = try value("AZURE_AUTHORITY_HOST").map(Authority.init) ?? .publicCloud
            if let reference = value("CLAVIS_CLIENT_SECRET_REF") {
                selection.secret = try SecretReference(parsing: reference)
            } else if let secret = value("AZURE_CLIENT_SECRET") {
                selection.environmentSecret = Secret(secret)
            } else if let path = value("AZURE_CLIENT_CERTIFICATE_PATH") {
                selection.certificatePath = path
            } else if value("AZURE_FEDERATED_TOKEN_FILE") != nil {
                selection.workloadIdentity = true
            } else {
                return nil
            }
            return .success(try selection.credential(resolver: resolver, transport: transport))
        } catch let error as ClavisError {
            return .failure(error)
        } catch {
            return .failure(ClavisError(.invalidValue, reference: "environment", reason: "the environment credential is misconfigured: \(error)"))
        }
    }

    /// What it wraps, or `environment credential`.
    public var credentialDescription: String {
        if case .success(let credential)? = inner { return "environment: \(credential.credentialDescription)" }
        return "environment credential"
    }

    /// The wrapped credential's token, or ``ClavisError/Code/credentialUnavailable`` saying which
    /// variables are missing. Once configured, its failures (network errors included) are its own.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        switch inner {
        case nil: throw ClavisError(.credentialUnavailable, reference: "environment", reason: missing)
        case .failure(let error)?: throw error
        case .success(let credential)?: return try await credential.getToken(context)
        }
    }
}
