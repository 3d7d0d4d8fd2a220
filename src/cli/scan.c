/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fipsluks scan: read LUKS headers and report what a FIPS host refuses. Never writes. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fipsluks/array.h"
#include "fipsluks/crypttab.h"
#include "fipsluks/discover.h"
#include "fipsluks/host.h"
#include "fipsluks/identity.h"
#include "fipsluks/jobs.h"
#include "fipsluks/scan.h"
#include "fipsluks/util.h"
#include "cli.h"

/* Default --jobs: the CPUs, but no more than this (scans wait on devices, not on CPUs). */
#define SCAN_JOBS_DEFAULT_MAX 8

/* The kinds of --json-lines record: volume, skipped, summary. */
#define SCAN_RECORD_KINDS 3

struct scan {
    enum fl_scan_format format;
    bool verbose;
    const char *root; /* --root: /etc/crypttab, its key files and discovery below it */
    struct fl_crypttab crypttab;
    FILE *out;
    struct fl_identity id;
    struct fl_scan *engine;
    bool doc_open;             /* --json: the document's opening is written (doc_begin()) */
    struct fl_prom *prom;      /* --format prometheus */
    struct fl_fips_state fips; /* --format prometheus: the host's FIPS mode and switches */
    struct {
        const char *kind; /* "volume", "skipped", "summary" */
        char *text;       /* its record fields, serialised (print_record()) */
    } envelope[SCAN_RECORD_KINDS];
    unsigned n_volumes, n_compatible, n_incompatible, n_unreadable, n_skipped;
    unsigned n_not_read; /* of n_skipped: pseudo file systems, other file systems (-x), vanished files */
    char *cwd;           /* the working directory (absolute_path()), asked once */
    bool cwd_asked;
    struct fl_jw jw; /* --json, --json-lines: a volume's object (emit_volume_json()), its buffer reused */
};

static int add_host(struct scan *s)
{
    int r;

    if (geteuid() != 0 && !s->root)
        fl_log_warning("not running as root: block devices this user cannot read are not found");
    r = fl_scan_add_host(s->engine);
    if (r < 0)
        return fl_log_error_errno(r, "cannot list block devices: %m");
    return 0;
}

/* ---- emitting one result (on the main thread) ---- */

/*
 * --json-lines: the record fields of @p kind (fl_json_record(), the same for every record of that
 * kind in a scan: serialised once, without the closing brace), then the members of the object
 * @p text (@p len bytes): the bytes of one object holding both.
 */
static int print_record_text(struct scan *s, const char *kind, const char *text, size_t len)
{
    size_t i = 0;
    int r;

    while (i < SCAN_RECORD_KINDS && s->envelope[i].kind && strcmp(s->envelope[i].kind, kind))
        i++;
    if (i == SCAN_RECORD_KINDS)
        return -EINVAL;
    if (!s->envelope[i].kind) {
        json_object *rec = fl_json_record(kind, &s->id, "scanned_at");
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        r = rec && f ? fl_json_write(f, rec, true) : -ENOMEM;
        json_object_put(rec);
        if (f && fclose(f) == EOF && r >= 0)
            r = -ENOMEM;
        if (r < 0) {
            free(buf);
            return r;
        }
        s->envelope[i].kind = kind;
        s->envelope[i].text = buf;
    }
    if (!text || len < 2 || text[0] != '{')
        return -ENOMEM;
    /* Each record goes out whole as soon as it is known: a reader of the stream sees it now. */
    if (fputs(s->envelope[i].text, s->out) == EOF || (len > 2 && fputc(',', s->out) == EOF) ||
        fwrite(text + 1, 1, len - 1, s->out) != len - 1 || fputc('\n', s->out) == EOF ||
        fflush(s->out) == EOF)
        return -EIO;
    return 0;
}

/* print_record_text() of the object @p body, which it takes. */
static int print_record(struct scan *s, const char *kind, json_object *body)
{
    size_t len = 0;
    const char *text = body ? json_object_to_json_string_length(
                                  body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)
                            : NULL;
    int r = print_record_text(s, kind, text, len);

    json_object_put(body);
    return r;
}

/*
 * --json streams its one document: the record fields and `"volumes":[` before the first volume,
 * each volume as soon as it is emitted (then freed), the rest at the end (doc_end()). Memory does
 * not grow with the number of volumes, and the bytes are those of the whole document printed at
 * once. A scan that fails midway leaves the document unfinished (not valid JSON), never one that
 * looks complete.
 */
