import Foundation
import Synchronization

/// One vault's secrets and their soft-delete life cycle, as Key Vault runs it.
///
/// Names are case-insensitive and keep the casing they were created with (Key Vault:
/// "secret names are case-insensitive", azure-security-docs `about-secrets.md`). Delete, recover
/// and purge are asynchronous in Azure: for a pending window the secret is in between, and Key
/// Vault answers 409 `Conflict` ("Secret is currently being deleted", innererror
/// `ObjectIsBeingDeleted`) or 404 (reported in Azure/azure-cli#12722, Azure/azure-sdk-for-net#26027,
/// Azure/azure-sdk-for-python#19263). The Azure SDKs therefore poll `GET /deletedsecrets/{name}`
/// after delete and `GET /secrets/{name}` after recover until they answer 200
/// (azure-keyvault-secrets `_shared/_polling.py`, `DeletePollingMethod`, `RecoverDeletedPollingMethod`).
final class VaultStore: Sendable {
    /// One version of a secret.
    struct Version: Sendable {
        var id: String
        var value: String
        var contentType: String?
        var tags: [String: String]
        var enabled: Bool
        var created: Int
        var updated: Int
        var notBefore: Int?
        var expires: Int?
    }

    /// Where a secret is in its life cycle.
    enum Phase: Sendable, Equatable {
        case active
        /// DELETE accepted; until `until` it is neither readable nor listed as deleted.
        case deleting(until: Date, deletedDate: Int)
        /// Soft-deleted: recoverable or purgeable.
        case deleted(deletedDate: Int)
        /// Recovery accepted; until `until` it is not readable yet.
        case recovering(until: Date)
        /// Purge accepted; until `until` the name cannot be reused.
        case purging(until: Date)
    }

    /// A secret: its creation casing, versions and phase.
    struct Entry: Sendable {
        var name: String
        var versions: [Version]
        var phase: Phase
    }

    /// What a caller gets back when an operation cannot proceed.
    enum Refusal: Error, Equatable {
        case notFound
        case deletedNotFound
        case beingDeleted
        case deletedButRecoverable
        case disabled
    }

    let pending: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(vault: EmulatorConfig.Vault) {
        pending = .milliseconds(vault.pendingMilliseconds ?? 1000)
        let now = Int(Date().timeIntervalSince1970)
        var initial: [String: Entry] = [:]
        for (name, value) in vault.secrets ?? [:] {
            let version = Version(id: Self.newVersion(), value: value, contentType: nil, tags: [:],
                                  enabled: !(vault.disabled ?? []).contains(name), created: now, updated: now)
            initial[name.lowercased()] = Entry(name: name, versions: [version], phase: .active)
        }
        entries.withLock { $0 = initial }
    }

    static func newVersion() -> String { UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }

    private var pendingUntil: Date { Date().addingTimeInterval(Double(pending.components.seconds) + Double(pending.components.attoseconds) / 1e18) }

    /// Moves entries whose pending window has passed on to their next phase.
    private static func settle(_ entries: inout [String: Entry]) {
        let now = Date()
        for (key, entry) in entries {
            switch entry.phase {
            case let .deleting(until, deletedDate) where until <= now: entries[key]?.phase = .deleted(deletedDate: deletedDate)
            case let .recovering(until) where until <= now: entries[key]?.phase = .active
            case let .purging(until) where until <= now: entries.removeValue(forKey: key)
            default: break
            }
        }
    }

    private func locked<R>(_ body: (inout [String: Entry]) throws -> R) rethrows -> R {
        try entries.withLock { entries in
            Self.settle(&entries)
            return try body(&entries)
        }
    }

    /// An active secret and one of its versions (the latest when `version` is nil).
    func get(_ name: String, version: String?) throws(Refusal) -> (Entry, Version) {
        let found = locked { $0[name.lowercased()] }
        guard let entry = found, entry.phase == .active,
              let chosen = version.map({ wanted in entry.versions.first { $0.id == wanted.lowercased() } }) ?? entry.versions.last else {
            throw Refusal.notFound
        }
        return (entry, chosen)
    }

