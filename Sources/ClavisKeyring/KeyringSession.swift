import CLibsecret
import ClavisCore
#if canImport(Glibc)
import Glibc
#endif

/// The blocking libsecret calls behind `KeyringSource`. Runs only on the source's own thread,
/// never on Swift's cooperative pool; every call takes the operation's `GCancellable`.
struct KeyringSession: ~Copyable {
    private let service: OpaquePointer
    private let cancellable: OpaquePointer
    private let reference: String

    /// Connects to the Secret Service on the session bus, failing clearly when there is no
    /// provider (`perform` has checked that there is a bus).
    init(cancellable: OpaquePointer, reference: String) throws {
        self.cancellable = cancellable
        self.reference = reference
        var error: UnsafeMutablePointer<ClavisGError>?
        let flags = Int32(CLAVIS_SECRET_SERVICE_OPEN_SESSION)
        guard let service = clavis_secret_service_get_sync(flags, cancellable, &error) else {
            throw KeyringSession.translate(error, reference: reference, operation: "connect to the Secret Service")
        }
        self.service = service
    }

    deinit { clavis_g_object_unref(UnsafeMutableRawPointer(service)) }

    /// Opens the collection `name` (an alias such as `default`, or a collection name such as `login`).
    func collection(_ name: String) throws -> Collection {
        var error: UnsafeMutablePointer<ClavisGError>?
        if let byAlias = clavis_secret_collection_for_alias_sync(service, name, Int32(CLAVIS_SECRET_COLLECTION_NONE), cancellable, &error) {
            return Collection(pointer: byAlias)
        }
        if let error { throw KeyringSession.translate(error, reference: reference, operation: "open collection '\(name)'") }
        let path = "/org/freedesktop/secrets/collection/\(name)"
        if let byPath = clavis_secret_collection_new_for_dbus_path_sync(service, path, Int32(CLAVIS_SECRET_COLLECTION_NONE), cancellable, &error) {
            return Collection(pointer: byPath)
        }
        if let error, clavis_error_is_no_object(error) == 0, clavis_error_is_dbus(error) == 0 || clavis_error_is_timeout(error) != 0 {
            throw KeyringSession.translate(error, reference: reference, operation: "open collection '\(name)'")
        }
        if let error { clavis_g_error_free(error) }
        throw ClavisError(name == "default" ? .noDefaultCollection : .noSuchCollection, reference: reference,
                          reason: name == "default" ? "the Secret Service has no default collection" : "the Secret Service has no collection or alias called '\(name)'",
                          hint: name == "default"
                            ? "create one by storing any secret from the desktop (Seahorse, secret-tool store), or name one with ?collection=login"
                            : "list collections with Seahorse, or omit ?collection= to use the default one")
    }

    /// Unlocks `collection` if it is locked: prompts when `interactive`, else fails with `locked`.
    func ensureUnlocked(_ collection: borrowing Collection, name: String, interactive: Bool) throws {
        guard clavis_secret_collection_get_locked(collection.pointer) != 0 else { return }
        guard interactive else {
            throw ClavisError(.locked, reference: reference, reason: "keyring collection '\(name)' is locked",
                              hint: "unlock it: log in to the desktop session, run again with --unlock to be prompted, or on a headless machine start the daemon with `printf PASSWORD | gnome-keyring-daemon --unlock`")
        }
        var error: UnsafeMutablePointer<ClavisGError>?
        let list = clavis_list_of_one(UnsafeMutableRawPointer(collection.pointer))
        defer { clavis_g_list_free(list) }
        let count = clavis_secret_service_unlock_sync(service, list, cancellable, nil, &error)
        if let error { throw KeyringSession.translate(error, reference: reference, operation: "unlock collection '\(name)'") }
        guard count > 0 else {
            throw ClavisError(.locked, reference: reference, reason: "keyring collection '\(name)' stayed locked: the unlock prompt was dismissed or could not be shown")
        }
    }

