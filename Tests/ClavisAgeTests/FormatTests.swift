@testable import ClavisAge
import ClavisCore
import ClavisTestSupport
import Foundation
import Testing

func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

func expectAgeError(_ kind: AgeError.Kind, containing text: String? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    expectFailure(AgeError.self, where: { $0.kind == kind }, containing: text, sourceLocation: sourceLocation, body)
}

@Suite struct AgeRoundTripTests {
    @Test(arguments: [0, 1, 65_535, 65_536, 65_537, 200_000], [false, true])
    func roundTrips(size: Int, armor: Bool) async throws {
        let identity = try X25519Identity.generate()
        let plaintext = randomBytes(size)
        let sealed = try Age.encrypt(plaintext, to: [.x25519(identity.recipient)], armor: armor)
        #expect(Armor.isArmored(sealed) == armor)
        #expect(try Age.decrypt(sealed, identities: [.x25519(identity)]).revealedBytes() == plaintext)
    }

    @Test func everyRecipientCanOpen() async throws {
        let identities = try (0..<3).map { _ in try X25519Identity.generate() }
        let sealed = try Age.encrypt(Array("to all".utf8), to: identities.map { .x25519($0.recipient) })
        for identity in identities {
            #expect(try Age.decrypt(sealed, identities: [.x25519(identity)]).revealedString() == "to all")
        }
    }

    @Test func passphraseRoundTripAndRules() async throws {
        let sealed = try Age.encrypt(Array("pw".utf8), to: [.scrypt(ScryptRecipient(passphrase: Secret("correct"), workFactor: 10))])
        #expect(try Age.decrypt(sealed, identities: [.scrypt(ScryptIdentity(passphrase: Secret("correct")))]).revealedString() == "pw")
        expectAgeError(.noMatchingIdentity, containing: "incorrect passphrase") {
            _ = try Age.decrypt(sealed, identities: [.scrypt(ScryptIdentity(passphrase: Secret("wrong")))])
        }
        expectAgeError(.invalidRecipients) {
            _ = try Age.encrypt([1], to: [.scrypt(ScryptRecipient(passphrase: Secret("a"), workFactor: 10)),
                                         .x25519(try X25519Identity.generate().recipient)])
        }
    }
}

/// Each failure class of the spec, from a crafted file.
@Suite struct AgeFailureClassTests {
    let identity: X25519Identity
    let sealed: [UInt8]
    let plaintext = randomBytes(3 * 65_536 + 100)  // four chunks

    init() throws {
        identity = try X25519Identity.generate()
        sealed = try Age.encrypt(plaintext, to: [.x25519(identity.recipient)])
    }

    func open(_ bytes: [UInt8]) throws { _ = try Age.decrypt(bytes, identities: [.x25519(identity)]) }
    var headerEnd: Int { (sealed.firstRange(of: Array("\n---".utf8))?.upperBound ?? 0) + 44 + 1 }
    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    @Test func wrongIdentityIsNoMatchingIdentity() async throws {
        expectAgeError(.noMatchingIdentity) { _ = try Age.decrypt(sealed, identities: [.x25519(try X25519Identity.generate())]) }
    }

    @Test func malformedHeaders() async throws {
        let header = text(Array(sealed[..<headerEnd]))
        let payload = Array(sealed[headerEnd...])
        expectAgeError(.header, containing: "not an age file") { try open(Array("hello\n".utf8)) }
        expectAgeError(.header, containing: "unsupported version") { try open(Array(header.replacingOccurrences(of: "org/v1", with: "org/v2").utf8) + payload) }
        expectAgeError(.header, containing: "truncated") { try open(Array(header.prefix(30).utf8)) }
        // An X25519 stanza with an extra argument.
        let extra = header.replacingOccurrences(of: "-> X25519 ", with: "-> X25519 extra ")
        expectAgeError(.header, containing: "one argument") { try open(Array(extra.utf8) + payload) }
        // A body that is not canonical base64 (a padded body).
        var lines = header.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[2] = lines[2] + "="
        expectAgeError(.header, containing: "canonical") { try open(Array(lines.joined(separator: "\n").utf8) + payload) }
        // Garbage instead of a stanza.
        expectAgeError(.header, containing: "expected a stanza") {
            try open(Array(header.replacingOccurrences(of: "---", with: "xyz").utf8) + payload)
        }
    }

