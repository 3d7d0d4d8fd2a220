/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/check-openssl-live.c: the live OpenSSL probe in this process, which main()
 * gives a known configuration (OPENSSL_CONF, before OpenSSL is initialised): the default provider
 * only, no fips=yes. The probe must see exactly that.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture-root.h"
#include "host-internal.h"

static char conf[] = "/tmp/fl-test-openssl-live.XXXXXX";

static void test_not_fips(void **state)
{
    struct fl_openssl_live live = {.fips_available = true, .fips_properties = true};
    struct fl_check c;
    char want[400];

    assert_int_equal(fl_check_openssl_live(&c, &live), 0);
    assert_string_equal(c.id, FL_CHECK_OPENSSL_LIVE);
    assert_true(live.sha256);
    assert_true(live.md5);
    assert_false(live.fips_available);
    assert_false(live.fips_properties);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_string_equal(c.message, "OpenSSL in this process is not in FIPS mode: the fips provider is not "
                                   "active, default properties do not require fips=yes, MD5 is available");
    snprintf(want, sizeof(want), "configuration: %s", conf);
    assert_evidence(&c, want);
    assert_evidence(&c, "SHA-256: available (provider default)");
    assert_evidence(&c, "MD5: available (provider default)");
    assert_evidence(&c, "provider default: ");
    assert_remedy(&c, "set default_properties = fips=yes");
    fl_check_clear(&c);
    /* no result wanted: the record alone */
    assert_int_equal(fl_check_openssl_live(&c, NULL), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    fl_check_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_not_fips),
    };
    int fd = mkstemp(conf), r;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (!f)
        return 1;
    fputs("openssl_conf = init\n[init]\nproviders = provs\n[provs]\ndefault = dflt\n[dflt]\nactivate = 1\n",
          f);
    fclose(f);
    setenv("OPENSSL_CONF", conf, 1);
    r = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(conf);
    return r;
}
