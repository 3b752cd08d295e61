import ClavisBroker
import ClavisCore
import Foundation
import NIOCore
import Testing

/// The configuration's checks, resource matching and the kernel-table address format, in-process.
@Suite struct BrokerConfigTests {
    static func identity(_ name: String = "defender", secret: String? = "keyring:s/u", certificate: String? = nil) -> BrokerConfig.Identity {
        .init(name: name, tenant: "t", clientId: "c", secret: secret, certificate: certificate, resources: ["https://api.security.microsoft.com"], users: ["0"])
    }

    @Test func aNonLoopbackListenAddressIsRefused() throws {
        #expect(throws: ClavisError.self) { try BrokerConfig(listen: "0.0.0.0:8491", identities: [Self.identity()]).validate() }
        #expect(throws: ClavisError.self) { try BrokerConfig(listen: "192.0.2.1:8491", identities: [Self.identity()]).validate() }
        try BrokerConfig(listen: "127.0.0.1:0", identities: [Self.identity()]).validate()
        try BrokerConfig(listen: "[::1]:8491", identities: [Self.identity()]).validate()
    }

    @Test func eachIdentityNamesExactlyOneCredentialAndAFileSafeName() {
        #expect(throws: ClavisError.self) { try BrokerConfig(identities: [Self.identity(secret: nil)]).validate() }
        #expect(throws: ClavisError.self) { try BrokerConfig(identities: [Self.identity(certificate: "age:/s.age#pem")]).validate() }
        #expect(throws: ClavisError.self) { try BrokerConfig(identities: [Self.identity("../etc")]).validate() }
        #expect(throws: ClavisError.self) { try BrokerConfig(identities: [Self.identity(), Self.identity()]).validate() }
    }

    @Test func resourcesMatchAsSDKsSendThem() {
        let configured = BrokerIdentity.normalise("https://api.security.microsoft.com")
        for sent in ["https://api.security.microsoft.com", "https://api.security.microsoft.com/", "https://API.security.microsoft.com/.default"] {
            #expect(BrokerIdentity.normalise(sent) == configured)
        }
        #expect(BrokerIdentity.normalise("https://api.security.microsoft.com.evil.example") != configured)
    }

    @Test func addressesAreWrittenAsTheKernelTablesWriteThem() throws {
        // proc(5): 127.0.0.1 is 0100007F in /proc/net/tcp (host byte order), ::1 is 00000000000000000000000001000000.
        #expect(PeerCredentials.hexAddress(try SocketAddress(ipAddress: "127.0.0.1", port: 80)) == "0100007F")
        #expect(PeerCredentials.hexAddress(try SocketAddress(ipAddress: "::1", port: 80)) == "00000000000000000000000001000000")
    }
}
