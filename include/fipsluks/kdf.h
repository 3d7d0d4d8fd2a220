/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file kdf.h
 * PBKDF2 parameters for new keyslots: approved hashes and iteration calibration.
 */
#ifndef FIPSLUKS_KDF_H
#define FIPSLUKS_KDF_H

#include <stddef.h>
#include <stdint.h>

/** Default PBKDF2 hash for new keyslots and digests. */
#define FL_DEFAULT_HASH "sha256"
/** Default unlock time a new keyslot is calibrated to, like cryptsetup's --iter-time. */
#define FL_DEFAULT_ITER_TIME_MS 2000u
/** Longest unlock time a keyslot may be calibrated to (an hour, in milliseconds). */
#define FL_MAX_ITER_TIME_MS 3600000u
/**
 * Most PBKDF2 iterations a new keyslot may have: libcryptsetup takes a uint32_t, but LUKS2 stores the
 * count as a JSON int and its OpenSSL backend passes it to PKCS5_PBKDF2_HMAC() as an int (INT32_MAX).
 */
#define FL_MAX_ITERATIONS 2147483647u

/** Whether @p hash may be chosen for a new keyslot (sha256, sha512; FIPS-approved, not SHA-1). */
int fl_kdf_hash_allowed(const char *hash);

/**
 * Find the PBKDF2 iteration count that takes @p iter_time_ms to derive a @p key_size -byte key
 * with @p hash on this machine, the way libcryptsetup would unlock it (its OpenSSL backend).
 * Cheap: it times short runs (about 200 ms in all) and extrapolates, where cryptsetup's own
 * benchmark runs for over a second. Never returns fewer than 1000 iterations (the FIPS minimum).
 *
 * @return 0, or -EINVAL (hash unknown or refused by the active OpenSSL provider), -ENOMEM.
 */
int fl_kdf_calibrate_pbkdf2(const char *hash, size_t key_size, uint32_t iter_time_ms,
                            uint32_t *ret_iterations);

#endif
