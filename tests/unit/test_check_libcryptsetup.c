/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/check-libcryptsetup.c: the verdict follows what the libcryptsetup of this
 * process does (its default LUKS2 PBKDF), and, when it is not in FIPS mode, says why from the live
 * OpenSSL probe's result: OpenSSL in FIPS mode (a build without FIPS support) or not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libcryptsetup.h>

#include "fixture-root.h"
#include "host-internal.h"

static void test_verdict(void **state)
{
    const struct crypt_pbkdf_type *d = crypt_get_pbkdf_default(CRYPT_LUKS2);
    struct fl_openssl_live fips_openssl = {.sha256 = true, .fips_available = true, .fips_properties = true};
    struct fl_check c;
    char want[200];
    bool fips;

    assert_non_null(d);
    fips = !strcmp(d->type, CRYPT_KDF_PBKDF2);
    snprintf(want, sizeof(want), "crypt_get_pbkdf_default(LUKS2): %s", d->type);

    assert_int_equal(fl_check_libcryptsetup(NULL, &c), 0);
    assert_string_equal(c.id, FL_CHECK_LIBCRYPTSETUP);
    assert_evidence(&c, want);
    assert_evidence(&c, "library: ");
    if (fips) {
        assert_int_equal(c.status, FL_CHECK_PASS);
        assert_null(c.remedy);
    } else {
        assert_int_equal(c.status, FL_CHECK_FAIL);
        assert_non_null(strstr(c.message, "it follows OpenSSL, which is not in FIPS mode in this process"));
        assert_remedy(&c, "put OpenSSL in FIPS mode first");
    }
    fl_check_clear(&c);

    /* OpenSSL in FIPS mode: a libcryptsetup still not in it was built without FIPS support */
    assert_int_equal(fl_check_libcryptsetup(&fips_openssl, &c), 0);
    if (fips) {
        assert_int_equal(c.status, FL_CHECK_PASS);
    } else {
        assert_int_equal(c.status, FL_CHECK_FAIL);
        assert_non_null(strstr(c.message, "built without FIPS support (configure --enable-fips)"));
        assert_remedy(&c, "install a libcryptsetup built with --enable-fips");
    }
    fl_check_clear(&c);
    /* the probe's result counts only when OpenSSL is both available and required */
    fips_openssl.fips_properties = false;
    assert_int_equal(fl_check_libcryptsetup(&fips_openssl, &c), 0);
    if (!fips)
        assert_non_null(strstr(c.message, "it follows OpenSSL"));
    fl_check_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
