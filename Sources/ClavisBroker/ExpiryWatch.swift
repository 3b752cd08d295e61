import ClavisCore
import ClavisIdentity
import Foundation
import Logging
import ServiceLifecycle

/// Warns in the broker's log when an identity's client secret expires within the warning window
/// (30 days by default; `CLAVIS_SECRET_EXPIRY_WARNING`, e.g. `14d`, `0s` for never): ten minutes
/// after start (`CLAVIS_BROKER_EXPIRY_FIRST_CHECK`, e.g. `1s`; not at once, so a restart storm adds no
/// token requests), then daily — the check `clavis token`, `clavis doctor` and `defender watch` make (``SecretExpiryCheck``;
/// docs/rotation.md). Identities with a certificate or a managed/workload identity have no secret
/// to expire.
struct ExpiryWatch: Service {
    let checks: [(name: String, check: SecretExpiryCheck, reference: SecretReference)]
    let resolver: SecretResolver
    let logger: Logger
    var interval: Duration = .seconds(86_400)
    let firstCheck: Duration

    init(config: BrokerConfig, resolver: SecretResolver, transport: HTTPTransport, logger: Logger,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let window = Self.window(environment["CLAVIS_SECRET_EXPIRY_WARNING"])
        firstCheck = environment["CLAVIS_BROKER_EXPIRY_FIRST_CHECK"].map { Self.window($0) } ?? .seconds(600)
        self.resolver = resolver
        self.logger = logger
        checks = try config.identities.compactMap { identity in
            guard window > .zero, let secret = identity.secret, let tenant = identity.tenant, let clientId = identity.clientId else { return nil }
            let authority = try (identity.authority ?? config.authority).map(Authority.init) ?? Authority.fromEnvironment()
            return (identity.name, SecretExpiryCheck(tenant: tenant, clientId: clientId, authority: authority, warnWithin: window, transport: transport),
                    try SecretReference(parsing: secret))
        }
    }

    /// `30d`, `12h`, `0s`…; the default window when unset or unreadable.
    static func window(_ text: String?) -> Duration {
        text.flatMap(DurationText.parse) ?? .seconds(SecretExpiryCheck.defaultWarningDays * 86_400)
    }

    func run() async throws {
        // A service that returns would end the broker's service group: wait for shutdown instead.
        guard !checks.isEmpty, (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: firstCheck) })) != nil else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for (name, check, reference) in checks {
                if let status = await check.check(reference: reference, resolver: resolver), status.warning {
                    logger.info("\(status.message)", metadata: ["clavis.broker.identity": "\(name)", "clavis.reference": "\(reference)"])
                }
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
        }
    }
}
