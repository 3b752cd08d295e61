/* The cryptography of a Secret Service session, dh-ietf1024-sha256-aes128-cbc-pkcs7, for the
   direct read (DirectRead.c), and the preparation that draws its key pair ahead of time.

   Specification: the freedesktop Secret Service API, "Algorithm: dh-ietf1024-sha256-aes128-cbc-pkcs7"
   (https://specifications.freedesktop.org/secret-service/latest/ch07s03.html): Diffie-Hellman in
   RFC 2409's Second Oakley Group, HKDF-SHA-256 (RFC 5869) with no salt and no info to a 128-bit
   key, AES-128-CBC with PKCS#7 padding. Where it is silent this does what libsecret does
   (libsecret/secret-session.c, egg/egg-dh-libgcrypt.c), the client every provider is tested with:
   a random private exponent below 2^1023, the shared secret left-padded with zeros to the prime's
   128 bytes, a 16-byte IV, every padding byte checked.

   Every primitive is libgcrypt's: modular exponentiation, random numbers, HMAC-SHA-256, AES. HKDF
   is composed from its HMAC — libgcrypt 1.10 has no HKDF — as ClavisAge's HKDFSHA256 and
   libsecret's own egg-hkdf compose it. libgcrypt is loaded with dlopen, not linked, so a process
   that reads no keyring never maps it. */
#define GCRYPT_NO_MPI_MACROS 1
#define GCRYPT_NO_DEPRECATED 1
#include "CLibsecret.h"
#include "Internal.h"

#include <dlfcn.h>
#include <gcrypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GCRYPT_SYMBOLS(X) \
    X(gcry_check_version) X(gcry_control) X(gcry_malloc_secure) X(gcry_free) \
    X(gcry_mpi_new) X(gcry_mpi_snew) X(gcry_mpi_set_ui) X(gcry_mpi_release) X(gcry_mpi_scan) X(gcry_mpi_print) \
    X(gcry_mpi_aprint) X(gcry_mpi_randomize) X(gcry_mpi_clear_highbit) X(gcry_mpi_cmp) X(gcry_mpi_cmp_ui) \
    X(gcry_mpi_sub_ui) X(gcry_mpi_powm) \
    X(gcry_mac_open) X(gcry_mac_setkey) X(gcry_mac_write) X(gcry_mac_read) X(gcry_mac_close) \
    X(gcry_cipher_open) X(gcry_cipher_setkey) X(gcry_cipher_setiv) X(gcry_cipher_decrypt) X(gcry_cipher_close)

#define GCRYPT_POINTER(name) __typeof__(&name) name;
static struct { GCRYPT_SYMBOLS(GCRYPT_POINTER) } gc;
static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;
static int gcrypt_ready;

static void gcrypt_load(void) {
    /* The instance libsecret and ClavisAge use too, if either has loaded it: one per process. */
    void *handle = dlopen("libgcrypt.so.20", RTLD_LAZY | RTLD_LOCAL);
    if (handle == NULL) return;
#define GCRYPT_LOOKUP(name) if ((*(void **)&gc.name = dlsym(handle, #name)) == NULL) return;
    GCRYPT_SYMBOLS(GCRYPT_LOOKUP)
    /* The set-up of CGcrypt's clavis_gcrypt_initialize, unless ClavisAge or libsecret did it first. */
    if (!gc.gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
        if (gc.gcry_check_version("1.8.0") == NULL) return;
        gc.gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
        gc.gcry_control(GCRYCTL_INIT_SECMEM, 1 << 16, 0);
        gc.gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 1 << 20);
        gc.gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    __atomic_store_n(&gcrypt_ready, 1, __ATOMIC_RELEASE);
}

static int gcrypt_available(void) {
    pthread_once(&gcrypt_once, gcrypt_load);
    return __atomic_load_n(&gcrypt_ready, __ATOMIC_ACQUIRE);
}

/* ---- HKDF-SHA-256 (RFC 5869) from libgcrypt's HMAC-SHA-256 ---- */

