import ClavisTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The CLI's paths a secret travels, each with a case that failed on the code before.
@Suite struct CLIHardeningTests {
    @Test func theProgramStartsWithNoSignalBlockedOrIgnored() async throws {
        // grep does not reset its signal mask (sh does), so it shows what clavis handed over.
        let result = try await Command.clavis(["run", "--", "grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.contains("SigBlk:\t0000000000000000"), "\(result.output)")
        // Signals 1–31 at their default disposition. (32 and 33 are glibc's own: no program can
        // change them through libc, so an ignore inherited from outside stays.)
        let ignored = result.output.firstMatch(of: /SigIgn:\t([0-9a-f]+)/).flatMap { UInt64($0.1, radix: 16) }
        #expect(ignored.map { $0 & 0x7FFF_FFFF } == 0, "\(result.output)")
    }

    @Test func aProgramThatKeepsItsMaskDiesOfSIGTERM() async throws {
        // sleep keeps the mask it is given: with SIGTERM blocked it would outlive the signal.
        let runner = #""$CLAVIS" run -- sleep 30 & pid=$!; sleep 0.5; kill -TERM $pid; wait $pid; echo "status=$?""#
        let result = try await Command.run("bash", ["-c", runner], environment: ["CLAVIS": Command.clavis], timeout: .seconds(20))
        #expect(result.output.contains("status=143"), "\(result.output) \(result.stderr)")
    }

    @Test func nonUTF8SecretsReachTheProgramByteForByte() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("raw", Data([0xFF, 0xFE, 0x41, 0xC3]))
        let result = try await Command.clavis(["run", "--env", "RAW=dir:\(directory.path)#raw", "--", "printenv", "RAW"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Array(result.stdout) == [0xFF, 0xFE, 0x41, 0xC3, 0x0A])
    }

    @Test func anEnvFileOfPlainValuesNeverShowsThem() async throws {
        let directory = try TemporaryDirectory()
        let value = "Xq8~plainValueThatIsTheSecret.0123"
        try directory.write("defender.env", "AZURE_TENANT_ID=contoso\nAZURE_CLIENT_SECRET=\(value)\n")
        let result = try await Command.clavis(["run", "--env-file", directory.file("defender.env"), "--", "true"])
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
        #expect(result.stderr.contains("defender.env:1"), "\(result.stderr)")
        #expect(!result.stderr.contains(value) && !result.stderr.contains("contoso"), "\(result.stderr)")
        let flag = try await Command.clavis(["run", "--env", "AZURE_CLIENT_SECRET=\(value)", "--", "true"])
        #expect(flag.status != 0)
        #expect(!flag.stderr.contains(value), "\(flag.stderr)")
    }

    @Test func aPrivateKeyGivenAsARecipientIsNeverEchoed() async throws {
        let directory = try TemporaryDirectory()
        let keygen = try await Command.clavis(["keygen", "-o", directory.file("key.txt")])
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let key = try String(contentsOfFile: directory.file("key.txt"), encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("AGE-SECRET-KEY-1") }.map(String.init) ?? ""
        #expect(!key.isEmpty)
        let result = try await Command.clavis(["age", "encrypt", "-r", key], stdin: Data("x".utf8))
        #expect(result.status != 0)
        #expect(result.stderr.contains("private key"), "\(result.stderr)")
        #expect(!result.stderr.contains(String(key.dropFirst(16).prefix(16))), "the key was echoed")
        let initStore = try await Command.clavis(["store", "init", "age:\(directory.file("s.age"))", "--recipient", key])
        #expect(initStore.status != 0)
        #expect(!initStore.stderr.contains(String(key.dropFirst(16).prefix(16))), "the key was echoed")
    }

    @Test func keygenNeverOverwritesAndTheCredentialsExemptionCannotBeEscaped() async throws {
        let directory = try TemporaryDirectory()
        let credentials = directory.file("creds")
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        #expect(try await Command.clavis(["keygen", "-o", directory.file("key.txt")]).status == 0)
        let again = try await Command.clavis(["keygen", "-o", directory.file("key.txt")])
        #expect(again.status != 0 && again.stderr.contains("exists"), "\(again.stderr)")
        // A group-readable key reached as $CREDENTIALS_DIRECTORY/../key.txt is not a systemd credential.
        chmod(directory.file("key.txt"), 0o644)
        let store = "age:\(directory.file("s.age"))"
        let recipient = try await Command.clavis(["keygen", "-y", directory.file("key.txt")])
        _ = try await Command.clavis(["store", "init", store, "--recipient", recipient.output.trimmingCharacters(in: .whitespacesAndNewlines)])
        let result = try await Command.clavis(["secret", "list", store, "--identity", credentials + "/../key.txt"],
                                        environment: ["CREDENTIALS_DIRECTORY": credentials])
        #expect(result.status != 0)
        #expect(result.stderr.contains("accessible by group or others"), "\(result.stderr)")
    }

    @Test func theEmulatorRefusesANonLoopbackHostUnlessAllowed() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("emulator.json", "{}")
        let result = try await Command.clavis(["emulator", "serve", "--config", directory.file("emulator.json"), "--host", "0.0.0.0", "--port", "0"],
                                        timeout: .seconds(20))
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("--allow-remote"), "\(result.stderr)")
    }

