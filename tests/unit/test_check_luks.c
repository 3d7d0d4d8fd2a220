/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/check-luks.c on fixture trees: no volumes, no block devices, and real LUKS2
 * images (argon2id and PBKDF2 keyslots, made with libcryptsetup) as /dev/NAME below the root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <libcryptsetup.h>

#include "fixture-root.h"
#include "host-internal.h"
#include "fipsluks/host.h"

static void test_luks_skip_and_empty(void **state)
{
    struct fl_check c;

    assert_int_equal(fl_check_luks(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_SKIP);
    fl_check_clear(&c);
    write_file("/sys/class/block/vda/dev", "253:0\n");
    write_file("/dev/vda", "not luks");
    assert_int_equal(fl_check_luks(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_string_equal(c.message, "no LUKS volumes found");
    fl_check_clear(&c);
}

/* A LUKS2 image at root/@p rel (made with libcryptsetup, fast KDF settings): keyslot 0 with @p kdf. */
static void make_luks(const char *rel, const char *kdf)
{
    bool argon = strcmp(kdf, CRYPT_KDF_PBKDF2) != 0;
    struct crypt_pbkdf_type pbkdf = {.type = kdf,
                                     .hash = argon ? NULL : "sha256",
                                     .iterations = argon ? 4 : 1000,
                                     .max_memory_kb = argon ? 32768 : 0,
                                     .parallel_threads = argon ? 1 : 0,
                                     .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 p2 = {.pbkdf = &pbkdf, .sector_size = 512};
    struct crypt_device *cd;
    char path[1024];
    int fd;

    snprintf(path, sizeof(path), "%s%s", root, rel);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 20 << 20), 0);
    close(fd);
    assert_int_equal(crypt_init(&cd, path), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &p2), 0);
    assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 0, NULL, 64, "unit-secret", 11), 0);
    crypt_free(cd);
}

/* Real volumes below the root: judged by the policy, named as on the examined host. */
static void test_luks_volumes(void **state)
{
    struct fl_check c;

    write_file("/sys/class/block/vda/dev", "253:0\n");
    write_file("/sys/class/block/vdb/dev", "253:16\n");
    write_file("/sys/class/block/vdc/dev", "253:32\n");
    write_file("/dev/vdc", "not luks");
    make_luks("/dev/vda", CRYPT_KDF_ARGON2ID);
    make_luks("/dev/vdb", CRYPT_KDF_PBKDF2);
    /* not in /etc/crypttab: not opened at boot, a warning */
    assert_int_equal(fl_check_luks(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_string_equal(c.message, "2 LUKS volumes: 1 FIPS-compatible, 1 not compatible, 0 unreadable");
    assert_evidence(&c, "/dev/vda: LUKS2, NOT FIPS-compatible: FL-");
    assert_evidence(&c, "keyslot 0");
    assert_evidence(&c, "/dev/vda: not in /etc/crypttab: not opened at boot");
    assert_evidence(&c, "0 of 1 not compatible opened at boot");
    assert_evidence(&c, "/dev/vdb: LUKS2, FIPS-compatible (");
    assert_false(has_evidence(&c, root)); /* host paths, not the fixture's */
    assert_false(has_evidence(&c, "/dev/vdc"));
    assert_remedy(&c, "/dev/vda");
    assert_null(strstr(c.remedy, root));
    assert_remedy(&c, "fipsluks scan shows every finding");
    fl_check_clear(&c);

    /* in crypttab with noauto: still a warning */
    write_file("/etc/crypttab", "data /dev/vda none noauto\n");
    assert_int_equal(fl_check_luks(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_evidence(&c, "/dev/vda: in /etc/crypttab as data (line 1), key file none (keyslot 0: none)");
    assert_evidence(&c, "/dev/vda: noauto: not opened at boot");
    fl_check_clear(&c);

    /* opened at boot, with a key file that does not open it: fails, the keyslot's own remedy */
    write_file("/etc/luks/data", "wrong-secret");
    write_file("/etc/crypttab", "data /dev/vda /etc/luks/data\n");
    assert_int_equal(fl_check_luks(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(
        &c, "/dev/vda: in /etc/crypttab as data (line 1), key file /etc/luks/data (keyslot 0: fails)");
    assert_evidence(&c, "/dev/vda: opened at boot: in FIPS mode the boot can stop there");
    assert_remedy(&c, "fipsluks migrate --key-slot 0 /dev/vda");
    assert_null(strstr(c.remedy, "--crypttab"));
    fl_check_clear(&c);

    /* the key file opens it: migrate --crypttab converts it unattended */
    write_file("/etc/luks/data", "unit-secret");
    assert_int_equal(fl_check_luks(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "(keyslot 0: opens)");
    assert_remedy(&c, "fipsluks migrate --crypttab");
    assert_null(strstr(c.remedy, "--key-slot 0"));
    fl_check_clear(&c);

    /* a crypttab that cannot be read: every volume counts as opened at boot */
    assert_int_equal(unlink(strcat(strcpy((char[1024]){0}, root), "/etc/crypttab")), 0);
    assert_int_equal(mkfifo(strcat(strcpy((char[1024]){0}, root), "/etc/crypttab"), 0644), 0);
    assert_int_equal(fl_check_luks(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "/etc/crypttab: cannot read: is not a regular file");
    fl_check_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_luks_skip_and_empty, fixture_fresh_root),
        cmocka_unit_test_setup(test_luks_volumes, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
