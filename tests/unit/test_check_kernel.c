/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/check-kernel.c on fixture trees: the kernel check (fips_enabled, fips= on the
 * command line) and /etc/system-fips.
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

#include "fixture-root.h"
#include "host-internal.h"
#include "fipsluks/host.h"
#include "fipsluks/provision.h"

static void kernel(const char *enabled, const char *cmdline, enum fl_check_status want, const char *needle)
{
    struct fl_check c;
    char path[1024];

    snprintf(path, sizeof(path), "%s/proc/sys/crypto/fips_enabled", root);
    unlink(path);
    if (enabled)
        write_file("/proc/sys/crypto/fips_enabled", enabled);
    write_file("/proc/cmdline", cmdline);
    assert_int_equal(fl_check_kernel(root, &c), 0);
    assert_string_equal(c.id, "kernel");
    if (c.status != want || !strstr(c.message, needle))
        fail_msg("%s / %s: got %s: %s", enabled ? enabled : "(none)", cmdline, fl_check_status_name(c.status),
                 c.message);
    fl_check_clear(&c);
}

static void test_kernel(void **state)
{
    kernel("1\n", "ro quiet fips=1\n", FL_CHECK_PASS, "fips_enabled=1, fips=1 on the command line");
    kernel("1\n", "ro quiet\n", FL_CHECK_WARN, "fips=1 is not on its command line");
    kernel("0\n", "ro fips=1 quiet\n", FL_CHECK_FAIL, "fips=1 is on the command line, but fips_enabled=0");
    kernel("0\n", "ro quiet\n", FL_CHECK_FAIL, "not in FIPS mode");
    kernel("0\n", "fips=1 fips=0\n", FL_CHECK_FAIL, "fips= has another value"); /* the last one counts */
    kernel(NULL, "fips=1\n", FL_CHECK_FAIL, "built without CONFIG_CRYPTO_FIPS");
    kernel("x\n", "fips=1\n", FL_CHECK_FAIL, "holds neither 0 nor 1");
    /* arguments after "--" belong to init */
    kernel("1\n", "ro -- fips=1\n", FL_CHECK_WARN, "not on its command line");
}

/* Below a root, fips=1 configured for the next boot (what a playbook sets) is a warning, pending a
 * reboot, with the file as evidence; not a pass. */
static void test_kernel_pending(void **state)
{
    struct fl_check c;

    write_file("/oem/grub.cfg", "set oem_id=\"qemu\"\nset linux_append=\"$linux_append fips=1\"\n");
    kernel("0\n", "ro quiet\n", FL_CHECK_WARN,
           "configured for the next boot (/oem/grub.cfg): pending a reboot");
    assert_int_equal(fl_check_kernel(root, &c), 0);
    assert_evidence(&c, "/oem/grub.cfg: fips=1 for the next boot");
    assert_remedy(&c, "reboot, then check again");
    fl_check_clear(&c);
    /* the running kernel's state still decides when it says something else */
    kernel("1\n", "ro fips=1\n", FL_CHECK_PASS, "fips_enabled=1, fips=1 on the command line");
    kernel("0\n", "ro fips=1\n", FL_CHECK_FAIL, "fips=1 is on the command line, but fips_enabled=0");
    write_file("/oem/grub.cfg", "set linux_append=\"$linux_append fips=0\"\n");
    kernel("0\n", "ro quiet\n", FL_CHECK_FAIL, "not in FIPS mode");
    write_file("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"quiet fips=1\"\n");
    kernel("0\n", "ro quiet\n", FL_CHECK_WARN, "configured for the next boot (/etc/default/grub)");
}

