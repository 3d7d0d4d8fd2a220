/*
 * Unit tests: the format profile (which parameters are approved), the in-use and size checks, key
 * file creation, and fl_format() itself on image files,
 * including failures after the first write (libcryptsetup calls wrapped with -Wl,--wrap=) that
 * must leave the image byte-identical. Signature probing: test_format_safety.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/format.h"
#include "fipsluks/secret.h"
#include "fixture.h"

#define MIB (1024u * 1024u)

static char dir[] = "/tmp/fl-test-format.XXXXXX";
static char img[sizeof(dir) + 32];

/* ---- failure injection (linked with -Wl,--wrap=…) ---- */

static int fail_keyslot_add; /* make the keyslot step fail after libcryptsetup wrote it */
static int fail_open;        /* make the final "does the passphrase open it" check fail */

int __real_crypt_keyslot_add_by_volume_key(struct crypt_device *cd, int keyslot, const char *volume_key,
                                           size_t volume_key_size, const char *passphrase,
                                           size_t passphrase_size);
int __wrap_crypt_keyslot_add_by_volume_key(struct crypt_device *cd, int keyslot, const char *volume_key,
                                           size_t volume_key_size, const char *passphrase,
                                           size_t passphrase_size);
int __real_crypt_activate_by_passphrase(struct crypt_device *cd, const char *name, int keyslot,
                                        const char *passphrase, size_t passphrase_size, uint32_t flags);
int __wrap_crypt_activate_by_passphrase(struct crypt_device *cd, const char *name, int keyslot,
                                        const char *passphrase, size_t passphrase_size, uint32_t flags);

int __wrap_crypt_keyslot_add_by_volume_key(struct crypt_device *cd, int keyslot, const char *volume_key,
                                           size_t volume_key_size, const char *passphrase,
                                           size_t passphrase_size)
{
    int r = __real_crypt_keyslot_add_by_volume_key(cd, keyslot, volume_key, volume_key_size, passphrase,
                                                   passphrase_size);
    return fail_keyslot_add && r >= 0 ? -EIO : r;
}

int __wrap_crypt_activate_by_passphrase(struct crypt_device *cd, const char *name, int keyslot,
                                        const char *passphrase, size_t passphrase_size, uint32_t flags)
{
    if (fail_open)
        return -EPERM;
    return __real_crypt_activate_by_passphrase(cd, name, keyslot, passphrase, passphrase_size, flags);
}

/* Writes and syncs on the image: counted, logged, and made to fail at the Nth. */
static long fail_pwrite_at, fail_fsync_at; /* 0: never */
static long image_pwrites, image_fsyncs;
static uint64_t image_bytes_written;

ssize_t __real_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

static bool is_image(int fd);

ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    if (is_image(fd)) {
        if (++image_pwrites == fail_pwrite_at) {
            errno = EIO;
            return -1;
        }
        image_bytes_written += len;
    }
    return __real_pwrite(fd, buf, len, off);
}

/* With fail_fsync_busy: when the failing fsync comes, the image is made busy first (a loop device
 * on it, opened exclusively here), as if it had been set up and mounted meanwhile. */
static int fail_fsync_busy;
static char busy_loop[64];
static int busy_loop_fd = -1;

static void make_image_busy(void)
{
    char cmd[512];
    FILE *f;

    snprintf(cmd, sizeof(cmd), "losetup -f --show '%s' 2>/dev/null", img);
    f = popen(cmd, "r");
    if (!f)
        return;
    if (fgets(busy_loop, sizeof(busy_loop), f))
        busy_loop[strcspn(busy_loop, "\n")] = '\0';
    pclose(f);
    if (busy_loop[0])
        busy_loop_fd = open(busy_loop, O_RDONLY | O_EXCL);
}

static void release_busy_image(void)
{
    char cmd[128];

    if (busy_loop_fd >= 0)
        close(busy_loop_fd);
    busy_loop_fd = -1;
    if (busy_loop[0]) {
        snprintf(cmd, sizeof(cmd), "losetup -d '%s'", busy_loop);
        assert_int_equal(system(cmd), 0);
    }
    busy_loop[0] = '\0';
}

