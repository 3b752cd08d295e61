import ClavisEmulator
import Foundation
import Testing

/// The emulator's config is strict: a misspelled key or a wrong type is refused with the key path,
/// instead of being ignored (a silently ignored `secert` leaves an app without a secret).
@Suite struct EmulatorConfigTests {
    static let tenant = "8f3c2a64-5d1e-4c8b-9a7f-2b6e1d0c9a35"

    func refusal(_ json: String) -> String? {
        do {
            _ = try EmulatorConfig.parse(Data(json.utf8), file: "emulator.json")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func unknownKeysAndWrongTypesNameTheKeyPath() {
        let misspelled = #"{"tenants":[{"id":"\#(Self.tenant)","apps":[{"clientId":"a"},{"clientId":"b","secert":["x"]}]}]}"#
        #expect(refusal(misspelled) == "emulator.json: unknown key tenants[0].apps[1].secert (misspelled? docs/emulator.md lists every key)")
        let topLevel = #"{"tenants":[],"tokenLifetme":60}"#
        #expect(refusal(topLevel)?.contains("unknown key tokenLifetme") == true)
        let wrongType = #"{"tenants":[{"id":"\#(Self.tenant)","apps":[{"clientId":"a","secrets":"x"}]}]}"#
        #expect(refusal(wrongType) == "emulator.json: tenants[0].apps[0].secrets: expected an array")
        let missing = #"{"tenants":[{"apps":[]}]}"#
        #expect(refusal(missing) == "emulator.json: tenants[0].id: required key missing")
        #expect(refusal("{") == "emulator.json: not valid JSON")
        // Data-valued maps (permissions, vault secrets) and explicit nulls are not unknown keys.
        let fine = #"{"refreshIn":null,"tenants":[{"id":"\#(Self.tenant)","apps":[{"clientId":"a","permissions":{"https://vault.azure.net":["x"]}}]}],"# +
            #""vaults":[{"name":"prod","tenant":"\#(Self.tenant)","secrets":{"any-name":"v"},"access":{"a":["get"]}}]}"#
        #expect(refusal(fine) == nil)
    }

    /// Every key the config sample in docs/emulator.md shows is one the emulator knows.
    @Test func theDocumentedSampleLoads() throws {
        let doc = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/emulator.md").standardizedFileURL, encoding: .utf8)
        let afterHeading = try #require(doc.components(separatedBy: "## Config").dropFirst().first)
        let block = try #require(afterHeading.components(separatedBy: "```json\n").dropFirst().first?.components(separatedBy: "```").first)
        _ = try EmulatorConfig.parse(Data(block.utf8), file: "docs/emulator.md")
    }
}
