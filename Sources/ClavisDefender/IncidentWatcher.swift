import ClavisCore
import ClavisIdentity
import Foundation

/// Polls incidents and emits each new or changed one exactly once, across restarts.
///
/// What real pollers get wrong, and what this does instead: it pages by ascending
/// `lastUpdateTime` (not `createdTime`, which misses updates), from an inclusive `ge` cursor minus an
/// overlap (incidents can appear late), dedupes by incident id *and* its `lastUpdateTime` (a
/// timestamp alone in the key duplicates), and saves the checkpoint only after the incidents before
/// it were emitted — atomically, so a crash re-emits at most a page and never loses one.
public struct IncidentWatcher: Sendable {
    /// What was seen: the cursor and, within the overlap window, each incident's last update.
    public struct Checkpoint: Codable, Sendable, Equatable {
        /// The newest `lastUpdateTime` emitted.
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
    public let overlap: TimeInterval
    /// An extra OData filter (e.g. `status eq 'Active'`).
    public let extraFilter: String?

    /// Creates a watcher.
    public init(client: DefenderClient, checkpointPath: String?, overlap: TimeInterval = 600, extraFilter: String? = nil) {
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
                              hint: "move it aside to start over (incidents in the lookback would be emitted again)")
        }
    }

    /// One poll: emits every incident new or changed since `checkpoint` through `emit` (as
    /// `new` or `changed`), saving the checkpoint after each page. Returns the updated checkpoint.
    public func poll(from checkpoint: Checkpoint, lookback: TimeInterval? = nil,
                     emit: (Incident, _ kind: String) throws -> Void, save: (Checkpoint) throws -> Void) async throws -> Checkpoint {
        var state = checkpoint
        let formatter = ISO8601DateFormatter()
        let since: String
        if let cursor = state.cursor, let date = formatter.date(from: cursor) {
            since = formatter.string(from: date.addingTimeInterval(-overlap))
        } else {
            since = formatter.string(from: Date().addingTimeInterval(-(lookback ?? 30 * 86400)))
        }
        var filter = "lastUpdateTime ge \(since)"
        if let extraFilter { filter += " and \(extraFilter)" }
        var sinceSave = 0
        for try await incident in client.incidents(filter: filter, orderBy: "lastUpdateTime asc") {
            let key = String(incident.id)
            guard state.seen[key] != incident.lastUpdateTime else { continue }
            try emit(incident, state.seen[key] == nil && (state.cursor == nil || incident.createdTime >= since) ? "new" : "changed")
            state.seen[key] = incident.lastUpdateTime
            if incident.lastUpdateTime > (state.cursor ?? "") { state.cursor = incident.lastUpdateTime }
            sinceSave += 1
            if sinceSave == 100 { try save(pruned(state)); sinceSave = 0 }
        }
        state = pruned(state)
        try save(state)
        return state
    }

    /// Drops `seen` entries older than the overlap window.
    func pruned(_ checkpoint: Checkpoint) -> Checkpoint {
        let formatter = ISO8601DateFormatter()
        guard let cursor = checkpoint.cursor, let date = formatter.date(from: cursor) else { return checkpoint }
        let floor = formatter.string(from: date.addingTimeInterval(-overlap))
        var copy = checkpoint
        copy.seen = copy.seen.filter { $0.value >= floor }
        return copy
    }
}