int __wrap_fsync(int fd)
{
    if (is_image(fd) && ++image_fsyncs == fail_fsync_at) {
        if (fail_fsync_busy)
            make_image_busy();
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}

static void count_writes(void)
{
    image_pwrites = image_fsyncs = 0;
    image_bytes_written = 0;
}

/* ---- helpers ---- */

static void quiet(int level, const char *msg, void *usrptr)
{
}

static bool is_image(int fd)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(img, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(img, sizeof(img), "%s/target.img", dir);
    return 0;
}

static int teardown(void **state)
{
    return fixture_rmtree(dir);
}

/* A fresh image of @p size bytes, all zero. */
static void make_image(uint64_t size)
{
    fixture_image(img, size);
}

static void pwrite_at(const void *buf, size_t len, off_t off)
{
    fixture_pwrite(img, buf, len, off);
}

/* Fill the first @p len bytes with a pattern that carries no signature. */
static void fill_pattern(size_t len)
{
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 13);
    pwrite_at(buf, len, 0);
    free(buf);
}

/* SHA-256 of the whole image. */
static void image_sum(unsigned char out[32])
{
    unsigned char buf[65536];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    ssize_t n;
    int fd = open(img, O_RDONLY);

    assert_true(fd >= 0);
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    assert_int_equal(EVP_DigestFinal_ex(ctx, out, &len), 1);
    EVP_MD_CTX_free(ctx);
    close(fd);
}

/* Run the shell command @p prefix with the image as its last argument, quietly. */
static int run_on_image(const char *prefix)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s '%s' >/dev/null 2>&1", prefix, img);
    return system(cmd);
}

static struct fl_secret *passphrase(void)
{
    struct fl_secret *s = NULL;
    assert_int_equal(fl_secret_new("correct horse battery staple", 28, &s), 0);
    return s;
}

/* fl_format() on the image: open it, format it, close it. */
static int format_image(const struct fl_format_params *p, const struct fl_secret *pass,
                        struct fl_format_result *res, struct fl_why *why)
{
    struct fl_format_target *t = NULL;
    int r;

    fl_why_clear(why);
    r = fl_format_open(img, &t, why);
    if (r < 0)
        return r;
    r = fl_format(t, p, pass, res, why);
    fl_format_close(t);
    return r;
}

static struct fl_format_params fast_params(void)
{
    struct fl_format_params p;
    fl_format_params_default(&p);
    p.iterations = 1000;
    return p;
}

/* ---- the profile ---- */

struct profile_case {
    const char *cipher;
    uint32_t key_bits;
    const char *hash;
    const char *pbkdf;
    uint32_t iterations;
    uint32_t iter_time;
    uint32_t sector;
    const char *type;
    const char *uuid;
    enum fl_format_param refused; /* FL_FORMAT_PARAM_NONE: approved; else the parameter at fault */
};

