import ClavisCore
import Configuration
import Synchronization

/// A swift-configuration provider that wraps another and resolves the values that are secret
/// references, returning them marked `isSecret` so swift-configuration redacts them.
///
/// ```swift
/// // DEFENDER_CLIENT_SECRET=keyring:defender-daemon/app-secret in the environment
/// let provider = try await SecretReferenceProvider(
///     upstream: EnvironmentVariablesProvider(), resolver: .standard, resolvingAhead: ["defender.client.secret"])
/// let config = ConfigReader(provider: provider)
/// let secret = config.string(forKey: "defender.client.secret", isSecret: true)
/// ```
///
/// - A string value is a reference when it parses as one whose scheme the resolver serves
///   (`keyring:…`, `age:…`, `env:…`), or when it starts with `clavis:`. Everything else passes
///   through untouched.
/// - Sync reads (`value`, `snapshot`) come from values resolved ahead (`resolvingAhead`, or any
///   earlier `fetchValue`); a reference not resolved yet fails with an error saying so rather than
///   blocking.
/// - `fetchValue` re-resolves every time. `watchValue`/`watchSnapshot` re-resolve every
///   `refreshInterval` and deliver changes, so a rotated secret reaches the app without a restart.
public final class SecretReferenceProvider<Upstream: ConfigProvider>: Sendable {
    private let upstream: Upstream
    private let resolver: SecretResolver
    /// How often watchers re-resolve references.
    public let refreshInterval: Duration
    private let resolved = Mutex<[String: ConfigContent]>([:])

    /// Wraps `upstream` and resolves the references at `keys` (dot-separated, e.g.
    /// `defender.client.secret`) ahead, for sync reads.
    public init(upstream: Upstream, resolver: SecretResolver, resolvingAhead keys: [String] = [],
                refreshInterval: Duration = .seconds(300)) async throws {
        self.upstream = upstream
        self.resolver = resolver
        self.refreshInterval = refreshInterval
        for key in keys {
            let absolute = AbsoluteConfigKey(key.split(separator: ".").map(String.init))
            _ = try await fetchValue(forKey: absolute, type: .string)
        }
    }

    /// The reference a value holds, if it is one.
    func reference(in value: ConfigValue?) -> SecretReference? {
        guard case .string(var text)? = value?.content else { return nil }
        let explicit = text.hasPrefix(SecretEnvironment.inheritedPrefix)
        if explicit { text.removeFirst(SecretEnvironment.inheritedPrefix.count) }
        guard let reference = try? SecretReference(parsing: text) else { return nil }
        return explicit || resolver.schemes.contains(reference.scheme) ? reference : nil
    }

    /// Looks the key up as a string in `lookup` to see whether it holds a reference.
    func referenceLookup(_ key: AbsoluteConfigKey, type: ConfigType,
                         _ lookup: (ConfigType) throws -> LookupResult) -> (LookupResult, SecretReference)? {
        guard type == .string || type == .bytes, let result = try? lookup(.string), let reference = reference(in: result.value) else {
            return nil
        }
        return (result, reference)
    }

    static func cacheKey(_ key: AbsoluteConfigKey, _ type: ConfigType) -> String { "\(type.rawValue):\(key)" }

    func content(of secret: Secret, type: ConfigType, reference: SecretReference) throws -> ConfigContent {
        if type == .bytes { return .bytes(secret.revealedBytes()) }
        guard let text = secret.revealedString() else {
            throw ClavisError(.invalidValue, reference: reference.description, reason: "the secret is not UTF-8; read it as bytes")
        }
        return .string(text)
    }

    func cachedLookup(_ key: AbsoluteConfigKey, type: ConfigType, lookup: (ConfigType) throws -> LookupResult) throws -> LookupResult {
        guard let (result, reference) = referenceLookup(key, type: type, lookup) else { return try lookup(type) }
        guard let content = resolved.withLock({ $0[Self.cacheKey(key, type)] }) else {
            throw ClavisError(.notFound, reference: reference.description,
                              reason: "configuration key '\(key)' holds a secret reference that was not resolved ahead",
                              hint: "list the key in resolvingAhead:, or read it with fetch/watch")
        }
        return LookupResult(encodedKey: result.encodedKey, value: ConfigValue(content, isSecret: true))
    }
}

