/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Keyslot migration to PBKDF2: the whole protocol, behind fl_migrate(). See
 * include/fipsluks/migrate.h for the order of writes and why a crash anywhere leaves a volume that
 * opens with its old secret.
 *
 * Two rules hold every destroy in this file:
 *  - a keyslot is destroyed only when another keyslot has just been verified to open with the
 *    same secret, and
 *  - only a keyslot this protocol can prove it made or was asked to convert: the old keyslot S by
 *    the KDF salt recorded in its journal, the temporary copy T by the exact PBKDF2 parameters
 *    recorded before it was written and by opening with the secret. Any other keyslot, whatever
 *    secret it holds, survives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libcryptsetup.h>

#include "fipsluks/backup.h"
#include "fipsluks/fips.h"
#include "fipsluks/kdf.h"
#include "fipsluks/migrate.h"
#include "fipsluks/policy.h"
#include "journal.h"
#include "keyslot-run.h"
#include "target.h"
#include "util.h"

#define LUKS2_AF_STRIPES 4000u
#define LUKS2_AREA_ALIGN 4096u

struct fl_migration {
    struct fl_run_volume vol; /* its lock is held only while fl_migrate() runs */
};

static int reload(struct fl_migration *m)
{
    return fl_run_volume_read(&m->vol);
}

int fl_migration_open(const char *path, const char *header, struct fl_migration **ret)
{
    struct fl_migration *m = calloc(1, sizeof(*m));
    int r;

    if (!m)
        return -ENOMEM;
    r = fl_run_volume_init(&m->vol, path, header);
    if (r < 0) {
        free(m);
        return r;
    }
    /* The read-only model first: it gives precise errors for missing, non-LUKS or corrupt targets. */
    r = reload(m);
    if (r == 0)
        r = fl_run_volume_open(&m->vol, true);
    if (r < 0)
        goto fail;
    *ret = m;
    return 0;
fail:
    fl_migration_free(m);
    return r;
}

void fl_migration_free(struct fl_migration *m)
{
    if (!m)
        return;
    fl_run_volume_clear(&m->vol);
    free(m);
}

const struct fl_volume *fl_migration_volume(const struct fl_migration *m)
{
    return m->vol.v;
}

size_t fl_migration_key_size(const struct fl_migration *m)
{
    int r = crypt_get_volume_key_size(m->vol.cd);
    return r > 0 ? (size_t)r : 0;
}

/* ---- the plan (pure) ----------------------------------------------------------------------- */

int fl_migration_plan(const struct fl_volume *v, bool include_warnings, struct fl_slot *slots)
{
    struct fl_findings f = {0};
    int r;

    r = fl_policy_evaluate(v, &f);
    if (r < 0) {
        fl_findings_clear(&f);
        return r;
    }
    for (size_t i = 0; i < v->n_keyslots; i++) {
        const struct fl_keyslot *ks = &v->keyslots[i];
        struct fl_slot *s = &slots[i];
        size_t used = 0;
        bool convert = false;

        s->id = ks->id;
        s->rules[0] = '\0';
        for (size_t k = 0; k < f.n; k++) {
            const struct fl_finding *x = &f.items[k];
            /* what a new PBKDF2 keyslot from the same volume key fixes */
            if (x->object != FL_OBJECT_KEYSLOT || x->object_id != ks->id || x->fix != FL_FIX_MIGRATE)
                continue;
            if (x->severity == FL_SEVERITY_ERROR ||
                (include_warnings && x->severity == FL_SEVERITY_WARNING)) {
                convert = true;
                used += (size_t)snprintf(s->rules + used, sizeof(s->rules) - used, "%s%s", used ? "," : "",
                                         x->rule->id);
                if (used >= sizeof(s->rules))
                    used = sizeof(s->rules) - 1;
            }
        }
        if (ks->type && !strcmp(ks->type, "reencrypt"))
            s->plan = FL_SLOT_NOT_KEYSLOT;
        else if (!convert)
            s->plan = FL_SLOT_COMPLIANT;
        else if (ks->n_tokens > 0)
            s->plan = FL_SLOT_TOKEN_BOUND;
        else
            s->plan = FL_SLOT_CONVERT;
    }
    fl_findings_clear(&f);
    return (int)v->n_keyslots;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int fl_migration_has_room(const struct fl_volume *v, size_t key_size)
{
    uint64_t areas[FL_MAX_KEYSLOTS][2], start, end, at, need;
    size_t n = 0;

    if (v->n_keyslots >= FL_MAX_KEYSLOTS)
        return 0;
    need = (uint64_t)key_size * LUKS2_AF_STRIPES;
    need = (need + LUKS2_AREA_ALIGN - 1) / LUKS2_AREA_ALIGN * LUKS2_AREA_ALIGN;
    start = 2 * v->metadata_size;
    end = start + v->keyslots_size;
    for (size_t i = 0; i < v->n_keyslots; i++) {
        if (!v->keyslots[i].area_size)
            continue;
        areas[n][0] = v->keyslots[i].area_offset;
        areas[n][1] = v->keyslots[i].area_offset + v->keyslots[i].area_size;
        n++;
    }
    qsort(areas, n, sizeof(areas[0]), cmp_u64);
    at = start;
    for (size_t i = 0; i < n; i++) {
        if (areas[i][0] >= at + need)
            return 1;
        if (areas[i][1] > at)
            at = areas[i][1];
    }
    return at + need <= end;
}

int fl_migration_journals(struct fl_migration *m, struct fl_journal *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < m->vol.v->n_tokens && n < max; i++) {
        const struct fl_token *t = &m->vol.v->tokens[i];
        const char *json = NULL;

        if (!t->type || strcmp(t->type, FL_MIGRATION_TOKEN))
            continue;
        if (crypt_token_json_get(m->vol.cd, t->id, &json) < 0)
            json = NULL;
        fl_journal_parse(json, t->id, &out[n++]);
    }
    fl_journal_validate(out, n, m->vol.v);
    return (int)n;
}

