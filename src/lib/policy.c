/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The FIPS policy: which algorithms and parameters a FIPS host refuses or frowns upon, and the
 * command that fixes each. Pure functions over struct fl_volume; no I/O, no global state.
 * docs/rules.md describes every rule.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fipsluks/array.h"
#include "fipsluks/policy.h"

/* ---- hashes ---------------------------------------------------------------------------------- */

/* clang-format off */
static const struct {
    const char *name;
    enum fl_approval approval;
    unsigned bits; /* digest size */
} hashes[] = {
    {"sha1", FL_APPROVED_WEAK, 160},   {"sha-1", FL_APPROVED_WEAK, 160},
    {"sha224", FL_APPROVED, 224},      {"sha-224", FL_APPROVED, 224},      {"sha2-224", FL_APPROVED, 224},
    {"sha256", FL_APPROVED, 256},      {"sha-256", FL_APPROVED, 256},      {"sha2-256", FL_APPROVED, 256},
    {"sha384", FL_APPROVED, 384},      {"sha-384", FL_APPROVED, 384},      {"sha2-384", FL_APPROVED, 384},
    {"sha512", FL_APPROVED, 512},      {"sha-512", FL_APPROVED, 512},      {"sha2-512", FL_APPROVED, 512},
    {"sha512-224", FL_APPROVED, 224},  {"sha-512/224", FL_APPROVED, 224},  {"sha2-512/224", FL_APPROVED, 224},
    {"sha512-256", FL_APPROVED, 256},  {"sha-512/256", FL_APPROVED, 256},  {"sha2-512/256", FL_APPROVED, 256},
    {"sha3-224", FL_APPROVED, 224},    {"sha3-256", FL_APPROVED, 256},     {"sha3-384", FL_APPROVED, 384},
    {"sha3-512", FL_APPROVED, 512},
};
/* clang-format on */

/* Index of @p name in hashes[], or -1. */
static int hash_lookup(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
        if (strcasecmp(name, hashes[i].name) == 0)
            return (int)i;
    return -1;
}

enum fl_approval fl_policy_hash(const char *hash)
{
    int i = hash_lookup(hash);

    return i < 0 ? FL_NOT_APPROVED : hashes[i].approval;
}

/* ---- ciphers --------------------------------------------------------------------------------- */

#define SPEC_PART 64

/* A cipher spec split like dm-crypt does: "aes-cbc-essiv:sha256" -> aes, cbc, essiv, sha256. */
struct spec {
    char cipher[SPEC_PART]; /* lower case, without a ":N" key count; "xchacha12,aes" stays whole */
    char mode[SPEC_PART];
    char iv[SPEC_PART];
    char ivopts[SPEC_PART];
};

/* Copy @p len bytes of @p src into @p dst, lower-cased. @return false when it does not fit. */
static bool copy_lower(char *dst, const char *src, size_t len)
{
    if (len >= SPEC_PART)
        return false;
    for (size_t i = 0; i < len; i++)
        dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] - 'A' + 'a' : src[i]);
    dst[len] = '\0';
    return true;
}

/* "essiv:sha256" -> iv "essiv", ivopts "sha256". */
static bool split_iv(struct spec *sp, const char *s)
{
    const char *colon = strchr(s, ':');

    if (!colon)
        return copy_lower(sp->iv, s, strlen(s)) && copy_lower(sp->ivopts, "", 0);
    return copy_lower(sp->iv, s, (size_t)(colon - s)) && copy_lower(sp->ivopts, colon + 1, strlen(colon + 1));
}

/* The LUKS form "cipher-mode-iv[:ivopts]", read the way crypt_parse_name_and_mode() does. */
static bool parse_luks_spec(const char *s, struct spec *sp)
{
    const char *dash = strchr(s, '-'), *rest, *dash2;
    char *colon;

    if (strcasecmp(s, "null") == 0 || strcasecmp(s, "cipher_null") == 0)
        return copy_lower(sp->cipher, "cipher_null", 11) && copy_lower(sp->mode, "ecb", 3) &&
               split_iv(sp, "");
    if (!dash) /* a bare cipher name means cbc-plain */
        return copy_lower(sp->cipher, s, strlen(s)) && copy_lower(sp->mode, "cbc", 3) &&
               split_iv(sp, "plain");
    if (!copy_lower(sp->cipher, s, (size_t)(dash - s)))
        return false;
    colon = strchr(sp->cipher, ':'); /* "aes:64" (loop-AES key count) */
    if (colon)
        *colon = '\0';
    rest = dash + 1;
    if (strcasecmp(rest, "plain") == 0) /* "aes-plain" is aes-cbc-plain */
        return copy_lower(sp->mode, "cbc", 3) && split_iv(sp, "plain");
    dash2 = strchr(rest, '-');
    if (!dash2)
        return copy_lower(sp->mode, rest, strlen(rest)) && split_iv(sp, "");
    return copy_lower(sp->mode, rest, (size_t)(dash2 - rest)) && split_iv(sp, dash2 + 1);
}

