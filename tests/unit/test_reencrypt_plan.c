/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/reencrypt-plan.c: the keyslot numbers new keyslots get (the lowest free ones,
 * never an old one's), the UUIDs refused (shown escaped), the lock a reencryption shares with migrate,
 * a sparse image without room, the data size and the rate estimate of an image.
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

#include "fake-volume.h"
#include "fixture.h"
#include "reencrypt-plan.h"
#include "target.h"

static char dir[] = "/tmp/fl-test-reencrypt-plan.XXXXXX";
static char img[80];

static void test_predict_ids(void **state)
{
    struct fl_volume v;
    int ids[FL_MAX_KEYSLOTS];

    (void)state;
    volume_init(&v);
    add_keyslot(&v, 0, "pbkdf2", "ripemd160", 1000, 32768);
    add_keyslot(&v, 1, "pbkdf2", "ripemd160", 1000, 32768 + 258048);
    assert_int_equal(fl_reencrypt_predict_ids(&v, 2, ids), 0);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 3);
    /* gaps are filled first; a dropped keyslot (still there until the end) keeps its number taken */
    volume_init(&v);
    add_keyslot(&v, 0, "pbkdf2", "ripemd160", 1000, 32768);
    add_keyslot(&v, 2, "pbkdf2", "ripemd160", 1000, 32768 + 258048);
    add_keyslot(&v, 5, "pbkdf2", "ripemd160", 1000, 32768 + 2 * 258048);
    assert_int_equal(fl_reencrypt_predict_ids(&v, 3, ids), 0);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 3);
    assert_int_equal(ids[2], 4);
    /* every number taken */
    volume_init(&v);
    for (int i = 0; i < FL_MAX_KEYSLOTS; i++)
        add_keyslot(&v, i, "pbkdf2", "sha256", 1000, 32768);
    assert_int_equal(fl_reencrypt_predict_ids(&v, 1, ids), -EXFULL);
}

static void test_check_uuid(void **state)
{
    struct fl_volume v;
    struct fl_why why;

    (void)state;
    volume_init(&v);
    v.uuid = STR("2396414e-5d02-4ec2-ace7-8dbe4d82c32e");
    assert_int_equal(fl_reencrypt_check_uuid(&v, &why), 0);
    v.uuid = STR("2396414E-5D02-4EC2-ACE7-8DBE4D82C32E");
    assert_int_equal(fl_reencrypt_check_uuid(&v, &why), 0);
    v.uuid = STR("../../run/x-5d02-4ec2-ace7-8dbe4d82c32");
    assert_int_equal(fl_reencrypt_check_uuid(&v, &why), -ENOTSUP);
    assert_non_null(strstr(why.text, "'../../run/x-5d02-4ec2-ace7-8dbe4d82c32' is not a UUID"));
    assert_non_null(strstr(why.text, "cryptsetup luksUUID --uuid"));
    v.uuid = STR("2396414e-5d02-4ec2-ace7-8dbe4d82c3\x1b\n");
    assert_int_equal(fl_reencrypt_check_uuid(&v, &why), -ENOTSUP);
    assert_non_null(strstr(why.text, "'2396414e-5d02-4ec2-ace7-8dbe4d82c3\\x1b\\x0a'"));
    v.uuid = NULL;
    assert_int_equal(fl_reencrypt_check_uuid(&v, &why), -ENOTSUP);
}

static void test_preflight_lock(void **state)
{
    struct fl_why why = {""};
    int fd, other;

    (void)state;
    fd = fl_reencrypt_preflight(img, NULL, false, &why);
    assert_true(fd >= 0);
    /* a migrate (the same lock) and another reencrypt, dry or not, wait */
    assert_int_equal(fl_target_lock(img, FL_TARGET_WRITE), -EBUSY);
    assert_int_equal(fl_reencrypt_preflight(img, NULL, true, &why), -EBUSY);
    close(fd);
    /* a dry run lets another dry run in, not a run */
    fd = fl_reencrypt_preflight(img, NULL, true, &why);
    assert_true(fd >= 0);
    other = fl_reencrypt_preflight(img, NULL, true, &why);
    assert_true(other >= 0);
    assert_int_equal(fl_target_lock(img, FL_TARGET_WRITE), -EBUSY);
    close(other);
    close(fd);
    /* a detached header: the data device must exist */
    assert_int_equal(fl_reencrypt_preflight("/nonexistent/data.img", img, true, &why), -ENOENT);
}

static void test_preflight_room(void **state)
{
    char sparse[96];
    struct fl_why why = {""};
    int fd, r;

    (void)state;
    snprintf(sparse, sizeof(sparse), "%s/sparse.img", dir);
    fd = open(sparse, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    r = ftruncate(fd, (off_t)8 << 40);
    close(fd);
    if (r < 0)
        skip(); /* the file system has no files that large */
    assert_int_equal(fl_reencrypt_preflight(sparse, NULL, true, &why), -ENOSPC);
    assert_non_null(strstr(why.text, "no space left for it"));
    assert_non_null(strstr(why.text, "8388608 MiB more"));
    unlink(sparse);
}

static void test_size_and_rate(void **state)
{
    uint64_t rate = 0;

    (void)state;
    assert_int_equal(fl_reencrypt_data_size(img, 16384), 1048576 - 16384);
    assert_int_equal(fl_reencrypt_data_size(img, 2 << 20), 0);
    assert_int_equal(fl_reencrypt_data_size("/nonexistent", 0), 0);
    assert_int_equal(fl_reencrypt_measure(img, 16384, &rate), 0);
    assert_true(rate > 0);
    assert_int_equal(fl_reencrypt_measure(img, 2 << 20, &rate), -EINVAL);
    assert_int_equal(fl_reencrypt_measure("/nonexistent", 0, &rate), -ENOENT);
}

static int setup(void **state)
{
    static char buf[1 << 20];
    int fd;

    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(img, sizeof(img), "%s/v.img", dir);
    memset(buf, 0x5a, sizeof(buf));
    fd = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) || fsync(fd) < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predict_ids),    cmocka_unit_test(test_check_uuid),
        cmocka_unit_test(test_preflight_lock), cmocka_unit_test(test_preflight_room),
        cmocka_unit_test(test_size_and_rate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
