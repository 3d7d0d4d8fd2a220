/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/openssl-conf.c: OpenSSL's configuration syntax as OpenSSL reads it (includes,
 * cycles, files that are not regular, $var expansion and its bounds) and the value helpers.
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
#include "openssl-conf.h"
#include "root.h"

static const char fipsmodule_cnf[] = "[fips_sect]\nactivate = 1\nconditional-errors = 1\n"
                                     "module-mac = 29:C8:49:23:A8:8C:4C:E9\n";

static void test_ossl_parse(void **state)
{
    struct fl_ossl_conf conf = {0};
    const struct fl_ossl_value *v;

    write_file("/etc/ssl/fipsmodule.cnf", fipsmodule_cnf);
    write_file("/etc/ssl/conf.d/b.conf", "[b]\nkey = from b\n");
    write_file("/etc/ssl/conf.d/a.cnf", "[a]\nkey = from a\n");
    write_file("/etc/ssl/conf.d/ignored.txt", "[x]\nkey = never\n");
    assert_int_equal(fl_ossl_conf_parse(root, "/etc/ssl/openssl.cnf",
                                        "# comment\n"
                                        "openssl_conf = init # trailing comment\n"
                                        ".include /etc/ssl/fipsmodule.cnf\n"
                                        ".include = conf.d\n"
                                        ".include /etc/ssl/none.cnf\n"
                                        "[ init ]\n"
                                        "providers = \"prov\"\n"
                                        "long = one \\\n"
                                        "  two\n"
                                        "after = 1\n"
                                        "providers = prov_sect\n",
                                        &conf),
                     0);
    v = fl_ossl_conf_get(&conf, "default", "openssl_conf");
    assert_non_null(v);
    assert_string_equal(v->value, "init");
    assert_int_equal(v->line, 2);
    /* the last value wins, quotes go */
    assert_string_equal(fl_ossl_conf_get(&conf, "init", "providers")->value, "prov_sect");
    assert_string_equal(fl_ossl_conf_get(&conf, "init", "long")->value, "one   two");
    assert_int_equal(fl_ossl_conf_get(&conf, "init", "after")->line, 10);
    v = fl_ossl_conf_get(&conf, "fips_sect", "module-mac");
    assert_non_null(v);
    assert_string_equal(v->file, "/etc/ssl/fipsmodule.cnf");
    assert_int_equal(v->line, 4);
    assert_string_equal(fl_ossl_conf_get(&conf, "a", "key")->value, "from a");
    assert_string_equal(fl_ossl_conf_get(&conf, "b", "key")->value, "from b");
    assert_null(fl_ossl_conf_get(&conf, "x", "key"));
    /* files: main, fipsmodule.cnf, a.cnf, b.conf (sorted), then the missing one */
    assert_int_equal(conf.n_files, 5);
    assert_string_equal(conf.files[2].path, "/etc/ssl/conf.d/a.cnf");
    assert_string_equal(conf.files[3].path, "/etc/ssl/conf.d/b.conf");
    assert_string_equal(conf.files[4].path, "/etc/ssl/none.cnf");
    assert_int_equal(conf.files[4].error, -ENOENT);
    fl_ossl_conf_clear(&conf);
}

/* A FIFO where a file is expected is refused at once (opening it would block), and named. */
static void test_ossl_not_regular(void **state)
{
    struct fl_ossl_conf conf = {0};
    char fifo[1024], *text = NULL;

    snprintf(fifo, sizeof(fifo), "%s/etc/ssl/pipe.cnf", root);
    write_file("/etc/ssl/openssl.cnf", ".include pipe.cnf\n.include sub\n[a]\nk = v\n");
    write_file("/etc/ssl/sub/keep", "");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    assert_int_equal(fl_ossl_conf_load(root, "/etc/ssl/openssl.cnf", &conf), 0);
    assert_int_equal(conf.n_files, 2);
    assert_string_equal(conf.files[1].path, "/etc/ssl/pipe.cnf");
    assert_int_equal(conf.files[1].error, -FL_ENOTREG);
    assert_int_equal(conf.files[1].type, S_IFIFO);
    assert_string_equal(fl_read_strerror(conf.files[1].error, conf.files[1].type), "is a FIFO");
    assert_string_equal(fl_ossl_conf_get(&conf, "a", "k")->value, "v");
    fl_ossl_conf_clear(&conf);

    /* the main file itself */
    assert_int_equal(fl_ossl_conf_load(root, "/etc/ssl/pipe.cnf", &conf), -FL_ENOTREG);
    assert_int_equal(conf.files[0].type, S_IFIFO);
    fl_ossl_conf_clear(&conf);
    assert_int_equal(fl_root_read_text(root, "/etc/ssl/pipe.cnf", 100, &text), -FL_ENOTREG);
    assert_int_equal(fl_root_read_text(root, "/etc/ssl/sub", 100, &text), -EISDIR);
    assert_null(text);
}

