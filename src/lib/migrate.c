/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Keyslot migration to PBKDF2. See include/fipsluks/migrate.h for the crash-safety protocol.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/migrate.h"
#include "fipsluks/policy.h"
#include "util.h"

#define LUKS2_AF_STRIPES 4000u
#define LUKS2_AREA_ALIGN 4096u

struct fl_migration {
    char *path;
    char *header;
    struct crypt_device *cd;
    struct fl_volume *v;
};

static void quiet_log(int level, const char *msg, void *usrptr)
{
    /* Errors come back as return values; debug messages (asked for by the program) go on to its log. */
    if (level == CRYPT_LOG_DEBUG || level == CRYPT_LOG_DEBUG_JSON)
        crypt_log(NULL, level, msg);
}

int fl_migration_reload(struct fl_migration *m)
{
    struct fl_volume *v;
    int r;

    r = fl_volume_read(m->path, m->header, &v);
    if (r < 0)
        return r;
    fl_volume_free(m->v);
    m->v = v;
    return 0;
}

int fl_migration_open(const char *path, const char *header, struct fl_migration **ret)
{
    struct fl_migration *m = calloc(1, sizeof(*m));
    int r;

    if (!m)
        return -ENOMEM;
    m->path = strdup(path);
    if (!m->path || (header && !(m->header = strdup(header)))) {
        r = -ENOMEM;
        goto fail;
    }
    /* The read-only model first: it gives precise errors for missing, non-LUKS or corrupt targets. */
    r = fl_migration_reload(m);
    if (r < 0)
        goto fail;
    r = header ? crypt_init_data_device(&m->cd, header, path) : crypt_init(&m->cd, path);
    if (r < 0)
        goto fail;
    crypt_set_log_callback(m->cd, quiet_log, NULL);
    r = crypt_load(m->cd, CRYPT_LUKS, NULL);
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
    crypt_free(m->cd);
    fl_volume_free(m->v);
    free(m->path);
    free(m->header);
    free(m);
}

const struct fl_volume *fl_migration_volume(const struct fl_migration *m)
{
    return m->v;
}

size_t fl_migration_key_size(const struct fl_migration *m)
{
    int r = crypt_get_volume_key_size(m->cd);
    return r > 0 ? (size_t)r : 0;
}

/* Keyslot rules that a new PBKDF2 keyslot (sha256/sha512, area cipher = data cipher) fixes. */
static bool migrate_fixes(const struct fl_volume *v, const char *rule)
{
    static const char *const fixed[] = {
        "FL-KDF-ARGON2", "FL-KDF-UNKNOWN",  "FL-KDF-HASH", "FL-KDF-SHA1",
        "FL-KDF-ITER-MIN", "FL-KDF-ITER-LOW", "FL-AF-HASH",
    };

    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (!strcmp(rule, fixed[i]))
            return true;
    /* a new keyslot area takes the data cipher: that only helps when the data cipher is approved */
    return !strcmp(rule, "FL-AREA-CIPHER") && v->n_segments > 0 &&
           fl_policy_cipher(v->segments[0].cipher, v->segments[0].key_bits, NULL) == FL_APPROVED;
}

