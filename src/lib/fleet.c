/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fipsluks report's merge: scan records from many hosts into one picture of the fleet.
 *
 * Every input is untrusted (a host may be compromised, a file truncated in transit): records are
 * parsed with json-c's tokener one value at a time, each checked for the fields this module uses
 * and their types before anything is taken from it. A bad record becomes an input error naming the
 * source and line, and parsing resumes at the next line that starts a JSON object. Commands shown
 * to operators are built here (paths shell-quoted) or, when taken from a record's remedy, accepted
 * only if they are plain fipsluks/cryptsetup command lines (fl_fleet_command_safe()).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fipsluks/array.h"
#include "fipsluks/fleet.h"
#include "fipsluks/identity.h"
#include "fipsluks/policy.h"

#define FL_FLEET_VALUE_MAX (1ULL << 30) /* one JSON value held while it is parsed (bytes) */
#define FL_FLEET_PIECE     (64u * 1024) /* fl_fleet_add() feeds its buffer in pieces of this size */

/* What a volume contributes besides the public fields. */
struct volume_extra {
    char **kdfs;     /* one per keyslot */
    char **remedies; /* safe remedies of its error findings */
};

struct fl_fleet {
    struct fl_fleet_host *hosts;
    struct volume_extra **extras; /* extras[h][v], parallel to hosts[h].volumes[v] */
    size_t n_hosts, allocated, allocated_extras;
    size_t last; /* the host of the previous record: records come in runs */
    struct fl_fleet_error *errors;
    size_t n_errors, n_errors_total;
    struct fl_fleet_summary summary;
    size_t allocated_rules, allocated_kdfs; /* room in summary.rules and summary.kdfs */
};

/* ---- NULL-terminated string vectors ---- */