static int hmac_sha256(const void *key, size_t n_key, const void *data, size_t n_data, unsigned char out[32]) {
    static const unsigned char zeros[32];
    gcry_mac_hd_t mac = NULL;
    int ok = gc.gcry_mac_open(&mac, GCRY_MAC_HMAC_SHA256, GCRY_MAC_FLAG_SECURE, NULL) == 0;
    /* An empty key is the zero-filled block key (RFC 2104); libgcrypt wants a non-empty one. */
    ok = ok && gc.gcry_mac_setkey(mac, n_key > 0 ? key : zeros, n_key > 0 ? n_key : sizeof zeros) == 0;
    ok = ok && (n_data == 0 || gc.gcry_mac_write(mac, data, n_data) == 0);
    size_t n_out = 32;
    ok = ok && gc.gcry_mac_read(mac, out, &n_out) == 0 && n_out == 32;
    if (mac != NULL) gc.gcry_mac_close(mac);
    return ok ? 0 : -1;
}

int clavis_hkdf_sha256(const void *ikm, size_t n_ikm, const void *salt, size_t n_salt, const void *info, size_t n_info,
                       void *output, size_t n_output) {
    enum { info_limit = 4096, block_size = 32 + info_limit + 1 };
    if (!gcrypt_available() || n_output > 255 * 32 || n_info > info_limit) return -1;
    unsigned char *prk = gc.gcry_malloc_secure(32), *block = gc.gcry_malloc_secure(block_size);
    int result = prk != NULL && block != NULL ? hmac_sha256(salt, n_salt, ikm, n_ikm, prk) : -1;
    size_t done = 0, previous = 0;
    for (unsigned counter = 1; result == 0 && done < n_output; counter++) {
        /* T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty: T(i-1) already sits at the start of `block`. */
        if (n_info > 0) memcpy(block + previous, info, n_info);
        block[previous + n_info] = (unsigned char)counter;
        result = hmac_sha256(prk, 32, block, previous + n_info + 1, block);
        size_t take = n_output - done < 32 ? n_output - done : 32;
        if (result == 0) memcpy((unsigned char *)output + done, block, take);
        done += take;
        previous = 32;
    }
    if (prk != NULL) { explicit_bzero(prk, 32); gc.gcry_free(prk); }
    if (block != NULL) { explicit_bzero(block, block_size); gc.gcry_free(block); }
    return result;
}

/* ---- The session's key ---- */

/* RFC 2409 §6.2, the Second Oakley Group: 2^1024 - 2^960 - 1 + 2^64 * (floor(2^894 pi) + 129093). */
static const unsigned char oakley2[128] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC9, 0x0F, 0xDA, 0xA2, 0x21, 0x68, 0xC2, 0x34, 0xC4, 0xC6, 0x62, 0x8B, 0x80, 0xDC,
    0x1C, 0xD1, 0x29, 0x02, 0x4E, 0x08, 0x8A, 0x67, 0xCC, 0x74, 0x02, 0x0B, 0xBE, 0xA6, 0x3B, 0x13, 0x9B, 0x22, 0x51, 0x4A, 0x08, 0x79,
    0x8E, 0x34, 0x04, 0xDD, 0xEF, 0x95, 0x19, 0xB3, 0xCD, 0x3A, 0x43, 0x1B, 0x30, 0x2B, 0x0A, 0x6D, 0xF2, 0x5F, 0x14, 0x37, 0x4F, 0xE1,
    0x35, 0x6D, 0x6D, 0x51, 0xC2, 0x45, 0xE4, 0x85, 0xB5, 0x76, 0x62, 0x5E, 0x7E, 0xC6, 0xF4, 0x4C, 0x42, 0xE9, 0xA6, 0x37, 0xED, 0x6B,
    0x0B, 0xFF, 0x5C, 0xB6, 0xF4, 0x06, 0xB7, 0xED, 0xEE, 0x38, 0x6B, 0xFB, 0x5A, 0x89, 0x9F, 0xA5, 0xAE, 0x9F, 0x24, 0x11, 0x7C, 0x4B,
    0x1F, 0xE6, 0x49, 0x28, 0x66, 0x51, 0xEC, 0xE6, 0x53, 0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};

