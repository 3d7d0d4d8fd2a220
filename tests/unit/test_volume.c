/* Integration tests for volume.c: real libcryptsetup on truncated image files (discover.c's are in
 * test_discover.c). */
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>

#include "fipsluks/volume.h"
#include "fixture.h"

static char dir[] = "/tmp/fl-test-volume.XXXXXX";

static char *path_in(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
    return buf[i];
}

static void make_file(const char *path, off_t size)
{
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, size), 0);
    close(fd);
}

/* Format @path with fast KDF settings; @kdf is CRYPT_KDF_PBKDF2 or an argon2 type. */
static void make_luks(const char *path, const char *type, const char *kdf, const char *hash)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = kdf,
        .hash = hash,
        .iterations = strcmp(kdf, CRYPT_KDF_PBKDF2) ? 4 : 1000,
        .max_memory_kb = strcmp(kdf, CRYPT_KDF_PBKDF2) ? 32768 : 0,
        .parallel_threads = strcmp(kdf, CRYPT_KDF_PBKDF2) ? 1 : 0,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    struct crypt_params_luks2 p2 = {.pbkdf = &pbkdf, .sector_size = 512, .label = "unit"};
    struct crypt_params_luks1 p1 = {.hash = hash};
    struct crypt_device *cd;

    make_file(path, 20 << 20);
    assert_int_equal(crypt_init(&cd, path), 0);
    if (!strcmp(type, CRYPT_LUKS1)) {
        assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf), 0);
        assert_int_equal(crypt_format(cd, CRYPT_LUKS1, "aes", "xts-plain64", NULL, NULL, 64, &p1), 0);
    } else {
        assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &p2), 0);
    }
    assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 3, NULL, 64, "unit-secret", 11), 3);
    crypt_free(cd);
}

static void corrupt(const char *path, off_t off)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "garbage!", 8, off), 8);
    close(fd);
}

static char *file_bytes(const char *path, size_t len)
{
    char *buf = malloc(len);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, len), (ssize_t)len);
    close(fd);
    return buf;
}

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    make_luks(path_in("argon.img"), CRYPT_LUKS2, CRYPT_KDF_ARGON2ID, NULL);
    make_luks(path_in("pbkdf2.img"), CRYPT_LUKS2, CRYPT_KDF_PBKDF2, "sha512");
    make_luks(path_in("luks1.img"), CRYPT_LUKS1, CRYPT_KDF_PBKDF2, "sha256");
    return 0;
}

static int teardown(void **state)
{
    return fixture_rmtree(dir);
}

static void test_luks2_argon(void **state)
{
    struct fl_volume *v = NULL;
    const struct fl_keyslot *ks;

    assert_int_equal(fl_volume_read(path_in("argon.img"), NULL, &v), 0);
    assert_int_equal(v->luks_version, 2);
    assert_string_equal(v->label, "unit");
    assert_null(v->subsystem);
    assert_null(v->hash_spec);
    assert_false(v->header_repaired);
    assert_false(v->reencrypt);
    assert_int_equal(v->n_keyslots, 1);
    ks = fl_volume_keyslot(v, 3);
    assert_non_null(ks);
    assert_string_equal(ks->kdf, "argon2id");
    assert_null(ks->hash);
    assert_int_equal(ks->iterations, 4);
    assert_int_equal(ks->memory_kib, 32768);
    assert_int_equal(ks->threads, 1);
    assert_string_equal(ks->cipher, "aes-xts-plain64");
    assert_int_equal(ks->key_bits, 512);
    assert_string_equal(ks->af_hash, "sha256");
    assert_int_equal(ks->area_offset, 32768); /* right after both 16 KiB header copies */
    assert_int_equal(ks->area_size, 258048);  /* 64-byte key x 4000 AF stripes, 4 KiB aligned */
    assert_int_equal(ks->priority, FL_PRIORITY_NORMAL);
    assert_int_equal(v->n_segments, 1);
    assert_string_equal(v->segments[0].cipher, "aes-xts-plain64");
    assert_int_equal(v->segments[0].key_bits, 512);
    assert_int_equal(v->segments[0].sector_size, 512);
    assert_int_equal(v->n_digests, 1);
    assert_string_equal(v->digests[0].type, "pbkdf2");
    assert_null(fl_volume_keyslot(v, 0));
    fl_volume_free(v);
}

static void test_luks2_pbkdf2(void **state)
{
    struct fl_volume *v = NULL;

    assert_int_equal(fl_volume_read(path_in("pbkdf2.img"), NULL, &v), 0);
    assert_string_equal(v->keyslots[0].kdf, "pbkdf2");
    assert_string_equal(v->keyslots[0].hash, "sha512");
    assert_int_equal(v->keyslots[0].iterations, 1000);
    assert_int_equal(v->keyslots[0].memory_kib, 0);
    assert_string_equal(v->digests[0].hash, "sha512");
    fl_volume_free(v);
}