    /// The items in `collection` whose attributes match, with their secrets loaded if `load`.
    func search(_ collection: borrowing Collection, service serviceName: String, username: String?, all: Bool, load: Bool) throws -> Items {
        let attributes = clavis_attributes(serviceName, username)
        defer { clavis_g_hash_table_unref(attributes) }
        var flags = Int32(CLAVIS_SECRET_SEARCH_NONE)
        if all { flags |= Int32(CLAVIS_SECRET_SEARCH_ALL) }
        if load { flags |= Int32(CLAVIS_SECRET_SEARCH_LOAD_SECRETS) }
        var error: UnsafeMutablePointer<ClavisGError>?
        let list = clavis_secret_collection_search_sync(collection.pointer, clavis_schema(), attributes, flags, cancellable, &error)
        if let error { throw KeyringSession.translate(error, reference: reference, operation: "search the keyring") }
        return Items(list: list)
    }

    /// Copies an item's loaded secret into a `Secret`.
    func value(of item: OpaquePointer) throws -> Secret {
        var error: UnsafeMutablePointer<ClavisGError>?
        var value = clavis_secret_item_get_secret(item)
        if value == nil {
            guard clavis_secret_item_load_secret_sync(item, cancellable, &error) != 0 else {
                throw KeyringSession.translate(error, reference: reference, operation: "read the item")
            }
            value = clavis_secret_item_get_secret(item)
        }
        guard let value else {
            throw ClavisError(.locked, reference: reference, reason: "the keyring returned no value for the item (is it locked?)")
        }
        defer { clavis_secret_value_unref(value) }
        var length = 0
        guard let bytes = clavis_secret_value_get(value, &length) else { return Secret(bytes: []) }
        return Secret(bytes: UnsafeRawBufferPointer(start: bytes, count: length))
    }

    /// Replaces the value of an existing item, keeping its label and attributes.
    func update(_ item: OpaquePointer, with secret: Secret) throws {
        let value = Self.makeValue(secret)
        defer { clavis_secret_value_unref(value) }
        var error: UnsafeMutablePointer<ClavisGError>?
        guard clavis_secret_item_set_secret_sync(item, value, cancellable, &error) != 0 else {
            throw KeyringSession.translate(error, reference: reference, operation: "update the item")
        }
    }

    /// Creates a new item.
    func create(in collection: borrowing Collection, name: KeyringName, secret: Secret) throws {
        let value = Self.makeValue(secret)
        defer { clavis_secret_value_unref(value) }
        let attributes = clavis_attributes(name.service, name.username)
        defer { clavis_g_hash_table_unref(attributes) }
        var error: UnsafeMutablePointer<ClavisGError>?
        let item = clavis_secret_item_create_sync(collection.pointer, clavis_schema(), attributes, name.label, value,
                                           Int32(CLAVIS_SECRET_ITEM_CREATE_REPLACE), cancellable, &error)
        guard let item else { throw KeyringSession.translate(error, reference: reference, operation: "store the item") }
        clavis_g_object_unref(UnsafeMutableRawPointer(item))
    }

    /// Every attribute of an item.
    func attributes(of item: OpaquePointer) -> [String: String] {
        guard let names = clavis_item_attribute_names(item) else { return [:] }
        defer { clavis_g_strfreev(names) }
        var result: [String: String] = [:]
        var index = 0
        while let name = names[index] {
            if let raw = clavis_item_attribute(item, name) {
                result[String(cString: name)] = String(cString: raw)
                clavis_g_free(raw)
            }
            index += 1
        }
        return result
    }

    /// Replaces every attribute of an item (no schema check: the caller keeps `service`,
    /// `username` and whatever other tools set).
    func setAttributes(_ item: OpaquePointer, _ attributes: [String: String]) throws {
        let table = clavis_attributes_empty()
        defer { clavis_g_hash_table_unref(table) }
        for (name, value) in attributes { clavis_attributes_insert(table, name, value) }
        var error: UnsafeMutablePointer<ClavisGError>?
        guard clavis_secret_item_set_attributes_sync(item, nil, table, cancellable, &error) != 0 else {
            throw KeyringSession.translate(error, reference: reference, operation: "update the item's attributes")
        }
    }

    /// Deletes an item.
    func delete(_ item: OpaquePointer) throws {
        var error: UnsafeMutablePointer<ClavisGError>?
        guard clavis_secret_item_delete_sync(item, cancellable, &error) != 0 else {
            throw KeyringSession.translate(error, reference: reference, operation: "delete the item")
        }
    }

