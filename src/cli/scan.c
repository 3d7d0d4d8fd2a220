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
#include "fipsluks/util.h"
#include "cli.h"

/* Default --jobs: the CPUs, but no more than this (scans wait on devices, not on CPUs). */
#define SCAN_JOBS_DEFAULT_MAX 8

enum scan_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_JSON_LINES, FORMAT_PROMETHEUS };

/* The kinds of --json-lines record: volume, skipped, summary. */
#define SCAN_RECORD_KINDS 3

/* One path to scan, in output order. */
struct target {
    char *path;
    int error;  /* met while finding it (an unreadable directory), or 0 */
    bool probe; /* found by walking or discovery: skipped unless it has a LUKS signature */
    bool named; /* named on the command line: a skip is said even without --verbose */
    char *why;  /* deliberately not read (a pseudo or other file system), or NULL */
    /* opened ahead of its reading (open_ahead()): AHEAD_* state, then the source or the error */
    int ahead_state;
    int ahead_error;
    struct fl_volume_source ahead;
};

/* target.ahead_state: not opened ahead; being opened; opened (or failed); read without it */
enum { AHEAD_NONE, AHEAD_OPENING, AHEAD_READY, AHEAD_SKIPPED };

/* What scanning a target gave; filled on a worker thread, emitted and freed on the main thread. */
enum outcome { OUTCOME_VOLUME, OUTCOME_ERROR, OUTCOME_SKIPPED };
struct result {
    enum outcome outcome;
    const char *why; /* OUTCOME_SKIPPED: why (NULL: no LUKS signature) */
    int error;
    struct fl_volume *volume;
    struct fl_findings findings;
    const struct fl_crypttab_entry *crypttab; /* the volume's entry in /etc/crypttab, or NULL */
    enum fl_crypttab_key keys[FL_MAX_KEYSLOTS]; /* by keyslot index: whether its key file opens it */
};

struct scan {
    enum scan_format format;
    bool verbose;
    unsigned walk_flags;        /* -x: FL_WALK_ONE_FILE_SYSTEM */
    const char *header;
    const char *root;           /* --root: /etc/crypttab, its key files and discovery below it */
    struct fl_crypttab crypttab;
    FILE *out;
    struct fl_identity id;
    struct target *targets;
    size_t n_targets, allocated;
    struct result *results;
    bool doc_open;              /* --json: the document's opening is written (doc_begin()) */
    struct fl_prom *prom;       /* --format prometheus */
    struct fl_fips_state fips;  /* --format prometheus: the host's FIPS mode and switches */
    struct {
        const char *kind; /* "volume", "skipped", "summary" */
        char *text;       /* its record fields, serialised (print_record()) */
    } envelope[SCAN_RECORD_KINDS];
    size_t ahead;               /* how far ahead of its reading a target is opened (open_ahead()) */
    pthread_mutex_t first_read; /* see read_volume() */
    pthread_mutex_t key_try;    /* one crypttab key tried at a time: an argon2 KDF may take 1 GiB of memory */
    bool cryptsetup_ready;
    unsigned n_volumes, n_compatible, n_incompatible, n_unreadable, n_skipped;
    unsigned n_not_read; /* of n_skipped: pseudo file systems, other file systems (-x), vanished files */
};

/* ---- the targets ---- */

static int add_target(struct scan *s, char *path, int error, bool probe)
{
    if (!path)
        return -ENOMEM;
    if (fl_array_grow(&s->targets, &s->allocated, s->n_targets + 1, sizeof(*s->targets)) < 0) {
        free(path);
        return -ENOMEM;
    }
    s->targets[s->n_targets++] =
        (struct target){.path = path, .error = error, .probe = probe, .why = NULL, .ahead = {.fd = -1}};
    return 0;
}

/* Move every path of @p list into the targets (each probed for a LUKS signature, unless not to be read). */
static int add_found(struct scan *s, struct fl_found_list *list)
{
    int r = 0;

    for (size_t i = 0; i < list->n && r >= 0; i++) {
        r = add_target(s, list->items[i].path, list->items[i].error, true);
        list->items[i].path = NULL;
        if (r >= 0 && list->items[i].skipped && !(s->targets[s->n_targets - 1].why = strdup(list->items[i].skipped)))
            r = -ENOMEM;
    }
    fl_found_clear(list);
    return r;
}