/* The KDF salt of @p slot as stored in the header (its identity), into @p buf. */
static int keyslot_salt(struct crypt_device *cd, int slot, char *buf, size_t size)
{
    json_object *root, *keyslots, *ks, *kdf, *salt;
    const char *json;
    char key[16];
    int r = -ENOENT;

    if (crypt_dump_json(cd, &json, 0) < 0 || !(root = json_tokener_parse(json)))
        return -EINVAL;
    snprintf(key, sizeof(key), "%d", slot);
    if (json_object_object_get_ex(root, "keyslots", &keyslots) &&
        json_object_object_get_ex(keyslots, key, &ks) && json_object_object_get_ex(ks, "kdf", &kdf) &&
        json_object_object_get_ex(kdf, "salt", &salt) && json_object_is_type(salt, json_type_string)) {
        const char *s = json_object_get_string(salt);
        r = strlen(s) < size ? 0 : -E2BIG;
        if (r == 0)
            strcpy(buf, s);
    }
    json_object_put(root);
    return r;
}

/* ---- one run ---------------------------------------------------------------------------------- */

struct run {
    struct fl_migration *m;
    const struct fl_migrate_options *o;
    const struct fl_migrate_ops *ops;
    struct fl_migrate_result *res;
    struct fl_run_secrets keys;    /* offered and typed, and which opens what */
    bool recovered[FL_MAX_TOKENS]; /* journals finished in this run */
    int backup_fd;
    size_t key_size;
};

static const struct fl_secret *key(const struct run *run, int i)
{
    return fl_run_secret(&run->keys, (size_t)i);
}

static size_t n_keys(const struct run *run)
{
    return fl_run_secrets_count(&run->keys);
}

static void event(const struct run *run, enum fl_migrate_event ev, int keyslot, int secret)
{
    if (run->ops && run->ops->event)
        run->ops->event(run->ops->userdata, ev, keyslot, secret);
}

static bool stop_asked(const struct run *run)
{
    return run->ops && run->ops->stop && run->ops->stop(run->ops->userdata);
}

static void unlocking(void *userdata, int slot, size_t i)
{
    event(userdata, FL_EVENT_UNLOCK, slot, (int)i);
}

/* Try secret @p i on @p slot unless done before (its KDF runs once); @return 1 opens, 0 not, -errno. */
static int try_key(struct run *run, int slot, int i)
{
    int r = fl_run_secrets_try(&run->keys, run->m->vol.cd, run->m->vol.v, slot, (size_t)i, unlocking, run);

    if (r == -ENOTSUP)
        run->res->failed_keyslot = slot;
    if (r == -EINVAL) { /* a KDF or hash this host cannot compute: no secret opens it here */
        if (run->res->unusable_keyslot < 0)
            run->res->unusable_keyslot = slot;
        return 0;
    }
    return r;
}

/* The temporary copy of journal @p j looks like the one it recorded (before any unlock). */
static bool temp_matches(struct crypt_device *cd, const struct fl_journal *j)
{
    struct crypt_pbkdf_type p;

    return j->temp >= 0 && fl_run_keyslot_active(cd, j->temp) &&
           crypt_keyslot_get_pbkdf(cd, j->temp, &p) == 0 && p.type && !strcmp(p.type, CRYPT_KDF_PBKDF2) &&
           p.hash && !strcmp(p.hash, j->temp_hash) && p.iterations == j->temp_iterations;
}

