/* A keyring read in four messages (see clavis_direct_read in include/CLibsecret.h): the freedesktop
   Secret Service API's OpenSession, SearchItems and GetSecrets on GIO, and Session.Close
   (https://specifications.freedesktop.org/secret-service/latest/). The session's cryptography is
   in SessionCrypto.c. GLib and GIO are found through the libsecret handle, not linked. */
#include "CLibsecret.h"
#include "Internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct GVariant GVariant;
typedef struct GMainContext GMainContext;
typedef struct GSource GSource;
typedef struct GAsyncResult GAsyncResult;
typedef struct GDBusConnection GDBusConnection;
typedef char GVariantType; /* a GVariantType pointer is its type string (G_VARIANT_TYPE is a cast) */
typedef void (*ReadyCallback)(void *source, GAsyncResult *result, void *data);

enum { BUS_TYPE_SESSION = 2, CALL_FLAGS_NONE = 0, DEFAULT_TIMEOUT = -1 };

#define DIRECT_GLIB(X) \
    X(void, g_bus_get, (int, ClavisGCancellable *, ReadyCallback, void *)) \
    X(GDBusConnection *, g_bus_get_finish, (GAsyncResult *, ClavisGError **)) \
    X(void, g_dbus_connection_call, (GDBusConnection *, const char *, const char *, const char *, const char *, GVariant *, \
                                     const GVariantType *, int, int, ClavisGCancellable *, ReadyCallback, void *)) \
    X(GVariant *, g_dbus_connection_call_finish, (GDBusConnection *, GAsyncResult *, ClavisGError **)) \
    X(int, g_dbus_connection_flush_sync, (GDBusConnection *, ClavisGCancellable *, ClavisGError **)) \
    X(void, g_dbus_connection_set_exit_on_close, (GDBusConnection *, int)) \
    X(uint32_t, secret_error_get_quark, (void)) \
    X(int, g_dbus_error_strip_remote_error, (ClavisGError *)) \
    X(uint32_t, g_dbus_error_quark, (void)) \
    X(GMainContext *, g_main_context_new, (void)) \
    X(void, g_main_context_push_thread_default, (GMainContext *)) \
    X(void, g_main_context_pop_thread_default, (GMainContext *)) \
    X(int, g_main_context_iteration, (GMainContext *, int)) \
    X(void, g_main_context_unref, (GMainContext *)) \
    X(GSource *, g_timeout_source_new, (unsigned)) \
    X(void, g_source_set_callback, (GSource *, int (*)(void *), void *, void (*)(void *))) \
    X(unsigned, g_source_attach, (GSource *, GMainContext *)) \
    X(void, g_source_destroy, (GSource *)) \
    X(void, g_source_unref, (GSource *)) \
    X(void, g_object_unref, (void *)) \
    X(GVariant *, g_variant_new_string, (const char *)) \
    X(GVariant *, g_variant_new_object_path, (const char *)) \
    X(GVariant *, g_variant_new_variant, (GVariant *)) \
    X(GVariant *, g_variant_new_fixed_array, (const GVariantType *, const void *, size_t, size_t)) \
    X(GVariant *, g_variant_new_dict_entry, (GVariant *, GVariant *)) \
    X(GVariant *, g_variant_new_array, (const GVariantType *, GVariant *const *, size_t)) \
    X(GVariant *, g_variant_new_tuple, (GVariant *const *, size_t)) \
    X(GVariant *, g_variant_new_objv, (const char *const *, ptrdiff_t)) \
    X(GVariant *, g_variant_get_child_value, (GVariant *, size_t)) \
    X(GVariant *, g_variant_get_variant, (GVariant *)) \
    X(int, g_variant_is_of_type, (GVariant *, const GVariantType *)) \
    X(const void *, g_variant_get_fixed_array, (GVariant *, size_t *, size_t)) \
    X(const char *, g_variant_get_string, (GVariant *, size_t *)) \
    X(size_t, g_variant_n_children, (GVariant *)) \
    X(void, g_variant_unref, (GVariant *)) \
    X(ClavisGError *, g_error_new_literal, (uint32_t, int, const char *)) \
    X(int, g_error_matches, (const ClavisGError *, uint32_t, int)) \
    X(uint32_t, g_quark_from_static_string, (const char *)) \
    X(void, g_error_free, (ClavisGError *))

