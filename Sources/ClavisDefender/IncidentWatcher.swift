import ClavisCore
import ClavisIdentity
import Foundation

/// Polls incidents and emits each new or changed one once, across restarts, without relying on
/// any server ordering.
///
/// The services return incidents newest first and document no `$orderby` (D-LIST,
/// https://learn.microsoft.com/defender-xdr/api-list-incidents; G-LIST), and timestamps carry 0–7
/// fractional digits (research-15 §1). So each poll reads the **whole window**
/// `lastUpdateTime ge cursor − overlap` (every page; incidents can appear late), orders it locally by
/// parsed `lastUpdateTime` then id, emits what is new or changed against the `seen` map (id → last
/// update emitted, compared as parsed timestamps), and only then saves the checkpoint — the newest
/// time emitted and the `seen` entries still inside the overlap. A crash before the save re-reads
/// the window and re-emits at most that window's changes; nothing is lost. With nothing changed
/// and a window within one page, a poll is exactly one request.
public struct IncidentWatcher: Sendable {
    /// What was seen: the cursor and, within the overlap window, each incident's last update.
    public struct Checkpoint: Codable, Sendable, Equatable {
        /// The newest `lastUpdateTime` emitted, as an OData literal with 7 fractional digits.
        public var cursor: String?
        /// Incident id → `lastUpdateTime` emitted, for incidents inside the overlap window.
        public var seen: [String: String] = [:]
        /// Creates an empty checkpoint.
        public init(cursor: String? = nil, seen: [String: String] = [:]) {
            self.cursor = cursor
            self.seen = seen
        }
    }

    let client: DefenderClient
    /// Where the checkpoint lives (nil: in memory only).
    public let checkpointPath: String?
    /// How far before the cursor each poll looks again.
    public let overlap: Duration
    /// An extra OData filter (e.g. `status eq 'Active'`).
    public let extraFilter: String?

    /// Creates a watcher.
    public init(client: DefenderClient, checkpointPath: String?, overlap: Duration = .seconds(600), extraFilter: String? = nil) {
        self.client = client
        self.checkpointPath = checkpointPath
        self.overlap = overlap
        self.extraFilter = extraFilter
    }

    /// The saved checkpoint, or an empty one.
    public func loadCheckpoint() throws -> Checkpoint {
        guard let checkpointPath, FileManager.default.fileExists(atPath: checkpointPath) else { return Checkpoint() }
        do {
            return try JSONDecoder().decode(Checkpoint.self, from: Data(contentsOf: URL(fileURLWithPath: checkpointPath)))
        } catch {
            throw ClavisError(.corrupted, reference: checkpointPath, reason: "the checkpoint is not readable JSON",
                              hint: "move it aside to start over (incidents in the lookback would be emitted again)", cause: error)
        }
    }

    /// Where a poll from `checkpoint` starts: the cursor minus the overlap, or `lookback` (default
    /// 30 days) before `now` on a first poll.
    public func windowStart(from checkpoint: Checkpoint, lookback: Duration? = nil, now: Date = Date()) -> Timestamp {
        checkpoint.cursor.flatMap(Timestamp.init).map { $0.adding(.zero - overlap) } ?? Timestamp(now.addingTimeInterval(-(lookback ?? .seconds(30 * 86400)).inSeconds))
    }

    /// The `$filter` of a window: `lastUpdateTime ge <start>` with 7 fractional digits (research-15 §1).
    public func filter(since start: Timestamp) -> String {
        var filter = "lastUpdateTime ge \(start.odataLiteral)"
        if let extraFilter { filter += " and \(extraFilter)" }
        return filter
    }

    /// One poll: reads the whole window, emits every incident new or changed since `checkpoint`
    /// through `emit` (as `new` or `changed`, oldest update first), then saves and returns the
    /// updated checkpoint (saved only when it changed).
    public func poll(from checkpoint: Checkpoint, lookback: Duration? = nil,
                     emit: (Incident, _ kind: String) throws -> Void, save: (Checkpoint) throws -> Void) async throws -> Checkpoint {
        var state = checkpoint
        let since = windowStart(from: checkpoint, lookback: lookback)
        var window: [Incident] = []
        for try await incident in client.incidents(filter: filter(since: since)) { window.append(incident) }
        let unknown = Timestamp(seconds: .min / 2, ticks: 0)
        window.sort { ($0.lastUpdated ?? unknown, $0.id) < ($1.lastUpdated ?? unknown, $1.id) }
        var cursor = state.cursor.flatMap(Timestamp.init)
        for incident in window {
            let key = String(incident.id)
            let previous = state.seen[key].flatMap(Timestamp.init)
            if let seen = state.seen[key] {
                // Already emitted at this update (compared as timestamps; as text only if one does not parse).
                if let previous, let updated = incident.lastUpdated { if previous >= updated { continue } } else if seen == incident.lastUpdateTime { continue }
            }
            let isNew = previous == nil && (checkpoint.cursor == nil || (incident.created.map { $0 >= since } ?? false))
            try emit(incident, isNew ? "new" : "changed")
            state.seen[key] = incident.lastUpdated?.odataLiteral ?? incident.lastUpdateTime
            if let updated = incident.lastUpdated, cursor.map({ updated > $0 }) ?? true { cursor = updated }
        }
        state.cursor = cursor?.odataLiteral
        state = pruned(state)
        if state != checkpoint { try save(state) }
        return state
    }

    /// Drops `seen` entries older than the overlap window before the cursor (compared as parsed
    /// timestamps; an unparseable entry is dropped).
    func pruned(_ checkpoint: Checkpoint) -> Checkpoint {
        guard let cursor = checkpoint.cursor.flatMap(Timestamp.init) else { return checkpoint }
        let floor = cursor.adding(.zero - overlap)
        var copy = checkpoint
        copy.seen = copy.seen.filter { Timestamp($0.value).map { $0 >= floor } ?? false }
        return copy
    }
}