static void test_profile_table(void **state)
{
    static const struct profile_case cases[] = {
        /* approved */
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_NONE},
        {"aes-xts-plain64", 512, "sha512", "pbkdf2", 0, 1, 4096, "luks2", NULL, FL_FORMAT_PARAM_NONE},
        {"aes-xts-plain64", 256, "sha256", "pbkdf2", 1000, 0, 512, "LUKS2", NULL, FL_FORMAT_PARAM_NONE},
        {"aes-cbc-essiv:sha256", 0, "sha256", "pbkdf2", 0, 500, 0, "luks2", NULL, FL_FORMAT_PARAM_NONE},
        {"aes-cbc-essiv:sha256", 256, "sha512", "pbkdf2", 2147483647u, 0, 2048, "luks2",
         "0b2c4a52-7cb5-4c61-9f5d-0a1a2b3c4d5e", FL_FORMAT_PARAM_NONE},
        /* refused: every other cipher, key size, hash, PBKDF, count, type */
        {"serpent-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_CIPHER},
        {"twofish-xts-plain64", 512, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_CIPHER},
        {"aes-xts-plain", 512, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_CIPHER},
        {"aes-cbc-plain64", 256, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_CIPHER},
        {"AES-XTS-PLAIN64", 512, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_CIPHER},
        {"cipher_null-ecb", 0, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_CIPHER},
        {"aes-xts-plain64", 384, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_KEY_SIZE},
        {"aes-xts-plain64", 128, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_KEY_SIZE},
        {"aes-cbc-essiv:sha256", 512, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL,
         FL_FORMAT_PARAM_KEY_SIZE},
        {"aes-cbc-essiv:sha256", 128, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL,
         FL_FORMAT_PARAM_KEY_SIZE},
        {"aes-xts-plain64", 0, "sha1", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_HASH},
        {"aes-xts-plain64", 0, "ripemd160", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_HASH},
        {"aes-xts-plain64", 0, "whirlpool", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_HASH},
        {"aes-xts-plain64", 0, "SHA256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_HASH},
        {"aes-xts-plain64", 0, "sha3-256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_HASH},
        {"aes-xts-plain64", 0, "sha256", "argon2id", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_PBKDF},
        {"aes-xts-plain64", 0, "sha256", "argon2i", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_PBKDF},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 999, 0, 0, "luks2", NULL, FL_FORMAT_PARAM_ITERATIONS},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 2147483648u, 0, 0, "luks2", NULL,
         FL_FORMAT_PARAM_ITERATIONS},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 0, 0, "luks2", NULL, FL_FORMAT_PARAM_ITER_TIME},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 3600001, 0, "luks2", NULL, FL_FORMAT_PARAM_ITER_TIME},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 8192, "luks2", NULL, FL_FORMAT_PARAM_SECTOR_SIZE},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 1000, "luks2", NULL, FL_FORMAT_PARAM_SECTOR_SIZE},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 256, "luks2", NULL, FL_FORMAT_PARAM_SECTOR_SIZE},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 0, "luks1", NULL, FL_FORMAT_PARAM_TYPE},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 0, "plain", NULL, FL_FORMAT_PARAM_TYPE},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 0, "luks2", "not-a-uuid", FL_FORMAT_PARAM_UUID},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 0, "luks2", "0b2c4a52-7cb5-4c61-9f5d-0a1a2b3c4d5",
         FL_FORMAT_PARAM_UUID},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 0, "luks2",
         "0b2c4a52x7cb5-4c61-9f5d-0a1a2b3c4d5e", FL_FORMAT_PARAM_UUID},
        {"aes-xts-plain64", 0, "sha256", "pbkdf2", 0, 2000, 0, "luks2",
         "0b2c4a52-7cb5-4c61-9f5d-0a1a2b3c4d5g", FL_FORMAT_PARAM_UUID},
        {NULL, 0, "sha256", "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_CIPHER},
        {"aes-xts-plain64", 0, NULL, "pbkdf2", 0, 2000, 0, "luks2", NULL, FL_FORMAT_PARAM_HASH},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct profile_case *c = &cases[i];
        struct fl_format_params p;
        enum fl_format_param param = FL_FORMAT_PARAM_COUNT;
        struct fl_why why = {"unset"};
        int r;

        fl_format_params_default(&p);
        p.cipher = c->cipher;
        p.key_bits = c->key_bits;
        p.hash = c->hash;
        p.pbkdf = c->pbkdf;
        p.iterations = c->iterations;
        p.iter_time_ms = c->iter_time;
        p.sector_size = c->sector;
        p.type = c->type;
        p.uuid = c->uuid;
        r = fl_format_check_params(&p, &param, &why);
        if (c->refused == FL_FORMAT_PARAM_NONE) {
            if (r != 0)
                fail_msg("case %zu: refused (%d: %s), expected approved", i, (int)param, why.text);
            assert_int_equal(param, FL_FORMAT_PARAM_COUNT); /* untouched on success */
            continue;
        }
        if (r != -EINVAL)
            fail_msg("case %zu: approved, expected refusal of parameter %d", i, (int)c->refused);
        assert_int_equal(param, c->refused);
        /* every refusal names what is approved instead */
        assert_non_null(strstr(why.text, "approved") ? why.text
                        : strstr(why.text, "UUID")   ? why.text
                                                     : strstr(why.text, "47 bytes"));
    }
}