#define GLIB_POINTER(ret, name, params) ret (*name) params;
static struct { DIRECT_GLIB(GLIB_POINTER) } gl;
static pthread_once_t direct_once = PTHREAD_ONCE_INIT;
static int direct_ready;

static void direct_load(void) {
    void *handle = clavis_libsecret_handle();
    if (handle == NULL) return;
#define GLIB_LOOKUP(ret, name, params) if ((*(void **)&gl.name = dlsym(handle, #name)) == NULL) return;
    DIRECT_GLIB(GLIB_LOOKUP)
    /* Registers libsecret's error domain, so a service's org.freedesktop.Secret.Error.IsLocked
       arrives as SECRET_ERROR_IS_LOCKED (and is translated as libsecret's is), not as a bare D-Bus error. */
    gl.secret_error_get_quark();
    direct_ready = 1;
}

int clavis_direct_available(void) {
    if (clavis_libsecret_handle() == NULL) return 0;
    pthread_once(&direct_once, direct_load);
    return direct_ready;
}

static const char bus_name[] = "org.freedesktop.secrets", service_path[] = "/org/freedesktop/secrets",
                  service_interface[] = "org.freedesktop.Secret.Service", algorithm[] = "dh-ietf1024-sha256-aes128-cbc-pkcs7";

/* One call in flight: filled in by its callback, on this thread, while `finish` iterates. */
typedef struct {
    int done;
    GVariant *reply;
    GDBusConnection *connection;
    ClavisGError *error;
} Pending;

static void on_bus(void *source, GAsyncResult *result, void *data) {
    (void)source;
    Pending *pending = data;
    pending->connection = gl.g_bus_get_finish(result, &pending->error);
    pending->done = 1;
}

static void on_reply(void *source, GAsyncResult *result, void *data) {
    Pending *pending = data;
    pending->reply = gl.g_dbus_connection_call_finish(source, result, &pending->error);
    pending->done = 1;
}

static void finish(GMainContext *context, Pending *pending) {
    while (!pending->done) gl.g_main_context_iteration(context, 1);
}

static void call(GDBusConnection *connection, const char *path, const char *interface, const char *method, GVariant *arguments,
                 const char *reply_type, ClavisGCancellable *cancellable, Pending *pending) {
    gl.g_dbus_connection_call(connection, bus_name, path, interface, method, arguments, reply_type, CALL_FLAGS_NONE, DEFAULT_TIMEOUT,
                              cancellable, pending != NULL ? on_reply : NULL, pending);
}

/* The state of one read, released by `release`. */
typedef struct {
    GMainContext *context;
    GDBusConnection *connection;
    ClavisSessionKey *key;
    unsigned char *plain;
    size_t n_plain;
    char *session, *item;
    Pending bus, open, search, get;
} Read;

static int fail_with(ClavisGError **error, const char *message) {
    if (error != NULL) *error = gl.g_error_new_literal(gl.g_quark_from_static_string("clavis-direct-read"), 1, message);
    return CLAVIS_DIRECT_FAILED;
}

static int fail_from(ClavisGError **error, Pending *pending) {
    gl.g_dbus_error_strip_remote_error(pending->error);
    if (error != NULL) *error = pending->error;
    else gl.g_error_free(pending->error);
    pending->error = NULL;
    return CLAVIS_DIRECT_FAILED;
}

static void release(Read *read) {
    Pending *calls[] = { &read->bus, &read->open, &read->search, &read->get };
    for (size_t i = 0; i < sizeof calls / sizeof *calls; i++) {
        if (calls[i]->reply != NULL) gl.g_variant_unref(calls[i]->reply);
        if (calls[i]->error != NULL) gl.g_error_free(calls[i]->error);
    }
    clavis_session_key_end(read->key);
    clavis_direct_free(read->plain, read->n_plain);
    free(read->session);
    free(read->item);
    if (read->connection != NULL) gl.g_object_unref(read->connection);
    gl.g_main_context_pop_thread_default(read->context);
    gl.g_main_context_unref(read->context);
}

