import ArgumentParser
import Clavis
import Foundation

/// `clavis demo`: the README's main job, runnable on a fresh machine with no tenant.
///
/// Today it walks a secret reference end to end through a chain of sources, the way a daemon
/// would receive its app secret from systemd. Later issues extend it to the full Defender
/// walkthrough against the emulator.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Walk a secret reference end to end, offline, printing each step.")

    func run() async throws {
        let step = Steps()
        let credentials = FileManager.default.temporaryDirectory.appendingPathComponent("clavis-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: credentials) }

        step("Provision: systemd would pass the daemon its app secret with LoadCredential=app-secret:…")
        let generated = Secret(UUID().uuidString + UUID().uuidString)
        let file = credentials.appendingPathComponent("app-secret")
        try generated.withRevealedBytes { try Data($0).write(to: file) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        step("  wrote \(file.path) (mode 0600), as systemd does under $CREDENTIALS_DIRECTORY")

        let resolver = SecretResolver.standard.registering(CredentialSource(directory: credentials.path))
        let chain = try SecretChain(["env:DEFENDER_APP_SECRET", "credential:app-secret"], resolver: resolver)
        step("Resolve: the daemon asks for its secret by reference, trying \(chain.references.map(\.description).joined(separator: " then "))")
        let (secret, reference) = try await chain.resolve()
        step("  resolved from \(reference) (\(secret.count) bytes)")
        step("  printed, logged or interpolated it reads \(secret) — the value never leaves its box by accident")
        guard secret == generated else { throw CLIFailure(message: "the demo read back a different secret") }
        step("  the value matches what was provisioned")
        step("Done: no secret was hardcoded, passed on argv, or printed.")
    }
}

/// Numbered progress lines on stderr.
final class Steps {
    private var number = 0
    func callAsFunction(_ text: String) {
        if text.hasPrefix("  ") {
            Terminal.note("   \(text)")
        } else {
            number += 1
            Terminal.note("\(number). \(text)")
        }
    }
}