struct ClavisSessionKey {
    gcry_mpi_t prime, exponent;
    unsigned char *public; /* gcry_malloc'd by gcry_mpi_aprint */
    size_t n_public;
    unsigned char *aes;    /* 16 bytes of secure memory once derived */
};

void clavis_session_key_end(ClavisSessionKey *key) {
    if (key == NULL) return;
    if (key->prime != NULL) gc.gcry_mpi_release(key->prime);
    if (key->exponent != NULL) gc.gcry_mpi_release(key->exponent); /* secure memory: wiped on release */
    if (key->public != NULL) gc.gcry_free(key->public);
    if (key->aes != NULL) { explicit_bzero(key->aes, 16); gc.gcry_free(key->aes); }
    free(key);
}

/* A private exponent as libsecret draws it (egg_dh_gen_pair with bits 0): random, non-zero, below
   2^1023; and the public value 2^x mod p. */
static ClavisSessionKey *draw(void) {
    if (!gcrypt_available()) return NULL;
    ClavisSessionKey *key = calloc(1, sizeof *key);
    if (key == NULL) return NULL;
    if (gc.gcry_mpi_scan(&key->prime, GCRYMPI_FMT_USG, oakley2, sizeof oakley2, NULL) != 0) goto fail;
    key->exponent = gc.gcry_mpi_snew(1024);
    while (gc.gcry_mpi_cmp_ui(key->exponent, 0) == 0) {
        gc.gcry_mpi_randomize(key->exponent, 1024, GCRY_STRONG_RANDOM);
        gc.gcry_mpi_clear_highbit(key->exponent, 1023);
    }
    gcry_mpi_t base = gc.gcry_mpi_set_ui(NULL, 2), public = gc.gcry_mpi_new(1024);
    gc.gcry_mpi_powm(public, base, key->exponent, key->prime);
    int failed = gc.gcry_mpi_aprint(GCRYMPI_FMT_USG, &key->public, &key->n_public, public) != 0;
    gc.gcry_mpi_release(base);
    gc.gcry_mpi_release(public);
    if (!failed) return key;
fail:
    clavis_session_key_end(key);
    return NULL;
}

/* The pair clavis_keyring_prepare draws, handed to the first read that asks. */
static pthread_mutex_t prepared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t prepared_change = PTHREAD_COND_INITIALIZER;
static enum { NOT_PREPARED, DRAWING, DRAWN } prepared_state;
static ClavisSessionKey *prepared;

ClavisSessionKey *clavis_session_key_begin(void) {
    ClavisSessionKey *taken = NULL;
    pthread_mutex_lock(&prepared_lock);
    while (prepared_state == DRAWING) pthread_cond_wait(&prepared_change, &prepared_lock);
    if (prepared_state == DRAWN) {
        taken = prepared;
        prepared = NULL;
        prepared_state = NOT_PREPARED;
    }
    pthread_mutex_unlock(&prepared_lock);
    return taken != NULL ? taken : draw();
}

static void *load_libsecret(void *unused) {
    (void)unused;
    clavis_libsecret_load(NULL);
    return NULL;
}

static void *prepare(void *unused) {
    (void)unused;
    /* libgcrypt first: dlopen holds the loader's lock, so GIO's thirteen libraries load (on a
       second thread) while the key pair is drawn here, not before it. */
    gcrypt_available();
    pthread_t loader;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&loader, &attributes, load_libsecret, NULL) != 0) clavis_libsecret_load(NULL);
    pthread_attr_destroy(&attributes);
    ClavisSessionKey *key = draw();
    pthread_mutex_lock(&prepared_lock);
    prepared = key;
    prepared_state = key != NULL ? DRAWN : NOT_PREPARED;
    pthread_cond_broadcast(&prepared_change);
    pthread_mutex_unlock(&prepared_lock);
    return NULL;
}