static void test_luks1(void **state)
{
    struct fl_volume *v = NULL;

    assert_int_equal(fl_volume_read(path_in("luks1.img"), NULL, &v), 0);
    assert_int_equal(v->luks_version, 1);
    assert_string_equal(v->hash_spec, "sha256");
    assert_null(v->label);
    assert_int_equal(v->n_keyslots, 1);
    assert_int_equal(v->keyslots[0].id, 3);
    assert_string_equal(v->keyslots[0].kdf, "pbkdf2");
    assert_string_equal(v->keyslots[0].hash, "sha256");
    assert_int_equal(v->keyslots[0].iterations, 1000);
    assert_string_equal(v->segments[0].cipher, "aes-xts-plain64");
    assert_int_equal(v->segments[0].key_bits, 512);
    assert_string_equal(v->digests[0].hash, "sha256");
    assert_true(v->digests[0].iterations >= 1000);
    fl_volume_free(v);
}

/* A damaged primary copy is reported, the secondary is used, and the file is not repaired. */
static void test_damaged_primary_not_written(void **state)
{
    const char *p = path_in("damaged.img");
    const size_t len = 64 * 1024;
    struct fl_volume *v = NULL;
    char *before, *after;
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path_in("pbkdf2.img"), p);
    assert_int_equal(system(cmd), 0);
    corrupt(p, 4096 + 100); /* inside the primary JSON area */
    before = file_bytes(p, len);
    assert_int_equal(fl_volume_read(p, NULL, &v), 0);
    assert_true(v->header_repaired);
    assert_string_equal(v->keyslots[0].hash, "sha512");
    after = file_bytes(p, len);
    assert_memory_equal(before, after, len);
    fl_volume_free(v);

    /* both copies damaged: a LUKS signature, but nothing loadable */
    corrupt(p, 16384 + 4096 + 100);
    v = NULL;
    assert_int_equal(fl_volume_read(p, NULL, &v), -EUCLEAN);
    assert_null(v);
    free(before);
    free(after);
}

/* A zeroed primary magic is still found through the secondary copy. */
static void test_secondary_only(void **state)
{
    const char *p = path_in("secondary.img");
    struct fl_volume *v = NULL;
    char cmd[600];
    int fd;

    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path_in("argon.img"), p);
    assert_int_equal(system(cmd), 0);
    fd = open(p, O_WRONLY);
    assert_int_equal(pwrite(fd, "\0\0\0\0\0\0", 6, 0), 6);
    close(fd);
    assert_int_equal(fl_volume_read(p, NULL, &v), 0);
    assert_true(v->header_repaired);
    assert_string_equal(v->keyslots[0].kdf, "argon2id");
    fl_volume_free(v);
}

static void test_not_luks(void **state)
{
    struct fl_volume *v = NULL;

    make_file(path_in("zero.img"), 1 << 20);
    make_file(path_in("empty.img"), 0);
    assert_int_equal(fl_volume_read(path_in("zero.img"), NULL, &v), -EMEDIUMTYPE);
    assert_int_equal(fl_volume_read(path_in("empty.img"), NULL, &v), -EMEDIUMTYPE);
    assert_int_equal(fl_volume_read(path_in("missing.img"), NULL, &v), -ENOENT);
    assert_int_equal(fl_volume_read(dir, NULL, &v), -EISDIR);
    assert_int_equal(fl_volume_read("/dev/null", NULL, &v), -ENOTBLK);
    assert_null(v);
}

