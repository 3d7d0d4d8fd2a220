/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/kdf.c: the hashes a new keyslot may use, and PBKDF2 calibration. kdf.c has
 * no derivation of its own to call: it times OpenSSL's EVP_KDF "PBKDF2" (what libcryptsetup's
 * OpenSSL backend unlocks with). That KDF, fetched and parameterised as kdf.c does, is held to
 * known PBKDF2-HMAC-SHA-256/512 values (RFC 7914's inputs, values from Python's
 * hashlib.pbkdf2_hmac), so calibration times the KDF keyslots are derived with.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "fipsluks/kdf.h"
#include "fipsluks/policy.h"

static void test_hash_allowed(void **state)
{
    assert_true(fl_kdf_hash_allowed("sha256"));
    assert_true(fl_kdf_hash_allowed("SHA512"));
    assert_true(fl_kdf_hash_allowed(FL_DEFAULT_HASH));
    assert_false(fl_kdf_hash_allowed("sha1"));
    assert_false(fl_kdf_hash_allowed("sha384"));
    assert_false(fl_kdf_hash_allowed("ripemd160"));
    assert_false(fl_kdf_hash_allowed("sha2566"));
    assert_false(fl_kdf_hash_allowed(""));
    assert_false(fl_kdf_hash_allowed(NULL));
}

/* PBKDF2 through EVP_KDF, with the parameters kdf.c's pbkdf2_run() passes. */
static void derive(const char *hash, const char *pw, const char *salt, unsigned iter, unsigned char *out,
                   size_t len)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)hash, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(uintptr_t)pw, strlen(pw)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, strlen(salt)),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
    EVP_KDF_CTX *ctx;

    assert_non_null(kdf);
    ctx = EVP_KDF_CTX_new(kdf);
    assert_non_null(ctx);
    assert_int_equal(EVP_KDF_derive(ctx, out, len, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

static void assert_hex(const unsigned char *got, size_t len, const char *want)
{
    char hex[2 * 64 + 1];

    assert_true(len <= 64);
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", got[i]);
    assert_string_equal(hex, want);
}

static void test_pbkdf2_vectors(void **state)
{
    /* long enough for the FIPS provider too: 24-byte password, 36-byte salt, 4096 iterations */
    static const char pw[] = "passwordPASSWORDpassword", salt[] = "saltSALTsaltSALTsaltSALTsaltSALTsalt";
    unsigned char out[64];

    derive("sha256", pw, salt, 4096, out, 40);
    assert_hex(out, 40, "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9");
    derive("sha512", pw, salt, 4096, out, 64);
    assert_hex(
        out, 64,
        "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71115b59f9e60cd9532fa33e0f75aefe30"
        "225c583a186cd82bd4daea9724a3d3b8");
    /* one iteration less is another key */
    derive("sha256", pw, salt, 4095, out, 40);
    assert_false(out[0] == 0x34 && out[1] == 0x8c && out[2] == 0x89);
}

static void test_calibrate(void **state)
{
    uint32_t it = 12345;

    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha256", 64, 1, &it), 0);
    assert_true(it >= FL_FIPS_MIN_ITERATIONS);
    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha512", 512, 1, &it), 0);
    assert_true(it >= FL_FIPS_MIN_ITERATIONS);
    /* refused, and the count left alone */
    it = 12345;
    assert_int_equal(fl_kdf_calibrate_pbkdf2("no-such-hash", 32, 100, &it), -EINVAL);
    assert_int_equal(fl_kdf_calibrate_pbkdf2(NULL, 32, 100, &it), -EINVAL);
    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha256", 0, 100, &it), -EINVAL);
    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha256", 513, 100, &it), -EINVAL);
    assert_int_equal(fl_kdf_calibrate_pbkdf2("sha256", 32, 0, &it), -EINVAL);
    assert_int_equal(it, 12345);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_allowed),
        cmocka_unit_test(test_pbkdf2_vectors),
        cmocka_unit_test(test_calibrate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
