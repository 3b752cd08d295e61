import AsyncHTTPClient
import Clavis
import ClavisEmulator
import ClavisTestSupport
import ClavisTesting
import Foundation
import Testing

/// The one `SecretSource` contract (ClavisTesting's `SecretSourceConformance`), run against every
/// source Clavis ships, with real parts: files, an age store, the D-Bus keyring, the emulator's vault.
@Suite struct ConformanceTests {
    static func expectConformance(_ fixture: SecretSourceConformance, sourceLocation: SourceLocation = #_sourceLocation) async {
        let problems = await fixture.run()
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    @Test func memory() async throws {
        let source = MemorySource(secrets: ["present": Secret("memory-value")])
        await Self.expectConformance(SecretSourceConformance(
            source: source, seeded: try SecretReference(parsing: "memory:present"), value: Secret("memory-value"),
            missing: try SecretReference(parsing: "memory:absent"), container: try SecretReference(parsing: "memory:"),
            scratch: try SecretReference(parsing: "memory:scratch")))
    }

    @Test func environment() async throws {
        let source = EnvironmentSource(environment: ["CONFORMANCE_PRESENT": "env-value", "OTHER": "x"])
        await Self.expectConformance(SecretSourceConformance(
            source: source, seeded: try SecretReference(parsing: "env:CONFORMANCE_PRESENT"), value: Secret("env-value"),
            missing: try SecretReference(parsing: "env:CONFORMANCE_ABSENT"), container: try SecretReference(parsing: "env:")))
    }

    @Test func directoryAndCredentials() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("present", "file-value\n")
        try directory.write("other", "x")
        chmod(directory.file("present"), 0o600)
        await Self.expectConformance(SecretSourceConformance(
            source: DirectorySource(), seeded: try SecretReference(parsing: "dir:\(directory.path)#present"), value: Secret("file-value"),
            missing: try SecretReference(parsing: "dir:\(directory.path)#absent"), container: try SecretReference(parsing: "dir:\(directory.path)")))
        await Self.expectConformance(SecretSourceConformance(
            source: CredentialSource(directory: directory.path), seeded: try SecretReference(parsing: "credential:present"), value: Secret("file-value"),
            missing: try SecretReference(parsing: "credential:absent"), container: try SecretReference(parsing: "credential:"),
            unusable: (CredentialSource(), try SecretReference(parsing: "credential:present"))))
    }

    @Test func ageStore() async throws {
        let directory = try TemporaryDirectory()
        let identity = try X25519Identity.generate()
        try directory.write("key.txt", (identity.encoded().revealedString() ?? "") + "\n")
        chmod(directory.file("key.txt"), 0o600)
        let path = directory.file("store.age")
        try AgeStore.create(path: path, recipients: [.x25519(identity.recipient)])
        let source = AgeSource(unlock: AgeUnlock(identityFiles: [directory.file("key.txt")], useEnvironment: false))
        try await source.store(Secret("age-value"), for: try SecretReference(parsing: "age:\(path)#present"))
        await Self.expectConformance(SecretSourceConformance(
            source: source, seeded: try SecretReference(parsing: "age:\(path)#present"), value: Secret("age-value"),
            missing: try SecretReference(parsing: "age:\(path)#absent"), container: try SecretReference(parsing: "age:\(path)"),
            scratch: try SecretReference(parsing: "age:\(path)#scratch")))
    }

    /// Needs the D-Bus session and unlocked gnome-keyring that scripts/test provides.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DBUS_SESSION_BUS_ADDRESS"] != nil, "needs a D-Bus session with gnome-keyring (scripts/test)"))
    func keyring() async throws {
        let service = "clavis-conformance-\(UInt32.random(in: 0...UInt32.max))"
        let source = KeyringSource()
        try await source.store(Secret("keyring-value"), for: try SecretReference(parsing: "keyring:\(service)/present"))
        await Self.expectConformance(SecretSourceConformance(
            source: source, seeded: try SecretReference(parsing: "keyring:\(service)/present"), value: Secret("keyring-value"),
            missing: try SecretReference(parsing: "keyring:\(service)/absent"), container: try SecretReference(parsing: "keyring:\(service)"),
            scratch: try SecretReference(parsing: "keyring:\(service)/scratch")))
        try await source.delete(try SecretReference(parsing: "keyring:\(service)/present"))
    }

    @Test func keyVault() async throws {
        let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35", app = "66666666-aaaa-4bbb-8ccc-000000000001"
        let emulator = try await Emulator.start(EmulatorConfig(
            tenants: [.init(id: tenant, apps: [.init(clientId: app, secrets: ["conformance-client-secret-0123456789"])])],  // clavis:allow (emulator test value)
            vaults: [.init(name: "conf", tenant: tenant, secrets: ["present": "vault-value"],
                           access: [app: ["get", "list", "set", "delete", "recover", "purge"]], pendingMilliseconds: 0)]))
        let transport = HTTPTransport(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20), maxDelay: .seconds(1), maxTotal: .seconds(30)))
        let credential = ClientSecretCredential(tenant: tenant, clientId: app, reference: "memory:client", authority: try Authority(emulator.baseURL),
                                                transport: transport) { Secret("conformance-client-secret-0123456789") }  // clavis:allow (emulator test value)
        let source = KeyVaultSource(credential: CachingTokenCredential(credential), transport: transport, allowedHosts: ["127.0.0.1"], environment: [:])
        let vault = try #require(emulator.vaultURL("conf"))
        await Self.expectConformance(SecretSourceConformance(
            source: source, seeded: try SecretReference(parsing: "keyvault:\(vault)/secrets/present"), value: Secret("vault-value"),
            missing: try SecretReference(parsing: "keyvault:\(vault)/secrets/absent"), container: try SecretReference(parsing: "keyvault:\(vault)"),
            scratch: try SecretReference(parsing: "keyvault:\(vault)/secrets/scratch")))
        await emulator.stop()
    }
}

/// A source that breaks every rule: the suite must say so (a conformance suite that cannot fail
/// proves nothing).
struct BrokenSource: SecretSource {
    var schemes: Set<String> { ["broken"] }
    var sourceDescription: String { "broken" }
    var capabilities: SecretSourceCapabilities { .list }
    func secret(for reference: SecretReference) async throws -> Secret {
        if reference.locator == "present" { return Secret("broken-value") }
        throw ClavisError(.serviceError, reference: reference.description, reason: "no such thing; by the way the value is broken-value")
    }
    func listNames(in container: SecretReference) async throws -> [String] { ["zeta", "alpha"] }
}

@Suite struct ConformanceSuiteTests {
    @Test func theSuiteCatchesABrokenSource() async throws {
        let problems = await SecretSourceConformance(
            source: BrokenSource(), seeded: try SecretReference(parsing: "broken:present"), value: Secret("broken-value"),
            missing: try SecretReference(parsing: "broken:absent"), container: try SecretReference(parsing: "broken:")).run()
        #expect(problems.contains { $0.contains("expected not-found") }, "\(problems)")
        #expect(problems.contains { $0.contains("shows a secret value") }, "\(problems)")
        #expect(problems.contains { $0.contains("not sorted") }, "\(problems)")
        #expect(problems.contains { $0.contains("is not listed") }, "\(problems)")
    }
}
