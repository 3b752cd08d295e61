import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import Testing

/// Entra ID as it behaves (entra-docs access-tokens.md, v2-oauth2-client-creds-grant-flow.md,
/// reference-error-codes; azure-identity `imds.py`), in the emulator and in Clavis's client.
@Suite(.serialized) struct EntraBehaviourTests {
    static func raw(_ emulator: RunningEmulator, _ path: String, form: [(String, String)], headers: [(String, String)] = []) async throws -> HTTPReply {
        try await HTTPTransport(retry: .noRetries).send(.POST, "\(emulator.baseURL)\(path)", headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                                                        body: HTTPTransport.formBody(form))
    }

    static func claims(_ reply: HTTPReply) throws -> DecodedToken {
        try DecodedToken(try #require(reply.jsonObject?["access_token"] as? String, "\(String(decoding: reply.body, as: UTF8.self))"))
    }

    /// The consent link `clavis consent-url --authority EMULATOR` prints is a page (not a 404);
    /// Cancel returns to the redirect URI with AADSTS65004, Accept with `admin_consent=True`, and
    /// the app's next token carries its roles (entra-docs v2-admin-consent.md).
    @Test func theConsentLinkWorks() async throws {
        let emulator = try await Emulator.start(F.config(certificatePEM: ""))
        defer { Task { await emulator.stop() } }
        let links = try await Command.clavis(["consent-url", "--client-id", F.unconsentedApp, "--tenant", F.tenant, "--authority", emulator.baseURL,
                                              "--redirect-uri", "http://127.0.0.1:9/done"])
        let v2 = try #require(links.output.split(separator: "\n").last.map(String.init)) + "&state=s-42"
        let transport = HTTPTransport(retry: .noRetries)
        let page = try await transport.send(.GET, v2)
        #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains("Incident.Read.All"))
        // The form's POST answers with a redirect, which Clavis's transport never follows: curl shows it.
        func post(_ decision: String) async throws -> String {
            try await Command.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--data", "decision=\(decision)", v2]).output
        }
        let cancel = try await post("cancel")
        #expect(cancel.hasPrefix("302 http://127.0.0.1:9/done?error=access_denied&error_description=AADSTS65004"), "\(cancel)")
        func roles() async throws -> [String] {
            let token = try await secretCredential(try Authority(emulator.baseURL), transport, clientId: F.unconsentedApp).getToken(F.context)
            return try DecodedToken(try #require(token.token.revealedString())).roles
        }
        #expect(try await roles().isEmpty)
        #expect(try await post("accept") == "302 http://127.0.0.1:9/done?admin_consent=True&tenant=\(F.tenant)&state=s-42")
        #expect(try await roles() == F.roles)
        let v1 = try #require(links.output.split(separator: "\n").first.map(String.init))
        #expect(try await transport.send(.GET, v1).status == 200)
        await emulator.stop()
    }

    /// App Service's managed-identity reply has App Service's documented shape — {access_token,
    /// expires_on, resource, token_type, client_id}, no `expires_in` (app-service/overview-managed-identity.md);
    /// an identity named by object or resource id the emulator does not have is a 400, never
    /// silently the system-assigned identity (azure-identity imds.py / app_service.py parameters).
    @Test func appServiceReplyShapeAndUnknownIdentities() async throws {
        var config = F.config(certificatePEM: "")
        config.identityHeader = "header-value-for-the-test"
        let emulator = try await Emulator.start(config)
        defer { Task { await emulator.stop() } }
        let transport = HTTPTransport(retry: .noRetries)
        let appService = "\(emulator.baseURL)/msi/token?api-version=2019-08-01&resource=https://vault.azure.net"
        let reply = try await transport.send(.GET, appService, headers: [("X-IDENTITY-HEADER", "header-value-for-the-test")])
        #expect(reply.status == 200)
        let keys = Set((reply.jsonObject ?? [:]).keys)
        #expect(keys == ["access_token", "expires_on", "resource", "token_type", "client_id"], "\(keys)")
        let wrongHeader = try await transport.send(.GET, appService, headers: [("X-IDENTITY-HEADER", "another")])
        #expect(wrongHeader.status == 401 && wrongHeader.jsonObject?["access_token"] == nil)
        let imds = "\(emulator.baseURL)/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"
        for parameter in ["object_id", "msi_res_id"] {
            let unknown = try await transport.send(.GET, imds + "&\(parameter)=11111111-2222-3333-4444-555555555555", headers: [("Metadata", "true")])
            #expect(unknown.status == 400 && unknown.jsonObject?["access_token"] == nil, "\(parameter)")
        }
        #expect(try await transport.send(.GET, imds, headers: [("Metadata", "true")]).status == 200)
        await emulator.stop()
    }

    /// The walkthrough's `securitycenter.onmicrosoft.com/windowsatpservice` scope, the other Defender
    /// identifiers and their application ids: each known, each a v1 token whose `aud` is what was asked.
    @Test func everyDefenderIdentifierIsKnownWithV1Tokens() async throws {
        try await F.withEmulator { emulator, _, _, _, _ in
            let identifiers = ["https://securitycenter.onmicrosoft.com/windowsatpservice", "https://api.securitycenter.microsoft.com",
                               "https://api.security.microsoft.com", "fc780465-2017-40d4-a0c5-307022471b92", "8ee8fdad-f234-4243-8f3b-15c294843740"]
            for resource in identifiers {
                let v2 = try await Self.raw(emulator, "/\(F.tenant)/oauth2/v2.0/token", form: [("grant_type", "client_credentials"), ("client_id", F.secretApp),
                                                                                              ("client_secret", F.secret), ("scope", "\(resource)/.default")])
                #expect(v2.status == 200, "\(resource): \(String(decoding: v2.body, as: UTF8.self))")
                let token = try Self.claims(v2)
                #expect(token.claims["aud"]?.string == resource && token.claims["ver"]?.string == "1.0", "\(resource)")
                #expect(token.claims["appid"]?.string == F.secretApp && token.claims["iss"]?.string == "https://sts.windows.net/\(F.tenant)/")
                let v1 = try await Self.raw(emulator, "/\(F.tenant)/oauth2/token", form: [("grant_type", "client_credentials"), ("client_id", F.secretApp),
                                                                                         ("client_secret", F.secret), ("resource", resource)])
                #expect(try Self.claims(v1).claims["ver"]?.string == "1.0")
            }
            // Roles are found whichever name of the API was used.
            let byId = try await Self.raw(emulator, "/\(F.tenant)/oauth2/v2.0/token", form: [("grant_type", "client_credentials"), ("client_id", F.secretApp),
                                                                                          ("client_secret", F.secret), ("scope", "8ee8fdad-f234-4243-8f3b-15c294843740/.default")])
            #expect(try Self.claims(byId).roles == F.roles)
        }
    }

    /// Only a custom resource configured for v2 tokens gets them, and only from the v2 endpoint.
    @Test func v2TokensOnlyForAResourceConfiguredForThem() async throws {
        var config = F.config(certificatePEM: "")
        config.v2Resources = ["api://clavis-custom"]
        config.tenants[0].apps[0].permissions?["api://clavis-custom"] = ["Custom.Read"]
        let emulator = try await Emulator.start(config)
        defer { Task { await emulator.stop() } }
        let form = [("grant_type", "client_credentials"), ("client_id", F.secretApp), ("client_secret", F.secret)]
        let v2 = try Self.claims(try await Self.raw(emulator, "/\(F.tenant)/oauth2/v2.0/token", form: form + [("scope", "api://clavis-custom/.default")]))
        #expect(v2.claims["ver"]?.string == "2.0" && v2.claims["azp"]?.string == F.secretApp && v2.claims["appid"] == nil)
        // A v2 token's aud is the API's client id, not its identifier URI (access-token-claims-reference.md).
        #expect(v2.claims["aud"]?.string.flatMap(UUID.init(uuidString:)) != nil)
        #expect(v2.claims["iss"]?.string == "\(emulator.baseURL)/\(F.tenant)/v2.0" && v2.roles == ["Custom.Read"])
        let v1 = try Self.claims(try await Self.raw(emulator, "/\(F.tenant)/oauth2/token", form: form + [("resource", "api://clavis-custom")]))
        // The version follows the resource, not the endpoint (reference-app-manifest.md, accessTokenAcceptedVersion).
        #expect(v1.claims["ver"]?.string == "2.0" && v1.claims["azp"]?.string == F.secretApp && v1.claims["aud"] == v2.claims["aud"])
        let vault = try Self.claims(try await Self.raw(emulator, "/\(F.tenant)/oauth2/v2.0/token", form: form + [("scope", "https://vault.azure.net/.default")]))
        #expect(vault.claims["ver"]?.string == "1.0")
        await emulator.stop()
    }

    /// Graph tokens carry a `nonce` header; Clavis checks their claims only and says so. A nonce
    /// header on a token for another API is refused.
    @Test func graphTokensHaveANonceAndAreCheckedOnClaims() async throws {
        try await F.withEmulator { _, authority, transport, _, _ in
            let token = try await secretCredential(authority, transport).getToken(TokenRequestContext(resource: "https://graph.microsoft.com"))
            let jwt = try #require(token.token.revealedString())
            let decoded = try DecodedToken(jwt)
            #expect(decoded.hasNonce && decoded.claims["ver"]?.string == "1.0")
            let validated = try await TokenValidator(authority: authority, tenant: F.tenant, audiences: ["https://graph.microsoft.com"], transport: transport).validate(jwt)
            #expect(!validated.signatureVerified)
            let defender = try #require(try await secretCredential(authority, transport).getToken(F.context).token.revealedString())
            #expect(try await TokenValidator(authority: authority, transport: transport).validate(defender).signatureVerified)
            // Splice a nonce header onto a Defender token: refused, not waved through.
            let header = Data(#"{"alg":"RS256","typ":"JWT","nonce":"abc"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            let spliced = header + "." + defender.split(separator: ".").dropFirst().joined(separator: ".")
            await expectClavis(.permissionDenied, containing: "only Microsoft Graph tokens carry") {
                _ = try await TokenValidator(authority: authority, transport: transport).validate(spliced)
            }
        }
    }

    /// A key id the cached keys lack refetches the keys once, not more.
    @Test func anUnknownKidRefetchesTheKeysOnce() async throws {
        try await F.withEmulator { emulator, authority, transport, _, pemPath in
            _ = pemPath
            let validator = TokenValidator(authority: authority, transport: transport)
            let mine = try #require(try await secretCredential(authority, transport).getToken(F.context).token.revealedString())
            _ = try await validator.validate(mine)
            #expect(emulator.state.statistics["jwks"] == 1)
            let other = try await Emulator.start(F.config(certificatePEM: ""))
            let foreign = try await other.state.mintToken(audience: F.defender, tenant: F.tenant, appId: F.secretApp)
            await other.stop()
            await expectClavis(.permissionDenied, containing: "signature") { _ = try await validator.validate(foreign) }
            #expect(emulator.state.statistics["jwks"] == 2)  // refetched once for the unknown kid
            _ = try await validator.validate(mine)
            #expect(emulator.state.statistics["jwks"] == 2)
        }
    }

    /// Faults as Entra sends them: AADSTS50196 is loop detection (not retried, not "unavailable");
    /// 65001 only when injected; several resources in one scope → AADSTS70011; client_secret_basic.
    @Test func entraFaultsAndRequestForms() async throws {
        try await F.withEmulator { emulator, authority, transport, _, _ in
            emulator.state.inject([Fault(target: "token", kind: "loop", count: 1)])
            await expectClavis(.permissionDenied, containing: "AADSTS50196") { _ = try await secretCredential(authority, transport).getToken(F.context) }
            #expect(emulator.state.statistics["token"] == 1)  // not retried
            emulator.state.inject([Fault(target: "token", kind: "consent", count: 1)])
            await expectClavis(.permissionDenied, containing: "AADSTS65001") { _ = try await secretCredential(authority, transport).getToken(F.context) }
            emulator.state.inject([Fault(target: "token", kind: "status", status: 429, retryAfter: 3, count: 1)])
            let throttled = try await Self.raw(emulator, "/\(F.tenant)/oauth2/v2.0/token", form: [("grant_type", "client_credentials")])
            #expect(throttled.status == 429 && throttled.header("Retry-After") == "3")
            #expect((throttled.jsonObject?["error"] as? String) == "temporarily_unavailable")
            let several = try await Self.raw(emulator, "/\(F.tenant)/oauth2/v2.0/token", form: [
                ("grant_type", "client_credentials"), ("client_id", F.secretApp), ("client_secret", F.secret),
                ("scope", "https://graph.microsoft.com/.default https://vault.azure.net/.default")])
            #expect(several.status == 400 && (several.jsonObject?["error_codes"] as? [Int]) == [70011])
            let basic = Data("\(F.secretApp):\(HTTPTransport.percentEncode(F.secret))".utf8).base64EncodedString()
            let viaBasic = try await Self.raw(emulator, "/\(F.tenant)/oauth2/v2.0/token", form: [("grant_type", "client_credentials"), ("scope", "\(F.defender)/.default")],
                                              headers: [("Authorization", "Basic \(basic)")])
            #expect(viaBasic.status == 200, "\(String(decoding: viaBasic.body, as: UTF8.self))")
            let wrongBasic = Data("\(F.secretApp):wrong".utf8).base64EncodedString()
            #expect(try await Self.raw(emulator, "/\(F.tenant)/oauth2/v2.0/token", form: [("grant_type", "client_credentials"), ("scope", "\(F.defender)/.default")],
                                       headers: [("Authorization", "Basic \(wrongBasic)")]).status == 401)
        }
    }

    /// A federated assertion not yet valid (nbf) or without exp is refused.
    @Test func assertionValidityWindowIsChecked() async throws {
        try await F.withEmulator { _, authority, transport, directory, _ in
            func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "") }
            let now = Int(Date().timeIntervalSince1970)
            let claims = #""iss":"https://oidc.example/cluster","sub":"system:serviceaccount:sec:poller","aud":"api://AzureADTokenExchange""#
            for (body, code) in [("{\(claims),\"nbf\":\(now + 3600),\"exp\":\(now + 7200)}", "AADSTS700024"), ("{\(claims)}", "AADSTS50027")] {
                let file = try directory.write("token", "\(b64(#"{"alg":"RS256"}"#)).\(b64(body)).c2ln")
                let credential = WorkloadIdentityCredential(tenant: F.tenant, clientId: F.federatedApp, tokenFile: file, authority: authority, transport: transport)
                await expectClavis(.permissionDenied, containing: code) { _ = try await credential.getToken(F.context) }
            }
        }
    }

    /// Managed identity: the App Service header is compared; IMDS's 404/410/429 are retried, its
    /// 400 passed through; tokens live long and carry refresh_in.
    @Test func managedIdentityAsTheGuidanceSays() async throws {
        var config = F.config(certificatePEM: "")
        config.identityHeader = "the-right-header"
        let emulator = try await Emulator.start(config)
        defer { Task { await emulator.stop() } }
        let transport = HTTPTransport(retry: .noRetries)
        let quick = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .milliseconds(100), maxTotal: .seconds(10))
        let appService = { (header: String) in
            ManagedIdentityCredential(environment: ["IDENTITY_ENDPOINT": "\(emulator.baseURL)/msi/token", "IDENTITY_HEADER": header], transport: transport, imdsRetry: quick)
        }
        await expectClavis(.permissionDenied, containing: "X-IDENTITY-HEADER") { _ = try await appService("wrong").getToken(F.context) }
        let token = try await appService("the-right-header").getToken(F.context)
        #expect(token.expiresOn.timeIntervalSinceNow > 80_000)  // about a day
        #expect(token.refreshOn.timeIntervalSinceNow < 50_000)  // refresh_in: half of it
        let imds = ManagedIdentityCredential(environment: [:], imdsEndpoint: "\(emulator.baseURL)/metadata/identity/oauth2/token", transport: transport,
                                             imdsRetry: quick, goneWindow: .seconds(5))
        _ = try await imds.getToken(F.context)  // probe + request
        emulator.state.reset()
        emulator.state.inject([Fault(target: "imds", kind: "status", status: 404, count: 1), Fault(target: "imds", kind: "status", status: 429, count: 1),
                               Fault(target: "imds", kind: "status", status: 503, count: 1)])
        _ = try await imds.getToken(F.context)
        #expect(emulator.state.statistics["imds"] == 4)
        emulator.state.reset()
        emulator.state.inject([Fault(target: "imds", kind: "status", status: 410, count: 6)])
        _ = try await imds.getToken(F.context)  // 410 kept being retried past maxAttempts, within the window
        #expect(emulator.state.statistics["imds"] == 7)
        emulator.state.reset()
        emulator.state.inject([Fault(target: "imds", kind: "status", status: 400, count: 1)])
        await expectClavis(.credentialUnavailable, containing: "Multiple user assigned identities exist") { _ = try await imds.getToken(F.context) }
        emulator.state.inject([Fault(target: "imds", kind: "status", status: 404)])
        await expectClavis(.sourceUnavailable, containing: "Identity not found") { _ = try await imds.getToken(F.context) }
        emulator.state.reset()
        await emulator.stop()
    }
}
