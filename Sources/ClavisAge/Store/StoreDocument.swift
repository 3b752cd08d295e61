import ClavisCore
import Foundation

/// The JSON document inside an age store: named secrets and the store's own recipient list,
/// so `age -d -i key.txt store.age` shows readable JSON and every update re-encrypts to the
/// same recipients.
///
/// ```json
/// {
///   "format" : "clavis-store/v1",
///   "passphrase" : null,
///   "recipients" : [ "age1…" ],
///   "secrets" : { "app-secret" : { "created" : "2026-11-25T14:00:00Z", "updated" : "…", "value" : "…" } }
/// }
/// ```
struct StoreDocument: Codable {
    static let formatName = "clavis-store/v1"

    var format = StoreDocument.formatName
    /// X25519 recipients (`age1…`); empty for a passphrase store.
    var recipients: [String]
    /// Set for a passphrase store: the scrypt work factor used when re-encrypting.
    var passphrase: PassphraseSettings?
    var secrets: [String: Entry]
    /// Per member recipient, its identity's tag over the recipient list (``RecipientPin``).
    var pins: [String: String]?

    struct PassphraseSettings: Codable, Equatable {
        var workFactor: Int
    }

    struct Entry: Codable {
        /// The value: UTF-8 text, or base64 when `encoding` is `base64`.
        var value: String
        var encoding: String?
        var created: String
        var updated: String
        /// Clavis annotations kept with the value (``AnnotatedSecretSource``), encrypted with it.
        var annotations: [String: String]?

        init(secret: Secret, created: String, updated: String, annotations: [String: String]? = nil) {
            if let text = secret.revealedString() {
                value = text
                encoding = nil
            } else {
                value = Base64.encode(secret.revealedBytes(), padded: true)
                encoding = "base64"
            }
            self.created = created
            self.updated = updated
            self.annotations = annotations?.isEmpty == true ? nil : annotations
        }

        func secret() throws -> Secret {
            guard encoding == "base64" else { return Secret(value) }
            guard let bytes = Base64.decode(Array(value.utf8), padded: true) else {
                throw AgeError(.payload, "a base64 value in the store does not decode")
            }
            return Secret(bytes: bytes)
        }
    }

    /// The recipients this document is encrypted to.
    func ageRecipients(passphrase: Secret?) throws -> [AgeRecipient] {
        if let settings = self.passphrase {
            guard let passphrase else {
                throw ClavisError(.locked, reason: "a passphrase is needed to re-encrypt this passphrase store")
            }
            return [.scrypt(ScryptRecipient(passphrase: passphrase, workFactor: settings.workFactor))]
        }
        return try recipients.map { try AgeRecipient(parsing: $0) }
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    static func decode(_ secret: Secret, path: String) throws -> StoreDocument {
        let document: StoreDocument
        do {
            document = try secret.withRevealedBytes { try JSONDecoder().decode(StoreDocument.self, from: Data($0)) }
        } catch {
            throw ClavisError(.corrupted, reference: "age:\(path)", reason: "the store decrypted but does not hold a Clavis store document",
                              hint: "is this a plain age file? read it with `clavis age decrypt`", cause: error)
        }
        guard document.format == formatName else {
            throw ClavisError(.corrupted, reference: "age:\(path)", reason: "unknown store format '\(document.format)'")
        }
        return document
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }
}
