/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/check-luks.c on fixture trees: no volumes, no block devices.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_luks_skip_and_empty, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
