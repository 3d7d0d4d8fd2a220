/* The fixture root of the unit tests of the host checks and their readers (not a test itself: no
 * test_ prefix). A test file that includes this gets one temporary directory (fixture_setup/fixture_teardown
 * as the group's setup and teardown) and `root`, the tree its tests write below: one shared root for the
 * group, or a fresh one per test with fixture_fresh_root as the test's setup. Checks' records are asserted on
 * with assert_evidence() and assert_remedy(). */
#ifndef FL_TEST_FIXTURE_ROOT_H
#define FL_TEST_FIXTURE_ROOT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fipsluks/check.h"
#include "fixture.h"

static char fixture_base[] = "/tmp/fl-test.XXXXXX";
static char root[256]; /* below fixture_base: "shared", or N for fixture_fresh_root's N-th test */

/* Write @p text to root/@p rel. */
static inline void write_file(const char *rel, const char *text)
{
    fixture_write(root, rel, text);
}

/* Make root/@p rel a symbolic link to @p target (as written: absolute targets point into the root). */
static inline void make_link(const char *rel, const char *target)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s%s", root, rel);
    assert_int_equal(symlink(target, path), 0);
}

/* Group setup: the temporary directory and the shared root in it. */
static inline int fixture_setup(void **state)
{
    if (!mkdtemp(fixture_base))
        return -1;
    snprintf(root, sizeof(root), "%s/shared", fixture_base);
    return mkdir(root, 0755);
}

static inline int fixture_teardown(void **state)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fixture_base);
    return system(cmd) == 0 ? 0 : -1;
}

/* Test setup: a fresh, empty root. */
static inline int fixture_fresh_root(void **state)
{
    static int n;
    snprintf(root, sizeof(root), "%s/%d", fixture_base, n++);
    return mkdir(root, 0755);
}

static inline bool has_evidence(const struct fl_check *c, const char *needle)
{
    for (size_t i = 0; i < c->n_evidence; i++)
        if (strstr(c->evidence[i], needle))
            return true;
    return false;
}

static inline void print_check(const struct fl_check *c)
{
    fprintf(stderr, "%s: %s\n", fl_check_status_name(c->status), c->message ? c->message : "(none)");
    for (size_t i = 0; i < c->n_evidence; i++)
        fprintf(stderr, "  %s\n", c->evidence[i]);
}

#define assert_evidence(c, needle)                                                                           \
    do {                                                                                                     \
        if (!has_evidence((c), (needle))) {                                                                  \
            print_check(c);                                                                                  \
            fail_msg("no evidence containing '%s'", (needle));                                               \
        }                                                                                                    \
    } while (0)

static inline void assert_remedy(const struct fl_check *c, const char *needle)
{
    if (!c->remedy || !strstr(c->remedy, needle))
        fail_msg("remedy lacks '%s': %s", needle, c->remedy ? c->remedy : "(none)");
}

#endif
