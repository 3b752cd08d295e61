@testable import ClavisAge
import ClavisCore
import ClavisTestSupport
import Foundation
import Testing

/// The example from the age spec (C2SP age.md, "The MLKEM768-X25519 … recipient type").
enum SpecExample {
    static let identity = "AGE-SECRET-KEY-PQ-1XX76JRALNLXDMEW0CRK45QMCCH4X06SE84UN3VPM33W6HWDX0H3SK3ZQFR"  // clavis:allow (the age spec's published example key)
    static let recipient = "age1pq1x34nzsvr0rxjsgdn8zgyhfe8j7ceq5r9rdelkjuh3y235jzxshfg87pzf5zrqtzdxz95paef6caq5aapdmwjjqpjfdyxnzr2zampc3uxy0dg4z2n2gm9su72p0pc3u0jvev55l694v78snxg3yzvcl7yda0eyytqj6a0ec477lnhcy5hzpz4zq3pxanve4cn62gqj3pjy5lqj9c6kyj4v2z8alktn8zh99970x79gjkv7522hv9kfz35zsnxhsx8wwtmu9cy3ftzjgwcp4sshn3llnylnpdsyz5jm72vefv4x5vfwytrefxg4wq3mv42wcrvkj742479zrxzpvp2p3e9fed9f0739vcu80r7ma28qfhnvlv4gfzel9q654dj3zmuvvz893azhxdvs9fxd0r7jzchzcfcs5mkyyjxhw0n2z6dvp9yn9qfdp29h0azxqyjw6v7fhyuzj7zel0uq6j9rd7wgrpz7mf5dnj43jwsgvrc8qcnhy7tu6dkdujuxzkp9xj43xe8h92ktre2a3u3s8mm5mrp9nr9pwkgtz4mdlq9hgn4fps4k57ff6wddn2fy23t47sm20r8km8sd2pcyyafnet8f0dajsrlyjeah4n3mssr6aseevuuskdvq5lzguyvpgwpta742c6698vgutzqgny8usfg0w2he7kq5vyxjd0f9hqg8xk26y9e4th0gezq92q4cpp5p2y9hf5f2cje5l0c3sa3a2qxmm38pxxvhxh99yzmfz0zk7r2s64nnwjhkfgfr3gf8xnmppcgmaykvh5sh6g7vk9790rf8ws0axmr2t7z8aae5fq2029uvcn2ghgt4fu4wgwdc0k0cz52qkvwmuzj8p8k5jgf3xzk5zmrkavjekjrpeq408xz3zxazwkc6tyfmhayrkfpjhwtz5mp8j8guqe43k2q6m2kte03vrw27y3wmqyu5etmt9dnkwcnnpmu9gz9dekfhdevf42ucshphnrk38ra6hx8w5f8q5ru0xdhrjxmwqf6cused7zc5xvq43r0zscjglpwlptpwydhqw64xz7ptjdyeyzpq2zkxtmzg29gzjpvzva4d3l0cenn9xs297wf4y4ukwrunf57xj6pm7nvrkwvtrt8hwcmgv8x7ajw7258ugf9wvkmk4052ekg87tw5vnx8nq2swyzv77v8yqlwsenvamr0zssknwts8rrhfuwj7ykysnq9jxy0uv3kuyt22djszjdtvpz6d0s0kwh8ryynddzud92emeyvvyqktd0jtj7rvvg5gch25v8smlvny3kvn5gagyz475ze2y6q466xqmz2n3hs77lddeqyta2nch5k2u5yacuk9ywnwfdzvyejnucz724hj77hrrmakm7pr3kxsrxq22ejexlud9fy2kdqmkg5yncz7jm5wv2qjk5w5kvcpqsry2yqffh2la52dxfjkjq5rzhjzeyn6dupn0qwtyv7s4lwg3xdarsdlwe2y3tujy480y7z39q259fzx6jhd2j0f5hagqpcpees7hzc2yrk5cy788uk3s7qvp5cpepx24gvws3m2g433exgwppnkjscec8qu4y9z9r7vccexjcjaen42245lmgmxmuavg9alej92322gvvyy2t6267v09ch64y0m53jff0vjj96s0ypk60hr3jw4myd6m5hpn3xjstx7tl2szhpr5qe8jj08ydjc4wy2rch2fhuy3pdfjax5awe9j99ly5hkntzz9fe5zatgjvzdd0kgtxs25njnajyf6ssekp7gelxquusn4pt25czh3scj68kq79wdn5tgm6yvm9nzavrg043x3msnygf8dweknw5jmqd0uvny6ttsn09508k0c55zfnegrm9efhxpfqdkmhh6gjtqmwze9pyyzk3tlhl53k2ykx3qheyty7saeq0d3fzv49zc0k"
}

