/*
 * Unit tests: the option table (src/cli/options.c) is well formed for every verb, and
 * fl_options_parse() applies each shared rule the same way in every verb that takes the option.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fipsluks/format.h"
#include "fipsluks/kdf.h"
#include "fipsluks/secret.h"
#include "cli.h"

/* Every row: a name, help for each verb that takes it, an argument name exactly when it takes one, a
 * sane range; no two options of one verb share a long or a short name; every verb has -v and --debug. */
static void test_table(void **state)
{
    for (int v = 0; v < FL_VERB_COUNT; v++) {
        assert_true(fl_option_table[FL_OPT_VERBOSE].verbs & FL_V(v));
        assert_true(fl_option_table[FL_OPT_DEBUG].verbs & FL_V(v));
        for (int i = 0; i < FL_OPT_COUNT; i++) {
            const struct fl_option *o = &fl_option_table[i];

            assert_non_null(o->name);
            assert_int_equal(fl_option_by_name(o->name), i);
            assert_true(o->verbs != 0);
            assert_int_equal(o->repeatable & ~o->verbs, 0);
            assert_int_equal(o->list & ~o->verbs, 0);
            if (o->list & FL_V(v)) /* a list is of a set of values, each with its help */
                assert_non_null(fl_option_values((enum fl_verb_id)v, (enum fl_opt)i));
            for (size_t k = 0; o->values_help && fl_option_values((enum fl_verb_id)v, (enum fl_opt)i) &&
                               fl_option_values((enum fl_verb_id)v, (enum fl_opt)i)[k];
                 k++)
                assert_non_null(o->values_help[k]);
            assert_true((o->arg != NULL) == (o->kind != FL_ARG_NONE));
            if (o->kind == FL_ARG_NUMBER || o->kind == FL_ARG_SIZE || o->kind == FL_ARG_DURATION)
                assert_true(o->min <= o->max);
            else
                assert_true(!o->unit && !o->min && !o->max && !o->multiple && !o->power_of_two && !o->range);
            if (!(o->verbs & FL_V(v)))
                continue;
            assert_non_null(o->help_for[v] ? o->help_for[v] : o->help);
            for (int k = i + 1; k < FL_OPT_COUNT; k++) {
                const struct fl_option *p = &fl_option_table[k];

                if (!(p->verbs & FL_V(v)))
                    continue;
                assert_string_not_equal(o->name, p->name);
                assert_false(o->short_name && o->short_name == p->short_name);
            }
        }
    }
    assert_int_equal(fl_option_by_name("no-such-option"), FL_OPT_COUNT);
}

static FILE *capture_file;
static char captured[2048]; /* what the last parse_v() wrote on standard error */
static int saved_stderr = -1;

/* Parse "fipsluks VERB ARGS…" with standard error kept aside; @return fl_options_parse()'s result, with
 * the parsed arguments in @p a (to be freed). */
static int parse_v(enum fl_verb_id verb, struct fl_args *a, const char *const *args, size_t n)
{
    const char *argv[16];
    char name[32];
    int r;

    assert_true(n < 15);
    snprintf(name, sizeof(name), "fipsluks %s", fl_verbs[verb].name);
    argv[0] = name;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = args[i];
    fflush(stderr);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(capture_file), STDERR_FILENO);
    r = fl_options_parse(verb, (int)n + 1, argv, a);
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rewind(capture_file);
    captured[fread(captured, 1, sizeof(captured) - 1, capture_file)] = '\0';
    fclose(capture_file);
    return r;
}

