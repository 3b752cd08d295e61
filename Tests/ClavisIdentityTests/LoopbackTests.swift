import ClavisCore
import ClavisIdentity
import ClavisTestSupport
import Testing

/// Plain http only to loopback *addresses*, never to names that merely start like one.
@Suite struct LoopbackTests {
    @Test(arguments: ["http://127.evil.example", "http://127.0.0.1.nip.io", "http://localhost.evil", "http://127.1",
                      "http://[::ffff:127.0.0.1]", "http://login.microsoftonline.com",
                      "http://127%2E0.0.1:8080"])   // the host as sent, not percent-decoded
    func plainHTTPToANonLoopbackHostIsRefused(_ url: String) {
        expectFailure(ClavisError.self, where: { $0.code.is(.invalidValue) }, containing: "must use https") { _ = try Authority(url) }
    }

    @Test(arguments: ["http://127.0.0.1:8080", "http://127.0.0.2", "http://[::1]:8080", "http://localhost:8080", "https://login.example"])
    func loopbackAddressesAndHTTPSAreAccepted(_ url: String) throws {
        _ = try Authority(url)
    }

    @Test func theAddressRule() {
        for host in ["127.0.0.1", "127.255.0.9", "::1", "[::1]", "0:0:0:0:0:0:0:1", "LOCALHOST"] { #expect(Loopback.isLoopback(host), "\(host)") }
        for host in ["127.evil.example", "127.0.0.1.nip.io", "localhost.evil", "127.1", "0x7f.0.0.1", "128.0.0.1", "::2", "", "127.0.0.1 "] {
            #expect(!Loopback.isLoopback(host), "\(host)")
        }
    }
}