    @Test func theCLIIsNotDumpable() async throws {
        let result = try await Command.clavis(["doctor"], environment: ["CLAVIS_KEYRING_TIMEOUT": "1"])
        #expect(result.output.contains("non-dumpable"), "\(result.output)")
    }
}

/// The split executables and a newcomer's first errors.
@Suite struct SplitAndFirstHourTests {
    @Test func clavisEmulatorIsFoundBesideClavisElseAClearError() async throws {
        let directory = try TemporaryDirectory()
        let lonely = try directory.place(Command.clavis, as: "clavis")
        try directory.place(Command.buildDirectory + "/clavis-cli", as: "clavis-cli")
        let result = try await Command.run(lonely, ["emulator", "serve", "--config", "x.json"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(result.status == 69, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: clavis-emulator was not found next to this executable"), "\(result.stderr)")
        let beside = try await Command.clavis(["emulator", "serve", "--help"])
        #expect(beside.status == 0)
        #expect(beside.output.contains("clavis-emulator serve"), "\(beside.output)")
    }

    @Test func theClientLinksNoServerCode() async throws {
        // The emulator's Hummingbird types must not be in `clavis` or `clavis-cli` (they are in clavis-emulator).
        #expect(try await Command.definedSymbols(in: Command.buildDirectory + "/clavis-emulator", matching: "Hummingbird") > 0)
        for binary in [Command.clavis, Command.buildDirectory + "/clavis-cli"] {
            #expect(try await Command.definedSymbols(in: binary, matching: "Hummingbird") == 0, "\(binary) links Hummingbird")
            #expect(try await Command.definedSymbols(in: binary, matching: "ClavisEmulator") == 0, "\(binary) links the emulator")
        }
    }

    @Test func workloadIdentityNamesTheMissingVariable() async throws {
        let result = try await Command.clavis(["token", "--workload-identity", "--tenant", "t", "--client-id", "c"], removing: ["AZURE_FEDERATED_TOKEN_FILE"])
        #expect(result.status == 64)
        #expect(result.stderr.hasPrefix("error: AZURE_FEDERATED_TOKEN_FILE is not set"), "\(result.stderr)")
    }

    @Test func decodeOfflineRefusesToFetchKeys() async throws {
        let result = try await Command.clavis(["token", "decode", "--verify", "--offline"], stdin: Data("x.y.z".utf8))
        #expect(result.status == 64)
        #expect(result.stderr.contains("--offline forbids"), "\(result.stderr)")
    }
}
