import CLibsecret
import ClavisCore
import Dispatch
import Logging

/// `keyring:SERVICE/USERNAME[?collection=NAME]` — the freedesktop Secret Service: GNOME keyring,
/// KeePassXC, KWallet's bridge.
///
/// Items carry the attributes `service` and `username`, the convention of Python's `keyring` and
/// of `secret-tool`, so all three tools read what any of them stored:
///
/// ```sh
/// printf %s "$SECRET" | clavis secret set keyring:defender-daemon/app-secret
/// secret-tool lookup service defender-daemon username app-secret
/// python3 -c 'import keyring; print(keyring.get_password("defender-daemon", "app-secret"))'
/// ```
///
/// libsecret's blocking calls run on a dedicated thread, never on Swift's cooperative pool. Each
/// call has a deadline (``timeout``) and follows task cancellation. A locked collection fails at
/// once with ``ClavisError/Code/locked`` unless the source was made `interactive`, in which case
/// the provider may show its unlock prompt.
public struct KeyringSource: AnnotatedSecretSource {
    /// How long one operation may take before it fails with ``ClavisError/Code/timedOut``.
    public var timeout: Duration
    /// Whether a locked collection may be unlocked through the provider's prompt.
    public var interactive: Bool
    /// Whether ``secret(for:)`` first tries the direct read (``directSecret(for:)``); `true`. The
    /// `clavis` launcher sets it to `false` when it has just tried that read itself.
    public var readsDirectly = true
    private let explicitLogger: Logger?
    /// The logger given, else the task's (`Logger.current`).
    private var logger: Logger { explicitLogger ?? Logger.current }

    /// Creates the source.
    ///
    /// - Parameters:
    ///   - timeout: the deadline of each operation (default 5 s; an interactive unlock gets 2 minutes).
    ///   - interactive: allow the provider's unlock prompt (default `false`: fail with `locked`).
    public init(timeout: Duration = .seconds(5), interactive: Bool = false, logger: Logger? = nil) {
        self.timeout = timeout
        self.interactive = interactive
        explicitLogger = logger
    }

    /// For a short-lived process about to read a keyring (the `clavis` launcher): starts loading
    /// libsecret and libgcrypt and drawing the session's Diffie-Hellman key pair on background
    /// threads, while the caller sets up its task, so the first read waits for less. Does nothing
    /// without a session bus. A process that then reads nothing has only spent a little CPU time.
    /// Only for a reference ``directSecret(for:)`` would read.
    public static func prepare(for reference: SecretReference) {
        guard reference.scheme == "keyring", let name = try? KeyringName(reference, requireUsername: true),
              name.isDefaultCollection, SessionBus.problem() == nil else { return }
        clavis_keyring_prepare()
    }

    /// `["keyring"]`.
    public var schemes: Set<String> { ["keyring"] }
    /// `the Secret Service keyring`.
    public var sourceDescription: String { "the Secret Service keyring" }
    /// Read, list, write, delete.
    public var capabilities: SecretSourceCapabilities { .all }

    /// Reads the item's value.
    public func secret(for reference: SecretReference) async throws -> Secret {
        try checkScheme(of: reference)
        let name = try KeyringName(reference, requireUsername: true)
        logger.debug("keyring lookup", metadata: ["clavis.reference": "\(reference)"])
        return try await run(reference.description) { cancellable in
            // Without ?collection=, directly first: the Secret Service's own four messages, faster than
            // libsecret's sequence (DirectRead). When it declines, libsecret gives the precise answer.
            if readsDirectly, name.isDefaultCollection, let username = name.username,
               let value = try DirectRead.lookup(service: name.service, username: username, cancellable: cancellable,
                                                 timeout: timeout, reference: reference.description) {
                return value
            }
            let session = try KeyringSession(cancellable: cancellable, reference: reference.description)
            let collection = try session.collection(name.collection)
            try session.ensureUnlocked(collection, name: name.collection, interactive: interactive)
            let items = try session.search(collection, service: name.service, username: name.username, all: false, load: true)
            guard let item = items.pointers.first else {
                throw ClavisError(.notFound, reference: reference.description,
                                  reason: "no keyring item with service '\(name.service)' and username '\(name.username ?? "")'",
                                  hint: "store it with `clavis secret set \(reference)`")
            }
            return try session.value(of: item)
        }
    }