static void test_profile_messages_and_defaults(void **state)
{
    struct fl_format_params p;
    enum fl_format_param param;
    struct fl_why why;

    fl_format_params_default(&p);
    assert_string_equal(p.cipher, "aes-xts-plain64");
    assert_string_equal(p.hash, "sha256");
    assert_string_equal(p.pbkdf, "pbkdf2");
    assert_int_equal(p.iter_time_ms, 2000);
    assert_int_equal(p.iterations, 0);
    assert_int_equal(fl_format_key_bits(&p), 512);
    p.cipher = "aes-cbc-essiv:sha256";
    assert_int_equal(fl_format_key_bits(&p), 256);
    p.key_bits = 512;
    assert_int_equal(fl_format_check_params(&p, &param, &why), -EINVAL);
    assert_non_null(strstr(why.text, "approved: 256"));

    fl_format_params_default(&p);
    p.cipher = "serpent-xts-plain64";
    assert_int_equal(fl_format_check_params(&p, NULL, &why), -EINVAL);
    assert_non_null(strstr(why.text, "aes-xts-plain64, aes-cbc-essiv:sha256"));
    fl_format_params_default(&p);
    p.hash = "sha1";
    assert_int_equal(fl_format_check_params(&p, &param, NULL), -EINVAL);
    assert_int_equal(param, FL_FORMAT_PARAM_HASH);

    /* labels and subsystems: 47 bytes fit, 48 do not */
    fl_format_params_default(&p);
    p.label = "12345678901234567890123456789012345678901234567";
    p.subsystem = p.label;
    assert_int_equal(fl_format_check_params(&p, NULL, NULL), 0);
    p.label = "123456789012345678901234567890123456789012345678";
    assert_int_equal(fl_format_check_params(&p, &param, NULL), -EINVAL);
    assert_int_equal(param, FL_FORMAT_PARAM_LABEL);
    p.label = NULL;
    p.subsystem = "123456789012345678901234567890123456789012345678";
    assert_int_equal(fl_format_check_params(&p, &param, NULL), -EINVAL);
    assert_int_equal(param, FL_FORMAT_PARAM_SUBSYSTEM);
}

/* ---- is it in use, does it fit ---- */

static void test_check_busy_and_target(void **state)
{
    struct fl_format_params p;
    struct fl_why why = {"unset"};

    fl_format_params_default(&p);
    make_image(17 * MIB);
    assert_int_equal(fl_format_check_busy(img, &why), 0);
    assert_true(fl_why_empty(&why));
    assert_int_equal(fl_format_check_busy(img, NULL), 0);
    assert_int_equal(fl_format_check_busy("/nonexistent/fl-test", NULL), -ENOENT);
    assert_int_equal(fl_format_check_busy(dir, NULL), -ENOTBLK);
    assert_int_equal(fl_format_check_busy("/dev/null", NULL), -ENOTBLK);

    assert_int_equal(fl_format_check_target(img, &p, &why), 0);
    assert_true(fl_why_empty(&why));
    make_image(16 * MIB);
    assert_int_equal(fl_format_check_target(img, &p, &why), -ENOSPC);
    assert_non_null(strstr(why.text, "too small"));
    make_image(16 * MIB + 512);
    assert_int_equal(fl_format_check_target(img, &p, &why), 0); /* falls back to 512-byte sectors */
    p.sector_size = 4096;
    assert_int_equal(fl_format_check_target(img, &p, &why), -EINVAL);
    assert_non_null(strstr(why.text, "sector size"));
}

/* ---- key files ---- */

static void test_new_key_file(void **state)
{
    char path[sizeof(dir) + 32], link[sizeof(dir) + 32], target[sizeof(dir) + 32];
    struct fl_secret *s = NULL, *again = NULL, *onfile = NULL;
    struct stat st;

    snprintf(path, sizeof(path), "%s/new.key", dir);
    assert_int_equal(fl_format_new_key_file(path, FL_FORMAT_KEY_FILE_SIZE, &s), 0);
    assert_int_equal(s->len, 64);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0400);
    assert_int_equal(st.st_size, 64);
    assert_int_equal(fl_secret_read_file(path, 0, 0, &onfile), 0);
    assert_true(fl_secret_equal(s, onfile));
    /* never overwritten */
    assert_int_equal(fl_format_new_key_file(path, FL_FORMAT_KEY_FILE_SIZE, &again), -EEXIST);
    assert_null(again);
    fl_secret_free(onfile);
    assert_int_equal(fl_secret_read_file(path, 0, 0, &onfile), 0);
    assert_true(fl_secret_equal(s, onfile));
    /* a symbolic link, even a dangling one, is not followed */
    snprintf(link, sizeof(link), "%s/link.key", dir);
    snprintf(target, sizeof(target), "%s/elsewhere.key", dir);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(fl_format_new_key_file(link, FL_FORMAT_KEY_FILE_SIZE, &again), -EEXIST);
    assert_int_equal(stat(target, &st), -1);
    /* two keys differ */
    unlink(path);
    assert_int_equal(fl_format_new_key_file(path, FL_FORMAT_KEY_FILE_SIZE, &again), 0);
    assert_false(fl_secret_equal(s, again));
    assert_int_equal(fl_format_new_key_file(path, 0, &again), -EINVAL);
    fl_secret_free(s);
    fl_secret_free(again);
    fl_secret_free(onfile);
}

