import ClavisTestSupport
import Foundation
import Testing

@Suite struct SecretCommandTests {
    @Test func getPrintsAnEnvironmentVariable() async throws {
        let result = try await Command.clavis(["secret", "get", "env:CLAVIS_T"], environment: ["CLAVIS_T": "xyz"])
        #expect(result.status == 0)
        #expect(result.output == "xyz\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func missingVariableIsAnErrorLine() async throws {
        let result = try await Command.clavis(["secret", "get", "env:UNSET_VAR"], removing: ["UNSET_VAR"])
        #expect(result.status != 0)
        #expect(result.output.isEmpty)
        #expect(result.stderr.hasPrefix("error: "))
        #expect(result.stderr.contains("env:UNSET_VAR"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func readsSystemdCredentialsAndRefusesEscapes() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("app", "cred-value\n")
        let ok = try await Command.clavis(["secret", "get", "credential:app"], environment: ["CREDENTIALS_DIRECTORY": directory.path])
        #expect(ok.status == 0)
        #expect(ok.output == "cred-value\n")
        let escape = try await Command.clavis(["secret", "get", "dir:\(directory.path)#../x"])
        #expect(escape.status != 0)
        #expect(escape.stderr.hasPrefix("error: invalid secret reference"))
        let unset = try await Command.clavis(["secret", "get", "credential:app"], removing: ["CREDENTIALS_DIRECTORY"])
        #expect(unset.status != 0)
        #expect(unset.stderr.contains("CREDENTIALS_DIRECTORY is not set"))
    }

    @Test func jsonOutput() async throws {
        let get = try await Command.clavis(["secret", "get", "--json", "env:CLAVIS_J"], environment: ["CLAVIS_J": "v\"q"])
        let object = try JSONSerialization.jsonObject(with: get.stdout) as? [String: String]
        #expect(object == ["reference": "env:CLAVIS_J", "value": "v\"q"])
        let directory = try TemporaryDirectory()
        try directory.write("b", "2")
        try directory.write("a", "1")
        let list = try await Command.clavis(["secret", "list", "--json", "dir:\(directory.path)"])
        #expect(try JSONSerialization.jsonObject(with: list.stdout) as? [String] == ["a", "b"])
        let plain = try await Command.clavis(["secret", "list", "dir:\(directory.path)"])
        #expect(plain.output == "a\nb\n")
    }

    @Test func setRefusesReadOnlySourcesBeforeReadingAnything() async throws {
        let result = try await Command.clavis(["secret", "set", "env:X"], stdin: Data("value\n".utf8))
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: secret source is read-only"))
        #expect(!result.stderr.contains("value"))
    }

    @Test func valuesAreNeverAcceptedAsArguments() async throws {
        let result = try await Command.clavis(["secret", "set", "env:X", "the-value"])
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: "))
    }

    @Test func badReferencesAndUsage() async throws {
        let bad = try await Command.clavis(["secret", "get", "nope"])
        #expect(bad.status != 0)
        #expect(bad.stderr.hasPrefix("error: invalid secret reference: nope"))
        let unknown = try await Command.clavis(["secret", "get", "vault9:x"])
        #expect(unknown.stderr.hasPrefix("error: unknown secret scheme"))
        let usage = try await Command.clavis(["frobnicate"])
        #expect(usage.status != 0)
        #expect(usage.stderr.hasPrefix("error: "))
    }

    @Test func versionAndCompletions() async throws {
        let version = try await Command.clavis(["--version"])
        #expect(version.status == 0)
        #expect(version.output.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil)
        let completion = try await Command.clavis(["--generate-completion-script", "bash"])
        #expect(completion.status == 0)
        #expect(completion.output.contains("secret"))
    }
}

@Suite struct StoreCommandTests {
    @Test func initSetGetListDeleteThroughTheCLI() async throws {
        let directory = try TemporaryDirectory()
        let keygen = try await Command.clavis(["keygen", "-o", directory.file("key.txt")])
        let recipient = String(keygen.stderr.dropFirst("Public key: ".count)).trimmingCharacters(in: .whitespacesAndNewlines)
        let store = "age:\(directory.file("s.age"))"
        let initialize = try await Command.clavis(["store", "init", store, "--recipient", recipient])
        #expect(initialize.status == 0, "\(initialize.stderr)")
        let identity = ["--identity", directory.file("key.txt")]
        #expect(try await Command.clavis(["secret", "set", "\(store)#app"] + identity, stdin: Data("v1\n".utf8)).status == 0)
        #expect(try await Command.clavis(["secret", "get", "\(store)#app"] + identity).output == "v1\n")
        #expect(try await Command.clavis(["secret", "list", store] + identity).output == "app\n")
        let info = try await Command.clavis(["store", "info", store])
        #expect(info.output.contains("protection: recipients (X25519)"))
        #expect(try await Command.clavis(["store", "recipients", "list", store] + identity).output == recipient + "\n")
        try directory.write("new-pw", "new passphrase\n")
        let rekey = try await Command.clavis(["store", "rekey", store, "--new-passphrase-file", directory.file("new-pw"), "--work-factor", "10"] + identity)
        #expect(rekey.status == 0, "\(rekey.stderr)")
        #expect(try await Command.clavis(["store", "info", store]).output.contains("passphrase (scrypt)"))
        let byPassphrase = try await Command.clavis(["secret", "get", "\(store)#app", "--passphrase-file", directory.file("new-pw")])
        #expect(byPassphrase.output == "v1\n", "\(byPassphrase.stderr)")
        let delete = try await Command.clavis(["secret", "delete", "\(store)#app", "--passphrase-file", directory.file("new-pw")])
        #expect(delete.status == 0)
        let missing = try await Command.clavis(["secret", "get", "\(store)#app", "--passphrase-file", directory.file("new-pw")])
        #expect(missing.stderr.hasPrefix("error: secret not found"))
        let exists = try await Command.clavis(["store", "init", store, "--recipient", recipient])
        #expect(exists.stderr.contains("already exists"))
    }
}