    @Test func alteredHeaderFailsTheMAC() async throws {
        // An unknown stanza is ignored by the identity, so the MAC is what catches the change.
        let header = text(Array(sealed[..<headerEnd]))
        let altered = header.replacingOccurrences(of: "\n---", with: "\n-> unknown-type arg\n\n---")
        expectAgeError(.headerMAC) { try open(Array(altered.utf8) + Array(sealed[headerEnd...])) }
        var flipped = sealed
        flipped[headerEnd - 44] = flipped[headerEnd - 44] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        expectAgeError(.headerMAC) { try open(flipped) }
    }

    @Test func payloadTamperingTruncationReorderingAndTrailingData() async throws {
        expectAgeError(.payload, containing: "truncated") { try open(Array(sealed.dropLast(10))) }
        expectAgeError(.payload, containing: "no payload") { try open(Array(sealed[..<headerEnd])) }
        expectAgeError(.payload, containing: "nonce is incomplete") { try open(Array(sealed[..<(headerEnd + 8)])) }
        let chunk = PayloadStream.sealedChunkSize
        let firstChunk = headerEnd + PayloadStream.nonceSize
        expectAgeError(.payload, containing: "not the final one") { try open(Array(sealed[..<(firstChunk + 2 * chunk)])) }
        var flipped = sealed
        flipped[firstChunk + chunk + 5] ^= 0x01
        expectAgeError(.payload, containing: "modified: chunk 1 failed to authenticate") { try open(flipped) }
        var reordered = Array(sealed[..<firstChunk])
        reordered += sealed[(firstChunk + chunk)..<(firstChunk + 2 * chunk)]
        reordered += sealed[firstChunk..<(firstChunk + chunk)]
        reordered += sealed[(firstChunk + 2 * chunk)...]
        expectAgeError(.payload, containing: "chunk 0 failed") { try open(reordered) }
        expectAgeError(.payload) { try open(sealed + [0]) }
        var lastFlipped = sealed
        lastFlipped[lastFlipped.count - 3] ^= 1
        expectAgeError(.payload, containing: "the last chunk (3) failed") { try open(lastFlipped) }
    }

    @Test func malformedArmor() async throws {
        let armored = text(try Age.encrypt([1, 2, 3], to: [.x25519(identity.recipient)], armor: true))
        #expect(try Age.decrypt(Array(("  \n" + armored + "\n\n").utf8), identities: [.x25519(identity)]).revealedBytes() == [1, 2, 3])
        expectAgeError(.armor, containing: "END") { try open(Array(armored.replacingOccurrences(of: "-----END AGE ENCRYPTED FILE-----", with: "").utf8)) }
        expectAgeError(.armor, containing: "64 columns") {
            var lines = armored.split(separator: "\n").map(String.init)
            lines[1] = String(lines[1].dropLast())
            try open(Array(lines.joined(separator: "\n").utf8))
        }
        expectAgeError(.armor) { try open(Array((armored + "trailing garbage\n").utf8)) }
    }

    /// Whitespace as age's own armor reader takes it (filippo.io/age/armor; found by
    /// scripts/age-differential, where Clavis accepted both of the first two and age rejected them).
    @Test func armorWhitespaceAsAgeReadsIt() async throws {
        let armored = text(try Age.encrypt([4, 5], to: [.x25519(identity.recipient)], armor: true))
        func opens(_ text: String) throws -> [UInt8] { try Age.decrypt(Array(text.utf8), identities: [.x25519(identity)]).revealedBytes() }
        // Nothing may share the BEGIN or the END line.
        expectAgeError(.armor, containing: "first line") { _ = try opens("\t" + armored) }
        expectAgeError(.armor, containing: "first line") { _ = try opens(" " + armored) }
        expectAgeError(.armor, containing: "END") { _ = try opens(armored.replacingOccurrences(of: "-----END AGE ENCRYPTED FILE-----\n", with: "-----END AGE ENCRYPTED FILE----- \n")) }
        // Whole blank lines before, whitespace after (the vector armor_whitespace_outside), and CRLF.
        #expect(try opens("\n\r   \t\n" + armored + "\n\r   \t\n") == [4, 5])
        #expect(try opens(armored.replacingOccurrences(of: "\n", with: "\r\n")) == [4, 5])
        // Less than 1 KiB of it on either side.
        #expect(try opens(String(repeating: "\n", count: 1000) + armored + String(repeating: " ", count: 1000)) == [4, 5])
        expectAgeError(.armor, containing: "before the armor") { _ = try opens(String(repeating: "\n", count: 1025) + armored) }
        expectAgeError(.armor, containing: "after the armor") { _ = try opens(armored + String(repeating: " ", count: 1024)) }
    }