#define PARSE(verb, a, ...)                                                                                  \
    parse_v(verb, a, (const char *const[]){__VA_ARGS__},                                                     \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

static const enum fl_verb_id creating[] = {FL_VERB_FORMAT, FL_VERB_MIGRATE, FL_VERB_REENCRYPT};
static const enum fl_verb_id reading[] = {FL_VERB_FORMAT, FL_VERB_MIGRATE};

static void test_shared_rules(void **state)
{
    struct fl_args a;

    for (size_t i = 0; i < sizeof(creating) / sizeof(creating[0]); i++) {
        enum fl_verb_id v = creating[i];

        /* --hash: any case, kept in lower case; the last one counts */
        assert_int_equal(PARSE(v, &a, "--hash", "sha1", "-h", "SHA512", "x"), 0);
        assert_string_equal(fl_arg(&a, FL_OPT_HASH), "sha512");
        fl_args_free(&a);
        assert_int_equal(PARSE(v, &a, "--hash=Sha256", "x"), 0);
        assert_string_equal(fl_arg(&a, FL_OPT_HASH), "sha256");
        fl_args_free(&a);
        assert_int_equal(PARSE(v, &a, "--hash", "SHA1", "x"), -EINVAL);
        fl_args_free(&a);
        /* iterations: 1000 to INT32_MAX */
        assert_int_equal(PARSE(v, &a, "--pbkdf-force-iterations", "2147483647", "x"), 0);
        assert_int_equal(a.num[FL_OPT_ITERATIONS], FL_MAX_ITERATIONS);
        fl_args_free(&a);
        assert_int_equal(PARSE(v, &a, "--pbkdf-force-iterations", "1000", "x"), 0);
        assert_int_equal(a.num[FL_OPT_ITERATIONS], 1000);
        fl_args_free(&a);
        for (size_t k = 0; k < 4; k++) {
            static const char *const bad[] = {"999", "2147483648", "4294967295", "0"};
            assert_int_equal(PARSE(v, &a, "--pbkdf-force-iterations", bad[k], "x"), -EINVAL);
            fl_args_free(&a);
        }
        /* --iter-time: 1 to 3600000, not with --pbkdf-force-iterations */
        assert_int_equal(PARSE(v, &a, "-i", "3600000", "x"), 0);
        assert_int_equal(a.num[FL_OPT_ITER_TIME], FL_MAX_ITER_TIME_MS);
        fl_args_free(&a);
        assert_int_equal(PARSE(v, &a, "-i", "0", "x"), -EINVAL);
        fl_args_free(&a);
        assert_int_equal(PARSE(v, &a, "-i", "10", "--pbkdf-force-iterations", "1000", "x"), -EINVAL);
        fl_args_free(&a);
    }
    for (size_t i = 0; i < sizeof(reading) / sizeof(reading[0]); i++) {
        enum fl_verb_id v = reading[i];

        /* --keyfile-size 0: the whole file */
        assert_int_equal(PARSE(v, &a, "-d", "k", "--keyfile-size", "0", "x"), 0);
        assert_true(fl_flag(&a, FL_OPT_KEYFILE_SIZE));
        assert_int_equal(a.num[FL_OPT_KEYFILE_SIZE], 0);
        fl_args_free(&a);
        assert_int_equal(PARSE(v, &a, "-d", "k", "-l", "8388608", "x"), 0);
        assert_int_equal(a.num[FL_OPT_KEYFILE_SIZE], FL_SECRET_MAX_SIZE);
        fl_args_free(&a);
        assert_int_equal(PARSE(v, &a, "-d", "k", "-l", "8388609", "x"), -EINVAL);
        fl_args_free(&a);
        /* only with --key-file */
        assert_int_equal(PARSE(v, &a, "--keyfile-offset", "1", "x"), -EINVAL);
        fl_args_free(&a);
    }
    /* a repeatable option keeps every value; elsewhere the last one counts */
    assert_int_equal(PARSE(FL_VERB_MIGRATE, &a, "-d", "a", "--key-file=b", "x"), 0);
    assert_string_equal(fl_arg_list(&a, FL_OPT_KEY_FILE)[0], "a");
    assert_string_equal(fl_arg_list(&a, FL_OPT_KEY_FILE)[1], "b");
    assert_null(fl_arg_list(&a, FL_OPT_KEY_FILE)[2]);
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_FORMAT, &a, "-d", "-", "-d", "-", "x"), 0);
    assert_string_equal(fl_arg(&a, FL_OPT_KEY_FILE), "-");
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_REENCRYPT, &a, "-d", "-", "-d", "-", "x"), -EINVAL);
    fl_args_free(&a);
    /* an option a verb does not take is unknown to it */
    assert_int_equal(PARSE(FL_VERB_SCAN, &a, "--hash", "sha256"), -EINVAL);
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_CHECK, &a, "--keyfile-size", "4"), -EINVAL);
    fl_args_free(&a);
    /* every verb that reads key files takes the key-file options, reencrypt included */
    assert_int_equal(
        PARSE(FL_VERB_REENCRYPT, &a, "--keyfile-size", "4", "--keyfile-offset", "2", "-d", "k", "x"), 0);
    assert_int_equal(a.num[FL_OPT_KEYFILE_SIZE], 4);
    assert_int_equal(a.num[FL_OPT_KEYFILE_OFFSET], 2);
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_REENCRYPT, &a, "--keyfile-size", "4", "x"),
                     -EINVAL); /* needs --key-file */
    fl_args_free(&a);
    /* the positional arguments stay with the parsed options */
    assert_int_equal(PARSE(FL_VERB_SCAN, &a, "-J", "2", "a", "--json", "b"), 0);
    assert_int_equal(a.num[FL_OPT_JOBS], 2);
    assert_true(fl_flag(&a, FL_OPT_JSON));
    assert_string_equal(fl_args_rest(&a)[0], "a");
    assert_string_equal(fl_args_rest(&a)[1], "b");
    assert_null(fl_args_rest(&a)[2]);
    fl_args_free(&a);
    /* --crypttab: migrate's alone; --root: scan, check and migrate (with --crypttab) */
    assert_int_equal(PARSE(FL_VERB_MIGRATE, &a, "--crypttab", "--root", "/mnt/host", "--dry-run"), 0);
    assert_true(fl_flag(&a, FL_OPT_CRYPTTAB));
    assert_string_equal(fl_arg(&a, FL_OPT_ROOT), "/mnt/host");
    assert_null(fl_args_rest(&a) ? fl_args_rest(&a)[0] : NULL);
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_SCAN, &a, "--root", "/mnt/host"), 0);
    assert_string_equal(fl_arg(&a, FL_OPT_ROOT), "/mnt/host");
    fl_args_free(&a);
    for (int v = 0; v < FL_VERB_COUNT; v++) {
        if (v == FL_VERB_MIGRATE)
            continue;
        assert_int_equal(PARSE((enum fl_verb_id)v, &a, "--crypttab", "x"), -EINVAL);
        fl_args_free(&a);
    }
    assert_int_equal(PARSE(FL_VERB_REENCRYPT, &a, "--root", "/", "x"), -EINVAL);
    fl_args_free(&a);
}

