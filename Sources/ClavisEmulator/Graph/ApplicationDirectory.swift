import Crypto
import Foundation
import Synchronization

/// The emulator's application objects and their password credentials, which Graph `addPassword`
/// and `removePassword` change while the token endpoint checks secrets against them.
///
/// Shapes: passwordCredential (https://learn.microsoft.com/graph/api/resources/passwordcredential,
/// microsoft-graph-docs-contrib `api-reference/v1.0/resources/passwordcredential.md`): `keyId`,
/// `displayName`, `hint` (the first three characters of the value), `startDateTime`,
/// `endDateTime`; `secretText` only in the reply of `addPassword`. A secret after its
/// `endDateTime` is refused with AADSTS7000222 (entra-docs `reference-error-codes`,
/// InvalidClientSecretExpiredKeysProvided); a new one is refused with AADSTS7000215 until it has
/// replicated (`secretReplicationMilliseconds`).
final class ApplicationDirectory: Sendable {
    /// One password credential.
    struct Credential: Sendable {
        var keyId: String
        var displayName: String?
        var secret: String
        var start: Date
        var end: Date
        /// Before this instant the token endpoint does not know it yet (replication).
        var acceptedFrom: Date

        var hint: String { String(secret.prefix(3)) }
    }

    /// What the token endpoint makes of a presented secret.
    enum SecretCheck: Equatable { case valid, invalid, expired, notYetValid }

    private let credentials: Mutex<[String: [Credential]]>
    private let replication: TimeInterval

    init(config: EmulatorConfig, now: Date = Date()) {
        var all: [String: [Credential]] = [:]
        for tenant in config.tenants {
            for app in tenant.apps {
                var list: [Credential] = (app.secrets ?? []).map { secret in
                    Credential(keyId: Self.stableUUID("secret/\(tenant.id)/\(app.clientId)/\(secret)"), displayName: nil, secret: secret,
                               start: now, end: now.addingTimeInterval(2 * 365 * 86400), acceptedFrom: .distantPast)
                }
                for configured in app.passwordCredentials ?? [] {
                    let start = configured.startDateTime.flatMap(ServiceTime.init).map(Self.date) ?? now
                    list.append(Credential(keyId: configured.keyId ?? Self.stableUUID("secret/\(tenant.id)/\(app.clientId)/\(configured.secret)"),
                                           displayName: configured.displayName, secret: configured.secret, start: start,
                                           end: configured.endDateTime.flatMap(ServiceTime.init).map(Self.date) ?? start.addingTimeInterval(2 * 365 * 86400),
                                           acceptedFrom: .distantPast))
                }
                all[Self.key(tenant.id, app.clientId)] = list
            }
        }
        credentials = Mutex(all)
        replication = TimeInterval(config.secretReplicationMilliseconds ?? 0) / 1000
    }

    static func key(_ tenant: String, _ appId: String) -> String { "\(tenant.lowercased())/\(appId.lowercased())" }

    static func date(_ time: ServiceTime) -> Date {
        Date(timeIntervalSince1970: TimeInterval(time.seconds) + TimeInterval(time.ticks) / 10_000_000)
    }

    /// The application object's id: stable per tenant and app, distinct from its service principal's.
    static func objectId(tenant: String, appId: String) -> String { stableUUID("application/\(tenant.lowercased())/\(appId.lowercased())") }

    static func stableUUID(_ seed: String) -> String {
        let hex = SHA256.hash(data: Data(seed.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    /// The app's password credentials.
    func list(tenant: String, appId: String) -> [Credential] {
        credentials.withLock { $0[Self.key(tenant, appId)] ?? [] }
    }

    /// Checks a secret presented at the token endpoint.
    func check(_ secret: String, tenant: String, appId: String, now: Date = Date()) -> SecretCheck {
        let list = self.list(tenant: tenant, appId: appId).filter { $0.secret == secret }
        guard !list.isEmpty else { return .invalid }
        if list.contains(where: { $0.acceptedFrom <= now && $0.start <= now && now < $0.end }) { return .valid }
        if list.contains(where: { now >= $0.end }) { return .expired }
        return .notYetValid
    }

    /// `addPassword`: a new credential with a generated 40-character value.
    func add(tenant: String, appId: String, displayName: String?, start: Date?, end: Date?, now: Date = Date()) -> Credential {
        // Entra's generated secrets: 40 characters from letters, digits and `~._-`; random from swift-crypto.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-")
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) } + SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        let secret = String(bytes.prefix(40).map { alphabet[Int($0) % alphabet.count] })
        let begin = start ?? now
        let credential = Credential(keyId: UUID().uuidString.lowercased(), displayName: displayName, secret: secret, start: begin,
                                    end: end ?? begin.addingTimeInterval(2 * 365 * 86400), acceptedFrom: now.addingTimeInterval(replication))
        credentials.withLock { $0[Self.key(tenant, appId), default: []].append(credential) }
        return credential
    }

    /// Replaces every credential of an app with credentials holding `secrets`, valid at once (the
    /// `POST /_emulator/secrets` test hook).
    func replace(tenant: String, appId: String, secrets: [String], now: Date = Date()) {
        let list = secrets.map { secret in
            Credential(keyId: Self.stableUUID("secret/\(tenant)/\(appId)/\(secret)"), displayName: nil, secret: secret, start: now,
                       end: now.addingTimeInterval(2 * 365 * 86400), acceptedFrom: .distantPast)
        }
        credentials.withLock { $0[Self.key(tenant, appId)] = list }
    }

    /// `removePassword`: whether a credential with `keyId` was there.
    func remove(tenant: String, appId: String, keyId: String) -> Bool {
        credentials.withLock { all in
            let key = Self.key(tenant, appId)
            let before = all[key]?.count ?? 0
            all[key]?.removeAll { $0.keyId.lowercased() == keyId.lowercased() }
            return (all[key]?.count ?? 0) < before
        }
    }

    /// Changes a credential's end date (for tests of expiry); whether it was found.
    func setEnd(tenant: String, appId: String, keyId: String, end: Date) -> Bool {
        credentials.withLock { all in
            let key = Self.key(tenant, appId)
            guard let index = all[key]?.firstIndex(where: { $0.keyId.lowercased() == keyId.lowercased() }) else { return false }
            all[key]?[index].end = end
            return true
        }
    }
}
