/// One recipient stanza: `-> TYPE ARG…` and a body.
public struct AgeStanza: Sendable, Hashable {
    /// The type and arguments (`["X25519", "<share>"]`).
    public var arguments: [String]
    /// The decoded body.
    public var body: [UInt8]

    /// The stanza type (first argument).
    public var type: String { arguments.first ?? "" }
}

/// The age v1 header: stanzas and the MAC over them.
struct AgeHeader {
    static let versionLine = "age-encryption.org/v1"
    static let maximumLineLength = 1 << 16
    static let maximumStanzas = 1 << 12
    /// The largest header read: room for ~600 post-quantum or thousands of X25519 recipients.
    static let maximumSize = 1 << 20

    var stanzas: [AgeStanza]
    var mac: [UInt8]
    /// The header bytes up to and including `---`, which the MAC covers.
    var macInput: [UInt8]

    /// Serialises stanzas; the MAC is computed by the caller over `encodeForMAC` and appended.
    static func encodeForMAC(_ stanzas: [AgeStanza]) -> [UInt8] {
        var text = versionLine + "\n"
        for stanza in stanzas {
            text += "-> " + stanza.arguments.joined(separator: " ") + "\n"
            let body = Array(Base64.encode(stanza.body).utf8)
            var offset = 0
            while body.count - offset >= 64 {
                text += String(decoding: body[offset..<(offset + 64)], as: UTF8.self) + "\n"
                offset += 64
            }
            text += String(decoding: body[offset...], as: UTF8.self) + "\n"  // shorter than 64, maybe empty
        }
        return Array((text + "---").utf8)
    }

    /// Reads a header from `input`, leaving it positioned at the payload.
    static func read(from input: BufferedInput) throws -> AgeHeader {
        var macInput: [UInt8] = []
        func line() throws -> [UInt8] {
            guard let line = try input.readLine(maximum: maximumLineLength) else {
                throw AgeError(.header, "the file ends inside the header (truncated, or not an age file)")
            }
            macInput += line + [0x0A]
            guard macInput.count <= maximumSize else {
                throw AgeError(.header, "the header is larger than \(maximumSize >> 20) MiB (a damaged or hostile file)")
            }
            return line
        }
        let version = try line()
        guard version == Array(versionLine.utf8) else {
            if version.starts(with: Array("age-encryption.org/".utf8)) {
                throw AgeError(.header, "unsupported version '\(String(decoding: version, as: UTF8.self))'; this reads age-encryption.org/v1")
            }
            throw AgeError(.header, "not an age file (the first line is not 'age-encryption.org/v1')")
        }
        var stanzas: [AgeStanza] = []
        while true {
            let current = try line()
            if current.starts(with: Array("---".utf8)) {
                guard current.count == 47, current[3] == 0x20, let mac = Base64.decode(current[4...]), mac.count == 32 else {
                    throw AgeError(.header, "malformed MAC line")
                }
                guard !stanzas.isEmpty else { throw AgeError(.header, "the header has no recipient stanza") }
                macInput.removeLast(current.count + 1)
                macInput += Array("---".utf8)
                return AgeHeader(stanzas: stanzas, mac: mac, macInput: macInput)
            }
            guard current.starts(with: Array("-> ".utf8)) else {
                throw AgeError(.header, "expected a stanza ('-> ') or the MAC line ('---')")
            }
            let argumentText = current.dropFirst(3)
            let arguments = argumentText.split(separator: 0x20, omittingEmptySubsequences: false)
            guard !arguments.isEmpty, arguments.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (0x21...0x7E).contains($0) } }) else {
                throw AgeError(.header, "a stanza argument is empty or has characters outside printable ASCII")
            }
            var body: [UInt8] = []
            while true {
                let bodyLine = try line()
                guard bodyLine.count <= 64 else { throw AgeError(.header, "a stanza body line is longer than 64 columns") }
                guard let decoded = Base64.decode(bodyLine), bodyLine.count % 4 != 1 else {
                    throw AgeError(.header, "a stanza body is not canonical unpadded base64")
                }
                if bodyLine.count == 64 {
                    body += decoded
                    continue
                }
                body += decoded
                break
            }
            stanzas.append(AgeStanza(arguments: arguments.map { String(decoding: $0, as: UTF8.self) }, body: body))
            guard stanzas.count <= maximumStanzas else { throw AgeError(.header, "more than \(maximumStanzas) stanzas") }
        }
    }

    /// Checks the MAC under `fileKey`.
    func verify(fileKey: SecureBytes) throws {
        let key = try HKDFSHA256.deriveKey(ikm: fileKey, salt: [], info: Array("header".utf8))
        let expected = try HMACSHA256.authenticate(key: key, message: macInput)
        var difference: UInt8 = 0
        for (a, b) in zip(expected, mac) { difference |= a ^ b }
        guard difference == 0, expected.count == mac.count else {
            throw AgeError(.headerMAC, "the header was modified, or a stanza opened to the wrong file key")
        }
    }

    /// The complete header bytes (with MAC line) for `stanzas` under `fileKey`.
    static func encode(_ stanzas: [AgeStanza], fileKey: SecureBytes) throws -> [UInt8] {
        let macInput = encodeForMAC(stanzas)
        let key = try HKDFSHA256.deriveKey(ikm: fileKey, salt: [], info: Array("header".utf8))
        let mac = try HMACSHA256.authenticate(key: key, message: macInput)
        return macInput + Array(" \(Base64.encode(mac))\n".utf8)
    }
}
