#ifndef CLAVIS_CLIBSECRET_SHIM_H
#define CLAVIS_CLIBSECRET_SHIM_H

/* secret-paths.h (collections by D-Bus path) has been stable since libsecret 0.18. */
#define SECRET_WITH_UNSTABLE 1
#include <libsecret/secret.h>
#include <gio/gio.h>

/* The schema Clavis stores items with: the attributes Python's `keyring` and `secret-tool` use.
   SECRET_SCHEMA_DONT_MATCH_NAME makes lookups ignore `xdg:schema`, so items written by other tools
   (Python keyring writes none) are found. Defined in C: a Swift global SecretSchema trips strict
   concurrency. */
static inline const SecretSchema *clavis_schema(void) {
    static const SecretSchema schema = {
        "org.freedesktop.Secret.Generic", SECRET_SCHEMA_DONT_MATCH_NAME,
        {
            { "service", SECRET_SCHEMA_ATTRIBUTE_STRING },
            { "username", SECRET_SCHEMA_ATTRIBUTE_STRING },
            { NULL, 0 },
        }
    };
    return &schema;
}

/* A string→string attribute table owning its keys and values. `username` may be NULL. */
static inline GHashTable *clavis_attributes(const char *service, const char *username) {
    GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_hash_table_insert(table, g_strdup("service"), g_strdup(service));
    if (username != NULL) {
        g_hash_table_insert(table, g_strdup("username"), g_strdup(username));
    }
    return table;
}

/* A copy of one attribute of an item (free with g_free), or NULL. */
static inline char *clavis_item_attribute(SecretItem *item, const char *name) {
    GHashTable *attributes = secret_item_get_attributes(item);
    if (attributes == NULL) return NULL;
    char *value = g_strdup((const char *)g_hash_table_lookup(attributes, name));
    g_hash_table_unref(attributes);
    return value;
}

/* An empty string→string attribute table owning its keys and values. */
static inline GHashTable *clavis_attributes_empty(void) {
    return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
}
static inline void clavis_attributes_insert(GHashTable *table, const char *name, const char *value) {
    g_hash_table_insert(table, g_strdup(name), g_strdup(value));
}

/* The names of an item's attributes, NULL-terminated (free with g_strfreev), or NULL. */
static inline char **clavis_item_attribute_names(SecretItem *item) {
    GHashTable *attributes = secret_item_get_attributes(item);
    if (attributes == NULL) return NULL;
    guint length = 0;
    gpointer *keys = g_hash_table_get_keys_as_array(attributes, &length);
    char **copy = g_new0(char *, length + 1);
    for (guint i = 0; i < length; i++) copy[i] = g_strdup((const char *)keys[i]);
    g_free(keys);
    g_hash_table_unref(attributes);
    return copy;
}

static inline void clavis_free_objects(GList *list) { g_list_free_full(list, g_object_unref); }
static inline GList *clavis_list_of_one(gpointer object) { return g_list_append(NULL, object); }

static inline int clavis_error_is_service_unknown(const GError *error) {
    return g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN)
        || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER);
}
static inline int clavis_error_is_cancelled(const GError *error) {
    return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}
static inline int clavis_error_is_timeout(const GError *error) {
    return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
        || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT)
        || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY);
}
static inline int clavis_error_is_access_denied(const GError *error) {
    return g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED)
        || g_error_matches(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
}
static inline int clavis_error_is_dbus(const GError *error) {
    return error->domain == G_DBUS_ERROR;
}
static inline int clavis_error_is_no_object(const GError *error) {
    return g_error_matches(error, SECRET_ERROR, SECRET_ERROR_NO_SUCH_OBJECT)
        || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD)
        || g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT);
}
static inline int clavis_error_is_locked(const GError *error) {
    return g_error_matches(error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED);
}

#endif
