import ClavisTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `clavis` (the launcher) answers `--version` and local `secret get` itself and becomes
/// `clavis-cli` for everything else: both must print the same bytes for the same call.
@Suite struct LauncherTests {
    static var fullTool: String { Command.buildDirectory + "/clavis-cli" }

    /// Runs the same call through `clavis` and `clavis-cli` and expects identical results.
    func expectSame(_ arguments: [String], environment: [String: String] = [:], removing: [String] = [],
                    sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandResult {
        let launcher = try await Command.clavis(arguments, environment: environment, removing: removing)
        let full = try await Command.run(Self.fullTool, arguments, environment: environment, removing: removing)
        #expect(launcher.status == full.status, "\(arguments): \(launcher.stderr) | \(full.stderr)", sourceLocation: sourceLocation)
        #expect(launcher.output == full.output, "\(arguments)", sourceLocation: sourceLocation)
        #expect(launcher.stderr == full.stderr, "\(arguments)", sourceLocation: sourceLocation)
        return launcher
    }

    @Test func versionIsTheSame() async throws {
        let result = try await expectSame(["--version"])
        #expect(result.status == 0)
        #expect(result.output.hasSuffix("\n") && result.output.split(separator: "\n").count == 1, "\(result.output)")
    }

    @Test func localReadsAndTheirFailuresAreTheSame() async throws {
        let value = try await expectSame(["secret", "get", "env:CLAVIS_LAUNCHER_T"], environment: ["CLAVIS_LAUNCHER_T": "v a l\u{e9}"])
        #expect(value.status == 0)
        #expect(value.output == "v a l\u{e9}\n")
        // Failures of a local source: one error line, status 1, nothing on stdout.
        let unset = try await expectSame(["secret", "get", "env:CLAVIS_LAUNCHER_UNSET"], removing: ["CLAVIS_LAUNCHER_UNSET"])
        #expect(unset.status == 1)
        #expect(unset.output.isEmpty)
        #expect(unset.stderr.hasPrefix("error: secret not found: env:CLAVIS_LAUNCHER_UNSET"), "\(unset.stderr)")
        let directory = try TemporaryDirectory()
        let missing = try await expectSame(["secret", "get", "dir:\(directory.path)#absent"])
        #expect(missing.status == 1)
        let credential = try await expectSame(["secret", "get", "credential:app-secret"], removing: ["CREDENTIALS_DIRECTORY"])
        #expect(credential.status == 1)
        try directory.write("token", "t0ken\n")
        let present = try await expectSame(["secret", "get", "dir:\(directory.path)#token"])
        #expect(present.output == "t0ken\n")
    }

    @Test func everythingElseGoesToTheFullTool() async throws {
        let environment = ["CLAVIS_LAUNCHER_T": "v"]
        // Other flags, another command, a bad reference, an age: or keyvault: reference, help.
        let json = try await expectSame(["secret", "get", "--json", "env:CLAVIS_LAUNCHER_T"], environment: environment)
        #expect(json.output.contains(#""value""#), "\(json.output)")
        _ = try await expectSame(["secret", "get", "env:1BAD"])
        _ = try await expectSame(["secret", "get", "nonsense"])
        _ = try await expectSame(["secret", "get", "age:/nonexistent/store.age#x"])
        _ = try await expectSame(["secret", "list", "env:CLAVIS_LAUNCHER"], environment: environment)
        let help = try await expectSame(["secret", "get", "--help"])
        #expect(help.output.contains("USAGE"), "\(help.output)")
        // A CA file that cannot be used does not matter to a local read, in either executable;
        // it still fails a keyvault: read before any request.
        let badCA = ["CLAVIS_LAUNCHER_T": "v", "SSL_CERT_FILE": "/nonexistent/ca.pem"]
        let local = try await expectSame(["secret", "get", "env:CLAVIS_LAUNCHER_T"], environment: badCA)
        #expect(local.output == "v\n")
        let vault = try await Command.clavis(["secret", "get", "keyvault:https://vault1.vault.azure.net/secrets/name"], environment: badCA)
        #expect(vault.status == 1)
        #expect(vault.stderr.contains("the CA file /nonexistent/ca.pem (SSL_CERT_FILE) cannot be used"), "\(vault.stderr)")
        // With the log level set, clavis-cli answers: it logs the read (the launcher has no logger).
        let logged = try await Command.clavis(["secret", "get", "env:CLAVIS_LAUNCHER_T"], environment: ["CLAVIS_LAUNCHER_T": "v", "CLAVIS_LOG_LEVEL": "debug"])
        #expect(logged.status == 0 && logged.output == "v\n")
        #expect(logged.stderr.contains("debug clavis") && logged.stderr.contains("resolving secret"), "\(logged.stderr)")
    }

    @Test func aValueThatCannotBeWrittenFailsInBoth() async throws {
        // A full disk: the value did not reach its reader, so the read failed (status 1), in the
        // same words from both executables.
        let script = #"for tool in "$1" "$2"; do "$tool" secret get env:CLAVIS_LAUNCHER_T 2>&1 >/dev/full; echo "status $?"; done"#
        let result = try await Command.run("bash", ["-c", script, "bash", Command.clavis, Self.fullTool], environment: ["CLAVIS_LAUNCHER_T": "v"])
        let expected = "error: could not write the value to stdout: No space left on device\nstatus 1\n"
        #expect(result.output == expected + expected, "\(result.output)")
    }

    @Test func aClosedStdoutTakesNoFileDescriptorsPlace() async throws {
        // With stdout closed, the next file opened would get number 1 and receive the value; the
        // executables open /dev/null there first, so the value goes nowhere, as with >/dev/null.
        let script = #"for tool in "$1" "$2"; do "$tool" secret get env:CLAVIS_LAUNCHER_T 2>&1 >&-; echo "status $?"; done"#
        let result = try await Command.run("bash", ["-c", script, "bash", Command.clavis, Self.fullTool], environment: ["CLAVIS_LAUNCHER_T": "v"])
        #expect(result.output == "status 0\nstatus 0\n", "\(result.output)")
    }

    @Test func argumentsReachTheFullToolByteForByte() async throws {
        // A stand-in clavis-cli that prints the bytes of its arguments: a Latin-1 file name
        // (byte 0xE9), an empty argument and spaces arrive as given.
        let directory = try TemporaryDirectory()
        try directory.place(Command.clavis, as: "clavis")
        // (Written by the shell, not by this process: a file this process has open for writing
        // while another test forks cannot be exec'd, "text file busy".)
        let script = #"""
            printf '#!/bin/sh\nprintf "%%s|" "$@" | od -An -tx1 | tr -d " \\n"\n' > "$2/clavis-cli" && chmod 755 "$2/clavis-cli"
            "$2/clavis" age decrypt $'/tmp/caf\xe9' '' 'a b'
            """#
        let result = try await Command.run("bash", ["-c", script, "bash", "unused", directory.path], environment: ["PATH": "/usr/bin:/bin"])
        let expected = Array("age|decrypt|/tmp/caf".utf8) + [0xE9] + Array("||a b|".utf8)
        #expect(result.output == expected.map { String(format: "%02x", $0) }.joined(), "\(result.output) \(result.stderr)")
    }

    @Test func keyringReadsAndMissesAreTheSame() async throws {
        guard TestSession.hasKeyring else { return }
        let home = try TemporaryDirectory()
        // A lone `clavis` (no clavis-cli beside it or on PATH) reads the keyring itself.
        let lonely = try home.place(Command.clavis, as: "clavis")
        let result = try await TestSession.isolated("""
            printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
            printf 'kr-value' | "$CLAVIS" secret set keyring:launcher/user 2>/dev/null
            for tool in "$CLAVIS" "$FULL"; do
              "$tool" secret get keyring:launcher/user; echo "status $?"
              "$tool" secret get keyring:launcher/absent 2>&1; echo "status $?"
            done
            PATH=/usr/bin:/bin "$LONELY" secret get keyring:launcher/user
            """.replacingOccurrences(of: "$FULL", with: Self.fullTool).replacingOccurrences(of: "$LONELY", with: lonely), home: home)
        let halves = result.output.components(separatedBy: "kr-value\n")
        #expect(halves.count == 4, "\(result.output) \(result.stderr)")
        #expect(halves[1] == halves[2], "\(result.output)")
        #expect(halves[1].contains("error: secret not found: keyring:launcher/absent"), "\(result.output)")
        #expect(halves[1].hasSuffix("status 1\n"), "\(result.output)")
    }

    @Test func aMissingFullToolIsAClearError() async throws {
        let directory = try TemporaryDirectory()
        let lonely = try directory.place(Command.clavis, as: "clavis")
        // The launcher's own answers need no clavis-cli.
        let version = try await Command.run(lonely, ["--version"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(version.status == 0)
        let value = try await Command.run(lonely, ["secret", "get", "env:CLAVIS_LAUNCHER_T"], environment: ["PATH": "/usr/bin:/bin", "CLAVIS_LAUNCHER_T": "v"])
        #expect(value.output == "v\n")
        let other = try await Command.run(lonely, ["token", "--help"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(other.status == 69, "\(other.stderr)")
        #expect(other.stderr.hasPrefix("error: clavis-cli was not found next to this executable (\(directory.path)), in the package's directories or on PATH"), "\(other.stderr)")
        #expect(other.output.isEmpty)
        // A relative PATH entry is not searched: it would run whatever the current directory holds.
        _ = try directory.place(Self.fullTool, as: "relative/clavis-cli")
        let relative = try await Command.run("bash", ["-c", "cd \"$1\" && PATH=relative:/usr/bin:/bin exec \"$2\" token --help", "bash", directory.path, lonely])
        #expect(relative.status == 69, "\(relative.stderr)")
        #expect(relative.output.isEmpty)
    }

    /// The Debian package's layout under `prefix` in `root`: `bin/clavis`, `bin/clavis-emulator`,
    /// `libexec/clavis/clavis-cli`. Returns the paths of `clavis` and `clavis-cli`.
    static func placePackage(under prefix: String, in root: TemporaryDirectory) throws -> (launcher: String, full: String) {
        for (built, place) in [(Command.clavis, "bin/clavis"), (fullTool, "libexec/clavis/clavis-cli"),
                               (Command.buildDirectory + "/clavis-emulator", "bin/clavis-emulator")] {
            try root.place(built, as: prefix + place)
        }
        return (root.file(prefix + "bin/clavis"), root.file(prefix + "libexec/clavis/clavis-cli"))
    }

    @Test func thePackageLayoutIsFound() async throws {
        // The Debian package's layout: /usr/bin/clavis, /usr/libexec/clavis/clavis-cli, /usr/bin/clavis-emulator.
        let root = try TemporaryDirectory()
        let (launcher, _) = try Self.placePackage(under: "", in: root)
        let clean = ["PATH": "/usr/bin:/bin"]
        let help = try await Command.run(launcher, ["token", "--help"], environment: clean)
        #expect(help.status == 0 && help.output.contains("USAGE: clavis token"), "\(help.stderr)")
        let server = try await Command.run(launcher, ["emulator", "serve", "--help"], environment: clean)
        #expect(server.status == 0 && server.output.contains("clavis-emulator serve"), "\(server.stderr)")
    }

    @Test func aPackageDirectoryOthersCanWriteIsNotSearched() async throws {
        // A `clavis` in /tmp/bin must not run a /tmp/libexec/clavis/clavis-cli another user made:
        // the package's other directory counts only when it and its prefix are writable by their
        // owner alone.
        let root = try TemporaryDirectory()
        let (launcher, full) = try Self.placePackage(under: "prefix/", in: root)
        let clean = ["PATH": "/usr/bin:/bin"]
        let trusted = try await Command.run(launcher, ["emulator", "serve", "--help"], environment: clean)
        #expect(trusted.status == 0 && trusted.output.contains("clavis-emulator serve"), "\(trusted.stderr)")

        chmod(root.file("prefix"), 0o777)
        let openPrefix = try await Command.run(launcher, ["token", "--help"], environment: clean)
        #expect(openPrefix.status == 69 && openPrefix.output.isEmpty, "\(openPrefix.stderr)")
        let openPrefixServer = try await Command.run(full, ["emulator", "serve", "--help"], environment: clean)
        #expect(openPrefixServer.status == 69 && openPrefixServer.output.isEmpty, "\(openPrefixServer.stderr)")

        chmod(root.file("prefix"), 0o755)
        chmod(root.file("prefix/bin"), 0o777)
        let openBin = try await Command.run(full, ["emulator", "serve", "--help"], environment: clean)
        #expect(openBin.status == 69 && openBin.output.isEmpty, "\(openBin.stderr)")
        chmod(root.file("prefix/bin"), 0o755)
        chmod(root.file("prefix/libexec/clavis"), 0o777)
        let openLibexec = try await Command.run(launcher, ["token", "--help"], environment: clean)
        #expect(openLibexec.status == 69 && openLibexec.output.isEmpty, "\(openLibexec.stderr)")
    }

    @Test func libsecretIsLoadedOnlyForTheKeyring() async throws {
        // The dynamic loader names every library it loads (LD_DEBUG=files), dlopen'd ones too.
        for binary in [Command.clavis, Self.fullTool] {
            let local = try await Command.run(binary, ["secret", "get", "env:CLAVIS_LAUNCHER_T"], environment: ["CLAVIS_LAUNCHER_T": "v", "LD_DEBUG": "files"])
            #expect(local.status == 0 && local.output == "v\n", "\(binary): \(local.stderr.suffix(300))")
            #expect(!local.stderr.contains("libsecret"), "\(binary) loaded libsecret for an env: read")
            #expect(!local.stderr.contains("libglib"), "\(binary) loaded GLib for an env: read")
        }
        // A keyring: reference loads it (the read itself fails here: the bus named does not exist).
        let keyring = try await Command.run(Command.clavis, ["secret", "get", "keyring:launcher/user"],
                                            environment: ["LD_DEBUG": "files", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"])
        #expect(keyring.status == 1)
        #expect(keyring.stderr.contains("libsecret-1.so.0"), "\(keyring.stderr.suffix(300))")
    }

    @Test func theLauncherLinksNoArgumentParserFoundationOrHTTPClient() async throws {
        #expect(try await Command.definedSymbols(in: Self.fullTool, matching: "ArgumentParser") > 0)
        for pattern in ["ArgumentParser", "FoundationEssentials", "NIOCore", "AsyncHTTPClient", "JWTKit", "ClavisIdentity"] {
            #expect(try await Command.definedSymbols(in: Command.clavis, matching: pattern) == 0, "clavis links \(pattern)")
        }
    }
}
