/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The algorithms a FIPS host knows, with their FIPS status: hashes, ciphers, modes, IV generators
 * and integrity algorithms, and the one reader of LUKS cipher specs. Pure functions over strings; no
 * I/O, no global state. The rules built on them are policy.c's.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "fipsluks/algorithms.h"

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

unsigned fl_hash_bits(const char *hash)
{
    int i = hash_lookup(hash);

    return i < 0 ? 0 : hashes[i].bits;
}

/* ---- ciphers --------------------------------------------------------------------------------- */

#define SPEC_PART FL_CIPHER_SPEC_PART

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
static bool split_iv(struct fl_cipher_spec *sp, const char *s)
{
    const char *colon = strchr(s, ':');

    if (!colon)
        return copy_lower(sp->iv, s, strlen(s)) && copy_lower(sp->ivopts, "", 0);
    return copy_lower(sp->iv, s, (size_t)(colon - s)) && copy_lower(sp->ivopts, colon + 1, strlen(colon + 1));
}

/* The LUKS form "cipher-mode-iv[:ivopts]", read the way crypt_parse_name_and_mode() does. */
static bool parse_luks_spec(const char *s, struct fl_cipher_spec *sp)
{
    const char *dash = strchr(s, '-'), *rest, *dash2;
    char *colon;

    if (strcasecmp(s, "null") == 0 || strcasecmp(s, "cipher_null") == 0) {
        sp->form = FL_SPEC_SHORT;
        return copy_lower(sp->cipher, "cipher_null", 11) && copy_lower(sp->mode, "ecb", 3) &&
               split_iv(sp, "");
    }
    if (!dash) { /* a bare cipher name means cbc-plain */
        sp->form = FL_SPEC_SHORT;
        return copy_lower(sp->cipher, s, strlen(s)) && copy_lower(sp->mode, "cbc", 3) &&
               split_iv(sp, "plain");
    }
    if (!copy_lower(sp->cipher, s, (size_t)(dash - s)))
        return false;
    colon = strchr(sp->cipher, ':'); /* "aes:64" (loop-AES key count) */
    if (colon) {
        *colon = '\0';
        sp->key_count = true;
    }
    rest = dash + 1;
    if (strcasecmp(rest, "plain") == 0) { /* "aes-plain" is aes-cbc-plain */
        sp->form = FL_SPEC_SHORT;
        return copy_lower(sp->mode, "cbc", 3) && split_iv(sp, "plain");
    }
    dash2 = strchr(rest, '-');
    if (!dash2)
        return copy_lower(sp->mode, rest, strlen(rest)) && split_iv(sp, "");
    return copy_lower(sp->mode, rest, (size_t)(dash2 - rest)) && split_iv(sp, dash2 + 1);
}

/* The kernel form after "capi:": "xts(aes)-plain64", "authenc(hmac(sha256),xts(aes))-random". */
static bool parse_capi_spec(const char *s, struct fl_cipher_spec *sp)
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

bool fl_cipher_spec_parse(const char *s, struct fl_cipher_spec *sp)
{
    memset(sp, 0, sizeof(*sp));
    if (!s || !*s)
        return false;
    if (strncasecmp(s, "capi:", 5) == 0) {
        sp->form = FL_SPEC_CAPI;
        return parse_capi_spec(s + 5, sp);
    }
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

static struct fl_cipher_verdict verdict(enum fl_approval a, const char *why)
{
    return (struct fl_cipher_verdict){.approval = a, .why = a == FL_APPROVED ? NULL : why};
}

/* The worse of two verdicts; the first wins a tie. */
static struct fl_cipher_verdict worse(struct fl_cipher_verdict a, struct fl_cipher_verdict b)
{
    return b.approval > a.approval ? b : a;
}

/* IV generators that are never acceptable, or ESSIV (with either mode). */
static struct fl_cipher_verdict common_iv(const struct fl_cipher_spec *sp)
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
static struct fl_cipher_verdict xts_iv(const struct fl_cipher_spec *sp)
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
static struct fl_cipher_verdict cbc_iv(const struct fl_cipher_spec *sp)
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

struct fl_cipher_verdict fl_cipher_judge(const char *cipher, uint32_t key_bits)
{
    struct fl_cipher_spec sp;
    struct fl_cipher_verdict key;
    size_t name_len;

    if (!cipher || !*cipher)
        return verdict(FL_NOT_APPROVED, why_empty);
    if (!fl_cipher_spec_parse(cipher, &sp))
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
        struct fl_cipher_verdict iv = xts_iv(&sp);

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

enum fl_approval fl_policy_cipher(const char *cipher, uint32_t key_bits, struct fl_why *why)
{
    struct fl_cipher_verdict c = fl_cipher_judge(cipher, key_bits);

    if (c.approval != FL_APPROVED && c.why)
        fl_why_set(why, 0, "%s", c.why);
    else
        fl_why_clear(why);
    return c.approval;
}

bool fl_cipher_is_aes_gcm(const char *cipher)
{
    struct fl_cipher_spec sp;

    return fl_cipher_spec_parse(cipher, &sp) && strcmp(sp.cipher, "aes") == 0 && strcmp(sp.mode, "gcm") == 0;
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

bool fl_integrity_none(const char *integrity)
{
    return !integrity || !*integrity || strcasecmp(integrity, "none") == 0;
}

enum fl_approval fl_policy_integrity(const char *integrity)
{
    int h;

    if (fl_integrity_none(integrity))
        return FL_APPROVED;
    h = integrity_hmac_hash(integrity);
    return h < 0 ? FL_NOT_APPROVED : hashes[h].approval;
}

uint32_t fl_integrity_key_bits(const char *integrity)
{
    int h;

    if (fl_integrity_none(integrity))
        return 0;
    h = integrity_hmac_hash(integrity);
    return h < 0 ? 0 : hashes[h].bits;
}
