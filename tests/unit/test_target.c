/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/target.c: the lock migrate and reencrypt share (a writer excludes every other
 * run, a dry run excludes writers only), the room a sparse image needs to be rewritten. Read-only
 * loop devices and immutable files are tested end to end (tests/e2e/test-reencrypt-refuse.sh,
 * test-migrate-trust.sh): they need root and a file system with attributes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "target.h"

static char dir[] = "/tmp/fl-test-target.XXXXXX";
static char img[64];

static void test_lock_excludes(void **state)
{
    int w, r1, r2;

    (void)state;
    w = fl_target_lock(img, FL_TARGET_WRITE);
    assert_true(w >= 0);
    /* a second writer, a dry run and a look: all refused while a run writes */
    assert_int_equal(fl_target_lock(img, FL_TARGET_WRITE), -EBUSY);
    assert_int_equal(fl_target_lock(img, FL_TARGET_PLAN), -EBUSY);
    assert_int_equal(fl_target_lock(img, FL_TARGET_READ), -EBUSY);
    close(w);
    /* dry runs share; a writer waits for them */
    r1 = fl_target_lock(img, FL_TARGET_PLAN);
    r2 = fl_target_lock(img, FL_TARGET_READ);
    assert_true(r1 >= 0);
    assert_true(r2 >= 0);
    assert_int_equal(fl_target_lock(img, FL_TARGET_WRITE), -EBUSY);
    close(r1);
    close(r2);
    w = fl_target_lock(img, FL_TARGET_WRITE);
    assert_true(w >= 0);
    close(w);
}

static void test_lock_errors(void **state)
{
    char missing[96];

    (void)state;
    snprintf(missing, sizeof(missing), "%s/missing.img", dir);
    assert_int_equal(fl_target_lock(missing, FL_TARGET_PLAN), -ENOENT);
    assert_int_equal(fl_target_lock(dir, FL_TARGET_WRITE), -EISDIR);
}

static void test_writable(void **state)
{
    int fd = open(img, O_RDONLY | O_CLOEXEC);
    int p[2];

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(fl_target_writable(fd), 0); /* a plain file in /tmp, opened read-only */
    close(fd);
    assert_int_equal(pipe(p), 0);
    assert_int_equal(fl_target_writable(p[0]), 0); /* neither a file nor a device: nothing to ask */
    close(p[0]);
    close(p[1]);
}

static void test_room(void **state)
{
    char sparse[96];
    uint64_t need = 0, avail = 0;
    int fd, r;

    (void)state;
    /* fully allocated: rewriting it needs no new block */
    assert_int_equal(fl_target_room(img, &need, &avail), 0);
    assert_int_equal(fl_target_room(dir, &need, &avail), 0);
    /* 8 TiB of holes: more than /tmp has */
    snprintf(sparse, sizeof(sparse), "%s/sparse.img", dir);
    fd = open(sparse, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    r = ftruncate(fd, (off_t)8 << 40);
    close(fd);
    if (r < 0)
        skip(); /* the file system has no files that large */
    assert_int_equal(fl_target_room(sparse, &need, &avail), -ENOSPC);
    assert_true(need > ((uint64_t)8 << 40) - 4096);
    assert_true(avail < need);
    assert_false(fl_target_fs_full(sparse)); /* /tmp has room, just not that much */
    unlink(sparse);
}

static int setup(void **state)
{
    char buf[65536] = {1};
    int fd;

    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(img, sizeof(img), "%s/v.img", dir);
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
        cmocka_unit_test(test_lock_excludes),
        cmocka_unit_test(test_lock_errors),
        cmocka_unit_test(test_writable),
        cmocka_unit_test(test_room),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