/* Include cycles by device and inode: the same file under ever longer paths is read once. */
static void test_ossl_cycle(void **state)
{
    struct fl_ossl_conf conf = {0};

    write_file("/etc/ssl/openssl.cnf", ".include ./openssl.cnf\n.include .//openssl.cnf\n.include other.cnf\n"
                                       ".include other.cnf\n[a]\nk = v\n");
    write_file("/etc/ssl/other.cnf", "[b]\nk = w\n");
    assert_int_equal(fl_ossl_conf_load(root, "/etc/ssl/openssl.cnf", &conf), 0);
    assert_int_equal(conf.n_files, 5);
    assert_string_equal(conf.files[1].path, "/etc/ssl/./openssl.cnf");
    assert_int_equal(conf.files[1].error, 0);
    assert_int_equal(conf.files[1].seen, FL_CONF_CYCLE);
    assert_string_equal(conf.files[2].path, "/etc/ssl/.//openssl.cnf");
    assert_int_equal(conf.files[2].seen, FL_CONF_CYCLE);
    assert_int_equal(conf.files[3].error, 0);
    assert_int_equal(conf.files[3].seen, FL_CONF_NEW);
    assert_int_equal(conf.files[4].error, 0);
    assert_int_equal(conf.files[4].seen, FL_CONF_REPEAT);
    assert_int_equal(conf.n_values, 2);
    fl_ossl_conf_clear(&conf);
}

/* Values as OpenSSL copies them: quotes, escapes, $var in its forms (issue 13). */
static void test_ossl_expand(void **state)
{
    struct fl_ossl_conf conf = {0};

    write_file("/etc/ssl/dir/mod.cnf", "[fips_sect]\nactivate = 1\n");
    assert_int_equal(fl_ossl_conf_parse(root, "/etc/ssl/openssl.cnf",
                                        "top = /etc/ssl\n"
                                        "name = fips_sect\n"
                                        ".include $top/dir/mod.cnf\n"
                                        "[ s ]\n"
                                        "a = one\n"
                                        "b = $a-${a}-$(a)\n"
                                        "c = $s::a/${default::top}\n"
                                        "d = $top\n"
                                        "q = \"x y\"'z'\\#\\t.\n"
                                        "[ $name ]\n"
                                        "e = ${fips_sect::activate}\n"
                                        "h = $ENV::HOME\n",
                                        &conf),
                     0);
    assert_null(conf.refused);
    assert_int_equal(conf.n_files, 2);
    assert_string_equal(conf.files[1].path, "/etc/ssl/dir/mod.cnf");
    assert_string_equal(fl_ossl_conf_get(&conf, "s", "b")->value, "one-one-one");
    assert_string_equal(fl_ossl_conf_get(&conf, "s", "c")->value, "one//etc/ssl");
    assert_string_equal(fl_ossl_conf_get(&conf, "s", "d")->value, "/etc/ssl"); /* from the default section */
    assert_string_equal(fl_ossl_conf_get(&conf, "s", "q")->value, "x yz#\t.");
    assert_string_equal(fl_ossl_conf_get(&conf, "fips_sect", "e")->value, "1");
    /* below a root the host's environment is unknown: empty, and counted */
    assert_string_equal(fl_ossl_conf_get(&conf, "fips_sect", "h")->value, "");
    assert_int_equal(conf.env_unknown, 1);
    fl_ossl_conf_clear(&conf);

    /* dollarid: "$" is part of a name, only ${x} and $(x) expand */
    assert_int_equal(
        fl_ossl_conf_parse(root, "/etc/ssl/openssl.cnf", "a = x\n.pragma dollarid:on\nf = a$b${a}\n", &conf),
        0);
    assert_null(conf.refused);
    assert_string_equal(fl_ossl_conf_get(&conf, "default", "f")->value, "a$bx");
    fl_ossl_conf_clear(&conf);

    /* a variable with no value: OpenSSL refuses the whole file; reading stops there */
    assert_int_equal(fl_ossl_conf_parse(root, "/etc/ssl/openssl.cnf", "a = 1\nb = $nope\nc = 2\n", &conf), 0);
    assert_string_equal(conf.refused, "/etc/ssl/openssl.cnf:2: $nope has no value");
    assert_null(fl_ossl_conf_get(&conf, "default", "c"));
    fl_ossl_conf_clear(&conf);
    assert_int_equal(fl_ossl_conf_parse(root, "/etc/ssl/openssl.cnf", "a = 1\nb = ${a\n", &conf), 0);
    assert_string_equal(conf.refused, "/etc/ssl/openssl.cnf:2: a variable has no closing '}'");
    fl_ossl_conf_clear(&conf);
}

