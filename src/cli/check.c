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
        json_object_object_add(o, "stage", json_object_new_int(step ? (int)step->stage : 3));
        json_object_object_add(o, "reboot", json_object_new_boolean(step && step->reboot));
        json_object_object_add(o, "why", fl_json_string(step ? step->why : NULL));
        json_object_array_add(arr, o);
    }
    return arr;
}

static int print_json(const char *root, const struct fl_checks *checks, const unsigned count[4])
{
    struct fl_identity id;
    json_object *doc, *arr = json_object_new_array(), *sum = json_object_new_object();
    int r;

    r = fl_identity_read(root, &id);
    doc = r < 0 ? NULL : fl_json_record("check", &id, "checked_at");
    fl_identity_clear(&id);
    if (!doc || !arr || !sum) {
        json_object_put(doc);
        json_object_put(arr);
        json_object_put(sum);
        return -ENOMEM;
    }
    json_object_object_add(doc, "root", fl_json_string(root));
    for (size_t i = 0; i < checks->n; i++)
        json_object_array_add(arr, json_check(&checks->items[i]));
    json_object_object_add(doc, "checks", arr);
    json_object_object_add(doc, "remedy_order", json_remedy_order(checks));
    json_object_object_add(sum, "pass", json_object_new_int((int)count[FL_CHECK_PASS]));
    json_object_object_add(sum, "warn", json_object_new_int((int)count[FL_CHECK_WARN]));
    json_object_object_add(sum, "fail", json_object_new_int((int)count[FL_CHECK_FAIL]));
    json_object_object_add(sum, "skip", json_object_new_int((int)count[FL_CHECK_SKIP]));
    json_object_object_add(doc, "summary", sum);
    json_object_object_add(doc, "fips_ready", json_object_new_boolean(count[FL_CHECK_FAIL] == 0));
    r = fl_json_print(doc, false);
    json_object_put(doc);
    return r;
}

/* Each line of @p text after @p prefix, escaped (remedies: one action per line). */
static void print_lines(const char *prefix, const char *text)
{
    const char *p = text;

    while (p && *p) {
        const char *nl = strchr(p, '\n');
        char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));

        fputs(prefix, stdout);
        fl_fputs_escaped(line ? line : "", stdout);
        putchar('\n');
        free(line);
        p = nl ? nl + 1 : NULL;
    }
}

/* The safe order in which to apply the remedies above, and why. */
static void print_remedy_order(const struct fl_checks *checks)
{
    size_t order[sizeof(checks->items) / sizeof(checks->items[0])];
    size_t n = fl_remedy_order(checks, order);

    if (!n)
        return;
    printf("\nfix in this order (top to bottom keeps the host bootable and reachable):\n");
    for (size_t i = 0; i < n; i++) {
        const struct fl_check *c = &checks->items[order[i]];
        const struct fl_remedy_step *step = fl_remedy_step(c->id);

        printf("  %zu. %s%s: %s\n", i + 1, c->id, step && step->reboot ? " (needs a reboot)" : "",
               step ? step->why : "");
    }
}

static int print_text(const char *root, const struct fl_checks *checks, const unsigned count[4])
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
        printf("checking the host below ");
        fl_fputs_escaped(root, stdout);
        printf(" (openssl-live and libcryptsetup test this process)\n\n");
    }
    for (size_t i = 0; i < checks->n; i++) {
        const struct fl_check *c = &checks->items[i];
        printf("%s%-4s%s %-15s ", fl_color_on(stdout, colors[c->status]), labels[c->status],
               fl_color_off(stdout), c->id);
        fl_fputs_escaped(c->message ? c->message : "", stdout);
        putchar('\n');
        for (size_t e = 0; e < c->n_evidence; e++) {
            /* one line each: a newline in it (a file name can hold one) is escaped, not obeyed */
            fputs("       ", stdout);
            fl_fputs_escaped(c->evidence[e], stdout);
            putchar('\n');
        }
        if (c->status == FL_CHECK_FAIL || c->status == FL_CHECK_WARN)
            print_lines("       fix: ", c->remedy);
    }
    print_remedy_order(checks);
    printf("\n%zu checks: %u pass, %u warn, %u fail, %u skip: %s\n", checks->n, count[FL_CHECK_PASS],
           count[FL_CHECK_WARN], count[FL_CHECK_FAIL], count[FL_CHECK_SKIP],
           count[FL_CHECK_FAIL] ? "this host is NOT FIPS-ready" : "this host is FIPS-ready");
    return fflush(stdout) == EOF || ferror(stdout) ? -EIO : 0;
}

