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
int clavis_secret_service_search_for_dbus_paths_sync(ClavisSecretService *service, const ClavisSecretSchema *schema,
                                                     ClavisGHashTable *attributes, ClavisGCancellable *cancellable,
                                                     char ***unlocked, char ***locked, ClavisGError **error);
ClavisSecretValue *clavis_secret_service_get_secret_for_dbus_path_sync(ClavisSecretService *service, const char *path,
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

int clavis_error_is_service_unknown(const ClavisGError *error);
int clavis_error_is_cancelled(const ClavisGError *error);
int clavis_error_is_timeout(const ClavisGError *error);
int clavis_error_is_access_denied(const ClavisGError *error);
int clavis_error_is_dbus(const ClavisGError *error);
int clavis_error_is_no_object(const ClavisGError *error);
int clavis_error_is_locked(const ClavisGError *error);

#endif