int fl_migration_plan(const struct fl_migration *m, bool include_warnings, struct fl_slot *slots)
{
    const struct fl_volume *v = m->v;
    struct fl_findings f = {0};
    int r;

    r = fl_policy_evaluate(v, &f);
    if (r < 0)
        return r;
    for (size_t i = 0; i < v->n_keyslots; i++) {
        const struct fl_keyslot *ks = &v->keyslots[i];
        struct fl_slot *s = &slots[i];
        char object[32];
        size_t used = 0;
        bool convert = false;

        s->id = ks->id;
        s->rules[0] = '\0';
        snprintf(object, sizeof(object), "keyslot %d", ks->id);
        for (size_t k = 0; k < f.n; k++) {
            const struct fl_finding *x = &f.items[k];
            if (strcmp(x->object, object) || !migrate_fixes(v, x->rule))
                continue;
            if (x->severity == FL_SEVERITY_ERROR || (include_warnings && x->severity == FL_SEVERITY_WARNING)) {
                convert = true;
                used += (size_t)snprintf(s->rules + used, sizeof(s->rules) - used, "%s%s", used ? "," : "",
                                         x->rule);
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

/* ---- the journal ------------------------------------------------------------------------------ */

static int parse_id(json_object *o)
{
    uint64_t id;
    if (!o || fl_parse_u64(json_object_get_string(o), &id) < 0 || id >= FL_MAX_KEYSLOTS)
        return -1;
    return (int)id;
}

static enum fl_priority parse_priority(const char *s)
{
    if (s && !strcmp(s, "prefer"))
        return FL_PRIORITY_PREFER;
    if (s && !strcmp(s, "ignore"))
        return FL_PRIORITY_IGNORE;
    return FL_PRIORITY_NORMAL;
}

static int journal_read(struct crypt_device *cd, int token, struct fl_journal *j)
{
    json_object *root, *o, *existing;
    const char *json;
    size_t n;
    int r;

    r = crypt_token_json_get(cd, token, &json);
    if (r < 0)
        return r;
    root = json_tokener_parse(json);
    if (!root)
        return -EINVAL;
    memset(j, 0, sizeof(*j));
    j->token = token;
    j->keyslot = json_object_object_get_ex(root, "keyslot", &o) ? parse_id(o) : -1;
    j->priority = parse_priority(json_object_object_get_ex(root, "priority", &o) ? json_object_get_string(o)
                                                                                  : NULL);
    if (json_object_object_get_ex(root, "existing", &existing) && json_object_is_type(existing, json_type_array)) {
        n = json_object_array_length(existing);
        for (size_t i = 0; i < n && j->n_existing < FL_MAX_KEYSLOTS; i++) {
            int id = parse_id(json_object_array_get_idx(existing, i));
            if (id >= 0)
                j->existing[j->n_existing++] = id;
        }
    }
    json_object_put(root);
    return j->keyslot < 0 || j->n_existing == 0 ? -EINVAL : 0;
}

int fl_migration_journals(struct fl_migration *m, struct fl_journal *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < m->v->n_tokens && n < max; i++) {
        const struct fl_token *t = &m->v->tokens[i];
        if (!t->type || strcmp(t->type, FL_MIGRATION_TOKEN))
            continue;
        if (journal_read(m->cd, t->id, &out[n]) == 0)
            n++;
    }
    return (int)n;
}

static int journal_write(struct crypt_device *cd, const struct fl_volume *v, int slot, enum fl_priority prio)
{
    json_object *root = json_object_new_object(), *existing = json_object_new_array();
    char id[16];
    int r;

    json_object_object_add(root, "type", json_object_new_string(FL_MIGRATION_TOKEN));
    json_object_object_add(root, "keyslots", json_object_new_array());
    snprintf(id, sizeof(id), "%d", slot);
    json_object_object_add(root, "keyslot", json_object_new_string(id));
    json_object_object_add(root, "priority", json_object_new_string(fl_priority_name(prio)));
    for (size_t i = 0; i < v->n_keyslots; i++) {
        snprintf(id, sizeof(id), "%d", v->keyslots[i].id);
        json_object_array_add(existing, json_object_new_string(id));
    }
    json_object_object_add(root, "existing", existing);
    r = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
    return r;
}

static bool slot_active(struct crypt_device *cd, int slot)
{
    crypt_keyslot_info st = crypt_keyslot_status(cd, slot);
    return st == CRYPT_SLOT_ACTIVE || st == CRYPT_SLOT_ACTIVE_LAST || st == CRYPT_SLOT_UNBOUND;
}

static crypt_keyslot_priority to_crypt_priority(enum fl_priority p)
{
    return p == FL_PRIORITY_PREFER ? CRYPT_SLOT_PRIORITY_PREFER
           : p == FL_PRIORITY_IGNORE ? CRYPT_SLOT_PRIORITY_IGNORE
                                     : CRYPT_SLOT_PRIORITY_NORMAL;
}

/* Active keyslots that are not in the journal's list: created by the interrupted conversion. */
static size_t journal_extras(struct crypt_device *cd, const struct fl_journal *j, int *extras)
{
    int max = crypt_keyslot_max(CRYPT_LUKS2);
    size_t n = 0;

    for (int k = 0; k < max; k++) {
        bool listed = false;
        for (size_t i = 0; i < j->n_existing; i++)
            listed |= j->existing[i] == k;
        if (!listed && slot_active(cd, k))
            extras[n++] = k;
    }
    return n;
}

size_t fl_journal_added(const struct fl_migration *m, const struct fl_journal *j, int *slots)
{
    return journal_extras(m->cd, j, slots);
}

static bool opens(struct crypt_device *cd, int slot, const struct fl_secret *s)
{
    return slot_active(cd, slot) && crypt_activate_by_passphrase(cd, NULL, slot, s->data, s->len, 0) == slot;
}

int fl_migration_recover(struct fl_migration *m, const struct fl_journal *j, const struct fl_secret *secret,
                         const struct fl_pbkdf2 *kdf)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = kdf->hash, .iterations = kdf->iterations,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    int extras[FL_MAX_KEYSLOTS], good = -1, r;
    size_t n = journal_extras(m->cd, j, extras);
    bool intact = opens(m->cd, j->keyslot, secret);

    for (size_t i = 0; i < n && good < 0; i++)
        if (opens(m->cd, extras[i], secret))
            good = extras[i];
    if (!intact && good < 0)
        return -EPERM; /* nothing verifiably holds this secret: touch nothing */

    if (!intact) {
        /*
         * The journalled keyslot no longer opens (libcryptsetup wiped its area before the JSON
         * swap reached the disk) but a copy does: rebuild the keyslot under its own number from it.
         */
        if (slot_active(m->cd, j->keyslot)) {
            r = crypt_keyslot_destroy(m->cd, j->keyslot);
            if (r < 0)
                return r;
        }
        r = crypt_set_pbkdf_type(m->cd, &pbkdf);
        if (r < 0)
            return r;
        r = crypt_keyslot_change_by_passphrase(m->cd, good, j->keyslot, secret->data, secret->len, secret->data,
                                               secret->len);
        if (r < 0)
            return r;
        if (!opens(m->cd, j->keyslot, secret))
            return -EIO;
    }
    /* The journalled keyslot opens: every keyslot the conversion added is redundant. */
    n = journal_extras(m->cd, j, extras);
    for (size_t i = 0; i < n; i++) {
        r = crypt_keyslot_destroy(m->cd, extras[i]);
        if (r < 0)
            return r;
    }
    if (crypt_keyslot_get_priority(m->cd, j->keyslot) != to_crypt_priority(j->priority)) {
        r = crypt_keyslot_set_priority(m->cd, j->keyslot, to_crypt_priority(j->priority));
        if (r < 0)
            return r;
    }
    r = crypt_token_json_set(m->cd, j->token, NULL);
    if (r < 0)
        return r;
    return fl_migration_reload(m);
}

/* ---- secrets, FIPS mode ----------------------------------------------------------------------- */

bool fl_libcryptsetup_fips_mode(void)
{
    const struct crypt_pbkdf_type *d = crypt_get_pbkdf_default(CRYPT_LUKS2);
    return d && d->type && !strcmp(d->type, CRYPT_KDF_PBKDF2);
}

int fl_allow_non_fips_unlock(void)
{
    if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL))
        return -EINVAL;
    if (!EVP_default_properties_enable_fips(NULL, 0))
        return -EINVAL;
    return fl_libcryptsetup_fips_mode() ? -EALREADY : 0;
}

