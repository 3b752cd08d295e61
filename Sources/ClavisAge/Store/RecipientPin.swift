import ClavisCore

/// Pins a store's recipient list to the identities of its members.
///
/// Whoever can replace the store file can write a new one encrypted to your public recipient,
/// with a document naming one more recipient of theirs; every later write would then re-encrypt
/// your secrets to them. So each member's write proves the list was confirmed by that member:
/// the document carries, per member recipient, `HMAC-SHA-256(HKDF(identity key), list)` — a tag
/// only the holder of that identity can make or check. A write (and `store recipients add|remove`)
/// goes ahead only when:
/// - one of your identities is a recipient the document lists (your own recipient must remain);
/// - and your tag matches the list, or — with no tag of yours yet — the list names only you.
/// Otherwise it refuses, naming the unconfirmed recipients; `clavis store recipients confirm`
/// shows them and pins the list after you have checked it. Reads are unaffected. A passphrase
/// store has no recipient list to pin.
enum RecipientPin {
    static let info = Array("clavis.dev/store/recipients-pin/v1".utf8)

    /// What the tag covers: the sorted, de-duplicated recipients, one per line.
    static func canonical(_ recipients: [String]) -> [UInt8] {
        Array(Set(recipients).sorted().joined(separator: "\n").utf8)
    }

    /// The tag of `identity` over `recipients` (base64), or `nil` for a passphrase identity.
    static func tag(_ identity: AgeIdentity, over recipients: [String]) throws -> String? {
        guard let key = try identity.pinKey() else { return nil }
        return Base64.encode(try HMACSHA256.authenticate(key: key, message: canonical(recipients)), padded: true)
    }

    /// Refuses a document whose recipient list the writer's identities have not confirmed.
    static func verify(_ document: StoreDocument, identities: [AgeIdentity], reference: String) throws {
        guard document.passphrase == nil else { return }
        let listed = Set(document.recipients)
        let mine = identities.filter { $0.recipientString.map(listed.contains) ?? false }
        guard !mine.isEmpty else {
            throw ClavisError(.permissionDenied, reference: reference,
                              reason: "the store's recipient list does not name your identity, so it was not written by a Clavis write of yours",
                              hint: "check the file's origin; to take it over, re-encrypt it with `clavis store rekey \(reference) --to age1…`")
        }
        var pinned = false
        for identity in mine {
            guard let recipient = identity.recipientString, let stored = document.pins?[recipient] else { continue }
            guard try tag(identity, over: document.recipients) == stored else {
                throw unconfirmed(document, identities: mine, reference: reference, changed: true)
            }
            pinned = true
        }
        guard pinned || listed.isSubset(of: Set(mine.compactMap(\.recipientString))) else {
            throw unconfirmed(document, identities: mine, reference: reference, changed: false)
        }
    }

    /// Tags the (new) list with every identity of the writer that it names. When the list changed,
    /// the other members' tags no longer hold and are dropped: each confirms once.
    static func seal(_ document: inout StoreDocument, identities: [AgeIdentity], listChanged: Bool) throws {
        guard document.passphrase == nil else { document.pins = nil; return }
        var pins = listChanged ? [:] : (document.pins ?? [:])
        let listed = Set(document.recipients)
        pins = pins.filter { listed.contains($0.key) }
        for identity in identities {
            guard let recipient = identity.recipientString, listed.contains(recipient),
                  let value = try tag(identity, over: document.recipients) else { continue }
            pins[recipient] = value
        }
        document.pins = pins.isEmpty ? nil : pins
    }

    private static func unconfirmed(_ document: StoreDocument, identities: [AgeIdentity], reference: String, changed: Bool) -> ClavisError {
        let mine = Set(identities.compactMap(\.recipientString))
        // Post-quantum recipients are ~1,950 characters: name them by their ends (`store recipients list` shows them whole).
        let others = document.recipients.filter { !mine.contains($0) }.map { $0.count > 80 ? "\($0.prefix(16))…\($0.suffix(8))" : $0 }
        let what = changed ? "the store's recipients changed since you last confirmed them" : "the store encrypts to recipients you have not confirmed"
        return ClavisError(.permissionDenied, reference: reference,
                           reason: "\(what) (others: \(others.isEmpty ? "none" : others.joined(separator: ", "))); refusing to re-encrypt your secrets to them",
                           hint: "if every recipient is expected, confirm with `clavis store recipients confirm \(reference)`; if not, someone rewrote the store: restore it from a backup and rotate its secrets")
    }
}

extension AgeIdentity {
    /// The key this identity tags a store's recipient list with (`nil` for a passphrase).
    func pinKey() throws -> SecureBytes? {
        switch self {
        case .x25519(let identity): try identity.pinKey()
        case .mlkem768x25519(let identity): try identity.pinKey()
        case .scrypt: nil
        }
    }
}

extension X25519Identity {
    /// HKDF of the secret key, for ``RecipientPin``.
    func pinKey() throws -> SecureBytes {
        try HKDFSHA256.deriveKey(ikm: secretKey, salt: [], info: RecipientPin.info)
    }
}

extension HybridIdentity {
    /// HKDF of the seed, for ``RecipientPin``.
    func pinKey() throws -> SecureBytes {
        try HKDFSHA256.deriveKey(ikm: seed, salt: [], info: RecipientPin.info)
    }
}
