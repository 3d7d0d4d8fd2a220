/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/reencrypt.c on image files made with libcryptsetup: which ciphers this
 * host computes; a whole run from AES-128-XTS with an argon2id keyslot to AES-256-XTS with a
 * PBKDF2 keyslot, the data held to what it was (sectors encrypted by hand with OpenSSL under the
 * old volume key before, decrypted under the new one after); and the refusals that write nothing
 * (a secret that opens no keyslot, a keyslot that would be dropped without confirmation); the plan
 * (a dry run, a run not confirmed): keyslot numbers before and after, data size, rate, nothing written.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/reencrypt.h"
#include "fixture.h"

#define MIB          (1024u * 1024u)
#define DATA_SECTORS 16 /* sectors of known plaintext written at the start of the data */

static char dir[] = "/tmp/fl-test-reencrypt.XXXXXX";
static char img[sizeof(dir) + 32];

static void quiet(int level, const char *msg, void *usrptr)
{
}

static const char *path_in(const char *name)
{
    static char buf[4][sizeof(dir) + 32];
    static int i;
    char *p = buf[i++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
    return p;
}

/* The plaintext of data sector @p n. */
static void plaintext(uint64_t n, unsigned char *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)((n * 131 + i * 7) ^ (i >> 8));
}

/* AES-XTS with the plain64 IV (the sector number, little-endian) on one sector, in place. */
static void xts(const unsigned char *key, size_t key_len, uint64_t sector, unsigned char *buf, size_t len,
                int enc)
{
    unsigned char iv[16] = {0};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out = 0, fin = 0;

    for (int i = 0; i < 8; i++)
        iv[i] = (unsigned char)(sector >> (8 * i));
    assert_non_null(ctx);
    assert_int_equal(
        EVP_CipherInit_ex(ctx, key_len == 32 ? EVP_aes_128_xts() : EVP_aes_256_xts(), NULL, key, iv, enc), 1);
    assert_int_equal(EVP_CipherUpdate(ctx, buf, &out, buf, (int)len), 1);
    assert_int_equal(EVP_CipherFinal_ex(ctx, buf + out, &fin), 1);
    assert_int_equal(out + fin, (int)len);
    EVP_CIPHER_CTX_free(ctx);
}

/* The volume key, data offset (bytes) and sector size of the image, unlocked with @p pass. */
static size_t volume_key(const char *pass, unsigned char *key, uint64_t *ret_offset, uint32_t *ret_sector)
{
    struct crypt_device *cd;
    size_t len = 64;

    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    assert_true(crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)key, &len, pass, strlen(pass)) >= 0);
    *ret_offset = crypt_get_data_offset(cd) * 512;
    *ret_sector = (uint32_t)crypt_get_sector_size(cd);
    crypt_free(cd);
    return len;
}

/* A LUKS2 image: aes-xts-plain64 with a 256-bit key, argon2id keyslots 0 ("zero") and 1 ("one"). */
static void make_volume(void)
{
    struct crypt_pbkdf_type pbkdf = {.type = CRYPT_KDF_ARGON2ID,
                                     .iterations = 4,
                                     .max_memory_kb = 32768,
                                     .parallel_threads = 1,
                                     .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 p2 = {.pbkdf = &pbkdf, .sector_size = 512};
    struct crypt_device *cd;
    int fd;

    unlink(img);
    fd = open(img, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 20 * MIB), 0);
    close(fd);
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 32, &p2), 0);
    assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 0, NULL, 32, "zero", 4), 0);
    assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 1, NULL, 32, "one", 3), 1);
    crypt_free(cd);
}

/* The whole image's bytes. */
static unsigned char *image_bytes(void)
{
    unsigned char *buf = malloc(20 * MIB);
    int fd = open(img, O_RDONLY);

    assert_non_null(buf);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, 20 * MIB, 0), 20 * MIB);
    close(fd);
    return buf;
}

static struct fl_reencrypt_options options(void)
{
    struct fl_reencrypt_options o = {.hash = "sha256", .iterations = 1000, .backup_dir = path_in("backups")};
    return o;
}

static int confirm(void *userdata, const int *ids, size_t n)
{
    int *dropped = userdata;

    assert_int_equal(n, 1);
    *dropped = ids[0];
    return 0;
}

static void test_cipher_computable(void **state)
{
    assert_int_equal(fl_cipher_computable("aes-xts-plain64", 512), 1);
    assert_int_equal(fl_cipher_computable("aes-xts-plain64", 256), 1);
    assert_int_equal(fl_cipher_computable("aes-cbc-essiv:sha256", 256), 1);
    assert_int_equal(fl_cipher_computable("nosuchcipher-xts-plain64", 256), 0);
    /* only NAME-CHAIN matters: no IV is still computable */
    assert_int_equal(fl_cipher_computable("aes-xts", 512), 1);
    assert_int_equal(fl_cipher_computable("aes-ecb-anything", 256), 1);
    /* short forms, loop-AES key counts, capi: and an empty chain name no chain OpenSSL or the kernel has */
    assert_int_equal(fl_cipher_computable("aes-plain", 256), 0);
    assert_int_equal(fl_cipher_computable("aes", 256), 0);
    assert_int_equal(fl_cipher_computable("null", 256), 0);
    assert_int_equal(fl_cipher_computable("aes:64-cbc-lmk", 256), 0);
    assert_int_equal(fl_cipher_computable("capi:xts(aes)-plain64", 512), 0);
    assert_int_equal(fl_cipher_computable("aes--plain64", 256), 0);
    assert_int_equal(fl_cipher_computable("AES-XTS-PLAIN64", 512), 0);
}

