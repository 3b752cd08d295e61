#ifndef CLAVIS_CLIBSECRET_H
#define CLAVIS_CLIBSECRET_H
/* libsecret, loaded when the keyring is first used (dlopen of libsecret-1.so.0), not linked.

   A program that links ClavisKeyring loads GLib, GObject, GIO and libsecret only when it reads or
   writes a keyring: reference — `clavis secret get env:X` and every server that never touches a
   keyring start without them (1.6 ms and 13 libraries less per process; docs/performance.md), and
   a machine without libsecret runs everything but keyring: (which then fails with a clear error).

   Only what ClavisKeyring calls is declared, under clavis_ names (so nothing here can interpose on
   a program's own libsecret), with the few public structs and constants of libsecret 0.20 and
   GLib 2.x that it needs. Their layout and values are ABI-stable; ClavisKeyringTests compiles a
   check against the real headers (LibsecretABITests). */
#include <stddef.h>
#include <stdint.h>

typedef struct ClavisSecretService ClavisSecretService;
typedef struct ClavisSecretCollection ClavisSecretCollection;
typedef struct ClavisSecretItem ClavisSecretItem;
typedef struct ClavisSecretValue ClavisSecretValue;
typedef struct ClavisGHashTable ClavisGHashTable;
typedef struct ClavisGCancellable ClavisGCancellable;

/* GError. */
typedef struct ClavisGError {
    uint32_t domain;
    int32_t code;
    char *message;
} ClavisGError;

/* GList. */
typedef struct ClavisGList {
    void *data;
    struct ClavisGList *next;
    struct ClavisGList *prev;
} ClavisGList;

/* SecretSchema (and SecretSchemaAttribute). */
typedef struct ClavisSecretSchemaAttribute {
    const char *name;
    int type;
} ClavisSecretSchemaAttribute;

typedef struct ClavisSecretSchema {
    const char *name;
    int flags;
    ClavisSecretSchemaAttribute attributes[32];
    int reserved;
    void *reserved1, *reserved2, *reserved3, *reserved4, *reserved5, *reserved6, *reserved7;
} ClavisSecretSchema;

enum {
    CLAVIS_SECRET_SERVICE_OPEN_SESSION = 1 << 1,
    CLAVIS_SECRET_COLLECTION_NONE = 0,
    CLAVIS_SECRET_SEARCH_NONE = 0,
    CLAVIS_SECRET_SEARCH_ALL = 1 << 1,
    CLAVIS_SECRET_SEARCH_LOAD_SECRETS = 1 << 3,
    CLAVIS_SECRET_ITEM_CREATE_REPLACE = 1 << 1,
    CLAVIS_SECRET_SCHEMA_DONT_MATCH_NAME = 1 << 1,
    CLAVIS_SECRET_SCHEMA_ATTRIBUTE_STRING = 0,
};

/* Error codes of GDBusError, GIOErrorEnum and SecretError that ClavisKeyring tells apart. */
enum {
    CLAVIS_G_DBUS_ERROR_SERVICE_UNKNOWN = 2,
    CLAVIS_G_DBUS_ERROR_NAME_HAS_NO_OWNER = 3,
    CLAVIS_G_DBUS_ERROR_NO_REPLY = 4,
    CLAVIS_G_DBUS_ERROR_NOT_SUPPORTED = 7,
    CLAVIS_G_DBUS_ERROR_ACCESS_DENIED = 9,
    CLAVIS_G_DBUS_ERROR_TIMEOUT = 12,
    CLAVIS_G_DBUS_ERROR_UNKNOWN_METHOD = 19,
    CLAVIS_G_DBUS_ERROR_UNKNOWN_OBJECT = 41,
    CLAVIS_G_IO_ERROR_PERMISSION_DENIED = 14,
    CLAVIS_G_IO_ERROR_CANCELLED = 19,
    CLAVIS_G_IO_ERROR_TIMED_OUT = 24,
    CLAVIS_SECRET_ERROR_IS_LOCKED = 2,
    CLAVIS_SECRET_ERROR_NO_SUCH_OBJECT = 3,
};

