/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libcryptsetup check: the libcryptsetup this process runs with is in FIPS mode (a live probe). */
#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libcryptsetup.h>

#include "fipsluks/fips.h"
#include "host-internal.h"

int fl_check_libcryptsetup(const struct fl_openssl_live *live, struct fl_check *c)
{
    const char *kdf = NULL;
    bool fips;
    Dl_info info;
    int r = 0;

    fl_check_init(c, FL_CHECK_LIBCRYPTSETUP);
    if (dladdr((void *)crypt_get_pbkdf_default, &info) && info.dli_fname) {
        char real[PATH_MAX];

        if (realpath(info.dli_fname, real) && strcmp(real, info.dli_fname))
            r = fl_check_evidence(c, "library: %s -> %s", info.dli_fname, real);
        else
            r = fl_check_evidence(c, "library: %s", info.dli_fname);
    }
    if (r < 0)
        return r;
    fips = fl_libcryptsetup_fips_mode(&kdf);
    r = fl_check_evidence(c, "crypt_get_pbkdf_default(LUKS2): %s", kdf ? kdf : "(none)");
    if (r < 0)
        return r;
    if (fips) {
        r = fl_check_set(c, FL_CHECK_PASS, "libcryptsetup is in FIPS mode (default LUKS2 PBKDF: pbkdf2)");
    } else if (live && live->fips_available && live->fips_properties) {
        r = fl_check_set(
            c, FL_CHECK_FAIL,
            "libcryptsetup is not in FIPS mode although OpenSSL is: this libcryptsetup was built "
            "without FIPS support (configure --enable-fips), so it keeps creating argon2 keyslots");
        if (r >= 0)
            r = fl_check_remedy(c, "install a libcryptsetup built with --enable-fips (RHEL and Flatcar ship "
                                   "one; Debian's is not)");
    } else {
        r = fl_check_set(c, FL_CHECK_FAIL,
                         "libcryptsetup is not in FIPS mode (default LUKS2 PBKDF: %s): it follows OpenSSL, "
                         "which is not in FIPS mode in this process (see openssl-live)",
                         kdf ? kdf : "none");
        if (r >= 0)
            r = fl_check_remedy(
                c, "put OpenSSL in FIPS mode first (openssl-config, openssl-live); libcryptsetup "
                   "must also be built with --enable-fips");
    }
    return r < 0 ? r : 0;
}