static int add_path(struct scan *s, const char *path)
{
    struct fl_found_list list = {0};
    const char *fs = NULL;
    struct stat st;
    int r;

    /* /proc, /sys and the like are never read, not even when named: reading them has side effects */
    if (fl_path_on_pseudo_fs(path, &fs) > 0) {
        char *why = NULL;
        if (asprintf(&why, "on a %s pseudo file system: not read", fs) < 0)
            return -ENOMEM;
        r = add_target(s, strdup(path), 0, false);
        if (r < 0) {
            free(why);
            return r;
        }
        s->targets[s->n_targets - 1].why = why;
        s->targets[s->n_targets - 1].named = true;
        return 0;
    }
    if (!s->header && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        r = fl_walk_directory(path, s->walk_flags, &list);
        if (r < 0) {
            fl_found_clear(&list);
            return r;
        }
        return add_found(s, &list);
    }
    return add_target(s, strdup(path), 0, false);
}

static int add_host(struct scan *s)
{
    struct fl_found_list list = {0};
    int r;

    if (geteuid() != 0 && !s->root)
        fl_log_warning("not running as root: block devices this user cannot read are not found");
    r = fl_discover_luks_devices(s->root, &list);
    if (r < 0) {
        fl_found_clear(&list);
        return fl_log_error_errno(r, "cannot list block devices: %m");
    }
    return add_found(s, &list);
}

/* ---- scanning one target (on a worker thread: touches only its own result) ---- */

/*
 * Open target @p i ahead of its reading, and have the kernel start reading its header: a worker
 * does this for the target a few places after the one it takes, so that on a cold cache the read
 * runs while the workers are busy with libcryptsetup, as the floor's reads run with nothing else
 * to do. A warm scan pays one posix_fadvise() per target for it: the open is the one the read
 * would make anyway.
 */
