import ClavisCore
import Foundation
import Testing

@Suite struct SecretReferenceTests {
    @Test(arguments: [
        ("env:AZURE_CLIENT_SECRET", "env", "AZURE_CLIENT_SECRET", nil as String?, [] as [String]),
        ("credential:app-secret", "credential", "app-secret", nil, []),
        ("dir:/run/secrets/app#client-secret", "dir", "/run/secrets/app", "client-secret", []),
        ("age:/etc/clavis/store.age#app-secret", "age", "/etc/clavis/store.age", "app-secret", []),
        ("keyring:defender-daemon/app-secret?collection=login", "keyring", "defender-daemon/app-secret", nil, ["collection=login"]),
        ("keyvault:https://v.vault.azure.net/secrets/app/0123", "keyvault", "https://v.vault.azure.net/secrets/app/0123", nil, []),
        ("KEYRING:S/U", "keyring", "S/U", nil, []),
        ("env:", "env", "", nil, []),
    ])
    func parsesEveryScheme(text: String, scheme: String, locator: String, item: String?, query: [String]) throws {
        let reference = try SecretReference(parsing: text)
        #expect(reference.scheme == scheme)
        #expect(reference.locator == locator)
        #expect(reference.item == item)
        #expect(reference.query.map { "\($0.name)=\($0.value)" } == query)
        // Round trip: the string form parses back to an equal reference.
        #expect(try SecretReference(parsing: reference.description) == reference)
        #expect(SecretReference(reference.description) == reference)
    }

    @Test func keyVaultLocatorKeepsQueryAndFragment() async throws {
        let reference = try SecretReference(parsing: "keyvault:https://v.vault.azure.net/secrets/a?x=1#y")
        #expect(reference.locator == "https://v.vault.azure.net/secrets/a?x=1#y")
        #expect(reference.item == nil)
    }

    @Test(arguments: [
        ("no-colon", "starts with a scheme"),
        ("1env:X", "not a valid scheme"),
        (":X", "not a valid scheme"),
        ("e nv:X", "not a valid scheme"),
        ("dir:/x#", "nothing follows '#'"),
        ("env:A\nB", "control character"),
        ("keyring:s/u?=v", "has no name"),
    ])
    func rejectsMalformedReferencesPrecisely(text: String, expected: String) {
        do {
            _ = try SecretReference(parsing: text)
            Issue.record("\(text) parsed")
        } catch let error as ClavisError {
            #expect(error.code == .invalidReference)
            #expect(error.reason.contains(expected), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func partsThatCannotRoundTripAreRefused() {
        #expect(throws: ClavisError.self) { try SecretReference(scheme: "dir", locator: "/a#b", item: "c") }
        #expect(throws: ClavisError.self) { try SecretReference(scheme: "dir", locator: "/a?b", item: "c") }
    }

    @Test func buildsItemReferences() async throws {
        let store = try SecretReference(parsing: "age:/srv/store.age")
        let item = try store.appending(item: "app-secret")
        #expect(item.description == "age:/srv/store.age#app-secret")
        let keyring = try SecretReference(parsing: "keyring:svc/user?collection=login")
        #expect(keyring.queryValue("collection") == "login")
        #expect(keyring.queryValue("missing") == nil)
    }

    @Test func codableAsString() async throws {
        let reference = try SecretReference(parsing: "dir:/run/s#k")
        let data = try JSONEncoder().encode([reference])
        #expect(String(decoding: data, as: UTF8.self) == #"["dir:\/run\/s#k"]"#)
        #expect(try JSONDecoder().decode([SecretReference].self, from: data) == [reference])
        #expect(throws: (any Error).self) { try JSONDecoder().decode([SecretReference].self, from: Data(#"["bad"]"#.utf8)) }
    }
}