/* --sysext URL: check's alone, kept as given; the verbs without it refuse it */
static void test_sysext(void **state)
{
    struct fl_args a;

    assert_string_equal(fl_option_table[FL_OPT_SYSEXT].arg, "URL");
    assert_int_equal(fl_option_table[FL_OPT_SYSEXT].verbs, FL_V(FL_VERB_CHECK));
    assert_int_equal(PARSE(FL_VERB_CHECK, &a, "--emit", "butane", "--sysext", "https://example.com/f.raw"),
                     0);
    assert_string_equal(fl_arg(&a, FL_OPT_SYSEXT), "https://example.com/f.raw");
    assert_string_equal(fl_arg(&a, FL_OPT_EMIT), "butane");
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_CHECK, &a, "--sysext=s3://b/f.raw"), 0);
    assert_string_equal(fl_arg(&a, FL_OPT_SYSEXT), "s3://b/f.raw");
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_CHECK, &a), 0);
    assert_null(fl_arg(&a, FL_OPT_SYSEXT));
    fl_args_free(&a);
    for (int v = 0; v < FL_VERB_COUNT; v++) {
        if (v == FL_VERB_CHECK)
            continue;
        assert_int_equal(PARSE((enum fl_verb_id)v, &a, "--sysext", "https://example.com/f.raw", "x"),
                         -EINVAL);
        fl_args_free(&a);
    }
    /* an option that needs its URL */
    assert_int_equal(PARSE(FL_VERB_CHECK, &a, "--sysext"), -EINVAL);
    fl_args_free(&a);
}

/* A number refused with the one wording: the option, the value, the range and what the number counts. */
static void assert_refused(const char *line, const char *opt, const char *value, const char *range)
{
    char want[256];

    snprintf(want, sizeof(want), "--%s '%s': not a number from %s", opt, value, range);
    if (!strstr(line, want))
        fail_msg("'%s' is not in '%s'", want, line);
}

/* Typed numbers: --key-size bits, --sector-size bytes 512..4096 power of two, --hotzone-size bytes with
 * cryptsetup's suffixes, a multiple of 4096 up to 1 TiB; parsed once into num[], refused with one wording. */
