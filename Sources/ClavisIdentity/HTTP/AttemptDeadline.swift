import AsyncHTTPClient
import ClavisCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Resumes a continuation once, whichever of the racers comes first.
final class ResumeOnce<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var pending: Result<T, any Error>?
    private var finished = false
    private var cleanup: (@Sendable () -> Void)?

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let pending {
            lock.unlock()
            continuation.resume(with: pending)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    func onFinish(_ action: @escaping @Sendable () -> Void) {
        lock.lock()
        if finished { lock.unlock(); action(); return }
        cleanup = action
        lock.unlock()
    }

    func resume(_ result: Result<T, any Error>) {
        lock.lock()
        guard !finished else { lock.unlock(); return }
        finished = true
        let continuation = self.continuation
        if continuation == nil { pending = result }
        let cleanup = self.cleanup
        lock.unlock()
        continuation?.resume(with: result)
        cleanup?()
    }
}

/// One attempt ran past its deadline.
struct AttemptTimedOut: Error, CustomStringConvertible {
    var deadline: Duration
    var description: String { "no reply within \(deadline)" }
}
