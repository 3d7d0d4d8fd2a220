/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fipsluks check: is this host FIPS-ready? Kernel, OpenSSL, libcryptsetup, sshd, LUKS volumes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fipsluks/array.h"
#include "fipsluks/host.h"
#include "fipsluks/identity.h"
#include "fipsluks/provision.h"
#include "../lib/cleanup.h"
#include "cli.h"

static json_object *json_check(const struct fl_check *c)
{
    json_object *o = json_object_new_object(), *evidence = json_object_new_array();

    json_object_object_add(o, "id", json_object_new_string(c->id));
    json_object_object_add(o, "status", json_object_new_string(fl_check_status_name(c->status)));
    json_object_object_add(o, "message", fl_json_string(c->message));
    for (size_t i = 0; i < c->n_evidence; i++)
        json_object_array_add(evidence, fl_json_string(c->evidence[i]));
    json_object_object_add(o, "evidence", evidence);
    json_object_object_add(o, "remedy", fl_json_string(c->remedy));
    return o;
}

/* The safe order of remedies: [{"step", "check", "stage", "reboot", "why"}]. */
static json_object *json_remedy_order(const struct fl_checks *checks)
{
    json_object *arr = json_object_new_array();
    size_t order[sizeof(checks->items) / sizeof(checks->items[0])];
    size_t n = fl_remedy_order(checks, order);

    for (size_t i = 0; i < n; i++) {
        const struct fl_check *c = &checks->items[order[i]];
        const struct fl_remedy_step *step = fl_remedy_step(c->id);
        json_object *o = json_object_new_object();

        json_object_object_add(o, "step", json_object_new_int((int)i + 1));
        json_object_object_add(o, "check", json_object_new_string(c->id));
        json_object_object_add(o, "stage", json_object_new_int((int)fl_remedy_stage(c->id)));
        json_object_object_add(o, "reboot", json_object_new_boolean(step && step->reboot));
        json_object_object_add(o, "why", fl_json_string(step ? step->why : NULL));
        json_object_array_add(arr, o);
    }
    return arr;
}

static int print_json(FILE *out, const char *root, const struct fl_checks *checks, const unsigned count[4])
{
    struct fl_identity id;
    _cleanup_json_ json_object *doc = NULL, *arr = json_object_new_array(), *sum = json_object_new_object();
    int r;

    r = fl_identity_read(root, &id);
    doc = r < 0 ? NULL : fl_json_record("check", &id, "checked_at");
    fl_identity_clear(&id);
    if (!doc || !arr || !sum)
        return -ENOMEM;
    json_object_object_add(doc, "root", fl_json_string(root));
    for (size_t i = 0; i < checks->n; i++)
        json_object_array_add(arr, json_check(&checks->items[i]));
    json_object_object_add(doc, "checks", TAKE_PTR(arr));
    json_object_object_add(doc, "remedy_order", json_remedy_order(checks));
    json_object_object_add(sum, "pass", json_object_new_int((int)count[FL_CHECK_PASS]));
    json_object_object_add(sum, "warn", json_object_new_int((int)count[FL_CHECK_WARN]));
    json_object_object_add(sum, "fail", json_object_new_int((int)count[FL_CHECK_FAIL]));
    json_object_object_add(sum, "skip", json_object_new_int((int)count[FL_CHECK_SKIP]));
    json_object_object_add(doc, "summary", TAKE_PTR(sum));
    json_object_object_add(doc, "fips_ready", json_object_new_boolean(count[FL_CHECK_FAIL] == 0));
    r = fl_json_write(out, doc, false);
    if (r >= 0 && (fputc('\n', out) == EOF || fflush(out) == EOF || ferror(out)))
        r = -EIO;
    return r;
}

/* Each line of @p text after @p prefix, escaped (remedies: one action per line). */
static void print_lines(FILE *out, const char *prefix, const char *text)
{
    const char *p = text;

    while (p && *p) {
        const char *nl = strchr(p, '\n');
        char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));

        fputs(prefix, out);
        fl_fputs_escaped(line ? line : "", out);
        fputc('\n', out);
        free(line);
        p = nl ? nl + 1 : NULL;
    }
}