    /// The value, read on the calling thread with the Secret Service's own messages (the first step
    /// of ``secret(for:)``), or `nil` when that step cannot answer and ``secret(for:)`` must: a
    /// reference with `?collection=`, nothing unlocked that matches (a locked collection or a
    /// missing item, which ``secret(for:)`` tells apart), a provider without the encrypted session.
    ///
    /// Blocking, for the main thread of a short-lived process before anything else runs (the
    /// `clavis` launcher): no task, no keyring thread, no timer thread. Errors are those of
    /// ``secret(for:)``, in the same words.
    public func directSecret(for reference: SecretReference) throws -> Secret? {
        try checkScheme(of: reference)
        let name = try KeyringName(reference, requireUsername: true)
        guard name.isDefaultCollection, let username = name.username else { return nil }
        try Libsecret.load(reference: reference.description)
        let cancellable = Cancellable()
        return try DirectRead.lookup(service: name.service, username: username, cancellable: cancellable.pointer, timeout: timeout,
                                     reference: reference.description)
    }

    /// Lists the usernames stored under the service (`keyring:SERVICE`).
    public func listNames(in container: SecretReference) async throws -> [String] {
        try checkScheme(of: container)
        let name = try KeyringName(container, requireUsername: false)
        return try await perform(container) { session in
            let collection = try session.collection(name.collection)
            try session.ensureUnlocked(collection, name: name.collection, interactive: interactive)
            let items = try session.search(collection, service: name.service, username: name.username, all: true, load: false)
            let names = items.pointers.compactMap { item -> String? in
                guard let raw = clavis_item_attribute(item, "username") else { return nil }
                defer { clavis_g_free(raw) }
                return String(cString: raw)
            }
            return Array(Set(names)).sorted()
        }
    }

    /// Stores the value: updates the item in place if one exists (keeping the label and attributes
    /// another tool gave it, and removing duplicates), otherwise creates one.
    public func store(_ secret: Secret, for reference: SecretReference) async throws {
        try checkScheme(of: reference)
        let name = try KeyringName(reference, requireUsername: true)
        logger.debug("keyring store", metadata: ["clavis.reference": "\(reference)", "clavis.bytes": "\(secret.count)"])
        try await perform(reference) { session in
            let collection = try session.collection(name.collection)
            try session.ensureUnlocked(collection, name: name.collection, interactive: interactive)
            let items = try session.search(collection, service: name.service, username: name.username, all: true, load: false)
            let existing = items.pointers
            if let first = existing.first {
                // Clavis annotations described the previous value: drop them before the value changes.
                let attributes = session.attributes(of: first)
                if attributes.keys.contains(where: { $0.hasPrefix(clavisPrefix) }) {
                    try session.setAttributes(first, attributes.filter { !$0.key.hasPrefix(clavisPrefix) })
                }
                try session.update(first, with: secret)
                for duplicate in existing.dropFirst() { try session.delete(duplicate) }
            } else {
                try session.create(in: collection, name: name, secret: secret)
            }
        }
    }

    /// The item's `clavis-…` attributes.
    public func annotations(for reference: SecretReference) async throws -> [String: String] {
        try checkScheme(of: reference)
        let name = try KeyringName(reference, requireUsername: true)
        return try await perform(reference) { session in
            let collection = try session.collection(name.collection)
            try session.ensureUnlocked(collection, name: name.collection, interactive: interactive)
            let items = try session.search(collection, service: name.service, username: name.username, all: false, load: false)
            guard let item = items.pointers.first else {
                throw ClavisError(.notFound, reference: reference.description,
                                  reason: "no keyring item with service '\(name.service)' and username '\(name.username ?? "")'")
            }
            return session.attributes(of: item).filter { $0.key.hasPrefix(clavisPrefix) }
        }
    }

