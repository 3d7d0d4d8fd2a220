/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the host checks on fixture trees (src/lib/host.c, root.c, openssl-conf.c,
 * provision.c): paths below a root, the OpenSSL configuration reader, the kernel, system-fips,
 * openssl-module, openssl-config and luks checks, and the emitted provisioning configs.
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

#include "fixture.h"
#include <json-c/json.h>

#include "fipsluks/host.h"
#include "fipsluks/provision.h"
#include "host-internal.h"
#include "openssl-conf.h"

static char base[] = "/tmp/fl-test-host.XXXXXX";
static char root[600]; /* a fresh root per test: base/N */

static const char fipsmodule_cnf[] = "[fips_sect]\nactivate = 1\nconditional-errors = 1\n"
                                     "module-mac = 29:C8:49:23:A8:8C:4C:E9\n";

static void write_file(const char *rel, const char *text)
{
    fixture_write(root, rel, text);
}

static void make_link(const char *rel, const char *target)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    assert_int_equal(symlink(target, path), 0);
}

static int fresh_root(void **state)
{
    static int n;
    snprintf(root, sizeof(root), "%s/%d", base, n++);
    return mkdir(root, 0755);
}

static bool has_evidence(const struct fl_check *c, const char *needle)
{
    for (size_t i = 0; i < c->n_evidence; i++)
        if (strstr(c->evidence[i], needle))
            return true;
    return false;
}

#define assert_evidence(c, needle)                                                                           \
    do {                                                                                                     \
        if (!has_evidence((c), (needle))) {                                                                  \
            for (size_t i_ = 0; i_ < (c)->n_evidence; i_++)                                                  \
                fprintf(stderr, "  %s\n", (c)->evidence[i_]);                                                \
            fail_msg("no evidence containing '%s'", (needle));                                               \
        }                                                                                                    \
    } while (0)

static void assert_remedy(const struct fl_check *c, const char *needle)
{
    if (!c->remedy || !strstr(c->remedy, needle))
        fail_msg("remedy lacks '%s': %s", needle, c->remedy ? c->remedy : "(none)");
}

/* ---- paths below a root ---- */

static void assert_resolves(const char *path, const char *expected_below_root)
{
    char *got = NULL, want[1024];

    assert_int_equal(fl_root_path(root, path, &got), 0);
    snprintf(want, sizeof(want), "%s%s", root, expected_below_root);
    assert_string_equal(got, want);
    free(got);
}

static void test_root_path(void **state)
{
    char *got = NULL;

    write_file("/usr/share/ssl/openssl.cnf", "x");
    mkdir(strcat(strcpy((char[1024]){0}, root), "/etc"), 0755);
    make_link("/etc/ssl", "/usr/share/ssl");                        /* absolute: starts again at the root */
    make_link("/etc/rel", "../usr/share/ssl/openssl.cnf");          /* relative */
    make_link("/etc/escape", "../../../../../../../usr/share/ssl"); /* ".." stops at the root */
    make_link("/etc/loop", "/etc/loop");
    assert_resolves("/etc/ssl/openssl.cnf", "/usr/share/ssl/openssl.cnf");
    assert_resolves("/etc/rel", "/usr/share/ssl/openssl.cnf");
    assert_resolves("/etc/escape/openssl.cnf", "/usr/share/ssl/openssl.cnf");
    assert_resolves("/etc/./ssl/../ssl//openssl.cnf", "/usr/share/ssl/openssl.cnf");
    assert_resolves("/etc/missing/a/b", "/etc/missing/a/b");
    assert_resolves("/", "/");
    assert_int_equal(fl_root_path(root, "/etc/loop", &got), -ELOOP);
    /* no root: the path itself */
    assert_int_equal(fl_root_path(NULL, "/etc/ssl", &got), 0);
    assert_string_equal(got, "/etc/ssl");
    free(got);
    assert_int_equal(fl_root_path("/", "/etc/ssl", &got), 0);
    assert_string_equal(got, "/etc/ssl");
    free(got);
    assert_int_equal(fl_root_exists(root, "/etc/ssl/openssl.cnf"), 1);
    assert_int_equal(fl_root_exists(root, "/etc/ssl/nothing"), 0);
}