/* The safe order in which to apply the remedies above, and why. */
static void print_remedy_order(FILE *out, const struct fl_checks *checks)
{
    size_t order[sizeof(checks->items) / sizeof(checks->items[0])];
    size_t n = fl_remedy_order(checks, order);

    if (!n)
        return;
    fprintf(out, "\nfix in this order (top to bottom keeps the host bootable and reachable):\n");
    for (size_t i = 0; i < n; i++) {
        const struct fl_check *c = &checks->items[order[i]];
        const struct fl_remedy_step *step = fl_remedy_step(c->id);

        fprintf(out, "  %zu. %s%s: %s\n", i + 1, c->id, step && step->reboot ? " (needs a reboot)" : "",
                step ? step->why : "");
    }
}

static int print_text(FILE *out, const char *root, const struct fl_checks *checks, const unsigned count[4])
{
    static const char *const labels[] = {
        [FL_CHECK_PASS] = "PASS",
        [FL_CHECK_WARN] = "WARN",
        [FL_CHECK_FAIL] = "FAIL",
        [FL_CHECK_SKIP] = "SKIP",
    };
    static const enum fl_color colors[] = {
        [FL_CHECK_PASS] = FL_COLOR_GREEN,
        [FL_CHECK_WARN] = FL_COLOR_YELLOW,
        [FL_CHECK_FAIL] = FL_COLOR_RED,
        [FL_CHECK_SKIP] = FL_COLOR_DIM,
    };

    if (root) {
        fprintf(out, "checking the host below ");
        fl_fputs_escaped(root, out);
        fprintf(out, " (openssl-live and libcryptsetup test this process)\n\n");
    }
    for (size_t i = 0; i < checks->n; i++) {
        const struct fl_check *c = &checks->items[i];
        fprintf(out, "%s%-4s%s %-15s ", fl_color_on(out, colors[c->status]), labels[c->status],
                fl_color_off(out), c->id);
        fl_fputs_escaped(c->message ? c->message : "", out);
        fputc('\n', out);
        for (size_t e = 0; e < c->n_evidence; e++) {
            /* one line each: a newline in it (a file name can hold one) is escaped, not obeyed */
            fputs("       ", out);
            fl_fputs_escaped(c->evidence[e], out);
            fputc('\n', out);
        }
        if (c->status == FL_CHECK_FAIL || c->status == FL_CHECK_WARN)
            print_lines(out, "       fix: ", c->remedy);
    }
    print_remedy_order(out, checks);
    fprintf(out, "\n%zu checks: %u pass, %u warn, %u fail, %u skip: %s\n", checks->n, count[FL_CHECK_PASS],
            count[FL_CHECK_WARN], count[FL_CHECK_FAIL], count[FL_CHECK_SKIP],
            count[FL_CHECK_FAIL] ? "this host is NOT FIPS-ready" : "this host is FIPS-ready");
    return fflush(out) == EOF || ferror(out) ? -EIO : 0;
}

/*
 * --format prometheus: node_exporter's textfile format, as scan's (prometheus.c). Every check with
 * every status, 1 for the one it has and 0 for the others, so a check that changes status changes a
 * value and no series vanishes. fipsluks_host_fips_mode comes from scan's file only (node_exporter
 * refuses a series two files both write); the FipsLuksCheckNotReady alert joins the two.
 */
