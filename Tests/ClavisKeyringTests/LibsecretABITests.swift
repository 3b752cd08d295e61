import ClavisTestSupport
import Foundation
import Testing

/// CLibsecret declares the few libsecret and GLib structs and constants ClavisKeyring uses itself
/// (it loads libsecret with dlopen, so it includes no GLib header). This compiles a check of each
/// against the real headers: a layout or a value that differs fails the build of the check.
/// (Every function is exercised against a real gnome-keyring by the other keyring suites.)
@Suite struct LibsecretABITests {
    @Test func declarationsMatchTheRealHeaders() async throws {
        let include = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/CLibsecret/include").path
        let directory = try TemporaryDirectory()
        var checks = [
            "sizeof(ClavisGError) == sizeof(GError)",
            "offsetof(ClavisGError, domain) == offsetof(GError, domain)",
            "offsetof(ClavisGError, code) == offsetof(GError, code)",
            "offsetof(ClavisGError, message) == offsetof(GError, message)",
            "sizeof(ClavisGList) == sizeof(GList)",
            "offsetof(ClavisGList, data) == offsetof(GList, data)",
            "offsetof(ClavisGList, next) == offsetof(GList, next)",
            "offsetof(ClavisGList, prev) == offsetof(GList, prev)",
            "sizeof(ClavisSecretSchema) == sizeof(SecretSchema)",
            "sizeof(ClavisSecretSchemaAttribute) == sizeof(SecretSchemaAttribute)",
            "offsetof(ClavisSecretSchema, flags) == offsetof(SecretSchema, flags)",
            "offsetof(ClavisSecretSchema, attributes) == offsetof(SecretSchema, attributes)",
            "offsetof(ClavisSecretSchema, reserved) == offsetof(SecretSchema, reserved)",
            "offsetof(ClavisSecretSchema, reserved7) == offsetof(SecretSchema, reserved7)",
            "offsetof(ClavisSecretSchemaAttribute, type) == offsetof(SecretSchemaAttribute, type)",
        ]
        for name in ["SECRET_SERVICE_OPEN_SESSION", "SECRET_COLLECTION_NONE", "SECRET_SEARCH_NONE", "SECRET_SEARCH_ALL",
                     "SECRET_SEARCH_LOAD_SECRETS", "SECRET_ITEM_CREATE_REPLACE", "SECRET_SCHEMA_DONT_MATCH_NAME",
                     "SECRET_SCHEMA_ATTRIBUTE_STRING", "G_DBUS_ERROR_SERVICE_UNKNOWN", "G_DBUS_ERROR_NAME_HAS_NO_OWNER",
                     "G_DBUS_ERROR_NO_REPLY", "G_DBUS_ERROR_NOT_SUPPORTED", "G_DBUS_ERROR_ACCESS_DENIED", "G_DBUS_ERROR_TIMEOUT", "G_DBUS_ERROR_UNKNOWN_METHOD",
                     "G_DBUS_ERROR_UNKNOWN_OBJECT", "G_IO_ERROR_PERMISSION_DENIED", "G_IO_ERROR_CANCELLED", "G_IO_ERROR_TIMED_OUT",
                     "SECRET_ERROR_IS_LOCKED", "SECRET_ERROR_NO_SUCH_OBJECT"] {
            checks.append("(int)CLAVIS_\(name) == (int)\(name)")
        }
        let source = """
            #define SECRET_WITH_UNSTABLE 1
            #include <libsecret/secret.h>
            #include <gio/gio.h>
            #include <stddef.h>
            #include "CLibsecret.h"
            \(checks.map { "_Static_assert(\($0), \"\($0)\");" }.joined(separator: "\n"))
            """
        let file = try directory.write("abi.c", source)
        let result = try await Command.run("bash", ["-c", #"cc -fsyntax-only $(pkg-config --cflags libsecret-1) -I "$1" "$2""#, "bash", include, file])
        #expect(result.status == 0, "\(result.stderr)")
    }
}
