/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/check-openssl.c on fixture trees: the openssl-config check (provisioned, the
 * ways it fails, RHEL's location) and the openssl-module check.
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
#include "fipsluks/host.h"
#include "fipsluks/provision.h"
#include "host-internal.h"

static const char fipsmodule_cnf[] = "[fips_sect]\nactivate = 1\nconditional-errors = 1\n"
                                     "module-mac = 29:C8:49:23:A8:8C:4C:E9\n";

static void test_openssl_config_provisioned(void **state)
{
    struct fl_check c;

    /* what --emit installs, once openssl fipsinstall has run, passes */
    write_file("/etc/ssl/openssl.cnf", fl_provision_openssl_cnf());
    write_file("/etc/ssl/fipsmodule.cnf", fipsmodule_cnf);
    assert_int_equal(fl_check_openssl_config(root, NULL, &c), 0);
    if (c.status != FL_CHECK_PASS)
        fail_msg("%s", c.message);
    assert_evidence(&c, "active configuration: /etc/ssl/openssl.cnf");
    assert_evidence(&c, "/etc/ssl/fipsmodule.cnf:4: [fips_sect] module-mac is set");
    assert_evidence(&c, "activated: fips, base");
    assert_evidence(&c, "[algorithm_sect] default_properties = fips=yes");
    assert_null(c.remedy);
    fl_check_clear(&c);
}

static void test_openssl_config_failures(void **state)
{
    struct fl_openssl_live live = {.sha256 = true, .fips_available = true, .fips_properties = true};
    struct fl_check c;

    /* nothing at all */
    assert_int_equal(fl_check_openssl_config(root, NULL, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "/etc/ssl/openssl.cnf: No such file or directory");
    fl_check_clear(&c);

    /* fipsmodule.cnf included but missing */
    write_file("/etc/ssl/openssl.cnf", fl_provision_openssl_cnf());
    assert_int_equal(fl_check_openssl_config(root, NULL, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "/etc/ssl/fipsmodule.cnf: included, but No such file or directory");
    assert_remedy(&c,
                  "openssl fipsinstall -out /etc/ssl/fipsmodule.cnf -module /usr/lib64/ossl-modules/fips.so");
    assert_non_null(strstr(c.message, "no usable fipsmodule.cnf"));
    fl_check_clear(&c);

    /* fipsmodule.cnf present but not included; module named by the fips section's "module" */
    write_file("/usr/lib/ssl/fipsmodule.cnf", fipsmodule_cnf);
    write_file("/etc/ssl/openssl.cnf", "openssl_conf = init\n[init]\nproviders = p\nalg_section = algs\n"
                                       "[p]\nfips = fips_sect\n[fips_sect]\nactivate = 1\n"
                                       "[algs]\ndefault_properties = fips=yes\n");
    assert_int_equal(fl_check_openssl_config(root, NULL, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "/usr/lib/ssl/fipsmodule.cnf: exists, but /etc/ssl/openssl.cnf does not include it");
    assert_remedy(
        &c, "add to /etc/ssl/openssl.cnf, before the first section: .include /usr/lib/ssl/fipsmodule.cnf");
    fl_check_clear(&c);

    /* provider not activated, default properties not fips */
    write_file("/etc/ssl/fipsmodule.cnf", "[fips_sect]\nactivate = 0\nmodule-mac = 00\n");
    write_file("/etc/ssl/openssl.cnf", "openssl_conf = init\n.include /etc/ssl/fipsmodule.cnf\n"
                                       "[init]\nproviders = p\nalg_section = algs\n"
                                       "[p]\nfips = fips_sect\ndefault = d\n[d]\nactivate = 1\n"
                                       "[algs]\ndefault_properties = ?fips=yes\n");
    assert_int_equal(fl_check_openssl_config(root, NULL, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_non_null(
        strstr(c.message, "the fips provider is not activated; default_properties do not require fips=yes"));
    assert_evidence(
        &c, "/etc/ssl/fipsmodule.cnf:2: [fips_sect] activate = 0: the fips provider is not activated");
    assert_evidence(&c, "activated: default");
    assert_evidence(
        &c, "/etc/ssl/openssl.cnf:12: [algs] default_properties = ?fips=yes: does not require fips=yes");
    assert_remedy(&c, "set activate = 1 in [fips_sect]");
    assert_remedy(&c, "set default_properties = fips=yes in [algs] of /etc/ssl/openssl.cnf");
    fl_check_clear(&c);

    /* the FIPS guide's openssl.cnf.fips: fips and base active, no default_properties (issue 13) */
    write_file("/etc/ssl/fipsmodule.cnf", fipsmodule_cnf);
    write_file("/etc/ssl/openssl.cnf", "config_diagnostics = 1\nopenssl_conf = openssl_init\n"
                                       ".include /etc/ssl/fipsmodule.cnf\n[openssl_init]\nproviders = "
                                       "provider_sect\n[provider_sect]\nfips = fips_sect\nbase = base_sect\n"
                                       "[base_sect]\nactivate = 1\n");
    assert_int_equal(fl_check_openssl_config(root, NULL, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_string_equal(
        c.message, "/etc/ssl/openssl.cnf activates the fips provider but sets no default_properties = "
                   "fips=yes (as the FIPS guide's openssl.cnf.fips): libcryptsetup (OpenSSL backend) then "
                   "does not run in FIPS mode, and luksFormat still makes argon2id keyslots");
    assert_remedy(&c,
                  "the sections must be complete: [openssl_init] providers = provider_sect, alg_section = "
                  "algorithm_sect; [provider_sect] fips = fips_sect, base = base_sect; [base_sect] activate "
                  "= 1; [algorithm_sect] default_properties = fips=yes");
    fl_check_clear(&c);
    write_file("/etc/ssl/fipsmodule.cnf", "[fips_sect]\nactivate = 0\nmodule-mac = 00\n");
    write_file("/etc/ssl/openssl.cnf", "openssl_conf = init\n.include /etc/ssl/fipsmodule.cnf\n"
                                       "[init]\nproviders = p\nalg_section = algs\n"
                                       "[p]\nfips = fips_sect\ndefault = d\n[d]\nactivate = 1\n"
                                       "[algs]\ndefault_properties = ?fips=yes\n");

    /* the same files while the live process is in FIPS mode anyway (RHEL): a warning */
    assert_int_equal(fl_check_openssl_config(root, &live, &c), 0);
    assert_int_equal(c.status, FL_CHECK_WARN);
    fl_check_clear(&c);

    /* no openssl_conf at all */
    write_file("/etc/ssl/openssl.cnf", "HOME = .\n[req]\ndefault_bits = 2048\n");
    assert_int_equal(fl_check_openssl_config(root, NULL, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "/etc/ssl/openssl.cnf: no openssl_conf");
    fl_check_clear(&c);
}

static void test_openssl_config_location(void **state)
{
    struct fl_check c;

    /* RHEL's location, reached through a link inside the root */
    write_file("/usr/share/pki/openssl.cnf", fl_provision_openssl_cnf());
    write_file("/etc/ssl/fipsmodule.cnf", fipsmodule_cnf);
    mkdir(strcat(strcpy((char[1024]){0}, root), "/etc/pki"), 0755);
    mkdir(strcat(strcpy((char[1024]){0}, root), "/etc/pki/tls"), 0755);
    make_link("/etc/pki/tls/openssl.cnf", "/usr/share/pki/openssl.cnf");
    assert_int_equal(fl_check_openssl_config(root, NULL, &c), 0);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_evidence(&c, "active configuration: /etc/pki/tls/openssl.cnf");
    fl_check_clear(&c);
}

static void test_openssl_module(void **state)
{
    struct fl_check c;

    assert_int_equal(fl_check_openssl_module(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "fips.so: not found in the usual module directories");
    fl_check_clear(&c);
    write_file("/usr/lib/x86_64-linux-gnu/ossl-modules/fips.so", "module");
    assert_int_equal(fl_check_openssl_module(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_PASS);
    assert_evidence(&c, "/usr/lib/x86_64-linux-gnu/ossl-modules/fips.so: exists");
    fl_check_clear(&c);
    /* the fips section's "module" decides */
    write_file("/etc/ssl/openssl.cnf", "openssl_conf = init\n[init]\nproviders = p\n[p]\nfips = fs\n"
                                       "[fs]\nmodule = /opt/fips/fips.so\nactivate = 1\n");
    assert_int_equal(fl_check_openssl_module(root, &c), 0);
    assert_int_equal(c.status, FL_CHECK_FAIL);
    assert_evidence(&c, "/etc/ssl/openssl.cnf:7: module = /opt/fips/fips.so: does not exist");
    fl_check_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_openssl_config_provisioned, fixture_fresh_root),
        cmocka_unit_test_setup(test_openssl_config_failures, fixture_fresh_root),
        cmocka_unit_test_setup(test_openssl_config_location, fixture_fresh_root),
        cmocka_unit_test_setup(test_openssl_module, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