/* The kernel form after "capi:": "xts(aes)-plain64", "authenc(hmac(sha256),xts(aes))-random". */
static bool parse_capi_spec(const char *s, struct spec *sp)
{
    const char *end = strrchr(s, ')'), *open, *args, *args_end;

    if (!end)
        return false;
    if (end[1] == '-') {
        if (!split_iv(sp, end + 2))
            return false;
    } else if (end[1] == '\0') {
        if (!split_iv(sp, ""))
            return false;
    } else {
        return false;
    }
    /* s .. end is "name(args)"; unwrap AEAD wrappers down to the mode around the cipher */
    for (int depth = 0; depth < 8; depth++) {
        open = strchr(s, '(');
        if (!open || open > end)
            return false;
        args = open + 1;
        args_end = end; /* exclusive */
        if ((open - s == 7 && strncasecmp(s, "authenc", 7) == 0) ||
            (open - s == 10 && strncasecmp(s, "authencesn", 10) == 0)) {
            /* authenc(mac,cipher): the cipher is the last top-level argument */
            const char *last = args;
            int level = 0;
            for (const char *p = args; p < args_end; p++) {
                if (*p == '(')
                    level++;
                else if (*p == ')')
                    level--;
                else if (*p == ',' && level == 0)
                    last = p + 1;
            }
            s = last;
            end = args_end - 1;
            if (*end != ')')
                return false;
            continue;
        }
        if ((open - s == 7 && strncasecmp(s, "rfc4106", 7) == 0) ||
            (open - s == 7 && strncasecmp(s, "rfc4309", 7) == 0) ||
            (open - s == 7 && strncasecmp(s, "rfc4543", 7) == 0)) {
            s = args;
            end = args_end - 1;
            if (*end != ')')
                return false;
            continue;
        }
        if (!copy_lower(sp->mode, s, (size_t)(open - s)))
            return false;
        /* xts(ecb(aes)) names the same thing as xts(aes) */
        if (args_end - args > 5 && strncasecmp(args, "ecb(", 4) == 0 && args_end[-1] == ')') {
            args += 4;
            args_end--;
        }
        if (memchr(args, '(', (size_t)(args_end - args)))
            return false;
        return copy_lower(sp->cipher, args, (size_t)(args_end - args));
    }
    return false;
}

static bool parse_spec(const char *s, struct spec *sp)
{
    memset(sp, 0, sizeof(*sp));
    if (!s || !*s)
        return false;
    if (strncasecmp(s, "capi:", 5) == 0)
        return parse_capi_spec(s + 5, sp);
    return parse_luks_spec(s, sp);
}

static const char why_spec[] = "the cipher specification is not recognised";
static const char why_empty[] = "no cipher is set";
static const char why_not_aes[] = "only AES is FIPS-approved for disk encryption";
static const char why_cipher_null[] = "cipher_null does not encrypt at all";
static const char why_adiantum[] = "Adiantum (XChaCha12 and AES) is not FIPS-approved";
static const char why_ecb[] = "ECB encrypts identical blocks identically; use XTS";
static const char why_mode[] = "the cipher mode is not FIPS-approved for disk encryption";
static const char why_xts_key[] =
    "XTS needs a 256- or 512-bit key (AES-128 or AES-256); a FIPS kernel rejects other sizes";
static const char why_aes_key[] = "AES needs a 128-, 192- or 256-bit key";
static const char why_no_iv[] = "no IV generator: every sector is encrypted the same way";
static const char why_plain_iv[] = "predictable IVs; use XTS";
static const char why_null_iv[] = "a null IV is the same for every sector";
static const char why_lmk_iv[] = "lmk IVs (loop-AES compatibility) are not FIPS-approved";
static const char why_tcw_iv[] = "tcw IVs (TrueCrypt compatibility) are not FIPS-approved";
static const char why_iv[] = "the IV generator is not FIPS-approved";
static const char why_essiv_hash[] = "the ESSIV hash is not FIPS-approved";
static const char why_essiv_size[] = "the ESSIV hash does not produce a valid AES key (use essiv:sha256)";
static const char why_gcm_random[] = "AES-GCM with random IVs allows only about 2^32 sector writes per key; "
                                     "use XTS with hmac-sha256 integrity";

