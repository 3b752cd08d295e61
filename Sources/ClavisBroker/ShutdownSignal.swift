import Foundation
import ServiceLifecycle
import Synchronization

/// Raised once, when the broker begins its graceful shutdown: every request still waiting for a
/// token is answered at once (503) instead of holding the shutdown — and its client — hostage.
public final class ShutdownSignal: Sendable {
    private struct State {
        var raised = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    /// Creates a signal, not raised.
    public init() {}

    /// Whether it has been raised.
    public var isRaised: Bool { state.withLock { $0.raised } }

    /// Raises it: every waiter resumes.
    public func raise() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.raised = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns when the signal is raised, or when the task is cancelled.
    public func wait() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.raised || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: id) }
            continuation?.resume()
        }
    }

    /// The value of `body`, or ``BrokerShuttingDown`` if the signal is raised first.
    public func race<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        if isRaised { throw BrokerShuttingDown() }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                await self.wait()
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw BrokerShuttingDown() }
            return value
        }
    }
}

/// The broker is shutting down.
public struct BrokerShuttingDown: Error {}

/// A service that does nothing but raise the signal when the service group begins its graceful
/// shutdown. Listed last, it is told first (ServiceGroup shuts services down in reverse order).
struct ShutdownWatcher: Service {
    let signal: ShutdownSignal

    func run() async throws {
        try? await gracefulShutdown()
        signal.raise()
    }
}