extension SecretReferenceProvider: ConfigProvider {
    /// `SecretReferenceProvider[upstream: …]`.
    public var providerName: String { "SecretReferenceProvider[upstream: \(upstream.providerName)]" }

    /// The upstream value, or the resolved-ahead secret when it is a reference.
    public func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
        try cachedLookup(key, type: type) { try upstream.value(forKey: key, type: $0) }
    }

    /// Re-resolves a reference (updating what sync reads see), or passes through.
    nonisolated(nonsending) public func fetchValue(forKey key: AbsoluteConfigKey, type: ConfigType) async throws -> LookupResult {
        let upstreamResult = try? await upstream.fetchValue(forKey: key, type: .string)
        guard type == .string || type == .bytes, let upstreamResult, let reference = reference(in: upstreamResult.value) else {
            return try await upstream.fetchValue(forKey: key, type: type)
        }
        let secret = try await resolver.secret(for: reference)
        let content = try content(of: secret, type: type, reference: reference)
        resolved.withLock { $0[Self.cacheKey(key, type)] = content }
        return LookupResult(encodedKey: upstreamResult.encodedKey, value: ConfigValue(content, isSecret: true))
    }

    /// Delivers the value now and again whenever a re-resolution every `refreshInterval` changes it.
    nonisolated(nonsending) public func watchValue<Return: ~Copyable>(
        forKey key: AbsoluteConfigKey, type: ConfigType,
        updatesHandler: (_ updates: ConfigUpdatesAsyncSequence<Result<LookupResult, any Error>, Never>) async throws -> Return
    ) async throws -> Return {
        let (stream, continuation) = AsyncStream<Result<LookupResult, any Error>>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let interval = refreshInterval
        let producer = Task {
            var last: Result<LookupResult, any Error>?
            while !Task.isCancelled {
                let current: Result<LookupResult, any Error>
                do { current = .success(try await fetchValue(forKey: key, type: type)) } catch { current = .failure(error) }
                if !Self.same(last, current) { continuation.yield(current) }
                last = current
                try? await Task.sleep(for: interval)
            }
            continuation.finish()
        }
        defer { producer.cancel() }
        return try await updatesHandler(ConfigUpdatesAsyncSequence(stream))
    }

    /// A snapshot of the upstream with the resolved-ahead secrets.
    public func snapshot() -> any ConfigSnapshot {
        Snapshot(provider: self, upstream: upstream.snapshot())
    }

    /// Delivers a snapshot now and after every refresh of the references resolved so far.
    nonisolated(nonsending) public func watchSnapshot<Return: ~Copyable>(
        updatesHandler: (_ updates: ConfigUpdatesAsyncSequence<any ConfigSnapshot, Never>) async throws -> Return
    ) async throws -> Return {
        let (stream, continuation) = AsyncStream<any ConfigSnapshot>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let interval = refreshInterval
        let producer = Task {
            continuation.yield(snapshot())
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                let before = resolved.withLock { $0 }
                for cacheKey in before.keys {
                    let parts = cacheKey.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, let type = ConfigType(rawValue: String(parts[0])) else { continue }
                    let key = AbsoluteConfigKey(parts[1].split(separator: ".").map(String.init))
                    _ = try? await fetchValue(forKey: key, type: type)
                }
                if resolved.withLock({ $0 }) != before { continuation.yield(snapshot()) }
            }
            continuation.finish()
        }
        defer { producer.cancel() }
        return try await updatesHandler(ConfigUpdatesAsyncSequence(stream))
    }

    private static func same(_ a: Result<LookupResult, any Error>?, _ b: Result<LookupResult, any Error>) -> Bool {
        guard case .success(let x)? = a, case .success(let y) = b else { return false }
        return x == y
    }

    private struct Snapshot: ConfigSnapshot {
        let provider: SecretReferenceProvider
        let upstream: any ConfigSnapshot
        var providerName: String { provider.providerName }
        func value(forKey key: AbsoluteConfigKey, type: ConfigType) throws -> LookupResult {
            try provider.cachedLookup(key, type: type) { try upstream.value(forKey: key, type: $0) }
        }
    }
}