static int doc_begin(struct scan *s)
{
    json_object *rec;
    int r;

    if (s->doc_open)
        return 0;
    rec = fl_json_record("scan", &s->id, "scanned_at");
    if (!rec)
        return -ENOMEM;
    r = fl_json_write(s->out, rec, true);
    json_object_put(rec);
    if (r < 0)
        return r;
    s->doc_open = true;
    return fputs(",\"volumes\":[", s->out) == EOF ? -EIO : 0;
}

/* Before a volume's object: the document's opening, or a comma after the volume before it. */
static int doc_next_volume(struct scan *s)
{
    int r = doc_begin(s);

    /* the caller counted this volume already: a comma before all but the first */
    if (r >= 0 && s->n_volumes > 1 && fputc(',', s->out) == EOF)
        r = -EIO;
    return r;
}

/* --json: one volume of the document's "volumes" array (takes @p o). */
static int doc_volume(struct scan *s, json_object *o)
{
    int r = o ? doc_next_volume(s) : -ENOMEM;

    if (r >= 0)
        r = fl_json_write(s->out, o, false);
    json_object_put(o);
    return r;
}

/*
 * A volume's "absolute_path": @p path as given if absolute, else joined to the working directory (not
 * resolved: a /dev/disk/by-uuid link stays one), so that fipsluks report can show a command that
 * works from anywhere on the host; NULL (null) when the directory is unknown. Free it.
 */
static char *absolute_path(struct scan *s, const char *path)
{
    char *abs = NULL;

    if (path[0] == '/')
        return strdup(path);
    if (!s->cwd_asked) {
        s->cwd = getcwd(NULL, 0);
        s->cwd_asked = true;
    }
    if (s->cwd && asprintf(&abs, "%s%s%s", s->cwd, s->cwd[strlen(s->cwd) - 1] == '/' ? "" : "/",
                           path[0] == '.' && path[1] == '/' ? path + 2 : path) < 0)
        abs = NULL;
    return abs;
}

/* The JSON of a volume that could not be read: no crypttab entry, and its "absolute_path". */
static json_object *error_json(struct scan *s, const char *path, int err)
{
    json_object *o = fl_json_volume_error(path, err);
    char *abs;

    if (!o)
        return NULL;
    json_object_object_add(o, "crypttab", NULL);
    abs = absolute_path(s, path);
    json_object_object_add(o, "absolute_path", abs ? fl_json_string(abs) : NULL);
    free(abs);
    return o;
}

/* A volume as --json and --json-lines show it: fl_jw_volume() with scan's fields, written as text. */
static int emit_volume_json(struct scan *s, const struct fl_scan_result *res)
{
    const struct fl_jw_crypttab ct = {.entry = res->crypttab, .keys = res->keys};
    struct fl_jw *w = &s->jw;
    char *abs;
    int r;

    fl_sb_clear(&w->sb);
    w->more = false;
    fl_jw_volume(w, res->volume, &res->findings, &ct);
    abs = absolute_path(s, res->volume->path);
    fl_jw_key(w, "absolute_path");
    fl_jw_string(w, abs);
    free(abs);
    fl_jw_end(w, '}');
    if (w->sb.failed)
        return -ENOMEM;
    if (s->format == FL_SCAN_FORMAT_JSON) {
        r = doc_next_volume(s);
        if (r >= 0 && fwrite(w->sb.s, 1, w->sb.len, s->out) != w->sb.len)
            r = -EIO;
        return r;
    }
    return print_record_text(s, "volume", w->sb.s, w->sb.len);
}

static int emit_error(struct scan *s, const char *path, int err)
{
    s->n_volumes++;
    s->n_unreadable++;
    switch (s->format) {
    case FL_SCAN_FORMAT_JSON:
        return doc_volume(s, error_json(s, path, err));
    case FL_SCAN_FORMAT_JSON_LINES:
        return print_record(s, "volume", error_json(s, path, err));
    case FL_SCAN_FORMAT_PROMETHEUS:
        return fl_prom_unreadable(s->prom, path);
    case FL_SCAN_FORMAT_TEXT:
        break;
    }
    fl_fputs_escaped(path, s->out);
    fprintf(s->out, ": %scannot read%s: %s\n\n", fl_color_on(s->out, FL_COLOR_RED), fl_color_off(s->out),
            fl_volume_strerror_at(err, path));
    return 0;
}