static const struct {
    const char *name;
    const char *why;
} other_ciphers[] = {
    {"serpent", "serpent is not a FIPS-approved cipher"},
    {"twofish", "twofish is not a FIPS-approved cipher"},
    {"camellia", "camellia is not a FIPS-approved cipher"},
    {"cast5", "cast5 is not a FIPS-approved cipher"},
    {"cast6", "cast6 is not a FIPS-approved cipher"},
    {"blowfish", "blowfish is not a FIPS-approved cipher"},
    {"des", "des is not a FIPS-approved cipher"},
    {"des3_ede", "des3_ede (Triple DES) is no longer FIPS-approved for encryption"},
    {"sm4", "sm4 is not a FIPS-approved cipher"},
    {"aria", "aria is not a FIPS-approved cipher"},
    {"anubis", "anubis is not a FIPS-approved cipher"},
    {"khazad", "khazad is not a FIPS-approved cipher"},
    {"seed", "seed is not a FIPS-approved cipher"},
    {"tea", "tea is not a FIPS-approved cipher"},
    {"xtea", "xtea is not a FIPS-approved cipher"},
    {"chacha20", "chacha20 is not a FIPS-approved cipher"},
    {"xchacha12", "xchacha12 is not a FIPS-approved cipher"},
    {"xchacha20", "xchacha20 is not a FIPS-approved cipher"},
};

/* The verdict on a cipher spec, plus whether the key size is all that is wrong with it. */
struct cipher_verdict {
    enum fl_approval approval;
    const char *why;
    bool xts_key_only;
};

static struct cipher_verdict verdict(enum fl_approval a, const char *why)
{
    return (struct cipher_verdict){.approval = a, .why = a == FL_APPROVED ? NULL : why};
}

/* The worse of two verdicts; the first wins a tie. */
static struct cipher_verdict worse(struct cipher_verdict a, struct cipher_verdict b)
{
    return b.approval > a.approval ? b : a;
}

/* IV generators that are never acceptable, or ESSIV (with either mode). */
static struct cipher_verdict common_iv(const struct spec *sp)
{
    int h;

    if (strcmp(sp->iv, "null") == 0)
        return verdict(FL_NOT_APPROVED, why_null_iv);
    if (strcmp(sp->iv, "lmk") == 0)
        return verdict(FL_NOT_APPROVED, why_lmk_iv);
    if (strcmp(sp->iv, "tcw") == 0)
        return verdict(FL_NOT_APPROVED, why_tcw_iv);
    if (strcmp(sp->iv, "essiv") != 0)
        return verdict(FL_NOT_APPROVED, why_iv);
    h = hash_lookup(sp->ivopts);
    if (h < 0)
        return verdict(FL_NOT_APPROVED, why_essiv_hash);
    /* ESSIV encrypts the sector number with AES keyed by hash(volume key): only 256-bit digests fit */
    if (hashes[h].bits != 256)
        return verdict(FL_NOT_APPROVED, why_essiv_size);
    return verdict(hashes[h].approval, why_essiv_hash);
}

/* IV generator with AES-XTS: any sector-unique tweak will do. */
static struct cipher_verdict xts_iv(const struct spec *sp)
{
    static const char *const ok[] = {"plain", "plain64", "plain64be", "random"};

    if (!*sp->iv)
        return verdict(FL_NOT_APPROVED, why_no_iv);
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(sp->iv, ok[i]) == 0)
            return verdict(FL_APPROVED, NULL);
    return common_iv(sp);
}

/* IV generator with AES-CBC: it must be unpredictable. */
static struct cipher_verdict cbc_iv(const struct spec *sp)
{
    static const char *const predictable[] = {"plain", "plain64", "plain64be", "benbi"};

    if (!*sp->iv)
        return verdict(FL_NOT_APPROVED, why_no_iv);
    for (size_t i = 0; i < sizeof(predictable) / sizeof(predictable[0]); i++)
        if (strcmp(sp->iv, predictable[i]) == 0)
            return verdict(FL_APPROVED_WEAK, why_plain_iv);
    if (strcmp(sp->iv, "random") == 0) /* dm-crypt stores random IVs in the integrity tags */
        return verdict(FL_APPROVED, NULL);
    return common_iv(sp);
}

static struct cipher_verdict judge_cipher(const char *cipher, uint32_t key_bits)
{
    struct spec sp;
    struct cipher_verdict key;
    size_t name_len;

    if (!cipher || !*cipher)
        return verdict(FL_NOT_APPROVED, why_empty);
    if (!parse_spec(cipher, &sp))
        return verdict(FL_NOT_APPROVED, why_spec);
    if (strcmp(sp.cipher, "cipher_null") == 0)
        return verdict(FL_NOT_APPROVED, why_cipher_null);
    if (strcmp(sp.mode, "adiantum") == 0)
        return verdict(FL_NOT_APPROVED, why_adiantum);
    if (strcmp(sp.cipher, "aes") != 0) {
        name_len = strcspn(sp.cipher, ","); /* "chacha20,poly1305" */
        for (size_t i = 0; i < sizeof(other_ciphers) / sizeof(other_ciphers[0]); i++)
            if (strlen(other_ciphers[i].name) == name_len &&
                strncmp(sp.cipher, other_ciphers[i].name, name_len) == 0)
                return verdict(FL_NOT_APPROVED, other_ciphers[i].why);
        return verdict(FL_NOT_APPROVED, why_not_aes);
    }

