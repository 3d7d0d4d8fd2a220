/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The process-wide FIPS switches (include/fipsluks/fips.h). */
#include <errno.h>
#include <string.h>

#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/fips.h"

bool fl_libcryptsetup_fips_mode(const char **ret_default_kdf)
{
    const struct crypt_pbkdf_type *d = crypt_get_pbkdf_default(CRYPT_LUKS2);
    const char *kdf = d ? d->type : NULL;

    if (ret_default_kdf)
        *ret_default_kdf = kdf;
    return kdf && !strcmp(kdf, CRYPT_KDF_PBKDF2);
}

int fl_allow_non_fips_unlock(bool *ret_followed)
{
    if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL))
        return -EINVAL;
    if (!EVP_default_properties_enable_fips(NULL, 0))
        return -EINVAL;
    if (ret_followed)
        *ret_followed = !fl_libcryptsetup_fips_mode(NULL);
    return 0;
}
