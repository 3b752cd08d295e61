import AsyncHTTPClient
import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation
import NIOSSL
import Testing

@Suite(.serialized) struct PeerAndCLITests {
    /// Microsoft's own MSAL for Python, configured exactly as for Azure (default authority host,
    /// no `instance_discovery` setting), acquires a token from the emulator serving under Azure's
    /// names (HTTPS, as MSAL insists; ``PrivateHosts`` keeps every request on loopback), and
    /// `clavis token decode` validates it.
    @Test(.enabled(if: PrivateHosts.available, "binds port 443 and mounts a private /etc/hosts: run as root, as CI does"))
    func msalPythonAcquiresATokenThatClavisValidates() async throws {
        let directory = try TemporaryDirectory()
        let (certificatePEM, _) = try await F.certificate(in: directory)
        let names = AzureHostNames.random(vaults: [])
        let tls = try EmulatorTLS.make(hostNames: names)
        let caPath = try directory.write("ca.pem", tls.caPEM)
        let emulator = try await Emulator.start(F.config(certificatePEM: certificatePEM), tls: tls, hostNames: names)
        defer { Task { await emulator.stop() } }
        let script = """
            import msal, os, sys
            app = msal.ConfidentialClientApplication(os.environ["CLIENT_ID"], authority="https://login.microsoftonline.com/" + os.environ["TENANT"],
                                                     client_credential=os.environ["CLIENT_SECRET"])
            result = app.acquire_token_for_client(scopes=["https://api.security.microsoft.com/.default"])
            if "access_token" not in result:
                sys.stderr.write(repr(result)); sys.exit(3)
            sys.stdout.write(result["access_token"])
            """
        let msal = try await PrivateHosts.run(hostsFile: names.hostsFile, mustResolveToLoopback: [AzureHostNames.login], "python3", ["-c", script], environment: [
            "CLIENT_ID": F.secretApp, "TENANT": F.tenant, "CLIENT_SECRET": F.secret,
            "REQUESTS_CA_BUNDLE": caPath, "CURL_CA_BUNDLE": caPath, "SSL_CERT_FILE": caPath,
        ], timeout: .seconds(120))
        #expect(msal.status == 0, "\(msal.stderr)")
        let decode = try await Command.clavis(["token", "decode", "--require-role", "Incident.Read.All", "--authority", emulator.baseURL], stdin: msal.stdout)
        #expect(decode.status == 0, "\(decode.stderr)")
        #expect(decode.output.contains("\"appid\" : \"\(F.secretApp)\""))  // Defender tokens are v1, even from MSAL's v2 endpoint
        let missingRole = try await Command.clavis(["token", "decode", "--require-role", "Machine.Isolate", "--authority", emulator.baseURL], stdin: msal.stdout)
        #expect(missingRole.status == 1)
        #expect(missingRole.stderr.hasPrefix("error: permission denied: token: the token lacks the application permission(s) Machine.Isolate"))

        // Clavis itself over the same TLS, trusting only the emulator's CA.
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        tlsConfiguration.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(tls.caPEM.utf8), format: .pem)])
        let client = HTTPTransport.makeClient(HTTPClient.Configuration(tlsConfiguration: tlsConfiguration))
        let transport = HTTPTransport(client: client)
        let token = try await secretCredential(try Authority(emulator.baseURL), transport).getToken(F.context)
        _ = try await TokenValidator(authority: try Authority(emulator.baseURL), requiredRoles: ["Incident.Read.All"], transport: transport)
            .validate(try #require(token.token.revealedString()))
        try await client.shutdown()
        await emulator.stop()
    }

    /// The secret appears nowhere: not in output or logs at trace level, not in errors, and the
    /// command line only ever names a reference.
    @Test func theClientSecretNeverLeaks() async throws {
        try await F.withEmulator { emulator, authority, _, directory, _ in
            let arguments = ["token", "--tenant", F.tenant, "--client-id", F.secretApp, "--secret", "env:DEFENDER_SECRET",
                             "--authority", authority.description, "--json"]
            let ok = try await Command.clavis(arguments, environment: ["DEFENDER_SECRET": F.secret, "CLAVIS_LOG_LEVEL": "trace"])
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(!ok.output.contains(F.secret) && !ok.stderr.contains(F.secret))
            #expect(!arguments.joined(separator: " ").contains(F.secret))
            let wrongSecret = "wrong-CANARY-\(UUID().uuidString)"
            let bad = try await Command.clavis(arguments, environment: ["DEFENDER_SECRET": wrongSecret, "CLAVIS_LOG_LEVEL": "trace"])
            #expect(bad.status == 1)
            #expect(bad.stderr.contains("AADSTS7000215"))
            #expect(!bad.output.contains(wrongSecret) && !bad.stderr.contains(wrongSecret))
            _ = (emulator, directory)
        }
    }

    @Test func consentURLs() async throws {
        let result = try await Command.clavis(["consent-url", "--client-id", F.secretApp, "--tenant", F.domain])
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0] == "https://login.microsoftonline.com/\(F.domain)/oauth2/authorize?prompt=consent&client_id=\(F.secretApp)&response_type=code&sso_reload=true")
        #expect(lines[1].hasPrefix("https://login.microsoftonline.com/\(F.domain)/v2.0/adminconsent?client_id=\(F.secretApp)&redirect_uri="))
    }
}
