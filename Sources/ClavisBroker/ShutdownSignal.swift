import Foundation
import ServiceLifecycle
import Synchronization

/// Raised once, when the broker begins its graceful shutdown: every request still waiting for a
/// token is answered at once (503) instead of holding the shutdown — and its client — hostage.
public final class ShutdownSignal: Sendable {
    private struct State {
        var raised = false
        var callbacks: [UUID: @Sendable () -> Void] = [:]
    }
    private let state = Mutex(State())

    /// Creates a signal, not raised.
    public init() {}

    /// Whether it has been raised.
    public var isRaised: Bool { state.withLock { $0.raised } }

    /// Raises it: every request racing it is answered at once.
    public func raise() {
        let callbacks = state.withLock { state -> [@Sendable () -> Void] in
            state.raised = true
            defer { state.callbacks = [:] }
            return Array(state.callbacks.values)
        }
        callbacks.forEach { $0() }
    }

    /// The value of `body`, or ``BrokerShuttingDown`` as soon as the signal is raised — without
    /// waiting for `body` (a token request shared by many callers is not cancelled by one of them
    /// leaving, so it cannot be awaited to its end here).
    public func race<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = ResumeOnce<T>()
        let id = UUID()
        return try await withCheckedThrowingContinuation { continuation in
            once.set(continuation)
            let raised = state.withLock { state -> Bool in
                if state.raised { return true }
                state.callbacks[id] = { once.resume(.failure(BrokerShuttingDown())) }
                return false
            }
            if raised {
                once.resume(.failure(BrokerShuttingDown()))
                return
            }
            Task {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                _ = self.state.withLock { $0.callbacks.removeValue(forKey: id) }
                once.resume(result)
            }
        }
    }
}

/// A continuation resumed at most once, by whichever outcome comes first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ value: CheckedContinuation<T, any Error>) { continuation.withLock { $0 = value } }

    func resume(_ result: Result<T, any Error>) {
        let taken = continuation.withLock { value -> CheckedContinuation<T, any Error>? in
            defer { value = nil }
            return value
        }
        taken?.resume(with: result)
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