    if (strcmp(sp.mode, "xts") == 0) {
        struct cipher_verdict iv = xts_iv(&sp);

        if (iv.approval != FL_NOT_APPROVED && key_bits && key_bits != 256 && key_bits != 512) {
            key = verdict(FL_NOT_APPROVED, why_xts_key);
            key.xts_key_only = true;
            return key;
        }
        return iv;
    }
    key = verdict(FL_APPROVED, NULL);
    if (key_bits && key_bits != 128 && key_bits != 192 && key_bits != 256)
        key = verdict(FL_NOT_APPROVED, why_aes_key);
    if (strcmp(sp.mode, "cbc") == 0)
        return worse(cbc_iv(&sp), key);
    if (strcmp(sp.mode, "gcm") == 0) /* --integrity aead */
        return worse(strcmp(sp.iv, "random") == 0 ? verdict(FL_APPROVED_WEAK, why_gcm_random)
                                                  : verdict(FL_NOT_APPROVED, why_iv),
                     key);
    if (strcmp(sp.mode, "ecb") == 0)
        return verdict(FL_NOT_APPROVED, why_ecb);
    return verdict(FL_NOT_APPROVED, why_mode);
}

enum fl_approval fl_policy_cipher(const char *cipher, uint32_t key_bits, const char **ret_why)
{
    struct cipher_verdict c = judge_cipher(cipher, key_bits);

    if (ret_why && c.approval != FL_APPROVED)
        *ret_why = c.why;
    return c.approval;
}

/* True for AES-GCM, whose own tag is the integrity protection ("aead"). */
static bool cipher_is_aes_gcm(const char *cipher)
{
    struct spec sp;

    return parse_spec(cipher, &sp) && strcmp(sp.cipher, "aes") == 0 && strcmp(sp.mode, "gcm") == 0;
}

/* ---- integrity ------------------------------------------------------------------------------- */

/* "hmac(sha256)" or "hmac-sha256" -> index of sha256 in hashes[]; -1 when not an HMAC we know. */
static int integrity_hmac_hash(const char *integrity)
{
    char hash[SPEC_PART];
    size_t len;

    if (strncasecmp(integrity, "hmac-", 5) == 0)
        return hash_lookup(integrity + 5);
    if (strncasecmp(integrity, "hmac(", 5) != 0)
        return -1;
    len = strlen(integrity + 5);
    if (len < 2 || integrity[5 + len - 1] != ')' || len - 1 >= sizeof(hash))
        return -1;
    memcpy(hash, integrity + 5, len - 1);
    hash[len - 1] = '\0';
    return hash_lookup(hash);
}

static bool integrity_none(const char *integrity)
{
    return !integrity || !*integrity || strcasecmp(integrity, "none") == 0;
}

enum fl_approval fl_policy_integrity(const char *integrity)
{
    int h;

    if (integrity_none(integrity))
        return FL_APPROVED;
    h = integrity_hmac_hash(integrity);
    return h < 0 ? FL_NOT_APPROVED : hashes[h].approval;
}

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

static bool shell_safe(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("_@%+=:,./-", c) != NULL;
}

char *fl_shell_quote(const char *s)
{
    size_t len = 0, quotes = 0;
    bool safe = true;
    char *q, *p;

    if (!s)
        s = "";
    for (const char *c = s; *c; c++) {
        len++;
        if (*c == '\'')
            quotes++;
        if (!shell_safe(*c))
            safe = false;
    }
    if (safe && len > 0)
        return strdup(s);
    q = malloc(len + 3 * quotes + 3);
    if (!q)
        return NULL;
    p = q;
    *p++ = '\'';
    for (const char *c = s; *c; c++) {
        if (*c == '\'') {
            memcpy(p, "'\\''", 4);
            p += 4;
        } else {
            *p++ = *c;
        }
    }
    *p++ = '\'';
    *p = '\0';
    return q;
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
};

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    char *s;
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vasprintf(&s, fmt, ap);
    va_end(ap);
    return r < 0 ? NULL : s;
}

/* What a finding concerns: a kind of object and its id. */
struct object {
    enum fl_object kind;
    int id;
};

static const struct object whole_header = {FL_OBJECT_HEADER, 0};

/*
 * Append a finding of @p rule that @p fix fixes. Takes ownership of @p remedy (which may be NULL),
 * also on failure. Bytes of the message outside printable ASCII (from a crafted header) become '?',
 * so it stays one plain line.
 */
static int vadd(struct ctx *c, enum fl_rule_id rule, enum fl_fix fix, enum fl_severity severity,
                struct object o, char *remedy, const char *fmt, va_list ap)
    __attribute__((format(printf, 7, 0)));
static int vadd(struct ctx *c, enum fl_rule_id rule, enum fl_fix fix, enum fl_severity severity,
                struct object o, char *remedy, const char *fmt, va_list ap)
{
    struct fl_findings *out = c->out;
    char *message;
    int r;

