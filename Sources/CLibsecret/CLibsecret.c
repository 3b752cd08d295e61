/* libsecret through dlopen: see include/CLibsecret.h. */
#include "CLibsecret.h"
#include "Internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef int gboolean_;
typedef void (*Destroy)(void *);
typedef unsigned (*Hash)(const void *);
typedef gboolean_ (*Equal)(const void *, const void *);

/* Every symbol used: return type, name, parameter list. */
#define CLAVIS_SYMBOLS(X) \
    X(ClavisSecretService *, secret_service_get_sync, (int, ClavisGCancellable *, ClavisGError **)) \
    X(ClavisSecretCollection *, secret_collection_for_alias_sync, (ClavisSecretService *, const char *, int, ClavisGCancellable *, ClavisGError **)) \
    X(ClavisSecretCollection *, secret_collection_new_for_dbus_path_sync, (ClavisSecretService *, const char *, int, ClavisGCancellable *, ClavisGError **)) \
    X(int, secret_service_unlock_sync, (ClavisSecretService *, ClavisGList *, ClavisGCancellable *, ClavisGList **, ClavisGError **)) \
    X(int, secret_collection_get_locked, (ClavisSecretCollection *)) \
    X(ClavisGList *, secret_collection_search_sync, (ClavisSecretCollection *, const ClavisSecretSchema *, ClavisGHashTable *, int, ClavisGCancellable *, ClavisGError **)) \
    X(ClavisSecretValue *, secret_item_get_secret, (ClavisSecretItem *)) \
    X(int, secret_item_load_secret_sync, (ClavisSecretItem *, ClavisGCancellable *, ClavisGError **)) \
    X(int, secret_item_set_secret_sync, (ClavisSecretItem *, ClavisSecretValue *, ClavisGCancellable *, ClavisGError **)) \
    X(ClavisSecretItem *, secret_item_create_sync, (ClavisSecretCollection *, const ClavisSecretSchema *, ClavisGHashTable *, const char *, ClavisSecretValue *, int, ClavisGCancellable *, ClavisGError **)) \
    X(int, secret_item_set_attributes_sync, (ClavisSecretItem *, const ClavisSecretSchema *, ClavisGHashTable *, ClavisGCancellable *, ClavisGError **)) \
    X(int, secret_item_delete_sync, (ClavisSecretItem *, ClavisGCancellable *, ClavisGError **)) \
    X(ClavisGHashTable *, secret_item_get_attributes, (ClavisSecretItem *)) \
    X(ClavisSecretValue *, secret_value_new, (const char *, ptrdiff_t, const char *)) \
    X(const char *, secret_value_get, (ClavisSecretValue *, size_t *)) \
    X(void, secret_value_unref, (void *)) \
    X(uint32_t, secret_error_get_quark, (void)) \
    X(void, g_object_unref, (void *)) \
    X(void, g_free, (void *)) \
    X(void *, g_malloc0_n, (size_t, size_t)) \
    X(char *, g_strdup, (const char *)) \
    X(void, g_strfreev, (char **)) \
    X(ClavisGHashTable *, g_hash_table_new_full, (Hash, Equal, Destroy, Destroy)) \
    X(gboolean_, g_hash_table_insert, (ClavisGHashTable *, void *, void *)) \
    X(void *, g_hash_table_lookup, (ClavisGHashTable *, const void *)) \
    X(void **, g_hash_table_get_keys_as_array, (ClavisGHashTable *, unsigned *)) \
    X(void, g_hash_table_unref, (ClavisGHashTable *)) \
    X(unsigned, g_str_hash, (const void *)) \
    X(gboolean_, g_str_equal, (const void *, const void *)) \
    X(ClavisGList *, g_list_append, (ClavisGList *, void *)) \
    X(void, g_list_free, (ClavisGList *)) \
    X(void, g_list_free_full, (ClavisGList *, Destroy)) \
    X(void, g_error_free, (ClavisGError *)) \
    X(ClavisGError *, g_error_new_literal, (uint32_t, int, const char *)) \
    X(gboolean_, g_error_matches, (const ClavisGError *, uint32_t, int)) \
    X(const char *, g_quark_to_string, (uint32_t)) \
    X(uint32_t, g_quark_from_string, (const char *)) \
    X(uint32_t, g_dbus_error_quark, (void)) \
    X(uint32_t, g_io_error_quark, (void)) \
    X(ClavisGCancellable *, g_cancellable_new, (void)) \
    X(void, g_cancellable_cancel, (ClavisGCancellable *)) \
    X(gboolean_, g_cancellable_is_cancelled, (ClavisGCancellable *))

#define CLAVIS_POINTER(ret, name, params) ret (*name) params;
static struct { CLAVIS_SYMBOLS(CLAVIS_POINTER) } fn_;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static void *library;
static char failure[512];

/* Every wrapper reaches libsecret through this: a call before a successful load is a programming
   error in ClavisKeyring, and ends the process with a message rather than a jump to address 0. */
static inline void require_loaded(void) {
    if (!__atomic_load_n(&loaded, __ATOMIC_ACQUIRE)) {
        fputs("CLibsecret: libsecret used before clavis_libsecret_load succeeded\n", stderr);
        abort();
    }
}
#define fn (require_loaded(), fn_)