/*
 * A path not scanned: @p why, or no LUKS signature. Listed with --verbose, or when named explicitly
 * (text, --json-lines; --json lists it in "skipped").
 */
static int emit_skipped(struct scan *s, const char *path, const char *why, bool named)
{
    json_object *o;

    s->n_skipped++;
    if (why)
        s->n_not_read++;
    if (!s->verbose &&
        !(named && (s->format == FL_SCAN_FORMAT_TEXT || s->format == FL_SCAN_FORMAT_JSON_LINES)))
        return 0;
    switch (s->format) {
    case FL_SCAN_FORMAT_JSON:
        return 0; /* listed at the end of the document (doc_end()) */
    case FL_SCAN_FORMAT_JSON_LINES:
        o = json_object_new_object();
        if (o) {
            json_object_object_add(o, "path", fl_json_string(path));
            json_object_object_add(o, "reason", fl_json_string(why ? why : "no LUKS signature"));
        }
        return print_record(s, "skipped", o);
    case FL_SCAN_FORMAT_PROMETHEUS:
        return 0;
    case FL_SCAN_FORMAT_TEXT:
        break;
    }
    fl_fputs_escaped(path, s->out);
    if (!why && named)
        fprintf(s->out, ": not a LUKS volume (no LUKS signature)\n\n");
    else
        fprintf(s->out, ": skipped (%s)\n\n", why ? why : "no LUKS signature");
    return 0;
}

static int emit_volume(struct scan *s, const struct fl_scan_result *res)
{
    const struct fl_volume *v = res->volume;
    const struct fl_findings *f = &res->findings;

    s->n_volumes++;
    if (fl_findings_compatible(f))
        s->n_compatible++;
    else
        s->n_incompatible++;
    switch (s->format) {
    case FL_SCAN_FORMAT_JSON:
    case FL_SCAN_FORMAT_JSON_LINES:
        return emit_volume_json(s, res);
    case FL_SCAN_FORMAT_PROMETHEUS:
        return fl_prom_volume(s->prom, v, f);
    case FL_SCAN_FORMAT_TEXT:
        break;
    }
    fl_print_volume(s->out, v, f);
    if (res->crypttab)
        fl_print_crypttab(s->out, v, res->crypttab, res->keys);
    fputc('\n', s->out);
    return 0;
}

static int emit_result(const struct fl_scan_result *res, void *ctx)
{
    struct scan *s = ctx;

    if (res->outcome == FL_SCAN_VOLUME)
        return emit_volume(s, res);
    if (res->outcome == FL_SCAN_SKIPPED)
        return emit_skipped(s, res->path, res->why, res->named);
    return emit_error(s, res->path, res->error);
}

/* ---- the end of the scan ---- */

static json_object *summary(const struct scan *s)
{
    json_object *sum = json_object_new_object();

    json_object_object_add(sum, "volumes", json_object_new_int((int)s->n_volumes));
    json_object_object_add(sum, "compatible", json_object_new_int((int)s->n_compatible));
    json_object_object_add(sum, "incompatible", json_object_new_int((int)s->n_incompatible));
    json_object_object_add(sum, "unreadable", json_object_new_int((int)s->n_unreadable));
    json_object_object_add(sum, "skipped", json_object_new_int((int)s->n_skipped));
    return sum;
}