static size_t strv_len(char **v)
{
    size_t n = 0;

    while (v && v[n])
        n++;
    return n;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Append a copy of @p s (unless @p unique and it is there already). @return 0 or -ENOMEM. */
static int strv_add(char ***v, const char *s, bool unique)
{
    size_t n = strv_len(*v);
    char **nv;

    for (size_t i = 0; unique && *v && i < n; i++) /* *v: n is 0 without it, for clang's analyzer */
        if (!strcmp((*v)[i], s))
            return 0;
    nv = reallocarray(*v, n + 2, sizeof(**v));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    nv[n] = strdup(s);
    if (!nv[n])
        return -ENOMEM;
    nv[n + 1] = NULL;
    return 0;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- errors ---- */

static int add_error(struct fl_fleet *f, const char *source, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int add_error(struct fl_fleet *f, const char *source, unsigned long line, const char *fmt, ...)
{
    struct fl_fleet_error *e;
    va_list ap;
    int r;

    f->n_errors_total++;
    if (f->n_errors >= FL_FLEET_MAX_ERRORS)
        return 0;
    if (!f->errors) {
        f->errors = calloc(FL_FLEET_MAX_ERRORS, sizeof(*f->errors));
        if (!f->errors)
            return -ENOMEM;
    }
    e = &f->errors[f->n_errors];
    e->line = line;
    e->source = strdup(source);
    va_start(ap, fmt);
    r = vasprintf(&e->message, fmt, ap);
    va_end(ap);
    if (r < 0)
        e->message = NULL;
    if (!e->source || !e->message) {
        free(e->source);
        free(e->message);
        memset(e, 0, sizeof(*e));
        return -ENOMEM;
    }
    f->n_errors++;
    return 0;
}

int fl_fleet_add_error(struct fl_fleet *f, const char *source, unsigned long line, const char *message)
{
    return add_error(f, source, line, "%s", message);
}

/* ---- typed access to untrusted JSON ---- */

static json_object *member(json_object *o, const char *key)
{
    json_object *v;

    return json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The string @p key, or NULL (absent, null or not a string). */
static const char *str_member(json_object *o, const char *key)
{
    json_object *v = member(o, key);

    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Whether @p key is absent, null or a string. */
static bool opt_string(json_object *o, const char *key)
{
    json_object *v = member(o, key);

    return !v || json_object_is_type(v, json_type_string);
}

static int dup_opt(char **dst, const char *s)
{
    free(*dst);
    *dst = NULL;
    if (!s || !*s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -ENOMEM;
}

/* ---- hosts ---- */

static void volume_clear(struct fl_fleet_volume *v, struct volume_extra *x)
{
    free(v->path);
    free(v->uuid);
    free(v->label);
    free(v->error);
    strv_free(v->rules);
    strv_free(v->commands);
    if (x) {
        strv_free(x->kdfs);
        strv_free(x->remedies);
    }
}

static void host_drop_volumes(struct fl_fleet *f, size_t h)
{
    struct fl_fleet_host *host = &f->hosts[h];

    for (size_t i = 0; i < host->n_volumes; i++)
        volume_clear(&host->volumes[i], f->extras[h] ? &f->extras[h][i] : NULL);
    free(host->volumes);
    free(f->extras[h]);
    host->volumes = NULL;
    f->extras[h] = NULL;
    host->n_volumes = 0;
}

static bool same_host(const struct fl_fleet_host *h, const char *machine_id, const char *hostname)
{
    if (machine_id || h->machine_id)
        return machine_id && h->machine_id && !strcmp(machine_id, h->machine_id);
    return hostname && h->hostname && !strcmp(hostname, h->hostname);
}

/* The host a record with this identity belongs to, created if new; @return its index or -ENOMEM. */
static long host_get(struct fl_fleet *f, const char *machine_id, const char *hostname)
{
    struct fl_fleet_host *host;

    if (f->last < f->n_hosts && same_host(&f->hosts[f->last], machine_id, hostname))
        return (long)f->last;
    for (size_t i = 0; i < f->n_hosts; i++)
        if (same_host(&f->hosts[i], machine_id, hostname))
            return (long)(f->last = i);
    if (fl_array_grow(&f->hosts, &f->allocated, f->n_hosts + 1, sizeof(*f->hosts)) < 0 ||
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): extras is an array of pointers, one per host */
        fl_array_grow(&f->extras, &f->allocated_extras, f->n_hosts + 1, sizeof(*f->extras)) < 0)
        return -ENOMEM;
    host = &f->hosts[f->n_hosts];
    memset(host, 0, sizeof(*host));
    f->extras[f->n_hosts] = NULL;
    host->kernel_fips = -1;
    host->time = (time_t)LLONG_MIN;
    if (dup_opt(&host->machine_id, machine_id) < 0 || dup_opt(&host->hostname, hostname) < 0) {
        free(host->machine_id);
        return -ENOMEM;
    }
    f->last = f->n_hosts++;
    return (long)f->last;
}

/* ---- volumes ---- */

/* Check volume @p o before taking anything from it. @return NULL or why it is malformed. */
static const char *volume_malformed(json_object *o)
{
    const char *path = str_member(o, "path"), *status = str_member(o, "status");
    json_object *findings = member(o, "findings"), *keyslots = member(o, "keyslots");

    if (!json_object_is_type(o, json_type_object))
        return "a volume is not a JSON object";
    if (!path || !*path)
        return "a volume has no \"path\" string";
    if (!status || (strcmp(status, "ok") && strcmp(status, "error")))
        return "a volume's \"status\" is not \"ok\" or \"error\"";
    if (!strcmp(status, "ok") && !json_object_is_type(member(o, "fips_compatible"), json_type_boolean))
        return "a volume's \"fips_compatible\" is not true or false";
    if (!opt_string(o, "uuid") || !opt_string(o, "label") || !opt_string(o, "error"))
        return "a volume's \"uuid\", \"label\" or \"error\" is not a string";
    if (!json_object_is_type(findings, json_type_array) || !json_object_is_type(keyslots, json_type_array))
        return "a volume's \"findings\" or \"keyslots\" is not an array";
    for (size_t i = 0; i < json_object_array_length(findings); i++) {
        json_object *x = json_object_array_get_idx(findings, i);
        if (!str_member(x, "rule") || !str_member(x, "severity") || !opt_string(x, "remedy"))
            return "a finding has no \"rule\" or \"severity\" string";
    }
    for (size_t i = 0; i < json_object_array_length(keyslots); i++)
        if (!json_object_is_type(json_object_array_get_idx(keyslots, i), json_type_object) ||
            !opt_string(json_object_array_get_idx(keyslots, i), "kdf"))
            return "a keyslot is not an object with a \"kdf\" string";
    return NULL;
}

static int add_volume(struct fl_fleet *f, size_t h, json_object *o)
{
    struct fl_fleet_host *host = &f->hosts[h];
    json_object *findings = member(o, "findings"), *keyslots = member(o, "keyslots");
    const char *path = str_member(o, "path");
    struct fl_fleet_volume *nv, *v;
    struct volume_extra *nx, *x;
    int r = 0;

    /* The same record given twice (one scan merged from two files) counts once, in its place. */
    for (size_t i = 0; i < host->n_volumes; i++)
        if (host->volumes[i].path && !strcmp(host->volumes[i].path, path)) {
            v = &host->volumes[i];
            x = &f->extras[h][i];
            volume_clear(v, x);
            goto fill;
        }
    nv = reallocarray(host->volumes, host->n_volumes + 1, sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    host->volumes = nv;
    nx = reallocarray(f->extras[h], host->n_volumes + 1, sizeof(*nx));
    if (!nx)
        return -ENOMEM;
    f->extras[h] = nx;
    v = &nv[host->n_volumes];
    x = &nx[host->n_volumes];
    host->n_volumes++;
fill:
    memset(v, 0, sizeof(*v));
    /* extras[h] has n_volumes entries, like hosts[h].volumes: clang's analyzer loses the n_volumes = 0 of a
     * new host and takes the loop above for a match in a host without extras. */
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
    memset(x, 0, sizeof(*x));
    if (!strcmp(str_member(o, "status"), "error"))
        v->state = FL_FLEET_UNREADABLE;
    else
        v->state = json_object_get_boolean(member(o, "fips_compatible")) ? FL_FLEET_COMPATIBLE
                                                                         : FL_FLEET_INCOMPATIBLE;
    v->path = strdup(path);
    if (!v->path)
        return -ENOMEM;
    r = dup_opt(&v->uuid, str_member(o, "uuid"));
    if (r >= 0)
        r = dup_opt(&v->label, str_member(o, "label"));
    if (r >= 0)
        r = dup_opt(&v->error, str_member(o, "error"));
    for (size_t i = 0; r >= 0 && i < json_object_array_length(findings); i++) {
        json_object *x_ = json_object_array_get_idx(findings, i);
        const char *remedy = str_member(x_, "remedy");

        if (strcmp(str_member(x_, "severity"), "error"))
            continue;
        r = strv_add(&v->rules, str_member(x_, "rule"), true);
        if (r >= 0 && remedy && fl_fleet_command_safe(remedy))
            r = strv_add(&x->remedies, remedy, true);
    }
    for (size_t i = 0; r >= 0 && i < json_object_array_length(keyslots); i++) {
        const char *kdf = str_member(json_object_array_get_idx(keyslots, i), "kdf");
        r = strv_add(&x->kdfs, kdf ? kdf : "none", false);
    }
    if (r >= 0 && v->rules)
        qsort(v->rules, strv_len(v->rules), sizeof(*v->rules), cmp_strp);
    return r;
}

/* ---- records ---- */

static int add_record(struct fl_fleet *f, const char *source, unsigned long line, json_object *o)
{
    const char *tool = str_member(o, "tool"), *kind = str_member(o, "record");
    const char *machine_id, *hostname, *at;
    json_object *version = member(o, "schema_version"), *host = member(o, "host"), *volumes = NULL;
    struct fl_fleet_host *hp;
    time_t t;
    long h;
    int r = 0;

    if (!json_object_is_type(o, json_type_object))
        return add_error(f, source, line, "not a JSON object");
    if (!tool || strcmp(tool, "fipsluks"))
        return add_error(f, source, line, "not fipsluks output (\"tool\" is not \"fipsluks\")");
    if (!version)
        return add_error(f, source, line,
                         "no \"schema_version\": written by a fipsluks without host identity; scan again");
    if (!json_object_is_type(version, json_type_int) || json_object_get_int64(version) != FL_SCHEMA_VERSION)
        return add_error(f, source, line, "\"schema_version\" is not %d, the version this fipsluks reads",
                         FL_SCHEMA_VERSION);
    if (!kind)
        return add_error(f, source, line, "no \"record\" string");
    if (!strcmp(kind, "skipped"))
        return 0;
    if (strcmp(kind, "scan") && strcmp(kind, "volume") && strcmp(kind, "summary"))
        return add_error(f, source, line, "a \"%.32s\" record: fipsluks report merges scan output", kind);
    machine_id = str_member(host, "machine_id");
    hostname = str_member(host, "hostname");
    if (!json_object_is_type(host, json_type_object) ||
        (!(machine_id && *machine_id) && !(hostname && *hostname)))
        return add_error(f, source, line, "no host identity (\"host\" has no machine_id or hostname)");
    if (!opt_string(host, "os_id") || !opt_string(host, "os_version_id"))
        return add_error(f, source, line,
                         "\"host\" has an \"os_id\" or \"os_version_id\" that is not a string");
    at = str_member(o, "scanned_at");
    if (fl_timestamp_parse(at, &t) < 0)
        return add_error(f, source, line, "\"scanned_at\" is not an RFC 3339 time");
    if (!strcmp(kind, "scan")) {
        volumes = member(o, "volumes");
        if (!json_object_is_type(volumes, json_type_array))
            return add_error(f, source, line, "a scan document without a \"volumes\" array");
    } else if (!strcmp(kind, "volume")) {
        const char *why = volume_malformed(o);
        if (why)
            return add_error(f, source, line, "%s", why);
    }

    h = host_get(f, machine_id && *machine_id ? machine_id : NULL, hostname && *hostname ? hostname : NULL);
    if (h < 0)
        return (int)h;
    hp = &f->hosts[h];
    if (t < hp->time)
        return 0; /* an older scan of this host: superseded */
    if (t > hp->time || !hp->scanned_at) {
        json_object *kf = member(host, "kernel_fips");

        host_drop_volumes(f, (size_t)h);
        hp->time = t;
        hp->complete = false;
        r = dup_opt(&hp->scanned_at, at);
        if (r >= 0)
            r = dup_opt(&hp->os_id, str_member(host, "os_id"));
        if (r >= 0)
            r = dup_opt(&hp->os_version_id, str_member(host, "os_version_id"));
        if (r >= 0)
            r = dup_opt(&hp->fipsluks_version, str_member(o, "version"));
        /* The newest scan names the host (it may have been renamed). */
        if (r >= 0 && hostname && *hostname && (!hp->hostname || strcmp(hp->hostname, hostname)))
            r = dup_opt(&hp->hostname, hostname);
        hp->kernel_fips = json_object_is_type(kf, json_type_boolean) ? json_object_get_boolean(kf) : -1;
        if (r < 0)
            return r;
    }
    if (!strcmp(kind, "summary"))
        hp->complete = true;
    else if (!strcmp(kind, "volume"))
        r = add_volume(f, (size_t)h, o);
    else {
        hp->complete = true;
        for (size_t i = 0; r >= 0 && i < json_object_array_length(volumes); i++) {
            json_object *v = json_object_array_get_idx(volumes, i);
            const char *why = volume_malformed(v);

            if (why)
                r = add_error(f, source, line, "volume %zu: %s", i, why);
            else
                r = add_volume(f, (size_t)h, v);
        }
    }
    return r;
}

static unsigned long count_lines(const char *s, size_t n)
{
    unsigned long lines = 0;

    for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))); p++)
        lines++;
    return lines;
}

/*
 * One input, read in pieces (fl_fleet_input_feed()). Only the bytes of the value being parsed are
 * held (json-c's tokener keeps its own state between pieces, so no byte is parsed twice): memory
 * follows the largest record, not the input. buf[0] is at line `line`; `pos` is where the next value
 * (or the search for the next line that starts a JSON object, after a bad value) begins, `fed` how
 * far the tokener has been given the current value.
 */
struct fl_fleet_input {
    struct fl_fleet *f;
    char *source;
    json_tokener *tok;
    char *buf;
    size_t len, allocated;
    size_t pos, fed;
    unsigned long line;  /* the line of buf[pos] */
    bool in_value;       /* the tokener holds a value begun at pos */
    bool resync;         /* after a bad value: looking for a line that starts with '{' */
    bool done;           /* the rest of the input is not read (a value cut short, too large, or no resync) */
};

/* Give up the bytes before pos (consumed), so that the buffer holds one value at most. */
static void input_compact(struct fl_fleet_input *in)
{
    if (in->pos == 0)
        return;
    memmove(in->buf, in->buf + in->pos, in->len - in->pos);
    in->len -= in->pos;
    in->fed -= in->pos;
    in->pos = 0;
}

/*
 * After a bad value at pos: move pos to the next line that starts a JSON object (a record, or a
 * document). @return true when found, false when more input is needed (or, at the end, there is none).
 */
static bool input_resync(struct fl_fleet_input *in, bool eof)
{
    const char *start = in->buf + in->pos, *next = start, *end = in->buf + in->len;

    for (;;) {
        next = memchr(next, '\n', (size_t)(end - next));
        if (!next || next + 1 >= end) {
            /* keep the last newline, whether '{' follows is not known yet; without one, nothing */
            next = next ? next : end;
            in->line += count_lines(start, (size_t)(next - start));
            in->pos = (size_t)(next - in->buf);
            if (eof)
                in->done = true;
            return false;
        }
        next++;
        if (*next == '{')
            break;
    }
    in->line += count_lines(start, (size_t)(next - start));
    in->pos = (size_t)(next - in->buf);
    in->resync = false;
    return true;
}

/* Parse what the buffer holds; at @p eof, also what is left unfinished. @return 0 or -ENOMEM. */
static int input_pump(struct fl_fleet_input *in, bool eof)
{
    int r = 0;

    while (r >= 0 && !in->done) {
        enum json_tokener_error e;
        json_object *o;
        size_t chunk, used, value_len;

        if (in->resync && !input_resync(in, eof))
            break;
        if (!in->in_value) {
            while (in->pos < in->len && isspace((unsigned char)in->buf[in->pos]))
                in->line += in->buf[in->pos++] == '\n';
            if (in->pos >= in->len)
                break;
            json_tokener_reset(in->tok);
            in->in_value = true;
            in->fed = in->pos;
        }
        if (in->fed >= in->len) {
            if (eof) {
                r = add_error(in->f, in->source, in->line, "a JSON value is cut short at the end of the input");
                in->done = true;
            }
            break;
        }
        chunk = in->len - in->fed < INT_MAX ? in->len - in->fed : INT_MAX;
        o = json_tokener_parse_ex(in->tok, in->buf + in->fed, (int)chunk);
        e = json_tokener_get_error(in->tok);
        used = json_tokener_get_parse_end(in->tok);
        in->fed += used > chunk ? chunk : used;
        value_len = in->fed - in->pos;
        if (o && e == json_tokener_success && value_len > 0) {
            r = add_record(in->f, in->source, in->line, o);
            json_object_put(o);
            in->line += count_lines(in->buf + in->pos, value_len);
            in->pos = in->fed;
            in->in_value = false;
            continue;
        }
        json_object_put(o);
        if (e == json_tokener_continue)
            continue; /* all given: more input, or the end */
        if (e == json_tokener_success) {
            r = add_error(in->f, in->source, in->line, "a JSON value is cut short at the end of the input");
            in->done = true;
            break;
        }
        /* Reported at the line the bad value starts on: that is the record to look at. */
        if (count_lines(in->buf + in->pos, value_len))
            r = add_error(in->f, in->source, in->line, "invalid JSON: %s (line %lu)", json_tokener_error_desc(e),
                          in->line + count_lines(in->buf + in->pos, value_len));
        else
            r = add_error(in->f, in->source, in->line, "invalid JSON: %s", json_tokener_error_desc(e));
        in->in_value = false;
        in->resync = true;
    }
    return r < 0 ? r : 0;
}

int fl_fleet_input_new(struct fl_fleet *f, const char *source, struct fl_fleet_input **ret)
{
    struct fl_fleet_input *in = calloc(1, sizeof(*in));

    if (!in)
        return -ENOMEM;
    in->f = f;
    in->line = 1;
    in->source = strdup(source);
    in->tok = json_tokener_new_ex(64);
    if (!in->source || !in->tok) {
        fl_fleet_input_free(in);
        return -ENOMEM;
    }
    *ret = in;
    return 0;
}

int fl_fleet_input_feed(struct fl_fleet_input *in, const char *buf, size_t len)
{
    if (in->done || len == 0)
        return 0;
    input_compact(in);
    if (len > FL_FLEET_VALUE_MAX - in->len) {
        in->done = true;
        return add_error(in->f, in->source, in->line, "a JSON value is larger than 1 GiB: the rest is not read") < 0
                   ? -ENOMEM
                   : 0;
    }
    if (fl_array_grow(&in->buf, &in->allocated, in->len + len, 1) < 0)
        return -ENOMEM;
    memcpy(in->buf + in->len, buf, len);
    in->len += len;
    return input_pump(in, false);
}

int fl_fleet_input_finish(struct fl_fleet_input *in)
{
    return input_pump(in, true);
}

void fl_fleet_input_free(struct fl_fleet_input *in)
{
    if (!in)
        return;
    if (in->tok)
        json_tokener_free(in->tok);
    free(in->buf);
    free(in->source);
    free(in);
}

int fl_fleet_add(struct fl_fleet *f, const char *source, const char *buf, size_t len)
{
    struct fl_fleet_input *in = NULL;
    int r = fl_fleet_input_new(f, source, &in);

    /* in pieces, as a reader would give them: the input is held once, by the caller */
    for (size_t off = 0; r >= 0 && off < len; off += FL_FLEET_PIECE)
        r = fl_fleet_input_feed(in, buf + off, len - off < FL_FLEET_PIECE ? len - off : FL_FLEET_PIECE);
    if (r >= 0)
        r = fl_fleet_input_finish(in);
    fl_fleet_input_free(in);
    return r;
}

static int count_add(struct fl_fleet_count **arr, size_t *n, size_t *allocated, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].name, name)) {
            (*arr)[i].count++;
            return 0;
        }
    if (fl_array_grow(arr, allocated, *n + 1, sizeof(**arr)) < 0)
        return -ENOMEM;
    (*arr)[*n].name = strdup(name);
    if (!(*arr)[*n].name)
        return -ENOMEM;
    (*arr)[*n].count = 1;
    (*n)++;
    return 0;
}

