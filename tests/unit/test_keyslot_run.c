/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of what migrate and reencrypt share (src/lib/keyslot-run.c), with the real libcryptsetup on
 * images in memory (tmpfs): which secret opens which keyslot (each KDF run once, a wrong secret matching
 * nothing), the header backup byte for byte, and the LUKS1 conversion of a fresh LUKS1 image.
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

#include "fipsluks/luks1.h"
#include "fipsluks/secret.h"
#include "fixture.h"
#include "keyslot-run.h"

#define MIB (1024u * 1024u)

static const char pass_a[] = "keyslot-run secret A";
static const char pass_b[] = "keyslot-run secret B";
static const char pass_c[] = "keyslot-run secret C (argon2id)";
static char dir[] = "/dev/shm/fl-keyslot-run.XXXXXX";

static void path_of(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* A LUKS2 image @p name: keyslot 0 opens with pass_a, keyslot 1 with pass_b (PBKDF2, 1000 iterations),
 * keyslot 2 with pass_c (argon2id, 4 iterations, 32 MiB, one thread). */
static void make_luks2(const char *name, char *path, size_t size)
{
    struct crypt_pbkdf_type argon2 = {.type = CRYPT_KDF_ARGON2ID,
                                      .hash = "sha256",
                                      .iterations = 4,
                                      .max_memory_kb = 32 * 1024,
                                      .parallel_threads = 1,
                                      .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_device *cd = NULL;

    path_of(path, size, name);
    unlink(path);
    assert_int_equal(fixture_luks2(path, pass_a, &cd), 0);
    assert_int_equal(crypt_keyslot_add_by_passphrase(cd, 1, pass_a, strlen(pass_a), pass_b, strlen(pass_b)),
                     1);
    assert_int_equal(crypt_set_pbkdf_type(cd, &argon2), 0);
    assert_int_equal(crypt_keyslot_add_by_passphrase(cd, 2, pass_a, strlen(pass_a), pass_c, strlen(pass_c)),
                     2);
    crypt_free(cd);
}

static struct fl_secret *secret(const char *s)
{
    struct fl_secret *x = NULL;

    assert_int_equal(fl_secret_new(s, strlen(s), &x), 0);
    return x;
}

struct unlocks {
    int n;
    int slot[16];
    size_t secret[16];
};

static void count_unlock(void *userdata, int slot, size_t i)
{
    struct unlocks *u = userdata;

    assert_true(u->n < 16);
    u->slot[u->n] = slot;
    u->secret[u->n++] = i;
}

/* The volume key keyslot @p slot of @p path opens with @p pass, read straight from libcryptsetup. */
static size_t volume_key(const char *path, int slot, const char *pass, char *buf, size_t size)
{
    struct crypt_device *cd = NULL;
    size_t len = size;

    assert_int_equal(crypt_init(&cd, path), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS, NULL), 0);
    assert_int_equal(crypt_volume_key_get(cd, slot, buf, &len, pass, strlen(pass)), slot);
    crypt_free(cd);
    return len;
}

static void test_match(void **state)
{
    struct fl_secret *a = secret(pass_a), *b = secret(pass_b), *c = secret(pass_c),
                     *wrong = secret("no such secret"), *a_again = secret(pass_a);
    struct fl_secret_offer offers[] = {
        {.secret = b, .source = "b", .keyslot = 7},
        {.secret = wrong, .source = "wrong", .keyslot = 7},
        {.secret = a, .source = "a", .keyslot = 7},
        {.secret = a_again, .source = "a again", .keyslot = 7},
    };
    struct fl_run_volume rv;
    struct fl_run_secrets keys;
    struct unlocks u = {0};
    char path[256], vk[64];
    size_t vk_len;

    (void)state;
    make_luks2("match.img", path, sizeof(path));
    assert_int_equal(fl_run_volume_init(&rv, path, NULL), 0);
    assert_int_equal(fl_run_volume_read(&rv), 0);
    assert_int_equal(fl_run_volume_open(&rv, true), 0);
    assert_int_equal(rv.v->luks_version, 2);
    assert_int_equal(fl_run_secrets_init(&keys, offers, 4), 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(offers[i].keyslot, -1); /* none found yet */
    assert_int_equal(fl_run_secrets_count(&keys), 4);

    /* b opens keyslot 1 only; a opens keyslot 0 only; the wrong one opens nothing */
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 0, 0, count_unlock, &u), 0);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 1, 0, count_unlock, &u), 1);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 0, 1, count_unlock, &u), 0);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 1, 1, count_unlock, &u), 0);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 2, 1, count_unlock, &u), 0);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 0, 2, count_unlock, &u), 1);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 2, 2, count_unlock, &u), 0);
    assert_int_equal(u.n, 6); /* one KDF run each, none for (1, 1): compared with b, which opens keyslot 1 */
    assert_int_equal(u.slot[1], 1);
    assert_int_equal(u.secret[1], 0);
    assert_int_equal(keys.opener[0], 2);
    assert_int_equal(keys.opener[1], 0);
    assert_int_equal(keys.opener[2], -1);
    assert_false(fl_run_secrets_opens_any(&keys, 1));
    assert_true(fl_run_secrets_opens_any(&keys, 0));
    assert_ptr_equal(fl_run_secret_of(&keys, 0), a);
    assert_ptr_equal(fl_run_secret_of(&keys, 1), b);
    assert_null(fl_run_secret_of(&keys, 2));

    /* asked again: answered from memory, no KDF run */
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 1, 0, count_unlock, &u), 1);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 0, 1, count_unlock, &u), 0);
    /* the same bytes as the secret that opens keyslot 0: compared, not unlocked */
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 0, 3, count_unlock, &u), 1);
    assert_int_equal(keys.opener[0], 2);
    /* an inactive keyslot, a keyslot out of range, a secret out of range: never tried */
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 5, 0, count_unlock, &u), 0);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, -1, 0, count_unlock, &u), 0);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 0, 9, count_unlock, &u), 0);
    assert_int_equal(u.n, 6);

    /* the volume keys kept are the volume's */
    vk_len = volume_key(path, 0, pass_a, vk, sizeof(vk));
    assert_non_null(keys.vk[0]);
    assert_non_null(keys.vk[1]);
    assert_null(keys.vk[2]);
    assert_int_equal(keys.vk[0]->len, vk_len);
    assert_memory_equal(keys.vk[0]->data, vk, vk_len);
    assert_memory_equal(keys.vk[1]->data, vk, vk_len);

    /* a typed secret: numbered after the offered ones; the argon2id keyslot opens with it */
    assert_int_equal(fl_run_secrets_add(&keys, c), 4);
    assert_ptr_equal(fl_run_secret(&keys, 4), c);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 2, 4, count_unlock, &u), 1);
    assert_int_equal(u.n, 7);
    assert_int_equal(u.slot[6], 2);
    assert_int_equal(u.secret[6], 4);
    assert_int_equal(keys.opener[2], 4);
    /* a wrong typed secret is forgotten: what it was tried on, and the secret itself */
    assert_int_equal(fl_run_secrets_add(&keys, secret("typed wrong")), 5);
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 1, 5, count_unlock, &u), 0);
    fl_run_secrets_drop_last(&keys);
    assert_int_equal(fl_run_secrets_count(&keys), 5);
    assert_null(fl_run_secret(&keys, 5));
    assert_int_equal(keys.tried[5], 0);
    /* dropping a typed secret that opened a keyslot forgets that too */
    fl_run_secrets_drop_last(&keys);
    assert_int_equal(keys.opener[2], -1);
    assert_null(keys.vk[2]);
    assert_int_equal(fl_run_secrets_count(&keys), 4);

    fl_run_secrets_clear(&keys);
    assert_null(keys.vk[0]);
    fl_run_volume_clear(&rv);
    assert_null(rv.cd);
    assert_int_equal(rv.lock_fd, -1);
    fl_secret_free(a);
    fl_secret_free(b);
    fl_secret_free(wrong);
    fl_secret_free(a_again);
}