int fl_migration_try_secret(struct fl_migration *m, int slot, const struct fl_secret *secret)
{
    const struct fl_keyslot *ks = fl_volume_keyslot(m->v, slot);
    int r;

    r = crypt_activate_by_passphrase(m->cd, NULL, slot, secret->data, secret->len, 0);
    if (r >= 0)
        return 0;
    if (r == -EPERM || r == -ENOENT)
        return -EPERM;
    /* A FIPS libcryptsetup that cannot compute Argon2 says "invalid", whatever the secret. */
    if (r == -EINVAL && ks && ks->kdf && !strncmp(ks->kdf, "argon2", 6) && fl_libcryptsetup_fips_mode())
        return -ENOTSUP;
    return r;
}

/* ---- room for a new keyslot ------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int fl_migration_has_room(const struct fl_migration *m, int slot)
{
    const struct fl_volume *v = m->v;
    uint64_t areas[FL_MAX_KEYSLOTS][2], start, end, at, need;
    size_t n = 0;

    if (v->n_keyslots >= (size_t)crypt_keyslot_max(CRYPT_LUKS2))
        return 0;
    need = (uint64_t)fl_migration_key_size(m) * LUKS2_AF_STRIPES;
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

/* ---- backup ------------------------------------------------------------------------------------ */

