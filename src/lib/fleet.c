/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fipsluks report's merge: scan records from many hosts into one picture of the fleet.
 *
 * Every input is untrusted (a host may be compromised, a file truncated in transit): fleet-record.c
 * reads each record into the few typed fields report uses (bounding what a value may cost), and
 * this file checks their types before anything is taken from a record. A bad record becomes an
 * input error naming the source and line. Hosts and their volumes are found through hash tables
 * with a random seed, so the merge is linear in its input, whatever the hosts send.
 *
 * Nothing a record says is shown as a command. The to-do list is rebuilt here from what this
 * fipsluks understands: the id of a rule in fl_rules[] (and the verb that fixes it), a keyslot
 * number, its tokens, and a path that fl_fleet_path_usable() accepts, quoted by fl_shell_quote().
 * Anything else (a rule this fipsluks does not know, a relative or odd path) becomes a note that
 * needs a look, with no command.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cleanup.h"
#include "fipsluks/array.h"
#include "fipsluks/fleet.h"
#include "fipsluks/identity.h"
#include "fipsluks/policy.h"
#include "fipsluks/util.h"

#include "fleet-record.h"

#define FL_FLEET_PIECE   (64u * 1024) /* fl_fleet_add() feeds its buffer in pieces of this size */
#define FL_FLEET_STR_(x) #x
#define FL_FLEET_STR(x)  FL_FLEET_STR_(x)

const char *const fl_fleet_kdf_names[FL_FLEET_N_KDFS] = {"argon2i", "argon2id", "none", "other", "pbkdf2"};

/* An open-addressing hash table of indices (into hosts, or into one host's volumes). */
struct map_slot {
    uint64_t hash;
    size_t index1; /* index + 1; 0: empty */
};
struct map {
    struct map_slot *slots;
    size_t cap, n; /* cap: 0 or a power of two, at most half full */
};

/* A host's volumes by absolute path (else path as given), while records are merged. */
struct host_index {
    struct map by_path;
    size_t allocated; /* room in the host's volumes */
};