@Suite struct PostQuantumTests {
    @Test func specExampleIdentityGivesTheSpecRecipientByteForByte() async throws {
        let identity = try HybridIdentity(parsing: SpecExample.identity)
        #expect(identity.recipient.description == SpecExample.recipient)
        #expect(identity.recipient.publicKey.count == 1216)
        #expect(try HybridRecipient(parsing: SpecExample.recipient).publicKey == identity.recipient.publicKey)
        #expect(identity.encoded().revealedString() == SpecExample.identity)
        #expect(!"\(identity)".contains("SECRET-KEY"))
    }

    @Test(arguments: [false, true])
    func roundTripsWithSeveralHybridRecipients(armor: Bool) async throws {
        let identities = try (0..<3).map { _ in try HybridIdentity.generate() }
        let plaintext = randomBytes(70_000)
        let sealed = try Age.encrypt(plaintext, to: identities.map { .mlkem768x25519($0.recipient) }, armor: armor)
        #expect(try Age.stanzaTypes(sealed) == ["mlkem768x25519", "mlkem768x25519", "mlkem768x25519"])
        for identity in identities {
            #expect(try Age.decrypt(sealed, identities: [.mlkem768x25519(identity)]).revealedBytes() == plaintext)
        }
        expectAgeError(.noMatchingIdentity) { _ = try Age.decrypt(sealed, identities: [.mlkem768x25519(try HybridIdentity.generate())]) }
    }

    @Test func mixingWithX25519IsRefused() async throws {
        expectAgeError(.invalidRecipients, containing: "cannot be mixed") {
            _ = try Age.encrypt([1], to: [.mlkem768x25519(try HybridIdentity.generate().recipient), .x25519(try X25519Identity.generate().recipient)])
        }
    }

    /// Builds a file whose header has `stanzas` (MAC'd correctly under `fileKey`).
    func craft(_ stanzas: [AgeStanza], fileKey: SecureBytes) throws -> [UInt8] {
        var file = try AgeHeader.encode(stanzas, fileKey: fileKey)
        try PayloadStream.encrypt(BufferedInput(bytes: Array("crafted".utf8)), fileKey: fileKey) { file += $0 }
        return file
    }

    @Test func unknownStanzasAreIgnoredAndEveryMustIsEnforced() async throws {
        let identity = try HybridIdentity.generate()
        let fileKey = try Gcrypt.randomKey(16)
        let good = try identity.recipient.wrap(fileKey)
        let unknown = AgeStanza(arguments: ["example.com/other", "x"], body: randomBytes(10))
        let open = { (stanzas: [AgeStanza]) in
            _ = try Age.decrypt(try craft(stanzas, fileKey: fileKey), identities: [.mlkem768x25519(identity)])
        }
        try open([unknown, good])  // other types are ignored
        var extraArgument = good
        extraArgument.arguments.append("extra")
        expectAgeError(.header, containing: "exactly one argument") { try open([extraArgument]) }
        var shortEnc = good
        shortEnc.arguments[1] = Base64.encode(randomBytes(1119))
        expectAgeError(.header, containing: "1119 bytes, not 1120") { try open([shortEnc]) }
        var nonCanonical = good
        var encText = Array(good.arguments[1].utf8)
        // 1120 bytes end in a 2-character group whose second character carries 4 zero bits.
        encText[encText.count - 1] = encText[encText.count - 1] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A") + 1
        nonCanonical.arguments[1] = String(decoding: encText, as: UTF8.self)
        expectAgeError(.header, containing: "not canonical base64") { try open([nonCanonical]) }
        var shortBody = good
        shortBody.body = Array(good.body.prefix(31))
        expectAgeError(.header, containing: "body must be 32 bytes, it is 31") { try open([shortBody]) }
        var tampered = good
        tampered.body[5] ^= 1
        expectAgeError(.noMatchingIdentity) { try open([tampered]) }
    }

