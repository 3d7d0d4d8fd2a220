/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/format-safety.c: signature probing on real small files (zeroed, ext4, swap,
 * an MBR and an MD RAID member, a LUKS2 volume made with libcryptsetup with both its headers), the
 * in-use check, and the target opened once (its signatures read through the open descriptor).
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

#include "fipsluks/format.h"
#include "format-target.h"
#include "fixture.h"

#define MIB (1024u * 1024u)

static char dir[] = "/tmp/fl-test-format-safety.XXXXXX";
static char img[sizeof(dir) + 32];

/* A fresh image of @p size bytes, all zero. */
static void make_image(uint64_t size)
{
    fixture_image(img, size);
}

static void pwrite_at(const void *buf, size_t len, off_t off)
{
    fixture_pwrite(img, buf, len, off);
}

/* Run the shell command @p prefix with the image as its last argument, quietly. */
static int run_on_image(const char *prefix)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s '%s' >/dev/null 2>&1", prefix, img);
    return system(cmd);
}

static void test_probe_zeroed(void **state)
{
    struct fl_signatures s = {0};

    make_image(4 * MIB);
    assert_int_equal(fl_format_probe_signatures(img, &s), 0);
    assert_int_equal(s.n, 0);
    fl_signatures_clear(&s);
    assert_int_equal(fl_format_probe_signatures("/nonexistent/fl-test", &s), -ENOENT);
}

static void test_probe_ext4(void **state)
{
    struct fl_signatures s = {0};

    make_image(8 * MIB);
    if (run_on_image("mkfs.ext4 -q -F -L fl-data") != 0)
        skip();
    assert_int_equal(fl_format_probe_signatures(img, &s), 1);
    assert_string_equal(s.items[0].type, "ext4");
    assert_string_equal(s.items[0].usage, "filesystem");
    assert_string_equal(s.items[0].label, "fl-data");
    assert_non_null(s.items[0].uuid);
    assert_int_equal(s.items[0].offset, 0x438); /* s_magic in the superblock at 1024 */
    assert_int_equal(s.items[0].magic_len, 2);
    fl_signatures_clear(&s);
    assert_null(s.items);
}

static void test_probe_swap(void **state)
{
    struct fl_signatures s = {0};

    make_image(4 * MIB);
    if (run_on_image("mkswap") != 0)
        skip();
    assert_int_equal(fl_format_probe_signatures(img, &s), 1);
    assert_string_equal(s.items[0].type, "swap");
    assert_int_equal(s.items[0].magic_len, 10); /* SWAPSPACE2 at the end of the first page */
    assert_int_equal(s.items[0].offset, (uint64_t)sysconf(_SC_PAGESIZE) - 10);
    fl_signatures_clear(&s);
}

static void test_probe_partition_table_and_raid(void **state)
{
    /* An MBR with one Linux partition at 1 MiB, 2 MiB long. */
    static const unsigned char entry[16] = {0x00, 0, 0, 0, 0x83, 0, 0, 0, 0x00, 0x08, 0, 0, 0x00, 0x10, 0, 0};
    static const unsigned char sig[2] = {0x55, 0xaa};
    static const unsigned char md_magic[4] = {0xfc, 0x4e, 0x2b, 0xa9}; /* 0xa92b4efc, little-endian */
    struct fl_signatures s = {0};
    const uint64_t size = 40 * MIB, md = (size & ~(uint64_t)0xffff) - 0x10000; /* md 0.90: last 64 KiB */

    make_image(size);
    pwrite_at(entry, sizeof(entry), 446);
    pwrite_at(sig, sizeof(sig), 510);
    pwrite_at(md_magic, sizeof(md_magic), (off_t)md);
    assert_int_equal(fl_format_probe_signatures(img, &s), 2);
    /* superblocks are listed before partition tables */
    assert_string_equal(s.items[0].type, "linux_raid_member");
    assert_string_equal(s.items[0].usage, "raid");
    assert_int_equal(s.items[0].offset, md);
    assert_int_equal(s.items[0].magic_len, 4);
    assert_string_equal(s.items[1].type, "dos");
    assert_string_equal(s.items[1].usage, "partition table");
    assert_int_equal(s.items[1].offset, 510);
    assert_int_equal(s.items[1].magic_len, 2);
    fl_signatures_clear(&s);
}

