/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FIPS policy: the rules a volume is judged by, and the command that fixes each finding. Pure
 * functions over struct fl_volume; no I/O, no global state. Which algorithm a FIPS host approves is
 * algorithms.c's; docs/rules.md describes every rule.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fipsluks/algorithms.h"
#include "fipsluks/array.h"
#include "fipsluks/policy.h"
#include "fipsluks/util.h"

/* ---- the rules ------------------------------------------------------------------------------- */

/*
 * One row per rule, as docs/rules.md and fipsluks-scan(8) describe them (tests/unit/test_policy.c
 * holds the three to each other). Adding a rule: a row here, its id in enum fl_rule_id, the code
 * that finds it below, and the two documents.
 */
/* clang-format off */
const struct fl_rule fl_rules[FL_RULE_COUNT] = {
    [FL_RULE_REENCRYPT]        = {"FL-REENCRYPT",        FL_SEVERITY_ERROR,   FL_FIX_REENCRYPT,
                                  "a reencryption is in progress or was interrupted"},
    [FL_RULE_REQUIREMENTS]     = {"FL-REQUIREMENTS",     FL_SEVERITY_ERROR,   FL_FIX_NONE,
                                  "the header requires features this libcryptsetup does not know"},
    [FL_RULE_HEADER_DAMAGED]   = {"FL-HEADER-DAMAGED",   FL_SEVERITY_WARNING, FL_FIX_NONE,
                                  "one of the two LUKS2 header copies is damaged"},
    [FL_RULE_LUKS1]            = {"FL-LUKS1",            FL_SEVERITY_INFO,    FL_FIX_MIGRATE,
                                  "LUKS1 format: one header copy, one hash for the whole header"},
    [FL_RULE_LUKS1_HASH]       = {"FL-LUKS1-HASH",       FL_SEVERITY_ERROR,   FL_FIX_REENCRYPT,
                                  "the LUKS1 header hash is not FIPS-approved"},
    [FL_RULE_NO_KEYSLOT]       = {"FL-NO-KEYSLOT",       FL_SEVERITY_WARNING, FL_FIX_NONE,
                                  "no keyslot can open the volume"},
    [FL_RULE_HEADER_MALFORMED] = {"FL-HEADER-MALFORMED", FL_SEVERITY_ERROR,   FL_FIX_NONE,
                                  "a keyslot or segment has header values out of range"},
    [FL_RULE_CIPHER]           = {"FL-CIPHER",           FL_SEVERITY_ERROR,   FL_FIX_REENCRYPT,
                                  "the data cipher is not FIPS-approved"},
    [FL_RULE_XTS_KEY]          = {"FL-XTS-KEY",          FL_SEVERITY_ERROR,   FL_FIX_REENCRYPT,
                                  "AES-XTS with a key size a FIPS kernel rejects"},
    [FL_RULE_INTEGRITY]        = {"FL-INTEGRITY",        FL_SEVERITY_ERROR,   FL_FIX_FORMAT,
                                  "the dm-integrity algorithm is not FIPS-approved"},
    [FL_RULE_DIGEST_HASH]      = {"FL-DIGEST-HASH",      FL_SEVERITY_ERROR,   FL_FIX_REENCRYPT,
                                  "the volume-key digest is not PBKDF2 with an approved hash"},
    [FL_RULE_DIGEST_ITER]      = {"FL-DIGEST-ITER",      FL_SEVERITY_ERROR,   FL_FIX_REENCRYPT,
                                  "the volume-key digest has fewer PBKDF2 iterations than FIPS allows"},
    [FL_RULE_KDF_ARGON2]       = {"FL-KDF-ARGON2",       FL_SEVERITY_ERROR,   FL_FIX_MIGRATE,
                                  "an Argon2 keyslot, which a FIPS host cannot open"},
    [FL_RULE_KDF_UNKNOWN]      = {"FL-KDF-UNKNOWN",      FL_SEVERITY_ERROR,   FL_FIX_MIGRATE,
                                  "a keyslot with a key derivation function other than PBKDF2"},
    [FL_RULE_KDF_HASH]         = {"FL-KDF-HASH",         FL_SEVERITY_ERROR,   FL_FIX_MIGRATE,
                                  "a PBKDF2 keyslot whose hash is not FIPS-approved"},
    [FL_RULE_KDF_SHA1]         = {"FL-KDF-SHA1",         FL_SEVERITY_WARNING, FL_FIX_MIGRATE,
                                  "a PBKDF2 keyslot with SHA-1, allowed but deprecated"},
    [FL_RULE_KDF_ITER_MIN]     = {"FL-KDF-ITER-MIN",     FL_SEVERITY_ERROR,   FL_FIX_MIGRATE,
                                  "a PBKDF2 keyslot with fewer iterations than FIPS allows"},
    [FL_RULE_KDF_ITER_LOW]     = {"FL-KDF-ITER-LOW",     FL_SEVERITY_WARNING, FL_FIX_MIGRATE,
                                  "a passphrase keyslot with fewer PBKDF2 iterations than recommended"},
    [FL_RULE_AREA_CIPHER]      = {"FL-AREA-CIPHER",      FL_SEVERITY_ERROR,   FL_FIX_MIGRATE,
                                  "the keyslot area cipher is not FIPS-approved"},
    [FL_RULE_AF_HASH]          = {"FL-AF-HASH",          FL_SEVERITY_ERROR,   FL_FIX_MIGRATE,
                                  "the anti-forensic splitter hash is not FIPS-approved"},
};
/* clang-format on */