    private static func makeValue(_ secret: Secret) -> OpaquePointer {
        secret.withRevealedBytes { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                guard let base = chars.baseAddress else { return "".withCString { clavis_secret_value_new($0, 0, "text/plain") } }
                return clavis_secret_value_new(base, chars.count, "text/plain")
            }
        }
    }

    /// Turns a GError into a ClavisError (freeing it). Messages from the service name no values.
    static func translate(_ error: UnsafeMutablePointer<ClavisGError>?, reference: String, operation: String) -> ClavisError {
        guard let error else {
            return ClavisError(.serviceError, reference: reference, reason: "could not \(operation) (no detail from libsecret)")
        }
        defer { clavis_g_error_free(error) }
        let message = String(cString: error.pointee.message)
        let cause = SecretServiceError(domain: clavis_g_quark_to_string(error.pointee.domain).map { String(cString: $0) } ?? "unknown",
                                       code: error.pointee.code, message: message)
        if clavis_error_is_cancelled(error) != 0 {
            return ClavisError(.timedOut, reference: reference, reason: "could not \(operation): the Secret Service did not answer in time",
                               hint: "check that the keyring daemon is responsive (or no prompt is waiting on the desktop)", cause: cause)
        }
        if clavis_error_is_timeout(error) != 0 {
            return ClavisError(.timedOut, reference: reference, reason: "could not \(operation): \(message)", cause: cause)
        }
        if clavis_error_is_service_unknown(error) != 0 {
            return ClavisError(.sourceUnavailable, reference: reference,
                               reason: "no Secret Service provider on the session bus (\(message))",
                               hint: "install and start gnome-keyring (or enable KeePassXC's Secret Service integration), or keep the secret in an age: store", cause: cause)
        }
        if clavis_error_is_locked(error) != 0 || message.contains("locked collection") {
            return ClavisError(.locked, reference: reference, reason: "could not \(operation): the collection is locked",
                               hint: "unlock it (log in, run with --unlock, or `gnome-keyring-daemon --unlock` on a headless machine)", cause: cause)
        }
        if clavis_error_is_access_denied(error) != 0 {
            return ClavisError(.permissionDenied, reference: reference, reason: "could not \(operation): \(message)",
                               hint: "the Secret Service refused access; check the provider's access settings", cause: cause)
        }
        if message.contains("autolaunch") || message.contains("dbus-launch") || message.contains("DBUS_SESSION_BUS_ADDRESS") {
            return ClavisError(.sourceUnavailable, reference: reference, reason: "no D-Bus session bus (\(message))", hint: SessionBus.hint, cause: cause)
        }
        return ClavisError(.serviceError, reference: reference, reason: "could not \(operation): \(message)", cause: cause)
    }
}

/// A collection proxy, released when dropped.
struct Collection: ~Copyable {
    let pointer: OpaquePointer
    deinit { clavis_g_object_unref(UnsafeMutableRawPointer(pointer)) }
}

/// A list of item proxies, released when dropped.
struct Items: ~Copyable {
    let list: UnsafeMutablePointer<ClavisGList>?
    deinit { if let list { clavis_free_objects(list) } }

    /// The items, valid while `self` lives.
    var pointers: [OpaquePointer] {
        var result: [OpaquePointer] = []
        var node = list
        while let current = node {
            if let data = current.pointee.data { result.append(OpaquePointer(data)) }
            node = current.pointee.next
        }
        return result
    }
}

/// Whether a D-Bus session bus can be reached, checked without touching D-Bus (so a machine
/// without one fails in microseconds, not after libdbus tries to autolaunch).
enum SessionBus {
    static let hint = "start one with `dbus-run-session -- YOUR_COMMAND` (and unlock a keyring in it), or on a server keep the secret in an age: store or a systemd credential instead"

    static func problem() -> String? {
        if let address = getenv("DBUS_SESSION_BUS_ADDRESS"), address.pointee != 0 { return nil }
        if let runtime = getenv("XDG_RUNTIME_DIR"), runtime.pointee != 0 {
            var status = stat()
            if stat(String(cString: runtime) + "/bus", &status) == 0, (status.st_mode & S_IFMT) == S_IFSOCK { return nil }
        }
        return "no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus"
    }
}

extension ClavisError.Code {
    /// The Secret Service has no default collection (a fresh desktop, or a headless session); refines ``notFound``.
    public static let noDefaultCollection = ClavisError.Code("no-default-collection", refines: .notFound)
    /// The Secret Service has no collection or alias of the name asked for; refines ``notFound``.
    public static let noSuchCollection = ClavisError.Code("no-such-collection", refines: .notFound)
}
