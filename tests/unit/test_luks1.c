/*
 * Unit tests of fl_luks1_convert() on real LUKS1 images made with libcryptsetup: the conversion keeps
 * the volume key, UUID, keyslot and hash and writes a LUKS1 header backup first; it refuses LUKS2
 * (-EINVAL, res.luks2), non-LUKS (-EMEDIUMTYPE), missing files, an existing backup file and a header
 * whose keyslot areas leave no room for the LUKS2 metadata (-EINVAL) without changing a byte.
 * fl_luks1_recover() on a conversion cut short, made by hand as crypt_convert() leaves it (the keyslot
 * material copied from 4 KiB to 32 KiB; then also half a LUKS2 header): the backup is put back only with a
 * secret that opens it, and a backup of another header of the same UUID never; fl_luks1_check_secrets(). Also
 * fl_cipher_computable().
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/luks1.h"
#include "fipsluks/reencrypt.h"
#include "fipsluks/secret.h"
#include "fixture.h"

#define MIB        (1024u * 1024u)
#define PASSPHRASE "luks1-unit-passphrase"

static char dir[] = "/tmp/fl-test-luks1.XXXXXX";

static void path_of(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* A LUKS1 image @p name (aes-xts-plain64, 512-bit key, @p hash, PBKDF2 1000 iterations, one keyslot),
 * its data offset aligned to @p align sectors (0: libcryptsetup's default of 1 MiB). */
static void make_luks1(const char *name, const char *hash, size_t align, char *uuid, size_t uuid_size)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = hash, .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks1 params = {.hash = hash, .data_alignment = align};
    struct crypt_device *cd = NULL;
    char path[256];
    int fd;

    path_of(path, sizeof(path), name);
    fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4 * MIB), 0);
    close(fd);
    assert_int_equal(crypt_init(&cd, path), 0);
    assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS1, "aes", "xts-plain64", NULL, NULL, 64, &params), 0);
    assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, PASSPHRASE, strlen(PASSPHRASE)), 0);
    if (uuid)
        snprintf(uuid, uuid_size, "%s", crypt_get_uuid(cd));
    crypt_free(cd);
}

/* The type the image @p path loads as ("LUKS1", "LUKS2"), or NULL. */
static const char *type_of(const char *path, char *uuid, size_t uuid_size)
{
    struct crypt_device *cd = NULL;
    const char *type = NULL;

    if (crypt_init(&cd, path) == 0 && crypt_load(cd, CRYPT_LUKS, NULL) == 0) {
        type = !strcmp(crypt_get_type(cd), CRYPT_LUKS1) ? "LUKS1" : "LUKS2";
        if (uuid)
            snprintf(uuid, uuid_size, "%s", crypt_get_uuid(cd));
        if (crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, PASSPHRASE, strlen(PASSPHRASE), 0) < 0)
            type = "LOCKED"; /* loads, but the passphrase no longer opens it */
    }
    crypt_free(cd);
    return type;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    struct stat st;
    unsigned char *buf;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size);
    assert_non_null(buf);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

static void assert_same_file(const unsigned char *before, size_t len, const char *path)
{
    size_t n;
    unsigned char *now = slurp(path, &n);

    assert_int_equal(n, len);
    assert_memory_equal(before, now, len);
    free(now);
}

