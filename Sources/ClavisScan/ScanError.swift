import Foundation

/// A usage or I/O problem of the scanner (exit status 2).
public struct ScanError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public var message: String
    /// The message.
    public var description: String { message }
}
