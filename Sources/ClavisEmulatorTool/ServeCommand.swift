import ArgumentParser
import ClavisEmulator
import Foundation
import Logging
import ServiceLifecycle

/// `clavis-emulator serve` (also reached as `clavis emulator serve`): the local stand-in for Entra ID,
/// Key Vault and Defender, until SIGTERM/SIGINT. The URL goes to stdout, notes to stderr.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the emulator until SIGTERM/SIGINT (config format: docs/emulator.md).")

    @Option(help: "The JSON config: tenants, apps, permissions, managed identities.") var config: String
    @Option(help: "The port (0: any free one).") var port = 8400
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Flag(help: "Serve HTTPS with a throwaway CA made at start (MSAL and other SDKs refuse plain http).") var tls = false
    @Option(help: "With --tls: write the CA certificate (PEM) here, to trust it.") var caOut: String?
    @Flag(help: "Allow a --host that is not loopback. The emulator's /_emulator admin routes have no authentication: anyone who reaches the port can add apps and mint tokens.")
    var allowRemote = false
    @Flag(help: "With --tls: serve under Azure's own names on port 443 (needs root or CAP_NET_BIND_SERVICE), so Microsoft's SDKs run with production settings: login.microsoftonline.com, api.security.microsoft.com and graph.microsoft.com on 127.0.78.1, each vault as NAME.vault.azure.net on 127.0.78.2, 127.0.78.3, ... (docs/emulator.md).")
    var azureNames = false
    @Option(help: "With --azure-names: write the hosts file that maps those names here (bind it over /etc/hosts in a private mount namespace).")
    var hostsOut: String?

    func run() async throws {
        guard EmulatorHost.isLoopback(host) || allowRemote else {
            throw ToolFailure(message: "--host \(host) is not a loopback address; the emulator's admin routes (/_emulator/*) have no authentication, so it listens on loopback only unless --allow-remote is given",
                              exitCode: 64)
        }
        if !EmulatorHost.isLoopback(host) {
            Output.note("warning: listening on \(host): anyone who can reach this port can use the unauthenticated /_emulator admin routes and get tokens; use only on a trusted network")
        }
        guard !azureNames || tls else { throw ToolFailure(message: "--azure-names needs --tls (Azure's names are served over HTTPS only)", exitCode: 64) }
        let state = try await EmulatorState(config: EmulatorConfig.load(config))
        let vaultNames = (state.config.vaults ?? []).map(\.name)
        let names = azureNames ? AzureHostNames(serviceAddress: "127.0.78.1", vaultAddresses: Dictionary(
            uniqueKeysWithValues: vaultNames.enumerated().map { ($1, "127.0.78.\(2 + $0)") })) : nil
        if let names, let hostsOut {
            try Data(names.hostsFile.utf8).write(to: URL(fileURLWithPath: hostsOut), options: .atomic)
            Output.note("hosts file written to \(hostsOut): run a program with it as /etc/hosts, e.g. sudo unshare -m sh -c 'mount --bind \(hostsOut) /etc/hosts && exec runuser -u USER -- python3 app.py'")
        }
        var logger = Logger(label: "clavis.emulator")
        logger.logLevel = Output.logLevel
        let host = self.host
        let certificates = try tls ? EmulatorTLS.make(hostNames: names) : nil
        if let certificates, let caOut {
            try Data(certificates.caPEM.utf8).write(to: URL(fileURLWithPath: caOut), options: .atomic)
            Output.note("CA certificate written to \(caOut): trust it with --ca-file \(caOut) (or CLAVIS_CA_FILE=\(caOut)) for clavis, REQUESTS_CA_BUNDLE=\(caOut) and CURL_CA_BUNDLE=\(caOut) for Python SDKs and curl")
        }
        let scheme = certificates == nil ? "http" : "https"
        let urlHost = host.contains(":") ? "[\(host)]" : host
        let services = try Emulator.buildServices(state: state, host: host, port: port, tls: certificates, hostNames: names, logger: logger) { vault, port in
            if names != nil {
                let origin = vault.map { "https://\(AzureHostNames.vaultHost($0))" } ?? "https://\(AzureHostNames.login)"
                Output.note(vault.map { "key vault \($0) at \(origin) (with the hosts file)" } ?? "clavis emulator serving Azure's names (login.microsoftonline.com, api.security.microsoft.com, graph.microsoft.com) with the hosts file")
                Output.line(vault.map { "vault \($0) \(origin)" } ?? origin)
            } else if let vault {
                Output.note("key vault \(vault) at \(scheme)://\(urlHost):\(port) (secrets at /secrets/NAME; keyvault:\(scheme)://\(urlHost):\(port)/secrets/NAME)")
                Output.line("vault \(vault) \(scheme)://\(urlHost):\(port)")
            } else {
                Output.note("clavis emulator listening on \(scheme)://\(urlHost):\(port) (authority for --authority)")
                Output.line("\(scheme)://\(urlHost):\(port)")
            }
        }
        try await ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
    }
}