static void test_convert(void **state)
{
    char img[256], bak[256], uuid[40], uuid2[40], buf[256];
    struct fl_luks1_result res;
    struct crypt_device *cd = NULL;

    (void)state;
    make_luks1("c.img", "sha256", 0, uuid, sizeof(uuid));
    path_of(img, sizeof(img), "c.img");
    path_of(bak, sizeof(bak), "c.bak");
    assert_int_equal(fl_luks1_convert(img, NULL, bak, NULL, &res), 0);
    assert_string_equal(res.backup, bak);
    assert_string_equal(type_of(img, uuid2, sizeof(uuid2)), "LUKS2");
    assert_string_equal(uuid2, uuid);
    /* the backup is the LUKS1 header, and restores a volume the passphrase opens */
    assert_string_equal(type_of(bak, NULL, 0), "LUKS1");
    /* nothing else changed: the keyslot keeps its PBKDF2 hash and iterations */
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    {
        struct crypt_pbkdf_type p;
        assert_int_equal(crypt_keyslot_get_pbkdf(cd, 0, &p), 0);
        assert_string_equal(p.type, CRYPT_KDF_PBKDF2);
        assert_string_equal(p.hash, "sha256");
        assert_int_equal(p.iterations, 1000);
    }
    assert_string_equal(crypt_get_cipher(cd), "aes");
    assert_string_equal(crypt_get_cipher_mode(cd), "xts-plain64");
    crypt_free(cd);

    /* already LUKS2: refused, no second backup */
    path_of(buf, sizeof(buf), "c2.bak");
    assert_int_equal(fl_luks1_convert(img, NULL, buf, NULL, &res), -EINVAL);
    assert_true(res.luks2);
    assert_int_equal(access(buf, F_OK), -1);
}

/* A non-approved LUKS1 hash converts too (only re-encryption changes it), and the backup goes to the dir. */
static void test_convert_ripemd160_backup_dir(void **state)
{
    char img[256], bdir[256];
    struct fl_luks1_result res;

    (void)state;
    make_luks1("r.img", "ripemd160", 0, NULL, 0);
    path_of(img, sizeof(img), "r.img");
    path_of(bdir, sizeof(bdir), "backups");
    assert_int_equal(mkdir(bdir, 0700), 0);
    assert_int_equal(fl_luks1_convert(img, NULL, NULL, bdir, &res), 0);
    assert_int_equal(strncmp(res.backup, bdir, strlen(bdir)), 0);
    assert_non_null(strstr(res.backup, ".luksheader"));
    assert_string_equal(type_of(res.backup, NULL, 0), "LUKS1");
    assert_string_equal(type_of(img, NULL, 0), "LUKS2");
}

static void test_refusals(void **state)
{
    char img[256], bak[256], plain[256];
    struct fl_luks1_result res;
    unsigned char *before;
    size_t len;
    int fd;

    (void)state;
    /* the backup file exists: refused before the conversion */
    make_luks1("e.img", "sha256", 0, NULL, 0);
    path_of(img, sizeof(img), "e.img");
    path_of(bak, sizeof(bak), "e.bak");
    fd = open(bak, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    before = slurp(img, &len);
    assert_int_equal(fl_luks1_convert(img, NULL, bak, NULL, &res), -EEXIST);
    assert_same_file(before, len, img);
    free(before);

    /* not LUKS, missing */
    path_of(plain, sizeof(plain), "plain.img");
    fd = open(plain, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, MIB), 0);
    close(fd);
    path_of(bak, sizeof(bak), "plain.bak");
    assert_int_equal(fl_luks1_convert(plain, NULL, bak, NULL, &res), -EMEDIUMTYPE);
    assert_false(res.luks2);
    assert_int_equal(access(bak, F_OK), -1);
    path_of(plain, sizeof(plain), "missing.img");
    assert_int_equal(fl_luks1_convert(plain, NULL, bak, NULL, &res), -ENOENT);
}

/* Keyslot areas up to the data offset (alignment 8 sectors): no room for the LUKS2 metadata. */
static void test_no_room(void **state)
{
    char img[256], bak[256];
    struct fl_luks1_result res;
    unsigned char *before;
    size_t len;
    int r;

    (void)state;
    make_luks1("n.img", "sha256", 8, NULL, 0);
    path_of(img, sizeof(img), "n.img");
    path_of(bak, sizeof(bak), "n.bak");
    before = slurp(img, &len);
    r = fl_luks1_convert(img, NULL, bak, NULL, &res);
    assert_true(r < 0);
    assert_true(r != -EEXIST && r != -EBUSY);
    assert_false(res.luks2); /* refused by crypt_convert(), not for being LUKS2 */
    assert_same_file(before, len, img);
    assert_string_equal(type_of(img, NULL, 0), "LUKS1");
    free(before);
}