/* --json: the end of the document: with --verbose the paths skipped, then the summary. */
static int doc_end(struct scan *s)
{
    json_object *o;
    size_t n = 0, n_targets = s->engine ? fl_scan_n_targets(s->engine) : 0;
    bool any_named = false;
    int r = doc_begin(s);

    if (r >= 0 && fputc(']', s->out) == EOF)
        r = -EIO;
    for (size_t i = 0; i < n_targets && !any_named; i++) {
        const struct fl_scan_result *res = fl_scan_result(s->engine, i);
        any_named = res->outcome == FL_SCAN_SKIPPED && res->named;
    }
    if (r >= 0 && (s->verbose || any_named)) {
        /* every skipped target (without --verbose: those named on the command line), in target order:
         * each result keeps its outcome after it is emitted */
        if (fputs(",\"skipped\":[", s->out) == EOF)
            r = -EIO;
        for (size_t i = 0; i < n_targets && r >= 0; i++) {
            const struct fl_scan_result *res = fl_scan_result(s->engine, i);

            if (res->outcome != FL_SCAN_SKIPPED || (!s->verbose && !res->named))
                continue;
            if (n++ && fputc(',', s->out) == EOF) {
                r = -EIO;
                break;
            }
            o = fl_json_string(res->path);
            r = o ? fl_json_write(s->out, o, false) : -ENOMEM;
            json_object_put(o);
        }
        if (r >= 0 && fputc(']', s->out) == EOF)
            r = -EIO;
    }
    if (r >= 0 && fputs(",\"summary\":", s->out) == EOF)
        r = -EIO;
    if (r >= 0) {
        o = summary(s);
        r = o ? fl_json_write(s->out, o, false) : -ENOMEM;
        json_object_put(o);
    }
    if (r >= 0 && (fputs("}\n", s->out) == EOF || fflush(s->out) == EOF || ferror(s->out)))
        r = -EIO;
    return r;
}