/* ---- formatting ---- */

static void test_format_image(void **state)
{
    struct fl_format_params p = fast_params();
    struct fl_format_result res = {0};
    struct fl_signatures s = {0};
    struct fl_secret *pass = passphrase();
    struct fl_why why = {"unset"};
    int r;

    p.label = "fl-label";
    p.subsystem = "fl-subsystem";
    p.uuid = "0B2C4A52-7CB5-4C61-9F5D-0A1A2B3C4D5E";
    p.hash = "sha512";
    make_image(20 * MIB);
    r = format_image(&p, pass, &res, &why);
    if (r < 0)
        fail_msg("fl_format: %d (%s)", r, fl_why_empty(&why) ? "no reason" : why.text);
    assert_true(fl_why_empty(&why));
    assert_int_equal(r, 0);
    assert_int_equal(res.keyslot, 0);
    assert_int_equal(res.key_bits, 512);
    assert_int_equal(res.sector_size, 4096);
    assert_int_equal(res.iterations, 1000);
    assert_int_equal(res.digest_iterations, 1000);
    assert_false(res.calibrated);
    assert_int_equal(res.wiped, 0);
    assert_non_null(res.volume);
    assert_string_equal(res.volume->uuid, "0b2c4a52-7cb5-4c61-9f5d-0a1a2b3c4d5e");
    assert_string_equal(res.volume->label, "fl-label");
    assert_string_equal(res.volume->subsystem, "fl-subsystem");
    assert_string_equal(res.volume->segments[0].cipher, "aes-xts-plain64");
    assert_string_equal(res.volume->keyslots[0].hash, "sha512");
    assert_string_equal(res.volume->digests[0].hash, "sha512");
    assert_int_equal(res.volume->segments[0].offset, 16 * MIB);
    assert_true(fl_findings_compatible(&res.findings));
    /* 1000 iterations: only the "weak" warning */
    assert_int_equal(res.findings.n, 1);
    assert_string_equal(res.findings.items[0].rule->id, "FL-KDF-ITER-LOW");
    fl_format_result_clear(&res);
    assert_null(res.volume);

    /* libblkid now finds exactly the new LUKS header: its two copies, as `wipefs` lists them */
    assert_int_equal(fl_format_probe_signatures(img, &s), 2);
    assert_string_equal(s.items[0].type, "crypto_LUKS");
    assert_int_equal(s.items[0].offset, 0);
    assert_string_equal(s.items[1].type, "crypto_LUKS");
    assert_int_equal(s.items[1].offset, 16384);
    fl_signatures_clear(&s);
    fl_secret_free(pass);
}

static void test_format_calibrated_cbc(void **state)
{
    struct fl_format_params p;
    struct fl_format_result res = {0};
    struct fl_secret *pass = passphrase();
    struct fl_why why = {"unset"};
    int r;

    fl_format_params_default(&p);
    p.cipher = "aes-cbc-essiv:sha256";
    p.iter_time_ms = 50; /* keep it quick */
    make_image(20 * MIB + 512);
    r = format_image(&p, pass, &res, &why);
    if (r < 0)
        fail_msg("fl_format: %d (%s)", r, fl_why_empty(&why) ? "no reason" : why.text);
    assert_true(fl_why_empty(&why));
    assert_true(res.calibrated);
    assert_int_equal(res.key_bits, 256);
    assert_int_equal(res.sector_size, 512); /* 512 bytes past a 4096 multiple */
    assert_string_equal(res.volume->segments[0].cipher, "aes-cbc-essiv:sha256");
    /* The keyslot is calibrated; the digest gets libcryptsetup's own 1000 (no header byte by hand). */
    assert_true(res.iterations >= 1000);
    assert_int_equal(res.digest_iterations, 1000);
    assert_int_equal(res.volume->digests[0].iterations, 1000);
    assert_int_equal(res.volume->keyslots[0].iterations, res.iterations);
    fl_format_result_clear(&res);
    fl_secret_free(pass);
}