static int cmp_count(const void *a, const void *b)
{
    return strcmp(((const struct fl_fleet_count *)a)->name, ((const struct fl_fleet_count *)b)->name);
}

static int cmp_host(const void *a, const void *b)
{
    const struct fl_fleet_host *x = a, *y = b;
    int c = strcmp(x->hostname ? x->hostname : "", y->hostname ? y->hostname : "");

    return c ? c : strcmp(x->machine_id ? x->machine_id : "", y->machine_id ? y->machine_id : "");
}

static void counts_free(struct fl_fleet_count *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].name);
    free(c);
}

static int command_for_path(char ***commands, const char *path)
{
    char *q = fl_shell_quote(path), *cmd = NULL;
    int r;

    if (!q || asprintf(&cmd, "fipsluks scan %s", q) < 0) {
        free(q);
        return -ENOMEM;
    }
    free(q);
    r = strv_add(commands, cmd, true);
    free(cmd);
    return r;
}

/* What fixes volume @p v: its findings' remedies, else a scan of it on the host (which shows why). */
static int volume_commands(struct fl_fleet_volume *v, const struct volume_extra *x)
{
    int r = 0;

    strv_free(v->commands);
    v->commands = NULL;
    if (v->state == FL_FLEET_COMPATIBLE)
        return 0;
    for (size_t k = 0; r >= 0 && v->state == FL_FLEET_INCOMPATIBLE && x->remedies && x->remedies[k]; k++)
        r = strv_add(&v->commands, x->remedies[k], true);
    if (r >= 0 && !v->commands)
        r = command_for_path(&v->commands, v->path);
    return r;
}