    /// Stores the value and keeps the annotations as `clavis-…` attributes of the same item. The
    /// Secret Service has no call that sets both, so the old annotations are removed first, then
    /// the value is replaced, then the new annotations are set: an interruption leaves a value
    /// with no annotations (which callers treat as "unknown"), never a value with wrong ones.
    public func store(_ secret: Secret, annotations: [String: String], for reference: SecretReference) async throws {
        try checkScheme(of: reference)
        let name = try KeyringName(reference, requireUsername: true)
        try await perform(reference) { session in
            let collection = try session.collection(name.collection)
            try session.ensureUnlocked(collection, name: name.collection, interactive: interactive)
            var items = try session.search(collection, service: name.service, username: name.username, all: true, load: false)
            if items.pointers.isEmpty {
                try session.create(in: collection, name: name, secret: secret)
                items = try session.search(collection, service: name.service, username: name.username, all: true, load: false)
            }
            let existing = items.pointers
            guard let first = existing.first else {
                throw ClavisError(.serviceError, reference: reference.description, reason: "the keyring item vanished while it was being written")
            }
            let kept = session.attributes(of: first).filter { !$0.key.hasPrefix(clavisPrefix) }
            try session.setAttributes(first, kept)
            try session.update(first, with: secret)
            try session.setAttributes(first, kept.merging(annotations) { $1 })
            for duplicate in existing.dropFirst() { try session.delete(duplicate) }
        }
    }

    /// Deletes every item with the reference's service and username.
    public func delete(_ reference: SecretReference) async throws {
        try checkScheme(of: reference)
        let name = try KeyringName(reference, requireUsername: true)
        try await perform(reference) { session in
            let collection = try session.collection(name.collection)
            try session.ensureUnlocked(collection, name: name.collection, interactive: interactive)
            let items = try session.search(collection, service: name.service, username: name.username, all: true, load: false)
            let found = items.pointers
            guard !found.isEmpty else {
                throw ClavisError(.notFound, reference: reference.description,
                                  reason: "no keyring item with service '\(name.service)' and username '\(name.username ?? "")'")
            }
            for item in found { try session.delete(item) }
        }
    }

    /// `keyring:SERVICE/NAME[?collection=…]`, escaping what the syntax reserves.
    public func reference(named name: String, in container: SecretReference) throws -> SecretReference {
        let service = container.locator.split(separator: "/", maxSplits: 1).first.map(String.init) ?? container.locator
        return try SecretReference(scheme: "keyring", locator: "\(service)/\(KeyringName.escape(name))", query: container.query)
    }

    /// Reports the session bus, the Secret Service provider and the default collection's lock state.
    public func diagnose() async -> [SourceDiagnosis] {
        if let problem = SessionBus.problem() {
            return [SourceDiagnosis(scheme: "keyring", check: "D-Bus session bus", status: .unavailable, detail: problem, hint: SessionBus.hint)]
        }
        var findings = [SourceDiagnosis(scheme: "keyring", check: "D-Bus session bus", status: .ok, detail: "reachable")]
        do {
            let locked = try await perform("keyring:") { session in
                let collection = try session.collection("default")
                return clavis_secret_collection_get_locked(collection.pointer) != 0
            }
            findings.append(SourceDiagnosis(scheme: "keyring", check: "Secret Service", status: .ok, detail: "a provider answers"))
            findings.append(locked
                ? SourceDiagnosis(scheme: "keyring", check: "default collection", status: .warning, detail: "locked",
                                  hint: "unlock it by logging in, with --unlock, or `gnome-keyring-daemon --unlock` on a headless machine")
                : SourceDiagnosis(scheme: "keyring", check: "default collection", status: .ok, detail: "unlocked"))
        } catch let error as ClavisError {
            let check = error.code.is(.notFound) ? "default collection" : "Secret Service"
            findings.append(SourceDiagnosis(scheme: "keyring", check: check, status: .unavailable, detail: error.reason, hint: error.hint))
        } catch {
            findings.append(SourceDiagnosis(scheme: "keyring", check: "Secret Service", status: .unavailable, detail: "\(error)"))
        }
        return findings
    }

