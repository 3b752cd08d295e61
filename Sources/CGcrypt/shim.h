#ifndef CLAVIS_CGCRYPT_SHIM_H
#define CLAVIS_CGCRYPT_SHIM_H

#include <gcrypt.h>

/* gcry_control is variadic, so Swift cannot call it: these wrappers do the one-time set-up.
   Returns 0 on success, -1 if the library is older than required. */
static inline int clavis_gcrypt_initialize(void) {
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) return 0;
    if (!gcry_check_version("1.8.0")) return -1;
    gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
    gcry_control(GCRYCTL_INIT_SECMEM, 1 << 16, 0);
    gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 1 << 20);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    return 0;
}

/* The gpg error code of a gcrypt error (gpg_err_code is a macro-backed inline). */
static inline unsigned int clavis_gcrypt_code(gcry_error_t error) { return gcry_err_code(error); }
static inline int clavis_gcrypt_is_checksum_error(gcry_error_t error) { return gcry_err_code(error) == GPG_ERR_CHECKSUM; }

/* gcry_cipher_final and gcry_cipher_reset are macros over gcry_cipher_ctl. */
static inline gcry_error_t clavis_cipher_final(gcry_cipher_hd_t handle) { return gcry_cipher_final(handle); }
static inline gcry_error_t clavis_cipher_reset(gcry_cipher_hd_t handle) { return gcry_cipher_reset(handle); }

#endif
