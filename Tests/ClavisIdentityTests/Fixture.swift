import ClavisCore
import ClavisEmulator
import ClavisIdentity
import ClavisTestSupport
import Foundation

/// A tenant with apps of every kind, served by an in-process emulator on 127.0.0.1.
enum IdentityFixture {
    static let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35"
    static let domain = "contoso.onmicrosoft.com"
    static let secretApp = "11111111-aaaa-4bbb-8ccc-000000000001"
    static let certificateApp = "11111111-aaaa-4bbb-8ccc-000000000002"
    static let unconsentedApp = "11111111-aaaa-4bbb-8ccc-000000000003"
    static let federatedApp = "11111111-aaaa-4bbb-8ccc-000000000004"
    static let managedIdentity = "22222222-aaaa-4bbb-8ccc-000000000001"
    static let secret = "emulated~secret.value_0123456789abcdefXYZ"  // clavis:allow (the emulator's test secret)
    static let defender = "https://api.security.microsoft.com"
    static let roles = ["Incident.Read.All", "AdvancedHunting.Read.All"]

    /// A self-signed certificate and key made with openssl.
    static func certificate(in directory: TemporaryDirectory, name: String = "app") async throws -> (pem: String, path: String) {
        let key = directory.file("\(name).key"), cert = directory.file("\(name).crt")
        let result = try await Command.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                                 "-days", "2", "-subj", "/CN=\(name)"])
        guard result.status == 0 else { throw ClavisError(.serviceError, reason: "openssl failed: \(result.stderr)") }
        let pem = try String(contentsOfFile: cert, encoding: .utf8) + String(contentsOfFile: key, encoding: .utf8)
        let path = try directory.write("\(name).pem", pem)
        return (try String(contentsOfFile: cert, encoding: .utf8), path)
    }

    static func config(certificatePEM: String, tokenLifetime: Int? = nil, refreshIn: Int? = nil) -> EmulatorConfig {
        EmulatorConfig(tenants: [
            .init(id: tenant, domain: domain, apps: [
                .init(clientId: secretApp, name: "defender-daemon", secrets: [secret], permissions: [defender: roles]),
                .init(clientId: certificateApp, name: "cert-daemon", certificates: [certificatePEM], permissions: [defender: roles]),
                .init(clientId: unconsentedApp, name: "new-app", secrets: [secret], permissions: [defender: roles], consented: false),
                .init(clientId: federatedApp, name: "k8s-app", federated: [.init(issuer: "https://oidc.example/cluster", subject: "system:serviceaccount:sec:poller")],
                      permissions: [defender: ["Incident.Read.All"]]),
            ], managedIdentities: [.init(clientId: managedIdentity, systemAssigned: true, permissions: [defender: ["Incident.Read.All"]])]),
        ], tokenLifetime: tokenLifetime, refreshIn: refreshIn)
    }

    /// Runs `body` with a fresh emulator and a transport that does not wait long between retries.
    static func withEmulator<R>(tokenLifetime: Int? = nil, refreshIn: Int? = nil,
                                _ body: (RunningEmulator, Authority, HTTPTransport, TemporaryDirectory, String) async throws -> R) async throws -> R {
        let directory = try TemporaryDirectory()
        let (certificatePEM, pemPath) = try await certificate(in: directory)
        let emulator = try await Emulator.start(config(certificatePEM: certificatePEM, tokenLifetime: tokenLifetime, refreshIn: refreshIn))
        defer { Task { await emulator.stop() } }
        let authority = try Authority(emulator.baseURL)
        // Short backoff, generous deadlines: the suite shares 2 cores with parallel tests.
        let transport = HTTPTransport(retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200), maxTotal: .seconds(60)),
                                      attemptTimeout: .seconds(30))
        let result = try await body(emulator, authority, transport, directory, pemPath)
        await emulator.stop()
        return result
    }

    static let context = TokenRequestContext(resource: defender)
}