    /// Runs `body` on the keyring thread with a fresh session, a deadline and cancellation.
    private func perform<T: Sendable>(_ reference: SecretReference, _ body: @escaping @Sendable (borrowing KeyringSession) throws -> T) async throws -> T {
        try await perform(reference.description, body)
    }

    private func perform<T: Sendable>(_ reference: String, _ body: @escaping @Sendable (borrowing KeyringSession) throws -> T) async throws -> T {
        try await run(reference) { cancellable in
            try body(KeyringSession(cancellable: cancellable, reference: reference))
        }
    }

    /// Runs `body` on the keyring thread with the operation's GCancellable, a deadline and cancellation.
    private func run<T: Sendable>(_ reference: String, _ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        try Libsecret.load(reference: reference)
        let cancellable = Cancellable()
        let deadline = interactive ? max(timeout, .seconds(120)) : timeout
        let timer = DispatchWorkItem { cancellable.cancel() }
        KeyringThread.timers.asyncAfter(deadline: .now() + .nanoseconds(Int(deadline.components.seconds) * 1_000_000_000 + Int(deadline.components.attoseconds / 1_000_000_000)), execute: timer)
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                KeyringThread.queue.async {
                    do {
                        if cancellable.isCancelled {
                            throw ClavisError(.timedOut, reference: reference,
                                              reason: "the keyring was busy with another operation for longer than \(deadline)")
                        }
                        continuation.resume(returning: try body(cancellable.pointer))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            cancellable.cancel()
        }
    }
}

/// libsecret is loaded (CLibsecret: `dlopen` of libsecret-1.so.0) at the first keyring operation,
/// so a process that never touches a keyring never loads GLib.
enum Libsecret {
    /// Checks for a session bus, then loads libsecret once. No bus fails in microseconds, before
    /// libsecret is loaded (or libdbus tries to autolaunch one); a machine without libsecret gets a
    /// clear `source-unavailable` too.
    static func load(reference: String) throws {
        if let problem = SessionBus.problem() {
            throw ClavisError(.sourceUnavailable, reference: reference, reason: problem, hint: SessionBus.hint)
        }
        var reason: UnsafePointer<CChar>?
        guard clavis_libsecret_load(&reason) == 0 else {
            throw ClavisError(.sourceUnavailable, reference: reference,
                              reason: "libsecret could not be loaded (\(reason.map { String(cString: $0) } ?? "no detail"))",
                              hint: "install libsecret (Debian, Ubuntu: apt install libsecret-1-0), or keep the secret in an age: store or a systemd credential")
        }
    }
}

/// The one thread libsecret runs on, and the timers that cancel overdue calls.
enum KeyringThread {
    static let queue = DispatchQueue(label: "clavis.keyring")
    static let timers = DispatchQueue(label: "clavis.keyring.timers")
}

/// A GCancellable shared between the caller, the timer and the keyring thread (GCancellable is
/// thread-safe).
final class Cancellable: @unchecked Sendable {
    let pointer: OpaquePointer
    init() { pointer = clavis_g_cancellable_new() }
    deinit { clavis_g_object_unref(UnsafeMutableRawPointer(pointer)) }
    func cancel() { clavis_g_cancellable_cancel(pointer) }
    var isCancelled: Bool { clavis_g_cancellable_is_cancelled(pointer) != 0 }
}