/* ---- a conversion cut short ---- */

static void write_at(const char *path, const void *buf, size_t len, off_t off)
{
    int fd = open(path, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

static uint64_t data_offset_of(const char *path)
{
    struct crypt_device *cd = NULL;
    uint64_t off;

    assert_int_equal(crypt_init(&cd, path), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS1, NULL), 0);
    off = crypt_get_data_offset(cd) * 512;
    crypt_free(cd);
    return off;
}

/* The header region of @p img, as fipsluks backs it up, into @p bak. @return its bytes (to free). */
static unsigned char *backup_of(const char *img, const char *bak, size_t *len)
{
    size_t n;
    unsigned char *all = slurp(img, &n);
    int fd;

    *len = (size_t)data_offset_of(img);
    assert_true(*len <= n);
    fd = open(bak, O_CREAT | O_EXCL | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, all, *len), (ssize_t)*len);
    close(fd);
    return all;
}

/* What crypt_convert() does before the LUKS2 header: the keyslot material from 4 KiB to 32 KiB, over itself.
 */
static void move_keyslot_material(const char *img, const unsigned char *region, size_t len)
{
    write_at(img, region + 4096, len - 32768, 32768);
}

/* Then the first 4 KiB of a LUKS2 header, without checksum: the header no longer loads. */
static void half_luks2_header(const char *img, const char *uuid)
{
    unsigned char hdr[4096] = {'L', 'U', 'K', 'S', 0xba, 0xbe, 0, 2};

    memcpy(hdr + 168, uuid, strlen(uuid));
    write_at(img, hdr, sizeof(hdr), 0);
}

static struct fl_secret *secret(const char *text)
{
    struct fl_secret *s = NULL;

    assert_int_equal(fl_secret_new(text, strlen(text), &s), 0);
    return s;
}