static void test_reencrypt_run(void **state)
{
    unsigned char key[64], buf[512];
    struct fl_secret *zero = NULL;
    struct fl_secret_offer secrets[1];
    struct fl_reencrypt_ops ops = {0};
    struct fl_reencrypt_result res;
    struct fl_reencrypt_options o = options();
    struct crypt_pbkdf_type pbkdf;
    struct crypt_device *cd;
    uint64_t off;
    uint32_t sector;
    size_t len;
    int fd, r, dropped = -1;

    /* libcryptsetup takes the reencryption lock in /run/cryptsetup: root's (a genuine skip otherwise) */
    if (geteuid() != 0 && access("/run/cryptsetup", W_OK) != 0)
        skip();
    make_volume();
    /* known plaintext under the old key */
    len = volume_key("zero", key, &off, &sector);
    assert_int_equal(len, 32);
    assert_int_equal(sector, 512);
    fd = open(img, O_RDWR);
    assert_true(fd >= 0);
    for (uint64_t n = 0; n < DATA_SECTORS; n++) {
        plaintext(n, buf, sizeof(buf));
        xts(key, len, n, buf, sizeof(buf), 1);
        assert_int_equal(pwrite(fd, buf, sizeof(buf), (off_t)(off + n * 512)), 512);
    }
    close(fd);

    /* keyslot 1 has no secret: confirmed to be dropped */
    assert_int_equal(fl_secret_new("zero", 4, &zero), 0);
    secrets[0] = (struct fl_secret_offer){.secret = zero, .source = "unit", .keyslot = -1};
    ops.userdata = &dropped;
    ops.confirm_drop = confirm;
    r = fl_reencrypt(img, &o, secrets, 1, &ops, &res);
    if (r != 0)
        fail_msg("fl_reencrypt: %s (%s)", strerror(-r), res.why.text);
    assert_true(res.finished);
    assert_true(res.wrote);
    assert_false(res.interrupted);
    assert_false(res.converted_luks1);
    assert_int_equal(secrets[0].keyslot, 0);
    assert_int_equal(dropped, 1);
    assert_int_equal(res.n_dropped, 1);
    assert_int_equal(res.dropped[0], 1);
    assert_int_equal(res.n_kept, 1);
    assert_int_equal(res.old_ids[0], 0);
    assert_int_equal(access(res.backup, F_OK), 0);
    assert_int_equal(strncmp(res.backup, path_in("backups/"), strlen(path_in("backups/"))), 0);

    /* the header: AES-256-XTS, one PBKDF2-SHA-256 keyslot the secret opens, no reencryption left */
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    assert_string_equal(crypt_get_cipher(cd), "aes");
    assert_string_equal(crypt_get_cipher_mode(cd), &FL_REENCRYPT_CIPHER[4] /* after "aes-" */);
    assert_int_equal(crypt_get_volume_key_size(cd), FL_REENCRYPT_KEY_BITS / 8);
    assert_int_equal(crypt_reencrypt_status(cd, NULL), CRYPT_REENCRYPT_NONE);
    assert_int_equal(crypt_keyslot_status(cd, res.new_ids[0]), CRYPT_SLOT_ACTIVE_LAST);
    assert_int_equal(crypt_keyslot_status(cd, 1), CRYPT_SLOT_INACTIVE);
    assert_int_equal(crypt_keyslot_get_pbkdf(cd, res.new_ids[0], &pbkdf), 0);
    assert_string_equal(pbkdf.type, CRYPT_KDF_PBKDF2);
    assert_string_equal(pbkdf.hash, "sha256");
    assert_int_equal(pbkdf.iterations, 1000);
    assert_int_equal(crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, "one", 3, 0), -EPERM);
    crypt_free(cd);

    /* the data: the same plaintext under the new key */
    len = volume_key("zero", key, &off, &sector);
    assert_int_equal(len, 64);
    fd = open(img, O_RDONLY);
    assert_true(fd >= 0);
    for (uint64_t n = 0; n < DATA_SECTORS; n++) {
        unsigned char want[512];
        uint64_t pos = n * 512;

        /* read the encryption sector holding this 512-byte piece */
        unsigned char *s = malloc(sector);
        assert_non_null(s);
        assert_int_equal(pread(fd, s, sector, (off_t)(off + pos / sector * sector)), (ssize_t)sector);
        xts(key, len, pos / sector, s, sector, 0);
        plaintext(n, want, sizeof(want));
        assert_memory_equal(s + pos % sector, want, sizeof(want));
        free(s);
    }
    close(fd);
    fl_secret_free(zero);
}