    @Test func hostileScryptWorkFactorFailsFast() async throws {
        func scryptFile(_ factor: String, extraStanza: Bool = false) -> [UInt8] {
            var header = "age-encryption.org/v1\n"
            if extraStanza { header += "-> X25519 \(Base64.encode(randomBytes(32)))\n\(Base64.encode(randomBytes(32)))\n" }
            header += "-> scrypt \(Base64.encode(randomBytes(16))) \(factor)\n\(Base64.encode(randomBytes(32)))\n--- \(Base64.encode(randomBytes(32)))\n"
            return Array(header.utf8) + randomBytes(60)
        }
        let started = ContinuousClock.now
        expectAgeError(.workFactor, containing: "2^40") {
            _ = try Age.decrypt(scryptFile("40"), identities: [.scrypt(ScryptIdentity(passphrase: Secret("x")))])
        }
        #expect(ContinuousClock.now - started < .seconds(1))
        expectAgeError(.header, containing: "leading zeros") {
            _ = try Age.decrypt(scryptFile("018"), identities: [.scrypt(ScryptIdentity(passphrase: Secret("x")))])
        }
        expectAgeError(.header, containing: "only stanza") {
            _ = try Age.decrypt(scryptFile("10", extraStanza: true), identities: [.scrypt(ScryptIdentity(passphrase: Secret("x")))])
        }
    }
}