static GVariant *attributes(const char *service, const char *username) {
    GVariant *entries[2] = {
        gl.g_variant_new_dict_entry(gl.g_variant_new_string("service"), gl.g_variant_new_string(service)),
        gl.g_variant_new_dict_entry(gl.g_variant_new_string("username"), gl.g_variant_new_string(username)),
    };
    GVariant *dictionary = gl.g_variant_new_array("{ss}", entries, 2);
    return gl.g_variant_new_tuple(&dictionary, 1);
}

/* The steps, each waiting only for what it needs: the key pair is drawn while the bus connects
   (unless clavis_keyring_prepare drew it already), OpenSession and SearchItems are sent together,
   and the session key is derived while GetSecrets is in flight. Every call sent is finished
   before this returns. */
static int perform(Read *read, const char *service, const char *username, ClavisGCancellable *cancellable,
                   const char **operation, ClavisGError **error) {
    *operation = "connect to the Secret Service";
    gl.g_bus_get(BUS_TYPE_SESSION, cancellable, on_bus, &read->bus);
    read->key = clavis_session_key_begin();
    finish(read->context, &read->bus);
    if (read->bus.error != NULL) return fail_from(error, &read->bus);
    read->connection = read->bus.connection;
    /* g_bus_get's connection ends the process with SIGTERM when the bus goes away: no error line for
       the launcher's caller, and a long-running process killed. Clavis reports the failure instead. */
    gl.g_dbus_connection_set_exit_on_close(read->connection, 0);
    if (read->key == NULL) return CLAVIS_DIRECT_DECLINED; /* no libgcrypt here: libsecret answers */
    size_t n_public = 0;
    const unsigned char *public = clavis_session_key_public(read->key, &n_public);

    GVariant *open[2] = { gl.g_variant_new_string(algorithm),
                          gl.g_variant_new_variant(gl.g_variant_new_fixed_array("y", public, n_public, 1)) };
    call(read->connection, service_path, service_interface, "OpenSession", gl.g_variant_new_tuple(open, 2), "(vo)", cancellable, &read->open);
    call(read->connection, service_path, service_interface, "SearchItems", attributes(service, username), "(aoao)", cancellable, &read->search);
    finish(read->context, &read->open);
    finish(read->context, &read->search);
    if (read->open.error != NULL) {
        /* A provider without this algorithm: libsecret falls back to a plain session. */
        if (gl.g_error_matches(read->open.error, gl.g_dbus_error_quark(), CLAVIS_G_DBUS_ERROR_NOT_SUPPORTED)) return CLAVIS_DIRECT_DECLINED;
        return fail_from(error, &read->open);
    }
    GVariant *output = gl.g_variant_get_child_value(read->open.reply, 0), *path = gl.g_variant_get_child_value(read->open.reply, 1);
    GVariant *peer = gl.g_variant_get_variant(output);
    read->session = strdup(gl.g_variant_get_string(path, NULL));
    gl.g_variant_unref(output);
    gl.g_variant_unref(path);
    *operation = "search the keyring";
    if (read->search.error != NULL) {
        gl.g_variant_unref(peer);
        return fail_from(error, &read->search);
    }
    GVariant *unlocked = gl.g_variant_get_child_value(read->search.reply, 0);
    if (gl.g_variant_n_children(unlocked) > 0) {
        GVariant *first = gl.g_variant_get_child_value(unlocked, 0);
        read->item = strdup(gl.g_variant_get_string(first, NULL));
        gl.g_variant_unref(first);
    }
    gl.g_variant_unref(unlocked);
    if (read->item == NULL || read->session == NULL) {
        /* Nothing unlocked matches: libsecret tells a locked collection from a missing item. */
        gl.g_variant_unref(peer);
        return CLAVIS_DIRECT_DECLINED;
    }

    *operation = "read the item";
    const char *items[1] = { read->item };
    GVariant *get[2] = { gl.g_variant_new_objv(items, 1), gl.g_variant_new_object_path(read->session) };
    call(read->connection, service_path, service_interface, "GetSecrets", gl.g_variant_new_tuple(get, 2), "(a{o(oayays)})", cancellable, &read->get);
    int derived = -1;
    if (gl.g_variant_is_of_type(peer, "ay")) {
        size_t n_peer = 0;
        const unsigned char *bytes = gl.g_variant_get_fixed_array(peer, &n_peer, 1);
        derived = clavis_session_key_derive(read->key, bytes, n_peer);
    }
    gl.g_variant_unref(peer);
    finish(read->context, &read->get);
    if (read->get.error != NULL) return fail_from(error, &read->get);
    if (derived != 0) return fail_with(error, "the Secret Service sent an invalid Diffie-Hellman public value");

    GVariant *secrets = gl.g_variant_get_child_value(read->get.reply, 0);
    int result = CLAVIS_DIRECT_DECLINED; /* the item vanished between SearchItems and GetSecrets */
    for (size_t i = 0, n = gl.g_variant_n_children(secrets); i < n && result == CLAVIS_DIRECT_DECLINED; i++) {
        GVariant *entry = gl.g_variant_get_child_value(secrets, i), *key = gl.g_variant_get_child_value(entry, 0);
        if (strcmp(gl.g_variant_get_string(key, NULL), read->item) == 0) {
            GVariant *secret = gl.g_variant_get_child_value(entry, 1);
            GVariant *owner = gl.g_variant_get_child_value(secret, 0), *iv = gl.g_variant_get_child_value(secret, 1),
                     *sealed = gl.g_variant_get_child_value(secret, 2);
            size_t n_iv = 0, n_sealed = 0;
            const unsigned char *iv_bytes = gl.g_variant_get_fixed_array(iv, &n_iv, 1), *sealed_bytes = gl.g_variant_get_fixed_array(sealed, &n_sealed, 1);
            if (strcmp(gl.g_variant_get_string(owner, NULL), read->session) != 0) {
                result = fail_with(error, "the Secret Service sent the value in another session");
            } else if (clavis_session_key_open(read->key, iv_bytes, n_iv, sealed_bytes, n_sealed, &read->plain, &read->n_plain) != 0) {
                result = fail_with(error, "the Secret Service sent a value that does not decrypt");
            } else {
                result = CLAVIS_DIRECT_FOUND;
            }
            gl.g_variant_unref(owner);
            gl.g_variant_unref(iv);
            gl.g_variant_unref(sealed);
            gl.g_variant_unref(secret);
        }
        gl.g_variant_unref(key);
        gl.g_variant_unref(entry);
    }
    gl.g_variant_unref(secrets);
    return result;
}

