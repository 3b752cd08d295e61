import ClavisCore

/// A passphrase identity, refusing work factors above `maximumWorkFactor`.
public struct ScryptIdentity: Sendable {
    let passphrase: Secret
    /// The highest log2 N accepted (default 22: ~4 s here); a hostile file cannot ask for more.
    public let maximumWorkFactor: Int

    /// Creates an identity.
    public init(passphrase: Secret, maximumWorkFactor: Int = 22) {
        self.passphrase = passphrase
        self.maximumWorkFactor = maximumWorkFactor
    }

    func unwrap(_ stanzas: [AgeStanza]) throws -> SecureBytes? {
        guard let stanza = stanzas.first(where: { $0.type == "scrypt" }) else { return nil }
        guard stanzas.count == 1 else { throw AgeError(.header, "an scrypt stanza must be the only stanza in the header") }
        guard stanza.arguments.count == 3, let salt = Base64.decode(Array(stanza.arguments[1].utf8)), salt.count == 16 else {
            throw AgeError(.header, "an scrypt stanza must have a 16-byte salt and a work factor")
        }
        let factorText = stanza.arguments[2]
        guard let first = factorText.first, first != "0", factorText.allSatisfy(\.isASCII), factorText.allSatisfy(\.isNumber),
              factorText.count <= 3, let workFactor = Int(factorText) else {
            throw AgeError(.header, "the scrypt work factor '\(factorText.prefix(20))' is not a decimal without leading zeros")
        }
        guard workFactor <= maximumWorkFactor, workFactor <= 30 else {
            throw AgeError(.workFactor, "the file asks for 2^\(workFactor) scrypt work, above the cap of 2^\(maximumWorkFactor)")
        }
        guard stanza.body.count == 32 else { throw AgeError(.header, "an scrypt stanza body must be 32 bytes") }
        let key = try Scrypt.deriveKey(passphrase: SecureBytes(passphrase.revealedBytes()), salt: ScryptRecipient.label + salt, logN: workFactor)
        return try ChaChaPoly.openOnce(key: key, sealed: stanza.body)
    }
}