static void test_system_fips(void **state)
{
    struct fl_check c;

    /* a warning with the reason: current cryptsetup does not read it (issue 13) */
    assert_int_equal(fl_check_system_fips(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_WARN);
    assert_string_equal(c.message,
                        "/etc/system-fips does not exist: the FIPS guide creates it for older tools "
                        "that look for it (cryptsetup >= 2.5 does not read it, RHEL 9 dropped it)");
    assert_null(strstr(c.message, "cryptsetup and other tools that look for it do not see"));
    assert_remedy(&c, "touch /etc/system-fips");
    fl_check_clear(&c);
    write_file("/etc/system-fips", "");
    assert_int_equal(fl_check_system_fips(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_null(c.remedy);
    fl_check_clear(&c);
}

/* The FIPS state scan's metrics carry: the kernel's mode, and each switch that makes it pending. */
static void test_fips_state(void **state)
{
    struct fl_fips_state s;

    /* nothing readable: mode unknown, nothing pending */
    assert_int_equal(fl_fips_state_read(root, &s), 0);
    assert_int_equal(s.mode, -1);
    assert_false(fl_fips_state_pending(&s));

    write_file("/proc/sys/crypto/fips_enabled", "0\n");
    write_file("/proc/cmdline", "ro quiet\n");
    assert_int_equal(fl_fips_state_read(root, &s), 0);
    assert_int_equal(s.mode, 0);
    assert_false(s.cmdline || s.system_fips || s.openssl);
    assert_false(fl_fips_state_pending(&s));

    /* each switch alone makes it pending */
    write_file("/etc/system-fips", "");
    assert_int_equal(fl_fips_state_read(root, &s), 0);
    assert_true(s.system_fips && !s.cmdline && !s.openssl);
    assert_true(fl_fips_state_pending(&s));
    unlink(strcat(strcpy((char[1024]){0}, root), "/etc/system-fips"));

    write_file("/etc/ssl/openssl.cnf", fl_provision_openssl_cnf());
    write_file("/etc/ssl/fipsmodule.cnf", "[fips_sect]\nactivate = 1\nmodule-mac = 29:C8:49:23\n");
    assert_int_equal(fl_fips_state_read(root, &s), 0);
    assert_true(s.openssl && !s.system_fips && !s.cmdline);
    assert_true(fl_fips_state_pending(&s));
    unlink(strcat(strcpy((char[1024]){0}, root), "/etc/ssl/openssl.cnf"));

    write_file("/proc/cmdline", "ro fips=0 fips=1\n");
    assert_int_equal(fl_fips_state_read(root, &s), 0);
    assert_true(s.cmdline && !s.openssl && !s.system_fips);
    assert_int_equal(s.mode, 0);
    assert_true(fl_fips_state_pending(&s));

    /* in FIPS mode */
    write_file("/proc/sys/crypto/fips_enabled", "1\n");
    assert_int_equal(fl_fips_state_read(root, &s), 0);
    assert_int_equal(s.mode, 1);
}

/* The next boot's command line: pending before the reboot (RHEL's fips-mode-setup --enable changes
 * the boot loader entries and nothing /proc shows). */
static void next_boot(const char *path, const char *text, bool want)
{
    struct fl_fips_state s;
    char full[1024];

    write_file(path, text);
    assert_int_equal(fl_fips_state_read(root, &s), 0);
    if (s.next_boot != want || fl_fips_state_pending(&s) != want)
        fail_msg("%s: %s: next_boot %d, want %d", path, text, s.next_boot, want);
    snprintf(full, sizeof(full), "%s%s", root, path);
    unlink(full);
}

static void test_fips_state_next_boot(void **state)
{
    write_file("/proc/sys/crypto/fips_enabled", "0\n");
    write_file("/proc/cmdline", "ro quiet\n");
    next_boot("/boot/loader/entries/a-5.14.0.conf",
              "title Red Hat\nlinux /vmlinuz\noptions root=/dev/vda2 ro fips=1 boot=UUID=x\n", true);
    next_boot("/boot/loader/entries/a-5.14.0.conf", "title Red Hat\noptions root=/dev/vda2 ro\n", false);
    next_boot("/boot/loader/entries/a-5.14.0.conf", "title x\noptions fips=1 fips=0\n", false);
    /* not an entry: another suffix */
    next_boot("/boot/loader/entries/a.conf.rpmsave", "options fips=1\n", false);
    next_boot("/boot/grub2/grubenv", "# GRUB Environment Block\nkernelopts=root=/dev/vda2 ro fips=1\n", true);
    next_boot("/etc/kernel/cmdline", "root=/dev/vda2 fips=1\n", true);
    next_boot("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"quiet fips=1\"\n", true);
    next_boot("/etc/default/grub", "GRUB_CMDLINE_LINUX_DEFAULT='quiet fips=1'\n", true);
    next_boot("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"quiet\"\n# GRUB_CMDLINE_LINUX=\"fips=1\"\n", false);
    next_boot("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"nofips=1\"\n", false);
    /* Flatcar: linux_append in the OEM partition's grub.cfg (indented inside an if, too) */
    next_boot("/oem/grub.cfg", "set oem_id=\"qemu\"\nset linux_append=\"$linux_append fips=1\"\n", true);
    next_boot("/oem/grub.cfg", "if [ x = x ]; then\n\tset linux_append=\"fips=1\"\nfi\n", true);
    next_boot("/usr/share/oem/grub.cfg", "set linux_append=\"$linux_append fips=1\"\n", true);
    next_boot("/oem/grub.cfg", "set linux_append=\"$linux_append flatcar.autologin\"\n", false);
    next_boot("/oem/grub.cfg", "# set linux_append=\"fips=1\"\n", false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_kernel, fixture_fresh_root),
        cmocka_unit_test_setup(test_kernel_pending, fixture_fresh_root),
        cmocka_unit_test_setup(test_system_fips, fixture_fresh_root),
        cmocka_unit_test_setup(test_fips_state, fixture_fresh_root),
        cmocka_unit_test_setup(test_fips_state_next_boot, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
