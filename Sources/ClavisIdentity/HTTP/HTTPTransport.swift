import AsyncHTTPClient
import ClavisCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The HTTP method type of the transport (NIO's), re-exported for the modules built on it.
public typealias HTTPMethod = NIOHTTP1.HTTPMethod

/// HTTP with the one retry policy: what every Clavis client sends requests through.
public struct HTTPTransport: Sendable {
    /// The largest reply body read.
    public static let maximumBodySize = 8 << 20
    /// The client (share one per process): the one given, else ``defaultClient`` — made on the
    /// first request, not when a transport is created, so a command that never goes to the network
    /// starts no event-loop threads.
    public var client: HTTPClient { explicitClient ?? Self.defaultClient }
    private let explicitClient: HTTPClient?
    /// How failures are retried.
    public var retry: RetryPolicy
    /// The deadline of one attempt.
    public var attemptTimeout: Duration
    /// Where each request is logged at debug level: the logger given, else the task's
    /// (`Logger.current`, swift-log's way for libraries); also handed to AsyncHTTPClient.
    public var logger: Logger { explicitLogger ?? Logger.current }
    private let explicitLogger: Logger?

    /// The process-wide client Clavis uses by default: like AsyncHTTPClient's shared one, but
    /// without AsyncHTTPClient's own retries of connection establishment — a refused connection
    /// or an unresolvable host fails at once and the one Clavis retry policy decides what next,
    /// instead of the request hanging until its deadline.
    /// Made on first use, so CA files added with ``TrustedCAs/add(files:)`` before it count.
    public static var defaultClient: HTTPClient { shared.client }

    private final class Shared: Sendable {
        let client: HTTPClient = HTTPTransport.makeClient()
    }
    private static let shared = Shared()

    /// The one way to build an `HTTPClient` for a transport (e.g. with a TLS configuration that
    /// trusts a private CA): `configuration` as given, but never following a redirect — a `3xx`
    /// reaches ``send(_:_:headers:body:retry:timeout:)``, which refuses it, so a token, a client
    /// secret or a request body never goes to a host the caller did not name — and without
    /// AsyncHTTPClient's own retries of connection establishment, and trusting the extra CAs of
    /// ``TrustedCAs`` (`--ca-file`, `CLAVIS_CA_FILE`, `SSL_CERT_FILE`) besides the system roots.
    /// Shut the client down when done.
    public static func makeClient(_ configuration: HTTPClient.Configuration = HTTPClient.Configuration()) -> HTTPClient {
        var configuration = configuration
        TrustedCAs.apply(to: &configuration)
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        if configuration.timeout.connect == nil { configuration.timeout.connect = .seconds(10) }
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Creates a transport over `client` (default: ``defaultClient``, made on first use).
    public init(client: HTTPClient? = nil, retry: RetryPolicy = .default, attemptTimeout: Duration = .seconds(30),
                logger: Logger? = nil) {
        explicitClient = client
        self.retry = retry
        self.attemptTimeout = attemptTimeout
        explicitLogger = logger
    }

    /// Sends a request, retrying network errors, 429 and 5xx per ``retry``. Returns the last
    /// reply (even a failing one) or throws ``ClavisError/Code/sourceUnavailable`` when the
    /// server could not be reached at all. A redirect (`3xx`) is never followed: it throws
    /// ``ClavisError/Code/serviceError`` naming the status and the host it points to. Never logs
    /// bodies or authorization headers.
    public func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     retry overrideRetry: RetryPolicy? = nil, timeout: Duration? = nil) async throws -> HTTPReply {
        let policy = overrideRetry ?? retry
        let started = ContinuousClock.now
        var attempt = 0
        let logger = logger
        // AsyncHTTPClient gets the logger no finer than debug: at trace it hex-dumps the first and
        // last 32 bytes of every HTTP/1.1 body part — a secret from Key Vault, a token, a form body.
        let clientLogger: Logger = {
            var coarser = logger
            if coarser.logLevel < .debug { coarser.logLevel = .debug }
            return coarser
        }()
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let outcome: Result<HTTPReply, any Error>
            let attemptStarted = ContinuousClock.now
            do {
                let deadline = timeout ?? attemptTimeout
                let request = request
                // A hard bound on the attempt: AsyncHTTPClient keeps retrying a refused connection
                // past its own deadline, and a probe must not hang.
                outcome = .success(try await Self.bounded(deadline) {
                    let response = try await client.execute(request, timeout: .nanoseconds(Int64(deadline.components.seconds) * 1_000_000_000
                                                                                        + deadline.components.attoseconds / 1_000_000_000),
                                                            logger: clientLogger)
                    let buffer = try await response.body.collect(upTo: Self.maximumBodySize)
                    return HTTPReply(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                     body: Array(buffer.readableBytesView))
                })
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                outcome = .failure(error)
            }
            if case .success(let reply) = outcome { logAttempt(method, url, attempt: attempt, started: attemptStarted, reply: reply, logger: logger) }
            let retryAfter: Duration?
            switch outcome {
            case .success(let reply):
                if (300..<400).contains(reply.status) { throw Self.redirected(url, reply) }
                guard policy.retries(status: reply.status), attempt < policy.maxAttempts else { return reply }
                let asked = [RetryPolicy.retryAfter(reply.headers), policy.replyWait?(reply)].compactMap { $0 }
                retryAfter = asked.max()
            case .failure(let error):
                guard attempt < policy.maxAttempts, policy.retriesWithoutReply else {
                    throw Self.unreachable(url, error, attempts: attempt)
                }
                retryAfter = nil
            }
            let wait = policy.delay(afterAttempt: attempt, retryAfter: retryAfter)
            guard ContinuousClock.now - started + wait <= policy.maxTotal else {
                if case .success(let reply) = outcome { return reply }
                if case .failure(let error) = outcome {
                    throw ClavisError(.sourceUnavailable, reference: Self.redactedURL(url),
                                      reason: "could not reach \(Self.host(url)): \(Self.describe(error))", cause: error)
                }
                return HTTPReply(status: 0, headers: [], body: [])
            }
            // A failed attempt is logged only here, when it is retried: the last one is thrown instead.
            var metadata: Logger.Metadata = ["clavis.http.host": "\(Self.host(url))", "clavis.http.attempt": "\(attempt)",
                                             "clavis.http.wait_ms": "\(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000)"]
            if case .failure(let error) = outcome { metadata["clavis.http.error"] = "\(Self.describe(error))" }
            logger.debug("retrying HTTP request", metadata: metadata)
            try await Task.sleep(for: wait)
        }
    }

    /// One debug line per answered attempt (`CLAVIS_LOG_LEVEL=debug`, `--verbose`): method, host,
    /// path, status, time — never the query, a header or a body, so no secret or token.
    private func logAttempt(_ method: HTTPMethod, _ url: String, attempt: Int, started: ContinuousClock.Instant,
                            reply: HTTPReply, logger: Logger) {
        let elapsed = ContinuousClock.now - started
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        var metadata: Logger.Metadata = [
            "clavis.http.method": "\(method.rawValue)", "clavis.http.host": "\(Self.host(url))",
            "clavis.http.path": "\(URLComponents(string: url)?.path ?? "")", "clavis.http.attempt": "\(attempt)",
            "clavis.http.ms": "\(milliseconds)",
        ]
        metadata["clavis.http.status"] = "\(reply.status)"
        logger.debug("HTTP request", metadata: metadata)
    }

    /// Runs `body`, giving up after `deadline` without waiting for it to notice cancellation
    /// (a task group would wait for its child).
    static func bounded<T: Sendable>(_ deadline: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let once = ResumeOnce<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                once.set(continuation)
                let work = Task {
                    do { once.resume(.success(try await body())) } catch { once.resume(.failure(error)) }
                }
                once.onFinish { work.cancel() }
                Task {
                    try? await Task.sleep(for: deadline)
                    once.resume(.failure(AttemptTimedOut(deadline: deadline)))
                }
            }
        } onCancel: {
            once.resume(.failure(CancellationError()))
        }
    }

    static func host(_ url: String) -> String { URL(string: url)?.host ?? url }

    /// The error for a redirect: the status, and the host (and port) of `Location` — never its
    /// path or query, which may carry codes or tokens.
    static func redirected(_ url: String, _ reply: HTTPReply) -> ClavisError {
        let target = reply.header("Location").flatMap { URL(string: $0, relativeTo: URL(string: url))?.absoluteURL }
        let targetHost = target.flatMap { target in target.host.map { host in host + (target.port.map { ":\($0)" } ?? "") } } ?? "an unnamed location"
        return ClavisError(.serviceError, reference: redactedURL(url),
                           reason: "\(host(url)) answered HTTP \(reply.status), redirecting to \(targetHost); Clavis never follows redirects",
                           hint: "configure the final URL (authority, vault or API base URL) directly; following a redirect could hand a token or a secret to another host")
    }

    /// The error for a server that could not be reached, saying whether the name did not resolve.
    static func unreachable(_ url: String, _ error: any Error, attempts: Int) -> ClavisError {
        let text = describe(error)
        let lowered = text.lowercased()
        if ["dnsfailed", "resolve", "nodename", "name or service not known", "no address associated", "nxdomain", "lookup"].contains(where: lowered.contains) {
            return ClavisError(.sourceUnavailable, reference: redactedURL(url),
                               reason: "the host \(host(url)) does not resolve (DNS): \(text)",
                               hint: "check the host name in the reference or endpoint (a vault or tenant name typo?), and DNS", cause: error)
        }
        return ClavisError(.sourceUnavailable, reference: redactedURL(url),
                           reason: "could not reach \(host(url)) after \(attempts) attempt(s): \(text)",
                           hint: "check the network, DNS and proxy settings, and the endpoint's host name", cause: error)
    }

    static func redactedURL(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.query = nil
        return components.string ?? url
    }

    static func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters (for query values and forms).
    public static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// `application/x-www-form-urlencoded` encoding of `fields`.
    public static func formBody(_ fields: [(String, String)]) -> [UInt8] {
        Array(fields.map { "\(percentEncode($0))=\(percentEncode($1))" }.joined(separator: "&").utf8)
    }
}
