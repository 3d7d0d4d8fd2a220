/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the scan engine (src/lib/scan.c) on real images in a temporary directory: named
 * paths and walked directories, what is skipped and why, results in order with several workers,
 * crypttab lookups with the key file tried, and volumes named as on the examined host.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libcryptsetup.h>

#include "fipsluks/scan.h"
#include "fixture.h"

static char dir[] = "/tmp/fl-test-scan.XXXXXX";
static const char pass[] = "scan-engine-test-key";

/* A LUKS2 image at @p rel below dir: keyslot 0 with pass, PBKDF2 (@p argon: argon2id, fast). */
static void make_luks(const char *rel, bool argon)
{
    struct crypt_pbkdf_type pbkdf2 = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000, .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_pbkdf_type argon2 = {.type = CRYPT_KDF_ARGON2ID,
                                      .iterations = 4,
                                      .max_memory_kb = 8192,
                                      .parallel_threads = 1,
                                      .flags = CRYPT_PBKDF_NO_BENCHMARK};
    struct crypt_params_luks2 params = {.sector_size = 512};
    struct crypt_device *cd;
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    fixture_image(path, 4 * 1024 * 1024);
    assert_int_equal(crypt_init(&cd, path), 0);
    assert_int_equal(crypt_set_pbkdf_type(cd, argon ? &argon2 : &pbkdf2), 0);
    assert_int_equal(crypt_set_metadata_size(cd, 16384, 1024 * 1024), 0);
    assert_int_equal(crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL, 64, &params), 0);
    assert_int_equal(crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, pass, strlen(pass)), 0);
    crypt_free(cd);
}

static void quiet(int level, const char *msg, void *usrptr)
{
    (void)level;
    (void)msg;
    (void)usrptr;
}