/* Loads libsecret once (thread-safe). 0 on success; otherwise -1 and *error (if not NULL) names
   what failed (dlerror's text). Every other function here requires a successful load. */
int clavis_libsecret_load(const char **error);

ClavisSecretService *clavis_secret_service_get_sync(int flags, ClavisGCancellable *cancellable, ClavisGError **error);
ClavisSecretCollection *clavis_secret_collection_for_alias_sync(ClavisSecretService *service, const char *alias, int flags,
                                                                ClavisGCancellable *cancellable, ClavisGError **error);
ClavisSecretCollection *clavis_secret_collection_new_for_dbus_path_sync(ClavisSecretService *service, const char *path, int flags,
                                                                        ClavisGCancellable *cancellable, ClavisGError **error);
int clavis_secret_service_unlock_sync(ClavisSecretService *service, ClavisGList *objects, ClavisGCancellable *cancellable,
                                      ClavisGList **unlocked, ClavisGError **error);
int clavis_secret_collection_get_locked(ClavisSecretCollection *collection);
ClavisGList *clavis_secret_collection_search_sync(ClavisSecretCollection *collection, const ClavisSecretSchema *schema,
                                                  ClavisGHashTable *attributes, int flags, ClavisGCancellable *cancellable,
                                                  ClavisGError **error);
ClavisSecretValue *clavis_secret_item_get_secret(ClavisSecretItem *item);
int clavis_secret_item_load_secret_sync(ClavisSecretItem *item, ClavisGCancellable *cancellable, ClavisGError **error);
int clavis_secret_item_set_secret_sync(ClavisSecretItem *item, ClavisSecretValue *value, ClavisGCancellable *cancellable,
                                       ClavisGError **error);
ClavisSecretItem *clavis_secret_item_create_sync(ClavisSecretCollection *collection, const ClavisSecretSchema *schema,
                                                 ClavisGHashTable *attributes, const char *label, ClavisSecretValue *value,
                                                 int flags, ClavisGCancellable *cancellable, ClavisGError **error);
int clavis_secret_item_set_attributes_sync(ClavisSecretItem *item, const ClavisSecretSchema *schema, ClavisGHashTable *attributes,
                                           ClavisGCancellable *cancellable, ClavisGError **error);
int clavis_secret_item_delete_sync(ClavisSecretItem *item, ClavisGCancellable *cancellable, ClavisGError **error);
ClavisSecretValue *clavis_secret_value_new(const char *secret, ptrdiff_t length, const char *content_type);
const char *clavis_secret_value_get(ClavisSecretValue *value, size_t *length);
void clavis_secret_value_unref(ClavisSecretValue *value);

void clavis_g_object_unref(void *object);
void clavis_g_free(void *memory);
void clavis_g_strfreev(char **strings);
void clavis_g_hash_table_unref(ClavisGHashTable *table);
void clavis_g_list_free(ClavisGList *list);
void clavis_g_error_free(ClavisGError *error);
ClavisGError *clavis_g_error_new_literal(uint32_t domain, int code, const char *message);
const char *clavis_g_quark_to_string(uint32_t quark);
uint32_t clavis_g_quark_from_string(const char *string);
ClavisGCancellable *clavis_g_cancellable_new(void);
void clavis_g_cancellable_cancel(ClavisGCancellable *cancellable);
int clavis_g_cancellable_is_cancelled(ClavisGCancellable *cancellable);

/* The schema Clavis stores items with: the attributes Python's `keyring` and `secret-tool` use.
   DONT_MATCH_NAME makes lookups ignore `xdg:schema`, so items written by other tools (Python
   keyring writes none) are found. */
