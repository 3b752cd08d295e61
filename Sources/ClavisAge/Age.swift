#if canImport(Glibc)
import Glibc
#endif
import ClavisCore

/// age v1 encryption and decryption (age-encryption.org/v1), every primitive from libgcrypt.
///
/// ```swift
/// let identity = try X25519Identity.generate()
/// let sealed = try Age.encrypt(Array("hello".utf8), to: [.x25519(identity.recipient)])
/// let opened = try Age.decrypt(sealed, identities: [.x25519(identity)])
/// ```
///
/// Files written here decrypt with the stock `age` tool and vice versa. Each failure class of the
/// spec is its own ``AgeError/Kind``.
public enum Age {
    /// Encrypts everything `input` holds to `recipients`, passing output bytes to `output`.
    public static func encrypt(_ input: BufferedInput, to recipients: [AgeRecipient], armor: Bool = false,
                               output: ([UInt8]) throws -> Void) throws {
        try Gcrypt.ensureReady()
        guard !recipients.isEmpty else { throw AgeError(.invalidRecipients, "no recipients") }
        if recipients.contains(where: { if case .scrypt = $0 { true } else { false } }), recipients.count > 1 {
            throw AgeError(.invalidRecipients, "a passphrase cannot be combined with other recipients")
        }
        if recipients.contains(where: \.isPostQuantum), recipients.contains(where: { if case .x25519 = $0 { true } else { false } }) {
            throw AgeError(.invalidRecipients, "post-quantum (age1pq1…) and X25519 (age1…) recipients cannot be mixed: "
                           + "anyone who breaks X25519 with a quantum computer could then read the file, undoing the protection")
        }
        let fileKey = try Gcrypt.randomKey(16)
        let stanzas = try recipients.map { try $0.wrap(fileKey) }
        let header = try AgeHeader.encode(stanzas, fileKey: fileKey)
        if armor {
            var all = header
            try PayloadStream.encrypt(input, fileKey: fileKey) { all += $0 }
            try output(Armor.encode(all))
        } else {
            try output(header)
            try PayloadStream.encrypt(input, fileKey: fileKey, output: output)
        }
    }

    /// Decrypts `input` (binary or armored) with the first identity that opens it, streaming the
    /// plaintext to `output` chunk by chunk. A failure after some output means the rest was not
    /// authentic: callers that need all-or-nothing should buffer (as ``decrypt(_:identities:)`` does).
    public static func decrypt(_ input: BufferedInput, identities: [AgeIdentity],
                               output: (UnsafeRawBufferPointer) throws -> Void) throws {
        try Gcrypt.ensureReady()
        var source = input
        // Enough to see the BEGIN line after the blank lines the armor may start with.
        let head = try input.read(upTo: 2 * Armor.maximumWhitespace + 64)  // CRs in blank lines are not counted
        let rest = BufferedInput.Chain(prefix: head, input)
        if Armor.isArmored(head) {
            source = BufferedInput(bytes: try Armor.decode(try rest.readAll(maximum: Armor.maximumSize, tooLarge: Armor.tooLarge)))
        } else {
            source = rest.input
        }
        let header = try AgeHeader.read(from: source)
        var fileKey: SecureBytes?
        for identity in identities {
            if let key = try identity.unwrap(header.stanzas) { fileKey = key; break }
        }
        guard let fileKey else {
            let types = Set(header.stanzas.map(\.type)).sorted().joined(separator: ", ")
            if header.stanzas.contains(where: { $0.type == "scrypt" }) {
                throw AgeError(.noMatchingIdentity, identities.contains { if case .scrypt = $0 { true } else { false } }
                               ? "incorrect passphrase" : "the file is passphrase-encrypted; give the passphrase")
            }
            throw AgeError(.noMatchingIdentity, "none of the \(identities.count) identities given opens a stanza (the file has: \(types))")
        }
        guard fileKey.count == 16 else { throw AgeError(.header, "the unwrapped file key is not 16 bytes") }
        try header.verify(fileKey: fileKey)
        try PayloadStream.decrypt(source, fileKey: fileKey, output: output)
    }

    /// Encrypts `plaintext` to `recipients`.
    public static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient], armor: Bool = false) throws -> [UInt8] {
        var result: [UInt8] = []
        try encrypt(BufferedInput(bytes: plaintext), to: recipients, armor: armor) { result += $0 }
        return result
    }

    /// Decrypts a whole file; nothing is returned unless every chunk authenticated.
    public static func decrypt(_ ciphertext: [UInt8], identities: [AgeIdentity]) throws -> Secret {
        var plaintext: [UInt8] = []
        defer { plaintext.withUnsafeMutableBytes { if let base = $0.baseAddress { _ = memset(base, 0, $0.count) } } }
        try decrypt(BufferedInput(bytes: ciphertext), identities: identities) { plaintext += $0 }
        return Secret(bytes: plaintext)
    }

    /// The stanza types of a file's header, without decrypting (for `store info`).
    public static func stanzaTypes(_ ciphertext: [UInt8]) throws -> [String] {
        guard !Armor.isArmored(ciphertext) || ciphertext.count <= Armor.maximumSize else { throw Armor.tooLarge }
        let bytes = Armor.isArmored(ciphertext) ? try Armor.decode(ciphertext) : ciphertext
        return try AgeHeader.read(from: BufferedInput(bytes: bytes)).stanzas.map(\.type)
    }
}

extension BufferedInput {
    /// Puts bytes already read back in front of an input.
    struct Chain {
        let input: BufferedInput
        init(prefix: [UInt8], _ input: BufferedInput) {
            input.unread(prefix)
            self.input = input
        }
        func readAll(maximum: Int? = nil, tooLarge: @autoclosure () -> AgeError) throws -> [UInt8] {
            try input.readAll(maximum: maximum, tooLarge: tooLarge())
        }
    }
}
