import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// A throwaway CA and a `localhost`/`127.0.0.1` server certificate, made in-process, so the
/// emulator can serve HTTPS with nothing to mount. Trusting it is one step: point your client at
/// ``caPEM`` (`REQUESTS_CA_BUNDLE=ca.pem` for Python, `trustRoots` for AsyncHTTPClient).
public struct EmulatorTLS: Sendable {
    /// The CA certificate, PEM.
    public let caPEM: String
    /// The server's TLS configuration.
    public let serverConfiguration: TLSConfiguration

    /// Makes a CA (valid 30 days) and a leaf for `localhost`, 127.0.0.1, and the names and IPv4
    /// addresses of `hostNames` when given.
    public static func make(hostNames: AzureHostNames? = nil) throws -> EmulatorTLS {
        let extraNames = (hostNames?.dnsNames ?? []).map { GeneralName.dnsName($0) }
            + (hostNames?.addresses ?? []).compactMap { address -> GeneralName? in
                let octets = address.split(separator: ".").compactMap { UInt8($0) }
                return octets.count == 4 ? .ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets))) : nil
            }
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName { CommonName("Clavis Emulator CA") }
        let ca = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(30 * 86400),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(caKey))
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(30 * 86400),
            issuer: caName, subject: try DistinguishedName { CommonName("localhost") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))]
                                        + extraNames)
                try ExtendedKeyUsage([.serverAuth])
            },
            issuerPrivateKey: .init(caKey))
        let caPEM = try ca.serializeAsPEM().pemString
        let leafPEM = try leaf.serializeAsPEM().pemString
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(leafPEM.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(leafKey.pemRepresentation.utf8), format: .pem)))
        return EmulatorTLS(caPEM: caPEM, serverConfiguration: configuration)
    }
}
