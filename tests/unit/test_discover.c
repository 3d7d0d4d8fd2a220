/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/discover.c: walking a directory (regular files and block devices only,
 * sorted, links not followed, pseudo file systems not read) and finding LUKS devices below a
 * sysroot: /sys/class/block names, /dev/NAME resolved inside the root, real LUKS1 and LUKS2 images
 * made with libcryptsetup found, everything else (not LUKS, a FIFO, a link loop) left alone.
 */
#include <dirent.h>
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>

#include "fipsluks/discover.h"
#include "fixture.h"

static char dir[] = "/tmp/fl-test-discover.XXXXXX";

static char *path_in(const char *name)
{
    static char buf[4][256];
    static int i;
    char *p = buf[i++ % 4];

    snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
    return p;
}

/* A LUKS image at @p path, formatted with fast KDF settings. */
static void make_luks(const char *path, const char *type)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 p2 = {.pbkdf = &pbkdf, .sector_size = 512};
    struct crypt_params_luks1 p1 = {.hash = "sha256"};
    struct crypt_device *cd;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 20 << 20), 0);
    close(fd);
    assert_int_equal(crypt_init(&cd, path), 0);
    assert_int_equal(crypt_set_pbkdf_type(cd, &pbkdf), 0);
    assert_int_equal(crypt_format(cd, type, "aes", "xts-plain64", NULL, NULL, 64,
                                  strcmp(type, CRYPT_LUKS1) ? (void *)&p2 : (void *)&p1),
                     0);
    crypt_free(cd);
}

/* readdir(), as on a file system that does not say the type of an entry when hide_types is set */
static bool hide_types;
struct dirent *__real_readdir(DIR *d);
struct dirent *__wrap_readdir(DIR *d);
struct dirent *__wrap_readdir(DIR *d)
{
    struct dirent *e = __real_readdir(d);

    if (e && hide_types)
        e->d_type = DT_UNKNOWN;
    return e;
}

static void test_walk_directory(void **state)
{
    struct fl_found_list list = {0};
    char sub[300], cmd[1024];

    /* a symbolic link to / must not be followed */
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s/walk/b/c' && touch '%s/walk/b/c/z' '%s/walk/a' '%s/walk/b/y' && "
             "ln -s / '%s/walk/loop'",
             dir, dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(sub, sizeof(sub), "%s/walk", dir);
    assert_int_equal(fl_walk_directory(sub, 0, &list), 3);
    assert_int_equal(list.n, 3);
    assert_string_equal(list.items[0].path + strlen(sub), "/a");
    assert_string_equal(list.items[1].path + strlen(sub), "/b/c/z");
    assert_string_equal(list.items[2].path + strlen(sub), "/b/y");
    for (size_t i = 0; i < list.n; i++)
        assert_int_equal(list.items[i].error, 0);
    fl_found_clear(&list);
    assert_int_equal(fl_walk_directory(path_in("nope"), 0, &list), 1);
    assert_int_equal(list.items[0].error, -ENOENT);
    fl_found_clear(&list);
}

/* Only regular files and block devices are listed; FIFOs, sockets, character devices and links are not. */
static void test_walk_special_files(void **state)
{
    struct fl_found_list list = {0};
    char sub[300], cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s/special' && mkfifo '%s/special/fifo' && touch '%s/special/plain' && "
             "ln -s plain '%s/special/link'",
             dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(sub, sizeof(sub), "%s/special/null", dir);
    (void)mknod(sub, S_IFCHR | 0600, makedev(1, 3)); /* needs root; without it the FIFO still counts */
    snprintf(sub, sizeof(sub), "%s/special", dir);
    assert_int_equal(fl_walk_directory(sub, 0, &list), 1);
    assert_string_equal(list.items[0].path + strlen(sub), "/plain");
    assert_null(list.items[0].skipped);
    fl_found_clear(&list);
}

/* Without types from readdir(), each entry's lstat() decides: the same files, the same refusals. */
static void test_walk_without_types(void **state)
{
    char sub[300];

    /* the trees of the two tests, made again */
    snprintf(sub, sizeof(sub), "%s/walk", dir);
    fixture_rmtree(sub);
    snprintf(sub, sizeof(sub), "%s/special", dir);
    fixture_rmtree(sub);
    hide_types = true;
    test_walk_directory(state);
    test_walk_special_files(state);
    hide_types = false;
}