static bool opens_any(const struct run *run, int i)
{
    return fl_run_secrets_opens_any(&run->keys, (size_t)i);
}

/*
 * Which secret opens what, before anything is written. Journals first (their temporary copy is
 * cheap to try), then the keyslots to convert, then, for a secret that opened none of those, every
 * other keyslot (only the one named, if one is): a secret that opens a keyslot already converted is
 * not a wrong secret.
 */
static int match_secrets(struct run *run)
{
    struct fl_migrate_result *res = run->res;
    int max = crypt_keyslot_max(CRYPT_LUKS2);

    for (size_t j = 0; j < res->n_journals; j++)
        for (size_t i = 0; i < n_keys(run); i++) {
            const struct fl_journal *jl = &res->journals[j];
            int r = 0;
            if (temp_matches(run->m->vol.cd, jl))
                r = try_key(run, jl->temp, (int)i);
            if (r == 0)
                r = try_key(run, jl->keyslot, (int)i);
            if (r < 0)
                return r;
            if (r > 0)
                break;
        }
    /* secrets that opened nothing yet first: one key file per keyslot is the common case */
    for (size_t k = 0; k < res->n_jobs; k++)
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < n_keys(run) && run->keys.opener[res->jobs[k].keyslot] < 0; i++) {
                int r;
                if (opens_any(run, (int)i) != (pass == 1))
                    continue;
                r = try_key(run, res->jobs[k].keyslot, (int)i);
                if (r < 0)
                    return r;
                if (stop_asked(run))
                    return -EINTR;
            }
    for (size_t i = 0; i < n_keys(run); i++) {
        bool opens = opens_any(run, (int)i);
        for (int s = 0; s < max && !opens; s++) {
            int r;
            /* with one keyslot named, a secret is for that keyslot (or an interrupted conversion) */
            if (run->o->keyslot >= 0 && s != run->o->keyslot)
                continue;
            r = try_key(run, s, (int)i);
            if (r < 0)
                return r;
            opens = r > 0;
            if (stop_asked(run))
                return -EINTR;
        }
        if (i < run->keys.n_offered)
            for (int s = 0; s < max; s++)
                if (run->keys.opener[s] == (int)i) {
                    run->keys.offered[i].keyslot = s;
                    break;
                }
        if (!opens) {
            res->failed_secret = (int)i;
            event(run, FL_EVENT_WRONG_SECRET, -1, (int)i);
            return -EPERM;
        }
    }
    return 0;
}

/* Ask the operator for the secret of @p slot until one opens it (or @p also); @return 0, -errno. */
static int ask_for(struct run *run, int slot, int also)
{
    const struct fl_keyslot *ks = fl_volume_keyslot(run->m->vol.v, slot);

    for (unsigned attempt = 0;; attempt++) {
        struct fl_secret *s = NULL;
        int i, r;

        if (fl_run_secrets_full(&run->keys))
            return -E2BIG;
        r = run->ops->ask(run->ops->userdata, ks, attempt, &s);
        if (r < 0)
            return r;
        if (r > 0)
            return 0; /* skipped */
        i = fl_run_secrets_add(&run->keys, s);
        if (i < 0)
            return i;
        r = also >= 0 ? try_key(run, also, i) : 0;
        if (r == 0)
            r = try_key(run, slot, i);
        if (r < 0) {
            if (r == -ENOTSUP)
                run->res->failed_keyslot = slot;
            return r;
        }
        if (r > 0)
            return 0;
        event(run, FL_EVENT_WRONG_SECRET, slot, i);
    }
}

static int ask_secrets(struct run *run)
{
    struct fl_migrate_result *res = run->res;
    int r;

    if (!run->ops || !run->ops->ask)
        return 0;
    for (size_t j = 0; j < res->n_journals; j++) {
        const struct fl_journal *jl = &res->journals[j];
        if (run->keys.opener[jl->keyslot] >= 0 || (jl->temp >= 0 && run->keys.opener[jl->temp] >= 0))
            continue;
        r = ask_for(run, jl->keyslot, temp_matches(run->m->vol.cd, jl) ? jl->temp : -1);
        if (r < 0)
            return r;
    }
    for (size_t k = 0; k < res->n_jobs; k++) {
        int slot = res->jobs[k].keyslot;
        if (run->keys.opener[slot] >= 0)
            continue;
        /* a secret typed for an earlier keyslot may open this one too */
        for (size_t i = run->keys.n_offered; i < n_keys(run) && run->keys.opener[slot] < 0; i++) {
            r = try_key(run, slot, (int)i);
            if (r < 0)
                return r;
        }
        if (run->keys.opener[slot] < 0 && (r = ask_for(run, slot, -1)) < 0)
            return r;
    }
    return 0;
}