    @Test func cliKeygenEncryptDecryptAndEachMustHasItsOwnErrorLine() async throws {
        let directory = try TemporaryDirectory()
        let keygen = try await Command.clavis(["keygen", "--pq", "-o", directory.file("pq.txt")])
        #expect(keygen.status == 0)
        #expect(keygen.stderr.hasPrefix("Public key: age1pq1"))
        #expect((try FileManager.default.attributesOfItem(atPath: directory.file("pq.txt"))[.posixPermissions] as? Int) == 0o600)
        let recipient = try await Command.clavis(["keygen", "-y", directory.file("pq.txt")]).output.trimmingCharacters(in: .newlines)
        #expect(keygen.stderr == "Public key: \(recipient)\n")
        try directory.write("spec.txt", SpecExample.identity + "\n")
        #expect(try await Command.clavis(["keygen", "-y", directory.file("spec.txt")]).output == SpecExample.recipient + "\n")
        try directory.write("plain", "post-quantum")
        for armor in [[], ["-a"]] {
            let encrypt = try await Command.clavis(["age", "encrypt", "-r", recipient, "-o", directory.file("f.age")] + armor + [directory.file("plain")])
            #expect(encrypt.status == 0, "\(encrypt.stderr)")
            #expect(try await Command.clavis(["age", "decrypt", "-i", directory.file("pq.txt"), directory.file("f.age")]).output == "post-quantum")
        }
        let identity = try AgeIdentity.parseIdentityFile(Secret(contentsOf: directory.file("pq.txt")), path: "pq.txt")
        guard case .mlkem768x25519(let pq) = identity[0] else { Issue.record("not a PQ identity"); return }
        let fileKey = try Gcrypt.randomKey(16)
        let good = try pq.recipient.wrap(fileKey)
        var variants: [String: AgeStanza] = [:]
        var a = good; a.arguments.append("x"); variants["args"] = a
        var b = good; b.arguments[1] = Base64.encode(randomBytes(1119)); variants["enc"] = b
        var c = good; var t = Array(c.arguments[1].utf8); t[t.count - 1] = t[t.count - 1] == 65 ? 66 : 65 + 1
        c.arguments[1] = String(decoding: t, as: UTF8.self); variants["b64"] = c
        var d = good; d.body.removeLast(); variants["body"] = d
        var e = good; e.body[0] ^= 1; variants["tamper"] = e
        var lines = Set<String>()
        for (name, stanza) in variants {
            try directory.write("\(name).age", Data(try craft([stanza], fileKey: fileKey)))
            let result = try await Command.clavis(["age", "decrypt", "-i", directory.file("pq.txt"), directory.file("\(name).age")])
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix("error: "), "\(result.stderr)")
            lines.insert(result.stderr)
        }
        #expect(lines.count == 5, "\(lines)")
    }

    @Test func storeWithHybridRecipientsAndRotationFromClassical() async throws {
        let fixture = try StoreFixture()
        try fixture.store.store(Secret("classical"), named: "a")
        #expect(try !fixture.store.info().isPostQuantum)
        let pq = try HybridIdentity.generate(), pq2 = try HybridIdentity.generate()
        try fixture.directory.write("pq.txt", pq.encoded().revealedString() ?? "")
        // Mixing is refused when adding a PQ recipient to a classical store, and nothing changes.
        let before = try fixture.bytes()
        expectClavisError(.invalidValue, containing: "cannot be mixed") { try fixture.store.addRecipients([.mlkem768x25519(pq.recipient)]) }
        #expect(try fixture.bytes() == before)
        // Rotate the whole store to PQ, atomically.
        try fixture.store.rekey(to: [.mlkem768x25519(pq.recipient), .mlkem768x25519(pq2.recipient)])
        let byPQ = AgeStore(path: fixture.path, unlock: AgeUnlock(identityFiles: [fixture.directory.file("pq.txt")], useEnvironment: false))
        #expect(try byPQ.secret(named: "a").revealedString() == "classical")
        #expect(try byPQ.info().isPostQuantum)
        #expect(try byPQ.recipients() == [pq.recipient.description, pq2.recipient.description])
        // The new key's holder confirms the list the rekey chose before writing (RecipientPin).
        expectClavisError(.permissionDenied, containing: "not confirmed") { try byPQ.store(Secret("x"), named: "x") }
        try byPQ.confirmRecipients()
        try byPQ.store(Secret("quantum-safe"), named: "b")
        try byPQ.removeRecipients([.mlkem768x25519(pq2.recipient)])
        #expect(try byPQ.secret(named: "b").revealedString() == "quantum-safe")
        expectClavisError(.wrongKey) { _ = try fixture.store.names() }
        let info = try await Command.clavis(["store", "info", "age:\(fixture.path)"])
        #expect(info.output.contains("post-quantum: yes"))
    }
}

extension Secret {
    init(contentsOf path: String) throws {
        self.init(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }
}
