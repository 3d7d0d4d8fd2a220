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

/* The safe order: volumes, ssh, OpenSSL (and what follows from it), the marker, kernel and reboot
 * last, whatever the report order; within a stage, report order. */
static void test_remedy_order(void **state)
{
    static const char *const ids[] = {FL_CHECK_KERNEL,         FL_CHECK_SYSTEM_FIPS,  FL_CHECK_OPENSSL_MODULE,
                                      FL_CHECK_OPENSSL_CONFIG, FL_CHECK_OPENSSL_LIVE, FL_CHECK_LIBCRYPTSETUP,
                                      FL_CHECK_SSHD,           FL_CHECK_SSH_CLIENT,   FL_CHECK_LUKS};
    static const char *const want[] = {
        FL_CHECK_LUKS,          FL_CHECK_SSHD,        FL_CHECK_OPENSSL_MODULE, FL_CHECK_OPENSSL_CONFIG,
        FL_CHECK_LIBCRYPTSETUP, FL_CHECK_SYSTEM_FIPS, FL_CHECK_KERNEL};
    struct fl_checks checks = {0};
    size_t order[sizeof(checks.items) / sizeof(checks.items[0])], n;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct fl_check *c = &checks.items[checks.n++];
        fl_check_init(c, ids[i]);
        assert_non_null(fl_remedy_step(ids[i]));
    }
    /* something to fix: kernel, openssl-module, openssl-config, libcryptsetup (fail), sshd and
     * system-fips (warn), luks (fail); openssl-live passes; ssh-client warns without a remedy */
    for (size_t i = 0; i < checks.n; i++) {
        struct fl_check *c = &checks.items[i];
        if (!strcmp(c->id, FL_CHECK_OPENSSL_LIVE))
            continue;
        fl_check_set(c,
                     !strcmp(c->id, FL_CHECK_SSHD) || !strcmp(c->id, FL_CHECK_SSH_CLIENT) ||
                             !strcmp(c->id, FL_CHECK_SYSTEM_FIPS)
                         ? FL_CHECK_WARN
                         : FL_CHECK_FAIL,
                     "x");
        if (strcmp(c->id, FL_CHECK_SSH_CLIENT))
            assert_int_equal(fl_check_remedy(c, "do it"), 0);
    }
    n = fl_remedy_order(&checks, order);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(checks.items[order[i]].id, want[i]);

    /* the stages, one by one: sshd and ssh before anything OpenSSL, the kernel alone last */
    assert_int_equal(fl_remedy_step(FL_CHECK_LUKS)->stage, FL_STAGE_VOLUMES);
    assert_int_equal(fl_remedy_step(FL_CHECK_SSHD)->stage, FL_STAGE_SSH);
    assert_int_equal(fl_remedy_step(FL_CHECK_SSH_CLIENT)->stage, FL_STAGE_SSH);
    assert_int_equal(fl_remedy_step(FL_CHECK_OPENSSL_MODULE)->stage, FL_STAGE_OPENSSL);
    assert_int_equal(fl_remedy_step(FL_CHECK_OPENSSL_CONFIG)->stage, FL_STAGE_OPENSSL);
    assert_int_equal(fl_remedy_step(FL_CHECK_OPENSSL_LIVE)->stage, FL_STAGE_OPENSSL);
    assert_int_equal(fl_remedy_step(FL_CHECK_LIBCRYPTSETUP)->stage, FL_STAGE_OPENSSL);
    assert_int_equal(fl_remedy_step(FL_CHECK_SYSTEM_FIPS)->stage, FL_STAGE_MARKER);
    assert_int_equal(fl_remedy_step(FL_CHECK_KERNEL)->stage, FL_STAGE_KERNEL);
    assert_true(FL_STAGE_VOLUMES < FL_STAGE_SSH && FL_STAGE_SSH < FL_STAGE_OPENSSL &&
                FL_STAGE_OPENSSL < FL_STAGE_MARKER && FL_STAGE_MARKER < FL_STAGE_KERNEL);
    /* only the kernel needs a reboot; every step says why it is where it is */
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const struct fl_remedy_step *step = fl_remedy_step(ids[i]);

        assert_int_equal(step->reboot, !strcmp(ids[i], FL_CHECK_KERNEL));
        assert_non_null(step->why);
        assert_true(strlen(step->why) > 20);
        assert_int_equal(fl_remedy_stage(ids[i]), step->stage);
    }
    /* sshd's reason names the lockout it prevents */
    assert_non_null(strstr(fl_remedy_step(FL_CHECK_SSHD)->why, "before OpenSSL's switch"));
    assert_non_null(strstr(fl_remedy_step(FL_CHECK_SSHD)->why, "loads openssl.cnf"));
    assert_null(fl_remedy_step("no-such-check"));
    assert_null(fl_remedy_step(NULL));
    assert_int_equal(fl_remedy_stage("no-such-check"), FL_STAGE_OTHER);
    fl_checks_clear(&checks);
}

/* A check the table does not know goes before the kernel and its reboot, after everything else;
 * nothing to fix, or a remedy-less warning, gives an empty order. */
static void test_remedy_order_unknown(void **state)
{
    static const char *const ids[] = {FL_CHECK_KERNEL, "no-such-check", FL_CHECK_OPENSSL_CONFIG,
                                      FL_CHECK_SSHD, FL_CHECK_LUKS};
    static const char *const want[] = {FL_CHECK_LUKS, FL_CHECK_SSHD, FL_CHECK_OPENSSL_CONFIG, "no-such-check",
                                       FL_CHECK_KERNEL};
    struct fl_checks checks = {0};
    size_t order[sizeof(checks.items) / sizeof(checks.items[0])], n;

    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        struct fl_check *c = &checks.items[checks.n++];
        fl_check_init(c, ids[i]);
        assert_int_equal(fl_check_set(c, FL_CHECK_PASS, "fine"), 0);
    }
    assert_int_equal(fl_remedy_order(&checks, order), 0);
    /* a pass with a remedy is not something to fix */
    assert_int_equal(fl_check_remedy(&checks.items[0], "do it"), 0);
    assert_int_equal(fl_remedy_order(&checks, order), 0);
    for (size_t i = 0; i < checks.n; i++) {
        assert_int_equal(fl_check_set(&checks.items[i], FL_CHECK_FAIL, "x"), 0);
        if (i)
            assert_int_equal(fl_check_remedy(&checks.items[i], "do it"), 0);
    }
    n = fl_remedy_order(&checks, order);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(checks.items[order[i]].id, want[i]);
    /* a skip is never in the order */
    assert_int_equal(fl_check_set(&checks.items[3], FL_CHECK_SKIP, "x"), 0);
    assert_int_equal(fl_remedy_order(&checks, order), n - 1);
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
        cmocka_unit_test(test_remedy_order_unknown),
        cmocka_unit_test_setup(test_check_all, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