/* ---- findings -------------------------------------------------------------------------------- */

const char *fl_object_name(enum fl_object o)
{
    switch (o) {
    case FL_OBJECT_HEADER:
        return "header";
    case FL_OBJECT_SEGMENT:
        return "segment";
    case FL_OBJECT_DIGEST:
        return "digest";
    case FL_OBJECT_KEYSLOT:
        return "keyslot";
    case FL_OBJECT_TOKEN:
        return "token";
    }
    return "unknown";
}

char *fl_finding_object(const struct fl_finding *f, char *buf, size_t size)
{
    if (f->object == FL_OBJECT_HEADER)
        snprintf(buf, size, "%s", fl_object_name(f->object));
    else
        snprintf(buf, size, "%s %d", fl_object_name(f->object), f->object_id);
    return buf;
}

void fl_findings_clear(struct fl_findings *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].message);
        free(f->items[i].remedy);
    }
    free(f->items);
    *f = (struct fl_findings){0};
}

int fl_findings_compatible(const struct fl_findings *f)
{
    if (!f)
        return 1;
    for (size_t i = 0; i < f->n; i++)
        if (f->items[i].severity == FL_SEVERITY_ERROR)
            return 0;
    return 1;
}

const char *fl_severity_name(enum fl_severity s)
{
    switch (s) {
    case FL_SEVERITY_INFO:
        return "info";
    case FL_SEVERITY_WARNING:
        return "warning";
    case FL_SEVERITY_ERROR:
        return "error";
    }
    return "unknown";
}

/* ---- evaluation ------------------------------------------------------------------------------ */

static const char not_fips_host[] = " (on a host not yet in FIPS mode)";

struct ctx {
    const struct fl_volume *v;
    struct fl_findings *out;
    char *path;   /* the device, shell-quoted */
    char *target; /* "[--header HDR ]PATH", shell-quoted, for fipsluks and cryptsetup */
    bool luks1;
    enum fl_approval data_cipher; /* the first segment's cipher */
    bool reencrypt;               /* a FIPS host refuses what only a new volume key fixes */
    int errors;
    int r; /* sticky: the first failure (-ENOMEM); every finding after it is dropped */
};

/* What a finding concerns: a kind of object and its id. */
struct object {
    enum fl_object kind;
    int id;
};