static void test_too_many_secrets(void **state)
{
    struct fl_secret_offer offers[FL_MAX_KEYSLOTS + 1];
    struct fl_run_secrets keys;

    (void)state;
    for (size_t i = 0; i < FL_MAX_KEYSLOTS + 1; i++)
        offers[i] = (struct fl_secret_offer){.secret = NULL, .source = "x", .keyslot = 3};
    assert_int_equal(fl_run_secrets_init(&keys, offers, FL_MAX_KEYSLOTS + 1), -E2BIG);
    assert_int_equal(offers[FL_MAX_KEYSLOTS].keyslot, -1);
    assert_int_equal(fl_run_secrets_count(&keys), 0);
    assert_int_equal(fl_run_secrets_init(&keys, offers, FL_MAX_KEYSLOTS), 0);
    for (int i = 0; i < FL_MAX_KEYSLOTS; i++)
        assert_int_equal(fl_run_secrets_add(&keys, secret("typed")), FL_MAX_KEYSLOTS + i);
    assert_true(fl_run_secrets_full(&keys));
    assert_int_equal(fl_run_secrets_add(&keys, secret("one too many")), -E2BIG); /* freed */
    fl_run_secrets_clear(&keys);
    assert_int_equal(fl_run_secrets_count(&keys), FL_MAX_KEYSLOTS);
}

/* Whether the file @p path holds exactly the first @p len bytes of @p image. */
static void assert_prefix(const char *path, const char *image, size_t len)
{
    unsigned char *want = malloc(len), *got = malloc(len + 1);
    int fd;

    assert_non_null(want);
    assert_non_null(got);
    fd = open(image, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, want, len, 0), (ssize_t)len);
    close(fd);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, got, len + 1, 0), (ssize_t)len); /* not a byte more */
    close(fd);
    assert_memory_equal(got, want, len);
    free(want);
    free(got);
}

