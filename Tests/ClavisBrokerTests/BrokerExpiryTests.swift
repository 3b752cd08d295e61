import ClavisTestSupport
import Foundation
import Testing

/// The broker warns in its log when an identity's client secret expires within the window — the
/// check `clavis token` and `defender watch` make (issue #21) — and not when it does not.
@Suite(.serialized) struct BrokerExpiryTests {
    /// The emulator's config secrets end two years after start: a 800-day window warns, 700 does not.
    @Test(arguments: [("800d", true), ("700d", false)])
    func theBrokerLogsAnExpiringSecret(window: String, warns: Bool) async throws {
        let world = try BrokerWorld(environment: ["CLAVIS_BROKER_EXPIRY_FIRST_CHECK": "1s", "CLAVIS_SECRET_EXPIRY_WARNING": window])
        defer { world.stop() }
        func log() -> String { (try? String(contentsOfFile: world.directory.file("broker.log"), encoding: .utf8)) ?? "" }
        // The check reads the app through Graph: wait until its requests are done (or the warning is there).
        for _ in 0..<100 where !log().contains("expires on") { try await Task.sleep(for: .milliseconds(100)) }
        if !warns { try await Task.sleep(for: .seconds(2)) }
        let text = log()
        #expect(text.contains("expires on") == warns, "\(text)")
        #expect(!text.contains(B.secret))
    }
}
