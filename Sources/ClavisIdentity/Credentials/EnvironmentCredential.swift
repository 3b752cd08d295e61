import ClavisCore
import Foundation

/// The credential azure-identity users configure with environment variables:
/// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and one of `AZURE_CLIENT_SECRET`,
/// `CLAVIS_CLIENT_SECRET_REF` (a secret *reference*, e.g. `keyring:defender-daemon/app-secret`),
/// `AZURE_CLIENT_CERTIFICATE_PATH`, `AZURE_FEDERATED_TOKEN_FILE`; `AZURE_AUTHORITY_HOST` picks the cloud.
public struct EnvironmentCredential: TokenCredential {
    let inner: (any TokenCredential)?
    let missing: String

    /// Reads the variables now.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, resolver: SecretResolver,
                transport: HTTPTransport = HTTPTransport()) {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let tenant = value("AZURE_TENANT_ID"), let clientId = value("AZURE_CLIENT_ID") else {
            inner = nil
            missing = "AZURE_TENANT_ID and AZURE_CLIENT_ID must be set"
            return
        }
        let authority = (try? value("AZURE_AUTHORITY_HOST").map(Authority.init)) ?? .publicCloud
        if let reference = value("CLAVIS_CLIENT_SECRET_REF"), let parsed = try? SecretReference(parsing: reference) {
            inner = ClientSecretCredential(tenant: tenant, clientId: clientId, secret: parsed, resolver: resolver, authority: authority, transport: transport)
        } else if let secret = value("AZURE_CLIENT_SECRET") {
            inner = ClientSecretCredential(tenant: tenant, clientId: clientId, reference: "env:AZURE_CLIENT_SECRET", authority: authority,
                                           transport: transport) { Secret(secret) }
        } else if let path = value("AZURE_CLIENT_CERTIFICATE_PATH"), let pem = FileManager.default.contents(atPath: path) {
            inner = try? ClientCertificateCredential(tenant: tenant, clientId: clientId, pem: Secret(bytes: Array(pem)), path: path,
                                                     authority: authority, transport: transport)
        } else if let file = value("AZURE_FEDERATED_TOKEN_FILE") {
            inner = WorkloadIdentityCredential(tenant: tenant, clientId: clientId, tokenFile: file, authority: authority, transport: transport)
        } else {
            inner = nil
        }
        missing = "none of AZURE_CLIENT_SECRET, CLAVIS_CLIENT_SECRET_REF, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE is set (or readable)"
    }

    /// What it wraps, or `environment credential (unconfigured)`.
    public var credentialDescription: String { inner.map { "environment: \($0.credentialDescription)" } ?? "environment credential" }

    /// The wrapped credential's token, or `sourceUnavailable` saying which variables are missing.
    public func getToken(_ context: TokenRequestContext) async throws -> AccessToken {
        guard let inner else { throw ClavisError(.sourceUnavailable, reference: "environment", reason: missing) }
        return try await inner.getToken(context)
    }
}