static int finish_host(struct fl_fleet *f, size_t h, time_t now, uint64_t max_age)
{
    struct fl_fleet_host *host = &f->hosts[h];
    struct fl_fleet_summary *s = &f->summary;
    int r = 0;

    host->n_compatible = host->n_incompatible = host->n_unreadable = 0;
    strv_free(host->commands);
    host->commands = NULL;
    host->stale = now > host->time && (uint64_t)(now - host->time) > max_age;
    if (host->stale || !host->complete)
        r = strv_add(&host->commands, FL_FLEET_RESCAN_COMMAND, true);
    for (size_t i = 0; r >= 0 && i < host->n_volumes; i++) {
        struct fl_fleet_volume *v = &host->volumes[i];
        const struct volume_extra *x = &f->extras[h][i];

        s->volumes++;
        r = volume_commands(v, x);
        for (size_t k = 0; r >= 0 && v->commands && v->commands[k]; k++)
            r = strv_add(&host->commands, v->commands[k], true);
        if (v->state == FL_FLEET_COMPATIBLE) {
            host->n_compatible++;
            s->compatible++;
        } else if (v->state == FL_FLEET_INCOMPATIBLE) {
            host->n_incompatible++;
            s->incompatible++;
        } else {
            host->n_unreadable++;
            s->unreadable++;
        }
        for (size_t k = 0; r >= 0 && v->rules && v->rules[k]; k++)
            r = count_add(&s->rules, &s->n_rules, &f->allocated_rules, v->rules[k]);
        for (size_t k = 0; r >= 0 && x->kdfs && x->kdfs[k]; k++)
            r = count_add(&s->kdfs, &s->n_kdfs, &f->allocated_kdfs, x->kdfs[k]);
    }
    host->needs_action = host->stale || !host->complete || host->n_incompatible || host->n_unreadable;
    s->stale += host->stale;
    s->needing_action += host->needs_action;
    return r;
}