static void open_ahead(struct scan *s, size_t i)
{
    struct target *t;
    int expected = AHEAD_NONE;

    if (i >= s->n_targets || s->header)
        return;
    t = &s->targets[i];
    if (t->error < 0 || t->why ||
        !__atomic_compare_exchange_n(&t->ahead_state, &expected, AHEAD_OPENING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    t->ahead_error = fl_volume_source_open(t->path, t->probe ? FL_READ_NOFOLLOW : 0, &t->ahead);
    __atomic_store_n(&t->ahead_state, AHEAD_READY, __ATOMIC_RELEASE);
}

/* fl_volume_read_flags() of @p t, through the source open_ahead() opened when it did. */
static int read_target(struct scan *s, struct target *t, struct fl_volume **ret)
{
    int state = AHEAD_NONE;

    /* a file found by walking and swapped for a symbolic link since is not followed */
    if (__atomic_compare_exchange_n(&t->ahead_state, &state, AHEAD_SKIPPED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fl_volume_read_flags(t->path, t->probe ? NULL : s->header, t->probe ? FL_READ_NOFOLLOW : 0, ret);
    while (state == AHEAD_OPENING) { /* another worker is in the middle of a few system calls */
        sched_yield();
        state = __atomic_load_n(&t->ahead_state, __ATOMIC_ACQUIRE);
    }
    if (t->ahead_error < 0)
        return t->ahead_error;
    return fl_volume_read_source(&t->ahead, t->path, ret);
}

/*
 * libcryptsetup initialises its crypto backend and RNG on first use behind plain static flags,
 * which is not safe to race: until one volume has been read (so that initialisation is done),
 * reads take turns.
 */
static int read_volume(struct scan *s, struct target *t, struct fl_volume **ret)
{
    int r;

    if (__atomic_load_n(&s->cryptsetup_ready, __ATOMIC_ACQUIRE))
        return read_target(s, t, ret);
    pthread_mutex_lock(&s->first_read);
    r = read_target(s, t, ret);
    if (r >= 0)
        __atomic_store_n(&s->cryptsetup_ready, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->first_read);
    return r;
}

static int scan_target(size_t i, void *ctx)
{
    struct scan *s = ctx;
    struct target *t = &s->targets[i];
    struct result *res = &s->results[i];
    int r;

    res->outcome = OUTCOME_ERROR;
    res->error = t->error;
    if (t->error < 0)
        return 0;
    if (t->why) {
        res->outcome = OUTCOME_SKIPPED;
        res->why = t->why;
        return 0;
    }
    /*
     * A file found by walking is read like a named one (its first read is the probe), but having
     * no LUKS signature, or being removed since the walk listed it, skips it: nothing to judge,
     * nothing lost. A named file without a LUKS signature is not a LUKS volume either: said as
     * such (emit_skipped()), not counted unreadable.
     */
    open_ahead(s, i + s->ahead);
    r = read_volume(s, t, &res->volume);
    if (r == -ENOMEM)
        return r;
    if (r == -EMEDIUMTYPE || (t->probe && r == -ENOENT)) {
        res->outcome = OUTCOME_SKIPPED;
        res->why = r == -ENOENT ? "removed during the scan" : NULL;
        res->error = 0;
        return 0;
    }
    if (r < 0) {
        res->error = r;
        return 0;
    }
    r = fl_policy_evaluate(res->volume, &res->findings);
    if (r < 0)
        return r;
    /* in crypttab: does the key file the host opens it with at boot open the keyslots FIPS refuses? */
    res->crypttab = fl_crypttab_find(&s->crypttab, s->root, t->path, res->volume->uuid, res->volume->label);
    if (res->crypttab) {
        int read_error;
        pthread_mutex_lock(&s->key_try);
        r = fl_crypttab_try_keys(s->root, res->crypttab, res->volume, &res->findings, res->keys, &read_error);
        pthread_mutex_unlock(&s->key_try);
        if (r < 0)
            return r;
    }
    res->outcome = OUTCOME_VOLUME;
    return 0;
}

/* ---- emitting one result (on the main thread) ---- */

/*
 * --json-lines: the record fields of @p kind (fl_json_record(), the same for every record of that
 * kind in a scan: serialised once, without the closing brace), then the fields of @p body (which it
 * takes): the bytes of one object holding both.
 */
static int print_record(struct scan *s, const char *kind, json_object *body)
{
    const char *text = NULL;
    size_t i = 0, len = 0;
    int r = 0;

    while (i < SCAN_RECORD_KINDS && s->envelope[i].kind && strcmp(s->envelope[i].kind, kind))
        i++;
    if (i == SCAN_RECORD_KINDS) {
        r = -EINVAL;
        goto out;
    }
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
            goto out;
        }
        s->envelope[i].kind = kind;
        s->envelope[i].text = buf;
    }
    if (body)
        text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                                  &len);
    if (!text || len < 2 || text[0] != '{') {
        r = -ENOMEM;
        goto out;
    }
    /* Each record goes out whole as soon as it is known: a reader of the stream sees it now. */
    if (fputs(s->envelope[i].text, s->out) == EOF || (len > 2 && fputc(',', s->out) == EOF) ||
        fwrite(text + 1, 1, len - 1, s->out) != len - 1 || fputc('\n', s->out) == EOF || fflush(s->out) == EOF)
        r = -EIO;
out:
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

/* --json: one volume of the document's "volumes" array (takes @p o). */
static int doc_volume(struct scan *s, json_object *o)
{
    int r = doc_begin(s);

    if (r >= 0 && !o)
        r = -ENOMEM;
    /* the caller counted this volume already: a comma before all but the first */
    if (r >= 0 && s->n_volumes > 1 && fputc(',', s->out) == EOF)
        r = -EIO;
    if (r >= 0)
        r = fl_json_write(s->out, o, false);
    json_object_put(o);
    return r;
}

/*
 * @p o (a volume's JSON) with "absolute_path": @p path as given if absolute, else joined to the
 * working directory (not resolved: a /dev/disk/by-uuid link stays one), so that fipsluks report can
 * show a command that works from anywhere on the host; null when the directory is unknown.
 */
static json_object *with_absolute_path(json_object *o, const char *path)
{
    char *cwd, *abs = NULL;

    if (!o)
        return NULL;
    if (path[0] == '/') {
        json_object_object_add(o, "absolute_path", fl_json_string(path));
        return o;
    }
    cwd = getcwd(NULL, 0);
    if (cwd && asprintf(&abs, "%s%s%s", cwd, cwd[strlen(cwd) - 1] == '/' ? "" : "/",
                        path[0] == '.' && path[1] == '/' ? path + 2 : path) < 0)
        abs = NULL;
    json_object_object_add(o, "absolute_path", abs ? fl_json_string(abs) : NULL);
    free(abs);
    free(cwd);
    return o;
}

/* @p o (a volume's JSON) with "crypttab" (null when not in it) and each keyslot's "crypttab_key". */
static json_object *with_crypttab(json_object *o, const struct fl_volume *v, const struct result *res)
{
    if (o)
        fl_json_volume_crypttab(o, v, res ? res->crypttab : NULL, res ? res->keys : NULL);
    return o;
}

static int emit_error(struct scan *s, const char *path, int err)
{
    s->n_volumes++;
    s->n_unreadable++;
    switch (s->format) {
    case FORMAT_JSON:
        return doc_volume(s, with_absolute_path(with_crypttab(fl_json_volume_error(path, err), NULL, NULL), path));
    case FORMAT_JSON_LINES:
        return print_record(s, "volume",
                            with_absolute_path(with_crypttab(fl_json_volume_error(path, err), NULL, NULL), path));
    case FORMAT_PROMETHEUS:
        return fl_prom_unreadable(s->prom, path);
    case FORMAT_TEXT:
        break;
    }
    fl_fputs_escaped(path, s->out);
    fprintf(s->out, ": %scannot read%s: %s\n\n", fl_color_on(s->out, FL_COLOR_RED), fl_color_off(s->out),
            fl_volume_strerror(err));
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
    if (!s->verbose && !(named && (s->format == FORMAT_TEXT || s->format == FORMAT_JSON_LINES)))
        return 0;
    switch (s->format) {
    case FORMAT_JSON:
        return 0; /* listed at the end of the document (doc_end()) */
    case FORMAT_JSON_LINES:
        o = json_object_new_object();
        if (o) {
            json_object_object_add(o, "path", fl_json_string(path));
            json_object_object_add(o, "reason", fl_json_string(why ? why : "no LUKS signature"));
        }
        return print_record(s, "skipped", o);
    case FORMAT_PROMETHEUS:
        return 0;
    case FORMAT_TEXT:
        break;
    }
    fl_fputs_escaped(path, s->out);
    if (!why && named)
        fprintf(s->out, ": not a LUKS volume (no LUKS signature)\n\n");
    else
        fprintf(s->out, ": skipped (%s)\n\n", why ? why : "no LUKS signature");
    return 0;
}

static int emit_volume(struct scan *s, const struct result *res)
{
    const struct fl_volume *v = res->volume;
    const struct fl_findings *f = &res->findings;

    s->n_volumes++;
    if (fl_findings_compatible(f))
        s->n_compatible++;
    else
        s->n_incompatible++;
    switch (s->format) {
    case FORMAT_JSON:
        return doc_volume(s, with_absolute_path(with_crypttab(fl_json_volume(v, f), v, res), v->path));
    case FORMAT_JSON_LINES:
        return print_record(s, "volume", with_absolute_path(with_crypttab(fl_json_volume(v, f), v, res), v->path));
    case FORMAT_PROMETHEUS:
        return fl_prom_volume(s->prom, v, f);
    case FORMAT_TEXT:
        break;
    }
    fl_print_volume(s->out, v, f);
    if (res->crypttab)
        fl_print_crypttab(s->out, v, res->crypttab, res->keys);
    fputc('\n', s->out);
    return 0;
}

static int emit_result(size_t i, int result, void *ctx)
{
    struct scan *s = ctx;
    struct result *res = &s->results[i];
    const char *path = s->targets[i].path;
    int r = result;

    if (r >= 0) {
        if (res->outcome == OUTCOME_VOLUME)
            r = emit_volume(s, res);
        else if (res->outcome == OUTCOME_SKIPPED)
            r = emit_skipped(s, path, res->why, s->targets[i].named || !s->targets[i].probe);
        else
            r = emit_error(s, path, res->error);
    }
    fl_findings_clear(&res->findings);
    fl_volume_free(res->volume);
    res->volume = NULL;
    return r;
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
    size_t n = 0;
    bool any_named = false;
    int r = doc_begin(s);

    if (r >= 0 && fputc(']', s->out) == EOF)
        r = -EIO;
    for (size_t i = 0; i < s->n_targets && !any_named; i++)
        any_named = s->results[i].outcome == OUTCOME_SKIPPED && (s->targets[i].named || !s->targets[i].probe);
    if (r >= 0 && (s->verbose || any_named)) {
        /* every skipped target (without --verbose: those named on the command line), in target order:
         * each result keeps its outcome after it is emitted */
        if (fputs(",\"skipped\":[", s->out) == EOF)
            r = -EIO;
        for (size_t i = 0; i < s->n_targets && r >= 0; i++) {
            if (s->results[i].outcome != OUTCOME_SKIPPED ||
                (!s->verbose && !s->targets[i].named && s->targets[i].probe))
                continue;
            if (n++ && fputc(',', s->out) == EOF) {
                r = -EIO;
                break;
            }
            o = fl_json_string(s->targets[i].path);
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
    case FORMAT_JSON:
        return doc_end(s);
    case FORMAT_JSON_LINES:
        o = json_object_new_object();
        if (o)
            json_object_object_add(o, "summary", summary(s));
        return print_record(s, "summary", o);
    case FORMAT_PROMETHEUS:
        return fl_prom_write(s->prom, s->out, &s->id, &s->fips, duration);
    case FORMAT_TEXT:
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

static int parse_format(const char *name, int json, int json_lines, enum scan_format *ret)
{
    if (json + json_lines + (name != NULL) > 1)
        return fl_usage_error("scan", "--json, --json-lines and --format exclude each other");
    *ret = json ? FORMAT_JSON : json_lines ? FORMAT_JSON_LINES : FORMAT_TEXT;
    if (!name)
        return 0;
    if (!strcmp(name, "text"))
        *ret = FORMAT_TEXT;
    else if (!strcmp(name, "json"))
        *ret = FORMAT_JSON;
    else if (!strcmp(name, "json-lines"))
        *ret = FORMAT_JSON_LINES;
    else if (!strcmp(name, "prometheus"))
        *ret = FORMAT_PROMETHEUS;
    else
        return fl_usage_error("scan", "--format takes text, json, json-lines or prometheus, not '%s'", name);
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
    struct scan s = {.out = stdout, .first_read = PTHREAD_MUTEX_INITIALIZER, .key_try = PTHREAD_MUTEX_INITIALIZER};
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
    r = parse_format(fl_arg(&a, FL_OPT_FORMAT), fl_flag(&a, FL_OPT_JSON), fl_flag(&a, FL_OPT_JSON_LINES),
                     &s.format);
    if (r >= 0)
        r = parse_jobs(&a, &jobs);
    if (r >= 0 && output && !*output)
        r = fl_usage_error("scan", "--output needs a FILE name");
    if (r < 0)
        goto out;

    s.verbose = fl_opts.verbose;
    s.walk_flags = fl_flag(&a, FL_OPT_ONE_FILE_SYSTEM) ? FL_WALK_ONE_FILE_SYSTEM : 0;
    s.header = header;
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
    r = fl_identity_read(NULL, &s.id);
    if (r >= 0 && s.format == FORMAT_PROMETHEUS)
        r = fl_prom_new(&s.prom);
    if (r >= 0 && s.format == FORMAT_PROMETHEUS)
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
        r = add_path(&s, paths[i]);
    if (r >= 0 && s.n_targets) {
        s.results = calloc(s.n_targets, sizeof(*s.results));
        if (!s.results)
            r = -ENOMEM;
        /* --json-lines streams records as they come; every other format keeps the target order. */
        /* two rounds of the workers ahead: time for a cold read to complete before it is needed */
        s.ahead = 2 * (size_t)jobs;
        if (r >= 0)
            r = fl_jobs_run(s.n_targets, jobs, s.format != FORMAT_JSON_LINES, scan_target, emit_result, &s);
    }
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
    for (size_t i = 0; i < s.n_targets; i++) {
        fl_volume_source_close(&s.targets[i].ahead); /* opened ahead, not read: the scan stopped */
        free(s.targets[i].path);
        free(s.targets[i].why);
        if (s.results) {
            fl_findings_clear(&s.results[i].findings);
            fl_volume_free(s.results[i].volume);
        }
    }
    free(s.targets);
    free(s.results);
    fl_prom_free(s.prom);
    for (size_t i = 0; i < SCAN_RECORD_KINDS; i++)
        free(s.envelope[i].text);
    fl_identity_clear(&s.id);
    fl_crypttab_clear(&s.crypttab);
    fl_args_free(&a);
    return r;
}