static void test_backup(void **state)
{
    struct fl_run_volume rv;
    char path[256], bdir[256], named[256], made[PATH_MAX], again[PATH_MAX];
    size_t bytes;
    struct stat st;
    int bfd = -1, src;

    (void)state;
    make_luks2("backup.img", path, sizeof(path));
    path_of(bdir, sizeof(bdir), "backups");
    path_of(named, sizeof(named), "named.luksheader");
    assert_int_equal(fl_run_volume_init(&rv, path, NULL), 0);
    assert_int_equal(fl_run_volume_read(&rv), 0);
    bytes = (size_t)(2 * rv.v->metadata_size + rv.v->keyslots_size);
    assert_true(bytes > 0 && bytes < 20 * MIB);

    /* a new file in the backup directory, the header region byte for byte, open for reading */
    assert_int_equal(fl_run_volume_backup(&rv, -1, NULL, bdir, made, sizeof(made), &bfd), 0);
    assert_true(bfd >= 0);
    assert_non_null(strstr(made, bdir));
    assert_non_null(strstr(made, rv.v->uuid));
    assert_int_equal(fstat(bfd, &st), 0);
    assert_int_equal((size_t)st.st_size, bytes);
    assert_int_equal(st.st_mode & 0777, 0600);
    close(bfd);
    assert_prefix(made, path, bytes);

    /* from a descriptor the caller holds (migrate's lock), to a named file; never over an existing one */
    src = open(path, O_RDONLY);
    assert_true(src >= 0);
    assert_int_equal(fl_run_volume_backup(&rv, src, named, NULL, again, sizeof(again), NULL), 0);
    assert_string_equal(again, named);
    assert_true(fcntl(src, F_GETFD) >= 0); /* the caller's descriptor stays open */
    close(src);
    assert_prefix(named, path, bytes);
    assert_int_equal(fl_run_volume_backup(&rv, -1, named, NULL, again, sizeof(again), NULL), -EEXIST);
    assert_prefix(named, path, bytes);
    fl_run_volume_clear(&rv);
}

static void test_luks1_convert(void **state)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks1 params = {.hash = "sha256"};
    struct fl_secret *a = secret(pass_a);
    struct fl_secret_offer offer = {.secret = a, .source = "a", .keyslot = -1};
    struct fl_luks1_result lr;
    struct fl_run_volume rv;
    struct fl_run_secrets keys;
    struct crypt_device *cd = NULL;
    char path[256], bdir[256], uuid[64], vk[64], vk2[64];
    size_t vk_len;
    struct stat st;

    (void)state;
    path_of(path, sizeof(path), "luks1.img");
    path_of(bdir, sizeof(bdir), "luks1-backups");
    fixture_image(path, 4 * MIB);
    assert_int_equal(crypt_init(&cd, path), 0);
    assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS1, "aes", "xts-plain64", NULL, NULL, 64, &params), 0);
    assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, pass_a, strlen(pass_a)), 0);
    snprintf(uuid, sizeof(uuid), "%s", crypt_get_uuid(cd));
    crypt_free(cd);
    vk_len = volume_key(path, 0, pass_a, vk, sizeof(vk));

    assert_int_equal(fl_run_volume_init(&rv, path, NULL), 0);
    assert_int_equal(fl_run_secrets_init(&keys, &offer, 1), 0);
    /* nothing cut short: nothing to put back, nothing written */
    assert_int_equal(fl_run_volume_recover_luks1(&rv, &keys, NULL, bdir, &lr), 0);
    assert_false(lr.wrote);
    assert_int_equal(fl_run_volume_read(&rv), 0);
    assert_int_equal(fl_run_volume_open(&rv, true), 0);
    assert_int_equal(rv.v->luks_version, 1);

    assert_int_equal(fl_run_volume_convert_luks1(&rv, NULL, bdir, &lr), 0);
    assert_null(rv.cd);
    assert_true(lr.backup[0]);
    assert_int_equal(stat(lr.backup, &st), 0);
    assert_true(st.st_size > 0);
    assert_int_equal(fl_run_volume_read(&rv), 0);
    assert_int_equal(fl_run_volume_open(&rv, true), 0);
    assert_int_equal(rv.v->luks_version, 2);
    assert_string_equal(rv.v->uuid, uuid);
    /* the same secret opens the same keyslot, with the same volume key */
    assert_int_equal(fl_run_secrets_try(&keys, rv.cd, rv.v, 0, 0, NULL, NULL), 1);
    assert_int_equal(keys.vk[0]->len, vk_len);
    assert_memory_equal(keys.vk[0]->data, vk, vk_len);
    assert_int_equal(volume_key(path, 0, pass_a, vk2, sizeof(vk2)), vk_len);
    assert_memory_equal(vk2, vk, vk_len);
    /* converting again: it is LUKS2 already, which the result says (not an errno) */
    assert_int_equal(fl_run_volume_convert_luks1(&rv, NULL, bdir, &lr), -EINVAL);
    assert_true(lr.luks2);
    fl_run_secrets_clear(&keys);
    fl_run_volume_clear(&rv);
    fl_secret_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_too_many_secrets),
        cmocka_unit_test(test_backup),
        cmocka_unit_test(test_luks1_convert),
    };
    int failed;

    crypt_set_log_callback(NULL, NULL, NULL);
    if (!mkdtemp(dir))
        return 1;
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    return fixture_rmtree(dir) == 0 ? failed : 1;
}