const ClavisSecretSchema *clavis_schema(void);
/* A string→string attribute table owning its keys and values. `username` may be NULL. */
ClavisGHashTable *clavis_attributes(const char *service, const char *username);
ClavisGHashTable *clavis_attributes_empty(void);
void clavis_attributes_insert(ClavisGHashTable *table, const char *name, const char *value);
/* A copy of one attribute of an item (free with clavis_g_free), or NULL. */
char *clavis_item_attribute(ClavisSecretItem *item, const char *name);
/* The names of an item's attributes, NULL-terminated (free with clavis_g_strfreev), or NULL. */
char **clavis_item_attribute_names(ClavisSecretItem *item);
void clavis_free_objects(ClavisGList *list);
ClavisGList *clavis_list_of_one(void *object);

/* ---- The direct read (DirectRead.c) ---- */

enum { CLAVIS_DIRECT_FAILED = -1, CLAVIS_DIRECT_DECLINED = 0, CLAVIS_DIRECT_FOUND = 1 };

/* The value of the first unlocked item, in any collection, whose attributes `service` and
   `username` match, read with the Secret Service's own messages on GIO: OpenSession
   (dh-ietf1024-sha256-aes128-cbc-pkcs7), SearchItems and GetSecrets, then Session.Close with no
   reply awaited. The Diffie-Hellman key pair is drawn while the bus connects (or earlier, by
   clavis_keyring_prepare), OpenSession and SearchItems are sent together, and the session key is
   derived while GetSecrets is in flight: that overlap is where this is faster than libsecret's
   secret_service_get_sync + search + get (docs/performance.md). It never unlocks, so never prompts.

   Returns CLAVIS_DIRECT_FOUND with *value (*length bytes of libgcrypt secure memory; release with
   clavis_direct_free); CLAVIS_DIRECT_DECLINED when libsecret should answer instead (nothing
   unlocked matches, the provider lacks the algorithm, libsecret has no libgcrypt behind it); or
   CLAVIS_DIRECT_FAILED with *error (stripped of D-Bus's remote-error prefix) and *operation naming
   the step that failed ("connect to the Secret Service", "search the keyring", "read the item").
   Cancelling `cancellable` ends it with G_IO_ERROR_CANCELLED, and so does its own deadline,
   `timeout_ms` after the start (it cancels `cancellable`). Requires clavis_libsecret_load. */
int clavis_direct_read(const char *service, const char *username, ClavisGCancellable *cancellable, unsigned timeout_ms,
                       unsigned char **value, size_t *length, const char **operation, ClavisGError **error);
void clavis_direct_free(unsigned char *value, size_t length);
/* Whether the direct read can run here (libsecret loaded, and GIO found behind it). */
int clavis_direct_available(void);
/* For a process about to read a keyring and exit: loads libgcrypt and libsecret and draws the
   direct read's key pair on background threads, so the key pair costs no time of its own (it is
   drawn while GIO's libraries load). The first direct read takes that pair, waiting for it if it is
   still being drawn. Returns at once; a second call does nothing until the pair has been taken. */
void clavis_keyring_prepare(void);
/* HKDF-SHA-256 (RFC 5869) composed from libgcrypt's HMAC-SHA-256: 0, or -1 if unavailable or
   `length` > 8160 or `info_length` > 4096. `salt` and `info` may be NULL when their length is 0. */
int clavis_hkdf_sha256(const void *ikm, size_t ikm_length, const void *salt, size_t salt_length, const void *info,
                       size_t info_length, void *output, size_t length);

int clavis_error_is_service_unknown(const ClavisGError *error);
int clavis_error_is_cancelled(const ClavisGError *error);
int clavis_error_is_timeout(const ClavisGError *error);
int clavis_error_is_access_denied(const ClavisGError *error);
int clavis_error_is_dbus(const ClavisGError *error);
int clavis_error_is_no_object(const ClavisGError *error);
int clavis_error_is_locked(const ClavisGError *error);

#endif