/* The deadline: cancels the read's calls, which then end with G_IO_ERROR_CANCELLED. */
static int on_deadline(void *cancellable) {
    clavis_g_cancellable_cancel(cancellable);
    return 0; /* G_SOURCE_REMOVE */
}

int clavis_direct_read(const char *service, const char *username, ClavisGCancellable *cancellable, unsigned timeout_ms,
                       unsigned char **value, size_t *length, const char **operation, ClavisGError **error) {
    static const char *unused;
    if (operation == NULL) operation = &unused;
    *operation = "read the item";
    if (!clavis_direct_available()) return CLAVIS_DIRECT_DECLINED;
    Read read;
    memset(&read, 0, sizeof read);
    read.context = gl.g_main_context_new();
    gl.g_main_context_push_thread_default(read.context);
    GSource *deadline = gl.g_timeout_source_new(timeout_ms);
    gl.g_source_set_callback(deadline, on_deadline, cancellable, NULL);
    gl.g_source_attach(deadline, read.context);
    int result = perform(&read, service, username, cancellable, operation, error);
    gl.g_source_destroy(deadline);
    gl.g_source_unref(deadline);
    if (read.session != NULL) {
        /* Closed whatever happened, awaiting no reply; written out before the connection may go
           (a long-running process would otherwise leave one session per read in the provider). */
        call(read.connection, read.session, "org.freedesktop.Secret.Session", "Close", gl.g_variant_new_tuple(NULL, 0), NULL, NULL, NULL);
        gl.g_dbus_connection_flush_sync(read.connection, cancellable, NULL); /* not past the deadline */
    }
    if (result == CLAVIS_DIRECT_FOUND) {
        *value = read.plain;
        *length = read.n_plain;
        read.plain = NULL;
    }
    release(&read);
    return result;
}
