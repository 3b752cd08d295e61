import CLibsecret
import ClavisCore
@testable import ClavisKeyring
import Testing

/// libsecret's errors become Clavis errors in one place (`KeyringSession.translate`), keeping the
/// GError as the cause. No D-Bus needed: the GErrors are made here.
@Suite struct TranslateTests {
    @Test func theGErrorIsTheCause() throws {
        try Libsecret.load(reference: "keyring:svc/user")
        let error = clavis_g_error_new_literal(clavis_g_quark_from_string("clavis-test-quark"), 7, "the provider said no")
        let clavis = KeyringSession.translate(error, reference: "keyring:svc/user", operation: "read")
        #expect(clavis.code == .serviceError && clavis.reference == "keyring:svc/user")
        #expect(clavis.reason == "could not read: the provider said no")
        let cause = try #require(clavis.cause as? SecretServiceError)
        #expect(cause.domain == "clavis-test-quark", "\(cause)")
        #expect(cause.code == 7 && cause.message == "the provider said no", "\(cause)")
    }

    @Test func noGErrorStillSaysWhat() {
        let clavis = KeyringSession.translate(nil, reference: "keyring:svc/user", operation: "list")
        #expect(clavis.code == .serviceError && clavis.cause == nil)
    }
}
