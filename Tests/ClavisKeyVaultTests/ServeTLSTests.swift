import ClavisCore
import ClavisEmulator
import ClavisTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `clavis emulator serve --tls --ca-out ca.pem`, then `clavis … --ca-file ca.pem`: trusting the
/// emulator is one step, from Clavis itself, end to end with the built binary.
@Suite struct ServeTLSTests {
    /// Starts `clavis emulator serve` and returns the process and the lines it printed for the
    /// main origin and each vault.
    static func serve(_ directory: TemporaryDirectory) async throws -> (Process, main: String, vaults: [String: String]) {
        let configPath = directory.file("emulator.json")
        try JSONEncoder().encode(V.config()).write(to: URL(fileURLWithPath: configPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.clavis)
        process.arguments = ["emulator", "serve", "--config", configPath, "--port", "0", "--tls", "--ca-out", directory.file("ca.pem")]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let expected = 1 + (V.config().vaults?.count ?? 0)
        let lines: [String] = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var text = ""
                while text.split(separator: "\n").count < expected {
                    let chunk = output.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    text += String(decoding: chunk, as: UTF8.self)
                }
                continuation.resume(returning: text.split(separator: "\n").map(String.init))
            }
        }
        // The services start concurrently: the main origin's line and the vaults' lines come in any order.
        var vaults: [String: String] = [:]
        var main = ""
        for line in lines {
            let parts = line.split(separator: " ")
            if parts.count == 3, parts[0] == "vault" { vaults[String(parts[1])] = String(parts[2]) } else { main = line }
        }
        return (process, main, vaults)
    }

    @Test func serveWithTLSThenTrustTheCAWithCaFile() async throws {
        let directory = try TemporaryDirectory()
        let (process, main, vaults) = try await Self.serve(directory)
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        #expect(main.hasPrefix("https://127.0.0.1:"), "printed \(main)")
        let vault = try #require(vaults["prod"], "printed vaults \(vaults)")
        #expect(vault.hasPrefix("https://127.0.0.1:") && vault != main)
        let ca = directory.file("ca.pem")
        let clean = ["SSL_CERT_FILE", "CLAVIS_CA_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_ID"]
        let token = ["token", "--tenant", V.tenant, "--client-id", V.writer, "--secret", "env:VAULT_APP_SECRET", "--authority", main,
                     "--resource", "https://vault.azure.net"]
        let secretEnvironment = ["VAULT_APP_SECRET": V.vaultSecret]
        // Without the CA: the handshake fails (the emulator's CA is not a system root).
        let untrusted = try await Command.clavis(token, environment: secretEnvironment, removing: clean)
        #expect(untrusted.status != 0)
        #expect(!untrusted.stderr.contains(V.vaultSecret))
        // --ca-file, CLAVIS_CA_FILE and SSL_CERT_FILE each make it work, in addition to the system roots.
        let withOption = try await Command.clavis(token + ["--ca-file", ca], environment: secretEnvironment, removing: clean)
        #expect(withOption.status == 0, "\(withOption.stderr)")
        #expect(withOption.output.split(separator: ".").count == 3)
        for variable in ["CLAVIS_CA_FILE", "SSL_CERT_FILE"] {
            let viaEnvironment = try await Command.clavis(token, environment: secretEnvironment.merging([variable: ca]) { $1 }, removing: clean)
            #expect(viaEnvironment.status == 0, "\(variable): \(viaEnvironment.stderr)")
        }
        // A wrong path is named before any connection.
        let missing = try await Command.clavis(token + ["--ca-file", directory.file("nope.pem")], environment: secretEnvironment, removing: clean)
        #expect(missing.status == 1 && missing.stderr.contains("nope.pem") && missing.stderr.contains("cannot be read"), "\(missing.stderr)")
        // Key Vault over the same TLS: a secret read with --ca-file.
        let azure = ["AZURE_TENANT_ID": V.tenant, "AZURE_CLIENT_ID": V.writer, "AZURE_CLIENT_SECRET": V.vaultSecret, "AZURE_AUTHORITY_HOST": main,
                     "CLAVIS_KEYVAULT_ALLOWED_HOSTS": "127.0.0.1"]
        let read = try await Command.clavis(["secret", "get", "keyvault:\(vault)/secrets/defender-app-secret", "--ca-file", ca], environment: azure,
                                            removing: ["SSL_CERT_FILE", "CLAVIS_CA_FILE"])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(read.output == V.appSecret + "\n")
    }
}