static void test_recover(void **state)
{
    struct fl_secret *right = secret(PASSPHRASE), *wrong = secret("not the passphrase");
    struct fl_secret_offer with_right[] = {{.secret = wrong}, {.secret = right}},
                           with_wrong[] = {{.secret = wrong}};
    char img[256], bdir[256], bak[512], twin[256], uuid[40];
    struct fl_luks1_result res;
    unsigned char *before;
    size_t len, n;

    (void)state;
    make_luks1("cut.img", "sha256", 0, uuid, sizeof(uuid));
    path_of(img, sizeof(img), "cut.img");
    path_of(bdir, sizeof(bdir), "cut-backups");
    assert_int_equal(mkdir(bdir, 0700), 0);
    snprintf(bak, sizeof(bak), "%s/%s-20260101T000000Z.luksheader", bdir, uuid);
    before = backup_of(img, bak, &len);

    /* untouched: nothing to put back */
    assert_int_equal(fl_luks1_recover(img, NULL, with_right, 2, NULL, bdir, &res), 0);
    assert_false(res.wrote);
    assert_int_equal(fl_luks1_check_secrets(img, NULL, with_right, 1, &(int){-1}), -EPERM);
    assert_int_equal(fl_luks1_check_secrets(img, NULL, with_right + 1, 1, &(int){-1}), 0);

    for (int half = 0; half <= 1; half++) {
        unsigned char *cut;

        move_keyslot_material(img, before, len);
        if (half)
            half_luks2_header(img, uuid);
        assert_string_equal(type_of(img, NULL, 0) ? type_of(img, NULL, 0) : "UNREADABLE",
                            half ? "UNREADABLE" : "LOCKED");
        cut = slurp(img, &n);
        /* no secret, or a wrong one: nothing written, and the message says how to put it back by hand */
        assert_int_equal(fl_luks1_recover(img, NULL, NULL, 0, NULL, bdir, &res), -EPERM);
        assert_non_null(strstr(res.why.text, "No secret was given"));
        assert_int_equal(fl_luks1_recover(img, NULL, with_wrong, 1, NULL, bdir, &res), -EPERM);
        assert_false(res.wrote);
        assert_non_null(strstr(res.why.text, "cryptsetup luksHeaderRestore --header-backup-file"));
        assert_non_null(strstr(res.why.text, bak));
        assert_same_file(cut, n, img);
        free(cut);
        /* one secret opens the backup, another does not: refused before anything is written */
        assert_int_equal(fl_luks1_recover(img, NULL, with_right, 2, NULL, bdir, &res), -EPERM);
        assert_non_null(strstr(res.why.text, "opens none of its keyslots"));
        assert_false(res.wrote);
        /* the secret opens the backup: put back, and the volume opens again */
        assert_int_equal(fl_luks1_recover(img, NULL, with_right + 1, 1, NULL, bdir, &res), 1);
        assert_true(res.restored);
        assert_string_equal(res.backup, bak);
        assert_string_equal(type_of(img, NULL, 0), "LUKS1");
        cut = slurp(img, &n);
        assert_memory_equal(cut, before, len);
        free(cut);
        /* and then there is nothing more to do */
        assert_int_equal(fl_luks1_recover(img, NULL, with_right, 2, NULL, bdir, &res), 0);
    }

    /* the backup of another header with this UUID (another volume key, other salts) is never put back */
    make_luks1("twin.img", "sha256", 0, NULL, 0);
    path_of(twin, sizeof(twin), "twin.img");
    {
        struct crypt_device *cd = NULL;

        assert_int_equal(crypt_init(&cd, twin), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS1, NULL), 0);
        assert_int_equal(crypt_set_uuid(cd, uuid), 0);
        crypt_free(cd);
    }
    assert_int_equal(unlink(bak), 0);
    free(backup_of(twin, bak, &n));
    for (int half = 0; half <= 1; half++) {
        unsigned char *cut;

        move_keyslot_material(img, before, len);
        if (half)
            half_luks2_header(img, uuid);
        cut = slurp(img, &n);
        assert_int_equal(fl_luks1_recover(img, NULL, with_right, 2, NULL, bdir, &res), 0);
        assert_false(res.wrote);
        assert_same_file(cut, n, img);
        free(cut);
        write_at(img, before, len, 0);
    }
    free(before);
    fl_secret_free(right);
    fl_secret_free(wrong);
}

static void test_cipher_computable(void **state)
{
    (void)state;
    assert_int_equal(fl_cipher_computable("aes-xts-plain64", 512), 1);
    assert_int_equal(fl_cipher_computable("aes-xts-plain64", 256), 1);
    assert_int_equal(fl_cipher_computable("aes-cbc-essiv:sha256", 256), 1);
    /* malformed, or names that must never reach OpenSSL or the kernel */
    assert_int_equal(fl_cipher_computable(NULL, 512), 0);
    assert_int_equal(fl_cipher_computable("", 512), 0);
    assert_int_equal(fl_cipher_computable("aes", 512), 0);
    assert_int_equal(fl_cipher_computable("-xts-plain64", 512), 0);
    assert_int_equal(fl_cipher_computable("aes-xts(evil)-plain64", 512), 0);
    assert_int_equal(fl_cipher_computable("AES-XTS-PLAIN64/../x", 512), 0);
    assert_int_equal(fl_cipher_computable("nosuchcipher-xts-plain64", 512), 0);
}

static int setup(void **state)
{
    (void)state;
    crypt_set_log_callback(NULL, NULL, NULL);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert),           cmocka_unit_test(test_convert_ripemd160_backup_dir),
        cmocka_unit_test(test_refusals),          cmocka_unit_test(test_no_room),
        cmocka_unit_test(test_cipher_computable), cmocka_unit_test(test_recover),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
