/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fipsluks scan: read LUKS headers and report what a FIPS host refuses. Never writes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fipsluks/discover.h"
#include "cli.h"

struct scan {
    bool json;
    bool verbose;
    unsigned walk_flags;   /* -x: FL_WALK_ONE_FILE_SYSTEM */
    json_object *volumes;  /* --json: the "volumes" array */
    json_object *skipped;  /* --json --verbose: paths not scanned (no LUKS signature, not read) */
    unsigned n_volumes, n_compatible, n_incompatible, n_unreadable, n_skipped;
    unsigned n_not_read; /* of n_skipped: pseudo file systems, other file systems (-x), vanished files */
};

static int report_error(struct scan *s, const char *path, int err)
{
    s->n_volumes++;
    s->n_unreadable++;
    if (s->json) {
        json_object_array_add(s->volumes, fl_json_volume_error(path, err));
        return 0;
    }
    fl_fputs_escaped(path, stdout);
    printf(": %scannot read%s: %s\n\n", fl_color_on(stdout, FL_COLOR_RED), fl_color_off(stdout),
           fl_volume_strerror(err));
    return 0;
}

/* A path not scanned: @p why, or no LUKS signature. Listed with --verbose, or when named explicitly. */
static int report_skipped(struct scan *s, const char *path, const char *why, bool explicit)
{
    s->n_skipped++;
    if (why)
        s->n_not_read++;
    if (!s->verbose && !explicit)
        return 0;
    if (s->json)
        return s->verbose && json_object_array_add(s->skipped, fl_json_string(path)) < 0 ? -ENOMEM : 0;
    fl_fputs_escaped(path, stdout);
    printf(": skipped (%s)\n\n", why ? why : "no LUKS signature");
    return 0;
}

static int scan_volume(struct scan *s, const char *path, const char *header, unsigned read_flags)
{
    struct fl_findings findings = {0};
    struct fl_volume *v = NULL;
    int r;

    r = fl_volume_read_flags(path, header, read_flags, &v);
    if (r == -ENOMEM)
        return r;
    if (r < 0)
        return report_error(s, path, r);
    r = fl_policy_evaluate(v, &findings);
    if (r < 0)
        goto out;
    s->n_volumes++;
    if (fl_findings_compatible(&findings))
        s->n_compatible++;
    else
        s->n_incompatible++;
    if (s->json) {
        json_object_array_add(s->volumes, fl_json_volume(v, &findings));
    } else {
        fl_print_volume(stdout, v, &findings);
        putchar('\n');
    }
    r = 0;
out:
    fl_findings_clear(&findings);
    fl_volume_free(v);
    return r;
}

/* A path found by walking a directory: scanned if it carries a LUKS signature, else skipped. */
static int scan_found(struct scan *s, const struct fl_found *f)
{
    int r;

    if (f->error < 0)
        return report_error(s, f->path, f->error);
    if (f->skipped)
        return report_skipped(s, f->path, f->skipped, false);
    r = fl_probe_luks(f->path);
    if (r == -ENOENT) /* removed since the walk listed it: nothing to judge, nothing lost */
        return report_skipped(s, f->path, "removed during the scan", false);
    if (r < 0)
        return report_error(s, f->path, r);
    if (r == 0)
        return report_skipped(s, f->path, NULL, false);
    /* a file swapped for a symbolic link since the walk is not followed */
    return scan_volume(s, f->path, NULL, FL_READ_NOFOLLOW);
}

static int scan_list(struct scan *s, struct fl_found_list *list)
{
    int r = 0;

    for (size_t i = 0; i < list->n && r >= 0; i++)
        r = scan_found(s, &list->items[i]);
    fl_found_clear(list);
    return r;
}

static int scan_path(struct scan *s, const char *path, const char *header)
{
    struct fl_found_list list = {0};
    const char *fs = NULL;
    struct stat st;
    int r;

    /* /proc, /sys and the like are never read, not even when named: reading them has side effects */
    if (fl_path_on_pseudo_fs(path, &fs) > 0) {
        char why[96];
        snprintf(why, sizeof(why), "on a %s pseudo file system: not read", fs);
        return report_skipped(s, path, why, true);
    }
    if (!header && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        r = fl_walk_directory(path, s->walk_flags, &list);
        if (r < 0) {
            fl_found_clear(&list);
            return r;
        }
        return scan_list(s, &list);
    }
    return scan_volume(s, path, header, 0);
}