void clavis_keyring_prepare(void) {
    pthread_mutex_lock(&prepared_lock);
    int start = prepared_state == NOT_PREPARED && prepared == NULL;
    if (start) prepared_state = DRAWING;
    pthread_mutex_unlock(&prepared_lock);
    if (!start) return;
    pthread_t thread;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&thread, &attributes, prepare, NULL) != 0;
    pthread_attr_destroy(&attributes);
    if (failed) {
        pthread_mutex_lock(&prepared_lock);
        prepared_state = NOT_PREPARED;
        pthread_cond_broadcast(&prepared_change);
        pthread_mutex_unlock(&prepared_lock);
    }
}

const unsigned char *clavis_session_key_public(const ClavisSessionKey *key, size_t *length) {
    *length = key->n_public;
    return key->public;
}

int clavis_session_key_derive(ClavisSessionKey *key, const unsigned char *peer_bytes, size_t n_peer) {
    gcry_mpi_t peer = NULL, limit = gc.gcry_mpi_new(1024), shared = NULL;
    unsigned char *ikm = gc.gcry_malloc_secure(sizeof oakley2);
    key->aes = gc.gcry_malloc_secure(16);
    int result = -1;
    size_t n_shared = 0;
    if (ikm == NULL || key->aes == NULL || gc.gcry_mpi_scan(&peer, GCRYMPI_FMT_USG, peer_bytes, n_peer, NULL) != 0) goto done;
    gc.gcry_mpi_sub_ui(limit, key->prime, 1);
    if (gc.gcry_mpi_cmp_ui(peer, 1) <= 0 || gc.gcry_mpi_cmp(peer, limit) >= 0) goto done;
    shared = gc.gcry_mpi_snew(1024);
    gc.gcry_mpi_powm(shared, peer, key->exponent, key->prime);
    if (gc.gcry_mpi_print(GCRYMPI_FMT_USG, ikm, sizeof oakley2, &n_shared, shared) != 0) goto done;
    memmove(ikm + sizeof oakley2 - n_shared, ikm, n_shared);
    memset(ikm, 0, sizeof oakley2 - n_shared);
    result = clavis_hkdf_sha256(ikm, sizeof oakley2, NULL, 0, NULL, 0, key->aes, 16);
done:
    if (peer != NULL) gc.gcry_mpi_release(peer);
    if (shared != NULL) gc.gcry_mpi_release(shared);
    gc.gcry_mpi_release(limit);
    if (ikm != NULL) { explicit_bzero(ikm, sizeof oakley2); gc.gcry_free(ikm); }
    return result;
}

int clavis_session_key_open(ClavisSessionKey *key, const unsigned char *iv, size_t n_iv, const unsigned char *sealed,
                            size_t n_sealed, unsigned char **plain, size_t *n_plain) {
    if (key->aes == NULL || n_iv != 16 || n_sealed == 0 || n_sealed % 16 != 0) return -1;
    unsigned char *opened = gc.gcry_malloc_secure(n_sealed);
    if (opened == NULL) return -1;
    gcry_cipher_hd_t cipher = NULL;
    int ok = gc.gcry_cipher_open(&cipher, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_CBC, GCRY_CIPHER_SECURE) == 0
        && gc.gcry_cipher_setkey(cipher, key->aes, 16) == 0 && gc.gcry_cipher_setiv(cipher, iv, 16) == 0
        && gc.gcry_cipher_decrypt(cipher, opened, n_sealed, sealed, n_sealed) == 0;
    if (cipher != NULL) gc.gcry_cipher_close(cipher);
    unsigned pad = ok ? opened[n_sealed - 1] : 0;
    ok = ok && pad >= 1 && pad <= 16;
    for (size_t i = n_sealed - (ok ? pad : 0); ok && i < n_sealed; i++) ok = opened[i] == pad;
    if (!ok) {
        clavis_direct_free(opened, n_sealed);
        return -1;
    }
    *plain = opened;
    *n_plain = n_sealed - pad;
    return 0;
}

void clavis_direct_free(unsigned char *value, size_t length) {
    if (value == NULL) return;
    explicit_bzero(value, length);
    gc.gcry_free(value);
}