static int print_summary(struct scan *s, double duration)
{
    json_object *o;

    switch (s->format) {
    case FL_SCAN_FORMAT_JSON:
        return doc_end(s);
    case FL_SCAN_FORMAT_JSON_LINES:
        o = json_object_new_object();
        if (o)
            json_object_object_add(o, "summary", summary(s));
        return print_record(s, "summary", o);
    case FL_SCAN_FORMAT_PROMETHEUS:
        return fl_prom_write(s->prom, s->out, &s->id, &s->fips, duration);
    case FL_SCAN_FORMAT_TEXT:
        break;
    }
    if (s->n_volumes == 0)
        fprintf(s->out, "no LUKS volumes found");
    else
        fprintf(s->out, "%u volume%s: %u FIPS-compatible, %u not compatible, %u unreadable", s->n_volumes,
                s->n_volumes == 1 ? "" : "s", s->n_compatible, s->n_incompatible, s->n_unreadable);
    if (s->n_skipped > s->n_not_read)
        fprintf(s->out, " (%u file%s without a LUKS signature skipped)", s->n_skipped - s->n_not_read,
                s->n_skipped - s->n_not_read == 1 ? "" : "s");
    if (s->n_not_read)
        fprintf(s->out, " (%u path%s not read: pseudo or other file systems, or removed during the scan)",
                s->n_not_read, s->n_not_read == 1 ? "" : "s");
    fputc('\n', s->out);
    return fflush(s->out) == EOF || ferror(s->out) ? -EIO : 0;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* --format (one of its values, checked by fl_options_parse()), --json or --json-lines into @p ret. */
static int parse_format(const struct fl_args *a, enum fl_scan_format *ret)
{
    bool json = fl_flag(a, FL_OPT_JSON), json_lines = fl_flag(a, FL_OPT_JSON_LINES);

    if (json + json_lines + fl_flag(a, FL_OPT_FORMAT) > 1)
        return fl_usage_error("scan", "--json, --json-lines and --format exclude each other");
    *ret = json ? FL_SCAN_FORMAT_JSON : json_lines ? FL_SCAN_FORMAT_JSON_LINES : FL_SCAN_FORMAT_TEXT;
    if (fl_flag(a, FL_OPT_FORMAT))
        *ret = (enum fl_scan_format)fl_arg_choice(a, FL_OPT_FORMAT);
    return 0;
}

/* --jobs N (from 1 to FL_JOBS_MAX, checked by fl_options_parse()), or the default. */
static int parse_jobs(const struct fl_args *a, unsigned *ret)
{
    if (!fl_flag(a, FL_OPT_JOBS)) {
        *ret = fl_jobs_cpus();
        if (*ret > SCAN_JOBS_DEFAULT_MAX)
            *ret = SCAN_JOBS_DEFAULT_MAX;
        return 0;
    }
    *ret = (unsigned)a->num[FL_OPT_JOBS];
    return 0;
}

int verb_scan(int argc, const char **argv)
{
    const char *header, *output;
    struct fl_args a;
    int r = 0;
    struct scan s = {.out = stdout};
    struct fl_scan_options so = {0};
    struct fl_atomic file = {0};
    struct timespec start;
    unsigned jobs = 1;
    const char **paths;
    size_t n_paths = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    r = fl_options_parse(FL_VERB_SCAN, argc, argv, &a);
    if (r < 0)
        goto out;
    header = fl_arg(&a, FL_OPT_HEADER);
    output = fl_arg(&a, FL_OPT_OUTPUT);
    paths = fl_args_rest(&a);
    while (paths && paths[n_paths])
        n_paths++;
    if (header && n_paths != 1) {
        r = fl_usage_error("scan", "--header needs exactly one PATH: the data device or image");
        goto out;
    }
    r = parse_format(&a, &s.format);
    if (r >= 0)
        r = parse_jobs(&a, &jobs);
    if (r >= 0 && output && !*output)
        r = fl_usage_error("scan", "--output needs a FILE name");
    if (r < 0)
        goto out;

    s.verbose = fl_opts.verbose;
    s.root = fl_arg(&a, FL_OPT_ROOT);
    if (s.root && (!*s.root || !strcmp(s.root, "/")))
        s.root = NULL; /* the live system */
    r = fl_crypttab_read(s.root, &s.crypttab);
    if (r == -ENOMEM) {
        fl_log_error_errno(r, "scan failed: %m");
        goto out;
    }
    if (r < 0)
        fl_log_warning("cannot read %s%s: %s: volumes are shown without it", s.root ? s.root : "",
                       FL_CRYPTTAB_PATH, fl_crypttab_strerror(r));
    else if (s.crypttab.ignored)
        fl_log_warning("%s%s: %u line%s ignored (malformed, longer than %u bytes, or past %u entries)",
                       s.root ? s.root : "", FL_CRYPTTAB_PATH, s.crypttab.ignored,
                       s.crypttab.ignored == 1 ? "" : "s", FL_CRYPTTAB_MAX_LINE, FL_CRYPTTAB_MAX_ENTRIES);
    so = (struct fl_scan_options){
        .header = header,
        .root = s.root,
        .crypttab = &s.crypttab,
        .walk_flags = fl_flag(&a, FL_OPT_ONE_FILE_SYSTEM) ? FL_WALK_ONE_FILE_SYSTEM : 0,
        .jobs = jobs,
        .ordered = s.format != FL_SCAN_FORMAT_JSON_LINES, /* --json-lines streams records as they come */
    };
    r = fl_scan_new(&so, &s.engine);
    if (r >= 0)
        r = fl_identity_read(NULL, &s.id);
    if (r >= 0 && s.format == FL_SCAN_FORMAT_PROMETHEUS)
        r = fl_prom_new(&s.prom);
    if (r >= 0 && s.format == FL_SCAN_FORMAT_PROMETHEUS)
        r = fl_fips_state_read(NULL, &s.fips);
    if (r < 0) {
        fl_log_error_errno(r, "scan failed: %m");
        goto out;
    }
    if (output) {
        r = fl_atomic_open(output, &file);
        if (r < 0) {
            fl_log_error_errno(r, "cannot write '%s': %m", output);
            goto out;
        }
        s.out = file.file;
    }

    if (n_paths == 0) {
        r = add_host(&s);
        if (r < 0)
            goto out; /* add_host() said why */
    }
    for (size_t i = 0; i < n_paths && r >= 0; i++)
        r = fl_scan_add_path(s.engine, paths[i]);
    if (r >= 0)
        r = fl_scan_run(s.engine, emit_result, &s);
    if (r >= 0)
        r = print_summary(&s, seconds_since(&start));
    if (r < 0) {
        fl_log_error_errno(r, "scan failed: %m");
        goto out;
    }
    if (output) {
        r = fl_atomic_commit(&file);
        if (r < 0) {
            fl_log_error_errno(r, "cannot write '%s': %m", output);
            goto out;
        }
    }
    r = s.n_unreadable ? FL_EXIT_DEVICE : s.n_incompatible ? FL_EXIT_INCOMPATIBLE : FL_EXIT_OK;
out:
    if (file.file)
        fl_atomic_abort(&file);
    fl_scan_free(s.engine);
    fl_prom_free(s.prom);
    for (size_t i = 0; i < SCAN_RECORD_KINDS; i++)
        free(s.envelope[i].text);
    free(s.cwd);
    free(s.jw.sb.s);
    fl_identity_clear(&s.id);
    fl_crypttab_clear(&s.crypttab);
    fl_args_free(&a);
    return r;
}
