/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file fips.h
 * The process-wide FIPS switches: whether the libcryptsetup this process runs with is in FIPS mode,
 * and turning OpenSSL's default properties away from the FIPS provider for one process.
 */
#ifndef FIPSLUKS_FIPS_H
#define FIPSLUKS_FIPS_H

#include <stdbool.h>

/**
 * Whether libcryptsetup runs in FIPS mode. There is no public call for it; its LUKS2 default
 * PBKDF is pbkdf2 exactly when it is (on builds whose default is argon2id), so that is the test.
 * @p ret_default_kdf, if not NULL, is set to that default ("argon2id", "pbkdf2"; NULL if none).
 */
bool fl_libcryptsetup_fips_mode(const char **ret_default_kdf);

/**
 * Turn this process's OpenSSL default properties away from the FIPS provider, before
 * libcryptsetup initialises its crypto backend, so argon2 keyslots can be unlocked on a FIPS host.
 * @param ret_followed  whether libcryptsetup follows: false when it was initialised in FIPS mode
 *                      already, so that argon2 keyslots still cannot be unlocked; may be NULL
 * @return 0 (OpenSSL switched), or -EINVAL (OpenSSL refused).
 */
int fl_allow_non_fips_unlock(bool *ret_followed);

#endif
