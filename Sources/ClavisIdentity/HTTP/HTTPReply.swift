import AsyncHTTPClient
import ClavisCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// A reply, fully read.
public struct HTTPReply: Sendable {
    /// The status code.
    public var status: Int
    /// The headers, in order.
    public var headers: [(String, String)]
    /// The body (at most ``HTTPTransport/maximumBodySize`` bytes).
    public var body: [UInt8]

    /// The first value of a header, case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// The body parsed as a JSON object, or `nil`.
    public var jsonObject: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}