/* A failure anywhere leaves the image byte-identical (and a refusal writes nothing at all). */
static void assert_format_fails_untouched(const struct fl_format_params *p, int want)
{
    unsigned char before[32], after[32];
    struct fl_format_result res = {0};
    struct fl_secret *pass = passphrase();
    struct fl_why why = {"unset"};

    image_sum(before);
    assert_int_equal(format_image(p, pass, &res, &why), want);
    assert_null(res.volume);
    image_sum(after);
    assert_memory_equal(before, after, sizeof(before));
    fl_secret_free(pass);
}

static void test_format_refused_untouched(void **state)
{
    struct fl_format_params p = fast_params();

    make_image(20 * MIB);
    fill_pattern(17 * MIB);
    p.cipher = "serpent-xts-plain64";
    assert_format_fails_untouched(&p, -EINVAL);
    p = fast_params();
    p.hash = "ripemd160";
    assert_format_fails_untouched(&p, -EINVAL);
    p = fast_params();
    p.iterations = 999;
    assert_format_fails_untouched(&p, -EINVAL);
    p = fast_params();
    p.sector_size = 4096;
    make_image(20 * MIB + 512);
    assert_format_fails_untouched(&p, -EINVAL);
    make_image(16 * MIB);
    assert_format_fails_untouched(&p, -ENOSPC);
}

static void test_format_undo(void **state)
{
    static const unsigned char md_magic[4] = {0xfc, 0x4e, 0x2b, 0xa9};
    struct fl_format_params p = fast_params();
    const uint64_t size = 40 * MIB, md = (size & ~(uint64_t)0xffff) - 0x10000;
    struct fl_format_result res = {0};
    struct fl_signatures s = {0};
    struct fl_secret *pass;
    struct fl_why why = {"unset"};

    /* An old ext4 at the start, a RAID superblock at the end (beyond the header area). */
    make_image(size);
    if (run_on_image("mkfs.ext4 -q -F") != 0)
        skip();
    fill_pattern(64 * 1024); /* and something unusual in the first blocks */
    if (run_on_image("mkfs.ext4 -q -F") != 0)
        skip();
    pwrite_at(md_magic, sizeof(md_magic), (off_t)md);
    assert_int_equal(fl_format_probe_signatures(img, &s), 2);
    fl_signatures_clear(&s);

    /* libcryptsetup wrote header and keyslot, then "failed" */
    fail_keyslot_add = 1;
    assert_format_fails_untouched(&p, -EIO);
    fail_keyslot_add = 0;
    /* the new volume "does not open" */
    fail_open = 1;
    assert_format_fails_untouched(&p, -EPROTO);
    fail_open = 0;
    /* the same with a calibrated digest, which is rewritten in between */
    p.iterations = 0;
    p.iter_time_ms = 10;
    fail_keyslot_add = 1;
    assert_format_fails_untouched(&p, -EIO);
    fail_keyslot_add = 0;

    /* and for real: both signatures gone, the RAID magic beyond the header area erased */
    pass = passphrase();
    assert_int_equal(format_image(&p, pass, &res, &why), 0);
    assert_int_equal(res.wiped, 1);
    fl_format_result_clear(&res);
    assert_int_equal(fl_format_probe_signatures(img, &s), 2);
    assert_string_equal(s.items[0].type, "crypto_LUKS");
    assert_string_equal(s.items[1].type, "crypto_LUKS");
    fl_signatures_clear(&s);
    fl_secret_free(pass);
}

/* ---- the target, opened once ---- */