static void test_detached_header(void **state)
{
    struct crypt_device *cd;
    struct fl_volume *v = NULL;
    const char *hdr = path_in("detached.hdr");

    assert_int_equal(crypt_init(&cd, path_in("argon.img")), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    unlink(hdr);
    assert_int_equal(crypt_header_backup(cd, CRYPT_LUKS2, hdr), 0);
    crypt_free(cd);
    make_file(path_in("data.img"), 1 << 20);
    assert_int_equal(fl_volume_read(path_in("data.img"), hdr, &v), 0);
    assert_string_equal(v->header_path, hdr);
    assert_string_equal(v->keyslots[0].kdf, "argon2id");
    fl_volume_free(v);
    v = NULL;
    assert_int_equal(fl_volume_read(path_in("no-data.img"), hdr, &v), -ENOENT);
}

/* A FIFO, a character device, a symbolic link (when asked) and a proc file are never read. */
static void test_read_refuses_special_files(void **state)
{
    struct fl_volume *v = NULL;
    char fifo[300];

    snprintf(fifo, sizeof(fifo), "%s/lonely-fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    /* would block forever in open() (no writer) if it were opened for reading */
    assert_int_equal(fl_volume_read(fifo, NULL, &v), -ENOTBLK);
    assert_int_equal(fl_volume_read("/dev/null", NULL, &v), -ENOTBLK);
    /* a regular file, but on proc: no image file, never read; the message says where it is */
    assert_int_equal(fl_volume_read("/proc/self/status", NULL, &v), -ENOTBLK);
    assert_string_equal(fl_volume_strerror_at(-ENOTBLK, "/proc/self/status"),
                        "on a pseudo file system (proc, sysfs, ...): never read");
    assert_string_equal(fl_volume_strerror_at(-ENOTBLK, fifo), "neither a block device nor a regular file");
    assert_string_equal(fl_volume_strerror_at(-ENOENT, "/proc/self/status"), fl_volume_strerror(-ENOENT));
    assert_int_equal(symlink(path_in("argon.img"), path_in("argon-link.img")), 0);
    assert_int_equal(fl_volume_read_flags(path_in("argon-link.img"), NULL, FL_READ_NOFOLLOW, &v), -ELOOP);
    assert_int_equal(fl_volume_read(path_in("argon-link.img"), NULL, &v), 0); /* named: followed */
    fl_volume_free(v);
}

/* A source opened ahead (as scan does): the same checks and errors as a read, and a file removed
 * after the open is read whole through the descriptor. */
static void test_source_opened_ahead(void **state)
{
    struct fl_volume_source src = {.fd = -1};
    struct fl_volume *v = NULL;
    char cmd[600], fifo[300];

    (void)state;
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path_in("pbkdf2.img"), path_in("ahead.img"));
    assert_int_equal(system(cmd), 0);
    assert_int_equal(fl_volume_source_open(path_in("ahead.img"), FL_READ_NOFOLLOW, &src), 0);
    assert_true(src.fd >= 0);
    assert_int_equal(unlink(path_in("ahead.img")), 0);
    assert_int_equal(fl_volume_read_source(&src, path_in("ahead.img"), &v), 0);
    assert_int_equal(src.fd, -1); /* taken over and closed */
    assert_string_equal(v->path, path_in("ahead.img"));
    assert_string_equal(v->keyslots[0].hash, "sha512");
    fl_volume_free(v);
    v = NULL;

    make_file(path_in("zero-ahead.img"), 1 << 20);
    assert_int_equal(fl_volume_source_open(path_in("zero-ahead.img"), 0, &src), 0);
    assert_int_equal(fl_volume_read_source(&src, path_in("zero-ahead.img"), &v), -EMEDIUMTYPE);
    assert_int_equal(fl_volume_read_source(&src, path_in("zero-ahead.img"), &v), -EINVAL); /* closed */
    assert_null(v);

    assert_int_equal(fl_volume_source_open(path_in("missing-ahead.img"), 0, &src), -ENOENT);
    assert_int_equal(src.fd, -1);
    snprintf(fifo, sizeof(fifo), "%s/ahead-fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(fl_volume_source_open(fifo, 0, &src), -ENOTBLK); /* never opened for reading */
    assert_int_equal(symlink(path_in("pbkdf2.img"), path_in("ahead-link.img")), 0);
    assert_int_equal(fl_volume_source_open(path_in("ahead-link.img"), FL_READ_NOFOLLOW, &src), -ELOOP);
    assert_int_equal(fl_volume_source_open(path_in("ahead-link.img"), 0, &src), 0);
    fl_volume_source_close(&src);
    assert_int_equal(src.fd, -1);
    fl_volume_source_close(&src); /* closing twice is harmless */
}

static int logged_level = -1;

static void capture(int level, const char *msg, void *usrptr)
{
    (void)msg;
    (void)usrptr;
    logged_level = level;
}

/* Library code prints nothing of libcryptsetup's: errors come back as values, debug goes on. */
static void test_log_quiet(void **state)
{
    (void)state;
    crypt_set_log_callback(NULL, capture, NULL);
    fl_crypt_log_quiet(CRYPT_LOG_ERROR, "an error", NULL);
    fl_crypt_log_quiet(CRYPT_LOG_NORMAL, "a message", NULL);
    assert_int_equal(logged_level, -1);
    fl_crypt_log_quiet(CRYPT_LOG_DEBUG, "a debug line", NULL);
    assert_int_equal(logged_level, CRYPT_LOG_DEBUG);
    crypt_set_log_callback(NULL, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luks2_argon),
        cmocka_unit_test(test_luks2_pbkdf2),
        cmocka_unit_test(test_luks1),
        cmocka_unit_test(test_damaged_primary_not_written),
        cmocka_unit_test(test_secondary_only),
        cmocka_unit_test(test_not_luks),
        cmocka_unit_test(test_detached_header),
        cmocka_unit_test(test_read_refuses_special_files),
        cmocka_unit_test(test_source_opened_ahead),
        cmocka_unit_test(test_log_quiet),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
