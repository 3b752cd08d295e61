import ClavisCore
import ClavisLocal
import Foundation
import Testing
import ClavisTestSupport

func expectError(_ code: ClavisError.Code, containing text: String? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Secret) async {
    await expectFailure(ClavisError.self, where: { $0.code.is(code) }, containing: text, sourceLocation: sourceLocation) { _ = try await body() }
}

@Suite struct EnvironmentSourceTests {
    let source = EnvironmentSource(environment: ["APP_SECRET": "xyz", "EMPTY": "", "APP_OTHER": "1"])

    @Test func readsSetVariables() async throws {
        #expect(try await source.secret(for: SecretReference(parsing: "env:APP_SECRET")).revealedString() == "xyz")
    }

    @Test func missingAndEmptyAreNotFound() async {
        await expectError(.notFound, containing: "UNSET is not set") { try await source.secret(for: SecretReference(parsing: "env:UNSET")) }
        await expectError(.notFound, containing: "set but empty") { try await source.secret(for: SecretReference(parsing: "env:EMPTY")) }
    }

    @Test func badNamesAreInvalid() async {
        for text in ["env:1X", "env:A-B", "env:A#b", "env:A?x=1", "env:"] {
            await expectError(.invalidReference) { try await source.secret(for: SecretReference(parsing: text)) }
        }
    }

    @Test func listsNamesByPrefix() async throws {
        #expect(try await source.listNames(in: SecretReference(parsing: "env:APP_")) == ["APP_OTHER", "APP_SECRET"])
    }

    @Test func readsTheLiveProcessEnvironment() async throws {
        setenv("CLAVIS_LIVE_TEST", "live", 1)
        defer { unsetenv("CLAVIS_LIVE_TEST") }
        #expect(try await EnvironmentSource().secret(for: SecretReference(parsing: "env:CLAVIS_LIVE_TEST")).revealedString() == "live")
        #expect(try await EnvironmentSource().listNames(in: SecretReference(parsing: "env:CLAVIS_LIVE")) == ["CLAVIS_LIVE_TEST"])
    }
}

@Suite struct CredentialSourceTests {
    @Test func readsCredentialFilesWithoutOneTrailingNewline() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("app", "s3cret\n")
        try directory.write("two-lines", "a\nb\n\n")
        let source = CredentialSource(directory: directory.path)
        #expect(try await source.secret(for: SecretReference(parsing: "credential:app")).revealedString() == "s3cret")
        #expect(try await source.secret(for: SecretReference(parsing: "credential:two-lines")).revealedString() == "a\nb\n")
        #expect(try await source.listNames(in: SecretReference(parsing: "credential:")) == ["app", "two-lines"])
        await expectError(.notFound) { try await source.secret(for: SecretReference(parsing: "credential:missing")) }
    }

    @Test func refusesNamesThatLeaveTheDirectory() async throws {
        let directory = try TemporaryDirectory()
        let source = CredentialSource(directory: directory.path)
        for text in ["credential:../etc/passwd", "credential:a/b", "credential:..", "credential:x#y"] {
            await expectError(.invalidReference) { try await source.secret(for: SecretReference(parsing: text)) }
        }
    }

    @Test func saysWhatToDoWhenSystemdPassedNothing() async {
        unsetenv("CREDENTIALS_DIRECTORY")
        await expectError(.sourceUnavailable, containing: "LoadCredential=app") {
            try await CredentialSource().secret(for: SecretReference(parsing: "credential:app"))
        }
    }
}

@Suite struct DirectorySourceTests {
    @Test func readsFilesAndNestedFiles() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("token", "t\n")
        try directory.write("nested/key", "k")
        let source = DirectorySource()
        #expect(try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)#token")).revealedString() == "t")
        #expect(try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)#nested/key")).revealedString() == "k")
    }

    @Test func followsKubernetesStyleSymlinksInsideTheDirectory() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("..2026_11_25/client-secret", "from-k8s")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/..data", withDestinationPath: "..2026_11_25")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/client-secret", withDestinationPath: "..data/client-secret")
        let source = DirectorySource()
        #expect(try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)#client-secret")).revealedString() == "from-k8s")
        #expect(try await source.listNames(in: SecretReference(parsing: "dir:\(directory.path)")) == ["client-secret"])
    }

    @Test func refusesEscapes() async throws {
        let directory = try TemporaryDirectory()
        let outside = try TemporaryDirectory()
        try outside.write("x", "outside")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/link", withDestinationPath: outside.path + "/x")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/sub", withDestinationPath: outside.path)
        let source = DirectorySource()
        await expectError(.invalidReference) { try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)#../x")) }
        await expectError(.invalidReference) { try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)#a/../../x")) }
        await expectError(.permissionDenied, containing: "outside") {
            try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)#link"))
        }
        await expectError(.permissionDenied) { try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)#sub/x")) }
        #expect(try await source.listNames(in: SecretReference(parsing: "dir:\(directory.path)")) == [])
    }

    @Test func preciseErrorsForBadReferencesAndFiles() async throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path + "/adir", withIntermediateDirectories: true)
        let source = DirectorySource()
        await expectError(.invalidReference, containing: "after '#'") { try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)")) }
        await expectError(.invalidReference, containing: "absolute") { try await source.secret(for: SecretReference(parsing: "dir:relative#x")) }
        await expectError(.invalidValue, containing: "is a directory, not a regular file") { try await source.secret(for: SecretReference(parsing: "dir:\(directory.path)#adir")) }
        await expectError(.notFound) { try await source.secret(for: SecretReference(parsing: "dir:/nonexistent-clavis#x")) }
    }

    @Test func refusesOversizedFiles() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("big", String(repeating: "a", count: (1 << 20) + 1))
        await expectError(.invalidValue, containing: "the limit is") {
            try await DirectorySource().secret(for: SecretReference(parsing: "dir:\(directory.path)#big"))
        }
    }
}
