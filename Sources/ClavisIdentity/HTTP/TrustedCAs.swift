import AsyncHTTPClient
import ClavisCore
import Foundation
import NIOSSL
import Synchronization

/// Extra certificate authorities every HTTPS connection trusts **in addition to** the system roots:
/// files named with `--ca-file`, `CLAVIS_CA_FILE` (one path, or several separated by `:`), and
/// `SSL_CERT_FILE` as OpenSSL tools honour it. The use: trusting the emulator's throwaway CA
/// (`clavis emulator serve --tls --ca-out ca.pem`), or a TLS-inspecting proxy's CA.
public enum TrustedCAs {
    private static let configured = Mutex<[String]>([])

    /// The environment variables read, in order.
    public static let environmentVariables = ["CLAVIS_CA_FILE", "SSL_CERT_FILE"]

    /// Adds CA files (PEM, one or more certificates each) for the clients made from now on —
    /// ``HTTPTransport/defaultClient`` included if it has not been made yet. Each file is checked
    /// now (readable, holds a PEM certificate), so a wrong path fails here with the path named; the
    /// certificates are parsed when the first client is made, so a command that never connects
    /// never pays for parsing a CA bundle.
    public static func add(files: [String]) throws {
        for file in files { try check(file, origin: "--ca-file") }
        configured.withLock { $0 += files }
    }

    /// Checks the CA files named in `environment`, so a typo is reported before any connection.
    public static func validateEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        for (variable, file) in environmentFiles(environment) { try check(file, origin: variable) }
    }

    /// A cheap check: the file is readable and holds a PEM certificate header.
    static func check(_ path: String, origin: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw unusable(path, origin: origin, reason: "it cannot be read")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 1 << 20)) ?? Data()
        guard head.range(of: Data("-----BEGIN CERTIFICATE-----".utf8)) != nil else {
            throw unusable(path, origin: origin, reason: "it holds no PEM certificate")
        }
    }

    private static func unusable(_ path: String, origin: String, reason: String) -> ClavisError {
        ClavisError(.invalidValue, reference: path, reason: "the CA file \(path) (\(origin)) cannot be used: \(reason)",
                    hint: "name a PEM file such as the one `clavis emulator serve --tls --ca-out ca.pem` writes")
    }

    static func environmentFiles(_ environment: [String: String]) -> [(String, String)] {
        environmentVariables.flatMap { variable in
            (environment[variable] ?? "").split(separator: ":").map { (variable, String($0)) }.filter { !$0.1.isEmpty }
        }
    }

    /// The certificates of every configured and environment-named file (unreadable environment
    /// files are skipped here; ``validateEnvironment(_:)`` reports them).
    static func all(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [NIOSSLCertificate] {
        let files = configured.withLock { $0 } + environmentFiles(environment).map(\.1)
        var seen = Set<String>()
        return files.filter { seen.insert($0).inserted }.flatMap { (try? certificates($0, origin: "")) ?? [] }
    }

    /// The certificates in a PEM file.
    static func certificates(_ path: String, origin: String) throws -> [NIOSSLCertificate] {
        let reason: String
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(path)
            if !certificates.isEmpty { return certificates }
            reason = "it holds no PEM certificate"
        } catch {
            reason = FileManager.default.isReadableFile(atPath: path) ? "it is not a PEM certificate file" : "it cannot be read"
        }
        throw unusable(path, origin: origin, reason: reason)
    }

    /// `configuration` with the extra CAs added to its TLS trust (system roots kept, unless the
    /// configuration already names its own roots).
    static func apply(to configuration: inout HTTPClient.Configuration) {
        let extra = all()
        guard !extra.isEmpty else { return }
        var tls = configuration.tlsConfiguration ?? TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots.append(.certificates(extra))
        configuration.tlsConfiguration = tls
    }
}
