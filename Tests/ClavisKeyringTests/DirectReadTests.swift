import CLibsecret
import ClavisCore
import ClavisKeyring
import ClavisTestSupport
import Foundation
import Testing

/// HKDF-SHA-256 as the direct read composes it from libgcrypt's HMAC (CLibsecret/SessionCrypto.c),
/// held to RFC 5869's own test cases (A.1–A.3, the SHA-256 ones) and to Python's `hmac` module on
/// inputs of every awkward length. Needs libgcrypt only, not a keyring.
@Suite struct SessionKeyDerivationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String, ikm: [UInt8], salt: [UInt8], info: [UInt8], okm: String
        var testDescription: String { name }
    }

    static let rfc5869: [Case] = [
        Case(name: "A.1 basic", ikm: [UInt8](repeating: 0x0b, count: 22), salt: Array(0x00...0x0c), info: Array(0xf0...0xf9),
             okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        Case(name: "A.2 long inputs", ikm: Array(0x00...0x4f), salt: Array(0x60...0xaf), info: Array(0xb0...0xff),
             okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"),
        Case(name: "A.3 no salt, no info (the Secret Service's use)", ikm: [UInt8](repeating: 0x0b, count: 22), salt: [], info: [],
             okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
    ]

    static func derive(_ ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) -> String? {
        var output = [UInt8](repeating: 0, count: length)
        let status = output.withUnsafeMutableBytes { out in
            ikm.withUnsafeBytes { i in salt.withUnsafeBytes { s in info.withUnsafeBytes { f in
                clavis_hkdf_sha256(i.baseAddress, i.count, s.baseAddress, s.count, f.baseAddress, f.count, out.baseAddress, length)
            } } }
        }
        return status == 0 ? output.map { String(format: "%02x", $0) }.joined() : nil
    }

    @Test(arguments: rfc5869)
    func matchesRFC5869(_ test: Case) {
        #expect(Self.derive(test.ikm, salt: test.salt, info: test.info, length: test.okm.count / 2) == test.okm)
    }

    @Test func matchesPythonOnEveryLengthThatMatters() async throws {
        // IKM of 0…130 bytes (the session's is 128), salts around the 64-byte HMAC block, outputs
        // of 1…97 bytes (one to four blocks).
        var cases: [(ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int)] = []
        for (index, ikmLength) in [0, 1, 31, 32, 33, 127, 128, 129].enumerated() {
            let salt = [UInt8]((0..<[0, 1, 32, 63, 64, 65, 100, 0][index]).map { UInt8(truncatingIfNeeded: $0 * 7 + 3) })
            let info = [UInt8]((0..<[0, 5, 0, 31, 32, 33, 0, 200][index]).map { UInt8(truncatingIfNeeded: $0 * 13) })
            cases.append(([UInt8]((0..<ikmLength).map { UInt8(truncatingIfNeeded: $0 * 31 + index) }), salt, info, [16, 1, 32, 33, 64, 65, 97, 16][index]))
        }
        let hex = { (bytes: [UInt8]) in bytes.map { String(format: "%02x", $0) }.joined() }
        let lines = cases.map { "\(hex($0.ikm)) \(hex($0.salt)) \(hex($0.info)) \($0.length)" }.joined(separator: "\n")
        let script = """
            import hashlib, hmac, sys
            for line in sys.stdin.read().splitlines():
                ikm, salt, info, length = line.split(" ")
                ikm, salt, info, length = bytes.fromhex(ikm), bytes.fromhex(salt), bytes.fromhex(info), int(length)
                prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
                block, out, counter = b"", b"", 1
                while len(out) < length:
                    block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
                    out, counter = out + block, counter + 1
                print(out[:length].hex())
            """
        let result = try await Command.run("python3", ["-c", script], stdin: Data(lines.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        let expected = result.output.split(separator: "\n").map(String.init)
        #expect(expected.count == cases.count)
        for (test, want) in zip(cases, expected) {
            #expect(Self.derive(test.ikm, salt: test.salt, info: test.info, length: test.length) == want)
        }
    }

    @Test func refusesWhatHKDFCannotProduce() {
        #expect(Self.derive([1], salt: [], info: [], length: 255 * 32 + 1) == nil)
    }
}

/// The keyring read in the Secret Service's own messages, against a real gnome-keyring: it returns
/// what libsecret's tools stored, byte for byte, across AES block boundaries, and declines (`nil`)
/// exactly where libsecret must give the precise answer.
@Suite(.enabled(if: TestSession.hasKeyring, "needs the D-Bus session and unlocked gnome-keyring that `bash scripts/test` starts"),
       .serialized)
struct DirectReadTests {
    let source = KeyringSource()

    @Test(arguments: [0, 1, 15, 16, 17, 31, 32, 33, 1000])
    func readsWhatSecretToolStoredAtEveryBlockBoundary(length: Int) async throws {
        let (reference, service) = try freshReference()
        let value = String((0..<length).map { Character(UnicodeScalar(UInt8(33 + $0 % 90))) })
        let store = try await Command.run("secret-tool", ["store", "--label", "direct \(length)", "service", service, "username", "app-secret"],
                                          stdin: Data(value.utf8))
        #expect(store.status == 0, "\(store.stderr)")
        let read = try source.directSecret(for: reference)
        #expect(read?.revealedString() == value)
        try await source.delete(reference)
    }

    @Test func readsBinaryValuesByteForByte() async throws {
        let (reference, _) = try freshReference()
        let bytes: [UInt8] = [0, 0x10, 0x10, 0xFF, 0x01, 0, 0x80] + [UInt8](repeating: 0x10, count: 16)
        try await source.store(Secret(bytes: bytes), for: reference)
        #expect(try source.directSecret(for: reference)?.revealedBytes() == bytes)
        try await source.delete(reference)
    }

    @Test func declinesWhereLibsecretMustAnswer() async throws {
        let (missing, _) = try freshReference()
        #expect(try source.directSecret(for: missing) == nil)
        // The full read then says precisely what is wrong.
        await #expect(throws: ClavisError.self) { try await source.secret(for: missing) }
        let (named, _) = try freshReference(query: "?collection=login")
        #expect(try source.directSecret(for: named) == nil)
    }

    @Test func manyReadsInOneProcessAllSucceed() async throws {
        // Each read opens and closes its own session on the shared connection.
        let (reference, _) = try freshReference()
        try await source.store(Secret("repeated"), for: reference)
        for _ in 0..<25 { #expect(try source.directSecret(for: reference)?.revealedString() == "repeated") }
        try await source.delete(reference)
    }
}

/// The direct read against a Secret Service provider that misbehaves: a fake written with jeepney
/// (pure-Python D-Bus, installed with Python's `keyring`) and Python's own big integers, HMAC and
/// AES (`cryptography`), so it is also an independent implementation of the session's algorithm.
/// Each case runs `clavis secret get` — the launcher, whose read has only its own deadline — in a
/// private bus where the fake owns `org.freedesktop.secrets`.
@Suite(.enabled(if: TestSession.hasKeyring, "needs dbus-run-session and the Python peers that `bash scripts/test` installs"))
struct MisbehavingProviderTests {
    /// The Secret Service's dh-ietf1024-sha256-aes128-cbc-pkcs7 as the specification states it
    /// (https://specifications.freedesktop.org/secret-service/latest/ch07s03.html), with the
    /// misbehaviour `MODE` asks for.
    static let provider = #"""
        import hashlib, hmac, os, sys
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from jeepney import HeaderFields, MessageType, new_error, new_method_return
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        mode = sys.argv[1]
        prime = int("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
                    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
                    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)
        session, item, key = "/org/freedesktop/secrets/session/s1", "/org/freedesktop/secrets/collection/login/1", None
        connection = open_dbus_connection(bus="SESSION")
        connection.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets"))
        print("ready", flush=True)
        while True:
            message = connection.receive()
            if message.header.message_type != MessageType.method_call:
                continue
            member = message.header.fields.get(HeaderFields.member)
            if member == "OpenSession":
                if mode == "silent":
                    continue
                algorithm, (_, client) = message.body
                private = int.from_bytes(os.urandom(128), "big") % (prime - 3) + 2
                public = 1 if mode == "bad-public" else pow(2, private, prime)
                shared = pow(int.from_bytes(client, "big"), private, prime).to_bytes(128, "big")
                pseudorandom = hmac.new(bytes(32), shared, hashlib.sha256).digest()
                key = hmac.new(pseudorandom, b"\x01", hashlib.sha256).digest()[:16]
                public_bytes = public.to_bytes((public.bit_length() + 7) // 8, "big")
                connection.send(new_method_return(message, "vo", (("ay", public_bytes), session)))
            elif member == "SearchItems":
                connection.send(new_method_return(message, "aoao", ([item], [])))
            elif member == "GetSecrets":
                value = b"value from the fake"          # 19 bytes: 13 bytes of padding
                plain = value + bytes([13]) * 13
                if mode == "bad-padding":               # the last byte is right, one before it is not
                    plain = plain[:-2] + bytes([12, 13])
                iv = os.urandom(16)
                encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
                sealed = encryptor.update(plain) + encryptor.finalize()
                owner = "/org/freedesktop/secrets/session/other" if mode == "wrong-session" else session
                connection.send(new_method_return(message, "a{o(oayays)}", ({item: (owner, iv, sealed, "text/plain")},)))
            elif member != "Close":
                connection.send(new_error(message, "org.freedesktop.DBus.Error.UnknownMethod", "s", ("not in this fake",)))
        """#

    /// Runs `clavis secret get keyring:svc/user` against the fake in `mode`.
    func read(against mode: String) async throws -> CommandResult {
        let home = try TemporaryDirectory()
        let config = try TestSession.busConfigWithoutServices(in: home)
        let script = try home.write("provider.py", Self.provider)
        return try await TestSession.isolated(#"""
            python3 "\#(script)" \#(mode) > "\#(home.path)/provider.out" &
            for _ in $(seq 200); do grep -q ready "\#(home.path)/provider.out" 2>/dev/null && break; sleep 0.05; done
            start=$(date +%s%N); "$CLAVIS" secret get keyring:svc/user; rc=$?; end=$(date +%s%N)
            echo "rc=$rc ms=$(( (end - start) / 1000000 ))"
            kill %1
            """#, home: home, configFile: config)
    }

    @Test func readsAValueSealedByAnIndependentImplementation() async throws {
        let result = try await read(against: "good")
        #expect(result.output.hasPrefix("value from the fake\nrc=0 "), "\(result.output) \(result.stderr)")
    }

    @Test(arguments: [
        ("bad-public", "the Secret Service sent an invalid Diffie-Hellman public value"),
        ("bad-padding", "the Secret Service sent a value that does not decrypt"),
        ("wrong-session", "the Secret Service sent the value in another session"),
    ])
    func refusesWhatASessionCannotHaveSent(mode: String, reason: String) async throws {
        let result = try await read(against: mode)
        #expect(result.output.hasPrefix("rc=1 "), "\(result.output)")
        #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains("keyring:svc/user: could not read the item: \(reason)"),
                "\(result.stderr)")
        #expect(!result.output.contains("value from the fake"))
    }

    @Test func aProviderThatNeverAnswersEndsAtTheDeadline() async throws {
        let result = try await read(against: "silent")
        #expect(result.output.hasPrefix("rc=1 "), "\(result.output)")
        #expect(result.stderr.contains("did not answer in time"), "\(result.stderr)")
        // The launcher's read has no task and no timer thread: its own 5-second deadline ends it.
        let milliseconds = result.output.split(separator: "=").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        #expect(milliseconds >= 4_500 && milliseconds < 5_000 + 3_000 * TestSession.slowdown, "\(result.output)")
    }
}
