// Only when Testing is there: `swift build -c release` builds every target, this one too, without it
// (scripts/package's manual-page plugin builds all products).
#if canImport(Testing)
import Testing

/// Expects `body` to throw an `E` for which `matches` holds and whose description contains
/// `text`; records an issue otherwise. One helper for every error family of the tests.
public func expectFailure<E: Error & CustomStringConvertible>(
    _ type: E.Type, where matches: (E) -> Bool, containing text: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(E.self), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as E {
        #expect(matches(error), "\(error)", sourceLocation: sourceLocation)
        if let text { #expect(error.description.contains(text), "\(error)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected \(E.self), got \(error)", sourceLocation: sourceLocation)
    }
}

/// The synchronous form of ``expectFailure(_:where:containing:sourceLocation:_:)``.
public func expectFailure<E: Error & CustomStringConvertible>(
    _ type: E.Type, where matches: (E) -> Bool, containing text: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(E.self), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as E {
        #expect(matches(error), "\(error)", sourceLocation: sourceLocation)
        if let text { #expect(error.description.contains(text), "\(error)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected \(E.self), got \(error)", sourceLocation: sourceLocation)
    }
}
#endif