/* A LUKS2 volume: both header copies are signatures (wipefs lists both), with the volume's UUID. */
static void test_probe_luks2(void **state)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 p2 = {.pbkdf = &pbkdf, .sector_size = 512};
    struct fl_signatures s = {0};
    struct crypt_device *cd;
    char uuid[40];

    make_image(20 * MIB);
    assert_int_equal(crypt_init(&cd, img), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &p2), 0);
    snprintf(uuid, sizeof(uuid), "%s", crypt_get_uuid(cd));
    crypt_free(cd);
    assert_int_equal(fl_format_probe_signatures(img, &s), 2);
    for (size_t i = 0; i < s.n; i++) {
        assert_string_equal(s.items[i].type, "crypto_LUKS");
        assert_string_equal(s.items[i].usage, "crypto");
        assert_string_equal(s.items[i].uuid, uuid);
        assert_int_equal(s.items[i].magic_len, 6);
    }
    /* the primary header at 0 and the secondary after the 16 KiB metadata area, in either order */
    assert_true((s.items[0].offset == 0 && s.items[1].offset == 16384) ||
                (s.items[0].offset == 16384 && s.items[1].offset == 0));
    fl_signatures_clear(&s);
    assert_int_equal(s.n, 0);
}

/* The open target: its signatures and its business come from the descriptor, not the path. */
static void test_open_target_signatures(void **state)
{
    static const unsigned char sig[2] = {0x55, 0xaa};
    struct fl_format_target *t = NULL;
    struct fl_signatures s = {0};
    char moved[sizeof(dir) + 32];
    struct fl_why why = {"unset"};

    make_image(4 * MIB);
    pwrite_at(sig, sizeof(sig), 510);
    assert_int_equal(fl_format_open(img, &t, &why), 0);
    assert_true(fl_why_empty(&why));
    assert_string_equal(fl_format_target_path(t), img);
    assert_int_equal(fl_format_target_busy(t, &why), 0);
    assert_true(fl_why_empty(&why));
    /* renamed away and replaced by a zeroed file: the open target still has its MBR signature */
    snprintf(moved, sizeof(moved), "%s/moved.img", dir);
    assert_int_equal(rename(img, moved), 0);
    make_image(4 * MIB);
    assert_int_equal(fl_format_signatures(t, &s), 1);
    assert_string_equal(s.items[0].type, "dos");
    assert_int_equal(s.items[0].offset, 510);
    fl_signatures_clear(&s);
    assert_int_equal(fl_format_probe_signatures(img, &s), 0);
    fl_format_close(t);
    unlink(moved);
}

static void test_check_busy(void **state)
{
    struct fl_why why = {"unset"};
    char fifo[sizeof(dir) + 32];

    make_image(MIB);
    assert_int_equal(fl_format_check_busy(img, &why), 0);
    assert_true(fl_why_empty(&why));
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(fl_format_check_busy(fifo, NULL), -ENOTBLK); /* not opened: it would block */
    unlink(fifo);
    assert_int_equal(fl_format_check_busy(dir, NULL), -ENOTBLK);
    assert_int_equal(fl_format_check_busy("/nonexistent/fl-test", &why), -ENOENT);
    assert_true(fl_why_empty(&why));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_zeroed), cmocka_unit_test(test_probe_ext4),
        cmocka_unit_test(test_probe_swap),   cmocka_unit_test(test_probe_partition_table_and_raid),
        cmocka_unit_test(test_probe_luks2),  cmocka_unit_test(test_open_target_signatures),
        cmocka_unit_test(test_check_busy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