static void test_numbers(void **state)
{
    static const struct {
        const char *arg;
        uint64_t bytes; /* 0: refused */
    } hotzones[] = {
        {"4096", 4096},
        {"8192", 8192},
        {"4K", 4096},
        {"4k", 4096},
        {"4KiB", 4096},
        {"1M", 1 << 20},
        {"1MiB", 1 << 20},
        {"2G", UINT64_C(2) << 30},
        {"1T", UINT64_C(1) << 40},
        {"8s", 4096},
        {"4096000KB", 4096000000},
        {"4096MB", 4096000000},
        {"0", 0},
        {"4095", 0},
        {"5000", 0},
        {"1MB", 0},
        {"7s", 0},
        {"2T", 0},
        {"1099511631872", 0},
        {"4K ", 0},
        {" 4K", 0},
        {"4Ki", 0},
        {"4KB ", 0},
        {"4X", 0},
        {"K", 0},
        {"", 0},
        {"-4096", 0},
        {"+4096", 0},
        {"18446744073709551615K", 0},
        {"99999999999999999999999", 0},
        {"4sB", 0},
    };
    static const uint64_t sectors[] = {
        0,    1,    256,  511,  512,  513,  768,  1000, 1023,  1024,
        1025, 1536, 2048, 3000, 4095, 4096, 4097, 8192, 65536, UINT32_MAX + UINT64_C(1)};
    struct fl_args a;

    assert_string_equal(fl_option_table[FL_OPT_KEY_SIZE].unit, "bits");
    assert_string_equal(fl_option_table[FL_OPT_SECTOR_SIZE].unit, "bytes");
    assert_string_equal(fl_option_table[FL_OPT_HOTZONE_SIZE].unit, "bytes");
    for (size_t i = 0; i < sizeof(hotzones) / sizeof(hotzones[0]); i++) {
        int r = PARSE(FL_VERB_REENCRYPT, &a, "--hotzone-size", hotzones[i].arg, "x");

        if (hotzones[i].bytes) {
            if (r != 0)
                fail_msg("--hotzone-size '%s' refused: %s", hotzones[i].arg, captured);
            assert_int_equal(a.num[FL_OPT_HOTZONE_SIZE], hotzones[i].bytes);
        } else {
            if (r != -EINVAL)
                fail_msg("--hotzone-size '%s' accepted", hotzones[i].arg);
            assert_refused(captured, "hotzone-size", hotzones[i].arg,
                           "4096 to 1099511627776 (bytes, a multiple of 4096; suffixes");
            assert_non_null(strstr(captured, "Try 'fipsluks reencrypt --help'."));
        }
        fl_args_free(&a);
    }
    for (size_t i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
        uint64_t n = sectors[i];
        char arg[16];
        bool ok = n >= 512 && n <= 4096 && !(n & (n - 1));

        snprintf(arg, sizeof(arg), "%llu", (unsigned long long)n);
        assert_int_equal(PARSE(FL_VERB_FORMAT, &a, "--sector-size", arg, "x"), ok ? 0 : -EINVAL);
        if (ok)
            assert_int_equal(a.num[FL_OPT_SECTOR_SIZE], n);
        else
            assert_refused(captured, "sector-size", arg, "512 to 4096 (bytes, a power of two; ");
        fl_args_free(&a);
    }
    for (size_t i = 0; i < 3; i++) {
        static const char *const bad[] = {"4k", "0x200", "-512"};
        assert_int_equal(PARSE(FL_VERB_FORMAT, &a, "--sector-size", bad[i], "x"), -EINVAL);
        assert_refused(captured, "sector-size", bad[i], "512 to 4096");
        fl_args_free(&a);
    }
    assert_int_equal(PARSE(FL_VERB_FORMAT, &a, "-s", "256", "x"), 0);
    assert_int_equal(a.num[FL_OPT_KEY_SIZE], 256);
    fl_args_free(&a);
    for (size_t i = 0; i < 6; i++) {
        static const char *const bad[] = {"0", "abc", "4294967296", "256bits", "384", "0256"};
        char want[128];

        assert_int_equal(PARSE(FL_VERB_FORMAT, &a, "--key-size", bad[i], "x"), -EINVAL);
        snprintf(want, sizeof(want), "--key-size '%s' is not allowed; approved choices: 256, 512\n", bad[i]);
        assert_non_null(strstr(captured, want));
        fl_args_free(&a);
    }
    /* --max-age: seconds, with one unit s, m, h, d or w */
    for (size_t i = 0; i < 7; i++) {
        static const struct {
            const char *arg;
            uint64_t seconds;
        } ok[] = {{"0", 0},     {"90", 90},     {"90s", 90},   {"5m", 300},
                  {"2h", 7200}, {"2d", 172800}, {"1w", 604800}};
        assert_int_equal(PARSE(FL_VERB_REPORT, &a, "--max-age", ok[i].arg, "x"), 0);
        assert_int_equal(a.num[FL_OPT_MAX_AGE], ok[i].seconds);
        fl_args_free(&a);
    }
    for (size_t i = 0; i < 9; i++) {
        static const char *const bad[] = {
            "", "d", "3x", "1ds", "1hm", "-1", "2 d", "1D", "99999999999999999999w"};
        char want[128];

        assert_int_equal(PARSE(FL_VERB_REPORT, &a, "--max-age", bad[i], "x"), -EINVAL);
        snprintf(want, sizeof(want), "--max-age '%s': not a number (seconds; units s, m, h, d, w)\n", bad[i]);
        if (!strstr(captured, want))
            fail_msg("'%s' is not in '%s'", want, captured);
        fl_args_free(&a);
    }
    /* the milliseconds of --iter-time, the bytes of the key-file options */
    assert_int_equal(PARSE(FL_VERB_MIGRATE, &a, "-i", "3600001", "x"), -EINVAL);
    assert_refused(captured, "iter-time", "3600001", "1 to 3600000 (milliseconds)");
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_MIGRATE, &a, "-d", "k", "-l", "8388609", "x"), -EINVAL);
    assert_refused(captured, "keyfile-size", "8388609", "0 to 8388608 (bytes; 0 reads the whole file)");
    fl_args_free(&a);
}