/* ---- the OpenSSL configuration reader ---- */

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
    assert_int_equal(conf.files[1].error, -FL_ECYCLE);
    assert_string_equal(conf.files[2].path, "/etc/ssl/.//openssl.cnf");
    assert_int_equal(conf.files[2].error, -FL_ECYCLE);
    assert_int_equal(conf.files[3].error, 0);
    assert_int_equal(conf.files[4].error, -FL_EREPEAT);
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

/* The caps: files tried, bytes in all. */
static void test_conf_caps(void **state)
{
    struct fl_conf_reader cr;
    char *text = NULL, *big = malloc(FL_CONF_MAX_FILE + 2);
    mode_t type;
    int id;

    assert_non_null(big);
    memset(big, '#', FL_CONF_MAX_FILE + 1);
    big[FL_CONF_MAX_FILE + 1] = '\0';
    write_file("/big", big);
    big[FL_CONF_MAX_FILE - 1] = '\0';
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof(name), "/f%d", i);
        write_file(name, big);
    }
    free(big);
    fl_conf_reader_init(&cr, root);
    assert_int_equal(fl_conf_read(&cr, "/big", &text, &type), -EFBIG);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof(name), "/f%d", i);
        id = fl_conf_read(&cr, name, &text, &type);
        assert_int_equal(id, i);
        fl_conf_read_end(&cr, id);
        free(text);
    }
    assert_int_equal(fl_conf_read(&cr, "/f4", &text, &type), -E2BIG);
    fl_conf_reader_done(&cr);

    fl_conf_reader_init(&cr, root);
    for (unsigned i = 0; i < FL_CONF_MAX_FILES; i++)
        assert_int_equal(fl_conf_read(&cr, "/none", &text, &type), -ENOENT);
    assert_int_equal(fl_conf_read(&cr, "/f0", &text, &type), -EMLINK);
    fl_conf_reader_done(&cr);
    assert_non_null(strstr(fl_read_strerror(-EMLINK, 0), "256 files"));
    assert_non_null(strstr(fl_read_strerror(-E2BIG, 0), "4 MiB"));
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

/* ---- kernel and /etc/system-fips ---- */

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

/* ---- OpenSSL configuration and module ---- */

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

/* ---- luks, check bookkeeping ---- */

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

/* ---- provisioning configs ---- */

/* Decode a data URL with percent-encoding. */
static char *data_url_decode(const char *url)
{
    char *out = malloc(strlen(url) + 1), *q = out;

    assert_non_null(out);
    assert_int_equal(strncmp(url, "data:,", 6), 0);
    for (const char *p = url + 6; *p; p++) {
        if (*p == '%') {
            unsigned v;
            assert_int_equal(sscanf(p + 1, "%2x", &v), 1);
            *q++ = (char)v;
            p += 2;
        } else {
            *q++ = *p;
        }
    }
    *q = '\0';
    return out;
}