static const struct object whole_header = {FL_OBJECT_HEADER, 0};

/*
 * Append a finding of @p rule that @p fix fixes, unless an allocation failed before (then nothing
 * is added: fl_policy_evaluate() checks c->r once, at the end). Takes ownership of @p remedy; a
 * NULL remedy is the failure of the allocation that made it. Bytes of the message outside printable
 * ASCII (from a crafted header) become '?', so it stays one plain line.
 */
static void vadd(struct ctx *c, enum fl_rule_id rule, enum fl_fix fix, enum fl_severity severity,
                 struct object o, char *remedy, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));
static void vadd(struct ctx *c, enum fl_rule_id rule, enum fl_fix fix, enum fl_severity severity,
                 struct object o, char *remedy, const char *fmt, va_list ap)
{
    struct fl_findings *out = c->out;
    char *message = NULL;

    if (c->r == 0 && !remedy)
        c->r = -ENOMEM;
    if (c->r == 0)
        c->r = fl_array_grow(&out->items, &out->allocated, out->n + 1, sizeof(*out->items));
    if (c->r == 0 && vasprintf(&message, fmt, ap) < 0) {
        message = NULL; /* vasprintf() leaves it undefined */
        c->r = -ENOMEM;
    }
    if (!message) { /* this failure, or an earlier one */
        free(remedy);
        return;
    }
    for (char *p = message; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            *p = '?';
    out->items[out->n++] = (struct fl_finding){.rule = &fl_rules[rule],
                                               .severity = severity,
                                               .object = o.kind,
                                               .object_id = o.id,
                                               .fix = fix,
                                               .message = message,
                                               .remedy = remedy};
    if (severity == FL_SEVERITY_ERROR)
        c->errors++;
}

/* Append a finding of @p rule, fixed by what fixes the rule. */
static void add(struct ctx *c, enum fl_rule_id rule, enum fl_severity severity, struct object o, char *remedy,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void add(struct ctx *c, enum fl_rule_id rule, enum fl_severity severity, struct object o, char *remedy,
                const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vadd(c, rule, fl_rules[rule].fixed_by, severity, o, remedy, fmt, ap);
    va_end(ap);
}

/* Append a finding of @p rule that, on this volume, @p fix fixes rather than what fixes the rule. */
static void add_fixed_by(struct ctx *c, enum fl_fix fix, enum fl_rule_id rule, enum fl_severity severity,
                         struct object o, char *remedy, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void add_fixed_by(struct ctx *c, enum fl_fix fix, enum fl_rule_id rule, enum fl_severity severity,
                         struct object o, char *remedy, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vadd(c, rule, fix, severity, o, remedy, fmt, ap);
    va_end(ap);
}

static const char *or_unknown(const char *s)
{
    return s && *s ? s : "(unknown)";
}

static enum fl_severity severity_of(enum fl_approval a)
{
    return a == FL_NOT_APPROVED ? FL_SEVERITY_ERROR : FL_SEVERITY_WARNING;
}

/*
 * fipsluks reencrypt fixes in one run what only a new volume key fixes: AES-XTS with a 512-bit key,
 * a digest with an approved hash, PBKDF2 keyslots (and LUKS1 becomes LUKS2 on the way). An error
 * finding means a FIPS host cannot compute the old algorithm, so it runs before FIPS mode.
 */
static char *remedy_reencrypt(const struct ctx *c, enum fl_severity s)
{
    return fl_asprintf("fipsluks reencrypt %s%s", c->target, s == FL_SEVERITY_ERROR ? not_fips_host : "");
}

/* LUKS1 whose header hash is approved: converting to LUKS2 and its keyslots to PBKDF2 is enough. */
static char *remedy_luks1(const struct ctx *c)
{
    if (fl_policy_hash(c->v->hash_spec) == FL_NOT_APPROVED)
        return remedy_reencrypt(c, FL_SEVERITY_ERROR);
    return fl_asprintf("fipsluks migrate --convert-luks1 %s", c->target);
}

/* A token type fit to print inside a remedy: header-supplied, so anything odd is replaced. */
static void token_type_name(const char *t, char *buf, size_t size)
{
    size_t i = 0;

    if (!t || !*t) {
        snprintf(buf, size, "(unknown)");
        return;
    }
    for (; t[i] && i + 1 < size; i++)
        buf[i] = (char)(fl_shell_safe(t[i]) ? t[i] : '?');
    buf[i] = '\0';
}

char *fl_remedy_token_keyslot(int slot, const char *token_type, const char *path, const char *target)
{
    struct fl_sb b = {0};
    char type[48];

    token_type_name(token_type, type, sizeof(type));
    if (strcmp(type, "systemd-recovery") == 0) {
        fl_sb_appendf(&b,
                      "re-enroll the recovery key (systemd-cryptenroll --wipe-slot=%d --recovery-key %s), "
                      "or run fipsluks migrate --key-slot %d %s and type the recovery key",
                      slot, path, slot, target);
        return fl_sb_take(&b);
    }
    fl_sb_appendf(&b, "re-enroll the %s token for keyslot %d", type, slot);
    if (strcmp(type, "systemd-tpm2") == 0)
        fl_sb_appendf(&b, " (e.g. systemd-cryptenroll --wipe-slot=%d --tpm2-device=auto %s)", slot, path);
    else if (strcmp(type, "systemd-fido2") == 0)
        fl_sb_appendf(&b, " (e.g. systemd-cryptenroll --wipe-slot=%d --fido2-device=auto %s)", slot, path);
    else if (strcmp(type, "systemd-pkcs11") == 0)
        fl_sb_appendf(&b, " (e.g. systemd-cryptenroll --wipe-slot=%d --pkcs11-token-uri=auto %s)", slot,
                      path);
    else if (strcmp(type, "clevis") == 0)
        fl_sb_appendf(&b, " (e.g. clevis luks regen -d %s -s %d)", path, slot);
    else
        fl_sb_append(&b, " with the tool that created it");
    fl_sb_appendf(&b, ", or run fipsluks migrate --key-slot %d --key-file SECRET %s with its secret", slot,
                  target);
    return fl_sb_take(&b);
}

/* How to rewrite keyslot @p ks with a FIPS-compatible KDF. */
static char *remedy_keyslot(const struct ctx *c, const struct fl_keyslot *ks)
{
    const struct fl_token *t;

    /* LUKS1 keyslots are re-wrapped once the header is LUKS2; a bad header hash needs a new volume key */
    if (c->v->luks_version == 1)
        return remedy_luks1(c);
    /* the volume needs re-encryption anyway, which writes new PBKDF2 keyslots too: one run, not two */
    if (ks->n_tokens == 0 && c->reencrypt)
        return remedy_reencrypt(c, FL_SEVERITY_ERROR);
    if (ks->n_tokens == 0)
        return fl_asprintf("fipsluks migrate --key-slot %d %s", ks->id, c->target);
    t = fl_volume_token(c->v, ks->tokens[0]);
    return fl_remedy_token_keyslot(ks->id, t ? t->type : NULL, c->path, c->target);
}

/*
 * Fill @p idx with the indices 0..n-1 of an array of structs in ascending order of their int id at
 * @p id_offset (stable insertion sort; n is at most 32).
 */
static size_t order_by_id(const void *base, size_t n, size_t max, size_t stride, size_t id_offset,
                          size_t *idx)
{
    const unsigned char *b = base;

    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++) {
        int id;
        size_t j = i;

        memcpy(&id, b + i * stride + id_offset, sizeof(id));
        while (j > 0) {
            int prev;
            memcpy(&prev, b + idx[j - 1] * stride + id_offset, sizeof(prev));
            if (prev <= id)
                break;
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    return n;
}

static size_t active_keyslots(const struct fl_volume *v)
{
    size_t n = 0;

    for (size_t i = 0; i < v->n_keyslots && i < FL_MAX_KEYSLOTS; i++)
        if (!v->keyslots[i].malformed &&
            (!v->keyslots[i].type || strcmp(v->keyslots[i].type, "reencrypt") != 0))
            n++;
    return n;
}

static void eval_header(struct ctx *c)
{
    const struct fl_volume *v = c->v;
    enum fl_approval a;

    if (v->reencrypt)
        add(c, FL_RULE_REENCRYPT, FL_SEVERITY_ERROR, whole_header,
            fl_asprintf("fipsluks reencrypt %s (resumes it; then scan again)", c->target),
            "a reencryption is in progress or was interrupted; the volume cannot be judged until it "
            "finishes");
    if (v->unknown_requirements)
        add(c, FL_RULE_REQUIREMENTS, FL_SEVERITY_ERROR, whole_header,
            fl_asprintf("upgrade cryptsetup, or inspect with: cryptsetup luksDump %s", c->target),
            "the header requires features this libcryptsetup does not know (%s); it cannot be judged",
            or_unknown(v->requirements));
    if (v->header_repaired)
        add(c, FL_RULE_HEADER_DAMAGED, FL_SEVERITY_WARNING, whole_header,
            fl_asprintf("back up, then repair: cryptsetup luksHeaderBackup --header-backup-file BACKUP %s && "
                        "cryptsetup repair %s",
                        c->target, c->target),
            "one of the two LUKS2 header copies is damaged; libcryptsetup will rewrite it from the intact "
            "copy on the next write");
    if (c->luks1) {
        a = fl_policy_hash(v->hash_spec);
        add_fixed_by(c, a == FL_NOT_APPROVED ? FL_FIX_REENCRYPT : FL_FIX_MIGRATE, FL_RULE_LUKS1,
                     FL_SEVERITY_INFO, whole_header, remedy_luks1(c),
                     "LUKS1 format: a single header copy and no per-keyslot hashes");
        if (a != FL_APPROVED)
            add(c, FL_RULE_LUKS1_HASH, severity_of(a), whole_header, remedy_reencrypt(c, severity_of(a)),
                "LUKS1 header hash %s is %s; it is used for every keyslot, the AF splitter and the "
                "volume-key digest",
                or_unknown(v->hash_spec),
                a == FL_NOT_APPROVED ? "not FIPS-approved" : "allowed by FIPS but deprecated");
    }
    if (active_keyslots(v) == 0)
        add(c, FL_RULE_NO_KEYSLOT, FL_SEVERITY_WARNING, whole_header,
            fl_asprintf("restore a header backup that still has keyslots: "
                        "cryptsetup luksHeaderRestore --header-backup-file BACKUP %s",
                        c->target),
            "no active keyslot: no passphrase or key can open this volume");
}

/* The data cipher of @p s, judged with the volume key minus the HMAC key that dm-integrity uses. */
static struct fl_cipher_verdict judge_segment_cipher(const struct fl_segment *s, uint32_t *ret_key_bits)
{
    uint32_t key_bits = s->key_bits, ibits = fl_integrity_key_bits(s->integrity);

    if (ibits && key_bits > ibits)
        key_bits -= ibits;
    if (ret_key_bits)
        *ret_key_bits = key_bits;
    return fl_cipher_judge(s->cipher, key_bits);
}

/*
 * A keyslot or segment whose header values are out of range: nothing else about it is judged, and no
 * fipsluks or cryptsetup command can fix it in place (migrate refuses keyslot ids beyond 31).
 */
static void add_malformed(struct ctx *c, struct object object, const char *why)
{
    add(c, FL_RULE_HEADER_MALFORMED, FL_SEVERITY_ERROR, object,
        fl_asprintf("inspect with: cryptsetup luksDump %s; then restore a good header backup: cryptsetup "
                    "luksHeaderRestore --header-backup-file BACKUP %s",
                    c->target, c->target),
        "malformed header: %s", why);
}

static void eval_segment(struct ctx *c, const struct fl_segment *s)
{
    struct fl_cipher_verdict cv;
    enum fl_approval a;
    struct object object = {FL_OBJECT_SEGMENT, s->id};
    char key[32] = "";
    uint32_t key_bits;
    bool has_integrity = !fl_integrity_none(s->integrity);
    char *r;

    if (s->malformed) {
        add_malformed(c, object, s->malformed);
        return;
    }
    if (s->cipher) {
        cv = judge_segment_cipher(s, &key_bits);
        if (cv.approval != FL_APPROVED) {
            if (key_bits)
                snprintf(key, sizeof(key), " with a %u-bit key", key_bits);
            if (has_integrity) /* cryptsetup cannot reencrypt a volume with integrity */
                r = fl_asprintf("re-create the volume with --cipher aes-xts-random --integrity hmac-sha256 "
                                "(integrity volumes cannot be reencrypted in place)");
            else
                r = remedy_reencrypt(c, severity_of(cv.approval));
            add_fixed_by(c, has_integrity ? FL_FIX_FORMAT : FL_FIX_REENCRYPT,
                         cv.xts_key_only ? FL_RULE_XTS_KEY : FL_RULE_CIPHER, severity_of(cv.approval), object,
                         r, "data cipher %s%s: %s", s->cipher, key, cv.why);
        }
    }
    a = fl_policy_integrity(s->integrity);
    /* with AES-GCM, "aead" means the cipher's own tag, which the cipher rule has judged */
    if (a != FL_APPROVED && !(strcasecmp(s->integrity, "aead") == 0 && fl_cipher_is_aes_gcm(s->cipher)))
        add(c, FL_RULE_INTEGRITY, severity_of(a), object,
            fl_asprintf(
                "re-create the volume with --integrity hmac-sha256 (integrity cannot be changed in place)"),
            "integrity %s is %s", s->integrity,
            a == FL_NOT_APPROVED ? "not FIPS-approved" : "allowed by FIPS but deprecated (SHA-1)");
}

static void eval_digest(struct ctx *c, const struct fl_digest *d)
{
    enum fl_approval a;
    struct object object = {FL_OBJECT_DIGEST, d->id};

    if (!c->luks1) { /* on LUKS1 FL-LUKS1-HASH covers the digest hash */
        if (!d->type || strcasecmp(d->type, "pbkdf2") != 0) {
            add(c, FL_RULE_DIGEST_HASH, FL_SEVERITY_ERROR, object, remedy_reencrypt(c, FL_SEVERITY_ERROR),
                "digest type %s is not PBKDF2", or_unknown(d->type));
            return;
        }
        a = fl_policy_hash(d->hash);
        if (a != FL_APPROVED)
            add(c, FL_RULE_DIGEST_HASH, severity_of(a), object, remedy_reencrypt(c, severity_of(a)),
                "volume-key digest hash %s is %s", or_unknown(d->hash),
                a == FL_NOT_APPROVED ? "not FIPS-approved" : "allowed by FIPS but deprecated");
    }
    if (d->iterations < FL_FIPS_MIN_ITERATIONS)
        add(c, FL_RULE_DIGEST_ITER, FL_SEVERITY_ERROR, object, remedy_reencrypt(c, FL_SEVERITY_ERROR),
            "volume-key digest PBKDF2 with %u iterations is below the FIPS minimum of %u", d->iterations,
            FL_FIPS_MIN_ITERATIONS);
}

/* The keyslot's key derivation: Argon2, an unknown KDF, or PBKDF2 with its hash and iterations. */
static void eval_keyslot_kdf(struct ctx *c, const struct fl_keyslot *ks, struct object object)
{
    enum fl_approval a;

    if (ks->kdf && (strcasecmp(ks->kdf, "argon2i") == 0 || strcasecmp(ks->kdf, "argon2id") == 0)) {
        add(c, FL_RULE_KDF_ARGON2, FL_SEVERITY_ERROR, object, remedy_keyslot(c, ks),
            "%s keyslot: a FIPS host derives keys with PBKDF2 only; cryptsetup >= 2.7 with OpenSSL >= 3.2 "
            "cannot open it",
            ks->kdf);
        return;
    }
    if (!ks->kdf || strcasecmp(ks->kdf, "pbkdf2") != 0) {
        add(c, FL_RULE_KDF_UNKNOWN, FL_SEVERITY_ERROR, object, remedy_keyslot(c, ks),
            "unknown key derivation function %s; a FIPS host derives keys with PBKDF2 only",
            or_unknown(ks->kdf));
        return;
    }
    a = fl_policy_hash(ks->hash);
    if (!c->luks1 && a == FL_NOT_APPROVED)
        add(c, FL_RULE_KDF_HASH, FL_SEVERITY_ERROR, object, remedy_keyslot(c, ks),
            "PBKDF2 hash %s is not FIPS-approved", or_unknown(ks->hash));
    else if (!c->luks1 && a == FL_APPROVED_WEAK)
        add(c, FL_RULE_KDF_SHA1, FL_SEVERITY_WARNING, object, remedy_keyslot(c, ks),
            "PBKDF2 hash %s is allowed by FIPS but deprecated", ks->hash);
    if (ks->iterations < FL_FIPS_MIN_ITERATIONS)
        add(c, FL_RULE_KDF_ITER_MIN, FL_SEVERITY_ERROR, object, remedy_keyslot(c, ks),
            "PBKDF2 with %u iterations is below the FIPS minimum of %u", ks->iterations,
            FL_FIPS_MIN_ITERATIONS);
    else if (ks->iterations < FL_RECOMMENDED_MIN_ITERATIONS && ks->n_tokens == 0)
        /* token-bound keyslots hold high-entropy keys and use 1000 iterations by design */
        add(c, FL_RULE_KDF_ITER_LOW, FL_SEVERITY_WARNING, object, remedy_keyslot(c, ks),
            "PBKDF2 with %u iterations is below the recommended minimum of %u", ks->iterations,
            FL_RECOMMENDED_MIN_ITERATIONS);
}

static void eval_keyslot(struct ctx *c, const struct fl_keyslot *ks)
{
    enum fl_approval a;
    struct fl_cipher_verdict cv;
    struct object object = {FL_OBJECT_KEYSLOT, ks->id};

    if (ks->malformed) {
        add_malformed(c, object, ks->malformed);
        return;
    }
    if (ks->type && strcmp(ks->type, "reencrypt") == 0)
        return; /* holds reencryption progress, no key */
    eval_keyslot_kdf(c, ks, object);
    if (c->luks1) /* LUKS1 keyslot areas use the data cipher; FL-LUKS1-HASH covers the AF hash */
        return;

    if (ks->cipher) {
        cv = fl_cipher_judge(ks->cipher, ks->key_bits);
        /* a new keyslot's area takes an approved cipher only when the data cipher is approved */
        if (cv.approval != FL_APPROVED)
            add_fixed_by(c, c->data_cipher != FL_APPROVED ? FL_FIX_REENCRYPT : FL_FIX_MIGRATE,
                         FL_RULE_AREA_CIPHER, severity_of(cv.approval), object,
                         c->data_cipher != FL_APPROVED ? remedy_reencrypt(c, severity_of(cv.approval))
                                                       : remedy_keyslot(c, ks),
                         "keyslot area cipher %s with a %u-bit key: %s", ks->cipher, ks->key_bits, cv.why);
    }
    a = ks->af_hash ? fl_policy_hash(ks->af_hash) : FL_APPROVED;
    if (a != FL_APPROVED)
        add(c, FL_RULE_AF_HASH, severity_of(a), object, remedy_keyslot(c, ks),
            "anti-forensic splitter hash %s is %s", ks->af_hash,
            a == FL_NOT_APPROVED ? "not FIPS-approved" : "allowed by FIPS but deprecated");
}

/*
 * Whether a FIPS host refuses something of @p c's volume that only a new volume key fixes (an error
 * finding whose remedy is fipsluks reencrypt): its digest or data cipher, or a LUKS1 header hash.
 */
static bool needs_reencrypt(const struct ctx *c)
{
    const struct fl_volume *v = c->v;

    if (v->reencrypt)
        return false; /* a reencryption in progress: finish it first */
    if (c->luks1)
        return fl_policy_hash(v->hash_spec) == FL_NOT_APPROVED;
    for (size_t i = 0; i < v->n_segments && i < FL_MAX_SEGMENTS; i++)
        if (v->segments[i].cipher && fl_integrity_none(v->segments[i].integrity) &&
            judge_segment_cipher(&v->segments[i], NULL).approval == FL_NOT_APPROVED)
            return true;
    for (size_t i = 0; i < v->n_digests && i < FL_MAX_DIGESTS; i++) {
        const struct fl_digest *d = &v->digests[i];

        if (!d->type || strcasecmp(d->type, "pbkdf2") != 0 || fl_policy_hash(d->hash) == FL_NOT_APPROVED ||
            d->iterations < FL_FIPS_MIN_ITERATIONS)
            return true;
    }
    return false;
}

static void evaluate(struct ctx *c)
{
    const struct fl_volume *v = c->v;
    size_t idx[FL_MAX_KEYSLOTS + FL_MAX_SEGMENTS + FL_MAX_DIGESTS];
    size_t n;

    /* the data cipher decides how a bad keyslot-area cipher is fixed */
    c->data_cipher = FL_APPROVED;
    n = order_by_id(v->segments, v->n_segments, FL_MAX_SEGMENTS, sizeof(v->segments[0]),
                    offsetof(struct fl_segment, id), idx);
    for (size_t i = 0; i < n; i++)
        if (v->segments[idx[i]].cipher) {
            c->data_cipher = judge_segment_cipher(&v->segments[idx[i]], NULL).approval;
            break;
        }

    c->reencrypt = needs_reencrypt(c);
    eval_header(c);
    for (size_t i = 0; i < n; i++)
        eval_segment(c, &v->segments[idx[i]]);
    n = order_by_id(v->digests, v->n_digests, FL_MAX_DIGESTS, sizeof(v->digests[0]),
                    offsetof(struct fl_digest, id), idx);
    for (size_t i = 0; i < n; i++)
        eval_digest(c, &v->digests[idx[i]]);
    n = order_by_id(v->keyslots, v->n_keyslots, FL_MAX_KEYSLOTS, sizeof(v->keyslots[0]),
                    offsetof(struct fl_keyslot, id), idx);
    for (size_t i = 0; i < n; i++)
        eval_keyslot(c, &v->keyslots[idx[i]]);
}

int fl_policy_evaluate(const struct fl_volume *v, struct fl_findings *out)
{
    struct ctx c = {.v = v, .out = out, .luks1 = v && v->luks_version == 1};
    struct fl_sb target = {0};

    if (!v || !out)
        return -EINVAL;
    c.path = fl_shell_quote(v->path);
    if (v->header_path) {
        fl_sb_append(&target, "--header ");
        fl_sb_append_quoted(&target, v->header_path);
        fl_sb_append(&target, " ");
    }
    fl_sb_append_quoted(&target, v->path);
    c.target = fl_sb_take(&target);
    if (c.path && c.target)
        evaluate(&c);
    else
        c.r = -ENOMEM;
    free(c.path);
    free(c.target);
    return c.r < 0 ? c.r : c.errors;
}
