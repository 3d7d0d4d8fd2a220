/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the algorithm tables (src/lib/algorithms.c): hashes, ciphers with their modes, IV
 * generators and key sizes, integrity algorithms, and the one cipher-spec parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fipsluks/algorithms.h"

/* ---- the cipher-spec parser ---------------------------------------------------------------------- */

static const struct {
    const char *spec;
    bool ok;
    const char *cipher, *mode, *iv, *ivopts;
    enum fl_cipher_spec_form form;
    bool key_count;
} spec_cases[] = {
    {"aes-xts-plain64", true, "aes", "xts", "plain64", "", FL_SPEC_FULL, false},
    {"AES-XTS-Plain64", true, "aes", "xts", "plain64", "", FL_SPEC_FULL, false},
    {"aes-cbc-essiv:sha256", true, "aes", "cbc", "essiv", "sha256", FL_SPEC_FULL, false},
    {"aes-cbc-essiv:", true, "aes", "cbc", "essiv", "", FL_SPEC_FULL, false},
    {"aes-xts-essiv:sha256-x", true, "aes", "xts", "essiv", "sha256-x", FL_SPEC_FULL, false},
    {"aes-xts", true, "aes", "xts", "", "", FL_SPEC_FULL, false},
    {"aes-ecb", true, "aes", "ecb", "", "", FL_SPEC_FULL, false},
    {"aes-xts-", true, "aes", "xts", "", "", FL_SPEC_FULL, false},
    {"aes--plain64", true, "aes", "", "plain64", "", FL_SPEC_FULL, false},
    {"-xts-plain64", true, "", "xts", "plain64", "", FL_SPEC_FULL, false},
    {"aes:64-cbc-lmk", true, "aes", "cbc", "lmk", "", FL_SPEC_FULL, true},
    {"xchacha12,aes-adiantum-plain64", true, "xchacha12,aes", "adiantum", "plain64", "", FL_SPEC_FULL, false},
    {"aes", true, "aes", "cbc", "plain", "", FL_SPEC_SHORT, false},
    {"aes-plain", true, "aes", "cbc", "plain", "", FL_SPEC_SHORT, false},
    {"null", true, "cipher_null", "ecb", "", "", FL_SPEC_SHORT, false},
    {"cipher_null", true, "cipher_null", "ecb", "", "", FL_SPEC_SHORT, false},
    {"cipher_null-ecb", true, "cipher_null", "ecb", "", "", FL_SPEC_FULL, false},
    {"capi:xts(aes)-plain64", true, "aes", "xts", "plain64", "", FL_SPEC_CAPI, false},
    {"capi:xts(ecb(aes))-plain64", true, "aes", "xts", "plain64", "", FL_SPEC_CAPI, false},
    {"capi:cbc(aes)-essiv:sha256", true, "aes", "cbc", "essiv", "sha256", FL_SPEC_CAPI, false},
    {"capi:authenc(hmac(sha256),xts(aes))-random", true, "aes", "xts", "random", "", FL_SPEC_CAPI, false},
    {"capi:rfc4106(gcm(aes))-random", true, "aes", "gcm", "random", "", FL_SPEC_CAPI, false},
    {"capi:xts(aes)", true, "aes", "xts", "", "", FL_SPEC_CAPI, false},
    {"capi:xts(aes", false, NULL, NULL, NULL, NULL, FL_SPEC_CAPI, false},
    {"capi:xts(aes)plain64", false, NULL, NULL, NULL, NULL, FL_SPEC_CAPI, false},
    {"capi:aes-plain64", false, NULL, NULL, NULL, NULL, FL_SPEC_CAPI, false},
    {"capi:", false, NULL, NULL, NULL, NULL, FL_SPEC_CAPI, false},
    {"", false, NULL, NULL, NULL, NULL, FL_SPEC_FULL, false},
    {NULL, false, NULL, NULL, NULL, NULL, FL_SPEC_FULL, false},
    /* a part of 64 bytes or more does not fit; 63 do */
    {"aes-xts-plain64aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false, NULL, NULL, NULL,
     NULL, FL_SPEC_FULL, false},
    {"aes-xts-plain64aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true, "aes", "xts",
     "plain64aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "", FL_SPEC_FULL, false},
};

static void test_spec_parse(void **state)
{
    for (size_t i = 0; i < sizeof(spec_cases) / sizeof(spec_cases[0]); i++) {
        struct fl_cipher_spec sp;
        bool ok;

        memset(&sp, 0x55, sizeof(sp)); /* the parser zeroes it first */
        ok = fl_cipher_spec_parse(spec_cases[i].spec, &sp);
        if (ok != spec_cases[i].ok)
            print_error("%s: got %d\n", spec_cases[i].spec ? spec_cases[i].spec : "NULL", ok);
        assert_int_equal(ok, spec_cases[i].ok);
        assert_int_equal(sp.form, spec_cases[i].form);
        if (!ok)
            continue;
        assert_string_equal(sp.cipher, spec_cases[i].cipher);
        assert_string_equal(sp.mode, spec_cases[i].mode);
        assert_string_equal(sp.iv, spec_cases[i].iv);
        assert_string_equal(sp.ivopts, spec_cases[i].ivopts);
        assert_int_equal(sp.key_count, spec_cases[i].key_count);
    }
}

/* ---- hashes, ciphers, integrity -------------------------------------------------------------------- */

static void test_hash(void **state)
{
    static const char *const approved[] = {"sha224",   "sha256",   "sha384",     "sha512",     "SHA256",
                                           "Sha512",   "sha3-224", "sha3-256",   "sha3-384",   "sha3-512",
                                           "sha2-256", "sha-256",  "sha512-224", "sha512-256", "SHA3-256"};
    static const char *const not_approved[] = {
        "ripemd160", "rmd160",      "whirlpool",  "blake2b-512", "blake2b-160", "blake2s-256",
        "sm3",       "stribog256",  "stribog512", "streebog",    "md5",         "md4",
        "",          "sha",         "sha256 ",    "sha2",        "sha3",        "sha1sum",
        "crc32",     "sha256-sha1", "sha-1a",
    };

    for (size_t i = 0; i < sizeof(approved) / sizeof(approved[0]); i++)
        assert_int_equal(fl_policy_hash(approved[i]), FL_APPROVED);
    for (size_t i = 0; i < sizeof(not_approved) / sizeof(not_approved[0]); i++)
        assert_int_equal(fl_policy_hash(not_approved[i]), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_hash("sha1"), FL_APPROVED_WEAK);
    assert_int_equal(fl_policy_hash("SHA1"), FL_APPROVED_WEAK);
    assert_int_equal(fl_policy_hash("sha-1"), FL_APPROVED_WEAK);
    assert_int_equal(fl_policy_hash(NULL), FL_NOT_APPROVED);
}

static const struct {
    const char *spec;
    uint32_t key_bits;
    enum fl_approval want;
} cipher_cases[] = {
    /* AES-XTS: 256- or 512-bit keys, any sector-unique IV */
    {"aes-xts-plain64", 512, FL_APPROVED},
    {"aes-xts-plain64", 256, FL_APPROVED},
    {"aes-xts-plain64", 384, FL_NOT_APPROVED},
    {"aes-xts-plain64", 128, FL_NOT_APPROVED},
    {"aes-xts-plain64", 1024, FL_NOT_APPROVED},
    {"aes-xts-plain64", 0, FL_APPROVED}, /* key size unknown: not judged */
    {"AES-XTS-PLAIN64", 512, FL_APPROVED},
    {"aes-xts-plain", 256, FL_APPROVED},
    {"aes-xts-plain64be", 512, FL_APPROVED},
    {"aes-xts-random", 512, FL_APPROVED},
    {"aes-xts-essiv:sha256", 512, FL_APPROVED},
    {"aes-xts-essiv:ripemd160", 512, FL_NOT_APPROVED},
    {"aes-xts-null", 512, FL_NOT_APPROVED},
    {"aes-xts-lmk", 512, FL_NOT_APPROVED},
    {"aes-xts-eboiv", 512, FL_NOT_APPROVED},
    {"aes-xts", 512, FL_NOT_APPROVED},
    /* AES-CBC: ESSIV with an approved hash; predictable IVs are weak */
    {"aes-cbc-essiv:sha256", 256, FL_APPROVED},
    {"aes-cbc-essiv:sha256", 192, FL_APPROVED},
    {"aes-cbc-essiv:sha256", 128, FL_APPROVED},
    {"aes-cbc-essiv:SHA256", 256, FL_APPROVED},
    {"aes-cbc-essiv:sha3-256", 256, FL_APPROVED},
    {"aes-cbc-essiv:sha256", 512, FL_NOT_APPROVED},
    {"aes-cbc-essiv:sha256", 384, FL_NOT_APPROVED},
    {"aes-cbc-essiv:ripemd160", 256, FL_NOT_APPROVED},
    {"aes-cbc-essiv:sha1", 256, FL_NOT_APPROVED},   /* 160-bit digest is no AES key */
    {"aes-cbc-essiv:sha512", 256, FL_NOT_APPROVED}, /* nor is a 512-bit one */
    {"aes-cbc-essiv", 256, FL_NOT_APPROVED},
    {"aes-cbc-plain", 256, FL_APPROVED_WEAK},
    {"aes-cbc-plain64", 256, FL_APPROVED_WEAK},
    {"aes-cbc-plain64be", 128, FL_APPROVED_WEAK},
    {"aes-cbc-benbi", 256, FL_APPROVED_WEAK},
    {"aes-cbc-plain64", 512, FL_NOT_APPROVED}, /* the bad key size outweighs the weak IV */
    {"aes-cbc-random", 256, FL_APPROVED},
    {"aes-cbc-null", 256, FL_NOT_APPROVED},
    {"aes-cbc-lmk", 256, FL_NOT_APPROVED},
    {"aes:64-cbc-lmk", 256, FL_NOT_APPROVED},
    {"aes-cbc-tcw", 256, FL_NOT_APPROVED},
    {"aes-cbc", 256, FL_NOT_APPROVED},
    {"aes-plain", 256, FL_APPROVED_WEAK}, /* cryptsetup reads it as aes-cbc-plain */
    {"aes", 256, FL_APPROVED_WEAK},
    /* other AES modes */
    {"aes-ecb", 256, FL_NOT_APPROVED},
    {"aes-ecb-null", 256, FL_NOT_APPROVED},
    {"aes-ctr-plain64", 256, FL_NOT_APPROVED},
    {"aes-lrw-benbi", 256, FL_NOT_APPROVED},
    {"aes-gcm-random", 256, FL_APPROVED_WEAK},
    {"aes-gcm-plain64", 256, FL_NOT_APPROVED},
    {"aes--plain64", 256, FL_NOT_APPROVED},
    /* kernel crypto API forms */
    {"capi:xts(aes)-plain64", 512, FL_APPROVED},
    {"capi:xts(aes)-plain64", 384, FL_NOT_APPROVED},
    {"capi:cbc(aes)-essiv:sha256", 256, FL_APPROVED},
    {"capi:cbc(aes)-plain64", 256, FL_APPROVED_WEAK},
    {"capi:xts(ecb(aes))-plain64", 512, FL_APPROVED},
    {"capi:authenc(hmac(sha256),xts(aes))-random", 512, FL_APPROVED},
    {"capi:rfc4106(gcm(aes))-random", 256, FL_APPROVED_WEAK},
    {"capi:xts(serpent)-plain64", 512, FL_NOT_APPROVED},
    {"capi:adiantum(xchacha12,aes)-plain64", 256, FL_NOT_APPROVED},
    {"capi:rfc7539(chacha20,poly1305)-random", 256, FL_NOT_APPROVED},
    {"capi:xts(aes", 512, FL_NOT_APPROVED},
    {"capi:xts(aes)plain64", 512, FL_NOT_APPROVED},
    {"capi:aes-plain64", 512, FL_NOT_APPROVED},
    {"capi:", 512, FL_NOT_APPROVED},
    /* other ciphers */
    {"serpent-xts-plain64", 512, FL_NOT_APPROVED},
    {"twofish-xts-plain64", 512, FL_NOT_APPROVED},
    {"camellia-xts-plain64", 512, FL_NOT_APPROVED},
    {"cast5-cbc-plain64", 128, FL_NOT_APPROVED},
    {"cast6-cbc-essiv:sha256", 256, FL_NOT_APPROVED},
    {"blowfish-cbc-essiv:sha256", 256, FL_NOT_APPROVED},
    {"des3_ede-cbc-essiv:sha256", 192, FL_NOT_APPROVED},
    {"sm4-xts-plain64", 256, FL_NOT_APPROVED},
    {"aria-xts-plain64", 512, FL_NOT_APPROVED},
    {"xchacha12,aes-adiantum-plain64", 256, FL_NOT_APPROVED},
    {"xchacha20,aes-adiantum-plain64", 256, FL_NOT_APPROVED},
    {"chacha20-random", 256, FL_NOT_APPROVED},
    {"aesx-xts-plain64", 512, FL_NOT_APPROVED},
    {"-xts-plain64", 512, FL_NOT_APPROVED},
    {"cipher_null-ecb", 0, FL_NOT_APPROVED},
    {"cipher_null", 0, FL_NOT_APPROVED},
    {"null", 0, FL_NOT_APPROVED},
    {"", 512, FL_NOT_APPROVED},
    {NULL, 512, FL_NOT_APPROVED},
    {"aes-xts-plain64aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 512,
     FL_NOT_APPROVED},
};

static void test_cipher_table(void **state)
{
    for (size_t i = 0; i < sizeof(cipher_cases) / sizeof(cipher_cases[0]); i++) {
        struct fl_why why = {"unchanged"};
        enum fl_approval got = fl_policy_cipher(cipher_cases[i].spec, cipher_cases[i].key_bits, &why);

        if (got != cipher_cases[i].want)
            print_error("%s with %u bits: got %d, want %d\n",
                        cipher_cases[i].spec ? cipher_cases[i].spec : "NULL", cipher_cases[i].key_bits, got,
                        cipher_cases[i].want);
        assert_int_equal(got, cipher_cases[i].want);
        if (got == FL_APPROVED) {
            assert_string_equal(why.text, ""); /* emptied */
        } else {
            assert_false(fl_why_empty(&why));
            assert_string_not_equal(why.text, "unchanged");
            assert_null(strchr(why.text, '\n'));
        }
        /* why is optional */
        assert_int_equal(fl_policy_cipher(cipher_cases[i].spec, cipher_cases[i].key_bits, NULL), got);
    }
}

static void test_cipher_why(void **state)
{
    struct fl_why why;

    assert_int_equal(fl_policy_cipher("serpent-xts-plain64", 512, &why), FL_NOT_APPROVED);
    assert_string_equal(why.text, "serpent is not a FIPS-approved cipher");
    assert_int_equal(fl_policy_cipher("twofish-cbc-essiv:sha256", 256, &why), FL_NOT_APPROVED);
    assert_string_equal(why.text, "twofish is not a FIPS-approved cipher");
    assert_int_equal(fl_policy_cipher("aes-xts-plain64", 384, &why), FL_NOT_APPROVED);
    assert_string_equal(why.text,
                        "XTS needs a 256- or 512-bit key (AES-128 or AES-256); a FIPS kernel rejects "
                        "other sizes");
    assert_int_equal(fl_policy_cipher("aes-cbc-plain64", 256, &why), FL_APPROVED_WEAK);
    assert_string_equal(why.text, "predictable IVs; use XTS");
    assert_int_equal(fl_policy_cipher("cipher_null-ecb", 0, &why), FL_NOT_APPROVED);
    assert_string_equal(why.text, "cipher_null does not encrypt at all");
    assert_int_equal(fl_policy_cipher("xchacha12,aes-adiantum-plain64", 256, &why), FL_NOT_APPROVED);
    assert_non_null(strstr(why.text, "Adiantum"));
    assert_int_equal(fl_policy_cipher("aes-cbc-essiv:ripemd160", 256, &why), FL_NOT_APPROVED);
    assert_non_null(strstr(why.text, "ESSIV"));
    assert_int_equal(fl_policy_cipher("aes-ecb", 256, &why), FL_NOT_APPROVED);
    assert_non_null(strstr(why.text, "ECB"));
    assert_int_equal(fl_policy_cipher("aes-cbc-null", 256, &why), FL_NOT_APPROVED);
    assert_string_equal(why.text, "a null IV is the same for every sector");
    assert_int_equal(fl_policy_cipher("aes-cbc-essiv:sha512", 256, &why), FL_NOT_APPROVED);
    assert_string_equal(why.text, "the ESSIV hash does not produce a valid AES key (use essiv:sha256)");
    assert_int_equal(fl_policy_cipher("capi:xts(aes)plain64", 512, &why), FL_NOT_APPROVED);
    assert_string_equal(why.text, "the cipher specification is not recognised");
    assert_int_equal(fl_policy_cipher("rot13-xts-plain64", 512, &why), FL_NOT_APPROVED);
    assert_string_equal(why.text, "only AES is FIPS-approved for disk encryption");
}

static void test_integrity_table(void **state)
{
    assert_int_equal(fl_policy_integrity(NULL), FL_APPROVED);
    assert_int_equal(fl_policy_integrity(""), FL_APPROVED);
    assert_int_equal(fl_policy_integrity("none"), FL_APPROVED);
    assert_int_equal(fl_policy_integrity("hmac(sha256)"), FL_APPROVED);
    assert_int_equal(fl_policy_integrity("hmac(sha384)"), FL_APPROVED);
    assert_int_equal(fl_policy_integrity("hmac(sha512)"), FL_APPROVED);
    assert_int_equal(fl_policy_integrity("hmac-sha256"), FL_APPROVED);
    assert_int_equal(fl_policy_integrity("hmac(sha1)"), FL_APPROVED_WEAK);
    assert_int_equal(fl_policy_integrity("hmac-sha1"), FL_APPROVED_WEAK);
    assert_int_equal(fl_policy_integrity("hmac(ripemd160)"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("hmac(sha256"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("hmac()"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("poly1305"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("aead"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("aegis128"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("aegis256"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("crc32"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("crc32c"), FL_NOT_APPROVED);
    assert_int_equal(fl_policy_integrity("sha256"), FL_NOT_APPROVED);
}

static void test_hash_bits(void **state)
{
    assert_int_equal(fl_hash_bits("sha1"), 160);
    assert_int_equal(fl_hash_bits("SHA256"), 256);
    assert_int_equal(fl_hash_bits("sha-512/224"), 224);
    assert_int_equal(fl_hash_bits("sha3-384"), 384);
    assert_int_equal(fl_hash_bits("sha512"), 512);
    assert_int_equal(fl_hash_bits("ripemd160"), 0);
    assert_int_equal(fl_hash_bits(""), 0);
    assert_int_equal(fl_hash_bits(NULL), 0);
}

static void test_cipher_judge(void **state)
{
    struct fl_cipher_verdict v;

    v = fl_cipher_judge("aes-xts-plain64", 512);
    assert_int_equal(v.approval, FL_APPROVED);
    assert_null(v.why);
    assert_false(v.xts_key_only);
    /* the key size is all that is wrong: FL-XTS-KEY rather than FL-CIPHER */
    v = fl_cipher_judge("aes-xts-plain64", 384);
    assert_int_equal(v.approval, FL_NOT_APPROVED);
    assert_true(v.xts_key_only);
    /* a bad IV outweighs the key size */
    v = fl_cipher_judge("aes-xts-null", 384);
    assert_int_equal(v.approval, FL_NOT_APPROVED);
    assert_false(v.xts_key_only);
    assert_string_equal(v.why, "a null IV is the same for every sector");
    v = fl_cipher_judge("aes-cbc-plain64", 512);
    assert_int_equal(v.approval, FL_NOT_APPROVED);
    assert_false(v.xts_key_only);
    assert_string_equal(v.why, "AES needs a 128-, 192- or 256-bit key");
}

static void test_aes_gcm(void **state)
{
    assert_true(fl_cipher_is_aes_gcm("aes-gcm-random"));
    assert_true(fl_cipher_is_aes_gcm("AES-GCM-random"));
    assert_true(fl_cipher_is_aes_gcm("capi:rfc4106(gcm(aes))-random"));
    assert_false(fl_cipher_is_aes_gcm("aes-xts-plain64"));
    assert_false(fl_cipher_is_aes_gcm("sm4-gcm-random"));
    assert_false(fl_cipher_is_aes_gcm(""));
    assert_false(fl_cipher_is_aes_gcm(NULL));
}

static void test_integrity_key_bits(void **state)
{
    assert_true(fl_integrity_none(NULL));
    assert_true(fl_integrity_none(""));
    assert_true(fl_integrity_none("none"));
    assert_true(fl_integrity_none("NONE"));
    assert_false(fl_integrity_none("aead"));
    assert_int_equal(fl_integrity_key_bits("hmac(sha256)"), 256);
    assert_int_equal(fl_integrity_key_bits("hmac-sha512"), 512);
    assert_int_equal(fl_integrity_key_bits("hmac(sha1)"), 160);
    assert_int_equal(fl_integrity_key_bits("hmac(ripemd160)"), 0);
    assert_int_equal(fl_integrity_key_bits("aead"), 0);
    assert_int_equal(fl_integrity_key_bits("poly1305"), 0);
    assert_int_equal(fl_integrity_key_bits("none"), 0);
    assert_int_equal(fl_integrity_key_bits(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parse),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_hash_bits),
        cmocka_unit_test(test_cipher_table),
        cmocka_unit_test(test_cipher_why),
        cmocka_unit_test(test_cipher_judge),
        cmocka_unit_test(test_aes_gcm),
        cmocka_unit_test(test_integrity_table),
        cmocka_unit_test(test_integrity_key_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