static void test_provision(void **state)
{
    const struct fl_provision *p = fl_provision_fips();
    char *butane = NULL, *ignition = NULL;
    json_object *doc, *o, *files, *units;

    assert_int_equal(fl_provision_butane(p, &butane), 0);
    assert_non_null(strstr(butane, "\nvariant: flatcar\nversion: 1.0.0\n"));
    assert_non_null(strstr(butane, "kernel_arguments:\n  should_exist:\n    - fips=1\n"));
    assert_non_null(strstr(butane, "    - path: /etc/system-fips\n      mode: 0644\n"));
    assert_non_null(strstr(butane, "          default_properties = fips=yes\n"));
    assert_non_null(strstr(butane,
                           "        ExecStart=/usr/bin/openssl fipsinstall -out /etc/ssl/fipsmodule.cnf "
                           "-module /usr/lib64/ossl-modules/fips.so\n"));

    assert_int_equal(fl_provision_ignition(p, &ignition), 0);
    doc = json_tokener_parse(ignition);
    assert_non_null(doc);
    assert_true(json_object_object_get_ex(doc, "ignition", &o));
    assert_string_equal(json_object_get_string(json_object_object_get(o, "version")), "3.3.0");
    assert_true(json_object_object_get_ex(doc, "kernelArguments", &o));
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(json_object_object_get(o, "shouldExist"), 0)),
        "fips=1");
    files = json_object_object_get(json_object_object_get(doc, "storage"), "files");
    assert_int_equal(json_object_array_length(files), p->n_files);
    for (size_t i = 0; i < p->n_files; i++) {
        json_object *f = json_object_array_get_idx(files, i);
        char *decoded = data_url_decode(
            json_object_get_string(json_object_object_get(json_object_object_get(f, "contents"), "source")));
        assert_string_equal(json_object_get_string(json_object_object_get(f, "path")), p->files[i].path);
        assert_int_equal(json_object_get_int(json_object_object_get(f, "mode")), 420);
        assert_string_equal(decoded, p->files[i].contents);
        free(decoded);
    }
    units = json_object_object_get(json_object_object_get(doc, "systemd"), "units");
    assert_int_equal(json_object_array_length(units), 1);
    o = json_object_array_get_idx(units, 0);
    assert_true(json_object_get_boolean(json_object_object_get(o, "enabled")));
    assert_string_equal(json_object_get_string(json_object_object_get(o, "contents")), p->units[0].contents);
    json_object_put(doc);
    free(butane);
    free(ignition);
}