/* Expansion is bounded: 64 KiB per value (as OpenSSL), 16 MiB in all. */
static void test_ossl_expand_bounds(void **state)
{
    struct fl_ossl_conf conf = {0};
    size_t big = 40000, lines = 500, n = 0;
    char *text = malloc(big + 16 + lines * 32);

    assert_non_null(text);
    n += (size_t)sprintf(text + n, "a = ");
    memset(text + n, 'x', big);
    n += big;
    n += (size_t)sprintf(text + n, "\nb = $a$a\n");
    assert_int_equal(fl_ossl_conf_parse(root, "/etc/ssl/openssl.cnf", text, &conf), 0);
    assert_string_equal(
        conf.refused,
        "/etc/ssl/openssl.cnf:2: the value is longer than 65536 bytes after variable expansion");
    fl_ossl_conf_clear(&conf);

    n -= strlen("b = $a$a\n");
    for (size_t i = 0; i < lines; i++)
        n += (size_t)sprintf(text + n, "b%zu = $a\n", i);
    assert_int_equal(fl_ossl_conf_parse(root, "/etc/ssl/openssl.cnf", text, &conf), 0);
    assert_null(conf.refused);
    assert_non_null(conf.incomplete);
    assert_non_null(strstr(conf.incomplete, "variable expansion made more than 16 MiB in all"));
    assert_true(conf.expanded <= 16u * 1024 * 1024 + big);
    assert_non_null(fl_ossl_conf_get(&conf, "default", "b400"));
    assert_null(fl_ossl_conf_get(&conf, "default", "b499"));
    fl_ossl_conf_clear(&conf);
    free(text);
}

static void test_ossl_values(void **state)
{
    assert_true(fl_ossl_properties_fips("fips=yes"));
    assert_true(fl_ossl_properties_fips(" fips = yes "));
    assert_true(fl_ossl_properties_fips("fips"));
    assert_true(fl_ossl_properties_fips("provider=fips,fips=yes"));
    assert_true(fl_ossl_properties_fips("FIPS=YES"));
    assert_false(fl_ossl_properties_fips("fips=no"));
    assert_false(fl_ossl_properties_fips("?fips=yes"));
    assert_false(fl_ossl_properties_fips("-fips"));
    assert_false(fl_ossl_properties_fips("provider=fips"));
    assert_false(fl_ossl_properties_fips(""));
    assert_true(fl_ossl_truthy("1"));
    assert_true(fl_ossl_truthy("yes"));
    assert_true(fl_ossl_truthy("TRUE"));
    assert_false(fl_ossl_truthy("0"));
    assert_false(fl_ossl_truthy("no"));
    assert_false(fl_ossl_truthy(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_ossl_parse, fixture_fresh_root),
        cmocka_unit_test(test_ossl_values),
        cmocka_unit_test_setup(test_ossl_not_regular, fixture_fresh_root),
        cmocka_unit_test_setup(test_ossl_cycle, fixture_fresh_root),
        cmocka_unit_test_setup(test_ossl_expand, fixture_fresh_root),
        cmocka_unit_test_setup(test_ossl_expand_bounds, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