int fl_fleet_finish(struct fl_fleet *f, time_t now, uint64_t max_age)
{
    struct fl_fleet_summary *s = &f->summary;
    int r = 0;

    counts_free(s->rules, s->n_rules);
    counts_free(s->kdfs, s->n_kdfs);
    memset(s, 0, sizeof(*s));
    f->allocated_rules = f->allocated_kdfs = 0;
    /* Sort hosts and their volume extras together: sort an index, then permute. */
    if (f->n_hosts > 1) {
        struct fl_fleet_host *hosts = malloc(f->n_hosts * sizeof(*hosts));
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): extras is an array of pointers, one per host */
        struct volume_extra **extras = malloc(f->n_hosts * sizeof(*extras));
        struct {
            struct fl_fleet_host host;
            size_t index;
        } *tmp = malloc(f->n_hosts * sizeof(*tmp));

        if (!hosts || !extras || !tmp) {
            free(hosts);
            free(extras);
            free(tmp);
            return -ENOMEM;
        }
        for (size_t i = 0; i < f->n_hosts; i++) {
            tmp[i].host = f->hosts[i];
            tmp[i].index = i;
        }
        qsort(tmp, f->n_hosts, sizeof(*tmp), cmp_host);
        for (size_t i = 0; i < f->n_hosts; i++) {
            hosts[i] = tmp[i].host;
            extras[i] = f->extras[tmp[i].index];
        }
        memcpy(f->hosts, hosts, f->n_hosts * sizeof(*hosts));
        /* NOLINTNEXTLINE(bugprone-sizeof-expression): extras is an array of pointers, one per host */
        memcpy(f->extras, extras, f->n_hosts * sizeof(*extras));
        free(hosts);
        free(extras);
        free(tmp);
        f->last = 0;
    }
    s->hosts = f->n_hosts;
    for (size_t h = 0; r >= 0 && h < f->n_hosts; h++)
        r = finish_host(f, h, now, max_age);
    if (s->rules)
        qsort(s->rules, s->n_rules, sizeof(*s->rules), cmp_count);
    if (s->kdfs)
        qsort(s->kdfs, s->n_kdfs, sizeof(*s->kdfs), cmp_count);
    return r;
}