static int scan_host(struct scan *s)
{
    struct fl_found_list list = {0};
    int r;

    if (geteuid() != 0)
        fl_log_warning("not running as root: block devices this user cannot read are not found");
    r = fl_discover_luks_devices(NULL, &list);
    if (r < 0) {
        fl_found_clear(&list);
        fl_log_error(r, "cannot list block devices");
        return r;
    }
    return scan_list(s, &list);
}

static int print_summary(struct scan *s)
{
    if (s->json) {
        json_object *doc = json_object_new_object(), *sum = json_object_new_object();
        int r;

        json_object_object_add(doc, "tool", json_object_new_string("fipsluks"));
        json_object_object_add(doc, "version", json_object_new_string(FL_VERSION));
        json_object_object_add(doc, "volumes", json_object_get(s->volumes));
        if (s->verbose)
            json_object_object_add(doc, "skipped", json_object_get(s->skipped));
        json_object_object_add(sum, "volumes", json_object_new_int((int)s->n_volumes));
        json_object_object_add(sum, "compatible", json_object_new_int((int)s->n_compatible));
        json_object_object_add(sum, "incompatible", json_object_new_int((int)s->n_incompatible));
        json_object_object_add(sum, "unreadable", json_object_new_int((int)s->n_unreadable));
        json_object_object_add(sum, "skipped", json_object_new_int((int)s->n_skipped));
        json_object_object_add(doc, "summary", sum);
        r = fl_json_print(doc, false);
        json_object_put(doc);
        return r;
    }
    if (s->n_volumes == 0)
        printf("no LUKS volumes found");
    else
        printf("%u volume%s: %u FIPS-compatible, %u not compatible, %u unreadable", s->n_volumes,
               s->n_volumes == 1 ? "" : "s", s->n_compatible, s->n_incompatible, s->n_unreadable);
    if (s->n_skipped > s->n_not_read)
        printf(" (%u file%s without a LUKS signature skipped)", s->n_skipped - s->n_not_read,
               s->n_skipped - s->n_not_read == 1 ? "" : "s");
    if (s->n_not_read)
        printf(" (%u path%s not read: pseudo or other file systems, or removed during the scan)",
               s->n_not_read, s->n_not_read == 1 ? "" : "s");
    putchar('\n');
    return fflush(stdout) == EOF || ferror(stdout) ? -EIO : 0;
}

int verb_scan(int argc, const char **argv)
{
    int json = 0, one_fs = 0, r = 0;
    char *header = NULL;
    struct poptOption options[] = {
        {"json", 'j', POPT_ARG_NONE, &json, 0, "Write one JSON document (schema in fipsluks-scan(8))", NULL},
        {"header", 0, POPT_ARG_STRING, &header, 0, "Read the LUKS header from a detached header FILE", "FILE"},
        {"one-file-system", 'x', POPT_ARG_NONE, &one_fs, 0,
         "Do not descend into directories on other file systems than the PATH given", NULL},
        {NULL, 0, POPT_ARG_INCLUDE_TABLE, fl_common_options, 0,
         "Common options (-v also lists what was skipped: no LUKS signature, pseudo file systems):", NULL},
        POPT_AUTOHELP POPT_TABLEEND,
    };
    poptContext ctx = fl_popt_context("scan", argc, argv, options, "[PATH…]");
    struct scan s = {0};
    const char **paths;
    size_t n_paths = 0;

    r = fl_popt_parse(ctx, "scan");
    if (r < 0)
        goto out;
    paths = poptGetArgs(ctx);
    while (paths && paths[n_paths])
        n_paths++;
    if (header && n_paths != 1) {
        r = fl_usage_error("scan", "--header needs exactly one PATH: the data device or image");
        goto out;
    }

    s.json = json;
    s.verbose = fl_opts.verbose;
    s.walk_flags = one_fs ? FL_WALK_ONE_FILE_SYSTEM : 0;
    s.volumes = json_object_new_array();
    s.skipped = json_object_new_array();
    if (!s.volumes || !s.skipped) {
        r = -ENOMEM;
        goto out;
    }
    if (n_paths == 0)
        r = scan_host(&s);
    for (size_t i = 0; i < n_paths && r >= 0; i++)
        r = scan_path(&s, paths[i], header);
    if (r >= 0)
        r = print_summary(&s);
    if (r >= 0)
        r = s.n_unreadable ? FL_EXIT_DEVICE : s.n_incompatible ? FL_EXIT_INCOMPATIBLE : FL_EXIT_OK;
    else
        fl_log_error(r, "scan failed");
out:
    json_object_put(s.volumes);
    json_object_put(s.skipped);
    free(header);
    poptFreeContext(ctx);
    return r;
}