/* Refusals write nothing: the image is byte-identical afterwards. */
static void test_reencrypt_refused(void **state)
{
    struct fl_secret *wrong = NULL, *zero = NULL;
    struct fl_secret_offer secrets[1];
    struct fl_reencrypt_result res;
    struct fl_reencrypt_options o = options();
    unsigned char *before, *after;

    make_volume();
    before = image_bytes();
    /* a secret that opens no keyslot */
    assert_int_equal(fl_secret_new("wrong", 5, &wrong), 0);
    secrets[0] = (struct fl_secret_offer){.secret = wrong, .source = "unit", .keyslot = -1};
    assert_int_equal(fl_reencrypt(img, &o, secrets, 1, NULL, &res), -EPERM);
    assert_int_equal(res.failed_secret, 0);
    assert_false(res.wrote);
    assert_string_equal(res.backup, "");
    /* keyslot 1 would be dropped, and nothing confirms it */
    assert_int_equal(fl_secret_new("zero", 4, &zero), 0);
    secrets[0] = (struct fl_secret_offer){.secret = zero, .source = "unit", .keyslot = -1};
    assert_int_equal(fl_reencrypt(img, &o, secrets, 1, NULL, &res), -ECANCELED);
    assert_false(res.wrote);
    /* no secret at all */
    assert_int_equal(fl_reencrypt(img, &o, secrets, 0, NULL, &res), -EPERM);
    after = image_bytes();
    assert_memory_equal(before, after, 20 * MIB);
    free(before);
    free(after);
    fl_secret_free(wrong);
    fl_secret_free(zero);
}

static int not_confirmed(void *userdata, const struct fl_reencrypt_result *plan)
{
    struct fl_reencrypt_result *seen = userdata;

    *seen = *plan;
    return -ECANCELED;
}

/* The plan: a dry run, and a run whose confirmation says no, write nothing (no backup either). */
static void test_reencrypt_plan(void **state)
{
    struct fl_secret *zero = NULL, *one = NULL;
    struct fl_secret_offer secrets[2];
    struct fl_reencrypt_result res, seen;
    struct fl_reencrypt_options o = options();
    struct fl_reencrypt_ops ops = {.userdata = &seen, .confirm = not_confirmed};
    unsigned char *before, *after;

    (void)state;
    make_volume();
    before = image_bytes();
    assert_int_equal(fl_secret_new("one", 3, &one), 0);
    assert_int_equal(fl_secret_new("zero", 4, &zero), 0);
    secrets[0] = (struct fl_secret_offer){.secret = one, .source = "one", .keyslot = -1};
    secrets[1] = (struct fl_secret_offer){.secret = zero, .source = "zero", .keyslot = -1};
    o.dry_run = true;
    assert_int_equal(fl_reencrypt(img, &o, secrets, 2, NULL, &res), 0);
    assert_false(res.wrote);
    assert_false(res.finished);
    assert_string_equal(res.backup, "");
    assert_int_equal(secrets[0].keyslot, 1); /* every secret tested */
    assert_int_equal(secrets[1].keyslot, 0);
    assert_int_equal(res.n_plan, 2);
    assert_int_equal(res.plan_old[0], 0);
    assert_int_equal(res.plan_new[0], 2);
    assert_int_equal(res.plan_old[1], 1);
    assert_int_equal(res.plan_new[1], 3);
    assert_int_equal(res.data_size, 4 * MIB); /* 20 MiB less the default 16 MiB header */
    assert_true(res.rate > 0);
    /* a dry run refuses what the run refuses: a keyslot to drop without confirmation */
    assert_int_equal(fl_reencrypt(img, &o, secrets, 1, NULL, &res), -ECANCELED);
    assert_int_equal(res.n_dropped, 1);
    assert_int_equal(res.dropped[0], 0);
    o.dry_run = false;
    /* not confirmed: -ECANCELED with the plan shown, nothing written */
    assert_int_equal(fl_reencrypt(img, &o, secrets, 2, &ops, &res), -ECANCELED);
    assert_int_equal(seen.n_plan, 2);
    assert_int_equal(seen.plan_new[1], 3);
    assert_false(res.wrote);
    assert_string_equal(res.backup, "");
    after = image_bytes();
    assert_memory_equal(before, after, 20 * MIB);
    free(before);
    free(after);
    fl_secret_free(zero);
    fl_secret_free(one);
}

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(img, sizeof(img), "%s/v.img", dir);
    crypt_set_log_callback(NULL, quiet, NULL);
    return 0;
}

static int teardown(void **state)
{
    return fixture_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cipher_computable),
        cmocka_unit_test(test_reencrypt_run),
        cmocka_unit_test(test_reencrypt_refused),
        cmocka_unit_test(test_reencrypt_plan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