static int print_prometheus(FILE *out, const char *root, const struct fl_checks *checks,
                            const unsigned count[4])
{
    static const enum fl_check_status statuses[] = {FL_CHECK_FAIL, FL_CHECK_PASS, FL_CHECK_SKIP,
                                                    FL_CHECK_WARN};
    struct fl_identity id;
    int r;

    r = fl_identity_read(root, &id);
    if (r < 0)
        return r;
    fl_prom_family(out, "fipsluks_check_info",
                   "fipsluks version and host identity of the last check (always 1).");
    fprintf(out, "fipsluks_check_info{version=\"%s\",hostname=\"", FL_VERSION);
    fl_prom_label_value(out, id.hostname);
    fputs("\",machine_id=\"", out);
    fl_prom_label_value(out, id.machine_id);
    fputs("\",os_id=\"", out);
    fl_prom_label_value(out, id.os_id);
    fputs("\",os_version_id=\"", out);
    fl_prom_label_value(out, id.os_version_id);
    fputs("\"} 1\n", out);
    fl_prom_family(out, "fipsluks_check_timestamp_seconds",
                   "When the last check ran, in seconds since the epoch.");
    fprintf(out, "fipsluks_check_timestamp_seconds %lld\n", (long long)id.time);
    fl_identity_clear(&id);
    fl_prom_family(
        out, "fipsluks_check_status",
        "1 for the status a check of fipsluks check has (fail, pass, skip, warn), 0 for the others.");
    for (size_t i = 0; i < checks->n; i++)
        for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
            fputs("fipsluks_check_status{check=\"", out);
            fl_prom_label_value(out, checks->items[i].id);
            fprintf(out, "\",status=\"%s\"} %d\n", fl_check_status_name(statuses[s]),
                    checks->items[i].status == statuses[s] ? 1 : 0);
        }
    fl_prom_family(out, "fipsluks_checks", "Checks of the last check, by status.");
    for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++)
        fprintf(out, "fipsluks_checks{status=\"%s\"} %u\n", fl_check_status_name(statuses[s]),
                count[statuses[s]]);
    fl_prom_family(out, "fipsluks_check_fips_ready",
                   "1 when no check fails (the host is FIPS-ready), 0 when one does.");
    fprintf(out, "fipsluks_check_fips_ready %d\n", count[FL_CHECK_FAIL] ? 0 : 1);
    return fflush(out) == EOF || ferror(out) ? -EIO : 0;
}

static int emit(enum fl_emit format, const struct fl_provision_luks *luks, size_t n_luks, const char *sysext)
{
    struct fl_provision p = *fl_provision_fips();
    char *text = NULL;
    int r;

    p.luks = luks;
    p.n_luks = n_luks;
    p.sysext_url = sysext;
    if (format == FL_EMIT_BUTANE)
        r = fl_provision_butane(&p, &text);
    else
        r = fl_provision_ignition(&p, &text);
    if (r < 0)
        return r;
    fputs(text, stdout);
    if (*text && text[strlen(text) - 1] != '\n')
        putchar('\n');
    free(text);
    /* JSON has no comments: the hint the Butane config carries as one goes to stderr */
    if (!n_luks && format != FL_EMIT_BUTANE)
        fprintf(stderr, "fipsluks check: note: no storage.luks entries: Ignition formats LUKS volumes with "
                        "cryptsetup's defaults (argon2id), which do not open on a FIPS host; add --luks "
                        "NAME:DEVICE[:KEYFILE[:LABEL]] for entries made with --pbkdf pbkdf2\n");
    return fflush(stdout) == EOF || ferror(stdout) ? -EIO : FL_EXIT_OK;
}

/* Ignition fetches key files; only Butane reads local ones (at transpile time). The system extension
 * is always downloaded at provisioning, so it is a URL in both. */
static int emit_checked(enum fl_emit format, const struct fl_provision_luks *luks, size_t n_luks,
                        const char *sysext)
{
    if (sysext && !fl_provision_is_url(sysext))
        return fl_usage_error("check",
                              "--sysext '%s': give the URL Ignition downloads the image from (https://…, "
                              "s3://…, tftp://…)",
                              sysext);
    for (size_t i = 0; i < n_luks; i++)
        if (format == FL_EMIT_IGNITION && luks[i].key_file && !fl_provision_is_url(luks[i].key_file))
            return fl_usage_error("check",
                                  "--luks %s: Ignition cannot read the local key file '%s': give a URL "
                                  "(https://…, s3://…, data:…), or use --emit butane (butane --files-dir)",
                                  luks[i].name, luks[i].key_file);
    return emit(format, luks, n_luks, sysext);
}

/* --format (one of its values, checked by fl_options_parse()) or --json into @p ret. */
static int parse_format(const struct fl_args *a, enum fl_check_format *ret)
{
    bool json = fl_flag(a, FL_OPT_JSON);

    *ret = json ? FL_CHECK_FORMAT_JSON : FL_CHECK_FORMAT_TEXT;
    if (!fl_flag(a, FL_OPT_FORMAT))
        return 0;
    if (json)
        return fl_usage_error("check", "--json and --format exclude each other");
    *ret = (enum fl_check_format)fl_arg_choice(a, FL_OPT_FORMAT);
    return 0;
}