struct fl_fleet {
    struct fl_fleet_host *hosts;
    struct host_index *index; /* parallel to hosts while records are merged; NULL once finished */
    size_t n_hosts, allocated, allocated_index;
    struct map by_identity; /* hosts by machine id, else host name */
    uint64_t seed;
    time_t now; /* records from after now + FL_FLEET_CLOCK_SKEW are refused */
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

/* Append @p s, taken (freed on failure), unless @p unique and it is there already: for short lists. */
static int strv_take(char ***v, char *s, bool unique)
{
    size_t n = strv_len(*v);
    char **nv;

    if (!s)
        return -ENOMEM;
    for (size_t i = 0; unique && *v && i < n; i++) /* *v: n is 0 without it, for clang's analyzer */
        if (!strcmp((*v)[i], s)) {
            free(s);
            return 0;
        }
    nv = reallocarray(*v, n + 2, sizeof(**v));
    if (!nv) {
        free(s);
        return -ENOMEM;
    }
    *v = nv;
    nv[n] = s;
    nv[n + 1] = NULL;
    return 0;
}

static int strv_add(char ***v, const char *s, bool unique)
{
    return strv_take(v, strdup(s), unique);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort @p v (of @p n strings) and drop repeats: O(n log n), for lists a record makes as long as it likes. */
static void strv_sort_unique(char **v, size_t n)
{
    size_t k = 0;

    if (n == 0)
        return;
    qsort(v, n, sizeof(*v), cmp_strp);
    for (size_t i = 1; i < n; i++) {
        if (!strcmp(v[k], v[i]))
            free(v[i]);
        else
            v[++k] = v[i];
    }
    v[k + 1] = NULL;
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

/* ---- hash tables ---- */

/* A seeded hash of the byte @p kind and string @p s (the seed is random: a host cannot aim collisions). */
static uint64_t hash_str(uint64_t seed, unsigned char kind, const char *s)
{
    uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (kind + 1u));

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/*
 * The entry of @p m with @p hash for which @p eq(ctx, index, key) holds: @return its index, or -1
 * (then *@p ret_slot is the empty slot where it goes, when the table has room).
 */
static long map_find(const struct map *m, uint64_t hash, bool (*eq)(const void *, size_t, const void *),
                     const void *ctx, const void *key, size_t *ret_slot)
{
    if (m->cap == 0)
        return -1;
    for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const struct map_slot *s = &m->slots[i];

        if (!s->index1) {
            *ret_slot = i;
            return -1;
        }
        if (s->hash == hash && eq(ctx, s->index1 - 1, key))
            return (long)(s->index1 - 1);
    }
}

static void map_put_slot(struct map *m, uint64_t hash, size_t index)
{
    size_t i = hash & (m->cap - 1);

    while (m->slots[i].index1)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (struct map_slot){hash, index + 1};
}

/* Add @p index (not there yet) with @p hash. @return 0 or -ENOMEM. */
static int map_add(struct map *m, uint64_t hash, size_t index)
{
    if (2 * (m->n + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 8;
        struct map old = *m;

        if (cap > SIZE_MAX / sizeof(*m->slots))
            return -ENOMEM;
        m->slots = calloc(cap, sizeof(*m->slots));
        if (!m->slots) {
            m->slots = old.slots;
            return -ENOMEM;
        }
        m->cap = cap;
        for (size_t i = 0; i < old.cap; i++)
            if (old.slots[i].index1)
                map_put_slot(m, old.slots[i].hash, old.slots[i].index1 - 1);
        free(old.slots);
    }
    map_put_slot(m, hash, index);
    m->n++;
    return 0;
}

static void map_clear(struct map *m)
{
    free(m->slots);
    *m = (struct map){0};
}

/* ---- paths ---- */

bool fl_fleet_path_usable(const char *path)
{
    size_t len = path ? strlen(path) : 0;

    if (len < 2 || len >= PATH_MAX || path[0] != '/')
        return false;
    for (const char *p = path; *p;) {
        uint32_t cp = 0;
        size_t n = fl_utf8_char(p, &cp);

        if (n == 0 || fl_char_unsafe(cp))
            return false;
        /* a "." or ".." component: the path names what it says, no more */
        if (*p == '/' && p[1] == '.' && (p[2] == '/' || !p[2] || (p[2] == '.' && (p[3] == '/' || !p[3]))))
            return false;
        p += n;
    }
    return true;
}

/* ---- hosts ---- */

static void volume_clear(struct fl_fleet_volume *v)
{
    free(v->path);
    free(v->absolute_path);
    free(v->uuid);
    free(v->label);
    free(v->error);
    strv_free(v->rules);
    strv_free(v->commands);
    strv_free(v->notes);
    memset(v, 0, sizeof(*v));
}

static void host_drop_volumes(struct fl_fleet *f, size_t h)
{
    struct fl_fleet_host *host = &f->hosts[h];

    for (size_t i = 0; i < host->n_volumes; i++)
        volume_clear(&host->volumes[i]);
    free(host->volumes);
    host->volumes = NULL;
    host->n_volumes = 0;
    if (f->index) {
        map_clear(&f->index[h].by_path);
        f->index[h].allocated = 0;
    }
}

static void index_free(struct fl_fleet *f)
{
    for (size_t h = 0; f->index && h < f->n_hosts; h++)
        map_clear(&f->index[h].by_path);
    free(f->index);
    f->index = NULL;
    f->allocated_index = 0;
}

static const char *volume_key(const struct fl_fleet_volume *v);

/* The hosts' volume indices, made anew after fl_fleet_finish() dropped them. @return 0 or -ENOMEM. */
static int index_build(struct fl_fleet *f)
{
    if (f->index)
        return 0;
    if (f->n_hosts && fl_array_grow(&f->index, &f->allocated_index, f->n_hosts, sizeof(*f->index)) < 0)
        return -ENOMEM;
    for (size_t h = 0; h < f->n_hosts; h++) {
        const struct fl_fleet_host *host = &f->hosts[h];

        f->index[h] = (struct host_index){.allocated = host->n_volumes};
        for (size_t i = 0; i < host->n_volumes; i++)
            if (map_add(&f->index[h].by_path, hash_str(f->seed, 'v', volume_key(&host->volumes[i])), i) < 0) {
                for (size_t k = 0; k <= h; k++)
                    map_clear(&f->index[k].by_path);
                free(f->index);
                f->index = NULL;
                f->allocated_index = 0;
                return -ENOMEM;
            }
    }
    return 0;
}

struct identity {
    const char *machine_id, *hostname;
};

static bool same_host(const void *ctx, size_t i, const void *key)
{
    const struct fl_fleet_host *h = &((const struct fl_fleet *)ctx)->hosts[i];
    const struct identity *id = key;

    if (id->machine_id || h->machine_id)
        return id->machine_id && h->machine_id && !strcmp(id->machine_id, h->machine_id);
    return id->hostname && h->hostname && !strcmp(id->hostname, h->hostname);
}

static uint64_t identity_hash(const struct fl_fleet *f, const char *machine_id, const char *hostname)
{
    return machine_id ? hash_str(f->seed, 'm', machine_id) : hash_str(f->seed, 'h', hostname ? hostname : "");
}

/* The host a record with this identity belongs to, created if new; @return its index or -ENOMEM. */
static long host_get(struct fl_fleet *f, const char *machine_id, const char *hostname)
{
    struct identity id = {machine_id, hostname};
    uint64_t hash = identity_hash(f, machine_id, hostname);
    struct fl_fleet_host *host;
    size_t slot = 0;
    long found = map_find(&f->by_identity, hash, same_host, f, &id, &slot);

    if (index_build(f) < 0)
        return -ENOMEM;
    if (found >= 0)
        return found;
    if (fl_array_grow(&f->hosts, &f->allocated, f->n_hosts + 1, sizeof(*f->hosts)) < 0 ||
        fl_array_grow(&f->index, &f->allocated_index, f->n_hosts + 1, sizeof(*f->index)) < 0)
        return -ENOMEM;
    host = &f->hosts[f->n_hosts];
    memset(host, 0, sizeof(*host));
    memset(&f->index[f->n_hosts], 0, sizeof(*f->index));
    host->kernel_fips = -1;
    host->time = (time_t)LLONG_MIN;
    if (fl_strdup_opt(&host->machine_id, machine_id) < 0 || fl_strdup_opt(&host->hostname, hostname) < 0 ||
        map_add(&f->by_identity, hash, f->n_hosts) < 0) {
        free(host->machine_id);
        free(host->hostname);
        return -ENOMEM;
    }
    return (long)f->n_hosts++;
}

/* ---- volumes ---- */

static bool opt_str(struct fl_jstr s)
{
    return s.type == FL_J_ABSENT || s.type == FL_J_NULL || s.type == FL_J_STRING;
}

/* Whether a member is absent, null or of @p type. */
static bool opt_type(enum fl_jtype t, enum fl_jtype type)
{
    return t == FL_J_ABSENT || t == FL_J_NULL || t == type;
}

/* Check volume @p v before taking anything from it. @return NULL or why it is malformed. */
static const char *volume_malformed(const struct fl_rec_volume *v)
{
    const char *path = v->path.s, *status = v->status.s;

    if (v->type != FL_J_OBJECT)
        return "a volume is not a JSON object";
    if (!path || !*path)
        return "a volume has no \"path\" string";
    if (!status || (strcmp(status, "ok") && strcmp(status, "error")))
        return "a volume's \"status\" is not \"ok\" or \"error\"";
    if (!strcmp(status, "ok") && v->fips_compatible.type != FL_J_BOOL)
        return "a volume's \"fips_compatible\" is not true or false";
    if (!opt_str(v->uuid) || !opt_str(v->label) || !opt_str(v->error) || !opt_str(v->absolute_path) ||
        !opt_str(v->header))
        return "a volume's \"uuid\", \"label\", \"error\", \"absolute_path\" or \"header\" is not a string";
    if (!opt_type(v->luks_version.type, FL_J_INT) || !opt_type(v->segments, FL_J_ARRAY))
        return "a volume's \"luks_version\" is not a number or its \"segments\" not an array";
    if (v->findings != FL_J_ARRAY || v->keyslots != FL_J_ARRAY)
        return "a volume's \"findings\" or \"keyslots\" is not an array";
    for (size_t i = 0; i < v->n_findings; i++) {
        const struct fl_rec_finding *x = &v->finding[i];
        if (!x->rule.s || !x->severity.s || !opt_str(x->remedy) || !opt_str(x->object))
            return "a finding has no \"rule\" or \"severity\" string";
    }
    for (size_t i = 0; i < v->n_keyslots; i++) {
        const struct fl_rec_keyslot *ks = &v->keyslot[i];

        if (ks->type != FL_J_OBJECT || !opt_str(ks->kdf) || !opt_type(ks->id.type, FL_J_INT) ||
            !opt_type(ks->tokens, FL_J_ARRAY))
            return "a keyslot is not an object with a \"kdf\" string";
        if (ks->token_malformed)
            return "a keyslot's token is not an object with a \"type\" string";
    }
    return NULL;
}

static const struct fl_rule *rule_by_id(const char *id)
{
    for (size_t i = 0; i < FL_RULE_COUNT; i++)
        if (!strcmp(fl_rules[i].id, id))
            return &fl_rules[i];
    return NULL;
}

/* The keyslot a finding's "object" names ("keyslot N"), or -1. */
static int finding_keyslot(const struct fl_rec_finding *finding)
{
    const char *object = finding->object.s;
    uint64_t n;

    if (!object || strncmp(object, "keyslot ", 8) || fl_parse_u64(object + 8, &n) < 0 || n >= 32)
        return -1;
    return (int)n;
}

/* The record's keyslot @p id, or NULL. */
static const struct fl_rec_keyslot *record_keyslot(const struct fl_rec_volume *v, int id)
{
    for (size_t i = 0; i < v->n_keyslots; i++)
        if (v->keyslot[i].id.type == FL_J_INT && v->keyslot[i].id.v == id)
            return &v->keyslot[i];
    return NULL;
}

/* What the error findings of an incompatible volume ask for. */
struct todo {
    bool reencrypt, convert_luks1;
    uint32_t migrate; /* keyslots re-wrapped by fipsluks migrate */
    uint32_t keyed;   /* … of those, the ones the host's crypttab key file opens */
    uint32_t token;   /* token-bound keyslots: re-enrolment */
    bool person;      /* a fix that needs a person: a new volume, a look */
    const char *token_type[32];
    size_t unknown; /* findings of rules this fipsluks does not know */
    const char *first_unknown;
};

static int todo_finding(struct fl_fleet_volume *v, const struct fl_rec_volume *o,
                        const struct fl_rec_finding *x, bool luks1, struct todo *t)
{
    const struct fl_rule *rule = rule_by_id(x->rule.s);
    const struct fl_rec_keyslot *ks;
    enum fl_fix fix;
    int slot;

    if (!rule) {
        if (!t->unknown++)
            t->first_unknown = x->rule.s;
        return 0;
    }
    fix = rule->fixed_by;
    /* cryptsetup cannot reencrypt a volume with integrity (policy.c: the cipher rules' remedy) */
    if ((!strcmp(rule->id, "FL-CIPHER") || !strcmp(rule->id, "FL-XTS-KEY")) && o->integrity)
        fix = FL_FIX_FORMAT;
    switch (fix) {
    case FL_FIX_REENCRYPT:
        t->reencrypt = true;
        return 0;
    case FL_FIX_MIGRATE:
        if (luks1) {
            t->convert_luks1 = true;
            return 0;
        }
        slot = finding_keyslot(x);
        ks = slot >= 0 ? record_keyslot(o, slot) : NULL;
        t->person |= !ks;
        if (!ks)
            return strv_take(&v->notes,
                             fl_asprintf("needs a look: %s (%s), but the record names no keyslot of it",
                                         rule->id, rule->meaning),
                             true);
        if (ks->n_tokens > 0) {
            t->token |= 1u << slot;
            t->token_type[slot] = ks->first_token.s;
        } else {
            t->migrate |= 1u << slot;
            if (ks->crypttab_key.s && !strcmp(ks->crypttab_key.s, "opens"))
                t->keyed |= 1u << slot;
        }
        return 0;
    case FL_FIX_FORMAT:
        t->person = true;
        return strv_take(
            &v->notes,
            fl_asprintf("needs a look: %s (%s): only a new volume fixes it (fipsluks format, then "
                        "copy the data)",
                        rule->id, rule->meaning),
            true);
    case FL_FIX_NONE:
        break;
    }
    t->person = true;
    return strv_take(
        &v->notes,
        fl_asprintf("needs a look: %s (%s): no command fixes it; run fipsluks scan on the host for "
                    "the details",
                    rule->id, rule->meaning),
        true);
}

/*
 * The commands and notes of volume @p v from record @p o: only from rule ids, keyslot numbers and
 * the checked, quoted path, never from the record's remedies or messages. @return 0 or -ENOMEM.
 */
static int volume_todo(struct fl_fleet_volume *v, const struct fl_rec_volume *o)
{
    const char *header = o->header.s;
    _cleanup_free_ char *qpath = NULL, *qheader = NULL, *target = NULL;
    struct todo t = {0};
    int r = 0;

    if (v->state == FL_FLEET_COMPATIBLE)
        return 0;
    if (!v->absolute_path || (header && !fl_fleet_path_usable(header)))
        return strv_take(
            &v->notes,
            strdup("needs a look: the record has no absolute path fit for a command (scan the host "
                   "again with this fipsluks, which records one)"),
            true);
    qpath = fl_shell_quote(v->absolute_path);
    qheader = header ? fl_shell_quote(header) : NULL;
    if (qpath && (!header || qheader))
        target = header ? fl_asprintf("--header %s %s", qheader, qpath) : strdup(qpath);
    if (!target)
        return -ENOMEM;
    if (v->state == FL_FLEET_UNREADABLE)
        return strv_take(&v->commands, fl_asprintf("fipsluks scan %s", target), true);
    for (size_t i = 0; r >= 0 && i < o->n_findings; i++)
        if (!strcmp(o->finding[i].severity.s, "error"))
            r = todo_finding(v, o, &o->finding[i], o->luks_version.type == FL_J_INT && o->luks_version.v == 1,
                             &t);
    /* only keyslot conversions, each with a key file the host holds: no operator needed */
    v->unattended = r >= 0 && !t.reencrypt && !t.convert_luks1 && !t.token && !t.unknown && !t.person &&
                    t.migrate && (t.migrate & ~t.keyed) == 0;
    /* fipsluks reencrypt writes new PBKDF2 keyslots too (and LUKS2): one run, not two */
    if (r >= 0 && t.reencrypt) {
        r = strv_take(&v->commands, fl_asprintf("fipsluks reencrypt %s", target), true);
        if (r >= 0)
            r = strv_add(
                &v->notes,
                "run fipsluks reencrypt while the host is not yet in FIPS mode: a FIPS host cannot read "
                "what it replaces",
                true);
    } else if (r >= 0 && t.convert_luks1) {
        r = strv_take(&v->commands, fl_asprintf("fipsluks migrate --convert-luks1 %s", target), true);
    } else if (r >= 0 && v->unattended) {
        r = strv_add(&v->commands, FL_FLEET_CRYPTTAB_COMMAND, true);
    }
    for (int k = 0; r >= 0 && !t.reencrypt && !t.convert_luks1 && !v->unattended && k < 32; k++)
        if (t.migrate & (1u << k))
            r = strv_take(&v->commands, fl_asprintf("fipsluks migrate --key-slot %d %s", k, target), true);
    for (int k = 0; r >= 0 && k < 32; k++)
        if (t.token & (1u << k))
            r = strv_take(&v->notes, fl_remedy_token_keyslot(k, t.token_type[k], qpath, target), true);
    if (r >= 0 && t.unknown)
        r = strv_take(
            &v->notes,
            fl_asprintf("needs a look: %zu error finding%s of rules this fipsluks does not know (%.64s%s): "
                        "no command is shown for %s",
                        t.unknown, t.unknown == 1 ? "" : "s", t.first_unknown, t.unknown > 1 ? ", …" : "",
                        t.unknown == 1 ? "it" : "them"),
            true);
    if (r >= 0 && !v->commands && !v->notes)
        r = strv_add(&v->notes, "needs a look: not FIPS-compatible, but the record names no error finding",
                     true);
    return r;
}

/* Fill @p v from volume record @p o (checked by volume_malformed()). @return 0 or -ENOMEM. */
static int volume_fill(struct fl_fleet_volume *v, const struct fl_rec_volume *o)
{
    const char *path = o->path.s, *absolute = o->absolute_path.s;
    size_t n_rules = 0;
    int r = 0;

    memset(v, 0, sizeof(*v));
    if (!strcmp(o->status.s, "error"))
        v->state = FL_FLEET_UNREADABLE;
    else
        v->state = o->fips_compatible.v ? FL_FLEET_COMPATIBLE : FL_FLEET_INCOMPATIBLE;
    v->path = strdup(path);
    if (!v->path)
        return -ENOMEM;
    r = fl_strdup_opt(&v->absolute_path, fl_fleet_path_usable(absolute) ? absolute
                                         : fl_fleet_path_usable(path)   ? path
                                                                        : NULL);
    if (r >= 0)
        r = fl_strdup_opt(&v->uuid, o->uuid.s);
    if (r >= 0)
        r = fl_strdup_opt(&v->label, o->label.s);
    if (r >= 0)
        r = fl_strdup_opt(&v->error, o->error.s);
    for (size_t i = 0; r >= 0 && i < o->n_findings; i++) {
        if (strcmp(o->finding[i].severity.s, "error"))
            continue;
        if (!v->rules) {
            v->rules = calloc(o->n_findings + 1, sizeof(*v->rules));
            if (!v->rules) {
                r = -ENOMEM;
                break;
            }
        }
        v->rules[n_rules] = strdup(o->finding[i].rule.s);
        if (!v->rules[n_rules++])
            r = -ENOMEM;
    }
    if (r >= 0)
        strv_sort_unique(v->rules, n_rules);
    for (size_t i = 0; r >= 0 && i < o->n_keyslots; i++) {
        const char *kdf = o->keyslot[i].kdf.s;
        size_t k = FL_FLEET_KDF_OTHER;

        for (size_t j = 0; j < FL_FLEET_N_KDFS; j++)
            if (!strcmp(kdf ? kdf : "none", fl_fleet_kdf_names[j]))
                k = j;
        v->keyslots_by_kdf[k]++;
    }
    if (r >= 0)
        r = volume_todo(v, o);
    return r;
}

static int state_rank(enum fl_fleet_state s)
{
    return s == FL_FLEET_INCOMPATIBLE ? 2 : s == FL_FLEET_UNREADABLE ? 1 : 0;
}

/* @p v and @p w are the same volume in the same scan, with the same verdict: @p v gets what @p w adds. */
static int volume_merge(struct fl_fleet_volume *v, const struct fl_fleet_volume *w)
{
    size_t n = strv_len(v->rules), m = strv_len(w->rules);
    char **rules;
    int r = 0;

    if (m && w->rules) { /* w->rules: m is 0 without it, for clang's analyzer */
        rules = reallocarray(v->rules, n + m + 1, sizeof(*rules));
        if (!rules)
            return -ENOMEM;
        v->rules = rules;
        for (size_t i = 0; i < m; i++) {
            rules[n + i] = strdup(w->rules[i]);
            rules[n + i + 1] = NULL;
            if (!rules[n + i])
                return -ENOMEM;
        }
        strv_sort_unique(rules, n + m);
    }
    for (size_t i = 0; r >= 0 && w->commands && w->commands[i]; i++)
        r = strv_add(&v->commands, w->commands[i], true);
    for (size_t i = 0; r >= 0 && w->notes && w->notes[i]; i++)
        r = strv_add(&v->notes, w->notes[i], true);
    return r;
}

static const char *volume_key(const struct fl_fleet_volume *v)
{
    return v->absolute_path ? v->absolute_path : v->path;
}

static bool same_volume(const void *ctx, size_t i, const void *key)
{
    const struct fl_fleet_host *host = ctx;

    return !strcmp(volume_key(&host->volumes[i]), key);
}

static int add_volume(struct fl_fleet *f, size_t h, const struct fl_rec_volume *o)
{
    struct fl_fleet_host *host = &f->hosts[h];
    struct host_index *hx = &f->index[h];
    struct fl_fleet_volume v;
    uint64_t hash;
    size_t slot = 0;
    long i;
    int r = volume_fill(&v, o);

    if (r < 0) {
        volume_clear(&v);
        return r;
    }
    hash = hash_str(f->seed, 'v', volume_key(&v));
    i = map_find(&hx->by_path, hash, same_volume, host, volume_key(&v), &slot);
    if (i >= 0) {
        /* One volume twice in one scan (a record given twice, or two that disagree): the worse verdict
         * wins, whatever the order of the inputs; with the same verdict, what either says counts. */
        struct fl_fleet_volume *old = &host->volumes[i];

        if (state_rank(v.state) > state_rank(old->state)) {
            volume_clear(old);
            *old = v;
            return 0;
        }
        if (state_rank(v.state) == state_rank(old->state)) {
            old->unattended &= v.unattended; /* two records that disagree: the one that needs a person */
            r = volume_merge(old, &v);
        }
        volume_clear(&v);
        return r;
    }
    if (fl_array_grow(&host->volumes, &hx->allocated, host->n_volumes + 1, sizeof(*host->volumes)) < 0 ||
        map_add(&hx->by_path, hash, host->n_volumes) < 0) {
        volume_clear(&v);
        return -ENOMEM;
    }
    host->volumes[host->n_volumes++] = v;
    return 0;
}

/* ---- records ---- */

static int add_record(struct fl_fleet *f, const char *source, unsigned long line, const struct fl_rec *o)
{
    const char *tool = o->tool.s, *kind = o->record.s, *at = o->scanned_at.s;
    const char *machine_id = o->machine_id.s, *hostname = o->hostname.s;
    struct fl_fleet_host *hp;
    time_t t;
    long h;
    int r = 0;

    if (o->type != FL_J_OBJECT)
        return add_error(f, source, line, "not a JSON object");
    if (!tool || strcmp(tool, "fipsluks"))
        return add_error(f, source, line, "not fipsluks output (\"tool\" is not \"fipsluks\")");
    if (o->schema_version.type == FL_J_ABSENT || o->schema_version.type == FL_J_NULL)
        return add_error(f, source, line,
                         "no \"schema_version\": written by a fipsluks without host identity; scan again");
    if (o->schema_version.type != FL_J_INT || o->schema_version.v != FL_SCHEMA_VERSION)
        return add_error(f, source, line, "\"schema_version\" is not %d, the version this fipsluks reads",
                         FL_SCHEMA_VERSION);
    if (!kind)
        return add_error(f, source, line, "no \"record\" string");
    if (!strcmp(kind, "skipped"))
        return 0;
    if (strcmp(kind, "scan") && strcmp(kind, "volume") && strcmp(kind, "summary"))
        return add_error(f, source, line, "a \"%.32s\" record: fipsluks report merges scan output", kind);
    if (o->host != FL_J_OBJECT || (!(machine_id && *machine_id) && !(hostname && *hostname)))
        return add_error(f, source, line, "no host identity (\"host\" has no machine_id or hostname)");
    if (!opt_str(o->os_id) || !opt_str(o->os_version_id))
        return add_error(f, source, line,
                         "\"host\" has an \"os_id\" or \"os_version_id\" that is not a string");
    if (fl_timestamp_parse(at, &t) < 0)
        return add_error(f, source, line, "\"scanned_at\" is not an RFC 3339 time");
    /* A scan from the future would never go stale and would hide the host's real scans. */
    if (t > f->now && (uint64_t)(t - f->now) > FL_FLEET_CLOCK_SKEW)
        return add_error(
            f, source, line,
            "\"scanned_at\" %s is in the future (more than %d seconds after this machine's clock): "
            "refused",
            at, FL_FLEET_CLOCK_SKEW);
    if (!strcmp(kind, "scan")) {
        if (o->volumes != FL_J_ARRAY)
            return add_error(f, source, line, "a scan document without a \"volumes\" array");
    } else if (!strcmp(kind, "volume")) {
        const char *why = volume_malformed(&o->self);
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
        host_drop_volumes(f, (size_t)h);
        hp->time = t;
        hp->complete = false;
        r = fl_strdup_opt(&hp->scanned_at, at);
        if (r >= 0)
            r = fl_strdup_opt(&hp->os_id, o->os_id.s);
        if (r >= 0)
            r = fl_strdup_opt(&hp->os_version_id, o->os_version_id.s);
        if (r >= 0)
            r = fl_strdup_opt(&hp->fipsluks_version, o->version.s);
        /* The newest scan names the host (it may have been renamed). */
        if (r >= 0 && hostname && *hostname && (!hp->hostname || strcmp(hp->hostname, hostname)))
            r = fl_strdup_opt(&hp->hostname, hostname);
        hp->kernel_fips = o->kernel_fips.type == FL_J_BOOL ? o->kernel_fips.v : -1;
        if (r < 0)
            return r;
    }
    if (!strcmp(kind, "summary"))
        hp->complete = true;
    else if (!strcmp(kind, "volume"))
        r = add_volume(f, (size_t)h, &o->self);
    else {
        hp->complete = true;
        for (size_t i = 0; r >= 0 && i < o->n_volumes; i++) {
            const char *why = volume_malformed(&o->volume[i]);

            if (why)
                r = add_error(f, source, line, "volume %zu: %s", i, why);
            else
                r = add_volume(f, (size_t)h, &o->volume[i]);
        }
    }
    return r;
}

/* ---- inputs ---- */

/* One input: the reader that parses it, and the name its errors carry. */
struct fl_fleet_input {
    struct fl_fleet *f;
    char *source;
    struct fl_rec_reader *reader;
};

static int input_record(void *ctx, unsigned long line, const struct fl_rec *rec)
{
    struct fl_fleet_input *in = ctx;

    return add_record(in->f, in->source, line, rec);
}

static int input_error(void *ctx, unsigned long line, const char *message)
{
    struct fl_fleet_input *in = ctx;

    return add_error(in->f, in->source, line, "%s", message);
}

int fl_fleet_input_new(struct fl_fleet *f, const char *source, struct fl_fleet_input **ret)
{
    struct fl_fleet_input *in = calloc(1, sizeof(*in));
    struct fl_rec_sink sink = {input_record, input_error, in};

    if (!in)
        return -ENOMEM;
    in->f = f;
    in->source = strdup(source);
    if (!in->source || fl_rec_reader_new(&sink, &in->reader) < 0) {
        fl_fleet_input_free(in);
        return -ENOMEM;
    }
    *ret = in;
    return 0;
}

int fl_fleet_input_feed(struct fl_fleet_input *in, const char *buf, size_t len)
{
    return fl_rec_reader_feed(in->reader, buf, len);
}

int fl_fleet_input_finish(struct fl_fleet_input *in)
{
    return fl_rec_reader_finish(in->reader);
}

void fl_fleet_input_free(struct fl_fleet_input *in)
{
    if (!in)
        return;
    fl_rec_reader_free(in->reader);
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

static int count_add(struct fl_fleet_count **arr, size_t *n, size_t *allocated, const char *name,
                     unsigned long count)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].name, name)) {
            (*arr)[i].count += count;
            return 0;
        }
    if (fl_array_grow(arr, allocated, *n + 1, sizeof(**arr)) < 0)
        return -ENOMEM;
    (*arr)[*n].name = strdup(name);
    if (!(*arr)[*n].name)
        return -ENOMEM;
    (*arr)[*n].count = count;
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

/*
 * The host's to-do: a fresh scan when its own is stale or cut short; one migrate --crypttab for the
 * volumes it converts alone; then the other volumes' commands in order.
 */
static int host_todo(struct fl_fleet_host *host)
{
    size_t n_commands = 2, n_notes = 1, c = 0, k = 0;
    bool unattended = false;

    strv_free(host->commands);
    strv_free(host->notes);
    host->commands = host->notes = NULL;
    for (size_t i = 0; i < host->n_volumes; i++) {
        n_commands += strv_len(host->volumes[i].commands);
        n_notes += strv_len(host->volumes[i].notes);
        unattended |= host->volumes[i].unattended;
    }
    host->commands = calloc(n_commands + 1, sizeof(*host->commands));
    host->notes = calloc(n_notes, sizeof(*host->notes));
    if (!host->commands || !host->notes)
        return -ENOMEM;
    if (host->stale || !host->complete) {
        host->commands[c] = strdup(FL_FLEET_RESCAN_COMMAND);
        if (!host->commands[c++])
            return -ENOMEM;
    }
    if (unattended) {
        host->commands[c] = strdup(FL_FLEET_CRYPTTAB_COMMAND);
        if (!host->commands[c++])
            return -ENOMEM;
    }
    for (size_t i = 0; i < host->n_volumes; i++) {
        const struct fl_fleet_volume *v = &host->volumes[i];

        /* commands name their volume (by its unique path): no repeats to look for; the one command of
         * the unattended volumes is there already */
        for (size_t j = 0; !v->unattended && v->commands && v->commands[j]; j++) {
            host->commands[c] = strdup(v->commands[j]);
            if (!host->commands[c++])
                return -ENOMEM;
        }
        for (size_t j = 0; v->notes && v->notes[j]; j++) {
            host->notes[k] = fl_asprintf("%s: %s", volume_key(v), v->notes[j]);
            if (!host->notes[k++])
                return -ENOMEM;
        }
    }
    if (c == 0) {
        free(host->commands);
        host->commands = NULL;
    }
    if (k == 0) {
        free(host->notes);
        host->notes = NULL;
    }
    return 0;
}

static int finish_host(struct fl_fleet *f, size_t h, time_t now, uint64_t max_age)
{
    struct fl_fleet_host *host = &f->hosts[h];
    struct fl_fleet_summary *s = &f->summary;
    int r = 0;

    host->n_compatible = host->n_incompatible = host->n_unreadable = 0;
    host->stale = now > host->time && (uint64_t)(now - host->time) > max_age;
    for (size_t i = 0; r >= 0 && i < host->n_volumes; i++) {
        struct fl_fleet_volume *v = &host->volumes[i];

        s->volumes++;
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
        /* rules this fipsluks does not know are counted as one: a host cannot grow the summary */
        for (size_t k = 0; r >= 0 && v->rules && v->rules[k]; k++)
            r = count_add(&s->rules, &s->n_rules, &f->allocated_rules,
                          rule_by_id(v->rules[k]) ? v->rules[k] : "(unknown)", 1);
        for (size_t k = 0; r >= 0 && k < FL_FLEET_N_KDFS; k++)
            if (v->keyslots_by_kdf[k])
                r = count_add(&s->kdfs, &s->n_kdfs, &f->allocated_kdfs, fl_fleet_kdf_names[k],
                              v->keyslots_by_kdf[k]);
    }
    if (r >= 0)
        r = host_todo(host);
    host->needs_action = host->stale || !host->complete || host->n_incompatible || host->n_unreadable;
    host->unattended = -1;
    for (size_t i = 0; i < host->n_volumes; i++)
        if (host->volumes[i].state != FL_FLEET_COMPATIBLE)
            host->unattended = host->volumes[i].unattended && host->unattended != 0 ? 1 : 0;
    s->unattended += host->unattended == 1;
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
    /* The volume indices are for merging: gone now (index_build() makes them again if more comes).
     * The hosts sorted, and found by identity anew. */
    index_free(f);
    if (f->n_hosts > 1) {
        qsort(f->hosts, f->n_hosts, sizeof(*f->hosts), cmp_host);
        map_clear(&f->by_identity);
        for (size_t i = 0; r >= 0 && i < f->n_hosts; i++)
            r = map_add(&f->by_identity, identity_hash(f, f->hosts[i].machine_id, f->hosts[i].hostname), i);
        if (r < 0)
            return r;
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
    struct fl_fleet *f = calloc(1, sizeof(*f));

    if (!f)
        return -ENOMEM;
    /* the hash seed: without the kernel's randomness, the clock and an address still vary per run */
    if (getrandom(&f->seed, sizeof(f->seed), GRND_NONBLOCK) != (ssize_t)sizeof(f->seed))
        f->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)f;
    f->now = time(NULL);
    *ret = f;
    return 0;
}

void fl_fleet_set_now(struct fl_fleet *f, time_t now)
{
    f->now = now;
}

void fl_fleet_free(struct fl_fleet *f)
{
    if (!f)
        return;
    for (size_t h = 0; h < f->n_hosts; h++) {
        struct fl_fleet_host *host = &f->hosts[h];

        host_drop_volumes(f, h);
        strv_free(host->notes);
        free(host->hostname);
        free(host->machine_id);
        free(host->os_id);
        free(host->os_version_id);
        free(host->fipsluks_version);
        free(host->scanned_at);
        strv_free(host->commands);
    }
    free(f->hosts);
    index_free(f);
    map_clear(&f->by_identity);
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