/* ---- the rest of the API ---- */

int fl_fleet_new(struct fl_fleet **ret)
{
    *ret = calloc(1, sizeof(**ret));
    return *ret ? 0 : -ENOMEM;
}

void fl_fleet_free(struct fl_fleet *f)
{
    if (!f)
        return;
    for (size_t h = 0; h < f->n_hosts; h++) {
        struct fl_fleet_host *host = &f->hosts[h];

        host_drop_volumes(f, h);
        free(host->hostname);
        free(host->machine_id);
        free(host->os_id);
        free(host->os_version_id);
        free(host->fipsluks_version);
        free(host->scanned_at);
        strv_free(host->commands);
    }
    free(f->hosts);
    free(f->extras);
    for (size_t i = 0; i < f->n_errors; i++) {
        free(f->errors[i].source);
        free(f->errors[i].message);
    }
    free(f->errors);
    counts_free(f->summary.rules, f->summary.n_rules);
    counts_free(f->summary.kdfs, f->summary.n_kdfs);
    free(f);
}

const struct fl_fleet_summary *fl_fleet_summary(const struct fl_fleet *f)
{
    return &f->summary;
}

size_t fl_fleet_n_hosts(const struct fl_fleet *f)
{
    return f->n_hosts;
}

const struct fl_fleet_host *fl_fleet_host(const struct fl_fleet *f, size_t i)
{
    return i < f->n_hosts ? &f->hosts[i] : NULL;
}