/// Interoperability with the stock `age` CLI (Debian's age 1.1.1) and pyrage, in both directions.
@Suite struct AgeInteropTests {
    @Test(arguments: [false, true])
    func ageCLIReadsClavisFiles(armor: Bool) async throws {
        let directory = try TemporaryDirectory()
        let identity = try X25519Identity.generate()
        try directory.write("key.txt", identity.encoded().revealedString() ?? "")
        let plaintext = randomBytes(150_000)
        try directory.write("file.age", Data(try Age.encrypt(plaintext, to: [.x25519(identity.recipient)], armor: armor)))
        let result = try await Command.run("age", ["-d", "-i", directory.file("key.txt"), directory.file("file.age")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Array(result.stdout) == plaintext)
    }

    @Test(arguments: [false, true])
    func clavisReadsAgeCLIFiles(armor: Bool) async throws {
        let directory = try TemporaryDirectory()
        let keygen = try await Command.run("age-keygen", ["-o", directory.file("key.txt")])
        #expect(keygen.status == 0)
        let recipient = try await Command.run("age-keygen", ["-y", directory.file("key.txt")]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        let plaintext = randomBytes(100_000)
        try directory.write("plain", Data(plaintext))
        let encrypt = try await Command.run("age", (armor ? ["-a"] : []) + ["-r", recipient, "-o", directory.file("file.age"), directory.file("plain")])
        #expect(encrypt.status == 0, "\(encrypt.stderr)")
        let decrypt = try await Command.clavis(["age", "decrypt", "-i", directory.file("key.txt"), directory.file("file.age")])
        #expect(decrypt.status == 0, "\(decrypt.stderr)")
        #expect(Array(decrypt.stdout) == plaintext)
    }

    @Test func pyragePassphraseBothWays() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("pw", "correct horse\n")
        try directory.write("plain", "from clavis")
        let encrypt = try await Command.clavis(["age", "encrypt", "--passphrase-file", directory.file("pw"), "--work-factor", "12",
                                          "-o", directory.file("c.age"), directory.file("plain")])
        #expect(encrypt.status == 0, "\(encrypt.stderr)")
        let script = """
            import pyrage, sys
            d = sys.argv[1]
            sys.stdout.write(pyrage.passphrase.decrypt(open(d + '/c.age', 'rb').read(), 'correct horse').decode())
            open(d + '/p.age', 'wb').write(pyrage.passphrase.encrypt(b'from pyrage', 'correct horse'))
            """
        let python = try await Command.run("python3", ["-c", script, directory.path])
        #expect(python.status == 0, "\(python.stderr)")
        #expect(python.output == "from clavis")
        let decrypt = try await Command.clavis(["age", "decrypt", "--passphrase-file", directory.file("pw"), directory.file("p.age")])
        #expect(decrypt.status == 0, "\(decrypt.stderr)")
        #expect(decrypt.output == "from pyrage")
    }

    @Test func eachFailureHasItsOwnErrorLine() async throws {
        let directory = try TemporaryDirectory()
        let identity = try X25519Identity.generate()
        try directory.write("key.txt", identity.encoded().revealedString() ?? "")
        try directory.write("other.txt", try X25519Identity.generate().encoded().revealedString() ?? "")
        try directory.write("pw", "right\n")
        try directory.write("wrong", "wrong\n")
        let sealed = try Age.encrypt(randomBytes(70_000), to: [.x25519(identity.recipient)])
        try directory.write("good.age", Data(sealed))
        try directory.write("truncated.age", Data(sealed.dropLast(100)))
        var flipped = sealed
        flipped[flipped.count - 70_000] ^= 0x80  // inside chunk 0
        try directory.write("flipped.age", Data(flipped))
        try directory.write("pass.age", Data(try Age.encrypt([1], to: [.scrypt(ScryptRecipient(passphrase: Secret("right"), workFactor: 10))])))
        let cases: [([String], String)] = [
            (["-i", directory.file("other.txt"), directory.file("good.age")], "error: no identity matched"),
            (["--passphrase-file", directory.file("wrong"), directory.file("pass.age")], "error: no identity matched: incorrect passphrase"),
            (["-i", directory.file("key.txt"), directory.file("truncated.age")], "error: age payload failure: truncated"),
            (["-i", directory.file("key.txt"), directory.file("flipped.age")], "error: age payload failure: modified: chunk 0 failed to authenticate"),
        ]
        var lines = Set<String>()
        for (arguments, prefix) in cases {
            let result = try await Command.clavis(["age", "decrypt", "-o", directory.file("out")] + arguments)
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix(prefix), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
            lines.insert(result.stderr)
            // A failed decryption leaves no partial plaintext behind.
            #expect(!FileManager.default.fileExists(atPath: directory.file("out")))
        }
        #expect(lines.count == cases.count)
    }

    @Test func keygenWritesAPrivateIdentityLikeAgeKeygen() async throws {
        let directory = try TemporaryDirectory()
        let result = try await Command.clavis(["keygen", "-o", directory.file("key.txt")])
        #expect(result.status == 0)
        #expect(result.stderr.hasPrefix("Public key: age1"))
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.file("key.txt"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let agePublic = try await Command.run("age-keygen", ["-y", directory.file("key.txt")])
        #expect(result.stderr == "Public key: \(agePublic.output)")
        let again = try await Command.clavis(["keygen", "-o", directory.file("key.txt")])
        #expect(again.status != 0)
    }
}

extension AgeFailureClassTests {
    /// Blank lines are counted as age counts them (without their CR), isArmored and decode agree
    /// on what whitespace is, and a flood of line feeds fails fast without costing memory.
    @Test func armorWhitespaceEdges() async throws {
        let armored = text(try Age.encrypt([6], to: [.x25519(identity.recipient)], armor: true))
        func opens(_ text: String) throws -> [UInt8] { try Age.decrypt(Array(text.utf8), identities: [.x25519(identity)]).revealedBytes() }
        #expect(try opens(String(repeating: "\r\n", count: 1000) + armored) == [6])  // 1,000 counted bytes, 2,000 read
        #expect(try opens("\u{0B}\n\u{0C}\n" + armored) == [6])  // VT and FF lines are blank too
        let streamed = try sealedThroughAPipe(Array((String(repeating: "\r\n", count: 1000) + armored).utf8))
        #expect(streamed == [6])
        var flood = Array(armored.utf8)
        flood += [UInt8](repeating: 0x0A, count: 32 << 20)
        expectAgeError(.armor, containing: "after the armor") { try open(flood) }
        var inside = Array(armored.utf8.prefix(armored.utf8.count - 33))  // up to the END line
        inside += [UInt8](repeating: 0x0A, count: 32 << 20)
        expectAgeError(.armor, containing: "is not the last") { try open(inside) }
    }

    /// Decrypts through the streaming API reading a pipe in small pieces, as `clavis age decrypt`
    /// reads stdin.
    func sealedThroughAPipe(_ bytes: [UInt8]) throws -> [UInt8] {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw AgeError(.payload, "no pipe") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        let writer = Thread {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(writeEnd, raw.baseAddress! + offset, min(100, raw.count - offset))
                    if written <= 0 { break }
                    offset += written
                }
            }
            close(writeEnd)
        }
        writer.start()
        defer { close(readEnd) }
        var output: [UInt8] = []
        try Age.decrypt(BufferedInput(fileDescriptor: readEnd, bufferSize: 64), identities: [.x25519(identity)]) { output += $0 }
        return output
    }
}
