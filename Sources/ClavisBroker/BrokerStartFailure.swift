import ClavisCore
import ClavisIdentity
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The broker could not start.
public struct BrokerStartFailure: Error, CustomStringConvertible {
    /// Why.
    public var reason: String
    /// `the broker could not start: REASON`.
    public var description: String { "the broker could not start: \(reason)" }
}
