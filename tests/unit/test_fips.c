/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/fips.c: libcryptsetup's FIPS mode as its default LUKS2 PBKDF tells it, and
 * --allow-non-fips-unlock turning this process's OpenSSL default properties away from fips=yes.
 * The process starts with an OpenSSL configuration that requires fips=yes (OPENSSL_CONF, set in
 * main() before OpenSSL is initialised), so the switch has something to turn.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/fips.h"

static char conf[] = "/tmp/fl-test-fips.XXXXXX";

static void test_libcryptsetup_fips_mode(void **state)
{
    const struct crypt_pbkdf_type *d = crypt_get_pbkdf_default(CRYPT_LUKS2);
    const char *kdf = "unset";
    bool fips;

    assert_non_null(d);
    fips = fl_libcryptsetup_fips_mode(&kdf);
    assert_non_null(kdf);
    assert_string_equal(kdf, d->type);
    assert_true(fips == !strcmp(d->type, CRYPT_KDF_PBKDF2));
    assert_true(fl_libcryptsetup_fips_mode(NULL) == fips);
}

static void test_allow_non_fips_unlock(void **state)
{
    bool followed = false, again = true;

    /* the configuration of this process requires fips=yes (see main()) */
    assert_int_equal(OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL), 1);
    assert_int_equal(EVP_default_properties_is_fips_enabled(NULL), 1);
    assert_int_equal(fl_allow_non_fips_unlock(&followed), 0);
    /* libcryptsetup in FIPS mode already (a FIPS build on a FIPS host) cannot be turned: not followed */
    assert_true(followed == !fl_libcryptsetup_fips_mode(NULL));
    assert_int_equal(EVP_default_properties_is_fips_enabled(NULL), 0);
    /* again: the same */
    assert_int_equal(fl_allow_non_fips_unlock(&again), 0);
    assert_true(again == followed);
    assert_int_equal(fl_allow_non_fips_unlock(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allow_non_fips_unlock),
        cmocka_unit_test(test_libcryptsetup_fips_mode),
    };
    int fd = mkstemp(conf), r;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (!f)
        return 1;
    fputs("openssl_conf = init\n[init]\nalg_section = algs\n[algs]\ndefault_properties = fips=yes\n", f);
    fclose(f);
    setenv("OPENSSL_CONF", conf, 1);
    r = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(conf);
    return r;
}