/* ---- writing ---------------------------------------------------------------------------------- */

static crypt_keyslot_priority to_crypt_priority(enum fl_priority p)
{
    return p == FL_PRIORITY_PREFER   ? CRYPT_SLOT_PRIORITY_PREFER
           : p == FL_PRIORITY_IGNORE ? CRYPT_SLOT_PRIORITY_IGNORE
                                     : CRYPT_SLOT_PRIORITY_NORMAL;
}

/* The open header device: refuse read-only targets (dry run or not) and take the lock migrate and reencrypt
 * share. */
static int lock_target(struct fl_migration *m, bool write)
{
    /* a dry run refuses what the real run's O_RDWR open would, without opening for writing */
    int fd =
        fl_target_lock(m->vol.header ? m->vol.header : m->vol.path, write ? FL_TARGET_WRITE : FL_TARGET_PLAN);

    if (fd < 0)
        return fd;
    m->vol.lock_fd = fd;
    return 0;
}

static int ensure_backup(struct run *run)
{
    struct fl_migrate_result *res = run->res;
    struct stat st;
    int r;

    if (res->backup[0])
        return 0;
    r = fl_run_volume_backup(&run->m->vol, run->m->vol.lock_fd, run->o->backup, run->o->backup_dir,
                             res->backup, sizeof(res->backup), &run->backup_fd);
    if (r < 0) {
        if (!res->backup[0]) /* the directory itself could not be made */
            snprintf(res->backup, sizeof(res->backup), "%s",
                     run->o->backup_dir              ? run->o->backup_dir
                     : getenv("FIPSLUKS_BACKUP_DIR") ? getenv("FIPSLUKS_BACKUP_DIR")
                                                     : FL_DEFAULT_BACKUP_DIR);
        return r;
    }
    if (fstat(run->m->vol.lock_fd, &st) == 0 && S_ISBLK(st.st_mode))
        res->backup_on_volume = fl_path_on_device(NULL, res->backup, st.st_rdev) > 0;
    event(run, FL_EVENT_BACKUP, -1, -1);
    return 0;
}

/* Put this run's backup back (restore by descriptor: the file this run wrote, not whatever the path is now).
 */
static int restore_backup(struct run *run)
{
    char path[64];
    int r;

    if (run->backup_fd < 0)
        return -ENOENT;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", run->backup_fd);
    r = crypt_header_restore(run->m->vol.cd, CRYPT_LUKS2, path);
    if (r == 0)
        run->res->restored = true;
    return r < 0 ? r : reload(run->m);
}

