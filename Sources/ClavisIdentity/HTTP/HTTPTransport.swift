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

/// HTTP with the one retry policy: what every Clavis client sends requests through.
public struct HTTPTransport: Sendable {
    /// The largest reply body read.
    public static let maximumBodySize = 8 << 20
    /// The client (share one per process).
    public let client: HTTPClient
    /// How failures are retried.
    public var retry: RetryPolicy
    /// The deadline of one attempt.
    public var attemptTimeout: Duration
    let logger: Logger

    /// Creates a transport over `client` (default: AsyncHTTPClient's shared client).
    public init(client: HTTPClient = .shared, retry: RetryPolicy = .default, attemptTimeout: Duration = .seconds(30),
                logger: Logger = Logger(label: "clavis.http")) {
        self.client = client
        self.retry = retry
        self.attemptTimeout = attemptTimeout
        self.logger = logger
    }

    /// Sends a request, retrying network errors, 429 and 5xx per ``retry``. Returns the last
    /// reply (even a failing one) or throws ``ClavisError/Code/sourceUnavailable`` when the
    /// server could not be reached at all. Never logs bodies or authorization headers.
    public func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     retry overrideRetry: RetryPolicy? = nil, timeout: Duration? = nil) async throws -> HTTPReply {
        let policy = overrideRetry ?? retry
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let outcome: Result<HTTPReply, any Error>
            do {
                let deadline = timeout ?? attemptTimeout
                let response = try await client.execute(request, timeout: .nanoseconds(Int64(deadline.components.seconds) * 1_000_000_000
                                                                                     + deadline.components.attoseconds / 1_000_000_000))
                let buffer = try await response.body.collect(upTo: Self.maximumBodySize)
                outcome = .success(HTTPReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                             body: Array(buffer.readableBytesView)))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                outcome = .failure(error)
            }
            let retryAfter: Duration?
            switch outcome {
            case .success(let reply):
                guard RetryPolicy.isRetryable(status: reply.status), attempt < policy.maxAttempts else { return reply }
                retryAfter = RetryPolicy.retryAfter(reply.headers)
            case .failure(let error):
                guard attempt < policy.maxAttempts else {
                    throw ClavisError(.sourceUnavailable, reference: Self.redactedURL(url),
                                      reason: "could not reach \(Self.host(url)) after \(attempt) attempt(s): \(Self.describe(error))",
                                      hint: "check the network, DNS and proxy settings, and the endpoint's host name")
                }
                retryAfter = nil
            }
            let wait = policy.delay(afterAttempt: attempt, retryAfter: retryAfter)
            guard ContinuousClock.now - started + wait <= policy.maxTotal else {
                if case .success(let reply) = outcome { return reply }
                if case .failure(let error) = outcome {
                    throw ClavisError(.sourceUnavailable, reference: Self.redactedURL(url),
                                      reason: "could not reach \(Self.host(url)): \(Self.describe(error))")
                }
                return HTTPReply(status: 0, headers: [], body: [])
            }
            logger.debug("retrying HTTP request", metadata: ["clavis.http.host": "\(Self.host(url))", "clavis.http.attempt": "\(attempt)",
                                                              "clavis.http.wait_ms": "\(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)"])
            try await Task.sleep(for: wait)
        }
    }

    static func host(_ url: String) -> String { URL(string: url)?.host ?? url }

    static func redactedURL(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.query = nil
        return components.string ?? url
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// `application/x-www-form-urlencoded` encoding of `fields`.
    public static func formBody(_ fields: [(String, String)]) -> [UInt8] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let text = fields.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }.joined(separator: "&")
        return Array(text.utf8)
    }
}
