/// What a copy did: counts and the references involved, never values.
public struct SecretCopyReport: Sendable, Codable, Equatable {
    /// Destinations written (or, in a dry run, that would be).
    public var copied: [String] = []
    /// Destinations left alone because they exist and `overwrite` was off.
    public var skipped: [String] = []
    /// Sources that could not be copied, with the reason.
    public var failed: [Failure] = []
    /// Whether nothing was written.
    public var dryRun = false

    /// One failed item.
    public struct Failure: Sendable, Codable, Equatable {
        /// The source reference.
        public var source: String
        /// Why (a `ClavisError` description; never a value).
        public var reason: String
    }

    /// A one-line summary, e.g. `copied 3, skipped 1, failed 0`.
    public var summary: String {
        "\(dryRun ? "would copy" : "copied") \(copied.count), skipped \(skipped.count), failed \(failed.count)"
    }
}

extension SecretResolver {
    /// Copies one secret. The source is only read; the destination is written only if it does not
    /// exist or `overwrite` is set; `dryRun` writes nothing.
    public func copy(from source: SecretReference, to destination: SecretReference, overwrite: Bool = false,
                     dryRun: Bool = false) async -> SecretCopyReport {
        var report = SecretCopyReport(dryRun: dryRun)
        await copyOne(source, destination, overwrite: overwrite, dryRun: dryRun, into: &report)
        return report
    }

    /// Copies every secret of the container `source` into the container `destination`, by name
    /// (e.g. every item of a keyring service into an age store). Continues past failures and
    /// reports each; the source is never modified.
    public func copyAll(from source: SecretReference, to destination: SecretReference, overwrite: Bool = false,
                        dryRun: Bool = false) async throws -> SecretCopyReport {
        _ = try writableSource(for: destination)
        var report = SecretCopyReport(dryRun: dryRun)
        for name in try await listNames(in: source) {
            do {
                let from = try reference(named: name, in: source)
                let to = try reference(named: name, in: destination)
                await copyOne(from, to, overwrite: overwrite, dryRun: dryRun, into: &report)
            } catch {
                report.failed.append(.init(source: name, reason: "\(error)"))
            }
        }
        return report
    }

    private func copyOne(_ from: SecretReference, _ to: SecretReference, overwrite: Bool, dryRun: Bool,
                         into report: inout SecretCopyReport) async {
        do {
            _ = try writableSource(for: to)
            let secret = try await self.secret(for: from)
            if !overwrite {
                do {
                    _ = try await self.secret(for: to)
                    report.skipped.append(to.description)
                    return
                } catch ClavisError.notFound {
                    // absent: copy
                }
            }
            if !dryRun { try await store(secret, for: to) }
            report.copied.append(to.description)
        } catch {
            report.failed.append(.init(source: from.description, reason: "\(error)"))
        }
    }
}
