import ClavisCore
import ClavisIdentity
import Foundation

/// How the client talks to a vault: the challenge, one fresh-token retry after a refused token,
/// retries of `ObjectIsBeingDeleted`, paging within the vault's origin, and polling.
extension KeyVaultClient {
    /// Every item of a list, following `nextLink` (only within the vault's origin).
    func list(_ location: KeyVaultLocation, path: String, reference: String) async throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        var reply = try await send(.GET, location, path: path, query: "maxresults=25", reference: reference, operation: "list")
        var pages = 0
        while true {
            guard let object = reply.jsonObject else { throw ClavisError(.serviceError, reference: reference, reason: "a list page is not JSON") }
            items += object["value"] as? [[String: Any]] ?? []
            pages += 1
            guard let next = object["nextLink"] as? String, !next.isEmpty, pages < 10_000 else { return items }
            // nextLink is followed verbatim, but only to the vault's own origin: same scheme, host and port.
            guard let origin = Origin(next), origin == Origin(location.vault) else {
                throw ClavisError(.permissionDenied, reference: reference,
                                  reason: "a nextLink points to \(Origin(next)?.description ?? "an invalid URL"), outside the vault's origin \(Origin(location.vault)?.description ?? location.host); it was not followed",
                                  hint: "a vault only pages within itself; check the vault URL (a proxy rewriting links?)")
            }
            reply = try await sendURL(.GET, next, location: location, reference: reference, operation: "list")
        }
    }

    /// Polls `path` until it answers 200 (or 403, which ends the wait as it does in the Azure SDK's
    /// `RecoverDeletedPollingMethod`: the caller may lack `get`), 404 meaning "not yet"; bounded by
    /// ``KeyVaultPolling/timeout``.
    func poll(_ location: KeyVaultLocation, path: String, reference: String, what: String) async throws {
        let started = ContinuousClock.now
        while true {
            do {
                _ = try await send(.GET, location, path: path, reference: reference, operation: "get")
                return
            } catch let error as ClavisError where error.serviceReply?.status == 403 {
                return
            } catch let error as ClavisError where error.code == .notFound {
                guard ContinuousClock.now - started + polling.interval <= polling.timeout else {
                    throw ClavisError(.timedOut, reference: reference, reason: "Key Vault accepted \(what) but had not completed it after \(polling.timeout)",
                                      hint: "it usually takes seconds; check again with clavis secret list --deleted")
                }
                try await Task.sleep(for: polling.interval)
            }
        }
    }

    func send(_ method: HTTPMethod, _ location: KeyVaultLocation, path: String, query: String? = nil, body: [UInt8]? = nil,
              reference: String, operation: String) async throws -> HTTPReply {
        var url = location.vault.absoluteString + path + "?api-version=\(Self.apiVersion)"
        if let query { url += "&" + query }
        return try await sendURL(method, url, location: location, body: body, reference: reference, operation: operation)
    }

    /// Sends with the challenge protocol, retrying 409 `ObjectIsBeingDeleted` (a delete or purge
    /// still completing) with the transport's backoff until ``KeyVaultPolling/timeout``.
    func sendURL(_ method: HTTPMethod, _ url: String, location: KeyVaultLocation, body: [UInt8]? = nil,
                 reference: String, operation: String) async throws -> HTTPReply {
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            let reply = try await authenticated(method, url, location: location, body: body, reference: reference, operation: operation)
            if (200..<300).contains(reply.status) { return reply }
            let error = KeyVaultErrorReply.map(reply, reference: reference, operation: operation)
            guard KeyVaultErrorReply.isBeingDeleted(reply) else { throw error }
            let wait = max(transport.retry.delay(afterAttempt: attempt, retryAfter: nil), polling.interval)
            guard ContinuousClock.now - started + wait <= polling.timeout else { throw error }
            try await Task.sleep(for: wait)
        }
    }

    /// One request with the challenge protocol: unauthenticated first (or with the token of the
    /// remembered challenge), then with a token for the validated challenge; after a 401 whose
    /// challenge is unchanged, once more with a fresh token (the cached one dropped).
    func authenticated(_ method: HTTPMethod, _ url: String, location: KeyVaultLocation, body: [UInt8]?,
                       reference: String, operation: String) async throws -> HTTPReply {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        var challenge = challenges.withLock { $0[location.host] }
        var refreshed = false
        for _ in 0..<3 {
            var sent = headers
            if let challenge {
                let context = TokenRequestContext(resource: challenge.resource, tenant: challenge.tenant)
                let token = try await credential.getToken(context)
                guard let text = token.token.revealedString() else { throw ClavisError(.serviceError, reference: reference, reason: "the token is not text") }
                sent.append(("Authorization", "Bearer \(text)"))
            }
            let reply = try await transport.send(method, url, headers: sent, body: challenge == nil ? (body == nil ? nil : []) : body)
            guard reply.status == 401, let header = reply.header("WWW-Authenticate") else { return reply }
            let parsed = try parseChallenge(header, location: location, reference: reference)
            let known = challenge
            challenges.withLock { $0[location.host] = parsed }
            if let known, known == parsed {
                // The token was refused though the challenge is the same: drop it, try once with a new one.
                guard !refreshed else { return reply }
                refreshed = true
                await credential.invalidate(TokenRequestContext(resource: parsed.resource, tenant: parsed.tenant))
            }
            challenge = parsed
        }
        throw ClavisError(.permissionDenied, reference: reference, reason: "Key Vault kept asking for authentication")
    }
}
