import ArgumentParser
import Clavis
import ClavisIdentity
import Foundation

/// How a command authenticates to Entra ID: shared by `clavis token` and the API commands.
struct CredentialOptions: ParsableArguments {
    @Option(help: "The tenant id or domain (default: AZURE_TENANT_ID).")
    var tenant: String?
    @Option(help: "The app's client id (default: AZURE_CLIENT_ID).")
    var clientId: String?
    @Option(help: "A reference to the client secret, e.g. keyring:defender-daemon/app-secret (never the value).")
    var secret: String?
    @Option(help: "A PEM file holding the app's certificate and private key.")
    var certificate: String?
    @Flag(help: "Sign certificate assertions with RS256 and a SHA-1 x5t (default PS256 with x5t#S256).")
    var rs256 = false
    @Flag(help: "Use the host's managed identity (IMDS or App Service).")
    var managedIdentity = false
    @Flag(help: "Use workload identity federation (AZURE_FEDERATED_TOKEN_FILE).")
    var workloadIdentity = false
    @Option(help: "The authority: a URL, or public | usgov | china (default: AZURE_AUTHORITY_HOST or public).")
    var authority: String?
    @Flag(help: "Use the v1 token endpoint (resource=) instead of v2 (scope=).")
    var v1 = false
    @Option(help: "Use this identity of the local clavis-broker (docs/broker.md); `clavis run` also starts the program with its IDENTITY_ENDPOINT and IDENTITY_HEADER.")
    var broker: String?

    @Option(name: .customLong("additionally-allowed-tenant"),
            help: "A tenant besides the app's whose Key Vault challenges may be followed (repeatable; * for any; also AZURE_ADDITIONALLY_ALLOWED_TENANTS).")
    var additionallyAllowedTenants: [String] = []

    /// Whether any option that selects a credential was given.
    var isGiven: Bool { tenant != nil || clientId != nil || secret != nil || certificate != nil || managedIdentity || workloadIdentity || broker != nil }

    /// These options as the library's one credential selection.
    func selection() throws -> CredentialSelection {
        var selection = CredentialSelection()
        selection.tenant = tenant
        selection.clientId = clientId
        selection.secret = try secret.map(SecretReference.init(parsing:))
        selection.certificatePath = certificate
        selection.certificateAlgorithm = rs256 ? .rs256 : .ps256
        selection.managedIdentity = managedIdentity
        selection.workloadIdentity = workloadIdentity
        selection.authority = try authority.map(Authority.init)
        selection.endpointVersion = v1 ? .v1 : .v2
        selection.additionallyAllowedTenants = additionallyAllowedTenants
        return selection
    }

    /// The credential these options select; a missing tenant or client id is a usage error (exit 64).
    func credential(resolver: SecretResolver) throws -> any TokenCredential {
        if let broker { return try BrokerCredential(identity: broker) }
        do {
            return try selection().credential(resolver: resolver)
        } catch let error as ClavisError where error.code == .incompleteCredential {
            throw CLIFailure(message: "\(error.reason)\(error.hint.map { " (\($0))" } ?? "")", exitCode: 64)
        }
    }
}