static int set_pbkdf(struct crypt_device *cd, const char *hash, uint32_t iterations)
{
    struct crypt_pbkdf_type p = {
        .type = CRYPT_KDF_PBKDF2,
        .hash = hash,
        .iterations = iterations,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    return crypt_set_pbkdf_type(cd, &p);
}

/* Write a PBKDF2 keyslot @p slot holding the volume key of @p src under @p secret; @return 0, -errno. */
static int add_keyslot(struct run *run, int slot, int src, const struct fl_secret *secret, const char *hash,
                       uint32_t iterations)
{
    const struct fl_secret *vk = run->keys.vk[src];
    int r;

    r = set_pbkdf(run->m->vol.cd, hash, iterations);
    if (r < 0)
        return r;
    run->res->wrote = true;
    r = crypt_keyslot_add_by_volume_key(run->m->vol.cd, slot, vk->data, vk->len, secret->data, secret->len);
    if (r >= 0 && r != slot)
        return -EPROTO; /* written, but not where it was asked to be: a result that does not verify */
    return r < 0 ? r : 0;
}

/* The new keyslot @p slot opens with @p secret: 0, or -EPROTO (it did not verify). */
static int verify(struct run *run, int slot, const struct fl_secret *secret)
{
    event(run, FL_EVENT_VERIFY, slot, -1);
    return crypt_activate_by_passphrase(run->m->vol.cd, NULL, slot, secret->data, secret->len, 0) == slot
               ? 0
               : -EPROTO;
}

static int destroy(struct run *run, int slot)
{
    run->res->wrote = true;
    return crypt_keyslot_destroy(run->m->vol.cd, slot);
}

/* Give @p slot the journal's priority and tokens (those that still exist). */
static int restore_attributes(struct run *run, const struct fl_journal *j, int slot)
{
    struct crypt_device *cd = run->m->vol.cd;
    int r;

    if (crypt_keyslot_get_priority(cd, slot) != to_crypt_priority(j->priority)) {
        r = crypt_keyslot_set_priority(cd, slot, to_crypt_priority(j->priority));
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < j->n_tokens; i++) {
        if (crypt_token_status(cd, j->tokens[i], NULL) == CRYPT_TOKEN_INACTIVE ||
            crypt_token_is_assigned(cd, j->tokens[i], slot) == 0)
            continue;
        r = crypt_token_assign_keyslot(cd, j->tokens[i], slot);
        if (r < 0)
            return r;
    }
    return 0;
}

static int drop_journal(struct run *run, const struct fl_journal *j)
{
    run->res->wrote = true;
    return crypt_token_json_set(run->m->vol.cd, j->token, NULL);
}

/* The lowest free keyslot id, as libcryptsetup would pick it. */
static int free_slot(struct crypt_device *cd)
{
    int max = crypt_keyslot_max(CRYPT_LUKS2);
    for (int k = 0; k < max; k++)
        if (crypt_keyslot_status(cd, k) == CRYPT_SLOT_INACTIVE)
            return k;
    return -EXFULL;
}

/* The rest of a conversion once the temporary copy T opens: S becomes the final keyslot. */
static int finish(struct run *run, const struct fl_journal *j, int src, const struct fl_secret *secret,
                  bool destroy_old)
{
    const char *hash = run->o->hash;
    int r;

    if (destroy_old) {
        r = destroy(run, j->keyslot);
        if (r < 0)
            return r;
    }
    event(run, FL_EVENT_WRITE, j->keyslot, -1);
    r = add_keyslot(run, j->keyslot, src, secret, hash, run->res->iterations);
    if (r == 0)
        r = restore_attributes(run, j, j->keyslot);
    if (r == 0)
        r = verify(run, j->keyslot, secret);
    if (r == 0 && j->temp >= 0)
        r = destroy(run, j->temp);
    if (r == 0)
        r = drop_journal(run, j);
    return r;
}

static uint32_t temp_iterations(uint32_t final)
{
    uint32_t jitter = 0;

    if (getrandom(&jitter, sizeof(jitter), 0) != sizeof(jitter))
        jitter = (uint32_t)getpid();
    /* a quarter of the final cost, and a count no operator would pick: the copy's fingerprint */
    return (final / 4 > FL_FIPS_MIN_ITERATIONS ? final / 4 : FL_FIPS_MIN_ITERATIONS) + 1 + jitter % 1021;
}

static int ensure_iterations(struct run *run)
{
    if (run->res->iterations)
        return 0;
    if (run->o->iterations) {
        run->res->iterations = run->o->iterations;
        return 0;
    }
    event(run, FL_EVENT_CALIBRATE, -1, -1);
    return fl_kdf_calibrate_pbkdf2(run->o->hash, run->key_size, run->o->iter_time_ms, &run->res->iterations);
}

/* Convert keyslot @p slot, which secret @p i opens (its volume key is in run->keys.vk[slot]). */
static int convert(struct run *run, int slot, int i)
{
    struct crypt_device *cd = run->m->vol.cd;
    const struct fl_keyslot *ks = fl_volume_keyslot(run->m->vol.v, slot);
    const struct fl_secret *secret = key(run, i);
    struct fl_journal j = {.keyslot = slot, .temp = -1, .priority = ks->priority};
    bool room = fl_migration_has_room(run->m->vol.v, run->key_size) > 0;
    int r;

    if (!room && !run->o->allow_in_place)
        return -EXFULL;
    r = keyslot_salt(cd, slot, j.salt, sizeof(j.salt));
    if (r < 0)
        return r;
    for (size_t k = 0; k < ks->n_tokens && j.n_tokens < FL_MAX_TOKENS; k++)
        j.tokens[j.n_tokens++] = ks->tokens[k];
    if (room) {
        j.temp = free_slot(cd);
        if (j.temp < 0)
            return j.temp;
        snprintf(j.temp_hash, sizeof(j.temp_hash), "%s", run->o->hash);
        j.temp_iterations = temp_iterations(run->res->iterations);
    }
    event(run, FL_EVENT_CONVERT, slot, i);
    run->res->wrote = true;
    r = fl_journal_write(cd, CRYPT_ANY_TOKEN, &j, run->res->backup);
    if (r < 0)
        return r;
    j.token = r;
    if (!room) /* --allow-in-place: S is gone until it is written again; the backup is the way back */
        return finish(run, &j, slot, secret, true);

    event(run, FL_EVENT_WRITE, j.temp, -1);
    r = add_keyslot(run, j.temp, slot, secret, j.temp_hash, j.temp_iterations);
    if (r == 0) /* from now on T is known by its salt, even after its area is wiped */
        r = keyslot_salt(cd, j.temp, j.temp_salt, sizeof(j.temp_salt));
    if (r == 0) {
        r = fl_journal_write(cd, j.token, &j, run->res->backup);
        r = r == j.token ? 0 : r < 0 ? r : -EIO;
    }
    if (r == 0)
        r = verify(run, j.temp, secret);
    if (r == 0)
        r = finish(run, &j, slot, secret, true);
    return r;
}

/* Whether keyslot @p slot's salt is @p salt (the identity a journal recorded). */
static bool salt_is(struct crypt_device *cd, int slot, const char *salt)
{
    char now[128];
    return *salt && slot >= 0 && fl_run_keyslot_active(cd, slot) &&
           keyslot_salt(cd, slot, now, sizeof(now)) == 0 && !strcmp(now, salt);
}

/*
 * Finish an interrupted conversion. Proofs first: S is the old keyslot when its salt is the
 * journal's; T is our copy when its salt is the one the journal recorded after writing it, or,
 * before that, when its PBKDF2 parameters are the journal's and it opens with the secret. Then
 * roll forward from whichever state the crash left; a keyslot is destroyed only while another one
 * verifiably opens with the same secret.
 */
static int recover(struct run *run, const struct fl_journal *j)
{
    struct crypt_device *cd = run->m->vol.cd;
    bool s_exists = fl_run_keyslot_active(cd, j->keyslot), s_old = salt_is(cd, j->keyslot, j->salt);
    bool t_opens = temp_matches(cd, j) && run->keys.opener[j->temp] >= 0;
    bool t_ours = t_opens || salt_is(cd, j->temp, j->temp_salt);
    int r;

    event(run, FL_EVENT_RECOVER, j->keyslot,
          t_opens ? run->keys.opener[j->temp] : run->keys.opener[j->keyslot]);
    if (t_opens) {
        const struct fl_secret *x = key(run, run->keys.opener[j->temp]);

        if (!s_exists || s_old) /* before S was written again: S becomes the final keyslot */
            return finish(run, j, j->temp, x, s_old);
        r = try_key(run, j->keyslot, run->keys.opener[j->temp]);
        if (r < 0)
            return r;
        if (r > 0) { /* S is already the final keyslot */
            r = restore_attributes(run, j, j->keyslot);
            if (r == 0)
                r = destroy(run, j->temp);
            return r == 0 ? drop_journal(run, j) : r;
        }
        /* someone else's keyslot took S's number: the final keyslot goes to a free number */
        struct fl_journal moved = *j;
        moved.keyslot = free_slot(cd);
        if (moved.keyslot < 0)
            return moved.keyslot;
        return finish(run, &moved, j->temp, x, false);
    }
    /* T does not open (absent, wiped, or not ours): the secret opened S itself */
    if (!s_exists || run->keys.opener[j->keyslot] < 0)
        return -EUCLEAN;
    if (!s_old) { /* S is the final keyslot: the crash came while T or the journal went */
        r = restore_attributes(run, j, j->keyslot);
        if (r < 0)
            return r;
    }
    if (t_ours && fl_run_keyslot_active(cd, j->temp)) {
        r = destroy(run, j->temp);
        if (r < 0)
            return r;
    }
    return drop_journal(run, j); /* with S old, nothing happened yet: the job converts S afresh */
}

static void plan_jobs(struct run *run)
{
    struct fl_migrate_result *res = run->res;
    const struct fl_volume *v = run->m->vol.v;
    struct fl_slot slots[FL_MAX_KEYSLOTS];
    int n = fl_migration_plan(v, run->o->keyslot >= 0, slots);

    res->n_jobs = 0;
    for (int i = 0; i < n; i++) {
        struct fl_migrate_job *job;

        if (run->o->keyslot >= 0 && slots[i].id != run->o->keyslot)
            continue;
        if (slots[i].plan == FL_SLOT_COMPLIANT || slots[i].plan == FL_SLOT_NOT_KEYSLOT)
            continue;
        /* a token-bound keyslot is converted only when asked for by number, with its secret */
        if (slots[i].plan == FL_SLOT_TOKEN_BOUND && (run->o->keyslot < 0 || run->keys.n_offered == 0))
            continue;
        /* a keyslot in an unfinished interrupted conversion is left to recovery */
        bool journalled = false;
        for (size_t k = 0; k < res->n_journals; k++)
            journalled |= !run->recovered[k] && fl_journal_claims(&res->journals[k], slots[i].id);
        if (journalled)
            continue;
        job = &res->jobs[res->n_jobs++];
        job->keyslot = slots[i].id;
        job->secret = run->keys.opener[slots[i].id];
        job->status = FL_JOB_PLANNED;
        snprintf(job->rules, sizeof(job->rules), "%s", slots[i].rules);
    }
}

/* ---- the forecast of a dry run (pure) ------------------------------------------------------- */

int fl_migration_forecast(const struct fl_volume *v, const struct fl_migrate_result *res,
                          const bool opens[FL_MAX_KEYSLOTS], struct fl_migrate_forecast *ret)
{
    struct fl_slot slots[FL_MAX_KEYSLOTS];
    struct fl_findings f = {0};
    bool converted[FL_MAX_KEYSLOTS] = {false};
    int n, r;

    memset(ret, 0, sizeof(*ret));
    for (size_t k = 0; k < res->n_jobs; k++)
        if (res->jobs[k].secret >= 0 && res->jobs[k].keyslot >= 0 && res->jobs[k].keyslot < FL_MAX_KEYSLOTS)
            converted[res->jobs[k].keyslot] = true;
    for (size_t k = 0; k < res->n_journals; k++) {
        const struct fl_journal *j = &res->journals[k];
        bool s_opens = j->keyslot >= 0 && j->keyslot < FL_MAX_KEYSLOTS && opens[j->keyslot];
        bool t_opens = j->temp >= 0 && j->temp < FL_MAX_KEYSLOTS && opens[j->temp];

        if (!s_opens && !t_opens) {
            ret->n_left++; /* an interrupted conversion no secret here can finish */
            continue;
        }
        /* finished: S becomes a PBKDF2 keyslot, T is destroyed */
        if (j->keyslot >= 0 && j->keyslot < FL_MAX_KEYSLOTS)
            converted[j->keyslot] = true;
        if (j->temp >= 0 && j->temp < FL_MAX_KEYSLOTS)
            converted[j->temp] = true;
    }
    n = fl_migration_plan(v, false, slots);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        if ((slots[i].plan == FL_SLOT_CONVERT || slots[i].plan == FL_SLOT_TOKEN_BOUND) && slots[i].id >= 0 &&
            slots[i].id < FL_MAX_KEYSLOTS && !converted[slots[i].id]) {
            ret->left[slots[i].id] = true;
            ret->n_left++;
        }
    r = fl_policy_evaluate(v, &f);
    if (r < 0) {
        fl_findings_clear(&f);
        return r;
    }
    ret->compatible = true;
    for (size_t i = 0; i < f.n; i++) {
        const struct fl_finding *x = &f.items[i];
        bool fixed = x->object == FL_OBJECT_KEYSLOT && x->fix == FL_FIX_MIGRATE && x->object_id >= 0 &&
                     x->object_id < FL_MAX_KEYSLOTS && converted[x->object_id];

        if (x->severity == FL_SEVERITY_ERROR && !fixed)
            ret->compatible = false;
    }
    fl_findings_clear(&f);
    return 0;
}

static int dry_run_forecast(struct run *run)
{
    bool opens[FL_MAX_KEYSLOTS];

    for (int k = 0; k < FL_MAX_KEYSLOTS; k++)
        opens[k] = run->keys.opener[k] >= 0;
    return fl_migration_forecast(run->m->vol.v, run->res, opens, &run->res->forecast);
}

static int reload_all(struct run *run)
{
    int r = reload(run->m);
    if (r == 0)
        r = crypt_load(run->m->vol.cd, CRYPT_LUKS2, NULL);
    return r;
}

static int run_migration(struct run *run)
{
    struct fl_migrate_result *res = run->res;
    const struct fl_volume *v;
    struct stat st;
    bool writes = false;
    int r, n;

    r = lock_target(run->m, !run->o->dry_run);
    if (r < 0)
        return r;
    r = reload_all(run); /* the header as it is now that we hold the lock */
    if (r < 0)
        return r;
    v = run->m->vol.v;
    if (v->luks_version != 2)
        return -EMEDIUMTYPE;
    if (v->reencrypt || v->unknown_requirements)
        return -EBUSY;
    if (run->o->keyslot >= 0 && !fl_volume_keyslot(v, run->o->keyslot))
        return -EINVAL; /* --key-slot N names no keyslot: a wrong parameter */
    run->key_size = fl_migration_key_size(run->m);

    n = fl_migration_journals(run->m, res->journals, FL_MAX_TOKENS);
    if (n < 0)
        return n;
    res->n_journals = (size_t)n;
    for (size_t k = 0; k < res->n_journals; k++)
        if (res->journals[k].why.text[0])
            return -EUCLEAN;
    plan_jobs(run);

    r = match_secrets(run);
    if (r == 0)
        r = ask_secrets(run);
    if (r < 0)
        return r;
    for (size_t k = 0; k < res->n_jobs; k++) {
        struct fl_migrate_job *job = &res->jobs[k];
        job->secret = run->keys.opener[job->keyslot];
        if (job->secret < 0)
            job->status = FL_JOB_NO_SECRET;
        writes |= job->secret >= 0;
    }
    for (size_t k = 0; k < res->n_journals; k++) {
        const struct fl_journal *j = &res->journals[k];
        writes |= run->keys.opener[j->keyslot] >= 0 || (j->temp >= 0 && run->keys.opener[j->temp] >= 0);
    }
    if (!writes)
        return run->o->dry_run ? dry_run_forecast(run) : 0;
    /* From here to the first write, a dry run refuses what the real run would. */
    for (size_t k = 0; k < res->n_jobs; k++)
        if (res->jobs[k].secret >= 0 && !run->o->allow_in_place && !fl_migration_has_room(v, run->key_size)) {
            res->failed_keyslot = res->jobs[k].keyslot;
            return -EXFULL;
        }
    if (run->o->backup && lstat(run->o->backup, &st) == 0) {
        snprintf(res->backup, sizeof(res->backup), "%s", run->o->backup);
        return -EEXIST; /* a backup is never overwritten */
    }
    if (run->o->dry_run) {
        res->backup[0] = '\0';
        return dry_run_forecast(run);
    }
    if (run->ops && run->ops->confirm &&
        (r = run->ops->confirm(run->ops->userdata, res->jobs, res->n_jobs)) < 0)
        return r;
    r = ensure_iterations(run);
    if (r == 0)
        r = ensure_backup(run);
    if (r < 0)
        return r;

    for (size_t k = 0; k < res->n_journals; k++) {
        const struct fl_journal *j = &res->journals[k];

        if (run->keys.opener[j->keyslot] < 0 && (j->temp < 0 || run->keys.opener[j->temp] < 0))
            continue; /* no secret for it: left as it is, and reported */
        r = recover(run, j);
        if (r == 0)
            r = reload(run->m);
        if (r < 0) {
            res->failed_keyslot = j->keyslot;
            return r;
        }
        run->recovered[k] = true;
        res->n_recovered++;
    }
    if (res->n_recovered)
        plan_jobs(run); /* what recovery left to convert, with the secrets already matched */

    for (size_t k = 0; k < res->n_jobs; k++) {
        struct fl_migrate_job *job = &res->jobs[k];

        if (job->secret < 0) {
            job->status = FL_JOB_NO_SECRET;
            continue;
        }
        if (stop_asked(run)) {
            res->interrupted = true;
            job->status = FL_JOB_INTERRUPTED;
            continue;
        }
        r = convert(run, job->keyslot, job->secret);
        if (r == 0)
            r = reload(run->m);
        if (r < 0) {
            job->status = FL_JOB_FAILED;
            res->failed_keyslot = job->keyslot;
            /* a keyslot that did not verify, or a write the device failed: put this run's header back */
            if (r == -EPROTO || r == -EIO)
                (void)restore_backup(run);
            return r;
        }
        job->status = FL_JOB_CONVERTED;
        event(run, FL_EVENT_CONVERTED, job->keyslot, job->secret);
    }
    return 0;
}

int fl_migrate(struct fl_migration *m, const struct fl_migrate_options *options,
               struct fl_secret_offer *secrets, size_t n_secrets, const struct fl_migrate_ops *ops,
               struct fl_migrate_result *res)
{
    struct run run = {.m = m, .o = options, .ops = ops, .res = res, .backup_fd = -1};
    int r;

    memset(res, 0, sizeof(*res));
    res->failed_keyslot = res->failed_secret = res->unusable_keyslot = -1;
    r = fl_run_secrets_init(&run.keys, secrets, n_secrets);
    if (r < 0)
        return r;

    r = run_migration(&run);

    fl_run_secrets_clear(&run.keys);
    if (run.backup_fd >= 0)
        close(run.backup_fd);
    if (m->vol.lock_fd >= 0) {
        close(m->vol.lock_fd);
        m->vol.lock_fd = -1;
    }
    if (r == 0 || res->wrote)
        (void)reload(m);
    return r;
}
