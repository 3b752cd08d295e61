import Clavis
import ClavisConfiguration
import ClavisTestSupport
import Configuration
import ConfigurationTesting
import Foundation
import Testing

@Suite struct SecretReferenceProviderTests {
    /// The values swift-configuration's conformance suite expects, plus references it never asks for.
    static func upstreamValues() -> [AbsoluteConfigKey: ConfigValue] {
        let magic: [UInt8] = Array("magic".utf8), magic2: [UInt8] = Array("magic2".utf8)
        func key(_ text: String) -> AbsoluteConfigKey { AbsoluteConfigKey(text.split(separator: ".").map(String.init)) }
        return [
            key("string"): "Hello", key("other.string"): "Other Hello",
            key("int"): 42, key("other.int"): 24,
            key("double"): ConfigValue(.double(3.14), isSecret: false), key("other.double"): ConfigValue(.double(2.72), isSecret: false),
            key("bool"): ConfigValue(.bool(true), isSecret: false), key("other.bool"): ConfigValue(.bool(false), isSecret: false),
            key("bytes"): ConfigValue(.bytes(magic), isSecret: false), key("other.bytes"): ConfigValue(.bytes(magic2), isSecret: false),
            key("stringy.array"): ConfigValue(.stringArray(["Hello", "World"]), isSecret: false),
            key("other.stringy.array"): ConfigValue(.stringArray(["Hello", "Swift"]), isSecret: false),
            key("inty.array"): ConfigValue(.intArray([42, 24]), isSecret: false),
            key("other.inty.array"): ConfigValue(.intArray([16, 32]), isSecret: false),
            key("doubly.array"): ConfigValue(.doubleArray([3.14, 2.72]), isSecret: false),
            key("other.doubly.array"): ConfigValue(.doubleArray([0.9, 1.8]), isSecret: false),
            key("booly.array"): ConfigValue(.boolArray([true, false]), isSecret: false),
            key("other.booly.array"): ConfigValue(.boolArray([false, true, true]), isSecret: false),
            key("byteChunky.array"): ConfigValue(.byteChunkArray([magic, magic2]), isSecret: false),
            key("other.byteChunky.array"): ConfigValue(.byteChunkArray([magic, magic2, magic]), isSecret: false),
            key("app.secret"): "memory:app",
        ]
    }

    @Test func passesSwiftConfigurationsProviderConformanceSuite() async throws {
        let memory = MemorySource(secrets: ["app": Secret("resolved")])
        let provider = try await SecretReferenceProvider(upstream: InMemoryProvider(values: Self.upstreamValues()),
                                                         resolver: SecretResolver([memory]), resolvingAhead: ["app.secret"])
        try await ProviderCompatTest(provider: provider).runTest()
        let reader = ConfigReader(provider: provider)
        #expect(reader.string(forKey: "app.secret") == "resolved")
    }

    @Test func readsASecretFromAnAgeStoreThroughAnEnvironmentVariableAndPrintsItRedacted() async throws {
        let directory = try TemporaryDirectory()
        let identity = try X25519Identity.generate()
        try directory.write("key.txt", identity.encoded().revealedString() ?? "")
        let storePath = directory.file("store.age")
        try AgeStore.create(path: storePath, recipients: [.x25519(identity.recipient)])
        let store = AgeStore(path: storePath, unlock: AgeUnlock(identityFiles: [directory.file("key.txt")], useEnvironment: false))
        try store.store(Secret("defender-app-secret"), named: "app")
        let resolver = SecretResolver.standard(interactive: false, ageUnlock: store.unlock)
        let environment = EnvironmentVariablesProvider(environmentVariables: [
            "DEFENDER_CLIENT_SECRET": "age:\(storePath)#app", "DEFENDER_TENANT": "contoso", "HOMEPAGE": "https://example.com/x",
        ])
        let provider = try await SecretReferenceProvider(upstream: environment, resolver: resolver,
                                                         resolvingAhead: ["defender.client.secret"], refreshInterval: .milliseconds(50))
        let reader = ConfigReader(provider: provider)
        #expect(reader.string(forKey: "defender.client.secret") == "defender-app-secret")
        #expect(reader.string(forKey: "defender.tenant") == "contoso")
        #expect(reader.string(forKey: "homepage") == "https://example.com/x")  // not a scheme Clavis serves: untouched
        let lookup = try provider.value(forKey: AbsoluteConfigKey(["defender", "client", "secret"]), type: .string)
        #expect(lookup.value?.isSecret == true)
        #expect("\(lookup.value.map(String.init(describing:)) ?? "")".contains("<REDACTED>"))
        #expect(!"\(lookup)".contains("defender-app-secret"))

        // Rotation reaches a watcher without a restart.
        let rotated = try await reader.watchString(forKey: "defender.client.secret") { updates in
            var seen: [String] = []
            for try await value in updates {
                seen.append(value ?? "nil")
                if seen.count == 1 { try store.store(Secret("rotated"), named: "app") }
                if value == "rotated" { break }
            }
            return seen
        }
        #expect(rotated.first == "defender-app-secret")
        #expect(rotated.last == "rotated")
        #expect(try await reader.fetchString(forKey: "defender.client.secret") == "rotated")
    }

    @Test func anUnresolvedReferenceFailsSyncReadsClearly() async throws {
        let provider = try await SecretReferenceProvider(
            upstream: InMemoryProvider(values: [AbsoluteConfigKey(["late"]): "memory:x"]),
            resolver: SecretResolver([MemorySource(secrets: ["x": Secret("v")])]))
        do {
            _ = try provider.value(forKey: AbsoluteConfigKey(["late"]), type: .string)
            Issue.record("an unresolved reference was returned")
        } catch let error as ClavisError {
            #expect(error.reason.contains("not resolved ahead"))
        }
        let fetched = try await provider.fetchValue(forKey: AbsoluteConfigKey(["late"]), type: .string)
        #expect(fetched.value?.content == .string("v"))
        #expect(try provider.value(forKey: AbsoluteConfigKey(["late"]), type: .string).value?.content == .string("v"))
    }
}
