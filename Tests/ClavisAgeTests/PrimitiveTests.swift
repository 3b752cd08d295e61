@testable import ClavisAge
import Testing

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
        index = next
    }
    return bytes
}

func hexString(_ bytes: [UInt8]) -> String { bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }

func bytes(_ secure: SecureBytes) -> [UInt8] { secure.withUnsafeBytes { Array($0) } }

/// The primitives are libgcrypt's; these vectors check that they are wired the right way round
/// (byte order, argument order, HKDF composed correctly).
@Suite struct PrimitiveVectorTests {
    @Test func hkdfMatchesRFC5869() async throws {
        // RFC 5869, test case 1 and test case 3 (empty salt and info).
        let one = try HKDFSHA256.deriveKey(ikm: SecureBytes([UInt8](repeating: 0x0b, count: 22)), salt: hex("000102030405060708090a0b0c"),
                                           info: hex("f0f1f2f3f4f5f6f7f8f9"), length: 42)
        #expect(hexString(bytes(one)) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        let three = try HKDFSHA256.deriveKey(ikm: SecureBytes([UInt8](repeating: 0x0b, count: 22)), salt: [], info: [], length: 42)
        #expect(hexString(bytes(three)) == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    }

    @Test func x25519MatchesRFC7748() async throws {
        let alice = try SecureBytes(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        let bob = try SecureBytes(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
        #expect(hexString(try X25519.publicKey(of: alice)) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        let bobPublic = try X25519.publicKey(of: bob)
        #expect(hexString(bobPublic) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        #expect(hexString(bytes(try X25519.multiply(alice, bobPublic))) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    }

    /// Both scrypt paths (swift-crypto, which age uses, and libgcrypt, the benchmark's alternative)
    /// give RFC 7914's vector.
    @Test func scryptMatchesRFC7914() async throws {
        let expected = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        let key = try Scrypt.deriveKey(passphrase: SecureBytes(Array("password".utf8)), salt: Array("NaCl".utf8), logN: 10,
                                       parallelism: 16, length: 64)
        #expect(hexString(bytes(key)) == expected)
        let viaLibgcrypt = try Scrypt.deriveKeyWithLibgcrypt(passphrase: SecureBytes(Array("password".utf8)), salt: Array("NaCl".utf8), logN: 10,
                                                             parallelism: 16, length: 64)
        #expect(hexString(bytes(viaLibgcrypt)) == expected)
    }

    @Test func chachaPolyMatchesRFC8439() async throws {
        // RFC 8439 §2.8.2 without AAD is not given; check seal/open round trip and tag rejection instead,
        // plus the §2.8.2 key/nonce producing a stable ciphertext prefix.
        let key = try SecureBytes(hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"))
        let cipher = try ChaChaPoly(key: key)
        let plaintext = Array("Ladies and Gentlemen of the class of '99".utf8)
        var sealed = [UInt8](repeating: 0, count: plaintext.count + 16)
        let nonce = hex("070000004041424344454647")
        try plaintext.withUnsafeBytes { p in try sealed.withUnsafeMutableBytes { try cipher.seal(nonce: nonce, plaintext: p, into: $0) } }
        // The keystream is ChaCha20's (RFC 8439 §2.8.2 ciphertext starts d31a8d34648e60db7b86afbc53ef7ec2).
        #expect(hexString(Array(sealed[0..<16])) == "d31a8d34648e60db7b86afbc53ef7ec2")
        var opened = [UInt8](repeating: 0, count: plaintext.count)
        let ok = try sealed.withUnsafeBytes { s in try opened.withUnsafeMutableBytes { try cipher.open(nonce: nonce, sealed: s, into: $0) } }
        #expect(ok)
        #expect(opened == plaintext)
        sealed[3] ^= 1
        let tampered = try sealed.withUnsafeBytes { s in try opened.withUnsafeMutableBytes { try cipher.open(nonce: nonce, sealed: s, into: $0) } }
        #expect(!tampered)
    }

    @Test func base64IsCanonical() {
        #expect(Base64.encode(Array("f".utf8)) == "Zg")
        #expect(Base64.encode(Array("fo".utf8), padded: true) == "Zm8=")
        #expect(Base64.decode(Array("Zg".utf8)) == Array("f".utf8))
        #expect(Base64.decode(Array("Zh".utf8)) == nil)     // non-zero trailing bits
        #expect(Base64.decode(Array("Zg==".utf8)) == nil)   // padding in unpadded context
        #expect(Base64.decode(Array("Zm8=".utf8), padded: true) == Array("fo".utf8))
        #expect(Base64.decode(Array("Z".utf8)) == nil)
        #expect(Base64.decode(Array("Zg!".utf8)) == nil)
    }

    @Test func specExampleIdentityGivesSpecExampleRecipient() async throws {
        let identity = try X25519Identity(parsing: "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")  // clavis:allow (the age spec's published example key)
        #expect(identity.recipient.description == "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
        #expect(identity.encoded().revealedString() == "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX")  // clavis:allow (the age spec's published example key)
        #expect(!"\(identity)".contains("SECRET-KEY"))
        #expect(throws: AgeError.self) { try X25519Recipient(parsing: "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwq") }
    }
}

extension PrimitiveVectorTests {
    /// A libgcrypt failure keeps libgcrypt's code, and becomes a Clavis error with it as the cause.
    @Test func aLibgcryptFailureKeepsItsCode() {
        let invalidArgument: UInt32 = 45  // GPG_ERR_INV_ARG (libgpg-error's err-codes.h)
        do {
            try Gcrypt.check(invalidArgument, "cipher open")
            Issue.record("a non-zero libgcrypt code was accepted")
        } catch let error as AgeError {
            #expect(error.kind == .crypto && error.libgcryptCode == invalidArgument)
            #expect(error.message.contains("cipher open failed: Invalid argument"), "\(error.message)")
            let clavis = error.clavisError(reference: "age:/x")
            #expect((clavis.cause as? AgeError)?.libgcryptCode == invalidArgument)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