/* --luks NAME:DEVICE[:KEYFILE[:LABEL]], with \: for a colon inside a field */
static void test_provision_luks_parse(void **state)
{
    struct fl_provision_luks l = {0};

    assert_int_equal(fl_provision_luks_parse("data:/dev/vdb", &l), 0);
    assert_string_equal(l.name, "data");
    assert_string_equal(l.device, "/dev/vdb");
    assert_null(l.key_file);
    assert_null(l.label);
    fl_provision_luks_clear(&l);
    assert_int_equal(
        fl_provision_luks_parse("root:/dev/disk/by-path/pci-0000\\:00\\:1f.2:https\\://k.example/"
                                "key:my\\\\label",
                                &l),
        0);
    assert_string_equal(l.device, "/dev/disk/by-path/pci-0000:00:1f.2");
    assert_string_equal(l.key_file, "https://k.example/key");
    assert_string_equal(l.label, "my\\label");
    assert_true(fl_provision_is_url(l.key_file));
    fl_provision_luks_clear(&l);
    assert_int_equal(fl_provision_luks_parse("a:/dev/x:/etc/key", &l), 0);
    assert_false(fl_provision_is_url(l.key_file));
    assert_true(fl_provision_is_url("data:,secret"));
    assert_false(fl_provision_is_url("://x"));
    fl_provision_luks_clear(&l);
    /* refused: no device, relative device, empty name, a slash in the name, empty fields, a fifth field */
    static const char *const bad[] = {"data",        "data:dev/vdb", ":/dev/vdb",          "a/b:/dev/vdb",
                                      "a:/dev/vdb:", "a:/dev/x:k:",  "a:/dev/x:k:l:extra", ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (fl_provision_luks_parse(bad[i], &l) != -EINVAL)
            fail_msg("'%s' accepted", bad[i]);
}

/* storage.luks with the PBKDF2 options, in both renderings; without volumes Butane says how to add them */
static void test_provision_luks(void **state)
{
    struct fl_provision p = *fl_provision_fips();
    char name0[] = "data", dev0[] = "/dev/vdb", key0[] = "https://k.example/key", label0[] = "da\"ta";
    char name1[] = "swap", dev1[] = "/dev/vdc", key1[] = "/etc/luks/swap.key";
    struct fl_provision_luks luks[2] = {
        {.name = name0, .device = dev0, .key_file = key0, .label = label0},
        {.name = name1, .device = dev1},
    };
    char *butane = NULL, *ignition = NULL;
    json_object *doc, *arr, *v, *opts;

    assert_int_equal(fl_provision_butane(&p, &butane), 0);
    assert_non_null(
        strstr(butane, "  # LUKS volumes: Ignition formats them with cryptsetup's defaults (argon2id)"));
    assert_non_null(strstr(butane, "--luks NAME:DEVICE[:KEYFILE[:LABEL]]"));
    free(butane);

    p.luks = luks;
    p.n_luks = 2;
    assert_int_equal(fl_provision_butane(&p, &butane), 0);
    assert_null(strstr(butane, "# LUKS volumes"));
    assert_non_null(strstr(butane,
                           "  luks:\n    - name: \"data\"\n      device: \"/dev/vdb\"\n      label: "
                           "\"da\\\"ta\"\n      key_file:\n        source: \"https://k.example/key\"\n"
                           "      wipe_volume: false\n      options:\n        - \"--pbkdf\"\n        - "
                           "\"pbkdf2\"\n        - \"--hash\"\n        - \"sha256\"\n"));
    assert_non_null(
        strstr(butane, "    - name: \"swap\"\n      device: \"/dev/vdc\"\n      wipe_volume: false\n"));
    free(butane);

    assert_int_equal(fl_provision_ignition(&p, &ignition), 0);
    doc = json_tokener_parse(ignition);
    assert_non_null(doc);
    arr = json_object_object_get(json_object_object_get(doc, "storage"), "luks");
    assert_int_equal(json_object_array_length(arr), 2);
    v = json_object_array_get_idx(arr, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(v, "name")), "data");
    assert_string_equal(json_object_get_string(json_object_object_get(v, "label")), "da\"ta");
    assert_string_equal(
        json_object_get_string(json_object_object_get(json_object_object_get(v, "keyFile"), "source")),
        "https://k.example/key");
    opts = json_object_object_get(v, "options");
    assert_int_equal(json_object_array_length(opts), 8);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(opts, 0)), "--pbkdf");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(opts, 1)), "pbkdf2");
    v = json_object_array_get_idx(arr, 1);
    assert_null(json_object_object_get(v, "keyFile"));
    json_object_put(doc);
    free(ignition);

    /* Ignition cannot read a local key file */
    luks[1].key_file = key1; /* cppcheck-suppress unreadVariable ; p.luks points at luks[] */
    assert_int_equal(fl_provision_ignition(&p, &ignition), -EINVAL);
    assert_int_equal(fl_provision_butane(&p, &butane), 0);
    assert_non_null(strstr(butane, "      key_file:\n        local: \"/etc/luks/swap.key\"\n"));
    free(butane);
}

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

static int setup(void **state)
{
    return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_root_path, fresh_root),
        cmocka_unit_test_setup(test_ossl_parse, fresh_root),
        cmocka_unit_test(test_ossl_values),
        cmocka_unit_test_setup(test_kernel, fresh_root),
        cmocka_unit_test_setup(test_system_fips, fresh_root),
        cmocka_unit_test_setup(test_openssl_config_provisioned, fresh_root),
        cmocka_unit_test_setup(test_openssl_config_failures, fresh_root),
        cmocka_unit_test_setup(test_openssl_config_location, fresh_root),
        cmocka_unit_test_setup(test_openssl_module, fresh_root),
        cmocka_unit_test_setup(test_luks_skip_and_empty, fresh_root),
        cmocka_unit_test(test_check_helpers),
        cmocka_unit_test_setup(test_ossl_not_regular, fresh_root),
        cmocka_unit_test_setup(test_ossl_cycle, fresh_root),
        cmocka_unit_test_setup(test_ossl_expand, fresh_root),
        cmocka_unit_test_setup(test_ossl_expand_bounds, fresh_root),
        cmocka_unit_test_setup(test_conf_caps, fresh_root),
        cmocka_unit_test(test_provision),
        cmocka_unit_test(test_provision_luks_parse),
        cmocka_unit_test(test_provision_luks),
        cmocka_unit_test(test_remedy_order),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