    r = fl_array_grow(&out->items, &out->allocated, out->n + 1, sizeof(*out->items));
    if (r < 0) {
        free(remedy);
        return r;
    }
    if (vasprintf(&message, fmt, ap) < 0) {
        free(remedy);
        return -ENOMEM;
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
    return 0;
}

/* Append a finding of @p rule, fixed by what fixes the rule. */
static int add(struct ctx *c, enum fl_rule_id rule, enum fl_severity severity, struct object o, char *remedy,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int add(struct ctx *c, enum fl_rule_id rule, enum fl_severity severity, struct object o, char *remedy,
               const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vadd(c, rule, fl_rules[rule].fixed_by, severity, o, remedy, fmt, ap);
    va_end(ap);
    return r;
}

/* Append a finding of @p rule that, on this volume, @p fix fixes rather than what fixes the rule. */
static int add_fixed_by(struct ctx *c, enum fl_fix fix, enum fl_rule_id rule, enum fl_severity severity,
                        struct object o, char *remedy, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static int add_fixed_by(struct ctx *c, enum fl_fix fix, enum fl_rule_id rule, enum fl_severity severity,
                        struct object o, char *remedy, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vadd(c, rule, fix, severity, o, remedy, fmt, ap);
    va_end(ap);
    return r;
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
    return xasprintf("fipsluks reencrypt %s%s", c->target, s == FL_SEVERITY_ERROR ? not_fips_host : "");
}

/* LUKS1 whose header hash is approved: converting to LUKS2 and its keyslots to PBKDF2 is enough. */
static char *remedy_luks1(const struct ctx *c)
{
    if (fl_policy_hash(c->v->hash_spec) == FL_NOT_APPROVED)
        return remedy_reencrypt(c, FL_SEVERITY_ERROR);
    return xasprintf("fipsluks migrate --convert-luks1 %s", c->target);
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
        buf[i] = (char)(shell_safe(t[i]) ? t[i] : '?');
    buf[i] = '\0';
}

char *fl_remedy_token_keyslot(int slot, const char *token_type, const char *path, const char *target)
{
    char type[48];
    char *example, *r;

    token_type_name(token_type, type, sizeof(type));
    if (strcmp(type, "systemd-recovery") == 0)
        return xasprintf("re-enroll the recovery key (systemd-cryptenroll --wipe-slot=%d --recovery-key %s), "
                         "or run fipsluks migrate --key-slot %d %s and type the recovery key",
                         slot, path, slot, target);
    if (strcmp(type, "systemd-tpm2") == 0)
        example = xasprintf("systemd-cryptenroll --wipe-slot=%d --tpm2-device=auto %s", slot, path);
    else if (strcmp(type, "systemd-fido2") == 0)
        example = xasprintf("systemd-cryptenroll --wipe-slot=%d --fido2-device=auto %s", slot, path);
    else if (strcmp(type, "systemd-pkcs11") == 0)
        example = xasprintf("systemd-cryptenroll --wipe-slot=%d --pkcs11-token-uri=auto %s", slot, path);
    else if (strcmp(type, "clevis") == 0)
        example = xasprintf("clevis luks regen -d %s -s %d", path, slot);
    else
        return xasprintf("re-enroll the %s token for keyslot %d with the tool that created it, "
                         "or run fipsluks migrate --key-slot %d --key-file SECRET %s with its secret",
                         type, slot, slot, target);
    if (!example)
        return NULL;
    r = xasprintf("re-enroll the %s token for keyslot %d (e.g. %s), "
                  "or run fipsluks migrate --key-slot %d --key-file SECRET %s with its secret",
                  type, slot, example, slot, target);
    free(example);
    return r;
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
        return xasprintf("fipsluks migrate --key-slot %d %s", ks->id, c->target);
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

static int eval_header(struct ctx *c)
{
    const struct fl_volume *v = c->v;
    enum fl_approval a;
    char *r;
    int k;

    if (v->reencrypt) {
        r = xasprintf("fipsluks reencrypt %s (resumes it; then scan again)", c->target);
        if (!r)
            return -ENOMEM;
        k = add(c, FL_RULE_REENCRYPT, FL_SEVERITY_ERROR, whole_header, r,
                "a reencryption is in progress or was interrupted; the volume cannot be judged until it "
                "finishes");
        if (k < 0)
            return k;
    }
    if (v->unknown_requirements) {
        r = xasprintf("upgrade cryptsetup, or inspect with: cryptsetup luksDump %s", c->target);
        if (!r)
            return -ENOMEM;
        k = add(c, FL_RULE_REQUIREMENTS, FL_SEVERITY_ERROR, whole_header, r,
                "the header requires features this libcryptsetup does not know (%s); it cannot be judged",
                or_unknown(v->requirements));
        if (k < 0)
            return k;
    }
    if (v->header_repaired) {
        r = xasprintf("back up, then repair: cryptsetup luksHeaderBackup --header-backup-file BACKUP %s && "
                      "cryptsetup repair %s",
                      c->target, c->target);
        if (!r)
            return -ENOMEM;
        k = add(
            c, FL_RULE_HEADER_DAMAGED, FL_SEVERITY_WARNING, whole_header, r,
            "one of the two LUKS2 header copies is damaged; libcryptsetup will rewrite it from the intact "
            "copy on the next write");
        if (k < 0)
            return k;
    }
    if (c->luks1) {
        r = remedy_luks1(c);
        if (!r)
            return -ENOMEM;
        k = add_fixed_by(c,
                         fl_policy_hash(v->hash_spec) == FL_NOT_APPROVED ? FL_FIX_REENCRYPT : FL_FIX_MIGRATE,
                         FL_RULE_LUKS1, FL_SEVERITY_INFO, whole_header, r,
                         "LUKS1 format: a single header copy and no per-keyslot hashes");
        if (k < 0)
            return k;
        a = fl_policy_hash(v->hash_spec);
        if (a != FL_APPROVED) {
            r = remedy_reencrypt(c, severity_of(a));
            if (!r)
                return -ENOMEM;
            k = add(c, FL_RULE_LUKS1_HASH, severity_of(a), whole_header, r,
                    "LUKS1 header hash %s is %s; it is used for every keyslot, the AF splitter and the "
                    "volume-key digest",
                    or_unknown(v->hash_spec),
                    a == FL_NOT_APPROVED ? "not FIPS-approved" : "allowed by FIPS but deprecated");
            if (k < 0)
                return k;
        }
    }
    if (active_keyslots(v) == 0) {
        r = xasprintf("restore a header backup that still has keyslots: "
                      "cryptsetup luksHeaderRestore --header-backup-file BACKUP %s",
                      c->target);
        if (!r)
            return -ENOMEM;
        k = add(c, FL_RULE_NO_KEYSLOT, FL_SEVERITY_WARNING, whole_header, r,
                "no active keyslot: no passphrase or key can open this volume");
        if (k < 0)
            return k;
    }
    return 0;
}

/* Key bits of the HMAC key that libcryptsetup appends to the volume key for dm-integrity. */
static uint32_t integrity_key_bits(const char *integrity)
{
    int h;

    if (integrity_none(integrity))
        return 0;
    h = integrity_hmac_hash(integrity);
    return h < 0 ? 0 : hashes[h].bits;
}

/* The data cipher of @p s, judged with the volume key minus the HMAC key that dm-integrity uses. */
static struct cipher_verdict judge_segment_cipher(const struct fl_segment *s, uint32_t *ret_key_bits)
{
    uint32_t key_bits = s->key_bits, ibits = integrity_key_bits(s->integrity);

    if (ibits && key_bits > ibits)
        key_bits -= ibits;
    if (ret_key_bits)
        *ret_key_bits = key_bits;
    return judge_cipher(s->cipher, key_bits);
}

/*
 * A keyslot or segment whose header values are out of range: nothing else about it is judged, and no
 * fipsluks or cryptsetup command can fix it in place (migrate refuses keyslot ids beyond 31).
 */
static int add_malformed(struct ctx *c, struct object object, const char *why)
{
    char *r = xasprintf("inspect with: cryptsetup luksDump %s; then restore a good header backup: cryptsetup "
                        "luksHeaderRestore --header-backup-file BACKUP %s",
                        c->target, c->target);

    if (!r)
        return -ENOMEM;
    return add(c, FL_RULE_HEADER_MALFORMED, FL_SEVERITY_ERROR, object, r, "malformed header: %s", why);
}

static int eval_segment(struct ctx *c, const struct fl_segment *s)
{
    struct cipher_verdict cv;
    enum fl_approval a;
    struct object object = {FL_OBJECT_SEGMENT, s->id};
    char key[32] = "";
    uint32_t key_bits;
    bool has_integrity = !integrity_none(s->integrity);
    char *r;
    int k;

    if (s->malformed)
        return add_malformed(c, object, s->malformed);
    if (s->cipher) {
        cv = judge_segment_cipher(s, &key_bits);
        if (cv.approval != FL_APPROVED) {
            if (key_bits)
                snprintf(key, sizeof(key), " with a %u-bit key", key_bits);
            if (has_integrity) /* cryptsetup cannot reencrypt a volume with integrity */
                r = xasprintf("re-create the volume with --cipher aes-xts-random --integrity hmac-sha256 "
                              "(integrity volumes cannot be reencrypted in place)");
            else
                r = remedy_reencrypt(c, severity_of(cv.approval));
            if (!r)
                return -ENOMEM;
            k = add_fixed_by(c, has_integrity ? FL_FIX_FORMAT : FL_FIX_REENCRYPT,
                             cv.xts_key_only ? FL_RULE_XTS_KEY : FL_RULE_CIPHER, severity_of(cv.approval),
                             object, r, "data cipher %s%s: %s", s->cipher, key, cv.why);
            if (k < 0)
                return k;
        }
    }
    a = fl_policy_integrity(s->integrity);
    /* with AES-GCM, "aead" means the cipher's own tag, which the cipher rule has judged */
    if (a != FL_APPROVED && !(strcasecmp(s->integrity, "aead") == 0 && cipher_is_aes_gcm(s->cipher))) {
        r = xasprintf(
            "re-create the volume with --integrity hmac-sha256 (integrity cannot be changed in place)");
        if (!r)
            return -ENOMEM;
        k = add(c, FL_RULE_INTEGRITY, severity_of(a), object, r, "integrity %s is %s", s->integrity,
                a == FL_NOT_APPROVED ? "not FIPS-approved" : "allowed by FIPS but deprecated (SHA-1)");
        if (k < 0)
            return k;
    }
    return 0;
}

static int eval_digest(struct ctx *c, const struct fl_digest *d)
{
    enum fl_approval a;
    struct object object = {FL_OBJECT_DIGEST, d->id};
    char *r;
    int k;

    if (!c->luks1) { /* on LUKS1 FL-LUKS1-HASH covers the digest hash */
        if (!d->type || strcasecmp(d->type, "pbkdf2") != 0) {
            r = remedy_reencrypt(c, FL_SEVERITY_ERROR);
            if (!r)
                return -ENOMEM;
            return add(c, FL_RULE_DIGEST_HASH, FL_SEVERITY_ERROR, object, r, "digest type %s is not PBKDF2",
                       or_unknown(d->type));
        }
        a = fl_policy_hash(d->hash);
        if (a != FL_APPROVED) {
            r = remedy_reencrypt(c, severity_of(a));
            if (!r)
                return -ENOMEM;
            k = add(c, FL_RULE_DIGEST_HASH, severity_of(a), object, r, "volume-key digest hash %s is %s",
                    or_unknown(d->hash),
                    a == FL_NOT_APPROVED ? "not FIPS-approved" : "allowed by FIPS but deprecated");
            if (k < 0)
                return k;
        }
    }
    if (d->iterations < FL_FIPS_MIN_ITERATIONS) {
        r = remedy_reencrypt(c, FL_SEVERITY_ERROR);
        if (!r)
            return -ENOMEM;
        k = add(c, FL_RULE_DIGEST_ITER, FL_SEVERITY_ERROR, object, r,
                "volume-key digest PBKDF2 with %u iterations is below the FIPS minimum of %u", d->iterations,
                FL_FIPS_MIN_ITERATIONS);
        if (k < 0)
            return k;
    }
    return 0;
}

static int eval_keyslot(struct ctx *c, const struct fl_keyslot *ks)
{
    enum fl_approval a;
    struct cipher_verdict cv;
    struct object object = {FL_OBJECT_KEYSLOT, ks->id};
    char *r;
    int k;

    if (ks->malformed)
        return add_malformed(c, object, ks->malformed);
    if (ks->type && strcmp(ks->type, "reencrypt") == 0)
        return 0; /* holds reencryption progress, no key */

    if (ks->kdf && (strcasecmp(ks->kdf, "argon2i") == 0 || strcasecmp(ks->kdf, "argon2id") == 0)) {
        r = remedy_keyslot(c, ks);
        if (!r)
            return -ENOMEM;
        k = add(
            c, FL_RULE_KDF_ARGON2, FL_SEVERITY_ERROR, object, r,
            "%s keyslot: a FIPS host derives keys with PBKDF2 only; cryptsetup >= 2.7 with OpenSSL >= 3.2 "
            "cannot open it",
            ks->kdf);
        if (k < 0)
            return k;
    } else if (!ks->kdf || strcasecmp(ks->kdf, "pbkdf2") != 0) {
        r = remedy_keyslot(c, ks);
        if (!r)
            return -ENOMEM;
        k = add(c, FL_RULE_KDF_UNKNOWN, FL_SEVERITY_ERROR, object, r,
                "unknown key derivation function %s; a FIPS host derives keys with PBKDF2 only",
                or_unknown(ks->kdf));
        if (k < 0)
            return k;
    } else {
        a = fl_policy_hash(ks->hash);
        if (!c->luks1 && a != FL_APPROVED) {
            r = remedy_keyslot(c, ks);
            if (!r)
                return -ENOMEM;
            if (a == FL_NOT_APPROVED)
                k = add(c, FL_RULE_KDF_HASH, FL_SEVERITY_ERROR, object, r,
                        "PBKDF2 hash %s is not FIPS-approved", or_unknown(ks->hash));
            else
                k = add(c, FL_RULE_KDF_SHA1, FL_SEVERITY_WARNING, object, r,
                        "PBKDF2 hash %s is allowed by FIPS but deprecated", ks->hash);
            if (k < 0)
                return k;
        }
        if (ks->iterations < FL_FIPS_MIN_ITERATIONS) {
            r = remedy_keyslot(c, ks);
            if (!r)
                return -ENOMEM;
            k = add(c, FL_RULE_KDF_ITER_MIN, FL_SEVERITY_ERROR, object, r,
                    "PBKDF2 with %u iterations is below the FIPS minimum of %u", ks->iterations,
                    FL_FIPS_MIN_ITERATIONS);
            if (k < 0)
                return k;
        } else if (ks->iterations < FL_RECOMMENDED_MIN_ITERATIONS && ks->n_tokens == 0) {
            /* token-bound keyslots hold high-entropy keys and use 1000 iterations by design */
            r = remedy_keyslot(c, ks);
            if (!r)
                return -ENOMEM;
            k = add(c, FL_RULE_KDF_ITER_LOW, FL_SEVERITY_WARNING, object, r,
                    "PBKDF2 with %u iterations is below the recommended minimum of %u", ks->iterations,
                    FL_RECOMMENDED_MIN_ITERATIONS);
            if (k < 0)
                return k;
        }
    }

    if (c->luks1) /* LUKS1 keyslot areas use the data cipher; FL-LUKS1-HASH covers the AF hash */
        return 0;

    if (ks->cipher) {
        cv = judge_cipher(ks->cipher, ks->key_bits);
        if (cv.approval != FL_APPROVED) {
            if (c->data_cipher != FL_APPROVED)
                r = remedy_reencrypt(c, severity_of(cv.approval));
            else
                r = remedy_keyslot(c, ks);
            if (!r)
                return -ENOMEM;
            /* a new keyslot's area takes an approved cipher only when the data cipher is approved */
            k = add_fixed_by(c, c->data_cipher != FL_APPROVED ? FL_FIX_REENCRYPT : FL_FIX_MIGRATE,
                             FL_RULE_AREA_CIPHER, severity_of(cv.approval), object, r,
                             "keyslot area cipher %s with a %u-bit key: %s", ks->cipher, ks->key_bits,
                             cv.why);
            if (k < 0)
                return k;
        }
    }
    if (ks->af_hash) {
        a = fl_policy_hash(ks->af_hash);
        if (a != FL_APPROVED) {
            r = remedy_keyslot(c, ks);
            if (!r)
                return -ENOMEM;
            k = add(c, FL_RULE_AF_HASH, severity_of(a), object, r, "anti-forensic splitter hash %s is %s",
                    ks->af_hash,
                    a == FL_NOT_APPROVED ? "not FIPS-approved" : "allowed by FIPS but deprecated");
            if (k < 0)
                return k;
        }
    }
    return 0;
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
        if (v->segments[i].cipher && integrity_none(v->segments[i].integrity) &&
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

static int evaluate(struct ctx *c)
{
    const struct fl_volume *v = c->v;
    size_t idx[FL_MAX_KEYSLOTS + FL_MAX_SEGMENTS + FL_MAX_DIGESTS];
    size_t n;
    int k;

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
    k = eval_header(c);
    if (k < 0)
        return k;
    for (size_t i = 0; i < n; i++) {
        k = eval_segment(c, &v->segments[idx[i]]);
        if (k < 0)
            return k;
    }
    n = order_by_id(v->digests, v->n_digests, FL_MAX_DIGESTS, sizeof(v->digests[0]),
                    offsetof(struct fl_digest, id), idx);
    for (size_t i = 0; i < n; i++) {
        k = eval_digest(c, &v->digests[idx[i]]);
        if (k < 0)
            return k;
    }
    n = order_by_id(v->keyslots, v->n_keyslots, FL_MAX_KEYSLOTS, sizeof(v->keyslots[0]),
                    offsetof(struct fl_keyslot, id), idx);
    for (size_t i = 0; i < n; i++) {
        k = eval_keyslot(c, &v->keyslots[idx[i]]);
        if (k < 0)
            return k;
    }
    return 0;
}

int fl_policy_evaluate(const struct fl_volume *v, struct fl_findings *out)
{
    struct ctx c = {.v = v, .out = out, .luks1 = v && v->luks_version == 1};
    char *header = NULL;
    int r = -ENOMEM;

    if (!v || !out)
        return -EINVAL;
    c.path = fl_shell_quote(v->path);
    if (!c.path)
        goto out;
    if (v->header_path) {
        header = fl_shell_quote(v->header_path);
        if (!header)
            goto out;
        c.target = xasprintf("--header %s %s", header, c.path);
    } else {
        c.target = strdup(c.path);
    }
    if (!c.target)
        goto out;
    r = evaluate(&c);
    if (r == 0)
        r = c.errors;
out:
    free(c.path);
    free(c.target);
    free(header);
    return r;
}