static void load(void) {
    /* RTLD_LOCAL: nothing of GLib becomes visible to the rest of the process. GLib, GObject and
       GIO are libsecret's own dependencies, so dlsym on its handle finds their symbols too.
       RTLD_LAZY, as a linked library is bound: RTLD_NOW resolved every symbol of the 13 libraries
       up front, a quarter of a keyring read's CPU time in the profile (docs/performance.md). */
    void *handle = dlopen("libsecret-1.so.0", RTLD_LAZY | RTLD_LOCAL);
    if (handle == NULL) {
        const char *reason = dlerror();
        snprintf(failure, sizeof failure, "%s", reason != NULL ? reason : "libsecret-1.so.0 could not be loaded");
        return;
    }
#define CLAVIS_LOOKUP(ret, name, params) \
    if ((*(void **)&fn_.name = dlsym(handle, #name)) == NULL) { \
        snprintf(failure, sizeof failure, "libsecret-1.so.0 has no symbol %s", #name); \
        return; \
    }
    CLAVIS_SYMBOLS(CLAVIS_LOOKUP)
    library = handle;
    __atomic_store_n(&loaded, 1, __ATOMIC_RELEASE);
}

void *clavis_libsecret_handle(void) { return __atomic_load_n(&loaded, __ATOMIC_ACQUIRE) ? library : NULL; }

int clavis_libsecret_load(const char **error) {
    pthread_once(&once, load);
    if (loaded) return 0;
    if (error != NULL) *error = failure;
    return -1;
}

ClavisSecretService *clavis_secret_service_get_sync(int flags, ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_service_get_sync(flags, c, e);
}
ClavisSecretCollection *clavis_secret_collection_for_alias_sync(ClavisSecretService *s, const char *alias, int flags, ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_collection_for_alias_sync(s, alias, flags, c, e);
}
ClavisSecretCollection *clavis_secret_collection_new_for_dbus_path_sync(ClavisSecretService *s, const char *path, int flags, ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_collection_new_for_dbus_path_sync(s, path, flags, c, e);
}
int clavis_secret_service_unlock_sync(ClavisSecretService *s, ClavisGList *objects, ClavisGCancellable *c, ClavisGList **unlocked, ClavisGError **e) {
    return fn.secret_service_unlock_sync(s, objects, c, unlocked, e);
}
int clavis_secret_collection_get_locked(ClavisSecretCollection *collection) { return fn.secret_collection_get_locked(collection); }
ClavisGList *clavis_secret_collection_search_sync(ClavisSecretCollection *collection, const ClavisSecretSchema *schema, ClavisGHashTable *a,
                                                  int flags, ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_collection_search_sync(collection, schema, a, flags, c, e);
}
ClavisSecretValue *clavis_secret_item_get_secret(ClavisSecretItem *item) { return fn.secret_item_get_secret(item); }
int clavis_secret_item_load_secret_sync(ClavisSecretItem *item, ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_item_load_secret_sync(item, c, e);
}
int clavis_secret_item_set_secret_sync(ClavisSecretItem *item, ClavisSecretValue *value, ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_item_set_secret_sync(item, value, c, e);
}
ClavisSecretItem *clavis_secret_item_create_sync(ClavisSecretCollection *collection, const ClavisSecretSchema *schema, ClavisGHashTable *a,
                                                 const char *label, ClavisSecretValue *value, int flags, ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_item_create_sync(collection, schema, a, label, value, flags, c, e);
}
int clavis_secret_item_set_attributes_sync(ClavisSecretItem *item, const ClavisSecretSchema *schema, ClavisGHashTable *a,
                                           ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_item_set_attributes_sync(item, schema, a, c, e);
}
int clavis_secret_item_delete_sync(ClavisSecretItem *item, ClavisGCancellable *c, ClavisGError **e) {
    return fn.secret_item_delete_sync(item, c, e);
}
ClavisSecretValue *clavis_secret_value_new(const char *secret, ptrdiff_t length, const char *content_type) {
    return fn.secret_value_new(secret, length, content_type);
}
const char *clavis_secret_value_get(ClavisSecretValue *value, size_t *length) { return fn.secret_value_get(value, length); }
void clavis_secret_value_unref(ClavisSecretValue *value) { fn.secret_value_unref(value); }

void clavis_g_object_unref(void *object) { fn.g_object_unref(object); }
void clavis_g_free(void *memory) { fn.g_free(memory); }
void clavis_g_strfreev(char **strings) { fn.g_strfreev(strings); }
void clavis_g_hash_table_unref(ClavisGHashTable *table) { fn.g_hash_table_unref(table); }
void clavis_g_list_free(ClavisGList *list) { fn.g_list_free(list); }
void clavis_g_error_free(ClavisGError *error) { fn.g_error_free(error); }
ClavisGError *clavis_g_error_new_literal(uint32_t domain, int code, const char *message) { return fn.g_error_new_literal(domain, code, message); }
const char *clavis_g_quark_to_string(uint32_t quark) { return fn.g_quark_to_string(quark); }
uint32_t clavis_g_quark_from_string(const char *string) { return fn.g_quark_from_string(string); }
ClavisGCancellable *clavis_g_cancellable_new(void) { return fn.g_cancellable_new(); }
void clavis_g_cancellable_cancel(ClavisGCancellable *c) { fn.g_cancellable_cancel(c); }
int clavis_g_cancellable_is_cancelled(ClavisGCancellable *c) { return fn.g_cancellable_is_cancelled(c); }

const ClavisSecretSchema *clavis_schema(void) {
    static const ClavisSecretSchema schema = {
        "org.freedesktop.Secret.Generic", CLAVIS_SECRET_SCHEMA_DONT_MATCH_NAME,
        {
            { "service", CLAVIS_SECRET_SCHEMA_ATTRIBUTE_STRING },
            { "username", CLAVIS_SECRET_SCHEMA_ATTRIBUTE_STRING },
            { NULL, 0 },
        },
        0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    };
    return &schema;
}

ClavisGHashTable *clavis_attributes_empty(void) {
    return fn.g_hash_table_new_full(fn.g_str_hash, fn.g_str_equal, fn.g_free, fn.g_free);
}

void clavis_attributes_insert(ClavisGHashTable *table, const char *name, const char *value) {
    fn.g_hash_table_insert(table, fn.g_strdup(name), fn.g_strdup(value));
}

ClavisGHashTable *clavis_attributes(const char *service, const char *username) {
    ClavisGHashTable *table = clavis_attributes_empty();
    clavis_attributes_insert(table, "service", service);
    if (username != NULL) clavis_attributes_insert(table, "username", username);
    return table;
}

char *clavis_item_attribute(ClavisSecretItem *item, const char *name) {
    ClavisGHashTable *attributes = fn.secret_item_get_attributes(item);
    if (attributes == NULL) return NULL;
    char *value = fn.g_strdup((const char *)fn.g_hash_table_lookup(attributes, name));
    fn.g_hash_table_unref(attributes);
    return value;
}

char **clavis_item_attribute_names(ClavisSecretItem *item) {
    ClavisGHashTable *attributes = fn.secret_item_get_attributes(item);
    if (attributes == NULL) return NULL;
    unsigned length = 0;
    void **keys = fn.g_hash_table_get_keys_as_array(attributes, &length);
    char **copy = fn.g_malloc0_n((size_t)length + 1, sizeof(char *));
    for (unsigned i = 0; i < length; i++) copy[i] = fn.g_strdup((const char *)keys[i]);
    fn.g_free(keys);
    fn.g_hash_table_unref(attributes);
    return copy;
}

void clavis_free_objects(ClavisGList *list) { fn.g_list_free_full(list, fn.g_object_unref); }
ClavisGList *clavis_list_of_one(void *object) { return fn.g_list_append(NULL, object); }

int clavis_error_is_service_unknown(const ClavisGError *e) {
    return fn.g_error_matches(e, fn.g_dbus_error_quark(), CLAVIS_G_DBUS_ERROR_SERVICE_UNKNOWN) || fn.g_error_matches(e, fn.g_dbus_error_quark(), CLAVIS_G_DBUS_ERROR_NAME_HAS_NO_OWNER);
}
int clavis_error_is_cancelled(const ClavisGError *e) { return fn.g_error_matches(e, fn.g_io_error_quark(), CLAVIS_G_IO_ERROR_CANCELLED); }
int clavis_error_is_timeout(const ClavisGError *e) {
    return fn.g_error_matches(e, fn.g_io_error_quark(), CLAVIS_G_IO_ERROR_TIMED_OUT) || fn.g_error_matches(e, fn.g_dbus_error_quark(), CLAVIS_G_DBUS_ERROR_TIMEOUT)
        || fn.g_error_matches(e, fn.g_dbus_error_quark(), CLAVIS_G_DBUS_ERROR_NO_REPLY);
}
int clavis_error_is_access_denied(const ClavisGError *e) {
    return fn.g_error_matches(e, fn.g_dbus_error_quark(), CLAVIS_G_DBUS_ERROR_ACCESS_DENIED) || fn.g_error_matches(e, fn.g_io_error_quark(), CLAVIS_G_IO_ERROR_PERMISSION_DENIED);
}
int clavis_error_is_dbus(const ClavisGError *e) { return e->domain == fn.g_dbus_error_quark(); }
int clavis_error_is_no_object(const ClavisGError *e) {
    return fn.g_error_matches(e, fn.secret_error_get_quark(), CLAVIS_SECRET_ERROR_NO_SUCH_OBJECT) || fn.g_error_matches(e, fn.g_dbus_error_quark(), CLAVIS_G_DBUS_ERROR_UNKNOWN_METHOD)
        || fn.g_error_matches(e, fn.g_dbus_error_quark(), CLAVIS_G_DBUS_ERROR_UNKNOWN_OBJECT);
}
int clavis_error_is_locked(const ClavisGError *e) { return fn.g_error_matches(e, fn.secret_error_get_quark(), CLAVIS_SECRET_ERROR_IS_LOCKED); }
