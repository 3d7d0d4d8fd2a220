/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/reencrypt-finish.c on image files made with libcryptsetup. The state it finishes
 * is made for real: a child process re-encrypts an image and exits in the progress callback of the last
 * step, which libcryptsetup calls right after committing the final segments and before its clean-up (the
 * moment libcryptsetup's own resume would re-encrypt the data a second time). Then: the clean-up proven
 * and written (the header loads as not in reencryption, the old keyslot and digest are gone, the data
 * decrypts under the new key), a wrong secret and a header in any other state leave every byte as it was.
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fixture.h"
#include "reencrypt-finish.h"

#define MIB     (1024u * 1024u)
#define SECTORS 64 /* 512-byte sectors of known plaintext at the start of the data */

static char dir[] = "/tmp/fl-test-finish.XXXXXX";
static char img[sizeof(dir) + 32];
static char pass[] = "finish-pass-0";

static void quiet(int level, const char *msg, void *usrptr)
{
    if (getenv("FL_DEBUG"))
        fprintf(stderr, "%s", msg);
}

static void plaintext(uint64_t n, unsigned char *out)
{
    for (size_t i = 0; i < 512; i++)
        out[i] = (unsigned char)(n * 31 + i);
}

static void xts(const unsigned char *key, size_t key_len, uint64_t sector, unsigned char *buf, int enc)
{
    unsigned char iv[16] = {0};
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out = 0, fin = 0;

    for (int i = 0; i < 8; i++)
        iv[i] = (unsigned char)(sector >> (8 * i));
    assert_non_null(ctx);
    assert_int_equal(
        EVP_CipherInit_ex(ctx, key_len == 32 ? EVP_aes_128_xts() : EVP_aes_256_xts(), NULL, key, iv, enc), 1);
    assert_int_equal(EVP_CipherUpdate(ctx, buf, &out, buf, 512), 1);
    assert_int_equal(EVP_CipherFinal_ex(ctx, buf + out, &fin), 1);
    EVP_CIPHER_CTX_free(ctx);
}

static size_t volume_key(struct crypt_device *cd, unsigned char *key)
{
    size_t len = 64;

    assert_true(crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)key, &len, pass, strlen(pass)) >= 0);
    return len;
}

/* A LUKS2 image, AES-128-XTS, one PBKDF2 keyslot, SECTORS sectors of known plaintext. */
static void make_image(void)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 params = {.sector_size = 512};
    struct crypt_device *cd;
    unsigned char key[64], buf[512];
    size_t key_len;
    uint64_t off;

    fixture_image(img, 4 * MIB);
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf), 0);
    assert_int_equal(crypt_set_metadata_size(cd, 16384, 1024 * 1024), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 32, &params), 0);
    assert_true(crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, pass, strlen(pass)) >= 0);
    key_len = volume_key(cd, key);
    off = crypt_get_data_offset(cd) * 512;
    for (uint64_t n = 0; n < SECTORS; n++) {
        plaintext(n, buf);
        xts(key, key_len, n, buf, 1);
        fixture_pwrite(img, buf, sizeof(buf), (off_t)(off + n * 512));
    }
    crypt_free(cd);
}

/* The data decrypts to the plaintext under the image's current volume key. */
static bool data_intact(void)
{
    struct crypt_device *cd;
    unsigned char key[64], buf[512], want[512];
    size_t key_len;
    uint64_t off;
    bool ok = true;
    int fd;

    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    key_len = volume_key(cd, key);
    off = crypt_get_data_offset(cd) * 512;
    crypt_free(cd);
    fd = open(img, O_RDONLY);
    assert_true(fd >= 0);
    for (uint64_t n = 0; ok && n < SECTORS; n++) {
        assert_int_equal(pread(fd, buf, sizeof(buf), (off_t)(off + n * 512)), 512);
        xts(key, key_len, n, buf, 0);
        plaintext(n, want);
        ok = !memcmp(buf, want, sizeof(buf));
    }
    close(fd);
    return ok;
}

static int stop_at_end(uint64_t size, uint64_t offset, void *usrptr)
{
    if (size && offset == size)
        _exit(0); /* right after the last step's commit, before libcryptsetup's clean-up */
    return 0;
}

static int stop_early(uint64_t size, uint64_t offset, void *usrptr)
{
    return offset > 0; /* after the first step: a reencryption half done */
}

