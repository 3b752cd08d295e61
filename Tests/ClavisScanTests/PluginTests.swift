import ClavisTestSupport
import Foundation
import Testing

/// `swift package scan-secrets` from a package that depends on Clavis (a real SwiftPM run).
@Suite struct ScanSecretsPluginTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test(.timeLimit(.minutes(10)))
    func worksFromADependentPackage() async throws {
        let fixture = try TemporaryDirectory()
        try fixture.write("Package.swift", """
            // swift-tools-version:6.2
            import PackageDescription
            let package = Package(
                name: "Fixture",
                dependencies: [.package(path: "\(Self.repository)")],
                targets: [.target(name: "Fixture")]
            )
            """)
        let secret = "Abc1Q~" + "abcdefghijklmnopqrstuvwxyz01234567"  // clavis:allow (a fake secret for the fixture)
        try fixture.write("Sources/Fixture/Config.swift", "let appSecret = \"\(secret)\"\n")
        let scan = try await Command.run("swift", ["package", "--package-path", fixture.path, "--scratch-path", fixture.file(".build"), "scan-secrets"],
                                   timeout: .seconds(540))
        #expect(scan.status != 0, "\(scan.stderr)")
        #expect(scan.output.contains("Sources/Fixture/Config.swift:1:18: entra-client-secret (high)"), "\(scan.output)\n\(scan.stderr)")
        #expect(!scan.output.contains(secret) && !scan.stderr.contains(secret))
        try fixture.write("Sources/Fixture/Config.swift", "let appSecret = try await resolver.secret(for: \"keyring:fixture/app-secret\")\n")
        let clean = try await Command.run("swift", ["package", "--package-path", fixture.path, "--scratch-path", fixture.file(".build"), "scan-secrets"],
                                    timeout: .seconds(300))
        #expect(clean.status == 0, "\(clean.output)\n\(clean.stderr)")
        #expect(clean.output.contains("no hardcoded secrets found"))
    }
}
