/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/host.c: the table of checks, the loop that runs them (on an empty fixture
 * root) and the safe order of remedies. The checks
 * themselves are tested in the file of their module (test_check_*.c), the readers in test_root.c,
 * test_openssl_conf.c and test_sshd_config.c.
 */
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

#include "check-record.h"
#include "fixture-root.h"
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

/* Every check of the table runs once, in report order, each into its own record; the count of
 * failures is the return value. On an empty root: what each check says of nothing. */
static void test_check_all(void **state)
{
    static const struct {
        const char *id;
        enum fl_check_status status;
    } want[] = {
        {FL_CHECK_KERNEL, FL_CHECK_FAIL},         {FL_CHECK_SYSTEM_FIPS, FL_CHECK_WARN},
        {FL_CHECK_OPENSSL_MODULE, FL_CHECK_FAIL}, {FL_CHECK_OPENSSL_CONFIG, FL_CHECK_FAIL},
        {FL_CHECK_OPENSSL_LIVE, FL_CHECK_PASS},   {FL_CHECK_LIBCRYPTSETUP, FL_CHECK_PASS},
        {FL_CHECK_SSHD, FL_CHECK_SKIP},           {FL_CHECK_SSH_CLIENT, FL_CHECK_SKIP},
        {FL_CHECK_LUKS, FL_CHECK_SKIP},
    };
    struct fl_checks checks = {0};
    int failed, n_fail = 0;

    failed = fl_host_check_all(root, &checks);
    assert_int_equal(checks.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < checks.n; i++) {
        const struct fl_check *c = &checks.items[i];

        assert_string_equal(c->id, want[i].id);
        assert_non_null(c->message);
        assert_non_null(fl_remedy_step(c->id));
        n_fail += c->status == FL_CHECK_FAIL;
        /* the live probe and libcryptsetup judge this process, not the root: not asserted */
        if (!strcmp(c->id, FL_CHECK_OPENSSL_LIVE) || !strcmp(c->id, FL_CHECK_LIBCRYPTSETUP))
            continue;
        if (c->status != want[i].status) {
            print_check(c);
            fail_msg("%s: %s, expected %s", c->id, fl_check_status_name(c->status),
                     fl_check_status_name(want[i].status));
        }
    }
    assert_int_equal(failed, n_fail);
    assert_evidence(&checks.items[3], "/etc/ssl/openssl.cnf: No such file or directory");
    fl_checks_clear(&checks);
    assert_int_equal(checks.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remedy_order),
        cmocka_unit_test_setup(test_check_all, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