static int emit(const char *format, const struct fl_provision_luks *luks, size_t n_luks)
{
    struct fl_provision p = *fl_provision_fips();
    char *text = NULL;
    int r;

    p.luks = luks;
    p.n_luks = n_luks;
    if (!strcmp(format, "butane"))
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
    if (!n_luks && strcmp(format, "butane"))
        fprintf(stderr, "fipsluks check: note: no storage.luks entries: Ignition formats LUKS volumes with "
                        "cryptsetup's defaults (argon2id), which do not open on a FIPS host; add --luks "
                        "NAME:DEVICE[:KEYFILE[:LABEL]] for entries made with --pbkdf pbkdf2\n");
    return fflush(stdout) == EOF || ferror(stdout) ? -EIO : FL_EXIT_OK;
}

/* Ignition fetches key files; only Butane reads local ones (at transpile time). */
static int emit_checked(const char *format, const struct fl_provision_luks *luks, size_t n_luks)
{
    for (size_t i = 0; i < n_luks; i++)
        if (!strcmp(format, "ignition") && luks[i].key_file && !fl_provision_is_url(luks[i].key_file))
            return fl_usage_error("check",
                                  "--luks %s: Ignition cannot read the local key file '%s': give a URL "
                                  "(https://…, s3://…, data:…), or use --emit butane (butane --files-dir)",
                                  luks[i].name, luks[i].key_file);
    return emit(format, luks, n_luks);
}

int verb_check(int argc, const char **argv)
{
    const char *root, *format;
    struct fl_args a;
    bool json;
    int r = 0;
    struct fl_checks checks = {0};
    struct fl_provision_luks *luks = NULL;
    size_t n_luks = 0, allocated_luks = 0;
    unsigned count[4] = {0};
    struct stat st;

    r = fl_options_parse(FL_VERB_CHECK, argc, argv, &a);
    if (r < 0)
        goto out;
    json = fl_flag(&a, FL_OPT_JSON);
    root = fl_arg(&a, FL_OPT_ROOT);
    format = fl_arg(&a, FL_OPT_EMIT);
    for (char *const *spec = fl_arg_list(&a, FL_OPT_LUKS); *spec; spec++) {
        r = fl_array_grow(&luks, &allocated_luks, n_luks + 1, sizeof(*luks));
        if (r == 0)
            r = fl_provision_luks_parse(*spec, &luks[n_luks]);
        if (r == -EINVAL)
            r = fl_usage_error(
                "check",
                "--luks '%s': expected NAME:DEVICE[:KEYFILE[:LABEL]], NAME without '/', DEVICE "
                "an absolute path (a colon in a field: \\:)",
                *spec);
        if (r < 0)
            goto out;
        n_luks++;
    }
    if (fl_args_rest(&a)) {
        r = fl_usage_error("check", "unexpected argument '%s'", fl_args_rest(&a)[0]);
        goto out;
    }
    if (format) {
        if (strcmp(format, "butane") && strcmp(format, "ignition"))
            r = fl_usage_error("check", "--emit takes butane or ignition, not '%s'", format);
        else if (json || root)
            r = fl_usage_error("check", "--emit prints a config; it takes no --json or --root");
        else
            r = emit_checked(format, luks, n_luks);
        goto out;
    }
    if (n_luks) {
        r = fl_usage_error("check", "--luks goes with --emit");
        goto out;
    }
    if (root && (stat(root, &st) < 0 || !S_ISDIR(st.st_mode))) {
        r = fl_usage_error("check", "--root '%s' is not a directory", root);
        goto out;
    }

    r = fl_host_check_all(root, &checks);
    if (r < 0) {
        fl_log_error(r, "check failed");
        goto out;
    }
    for (size_t i = 0; i < checks.n; i++)
        count[checks.items[i].status]++;
    r = json ? print_json(root, &checks, count) : print_text(root, &checks, count);
    if (r >= 0)
        r = count[FL_CHECK_FAIL] ? FL_EXIT_INCOMPATIBLE : FL_EXIT_OK;
    else
        fl_log_error(r, "cannot write the report");
out:
    for (size_t i = 0; i < n_luks; i++)
        fl_provision_luks_clear(&luks[i]);
    free(luks);
    fl_checks_clear(&checks);
    fl_args_free(&a);
    return r;
}