size_t fl_fleet_n_errors(const struct fl_fleet *f)
{
    return f->n_errors;
}

size_t fl_fleet_n_errors_total(const struct fl_fleet *f)
{
    return f->n_errors_total;
}

const struct fl_fleet_error *fl_fleet_error(const struct fl_fleet *f, size_t i)
{
    return i < f->n_errors ? &f->errors[i] : NULL;
}

bool fl_fleet_command_safe(const char *cmd)
{
    static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _./:=,+@%-";
    bool quoted = false;

    if (!cmd || (strncmp(cmd, "fipsluks ", 9) && strncmp(cmd, "cryptsetup ", 11)))
        return false;
    for (const unsigned char *p = (const unsigned char *)cmd; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
        if (quoted) {
            quoted = *p != '\'';
        } else if (*p == '\'') {
            quoted = true;
        } else if (*p == '\\') {
            if (p[1] != '\'')
                return false;
            p++; /* '\'' : an escaped quote between two quoted parts */
        } else if (!strchr(plain, *p)) {
            return false;
        }
    }
    return !quoted;
}

const char *fl_fleet_state_name(enum fl_fleet_state s)
{
    switch (s) {
    case FL_FLEET_COMPATIBLE:
        return "compatible";
    case FL_FLEET_INCOMPATIBLE:
        return "incompatible";
    case FL_FLEET_UNREADABLE:
        return "unreadable";
    }
    return "unknown";
}