/* Refused with the one wording of a value not in the set. */
static void assert_not_allowed(const char *line, const char *opt, const char *value, const char *choices)
{
    char want[256];

    snprintf(want, sizeof(want), "--%s '%s' is not allowed; %s\nTry 'fipsluks ", opt, value, choices);
    if (!strstr(line, want))
        fail_msg("'%s' is not in '%s'", want, line);
}

/* Allowed values per option: in the table, checked by the parser with one wording, shown in --help's
 * argument, given to the verbs as an index (fl_arg_choice()); the library's own sets it accepts. */
static void test_values(void **state)
{
    static const struct {
        enum fl_verb_id verb;
        const char *opt, *good, *bad, *choices;
        int index;
    } cases[] = {
        {FL_VERB_SCAN, "--format", "json-lines", "xml", "choices: text, json, json-lines, prometheus",
         FL_SCAN_FORMAT_JSON_LINES},
        {FL_VERB_SCAN, "--format", "prometheus", "Text", "choices: text, json, json-lines, prometheus",
         FL_SCAN_FORMAT_PROMETHEUS},
        {FL_VERB_CHECK, "--format", "prometheus", "json-lines", "choices: text, json, prometheus",
         FL_CHECK_FORMAT_PROMETHEUS},
        {FL_VERB_CHECK, "--emit", "ignition", "yaml", "choices: butane, ignition", FL_EMIT_IGNITION},
        {FL_VERB_CHECK, "--emit", "butane", "", "choices: butane, ignition", FL_EMIT_BUTANE},
        {FL_VERB_REENCRYPT, "--verify-data", "full", "all", "choices: sample, full", FL_VERIFY_DATA_FULL},
        {FL_VERB_REENCRYPT, "--verify-data", "sample", "Full", "choices: sample, full",
         FL_VERIFY_DATA_SAMPLE},
        {FL_VERB_REENCRYPT, "--resilience", "journal", "none", "choices: checksum, journal", 1},
        {FL_VERB_MIGRATE, "--hash", "SHA512", "md5", "approved choices: sha256, sha512", 1},
        {FL_VERB_FORMAT, "--key-size", "512", "128", "approved choices: 256, 512", 1},
    };
    struct fl_args a;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum fl_opt opt = fl_option_by_name(cases[i].opt + 2);

        assert_int_equal(PARSE(cases[i].verb, &a, cases[i].opt, cases[i].good, "x"), 0);
        assert_int_equal(fl_arg_choice(&a, opt), cases[i].index);
        fl_args_free(&a);
        assert_int_equal(PARSE(cases[i].verb, &a, cases[i].opt, cases[i].bad, "x"), -EINVAL);
        assert_not_allowed(captured, cases[i].opt + 2, cases[i].bad, cases[i].choices);
        fl_args_free(&a);
        /* the last value counts: a bad one before it is not looked at */
        assert_int_equal(
            PARSE(cases[i].verb, &a, cases[i].opt, cases[i].bad, cases[i].opt, cases[i].good, "x"), 0);
        fl_args_free(&a);
    }
    /* not given: no choice; scan's --json is its own */
    assert_int_equal(PARSE(FL_VERB_SCAN, &a, "x"), 0);
    assert_int_equal(fl_arg_choice(&a, FL_OPT_FORMAT), -1);
    fl_args_free(&a);
    /* the set of --hash is the library's predicate, exactly */
    for (const char *const *h = fl_option_values(FL_VERB_FORMAT, FL_OPT_HASH); *h; h++)
        assert_true(fl_kdf_hash_allowed(*h));
    for (size_t i = 0; i < 5; i++) {
        static const char *const no[] = {"sha1", "sha384", "ripemd160", "whirlpool", "md5"};
        assert_false(fl_kdf_hash_allowed(no[i]));
    }
    /* every verb's set is in the table for that verb, and --help shows it as the argument */
    assert_null(fl_option_values(FL_VERB_SCAN, FL_OPT_OUTPUT));
    assert_int_equal(PARSE(FL_VERB_CHECK, &a), 0);
    for (const struct poptOption *p = a.popt; p->longName || p->argInfo; p++)
        if (p->longName && !strcmp(p->longName, "emit"))
            assert_string_equal(p->argDescrip, "butane|ignition");
    fl_args_free(&a);
}

