/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/backup.c: header backup names (the UUID only when well formed), writing a
 * backup of a real LUKS2 header (exact bytes, mode 0600, exclusive, a partial file removed, the
 * copy loads as the same header), the backup directory, and whether a path lives on a device
 * (the block-device stack walk below a sysroot).
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>

#include "fipsluks/backup.h"
#include "fixture.h"

static char dir[] = "/tmp/fl-test-backup.XXXXXX";
static char image[300], uuid[40];
static uint64_t header_bytes;

static const char *path_in(const char *name)
{
    static char buf[4][300];
    static int i;
    char *p = buf[i++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
    return p;
}

/* The whole of file @p path equals the first bytes of the image, and it loads as the image's header. */
static void assert_backup_of_image(const char *path)
{
    struct crypt_device *cd;
    struct stat st;
    char *a = malloc(header_bytes), *b = malloc(header_bytes);
    int fa = open(image, O_RDONLY), fb = open(path, O_RDONLY);

    assert_non_null(a);
    assert_non_null(b);
    assert_true(fa >= 0 && fb >= 0);
    assert_int_equal(fstat(fb, &st), 0);
    assert_int_equal(st.st_size, header_bytes);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(pread(fa, a, header_bytes, 0), header_bytes);
    assert_int_equal(pread(fb, b, header_bytes, 0), header_bytes);
    assert_memory_equal(a, b, header_bytes);
    close(fa);
    close(fb);
    free(a);
    free(b);
    assert_int_equal(crypt_init(&cd, path), 0);
    assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
    assert_string_equal(crypt_get_uuid(cd), uuid);
    crypt_free(cd);
}

static void test_uuid_and_backup_path(void **state)
{
    char buf[128];

    assert_true(fl_uuid_valid("0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e"));
    assert_true(fl_uuid_valid("0B7F1C2E-3D4A-4B5C-8D9E-0F1A2B3C4D5E"));
    assert_false(fl_uuid_valid(NULL));
    assert_false(fl_uuid_valid(""));
    assert_false(fl_uuid_valid("../../../../tmp/x"));
    assert_false(fl_uuid_valid("0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5"));
    assert_false(fl_uuid_valid("0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e/"));
    assert_false(fl_uuid_valid("0b7f1c2e/3d4a-4b5c-8d9e-0f1a2b3c4d5e"));
    assert_false(fl_uuid_valid("0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d.."));

    assert_int_equal(
        fl_backup_path("/b", "0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e", 1795876440, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/b/0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e-20261128T143400Z.luksheader");
    assert_int_equal(fl_backup_path("/b", "../../../../tmp/x", 1795876440, 0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/b/volume-20261128T143400Z.luksheader");
    assert_int_equal(fl_backup_path("/b", NULL, 1795876440, 2, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/b/volume-20261128T143400Z-2.luksheader");
    assert_int_equal(
        fl_backup_path("/a/very/long/directory/name", "0b7f1c2e-3d4a-4b5c-8d9e-0f1a2b3c4d5e", 0, 0, buf, 40),
        -ENAMETOOLONG);
}

/* A sysfs tree: dm-0 (254:0) on md0 (9:0) on loop3 (7:3); sda (8:0) alone. */
static void test_dev_stacked_on(void **state)
{
    char root[] = "/tmp/fl-test-sysfs.XXXXXX";

    assert_non_null(mkdtemp(root));
    fixture_write(root, "/sys/dev/block/254:0/slaves/md0/dev", "9:0\n");
    fixture_write(root, "/sys/dev/block/9:0/slaves/loop3/dev", "7:3\n");
    fixture_write(root, "/sys/dev/block/8:0/dev", "8:0\n");
    assert_int_equal(fl_dev_stacked_on(root, makedev(254, 0), makedev(7, 3)), 1);
    assert_int_equal(fl_dev_stacked_on(root, makedev(254, 0), makedev(9, 0)), 1);
    assert_int_equal(fl_dev_stacked_on(root, makedev(9, 0), makedev(9, 0)), 1);
    assert_int_equal(fl_dev_stacked_on(root, makedev(254, 0), makedev(8, 0)), 0);
    assert_int_equal(fl_dev_stacked_on(root, makedev(8, 0), makedev(7, 3)), 0);
    /* a cycle in a hostile tree ends */
    fixture_write(root, "/sys/dev/block/7:3/slaves/dm-0/dev", "254:0\n");
    assert_int_equal(fl_dev_stacked_on(root, makedev(254, 0), makedev(8, 0)), 0);
    assert_int_equal(fixture_rmtree(root), 0);
}

static void test_backup_write(void **state)
{
    int src = open(image, O_RDONLY), fd = -1;
    char byte;
    mode_t old;

    assert_true(src >= 0);
    old = umask(0);
    assert_int_equal(fl_backup_write(src, header_bytes, path_in("one.luksheader"), &fd), 0);
    umask(old);
    assert_true(fd >= 0);
    /* the descriptor returned reads the backup */
    assert_int_equal(pread(fd, &byte, 1, 0), 1);
    assert_int_equal(byte, 'L');
    close(fd);
    assert_backup_of_image(path_in("one.luksheader"));
    /* never over an existing file, nor through a link; the file is left as it was */
    fd = -1;
    assert_int_equal(fl_backup_write(src, 4096, path_in("one.luksheader"), &fd), -EEXIST);
    assert_int_equal(fd, -1);
    assert_backup_of_image(path_in("one.luksheader"));
    assert_int_equal(symlink(path_in("elsewhere"), path_in("link.luksheader")), 0);
    assert_int_equal(fl_backup_write(src, 4096, path_in("link.luksheader"), &fd), -EEXIST);
    assert_int_equal(access(path_in("elsewhere"), F_OK), -1);
    /* the header region shorter than the header says: -EIO and no partial file */
    assert_int_equal(fl_backup_write(src, (20u << 20) + 4096, path_in("short.luksheader"), &fd), -EIO);
    assert_int_equal(access(path_in("short.luksheader"), F_OK), -1);
    close(src);
}

static void test_backup_header(void **state)
{
    char got[300], again[300], prefix[300];
    int src = open(image, O_RDONLY), fd = -1;
    struct stat st;

    assert_true(src >= 0);
    /* a path given: exactly there */
    assert_int_equal(fl_backup_header(src, header_bytes, uuid, path_in("given"), NULL, got, sizeof(got), &fd),
                     0);
    close(fd);
    assert_string_equal(got, path_in("given"));
    assert_backup_of_image(got);
    assert_int_equal(fl_backup_header(src, header_bytes, uuid, path_in("given"), NULL, got, 8, &fd),
                     -ENAMETOOLONG);
    /* a directory: created 0700, a new name each time, never one that exists */
    assert_int_equal(fl_backup_header(src, header_bytes, uuid, NULL, path_in("dir"), got, sizeof(got), &fd),
                     0);
    close(fd);
    assert_int_equal(stat(path_in("dir"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(prefix, sizeof(prefix), "%s/%s-", path_in("dir"), uuid);
    assert_int_equal(strncmp(got, prefix, strlen(prefix)), 0);
    assert_non_null(strstr(got, ".luksheader"));
    assert_backup_of_image(got);
    assert_int_equal(
        fl_backup_header(src, header_bytes, uuid, NULL, path_in("dir"), again, sizeof(again), &fd), 0);
    close(fd);
    assert_string_not_equal(got, again);
    assert_backup_of_image(again);
    /* no directory given: $FIPSLUKS_BACKUP_DIR */
    setenv("FIPSLUKS_BACKUP_DIR", path_in("env"), 1);
    assert_int_equal(fl_backup_header(src, header_bytes, "not/a-uuid", NULL, NULL, got, sizeof(got), &fd), 0);
    unsetenv("FIPSLUKS_BACKUP_DIR");
    close(fd);
    snprintf(prefix, sizeof(prefix), "%s/volume-", path_in("env"));
    assert_int_equal(strncmp(got, prefix, strlen(prefix)), 0);
    assert_backup_of_image(got);
    close(src);
}

/* A path lives on the device of its own file system, and not on another. */
static void test_path_on_device(void **state)
{
    struct stat st;

    assert_int_equal(stat(image, &st), 0);
    assert_int_equal(fl_path_on_device(dir, image, st.st_dev), 1);
    assert_int_equal(fl_path_on_device(dir, image, makedev(major(st.st_dev) + 1, 77)), 0);
    assert_int_equal(fl_path_on_device(dir, path_in("nope"), st.st_dev), -ENOENT);
}

static int setup(void **state)
{
    struct crypt_device *cd;

    if (!mkdtemp(dir))
        return -1;
    snprintf(image, sizeof(image), "%s/v.img", dir);
    if (fixture_luks2(image, "unit-secret", &cd) < 0)
        return -1;
    snprintf(uuid, sizeof(uuid), "%s", crypt_get_uuid(cd));
    header_bytes = crypt_get_data_offset(cd) * 512;
    crypt_free(cd);
    return header_bytes > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    return fixture_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_and_backup_path), cmocka_unit_test(test_dev_stacked_on),
        cmocka_unit_test(test_backup_write),         cmocka_unit_test(test_backup_header),
        cmocka_unit_test(test_path_on_device),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