static void test_open_target(void **state)
{
    char link[sizeof(dir) + 32], other[sizeof(dir) + 32];
    struct fl_format_target *t = NULL;
    struct fl_format_params p;
    struct fl_why why = {"unset"};

    fl_format_params_default(&p);
    make_image(17 * MIB);
    assert_int_equal(fl_format_open(img, &t, &why), 0);
    assert_true(fl_why_empty(&why));
    assert_string_equal(fl_format_target_path(t), img);
    assert_int_equal(fl_format_check(t, &p, &why), 0);
    assert_true(fl_why_empty(&why));
    fl_format_close(t);
    fl_format_close(NULL);

    /* a symbolic link to a regular file is refused: it could be swapped */
    snprintf(link, sizeof(link), "%s/link.img", dir);
    unlink(link);
    assert_int_equal(symlink(img, link), 0);
    t = NULL;
    assert_int_equal(fl_format_open(link, &t, &why), -ELOOP);
    assert_null(t);
    assert_non_null(strstr(why.text, "symbolic link to a regular file"));
    assert_int_equal(fl_format_check_target(link, &p, &why), -ELOOP);
    unlink(link);
    /* a link to a block device is followed, but /dev/null is not a block device */
    assert_int_equal(symlink("/dev/null", link), 0);
    assert_int_equal(fl_format_open(link, &t, NULL), -ENOTBLK);
    unlink(link);
    assert_int_equal(fl_format_open(dir, &t, NULL), -EISDIR);
    assert_int_equal(fl_format_open("/dev/null", &t, NULL), -ENOTBLK);
    assert_int_equal(fl_format_open("/nonexistent/fl-test", &t, NULL), -ENOENT);
    snprintf(other, sizeof(other), "%s/fifo", dir);
    assert_int_equal(mkfifo(other, 0600), 0);
    assert_int_equal(fl_format_open(other, &t, NULL), -ENOTBLK); /* without blocking on the FIFO */
    unlink(other);
}

/* Once open, the target is that file, whatever its name points to later. */
static void test_format_path_swapped(void **state)
{
    char victim[sizeof(dir) + 32], saved[sizeof(dir) + 32];
    unsigned char before[32], after[32];
    struct fl_format_params p = fast_params();
    struct fl_format_result res = {0};
    struct fl_format_target *t = NULL;
    struct fl_signatures s = {0};
    struct fl_secret *pass = passphrase();
    struct fl_why why = {"unset"};

    snprintf(victim, sizeof(victim), "%s/victim.img", dir);
    snprintf(saved, sizeof(saved), "%s/target.saved", dir);
    make_image(20 * MIB);
    if (run_on_image("mkfs.ext4 -q -F -L victim") != 0)
        skip();
    assert_int_equal(rename(img, victim), 0);
    make_image(20 * MIB);
    assert_int_equal(fl_format_open(img, &t, NULL), 0);
    /* the name now leads to the victim (through a link, then directly) */
    assert_int_equal(rename(img, saved), 0);
    assert_int_equal(symlink(victim, img), 0);
    assert_int_equal(fl_format_signatures(t, &s), 0); /* the zeroed target, not the ext4 victim */
    fl_signatures_clear(&s);
    unlink(img);
    assert_int_equal(link(victim, img), 0);
    image_sum(before);
    assert_int_equal(fl_format(t, &p, pass, &res, &why), 0);
    image_sum(after);
    assert_memory_equal(before, after, sizeof(before)); /* the victim untouched */
    assert_string_equal(res.volume->path, img);         /* named as given */
    fl_format_result_clear(&res);
    fl_format_close(t);
    /* and the file that was opened is the new volume */
    unlink(img);
    assert_int_equal(rename(saved, img), 0);
    assert_int_equal(fl_format_probe_signatures(img, &s), 2);
    assert_string_equal(s.items[0].type, "crypto_LUKS");
    fl_signatures_clear(&s);
    unlink(victim);
    fl_secret_free(pass);
}

/* ---- --force erases every signature: a GPT's backup header too ---- */

static void test_format_gpt_backup(void **state)
{
    struct fl_format_params p = fast_params();
    struct fl_format_result res = {0};
    struct fl_signatures s = {0};
    struct fl_secret *pass = passphrase();
    const uint64_t size = 40 * MIB;
    struct fl_why why = {"unset"};
    char last[8];
    int fd;

    make_image(size);
    if (run_on_image("printf 'label: gpt\\n,10M\\n,\\n' | sfdisk -q") != 0)
        skip();
    /* listed as `wipefs` lists it: primary header, backup header in the last sector, protective MBR */
    assert_int_equal(fl_format_probe_signatures(img, &s), 3);
    assert_string_equal(s.items[0].type, "gpt");
    assert_int_equal(s.items[0].offset, 512);
    assert_string_equal(s.items[1].type, "gpt");
    assert_int_equal(s.items[1].offset, size - 512);
    assert_int_equal(s.items[1].magic_len, 8);
    assert_string_equal(s.items[2].type, "PMBR");
    assert_int_equal(s.items[2].offset, 510);
    fl_signatures_clear(&s);

    assert_int_equal(format_image(&p, pass, &res, &why), 0);
    assert_int_equal(res.wiped, 1); /* the backup header: beyond the header area */
    fl_format_result_clear(&res);
    fd = open(img, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, last, sizeof(last), (off_t)(size - 512)), (ssize_t)sizeof(last));
    close(fd);
    assert_memory_not_equal(last, "EFI PART", 8);
    assert_int_equal(fl_format_probe_signatures(img, &s), 2);
    assert_string_equal(s.items[0].type, "crypto_LUKS");
    assert_string_equal(s.items[1].type, "crypto_LUKS");
    fl_signatures_clear(&s);
    fl_secret_free(pass);
}