/* A list of values (report's --output, as lsblk's): comma-separated, any case, "+" in front adds to the
 * default; an unknown item refused with the one wording; at most FL_LIST_MAX items; --help shows the
 * argument's name and lists the values with their help. */
static void test_lists(void **state)
{
    struct fl_args a;
    int items[FL_LIST_MAX];
    bool add = true;
    char many[FL_LIST_MAX * 3 + 8] = "";

    assert_int_equal(PARSE(FL_VERB_REPORT, &a, "--output", "state,Host,vols", "x"), 0);
    assert_int_equal(fl_arg_choices(&a, FL_OPT_OUTPUT, items, &add), 3);
    assert_false(add);
    assert_int_equal(items[0], FL_COL_STATE);
    assert_int_equal(items[1], FL_COL_HOST);
    assert_int_equal(items[2], FL_COL_VOLUMES);
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_REPORT, &a, "-o", "+BAD,bad", "x"), 0);
    assert_int_equal(fl_arg_choices(&a, FL_OPT_OUTPUT, items, &add), 2);
    assert_true(add);
    assert_int_equal(items[0], FL_COL_NOT_OK);
    assert_int_equal(items[1], FL_COL_NOT_OK);
    fl_args_free(&a);
    for (size_t i = 0; i < 6; i++) {
        static const char *const bad[] = {"HOST,NAME", "", "HOST,", "HOST,+OS", "HOS", "HOST OS"};
        static const char *const item[] = {"NAME", "", "", "+OS", "HOS", "HOST OS"};

        assert_int_equal(PARSE(FL_VERB_REPORT, &a, "--output", bad[i], "x"), -EINVAL);
        assert_not_allowed(captured, "output", item[i],
                           "choices: HOST, OS, SCANNED, VOLS, OK, BAD, UNREAD, STATE");
        fl_args_free(&a);
    }
    for (int i = 0; i < FL_LIST_MAX; i++)
        strcat(many, i ? ",OK" : "OK");
    assert_int_equal(PARSE(FL_VERB_REPORT, &a, "--output", many, "x"), 0);
    assert_int_equal(fl_arg_choices(&a, FL_OPT_OUTPUT, items, &add), FL_LIST_MAX);
    fl_args_free(&a);
    strcat(many, ",OK");
    assert_int_equal(PARSE(FL_VERB_REPORT, &a, "--output", many, "x"), -EINVAL);
    assert_non_null(strstr(captured, "--output: more than 32 items"));
    fl_args_free(&a);
    /* not given: nothing; scan's --output is a FILE, not a list */
    assert_int_equal(PARSE(FL_VERB_REPORT, &a, "x"), 0);
    assert_int_equal(fl_arg_choices(&a, FL_OPT_OUTPUT, items, &add), 0);
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_SCAN, &a, "--output", "HOST,NAME", "x"), 0);
    assert_string_equal(fl_arg(&a, FL_OPT_OUTPUT), "HOST,NAME");
    for (const struct poptOption *p = a.popt; p->longName || p->argInfo; p++)
        if (p->longName && !strcmp(p->longName, "output"))
            assert_string_equal(p->argDescrip, "FILE");
    assert_null(a.values_help);
    fl_args_free(&a);
    assert_int_equal(PARSE(FL_VERB_REPORT, &a), 0);
    for (const struct poptOption *p = a.popt; p->longName || p->argInfo; p++)
        if (p->longName && !strcmp(p->longName, "output"))
            assert_string_equal(p->argDescrip, "COLS");
    assert_non_null(a.values_help);
    assert_non_null(strstr(a.values_help, "\n  UNREAD   volumes that could not be read\n"));
    fl_args_free(&a);
}