/* Pseudo file systems are not walked, the starting directory included, and say why. */
static void test_walk_pseudo_fs(void **state)
{
    struct fl_found_list list = {0};
    const char *fs = NULL;

    assert_int_equal(fl_walk_directory("/proc", 0, &list), 1);
    assert_string_equal(list.items[0].path, "/proc");
    assert_int_equal(list.items[0].error, 0);
    assert_string_equal(list.items[0].skipped, "on a proc pseudo file system: not read");
    fl_found_clear(&list);
    assert_int_equal(fl_path_on_pseudo_fs("/proc/kmsg", &fs), 1);
    assert_string_equal(fs, "proc");
    if (fl_path_on_pseudo_fs("/sys", &fs) == 1)
        assert_string_equal(fs, "sysfs");
    assert_int_equal(fl_path_on_pseudo_fs(dir, &fs), 0);
    assert_int_equal(fl_path_on_pseudo_fs(path_in("nope"), &fs), -ENOENT);
}

static void test_discover_below_sysroot(void **state)
{
    static const char *const names[] = {"sda", "vda", "vdb", "vdc", "vdd", "vde", "vdf", "zram0"};
    struct fl_found_list list = {0};
    char sys[300], path[400], want[400];

    snprintf(sys, sizeof(sys), "%s/sysroot", dir);
    assert_int_equal(mkdir(sys, 0755), 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "/sys/class/block/%s/dev", names[i]);
        fixture_write(sys, path, "254:0\n");
    }
    fixture_write(sys, "/dev/vdb", "not luks, only text");
    fixture_write(sys, "/images/keep", "");
    make_luks(path_in("sysroot/dev/sda"), CRYPT_LUKS1);
    make_luks(path_in("sysroot/dev/vda"), CRYPT_LUKS2);
    make_luks(path_in("sysroot/images/disk.img"), CRYPT_LUKS2);
    assert_int_equal(mkfifo(path_in("sysroot/dev/vdc"), 0600), 0); /* never opened: it would block */
    assert_int_equal(symlink("/images/disk.img", path_in("sysroot/dev/vdd")), 0); /* inside the root */
    assert_int_equal(symlink("/dev/vde", path_in("sysroot/dev/vde")), 0);         /* a loop */
    make_luks(path_in("outside.img"), CRYPT_LUKS2);
    snprintf(path, sizeof(path), "../../../../../../../../..%s", path_in("outside.img"));
    assert_int_equal(symlink(path, path_in("sysroot/dev/vdf")), 0); /* ".." stops at the root */
    /* zram0: no /dev entry */

    assert_int_equal(fl_discover_luks_devices(sys, &list), 3);
    assert_int_equal(list.n, 3);
    snprintf(want, sizeof(want), "%s/dev/sda", sys);
    assert_string_equal(list.items[0].path, want);
    snprintf(want, sizeof(want), "%s/dev/vda", sys);
    assert_string_equal(list.items[1].path, want);
    snprintf(want, sizeof(want), "%s/images/disk.img", sys);
    assert_string_equal(list.items[2].path, want);
    for (size_t i = 0; i < list.n; i++) {
        assert_int_equal(list.items[i].error, 0);
        assert_null(list.items[i].skipped);
    }
    fl_found_clear(&list);
    assert_int_equal(list.n, 0);
    assert_null(list.items);

    /* no /sys/class/block below the root: the errno */
    assert_int_equal(fl_discover_luks_devices(path_in("nothing-here"), &list), -ENOENT);
    assert_int_equal(list.n, 0);
}

static void test_found_add(void **state)
{
    struct fl_found_list list = {0};
    char name[32];

    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "/dev/x%d", i);
        assert_int_equal(fl_found_add(&list, name, i % 2 ? -EACCES : 0), 0);
    }
    assert_int_equal(list.n, 100);
    assert_true(list.allocated >= 100);
    assert_string_equal(list.items[0].path, "/dev/x0");
    assert_string_equal(list.items[99].path, "/dev/x99");
    assert_int_equal(list.items[99].error, -EACCES);
    assert_int_equal(list.items[98].error, 0);
    assert_null(list.items[99].skipped);
    fl_found_clear(&list);
    assert_int_equal(list.n, 0);
}

static void test_fd_on_pseudo_fs(void **state)
{
    const char *fs = NULL;
    int fd = open("/proc/self/status", O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fl_fd_on_pseudo_fs(fd, &fs), 1);
    assert_string_equal(fs, "proc");
    close(fd);
    fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    fs = NULL;
    assert_int_equal(fl_fd_on_pseudo_fs(fd, &fs), 0);
    close(fd);
    assert_int_equal(fl_fd_on_pseudo_fs(-1, &fs), -EBADF);
}

static int setup(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    return fixture_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_directory),     cmocka_unit_test(test_walk_special_files),
        cmocka_unit_test(test_walk_pseudo_fs),     cmocka_unit_test(test_discover_below_sysroot),
        cmocka_unit_test(test_found_add),          cmocka_unit_test(test_fd_on_pseudo_fs),
        cmocka_unit_test(test_walk_without_types),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
