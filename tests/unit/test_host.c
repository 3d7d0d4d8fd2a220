/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/host.c: the table of checks and the safe order of remedies. The checks
 * themselves are tested in the file of their module (test_check_*.c), the readers in test_root.c,
 * test_openssl_conf.c and test_sshd_config.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "check-record.h"
#include "fipsluks/host.h"
#include "host-internal.h"

/* The safe order: volumes, OpenSSL, ssh, kernel and reboot last, whatever the report order. */
static void test_remedy_order(void **state)
{
    static const char *const ids[] = {FL_CHECK_KERNEL,         FL_CHECK_SYSTEM_FIPS,  FL_CHECK_OPENSSL_MODULE,
                                      FL_CHECK_OPENSSL_CONFIG, FL_CHECK_OPENSSL_LIVE, FL_CHECK_LIBCRYPTSETUP,
                                      FL_CHECK_SSHD,           FL_CHECK_SSH_CLIENT,   FL_CHECK_LUKS};
    static const char *const want[] = {FL_CHECK_LUKS, FL_CHECK_OPENSSL_CONFIG, FL_CHECK_LIBCRYPTSETUP,
                                       FL_CHECK_SSHD, FL_CHECK_KERNEL};
    struct fl_checks checks = {0};
    size_t order[sizeof(checks.items) / sizeof(checks.items[0])], n;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct fl_check *c = &checks.items[checks.n++];
        fl_check_init(c, ids[i]);
        assert_non_null(fl_remedy_step(ids[i]));
    }
    /* something to fix: kernel, openssl-config, libcryptsetup (fail), sshd (warn), luks (fail);
     * system-fips passes; ssh-client warns without a remedy */
    for (size_t i = 0; i < checks.n; i++) {
        struct fl_check *c = &checks.items[i];
        if (!strcmp(c->id, FL_CHECK_SYSTEM_FIPS) || !strcmp(c->id, FL_CHECK_OPENSSL_MODULE) ||
            !strcmp(c->id, FL_CHECK_OPENSSL_LIVE))
            continue;
        fl_check_set(c,
                     !strcmp(c->id, FL_CHECK_SSHD) || !strcmp(c->id, FL_CHECK_SSH_CLIENT) ? FL_CHECK_WARN
                                                                                          : FL_CHECK_FAIL,
                     "x");
        if (strcmp(c->id, FL_CHECK_SSH_CLIENT))
            assert_int_equal(fl_check_remedy(c, "do it"), 0);
    }
    n = fl_remedy_order(&checks, order);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(checks.items[order[i]].id, want[i]);
    assert_true(fl_remedy_step(FL_CHECK_KERNEL)->reboot);
    assert_false(fl_remedy_step(FL_CHECK_LUKS)->reboot);
    assert_int_equal(fl_remedy_step(FL_CHECK_LUKS)->stage, 1);
    assert_int_equal(fl_remedy_step(FL_CHECK_KERNEL)->stage, 4);
    assert_null(fl_remedy_step("no-such-check"));
    fl_checks_clear(&checks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remedy_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