    /// Adds a version; refused while the name is deleted (recoverable) or being deleted/purged.
    func set(_ name: String, _ version: Version) throws(Refusal) -> Entry {
        let result: Result<Entry, Refusal> = locked { entries in
            let key = name.lowercased()
            switch entries[key]?.phase {
            case nil:
                entries[key] = Entry(name: name, versions: [version], phase: .active)
            case .active?:
                entries[key]?.versions.append(version)
            case .deleted?:
                return .failure(.deletedButRecoverable)
            case .deleting?, .purging?, .recovering?:
                return .failure(.beingDeleted)
            }
            return entries[key].map { .success($0) } ?? .failure(.notFound)
        }
        return try result.get()
    }

    /// Updates a version's attributes, content type or tags (PATCH).
    func update(_ name: String, version: String?, _ change: (inout Version) -> Void) throws(Refusal) -> (Entry, Version) {
        let result: Result<(Entry, Version), Refusal> = locked { entries in
            let key = name.lowercased()
            guard var entry = entries[key], entry.phase == .active else { return .failure(.notFound) }
            guard let index = version.map({ wanted in entry.versions.firstIndex { $0.id == wanted.lowercased() } }) ?? entry.versions.indices.last else {
                return .failure(.notFound)
            }
            change(&entry.versions[index])
            entry.versions[index].updated = Int(Date().timeIntervalSince1970)
            entries[key] = entry
            return .success((entry, entry.versions[index]))
        }
        return try result.get()
    }

    /// Starts a soft delete.
    func delete(_ name: String) throws(Refusal) -> (Entry, deletedDate: Int) {
        let now = Int(Date().timeIntervalSince1970)
        let until = pendingUntil
        let result: Result<(Entry, Int), Refusal> = locked { entries in
            let key = name.lowercased()
            guard let entry = entries[key] else { return .failure(.notFound) }
            switch entry.phase {
            case .active:
                entries[key]?.phase = .deleting(until: until, deletedDate: now)
                return .success((entry, now))
            case .deleting, .purging: return .failure(.beingDeleted)
            default: return .failure(.notFound)
            }
        }
        return try result.get()
    }

    /// A soft-deleted secret (404 while its deletion is still pending).
    func deleted(_ name: String) throws(Refusal) -> (Entry, deletedDate: Int) {
        let entry = locked { $0[name.lowercased()] }
        guard let entry, case let .deleted(deletedDate) = entry.phase else { throw Refusal.deletedNotFound }
        return (entry, deletedDate)
    }

    /// Starts recovering a soft-deleted secret.
    func recover(_ name: String) throws(Refusal) -> Entry {
        let until = pendingUntil
        let result: Result<Entry, Refusal> = locked { entries in
            let key = name.lowercased()
            switch entries[key]?.phase {
            case .deleted?:
                entries[key]?.phase = .recovering(until: until)
                return entries[key].map { .success($0) } ?? .failure(.deletedNotFound)
            case .deleting?: return .failure(.beingDeleted)
            default: return .failure(.deletedNotFound)
            }
        }
        return try result.get()
    }

    /// Starts purging a soft-deleted secret.
    func purge(_ name: String) throws(Refusal) {
        let until = pendingUntil
        let result: Result<Void, Refusal> = locked { entries in
            let key = name.lowercased()
            switch entries[key]?.phase {
            case .deleted?:
                entries[key]?.phase = .purging(until: until)
                return .success(())
            case .deleting?: return .failure(.beingDeleted)
            default: return .failure(.deletedNotFound)
            }
        }
        try result.get()
    }

    /// Active secrets (with their latest version), sorted by name.
    func active() -> [(Entry, Version)] {
        locked { entries in
            entries.values.filter { $0.phase == .active }.compactMap { entry in entry.versions.last.map { (entry, $0) } }
        }.sorted { $0.0.name.lowercased() < $1.0.name.lowercased() }
    }

    /// Soft-deleted secrets whose deletion has completed, sorted by name.
    func softDeleted() -> [(Entry, Version, deletedDate: Int)] {
        locked { entries in
            entries.values.compactMap { entry -> (Entry, Version, Int)? in
                guard case let .deleted(date) = entry.phase, let latest = entry.versions.last else { return nil }
                return (entry, latest, date)
            }
        }.sorted { $0.0.name.lowercased() < $1.0.name.lowercased() }
    }
}