static int setup(void **state)
{
    (void)state;
    crypt_set_log_callback(NULL, quiet, NULL); /* "keyslots area is very small": the test's choice */
    if (!mkdtemp(dir))
        return -1;
    fixture_write(dir, "/tree/sub/plain.txt", "not a LUKS volume\n");
    fixture_write(dir, "/root/etc/luks/data", pass);
    fixture_write(dir, "/root/etc/luks/wrong", "another key");
    make_luks("tree/a.img", true);
    make_luks("tree/sub/b.img", false);
    make_luks("root/data.img", true);
    make_luks("root/other.img", true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return fixture_rmtree(dir);
}

/* What the results were, one line each: "path outcome [compatible|incompatible] [named]". */
struct seen {
    char text[4096];
    size_t len;
};

static int record(const struct fl_scan_result *res, void *ctx)
{
    struct seen *seen = ctx;
    const char *base = strncmp(res->path, dir, strlen(dir)) ? res->path : res->path + strlen(dir);
    const char *what = res->outcome == FL_SCAN_VOLUME
                           ? (fl_findings_compatible(&res->findings) ? "compatible" : "incompatible")
                       : res->outcome == FL_SCAN_SKIPPED ? "skipped"
                                                         : "error";

    seen->len += (size_t)snprintf(seen->text + seen->len, sizeof(seen->text) - seen->len, "%s %s%s%s\n", base,
                                  what, res->named ? " named" : "", res->crypttab ? " crypttab" : "");
    return 0;
}

/* Named paths and a walked directory, in order with two workers: each judged, what is not LUKS skipped. */
static void test_targets_in_order(void **state)
{
    struct fl_scan_options o = {.jobs = 2, .ordered = true};
    struct fl_scan *s = NULL;
    struct seen seen = {0};
    char tree[512], missing[512], plain[512];

    (void)state;
    snprintf(tree, sizeof(tree), "%s/tree", dir);
    snprintf(missing, sizeof(missing), "%s/missing.img", dir);
    snprintf(plain, sizeof(plain), "%s/tree/sub/plain.txt", dir);
    assert_int_equal(fl_scan_new(&o, &s), 0);
    assert_int_equal(fl_scan_add_path(s, tree), 0);
    assert_int_equal(fl_scan_add_path(s, missing), 0);
    assert_int_equal(fl_scan_add_path(s, plain), 0);
    assert_int_equal(fl_scan_add_path(s, "/proc/self/status"), 0);
    assert_int_equal(fl_scan_n_targets(s), 6);
    assert_int_equal(fl_scan_run(s, record, &seen), 0);
    assert_string_equal(seen.text, "/tree/a.img incompatible\n/tree/sub/b.img compatible\n"
                                   "/tree/sub/plain.txt skipped\n/missing.img error named\n"
                                   "/tree/sub/plain.txt skipped named\n/proc/self/status skipped named\n");
    /* after the run: outcomes stay, volumes are gone */
    assert_int_equal(fl_scan_result(s, 3)->error, -ENOENT);
    assert_non_null(strstr(fl_scan_result(s, 5)->why, "pseudo file system"));
    assert_null(fl_scan_result(s, 0)->volume);
    assert_null(fl_scan_result(s, 6));
    fl_scan_free(s);
}

/* An emit that fails stops the scan with its error. */
static int refuse(const struct fl_scan_result *res, void *ctx)
{
    (void)res;
    (void)ctx;
    return -ECANCELED;
}

static void test_emit_stops(void **state)
{
    struct fl_scan_options o = {.jobs = 1, .ordered = true};
    struct fl_scan *s = NULL;
    char tree[512];

    (void)state;
    snprintf(tree, sizeof(tree), "%s/tree", dir);
    assert_int_equal(fl_scan_new(&o, &s), 0);
    assert_int_equal(fl_scan_add_path(s, tree), 0);
    assert_int_equal(fl_scan_run(s, refuse, NULL), -ECANCELED);
    fl_scan_free(s);
}

/* With a crypttab: its entry found, its key tried on what FIPS refuses; with host_paths, the volume and
 * its remedies named as on the host. */
struct crypttab_seen {
    int n;
    enum fl_crypttab_key data_key, other_key;
    char data_path[256], remedy[512];
};

static int crypttab_record(const struct fl_scan_result *res, void *ctx)
{
    struct crypttab_seen *c = ctx;

    assert_int_equal(res->outcome, FL_SCAN_VOLUME);
    assert_non_null(res->crypttab);
    c->n++;
    if (!strcmp(res->crypttab->name, "data")) {
        c->data_key = res->keys[0];
        snprintf(c->data_path, sizeof(c->data_path), "%s", res->volume->path);
        for (size_t i = 0; i < res->findings.n; i++)
            if (res->findings.items[i].remedy)
                snprintf(c->remedy, sizeof(c->remedy), "%s", res->findings.items[i].remedy);
    } else {
        c->other_key = res->keys[0];
    }
    return 0;
}

static void test_crypttab_and_host_paths(void **state)
{
    struct fl_crypttab ct = {0};
    struct fl_scan *s = NULL;
    struct crypttab_seen c = {0};
    char root[256], data[512], other[512];
    struct fl_scan_options o = {
        .root = root, .crypttab = &ct, .jobs = 2, .ordered = false, .host_paths = true};

    (void)state;
    snprintf(root, sizeof(root), "%s/root", dir);
    snprintf(data, sizeof(data), "%s/data.img", root);
    snprintf(other, sizeof(other), "%s/other.img", root);
    fixture_write(root, "/etc/crypttab",
                  "data /data.img /etc/luks/data luks\nother /other.img /etc/luks/wrong\n");
    assert_int_equal(fl_crypttab_read(root, &ct), 0);
    assert_int_equal(fl_scan_new(&o, &s), 0);
    assert_int_equal(fl_scan_add_path(s, data), 0);
    assert_int_equal(fl_scan_add_path(s, other), 0);
    assert_int_equal(fl_scan_run(s, crypttab_record, &c), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.data_key, FL_CRYPTTAB_KEY_OPENS);
    assert_int_equal(c.other_key, FL_CRYPTTAB_KEY_FAILS);
    assert_string_equal(c.data_path, "/data.img");
    if (!strstr(c.remedy, " /data.img") || strstr(c.remedy, dir))
        fail_msg("the remedy names the path below the root: %s", c.remedy);
    fl_scan_free(s);
    fl_crypttab_clear(&ct);
}

/* An unreadable target below the root is named as on the host too (check's evidence uses it). */
static int host_path_record(const struct fl_scan_result *res, void *ctx)
{
    snprintf(ctx, 256, "%d %s", res->outcome, res->host_path);
    return 0;
}

static void test_unreadable_host_path(void **state)
{
    char root[256], missing[512], seen[256] = "";
    struct fl_scan *s = NULL;
    struct fl_scan_options o = {.root = root, .jobs = 1, .ordered = true, .host_paths = true};
    char expect[64];

    (void)state;
    snprintf(root, sizeof(root), "%s/root/", dir); /* a trailing slash names the same root */
    snprintf(missing, sizeof(missing), "%s/root/dev/missing", dir);
    assert_int_equal(fl_scan_new(&o, &s), 0);
    assert_int_equal(fl_scan_add_path(s, missing), 0);
    assert_int_equal(fl_scan_run(s, host_path_record, seen), 0);
    snprintf(expect, sizeof(expect), "%d /dev/missing", FL_SCAN_ERROR);
    assert_string_equal(seen, expect);
    fl_scan_free(s);
    /* without host_paths, the path as given */
    o.host_paths = false;
    assert_int_equal(fl_scan_new(&o, &s), 0);
    assert_int_equal(fl_scan_add_path(s, missing), 0);
    assert_int_equal(fl_scan_run(s, host_path_record, seen), 0);
    assert_non_null(strstr(seen, missing));
    fl_scan_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_targets_in_order),
        cmocka_unit_test(test_emit_stops),
        cmocka_unit_test(test_crypttab_and_host_paths),
        cmocka_unit_test(test_unreadable_host_path),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
