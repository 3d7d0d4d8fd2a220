/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/root.c: paths below a root (links resolved inside it) and the caps of the
 * configuration reader.
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
#include "root.h"

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

/* The caps: files tried, bytes in all. */
static void test_conf_caps(void **state)
{
    struct fl_conf_reader cr;
    char *text = NULL, *big = malloc(FL_CONF_MAX_FILE + 2);
    enum fl_conf_seen seen;
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
    assert_int_equal(fl_conf_read(&cr, "/big", &text, &type, &seen), -EFBIG);
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof(name), "/f%d", i);
        id = fl_conf_read(&cr, name, &text, &type, &seen);
        assert_int_equal(id, i);
        fl_conf_read_end(&cr, id);
        free(text);
    }
    assert_int_equal(fl_conf_read(&cr, "/f4", &text, &type, &seen), -E2BIG);
    fl_conf_reader_done(&cr);

    fl_conf_reader_init(&cr, root);
    for (unsigned i = 0; i < FL_CONF_MAX_FILES; i++)
        assert_int_equal(fl_conf_read(&cr, "/none", &text, &type, &seen), -ENOENT);
    assert_int_equal(fl_conf_read(&cr, "/f0", &text, &type, &seen), -EMLINK);
    fl_conf_reader_done(&cr);
    assert_non_null(strstr(fl_read_strerror(-EMLINK, 0), "256 files"));
    assert_non_null(strstr(fl_read_strerror(-E2BIG, 0), "4 MiB"));
}

/* Links that try to leave the root, by ".." or absolutely, stay below it; loops end with -ELOOP. */
/* A file met again (same device and inode, another path) is not read: a cycle while it is being read,
 * a repeat after. Neither is an error. */
static void test_conf_seen(void **state)
{
    struct fl_conf_reader cr;
    enum fl_conf_seen seen = FL_CONF_REPEAT;
    static char unset[] = "unset";
    char *text = NULL, *again = NULL;
    mode_t type;
    int id;

    write_file("/a.cnf", "x = 1\n");
    make_link("/b.cnf", "/a.cnf");
    fl_conf_reader_init(&cr, root);
    id = fl_conf_read(&cr, "/a.cnf", &text, &type, &seen);
    assert_int_equal(id, 0);
    assert_int_equal(seen, FL_CONF_NEW);
    assert_string_equal(text, "x = 1\n");
    /* while /a.cnf is being read: an include cycle, under any name */
    again = unset;
    assert_int_equal(fl_conf_read(&cr, "/b.cnf", &again, &type, &seen), 0);
    assert_int_equal(seen, FL_CONF_CYCLE);
    assert_null(again);
    fl_conf_read_end(&cr, id);
    /* read completely: a repeat */
    again = unset;
    assert_int_equal(fl_conf_read(&cr, "/a.cnf", &again, &type, &seen), 0);
    assert_int_equal(seen, FL_CONF_REPEAT);
    assert_null(again);
    /* an error is no sighting */
    assert_int_equal(fl_conf_read(&cr, "/none.cnf", &again, &type, &seen), -ENOENT);
    assert_int_equal(seen, FL_CONF_NEW);
    fl_conf_reader_done(&cr);
    free(text);
    assert_non_null(strstr(fl_conf_seen_text(FL_CONF_CYCLE), "include cycle"));
    assert_non_null(strstr(fl_conf_seen_text(FL_CONF_REPEAT), "already read"));
    assert_string_equal(fl_conf_seen_text(FL_CONF_NEW), "");
}

static void test_root_escapes(void **state)
{
    char *got = NULL, outside[300];

    write_file("/etc/shadow", "inside");
    mkdir(strcat(strcpy((char[1024]){0}, root), "/a"), 0755);
    mkdir(strcat(strcpy((char[1024]){0}, root), "/a/b"), 0755);
    make_link("/a/b/up", "../../../../.."); /* ".." above the root is the root */
    make_link("/a/b/abs", "/");             /* "/" is the root */
    make_link("/a/b/dotdot", "/../../etc"); /* ".." at the root stays at the root */
    make_link("/a/ping", "/a/pong");        /* a loop of two */
    make_link("/a/pong", "ping");
    make_link("/a/self", "./self");
    make_link("/a/deep", "/a/b/../b/up/a/deep"); /* a loop through ".." and an absolute link */
    assert_resolves("/a/b/up/etc/shadow", "/etc/shadow");
    assert_resolves("/a/b/abs/etc/shadow", "/etc/shadow");
    assert_resolves("/a/b/dotdot/shadow", "/etc/shadow");
    assert_resolves("/../../../etc/shadow", "/etc/shadow");
    assert_resolves("/a/b/../../../etc/shadow", "/etc/shadow");
    assert_int_equal(fl_root_path(root, "/a/ping", &got), -ELOOP);
    assert_int_equal(fl_root_path(root, "/a/pong/x", &got), -ELOOP);
    assert_int_equal(fl_root_path(root, "/a/self", &got), -ELOOP);
    assert_int_equal(fl_root_path(root, "/a/deep", &got), -ELOOP);
    /* the host's own file of that name is never what is read */
    snprintf(outside, sizeof(outside), "%s/etc/shadow", root);
    assert_int_equal(fl_root_path(root, "/a/b/up/etc/shadow", &got), 0);
    assert_string_equal(got, outside);
    free(got);
    got = NULL;
    assert_int_equal(fl_root_read_text(root, "/a/b/abs/etc/shadow", 100, &got), 0);
    assert_string_equal(got, "inside");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_root_path, fixture_fresh_root),
        cmocka_unit_test_setup(test_conf_caps, fixture_fresh_root),
        cmocka_unit_test_setup(test_conf_seen, fixture_fresh_root),
        cmocka_unit_test_setup(test_root_escapes, fixture_fresh_root),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
