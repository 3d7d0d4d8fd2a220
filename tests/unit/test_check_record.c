/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/check-record.c: the record of one check (status, evidence, remedies and their
 * cap).
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
#include "check-record.h"

static void test_check_helpers(void **state)
{
    struct fl_check c;

    fl_check_init(&c, "x");
    assert_int_equal(fl_check_remedy(&c, "one"), 0);
    assert_int_equal(fl_check_remedy(&c, "two"), 0);
    assert_int_equal(fl_check_remedy(&c, "one"), 0);
    assert_int_equal(fl_check_remedy(&c, "on"), 0);
    assert_string_equal(c.remedy, "one\ntwo\non");
    /* a newline inside one action (from a file name) does not start another */
    assert_int_equal(fl_check_remedy(&c, "fix %s line 2", "/a\nb.conf"), 0);
    assert_string_equal(c.remedy, "one\ntwo\non\nfix /a\\x0ab.conf line 2");
    fl_check_worsen(&c, FL_CHECK_WARN);
    fl_check_worsen(&c, FL_CHECK_PASS);
    assert_int_equal(c.status, FL_CHECK_WARN);
    for (int i = 0; i < 20; i++)
        assert_int_equal(fl_check_evidence(&c, "line %d", i), 0);
    assert_int_equal(c.n_evidence, 20);
    assert_string_equal(c.evidence[19], "line 19");
    fl_check_clear(&c);
    assert_string_equal(c.id, "x");
    assert_null(c.remedy);
    assert_string_equal(fl_check_status_name(FL_CHECK_SKIP), "skip");

    /* remedies are capped: 64 lines, then one line that says so, then nothing more */
    fl_check_init(&c, "x");
    for (int i = 0; i < 200; i++)
        assert_int_equal(fl_check_remedy(&c, "fix line %d", i), 0);
    {
        size_t lines = 1;
        for (const char *p = c.remedy; (p = strchr(p, '\n')); p++)
            lines++;
        assert_int_equal(lines, 65);
    }
    assert_non_null(strstr(c.remedy, "fix line 63\n(more remedies not shown"));
    assert_null(strstr(c.remedy, "fix line 64"));
    fl_check_clear(&c);
}

/* Every status by name; set replaces the message; worsen only raises (pass < warn < fail). */
static void test_status_and_message(void **state)
{
    struct fl_check c;

    assert_string_equal(fl_check_status_name(FL_CHECK_PASS), "pass");
    assert_string_equal(fl_check_status_name(FL_CHECK_WARN), "warn");
    assert_string_equal(fl_check_status_name(FL_CHECK_FAIL), "fail");
    assert_string_equal(fl_check_status_name(FL_CHECK_SKIP), "skip");
    assert_string_equal(fl_check_status_name((enum fl_check_status)42), "unknown");

    fl_check_init(&c, "y");
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_null(c.message);
    assert_int_equal(c.n_evidence, 0);
    assert_int_equal(fl_check_set(&c, FL_CHECK_WARN, "first %d", 1), 0);
    assert_int_equal(fl_check_set(&c, FL_CHECK_PASS, "second %s", "message"), 0);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_string_equal(c.message, "second message");
    fl_check_worsen(&c, FL_CHECK_FAIL);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    fl_check_worsen(&c, FL_CHECK_WARN);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    fl_check_clear(&c);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_null(c.message);
}

/* Evidence grows without a cap, every line kept in order and whole. */
static void test_evidence_growth(void **state)
{
    struct fl_check c;
    char want[64], big[5000];

    fl_check_init(&c, "z");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(fl_check_evidence(&c, "evidence line %d", i), 0);
    memset(big, 'e', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(fl_check_evidence(&c, "%s", big), 0);
    assert_int_equal(c.n_evidence, 1001);
    for (int i = 0; i < 1000; i++) {
        snprintf(want, sizeof(want), "evidence line %d", i);
        assert_string_equal(c.evidence[i], want);
    }
    assert_string_equal(c.evidence[1000], big);
    fl_check_clear(&c);
    assert_int_equal(c.n_evidence, 0);
    assert_null(c.evidence);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_helpers),
        cmocka_unit_test(test_status_and_message),
        cmocka_unit_test(test_evidence_growth),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
