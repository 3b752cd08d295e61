import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Synchronization
import Testing

typealias F = IdentityFixture

func secretCredential(_ authority: Authority, _ transport: HTTPTransport, clientId: String = F.secretApp, tenant: String = F.tenant,
                      version: EndpointVersion = .v2, secret: String = F.secret) -> ClientSecretCredential {
    ClientSecretCredential(tenant: tenant, clientId: clientId, reference: "memory:app-secret", authority: authority, version: version,
                           transport: transport) { Secret(secret) }
}

func expectClavis(_ code: ClavisError.Code, containing text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                  _ body: () async throws -> Void) async {
    await expectFailure(ClavisError.self, where: { $0.code.is(code) }, containing: text, sourceLocation: sourceLocation, body)
}

@Suite(.serialized) struct CredentialTests {
    /// The v2 endpoint, asked for Defender: a v1 token, as Entra issues for Microsoft's APIs (the
    /// format is the resource's, entra-docs access-tokens.md) — `appid`, `ver 1.0`, the sts issuer.
    @Test func clientSecretTokenForDefenderIsV1AndValidatesLocally() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            let token = try await secretCredential(authority, transport).getToken(F.context)
            let jwt = try #require(token.token.revealedString())
            let decoded = try DecodedToken(jwt)
            #expect(decoded.claims["aud"]?.string == F.defender)
            #expect(decoded.claims["tid"]?.string == F.tenant)
            #expect(decoded.claims["appid"]?.string == F.secretApp && decoded.claims["appidacr"]?.string == "1")
            #expect(decoded.claims["azp"] == nil)
            // idtyp is an optional claim Defender's tokens do not carry; idp is the v1 issuer; iat is
            // backdated five minutes, as Entra does (optional-claims-reference.md, MDE token samples).
            #expect(decoded.claims["idtyp"] == nil)
            #expect(decoded.claims["idp"]?.string == "https://sts.windows.net/\(F.tenant)/")
            #expect(decoded.claims["ver"]?.string == "1.0")
            #expect(decoded.claims["iss"]?.string == "https://sts.windows.net/\(F.tenant)/")
            #expect(decoded.roles == F.roles)
            #expect(decoded.header["alg"]?.string == "RS256")
            #expect(token.expiresOn.timeIntervalSinceNow > 3000)
            let validator = TokenValidator(authority: authority, tenant: F.tenant, audiences: [F.defender], requiredRoles: ["Incident.Read.All"], transport: transport)
            _ = try await validator.validate(jwt)
            let strict = TokenValidator(authority: authority, tenant: F.tenant, audiences: [F.defender], requiredRoles: ["Incident.ReadWrite.All"], transport: transport)
            await expectClavis(.permissionDenied, containing: "lacks the application permission(s) Incident.ReadWrite.All") { _ = try await strict.validate(jwt) }
            let wrongAudience = TokenValidator(authority: authority, audiences: ["https://graph.microsoft.com"], transport: transport)
            await expectClavis(.permissionDenied, containing: "not https://graph.microsoft.com") { _ = try await wrongAudience.validate(jwt) }
            // A forged signature fails even with the right claims.
            let parts = jwt.split(separator: ".")
            let forged = "\(parts[0]).\(parts[1]).\(String(parts[2].reversed()))"
            await expectClavis(.permissionDenied, containing: "signature") { _ = try await validator.validate(forged) }
            #expect(emulator.state.statistics["token"] == 1)
        }
    }

    @Test func unsignedAndHMACTokensAreRefused() async throws {
        func token(_ header: String) -> String {
            func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "") }
            return "\(b64(header)).\(b64(#"{"aud":"x","exp":4102444800}"#)).c2ln"
        }
        let validator = TokenValidator()
        for header in [#"{"alg":"none"}"#, #"{"alg":"HS256"}"#] {
            expectFailure(ClavisError.self, where: { $0.code.is(.permissionDenied) }, containing: "refused") {
                try validator.checkClaims(try DecodedToken(token(header)))
            }
        }
    }

    @Test func v1EndpointAndTenantDomain() async throws {
        try await F.withEmulator { _, authority, transport, _, _ in
            let token = try await secretCredential(authority, transport, tenant: F.domain, version: .v1).getToken(F.context)
            let decoded = try DecodedToken(try #require(token.token.revealedString()))
            #expect(decoded.claims["appid"]?.string == F.secretApp)
            #expect(decoded.claims["ver"]?.string == "1.0")
            #expect(decoded.claims["iss"]?.string == "https://sts.windows.net/\(F.tenant)/")
        }
    }

    @Test func entraErrorsAreTypedWithHints() async throws {
        try await F.withEmulator { _, authority, transport, _, _ in
            await expectClavis(.permissionDenied, containing: "AADSTS7000215") { _ = try await secretCredential(authority, transport, secret: "wrong").getToken(F.context) }
            do {
                _ = try await secretCredential(authority, transport, secret: "CANARY-not-the-secret").getToken(F.context)  // clavis:allow (a deliberately wrong test value)
                Issue.record("a wrong secret got a token")
            } catch let error as ClavisError {
                #expect(error.hint?.contains("secret's ID was pasted") == true)
                // One line; Microsoft support's ids travel in the cause, not the message.
                #expect(error.code == .invalidClientSecret && error.shortDescription == "invalid client secret")
                #expect(!error.description.contains("\n") && !error.description.contains("Trace ID"))
                #expect((error.cause as? EntraError)?.supportIds?.hasPrefix("trace ") == true)
                #expect(!error.description.contains("CANARY"))
            }
            // The cause named by the code: an unknown tenant or application, not "permission denied: SECRET-REF".
            await expectFailure(ClavisError.self, where: { $0.code == .unknownTenant && $0.reference == nil }, containing: "unknown tenant: Entra ID") {
                _ = try await secretCredential(authority, transport, tenant: "nope.onmicrosoft.com").getToken(F.context)
            }
            await expectFailure(ClavisError.self, where: { $0.code == .unknownApplication }, containing: "AADSTS700016") {
                _ = try await secretCredential(authority, transport, clientId: "33333333-0000-4000-8000-000000000000").getToken(F.context)
            }
            await expectClavis(.permissionDenied, containing: "AADSTS90002") { _ = try await secretCredential(authority, transport, tenant: "nope.onmicrosoft.com").getToken(F.context) }
            await expectClavis(.permissionDenied, containing: "AADSTS700016") { _ = try await secretCredential(authority, transport, clientId: "33333333-0000-4000-8000-000000000000").getToken(F.context) }
            // Without admin consent Entra still issues a token, without roles; the API answers 403.
            let unconsented = try await secretCredential(authority, transport, clientId: F.unconsentedApp).getToken(F.context)
            #expect(try DecodedToken(try #require(unconsented.token.revealedString())).claims["roles"] == nil)
            await expectClavis(.permissionDenied, containing: "AADSTS500011") {
                _ = try await secretCredential(authority, transport).getToken(TokenRequestContext(resource: "https://unknown.example"))
            }
        }
    }

    @Test func aRotatedSecretIsReReadOnce() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            let reads = Atomic<Int>(0)
            let credential = ClientSecretCredential(tenant: F.tenant, clientId: F.secretApp, reference: "memory:rotating", authority: authority,
                                                    transport: transport) {
                reads.add(1, ordering: .relaxed) == (0, 1) ? Secret("old-secret") : Secret(F.secret)
            }
            _ = try await credential.getToken(F.context)
            #expect(reads.load(ordering: .relaxed) == 2)
            #expect(emulator.state.statistics["token"] == 2)
        }
    }

    @Test(arguments: [ClientCertificateCredential.Algorithm.ps256, .rs256])
    func certificateCredential(algorithm: ClientCertificateCredential.Algorithm) async throws {
        try await F.withEmulator { _, authority, transport, directory, pemPath in
            let pem = Secret(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: pemPath))))
            let credential = try ClientCertificateCredential(tenant: F.tenant, clientId: F.certificateApp, pem: pem, path: pemPath,
                                                             algorithm: algorithm, authority: authority, transport: transport)
            let assertion = try DecodedToken(try await credential.makeAssertion(audience: authority.tokenEndpoint(tenant: F.tenant)))
            #expect(assertion.header["alg"]?.string == algorithm.rawValue)
            #expect(assertion.header[algorithm == .ps256 ? "x5t#S256" : "x5t"]?.string != nil)
            #expect(assertion.claims["iss"]?.string == F.certificateApp && assertion.claims["sub"]?.string == F.certificateApp)
            #expect(assertion.claims["aud"]?.strings == [authority.tokenEndpoint(tenant: F.tenant)])
            #expect(assertion.claims["jti"]?.string != nil)
            let token = try await credential.getToken(F.context)
            #expect(try DecodedToken(try #require(token.token.revealedString())).claims["appidacr"]?.string == "2")
            // A certificate the app does not have is refused with AADSTS700027.
            let (_, otherPath) = try await F.certificate(in: directory, name: "other")
            let other = try ClientCertificateCredential(tenant: F.tenant, clientId: F.certificateApp,
                                                        pem: Secret(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: otherPath)))),
                                                        path: otherPath, authority: authority, transport: transport)
            await expectClavis(.permissionDenied, containing: "AADSTS700027") { _ = try await other.getToken(F.context) }
        }
    }

    @Test func workloadIdentityFederation() async throws {
        try await F.withEmulator { _, authority, transport, directory, _ in
            func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "") }
            let exp = Int(Date().timeIntervalSince1970) + 3600
            let good = "\(b64(#"{"alg":"RS256","typ":"JWT"}"#)).\(b64(#"{"iss":"https://oidc.example/cluster","sub":"system:serviceaccount:sec:poller","aud":"api://AzureADTokenExchange","exp":\#(exp)}"#)).c2ln"
            let file = try directory.write("token", good)
            let credential = WorkloadIdentityCredential(tenant: F.tenant, clientId: F.federatedApp, tokenFile: file, authority: authority, transport: transport)
            let token = try await credential.getToken(F.context)
            #expect(try DecodedToken(try #require(token.token.revealedString())).roles == ["Incident.Read.All"])
            try directory.write("token", good.replacingOccurrences(of: b64("poller"), with: b64("intruder")))
            let bad = "\(b64(#"{"alg":"RS256"}"#)).\(b64(#"{"iss":"https://oidc.example/cluster","sub":"intruder","aud":"api://AzureADTokenExchange","exp":\#(exp)}"#)).c2ln"
            try directory.write("token", bad)
            await expectClavis(.permissionDenied, containing: "AADSTS70021") { _ = try await credential.getToken(F.context) }
            let missing = WorkloadIdentityCredential(tenant: F.tenant, clientId: F.federatedApp, tokenFile: directory.file("none"), authority: authority, transport: transport)
            await expectClavis(.sourceUnavailable) { _ = try await missing.getToken(F.context) }
        }
    }

    /// The probe bounds the connection, not the reply: a live IMDS that takes 1.5 s to answer the
    /// probe (longer than the 1 s probe timeout) is still used (azure-identity imds.py bounds only
    /// `connection_timeout`).
    @Test func aSlowButLiveIMDSIsNotDeclaredAbsent() async throws {
        try await F.withEmulator { emulator, _, transport, _, _ in
            emulator.state.inject([Fault(target: "imds", kind: "delay", delayMilliseconds: 1500, count: 1)])
            let imds = ManagedIdentityCredential(environment: [:], imdsEndpoint: "\(emulator.baseURL)/metadata/identity/oauth2/token", transport: transport)
            let token = try await imds.getToken(F.context)
            #expect(token.expiresOn > Date())
            #expect(emulator.state.statistics["imds"] == 2)  // the delayed probe, then the token request
        }
    }

    @Test func managedIdentityOnIMDSAndAppServiceAndFastFailureOffAzure() async throws {
        try await F.withEmulator { emulator, _, transport, _, _ in
            let imds = ManagedIdentityCredential(environment: [:], imdsEndpoint: "\(emulator.baseURL)/metadata/identity/oauth2/token", transport: transport)
            let token = try await imds.getToken(F.context)
            let decoded = try DecodedToken(try #require(token.token.revealedString()))
            #expect(decoded.claims["appid"]?.string == F.managedIdentity)
            #expect(token.expiresOn.timeIntervalSinceNow > 3000)  // expires_on came as a string
            let appService = ManagedIdentityCredential(clientId: F.managedIdentity,
                                                       environment: ["IDENTITY_ENDPOINT": "\(emulator.baseURL)/msi/token", "IDENTITY_HEADER": "h"],
                                                       transport: transport)
            _ = try await appService.getToken(F.context)
            // Nothing listens on this port: the probe fails fast and is remembered.
            let offAzure = ManagedIdentityCredential(environment: [:], imdsEndpoint: "http://127.0.0.1:9/metadata/identity/oauth2/token",
                                                     probeTimeout: .milliseconds(500), transport: transport)
            let started = ContinuousClock.now
            await expectClavis(.credentialUnavailable, containing: "could not be reached") { _ = try await offAzure.getToken(F.context) }
            let probe = ContinuousClock.now - started
            await expectClavis(.credentialUnavailable, containing: "recently") { _ = try await offAzure.getToken(F.context) }
            let remembered = ContinuousClock.now - started - probe
            print("IMDS probe \(probe), remembered \(remembered)")
            #expect(probe < .seconds(2))
            #expect(remembered < .milliseconds(100))
        }
    }

    @Test func environmentCredentialAndChainReportEveryReason() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            let resolver = SecretResolver([MemorySource(secrets: ["app-secret": Secret(F.secret)])])
            let environment = ["AZURE_TENANT_ID": F.tenant, "AZURE_CLIENT_ID": F.secretApp, "CLAVIS_CLIENT_SECRET_REF": "memory:app-secret",
                               "AZURE_AUTHORITY_HOST": authority.description]
            _ = try await EnvironmentCredential(environment: environment, resolver: resolver, transport: transport).getToken(F.context)
            let unconfigured = EnvironmentCredential(environment: [:], resolver: resolver, transport: transport)
            let offAzure = ManagedIdentityCredential(environment: [:], imdsEndpoint: "http://127.0.0.1:9/x", probeTimeout: .milliseconds(300), transport: transport)
            let chain = ChainedTokenCredential([unconfigured, offAzure, secretCredential(authority, transport)])
            _ = try await chain.getToken(F.context)
            let failing = ChainedTokenCredential([unconfigured, offAzure])
            await expectClavis(.sourceUnavailable, containing: "environment credential: AZURE_TENANT_ID and AZURE_CLIENT_ID must be set") {
                _ = try await failing.getToken(F.context)
            }
            // An authentication failure stops the chain: no silent fallback to another identity.
            let stops = ChainedTokenCredential([secretCredential(authority, transport, secret: "wrong"), secretCredential(authority, transport)])
            await expectClavis(.permissionDenied) { _ = try await stops.getToken(F.context) }
            _ = emulator
        }
    }
}