/* Re-encrypt the image to AES-256-XTS in a child that stops as @p progress says. */
static void reencrypt_child(int (*progress)(uint64_t, uint64_t, void *))
{
    pid_t pid = fork();
    int status = 0;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct crypt_pbkdf_type pbkdf = {.type = CRYPT_KDF_PBKDF2,
                                         .hash = "sha256",
                                         .iterations = 1000,
                                         .flags = CRYPT_PBKDF_NO_BENCHMARK};
        struct crypt_params_luks2 luks2 = {.sector_size = 512};
        struct crypt_params_reencrypt params = {.mode = CRYPT_REENCRYPT_REENCRYPT,
                                                .direction = CRYPT_REENCRYPT_FORWARD,
                                                .resilience = "checksum",
                                                .hash = "sha256",
                                                .max_hotzone_size = 1024, /* 512 KiB: several steps */
                                                .luks2 = &luks2};
        struct crypt_device *cd;
        int n;

        if (crypt_init(&cd, img) || crypt_load(cd, CRYPT_LUKS2, NULL) || crypt_set_pbkdf_type(cd, &pbkdf) ||
            crypt_keyslot_set_encryption(cd, "aes-xts-plain64", 64))
            _exit(2);
        n = crypt_keyslot_add_by_key(cd, CRYPT_ANY_SLOT, NULL, 64, pass, strlen(pass),
                                     CRYPT_VOLUME_KEY_NO_SEGMENT);
        if (n < 0 || crypt_reencrypt_init_by_passphrase(cd, NULL, pass, strlen(pass), 0, n, "aes",
                                                        "xts-plain64", &params) < 0)
            _exit(3);
        crypt_reencrypt_run(cd, progress, NULL);
        _exit(4);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), progress == stop_at_end ? 0 : 4);
}

static crypt_reencrypt_info status_of(void)
{
    struct crypt_device *cd;
    crypt_reencrypt_info ri;

    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    ri = crypt_reencrypt_status(cd, NULL);
    crypt_free(cd);
    return ri;
}

static unsigned char *slurp(size_t *len)
{
    FILE *f = fopen(img, "rb");
    unsigned char *buf = malloc(4 * MIB);

    assert_non_null(f);
    assert_non_null(buf);
    *len = fread(buf, 1, 4 * MIB, f);
    fclose(f);
    return buf;
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(dir));
    snprintf(img, sizeof(img), "%s/v.img", dir);
    crypt_set_log_callback(NULL, quiet, NULL);
    if (getenv("FL_DEBUG"))
        crypt_set_debug_level(CRYPT_DEBUG_ALL);
    return 0;
}

static int teardown(void **state)
{
    return fixture_rmtree(dir);
}

static struct fl_secret secret(char *s)
{
    return (struct fl_secret){.data = s, .len = strlen(s)};
}

static void test_finishes_the_cut_short_cleanup(void **state)
{
    struct fl_secret s = secret(pass);
    const struct fl_secret *secrets[] = {&s};
    struct fl_finish_result res;
    struct crypt_device *cd;

    make_image();
    reencrypt_child(stop_at_end);
    assert_int_equal(status_of(), CRYPT_REENCRYPT_CLEAN);
    assert_int_equal(fl_reencrypt_finish_pending(img, img, secrets, 1, &res), 0);
    assert_true(res.pending);
    assert_true(res.wrote);
    assert_true(res.finished);
    assert_int_equal(res.n_retired, 2); /* the reencrypt keyslot and the old keyslot 0 */
    assert_int_equal(status_of(), CRYPT_REENCRYPT_NONE);
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    assert_int_equal(crypt_get_volume_key_size(cd), 64);
    assert_int_equal(crypt_keyslot_status(cd, 0), CRYPT_SLOT_INACTIVE);
    assert_true(crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, pass, strlen(pass), 0) >= 0);
    crypt_free(cd);
    assert_true(data_intact());

    /* a second call finds a finished volume: nothing written */
    assert_int_equal(fl_reencrypt_finish_pending(img, img, secrets, 1, &res), 0);
    assert_false(res.pending);
    assert_false(res.wrote);
}

static void test_wrong_secret_writes_nothing(void **state)
{
    char wrong[] = "not the passphrase";
    struct fl_secret s = secret(wrong);
    const struct fl_secret *secrets[] = {&s};
    struct fl_finish_result res;
    unsigned char *before, *after;
    size_t n1, n2;

    make_image();
    reencrypt_child(stop_at_end);
    before = slurp(&n1);
    assert_int_equal(fl_reencrypt_finish_pending(img, img, secrets, 1, &res), -EPERM);
    assert_true(res.pending);
    assert_false(res.wrote);
    assert_int_equal(res.failed_secret, 0);
    after = slurp(&n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    free(before);
    free(after);
}

/* A reencryption half done, and a volume never re-encrypted, are not that state: nothing written. */
static void test_other_states_untouched(void **state)
{
    struct fl_secret s = secret(pass);
    const struct fl_secret *secrets[] = {&s};
    struct fl_finish_result res;
    unsigned char *before, *after;
    size_t n1, n2;

    make_image();
    before = slurp(&n1);
    assert_int_equal(fl_reencrypt_finish_pending(img, img, secrets, 1, &res), 0);
    assert_false(res.pending);
    after = slurp(&n2);
    assert_memory_equal(before, after, n1);
    free(before);
    free(after);

    reencrypt_child(stop_early);
    assert_int_equal(status_of(), CRYPT_REENCRYPT_CLEAN);
    before = slurp(&n1);
    assert_int_equal(fl_reencrypt_finish_pending(img, img, secrets, 1, &res), 0);
    assert_false(res.pending);
    assert_false(res.wrote);
    after = slurp(&n2);
    assert_memory_equal(before, after, n1);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finishes_the_cut_short_cleanup),
        cmocka_unit_test(test_wrong_secret_writes_nothing),
        cmocka_unit_test(test_other_states_untouched),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