int fl_migration_backup(struct fl_migration *m, const char *file)
{
    mode_t old = umask(077);
    int r;

    r = crypt_header_backup(m->cd, CRYPT_LUKS2, file);
    umask(old);
    if (r == -EINVAL && access(file, F_OK) == 0)
        return -EEXIST; /* libcryptsetup refuses to overwrite */
    if (r < 0)
        return r;
    return chmod(file, 0600) < 0 ? -errno : 0;
}

int fl_migration_restore(struct fl_migration *m, const char *file)
{
    int r = crypt_header_restore(m->cd, CRYPT_LUKS2, file);
    if (r < 0)
        return r;
    return fl_migration_reload(m);
}

/* ---- conversion -------------------------------------------------------------------------------- */

int fl_migration_convert(struct fl_migration *m, int slot, const struct fl_secret *secret,
                         const struct fl_pbkdf2 *kdf, bool in_place)
{
    const struct fl_keyslot *ks = fl_volume_keyslot(m->v, slot);
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2,
        .hash = kdf->hash,
        .iterations = kdf->iterations,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    struct fl_journal j = {0};
    int room, token, r;

    if (!ks)
        return -ENOENT;
    room = fl_migration_has_room(m, slot);
    if (room < 0)
        return room;
    if (!room && !in_place)
        return -ENOSPC;
    r = fl_migration_try_secret(m, slot, secret);
    if (r < 0)
        return r;
    r = crypt_set_pbkdf_type(m->cd, &pbkdf);
    if (r < 0)
        return r;

    token = journal_write(m->cd, m->v, slot, ks->priority);
    if (token < 0)
        return token;
    r = crypt_keyslot_change_by_passphrase(m->cd, slot, room ? CRYPT_ANY_SLOT : slot, secret->data, secret->len,
                                           secret->data, secret->len);
    if (r >= 0 && r != slot)
        r = -EIO; /* libcryptsetup keeps the keyslot number; anything else is unexpected */
    if (r >= 0 && ks->priority != FL_PRIORITY_NORMAL)
        r = crypt_keyslot_set_priority(m->cd, slot, to_crypt_priority(ks->priority));
    if (r >= 0 && crypt_activate_by_passphrase(m->cd, NULL, slot, secret->data, secret->len, 0) != slot)
        r = -EIO;
    if (r < 0) {
        /* Leave no half-done state behind if we can: the journal knows what to undo. */
        if (journal_read(m->cd, token, &j) == 0)
            (void)fl_migration_recover(m, &j, secret, kdf);
        return r;
    }
    r = crypt_token_json_set(m->cd, token, NULL);
    if (r < 0)
        return r;
    return fl_migration_reload(m);
}