/* Run the checks and write the report in @p fmt to @p output (NULL: standard output, else atomically). */
static int report(const char *root, enum fl_check_format fmt, const char *output)
{
    struct fl_checks checks = {0};
    struct fl_atomic file = {0};
    unsigned count[4] = {0};
    FILE *out = stdout;
    int r;

    r = fl_host_check_all(root, &checks);
    if (r < 0) {
        fl_log_error_errno(r, "check failed: %m");
        goto out;
    }
    for (size_t i = 0; i < checks.n; i++)
        count[checks.items[i].status]++;
    if (output) {
        r = fl_atomic_open(output, &file);
        if (r < 0) {
            fl_log_error_errno(r, "cannot write '%s': %m", output);
            goto out;
        }
        out = file.file;
    }
    switch (fmt) {
    case FL_CHECK_FORMAT_JSON:
        r = print_json(out, root, &checks, count);
        break;
    case FL_CHECK_FORMAT_PROMETHEUS:
        r = print_prometheus(out, root, &checks, count);
        break;
    case FL_CHECK_FORMAT_TEXT:
        r = print_text(out, root, &checks, count);
        break;
    }
    if (r >= 0 && output)
        r = fl_atomic_commit(&file);
    if (r < 0) {
        if (output)
            fl_log_error_errno(r, "cannot write '%s': %m", output);
        else
            fl_log_error_errno(r, "cannot write the report: %m");
        goto out;
    }
    r = count[FL_CHECK_FAIL] ? FL_EXIT_INCOMPATIBLE : FL_EXIT_OK;
out:
    if (file.file)
        fl_atomic_abort(&file);
    fl_checks_clear(&checks);
    return r;
}

/* The --luks volumes, parsed. */
struct luks_list {
    struct fl_provision_luks *v;
    size_t n, allocated;
};

static void luks_list_clear(struct luks_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        fl_provision_luks_clear(&l->v[i]);
    free(l->v);
}

int verb_check(int argc, const char **argv)
{
    _cleanup_(fl_args_free) struct fl_args a = {0};
    _cleanup_(luks_list_clear) struct luks_list luks = {0};
    const char *root, *output;
    enum fl_check_format fmt;
    bool json;
    int r = 0;
    struct stat st;

    r = fl_options_parse(FL_VERB_CHECK, argc, argv, &a);
    if (r < 0)
        return r;
    json = fl_flag(&a, FL_OPT_JSON);
    root = fl_arg(&a, FL_OPT_ROOT);
    output = fl_arg(&a, FL_OPT_OUTPUT);
    for (char *const *spec = fl_arg_list(&a, FL_OPT_LUKS); *spec; spec++) {
        r = fl_array_grow(&luks.v, &luks.allocated, luks.n + 1, sizeof(*luks.v));
        if (r == 0)
            r = fl_provision_luks_parse(*spec, &luks.v[luks.n]);
        if (r == -EINVAL)
            r = fl_usage_error(
                "check",
                "--luks '%s': expected NAME:DEVICE[:KEYFILE[:LABEL]], NAME without '/', DEVICE "
                "an absolute path (a colon in a field: \\:)",
                *spec);
        if (r < 0)
            return r;
        luks.n++;
    }
    if (fl_args_rest(&a))
        return fl_usage_error("check", "unexpected argument '%s'", fl_args_rest(&a)[0]);
    if (fl_flag(&a, FL_OPT_EMIT)) {
        if (json || root || fl_arg(&a, FL_OPT_FORMAT) || output)
            return fl_usage_error("check",
                                  "--emit prints a config; it takes no --json, --format, --output or --root");
        return emit_checked((enum fl_emit)fl_arg_choice(&a, FL_OPT_EMIT), luks.v, luks.n,
                            fl_arg(&a, FL_OPT_SYSEXT));
    }
    if (luks.n)
        return fl_usage_error("check", "--luks goes with --emit");
    if (fl_arg(&a, FL_OPT_SYSEXT))
        return fl_usage_error("check", "--sysext goes with --emit");
    r = parse_format(&a, &fmt);
    if (r < 0)
        return r;
    if (output && !*output)
        return fl_usage_error("check", "--output needs a FILE name");
    if (root && (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)))
        return fl_usage_error("check", "--root '%s' is not a directory", root);
    return report(root, fmt, output);
}
