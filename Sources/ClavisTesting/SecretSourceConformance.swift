import ClavisCore

/// The contract every ``SecretSource`` keeps, checked once for all — as swift-configuration's
/// `ProviderCompatTest` checks its providers. Run it against your own source in your tests:
///
/// ```swift
/// import ClavisTesting
/// import Testing
///
/// @Test func mySourceKeepsTheContract() async throws {
///     let fixture = try await SecretSourceConformance(
///         source: MySource(),
///         seeded: SecretReference(parsing: "my:present"), value: Secret("v"),   // stored beforehand
///         missing: SecretReference(parsing: "my:absent"),
///         container: SecretReference(parsing: "my:"))                           // for listing
///     let problems = await fixture.run()
///     #expect(problems.isEmpty, "\(problems)")
/// }
/// ```
///
/// What it checks, each a line in ``run()``'s result when broken:
/// - the seeded secret reads back byte for byte; a missing one is ``ClavisError/Code/notFound``
///   (or a code refining it) — the code ``SecretChain`` relies on to move on — never another error;
/// - listing (when ``SecretSourceCapabilities/list``) is sorted, holds the seeded name and no value;
/// - a writable source stores a fresh secret, overwrites it, deletes it (then reading is not found),
///   and deleting it again is not found;
/// - no error or description ever contains a value the suite used;
/// - a read in a cancelled task ends (any result or error), within ``cancellationDeadline``;
/// - an unusable source (when given) fails with ``ClavisError/Code/sourceUnavailable``.
public struct SecretSourceConformance: Sendable {
    /// The source under test.
    public var source: any SecretSource
    /// A reference the source holds, with ``value``.
    public var seeded: SecretReference
    /// The seeded value.
    public var value: Secret
    /// A reference the source does not hold.
    public var missing: SecretReference
    /// A container to list, holding ``seeded`` (nil: the source cannot list).
    public var container: SecretReference?
    /// Where a writable source may create, overwrite and delete a secret (nil: not writable).
    public var scratch: SecretReference?
    /// The same kind of source made unusable (no daemon, no file, unreachable), with a reference.
    public var unusable: (source: any SecretSource, reference: SecretReference)?
    /// How long a cancelled read may take to end.
    public var cancellationDeadline: Duration = .seconds(10)

    /// A fixture. `seeded` must already hold `value`.
    public init(source: any SecretSource, seeded: SecretReference, value: Secret, missing: SecretReference,
                container: SecretReference? = nil, scratch: SecretReference? = nil,
                unusable: (source: any SecretSource, reference: SecretReference)? = nil) {
        self.source = source
        self.seeded = seeded
        self.value = value
        self.missing = missing
        self.container = container
        self.scratch = scratch
        self.unusable = unusable
    }

    /// Runs every check; returns one line per broken rule (empty: the source keeps the contract).
    public func run() async -> [String] {
        var problems: [String] = []
        let canaries = [value, Secret("clavis-conformance-first-value-7f3a"), Secret("clavis-conformance-second-value-9c1e")]
        func leaks(_ text: String) -> Bool { canaries.contains { $0.revealedString().map { text.contains($0) } ?? false } }
        func check(_ error: any Error, _ what: String) {
            if leaks("\(error)") || leaks(String(reflecting: error)) { problems.append("\(what): the error shows a secret value") }
        }

        // Read, and not found.
        do {
            let read = try await source.secret(for: seeded)
            if read != value { problems.append("read \(seeded): a different value came back") }
        } catch {
            problems.append("read \(seeded): \(error)")
            check(error, "read")
        }
        do {
            _ = try await source.secret(for: missing)
            problems.append("read \(missing): a missing secret was returned")
        } catch let error as ClavisError {
            if !error.code.is(.notFound) { problems.append("read \(missing): code \(error.code), expected not-found (SecretChain moves on only then)") }
            check(error, "missing")
        } catch {
            problems.append("read \(missing): \(type(of: error)) thrown, expected ClavisError")
        }
        if leaks(source.sourceDescription) { problems.append("sourceDescription shows a secret value") }

        // Listing.
        if let container, source.capabilities.contains(.list) {
            do {
                let names = try await source.listNames(in: container)
                if names != names.sorted() { problems.append("list \(container): names not sorted") }
                if names.contains(where: leaks) { problems.append("list \(container): a value among the names") }
                if !names.contains(where: { (try? source.reference(named: $0, in: container))?.description == seeded.description }) {
                    problems.append("list \(container): the seeded secret \(seeded) is not listed (names: \(names.count))")
                }
            } catch {
                problems.append("list \(container): \(error)")
                check(error, "list")
            }
        }

        // Write, overwrite, delete.
        if let scratch, let writable = source as? any WritableSecretSource {
            do {
                try await writable.store(canaries[1], for: scratch)
                if try await writable.secret(for: scratch) != canaries[1] { problems.append("store \(scratch): read back differs") }
                try await writable.store(canaries[2], for: scratch)
                if try await writable.secret(for: scratch) != canaries[2] { problems.append("store \(scratch): an overwrite did not replace the value") }
                try await writable.delete(scratch)
            } catch {
                problems.append("write cycle \(scratch): \(error)")
                check(error, "write cycle")
            }
            do {
                _ = try await writable.secret(for: scratch)
                problems.append("delete \(scratch): still readable")
            } catch let error as ClavisError {
                if !error.code.is(.notFound) { problems.append("read after delete: code \(error.code), expected not-found") }
                check(error, "read after delete")
            } catch {
                problems.append("read after delete: \(type(of: error)) thrown")
            }
            do {
                try await writable.delete(scratch)
                problems.append("delete \(scratch) again: no error, expected not-found")
            } catch let error as ClavisError {
                if !error.code.is(.notFound) { problems.append("delete again: code \(error.code), expected not-found") }
                check(error, "delete again")
            } catch {
                problems.append("delete again: \(type(of: error)) thrown")
            }
        }

        // Unusable.
        if let unusable {
            do {
                _ = try await unusable.source.secret(for: unusable.reference)
                problems.append("unusable source: a read succeeded")
            } catch let error as ClavisError {
                if !error.code.is(.sourceUnavailable) {
                    problems.append("unusable source: code \(error.code), expected source-unavailable")
                }
                check(error, "unusable")
            } catch {
                problems.append("unusable source: \(type(of: error)) thrown")
            }
        }

        // Cancellation: a cancelled read ends.
        let reader = self.source, target = self.seeded
        let read = Task { _ = try? await reader.secret(for: target) }
        read.cancel()
        let ended = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await read.value; return true }
            let deadline = cancellationDeadline
            group.addTask { try? await Task.sleep(for: deadline); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !ended { problems.append("a cancelled read did not end within \(cancellationDeadline)") }
        return problems
    }
}
