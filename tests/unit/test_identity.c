/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host identity (src/lib/identity.c): read from a fixture root; timestamps both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "fipsluks/identity.h"

static void test_identity_from_root(void **state)
{
    char root[] = "/tmp/fipsluks-identity.XXXXXX";
    struct fl_identity id;
    char *cmd = NULL;

    (void)state;
    assert_non_null(mkdtemp(root));
    fixture_write(root, "/etc/hostname", "  web-07.example \n");
    fixture_write(root, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n");
    fixture_write(root, "/etc/os-release",
                  "NAME=\"Red Hat Enterprise Linux\"\nID_LIKE=fedora\nID=\"rhel\"\nVERSION_ID='9.4'\n");
    fixture_write(root, "/proc/sys/crypto/fips_enabled", "1\n");
    assert_int_equal(fl_identity_read(root, &id), 0);
    assert_string_equal(id.hostname, "web-07.example");
    assert_string_equal(id.machine_id, "0123456789abcdef0123456789abcdef");
    assert_string_equal(id.os_id, "rhel");
    assert_string_equal(id.os_version_id, "9.4");
    assert_int_equal(id.kernel_fips, 1);
    assert_int_equal(strlen(id.timestamp), 20);
    fl_identity_clear(&id);

    /* malformed or missing: NULL, never an error */
    fixture_write(root, "/etc/machine-id", "uninitialized\n");
    fixture_write(root, "/etc/os-release", "ID=\nVERSION_ID=\"12\\\"x\"\n");
    fixture_write(root, "/proc/sys/crypto/fips_enabled", "2\n");
    assert_true(asprintf(&cmd, "rm -f %s/etc/hostname", root) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    assert_int_equal(fl_identity_read(root, &id), 0);
    assert_null(id.hostname);
    assert_null(id.machine_id);
    assert_null(id.os_id);
    assert_string_equal(id.os_version_id, "12\"x");
    assert_int_equal(id.kernel_fips, -1);
    fl_identity_clear(&id);

    assert_true(asprintf(&cmd, "rm -rf %s", root) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_timestamps(void **state)
{
    static const struct {
        const char *text;
        long long t; /* -1: invalid */
    } cases[] = {
        {"2026-11-29T12:00:00Z", 1795953600},
        {"2026-11-29T14:00:00+02:00", 1795953600},
        {"2026-11-29T11:30:00.123456-00:30", 1795953600},
        {"2026-11-29t12:00:00z", 1795953600},
        {"1970-01-01T00:00:00Z", 0},
        {"2026-11-29T12:00:00", -1},
        {"2026-13-01T00:00:00Z", -1},
        {"2026-11-29T24:00:00Z", -1},
        {"2026-11-29T12:00:00Zjunk", -1},
        {"2026-11-29T12:00:00+2:00", -1},
        {"yesterday", -1},
        {"", -1},
    };
    char buf[FL_TIMESTAMP_SIZE];
    time_t t;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = fl_timestamp_parse(cases[i].text, &t);
        if (cases[i].t < 0 ? r != -EINVAL : (r != 0 || t != cases[i].t))
            fail_msg("case %zu \"%s\": r=%d t=%lld", i, cases[i].text, r, (long long)t);
    }
    assert_int_equal(fl_timestamp_parse(NULL, &t), -EINVAL);
    assert_int_equal(fl_timestamp_format(1795953600, buf), 0);
    assert_string_equal(buf, "2026-11-29T12:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_from_root),
        cmocka_unit_test(test_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
