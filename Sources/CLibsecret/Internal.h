#ifndef CLAVIS_CLIBSECRET_INTERNAL_H
#define CLAVIS_CLIBSECRET_INTERNAL_H
/* Shared by the files of CLibsecret, not part of its interface. */
#include <stddef.h>

/* The handle of libsecret-1.so.0 once clavis_libsecret_load has succeeded, else NULL. dlsym on it
   also finds the symbols of the libraries libsecret depends on (GLib, GObject, GIO). */
void *clavis_libsecret_handle(void);

/* The client's side of a dh-ietf1024-sha256-aes128-cbc-pkcs7 session (SessionCrypto.c), every
   primitive from libgcrypt. */
typedef struct ClavisSessionKey ClavisSessionKey;
/* A key pair: the one clavis_keyring_prepare drew if there is one (waiting for it if it is being
   drawn), else a new one. NULL if libgcrypt cannot be loaded. */
ClavisSessionKey *clavis_session_key_begin(void);
/* The public value to send, most significant byte first. */
const unsigned char *clavis_session_key_public(const ClavisSessionKey *key, size_t *length);
/* Derives the AES key from the service's public value: 0, or -1 if that value is not in [2, p - 2]. */
int clavis_session_key_derive(ClavisSessionKey *key, const unsigned char *peer, size_t length);
/* Decrypts and unpads a value (IV of 16 bytes): 0 with *plain in secure memory (release with
   clavis_direct_free), or -1 if it is not a value of this session. */
int clavis_session_key_open(ClavisSessionKey *key, const unsigned char *iv, size_t n_iv, const unsigned char *sealed,
                            size_t n_sealed, unsigned char **plain, size_t *n_plain);
void clavis_session_key_end(ClavisSessionKey *key);

#endif