/* ---- the undo writes back what was written, and only that ---- */

static void test_format_undo_only_written(void **state)
{
    static const unsigned char md_magic[4] = {0xfc, 0x4e, 0x2b, 0xa9};
    struct fl_format_params p = fast_params();
    const uint64_t size = 40 * MIB, md = (size & ~(uint64_t)0xffff) - 0x10000;

    make_image(size);
    fill_pattern(17 * MIB);
    pwrite_at(md_magic, sizeof(md_magic), (off_t)md);

    /* libcryptsetup fails while building the header: nothing was written, nothing is written back */
    fail_keyslot_add = 1;
    count_writes();
    assert_format_fails_untouched(&p, -EIO);
    assert_int_equal(image_pwrites, 0);
    fail_keyslot_add = 0;

    /* the third 1 MiB chunk of the header area fails (write 1 erased the RAID magic): the 3 MiB
     * started and the 4-byte magic are written back, not the whole 16 MiB */
    fail_pwrite_at = 4;
    count_writes();
    assert_format_fails_untouched(&p, -EIO);
    assert_int_equal(image_bytes_written, (4 + 2 * MIB) /* written */ + (4 + 3 * MIB) /* written back */);
    fail_pwrite_at = 0;

    /* the final sync fails: everything written is written back */
    fail_fsync_at = 1;
    count_writes();
    assert_format_fails_untouched(&p, -EIO);
    assert_int_equal(image_bytes_written, 2 * (4 + 16 * MIB));
    fail_fsync_at = 0;
}

/* A target in use by the time a step fails is not written back to: that would destroy its user. */
static void test_format_undo_not_when_busy(void **state)
{
    struct fl_format_params p = fast_params();
    struct fl_format_result res = {0};
    struct fl_secret *pass = passphrase();
    unsigned char before[32], after[32];
    struct fl_why why = {"unset"};

    if (geteuid() != 0 || system("losetup --version >/dev/null 2>&1") != 0)
        skip();
    make_image(20 * MIB);
    fill_pattern(17 * MIB);
    image_sum(before);
    fail_fsync_at = 1;
    fail_fsync_busy = 1;
    count_writes();
    assert_int_equal(format_image(&p, pass, &res, &why), -EUCLEAN);
    fail_fsync_at = 0;
    fail_fsync_busy = 0;
    if (busy_loop_fd < 0) {
        release_busy_image();
        skip(); /* no loop device to be had */
    }
    release_busy_image();
    assert_non_null(strstr(why.text, "nothing was written back"));
    assert_non_null(strstr(why.text, "opened exclusively"));
    assert_int_equal(image_bytes_written, 16 * MIB); /* the header area, and no write back */
    image_sum(after);
    assert_memory_not_equal(before, after, sizeof(before));
    fl_secret_free(pass);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_table),
        cmocka_unit_test(test_profile_messages_and_defaults),
        cmocka_unit_test(test_check_busy_and_target),
        cmocka_unit_test(test_new_key_file),
        cmocka_unit_test(test_format_image),
        cmocka_unit_test(test_format_calibrated_cbc),
        cmocka_unit_test(test_format_refused_untouched),
        cmocka_unit_test(test_format_undo),
        cmocka_unit_test(test_open_target),
        cmocka_unit_test(test_format_path_swapped),
        cmocka_unit_test(test_format_gpt_backup),
        cmocka_unit_test(test_format_undo_only_written),
        cmocka_unit_test(test_format_undo_not_when_busy),
    };
    crypt_set_log_callback(NULL, quiet, NULL);
    return cmocka_run_group_tests(tests, setup, teardown);
}