/* The library's reasons are an enum: each maps to the format option it names; the sets of values the
 * library checks itself (cipher, pbkdf, type) are each accepted by it, and a value outside them is refused
 * as that very option. */
static void test_library_reasons(void **state)
{
    static const enum fl_opt library_sets[] = {FL_OPT_CIPHER, FL_OPT_PBKDF, FL_OPT_TYPE};

    for (int i = FL_FORMAT_PARAM_NONE + 1; i < FL_FORMAT_PARAM_COUNT; i++) {
        enum fl_opt opt = fl_format_param_option[i];

        assert_true(opt < FL_OPT_COUNT);
        assert_true(fl_option_table[opt].verbs & FL_V(FL_VERB_FORMAT));
        for (int k = FL_FORMAT_PARAM_NONE + 1; k < i; k++)
            assert_int_not_equal(fl_format_param_option[k], opt); /* one option per reason */
    }
    for (size_t i = 0; i < sizeof(library_sets) / sizeof(library_sets[0]); i++) {
        enum fl_opt opt = library_sets[i];
        const char *const *values = fl_option_values(FL_VERB_FORMAT, opt);
        enum fl_format_param param = FL_FORMAT_PARAM_NONE;
        struct fl_format_params p;
        const char **field;

        assert_true(fl_option_table[opt].library_checks);
        assert_non_null(values);
        for (; *values; values++) {
            fl_format_params_default(&p);
            field = opt == FL_OPT_CIPHER ? &p.cipher : opt == FL_OPT_PBKDF ? &p.pbkdf : &p.type;
            *field = *values;
            if (opt == FL_OPT_CIPHER && !strcmp(*values, "aes-cbc-essiv:sha256"))
                p.key_bits = 256;
            assert_int_equal(fl_format_check_params(&p, &param, NULL), 0);
        }
        fl_format_params_default(&p);
        field = opt == FL_OPT_CIPHER ? &p.cipher : opt == FL_OPT_PBKDF ? &p.pbkdf : &p.type;
        *field = "no-such-value";
        assert_int_equal(fl_format_check_params(&p, &param, NULL), -EINVAL);
        assert_int_equal(fl_format_param_option[param], opt);
    }
    /* every value the parser lets through for --key-size, with the default cipher */
    for (const char *const *v = fl_option_values(FL_VERB_FORMAT, FL_OPT_KEY_SIZE); *v; v++) {
        struct fl_format_params p;

        fl_format_params_default(&p);
        p.key_bits = (uint32_t)strtoul(*v, NULL, 10);
        assert_int_equal(fl_format_check_params(&p, NULL, NULL), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),           cmocka_unit_test(test_shared_rules),
        cmocka_unit_test(test_sysext),          cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_values),          cmocka_unit_test(test_lists),
        cmocka_unit_test(test_library_reasons),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