/// `clavis token`: an app-only token, checked locally.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Get an Entra ID app-only token, or decode one.",
        discussion: """
            `clavis token OPTIONS` is `clavis token get OPTIONS`:
              clavis token [get] --tenant T --client-id C (--secret REF | --certificate PEM | --managed-identity | --workload-identity)
                           [--scope S | --resource R] [--authority URL] [--v1] [--require-role R]... [--json]
              clavis token decode [--require-role R]... [--verify [--authority URL] | --offline] < token.jwt
            Every option: clavis token get --help, clavis token decode --help.
            """,
        subcommands: [Get.self, Decode.self],
        defaultSubcommand: Get.self)

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "Print an access token (or --json) for the resource, from a secret reference, certificate, managed or workload identity.",
            discussion: "Without a credential option, AZURE_* variables (and CLAVIS_CLIENT_SECRET_REF) then managed identity are tried.")

        @OptionGroup var credentials: CredentialOptions
        @Option(help: "A v2 scope (default: https://api.security.microsoft.com/.default).")
        var scope: String?
        @Option(help: "A v1 resource (alternative to --scope).")
        var resource: String?
        @Option(help: "A permission the token's roles claim must hold (repeatable); the token is verified locally first.")
        var requireRole: [String] = []
        @Flag(help: "Print {access_token, expires_on, token_type, claims} as JSON.")
        var json = false
        @OptionGroup var options: SourceOptions
        @OptionGroup var expiry: ExpiryOptions

        func run() async throws {
            let context = resource.map { TokenRequestContext(resource: $0) }
                ?? TokenRequestContext(scopes: [scope ?? "https://api.security.microsoft.com/.default"])
            let resolver = try CLIContext.resolver(options)
            let credential = try credentials.credential(resolver: resolver)
            let token = try await credential.getToken(context)
            await expiry.warn(credentials, resolver: resolver)
            guard let jwt = token.token.revealedString() else { throw CLIFailure(message: "the token is not text") }
            let decoded = try DecodedToken(jwt)
            if !requireRole.isEmpty {
                let authority = try credentials.authority.map(Authority.init) ?? Authority.fromEnvironment()
                let validator = TokenValidator(authority: authority, audiences: [context.resource], requiredRoles: requireRole)
                let validated = try await validator.validate(jwt)
                Terminal.note(validated.signatureVerified
                              ? "verified: signature, audience, expiry, roles \(requireRole.joined(separator: ", "))"
                              : "checked: audience, expiry, roles \(requireRole.joined(separator: ", ")) — not the signature: this is a Microsoft Graph token (nonce header), which only Graph can verify")
            }
            if json {
                let summary = ["aud", "tid", "appid", "azp", "roles", "oid", "idtyp", "exp"].reduce(into: [String: DecodedToken.JSONValue]()) {
                    if let value = decoded.claims[$1] { $0[$1] = value }
                }
                try Terminal.printJSON(TokenOutput(access_token: jwt, token_type: "Bearer",
                                                   expires_on: Int(token.expiresOn.timeIntervalSince1970), claims: summary))
            } else {
                try Terminal.printSecret(token.token)
            }
        }

        struct TokenOutput: Encodable {
            var access_token: String
            var token_type: String
            var expires_on: Int
            var claims: [String: DecodedToken.JSONValue]
        }
    }

    struct Decode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decode",
            abstract: "Decode a JWT from stdin and print its header and claims as JSON (locally; never paste tokens into websites).",
            discussion: "Exits non-zero if the token is expired or lacks a --require-role. Add --verify to check the signature against the issuer's keys.")

        @Option(help: "A permission the roles claim must hold (repeatable).")
        var requireRole: [String] = []
        @Flag(help: "Also verify the signature with the tenant's published keys (needs --authority for non-public clouds).")
        var verify = false
        @Option(help: "The authority that issued the token: its keys verify the signature, and v2.0 tokens' iss names it (default: AZURE_AUTHORITY_HOST or public).")
        var authority: String?
        @Flag(help: "Never use the network: refuse --verify (which fetches the issuer's keys) instead of reaching out.")
        var offline = false
        @OptionGroup var tls: TLSOptions

        func run() async throws {
            if verify && offline {
                throw CLIFailure(message: "--verify fetches the issuer's signing keys over the network, and --offline forbids that; drop one (claims are checked offline either way)",
                                 exitCode: 64)
            }
            try tls.apply()
            let input = try Terminal.readAll(fd: 0, what: "stdin").trimmingOneTrailingNewline()
            guard let text = input.revealedString()?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
                throw CLIFailure(message: "pipe a token on stdin: … | clavis token decode", exitCode: 64)
            }
            let decoded = try DecodedToken(text)
            try Terminal.printJSON(["header": decoded.header, "claims": decoded.claims])
            let validator = TokenValidator(authority: try authority.map(Authority.init) ?? Authority.fromEnvironment(), requiredRoles: requireRole)
            if verify {
                let issuer = try authority.map(Authority.init) ?? Authority.fromEnvironment()
                Terminal.note("verifying the signature with the keys published by \(issuer) (fetched over the network; --authority names another issuer)")
                let validated = try await validator.validate(text)
                if !validated.signatureVerified {
                    Terminal.note("claims checked; the signature was not: this is a Microsoft Graph token (nonce header), which only Graph can verify")
                }
            } else {
                try validator.checkClaims(decoded)
            }
        }
    }
}

/// `clavis consent-url`: the admin-consent links for an app.
struct ConsentURLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consent-url",
        abstract: "Print the admin-consent links (v1 form and v2 /adminconsent) for an app's application permissions.")

    @Option(help: "The app's client id.") var clientId: String
    @Option(help: "The tenant (default: common).") var tenant = "common"
    @Option(help: "The authority.") var authority: String?
    @Option(help: "Where to return after consent.") var redirectUri = "https://localhost"

    func run() async throws {
        let base = (try authority.map(Authority.init) ?? Authority.fromEnvironment()).description
        let redirect = HTTPTransport.percentEncode(redirectUri)
        Terminal.printLine("\(base)/\(tenant)/oauth2/authorize?prompt=consent&client_id=\(clientId)&response_type=code&sso_reload=true")
        Terminal.printLine("\(base)/\(tenant)/v2.0/adminconsent?client_id=\(clientId)&redirect_uri=\(redirect)")
        Terminal.note("Open either link as a Global or Privileged Role Administrator and accept the application permissions.")
    }
}
