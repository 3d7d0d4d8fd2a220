/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the FIPS policy (src/lib/policy.c): every rule on both sides of its condition,
 * remedies, ordering, and clean-up after allocation failures. The algorithm tables are
 * test_algorithms.c's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fipsluks/policy.h"
#include "fipsluks/volume.h"

#include "failalloc.h"

/* ---- building volumes ------------------------------------------------------------------------ */

static char *sdup(const char *s)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    assert_non_null(d);
    return d;
}

static struct fl_volume *volume(int luks_version, const char *path)
{
    struct fl_volume *v = calloc(1, sizeof(*v));

    assert_non_null(v);
    v->path = sdup(path);
    v->luks_version = luks_version;
    return v;
}

static struct fl_segment *add_segment(struct fl_volume *v, int id, const char *cipher, uint32_t key_bits,
                                      const char *integrity)
{
    struct fl_segment *s;

    assert_true(v->n_segments < FL_MAX_SEGMENTS);
    s = &v->segments[v->n_segments++];
    s->id = id;
    s->type = sdup(cipher ? "crypt" : "linear");
    s->cipher = sdup(cipher);
    s->key_bits = key_bits;
    s->sector_size = 512;
    s->integrity = sdup(integrity);
    return s;
}

static struct fl_digest *add_digest(struct fl_volume *v, int id, const char *type, const char *hash,
                                    uint32_t iterations)
{
    struct fl_digest *d;

    assert_true(v->n_digests < FL_MAX_DIGESTS);
    d = &v->digests[v->n_digests++];
    d->id = id;
    d->type = sdup(type);
    d->hash = sdup(hash);
    d->iterations = iterations;
    return d;
}

static struct fl_keyslot *add_keyslot(struct fl_volume *v, int id, const char *kdf, const char *hash,
                                      uint32_t iterations)
{
    struct fl_keyslot *k;

    assert_true(v->n_keyslots < FL_MAX_KEYSLOTS);
    k = &v->keyslots[v->n_keyslots++];
    k->id = id;
    k->type = sdup(v->luks_version == 1 ? "luks1" : "luks2");
    k->kdf = sdup(kdf);
    k->hash = sdup(hash);
    k->iterations = iterations;
    if (kdf && strcmp(kdf, "pbkdf2") != 0) {
        k->memory_kib = 1048576;
        k->threads = 4;
    }
    k->cipher = sdup("aes-xts-plain64");
    k->key_bits = 512;
    k->af_hash = sdup(v->luks_version == 1 ? v->hash_spec : "sha256");
    k->priority = FL_PRIORITY_NORMAL;
    return k;
}

static void remove_keyslot(struct fl_volume *v, size_t i)
{
    struct fl_keyslot *k = &v->keyslots[i];

    free(k->type);
    free(k->kdf);
    free(k->hash);
    free(k->cipher);
    free(k->af_hash);
    memmove(k, k + 1, (v->n_keyslots - i - 1) * sizeof(*k));
    v->n_keyslots--;
}

static void set_string(char **field, const char *value)
{
    free(*field);
    *field = sdup(value);
}

/* Bind keyslot @p slot to a new token @p id of @p type. */
static void add_token(struct fl_volume *v, int id, const char *type, int slot)
{
    struct fl_token *t;

    assert_true(v->n_tokens < FL_MAX_TOKENS);
    t = &v->tokens[v->n_tokens++];
    t->id = id;
    t->type = sdup(type);
    t->keyslots[t->n_keyslots++] = slot;
    for (size_t i = 0; i < v->n_keyslots; i++)
        if (v->keyslots[i].id == slot)
            v->keyslots[i].tokens[v->keyslots[i].n_tokens++] = id;
}

/* A LUKS2 volume a FIPS host opens without remarks. */
static struct fl_volume *good_luks2(const char *path)
{
    struct fl_volume *v = volume(2, path);

    add_segment(v, 0, "aes-xts-plain64", 512, NULL);
    add_digest(v, 0, "pbkdf2", "sha256", 200000);
    add_keyslot(v, 0, "pbkdf2", "sha256", 2000000);
    return v;
}

/* A LUKS1 volume with header hash @p hash; its only remark is FL-LUKS1. */
static struct fl_volume *luks1(const char *hash)
{
    struct fl_volume *v = volume(1, "/dev/sdb1");

    v->hash_spec = sdup(hash);
    add_segment(v, 0, "aes-xts-plain64", 512, NULL);
    add_digest(v, 0, "pbkdf2", hash, 50000);
    add_keyslot(v, 0, "pbkdf2", hash, 2000000);
    return v;
}

/* ---- inspecting findings --------------------------------------------------------------------- */

/* The object of finding @p x as printed ("keyslot 0"), in a buffer that lives in the calling block. */
#define OBJ(x) fl_finding_object((x), (char[32]){0}, 32)

static int evaluate(const struct fl_volume *v, struct fl_findings *f)
{
    int r = fl_policy_evaluate(v, f);

    assert_true(r >= 0);
    /* every finding points into the table, and is at most as severe as the table says */
    for (size_t i = 0; i < f->n; i++) {
        assert_true(f->items[i].rule >= fl_rules && f->items[i].rule < fl_rules + FL_RULE_COUNT);
        assert_true(f->items[i].severity <= f->items[i].rule->severity);
    }
    return r;
}

static size_t count_rule(const struct fl_findings *f, const char *rule)
{
    size_t n = 0;

    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].rule->id, rule) == 0)
            n++;
    return n;
}

static const struct fl_finding *find(const struct fl_findings *f, const char *rule, const char *object)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->items[i].rule->id, rule) == 0 && strcmp(OBJ(&f->items[i]), object) == 0)
            return &f->items[i];
    return NULL;
}

/* The finding @p rule on @p object, which must exist. */
static const struct fl_finding *get(const struct fl_findings *f, const char *rule, const char *object)
{
    const struct fl_finding *x = find(f, rule, object);

    if (!x) {
        print_error("no %s on %s\n", rule, object);
        fail();
        abort();
    }
    return x;
}

/* Assert that @p v yields exactly one finding, @p rule on @p object with @p severity. */
static struct fl_findings expect_only(const struct fl_volume *v, const char *rule, const char *object,
                                      enum fl_severity severity)
{
    struct fl_findings f = {0};
    int r = evaluate(v, &f);

    if (f.n != 1) {
        for (size_t i = 0; i < f.n; i++)
            print_error("  got %s %s: %s\n", f.items[i].rule->id, OBJ(&f.items[i]), f.items[i].message);
    }
    assert_int_equal(f.n, 1);
    assert_string_equal(f.items[0].rule->id, rule);
    assert_string_equal(OBJ(&f.items[0]), object);
    assert_int_equal(f.items[0].severity, severity);
    assert_int_equal(r, severity == FL_SEVERITY_ERROR ? 1 : 0);
    assert_int_equal(fl_findings_compatible(&f), severity != FL_SEVERITY_ERROR);
    return f;
}

static void expect_none(const struct fl_volume *v)
{
    struct fl_findings f = {0};

    assert_int_equal(evaluate(v, &f), 0);
    for (size_t i = 0; i < f.n; i++)
        print_error("  unexpected %s %s: %s\n", f.items[i].rule->id, OBJ(&f.items[i]), f.items[i].message);
    assert_int_equal(f.n, 0);
    assert_true(fl_findings_compatible(&f));
    fl_findings_clear(&f);
}

static void test_severity_name(void **state)
{
    assert_string_equal(fl_severity_name(FL_SEVERITY_ERROR), "error");
    assert_string_equal(fl_severity_name(FL_SEVERITY_WARNING), "warning");
    assert_string_equal(fl_severity_name(FL_SEVERITY_INFO), "info");
    assert_string_equal(fl_severity_name((enum fl_severity)42), "unknown");
}

static void test_findings_helpers(void **state)
{
    struct fl_findings f = {0};

    assert_true(fl_findings_compatible(&f));
    assert_true(fl_findings_compatible(NULL));
    fl_findings_clear(&f);
    fl_findings_clear(NULL);
    assert_int_equal(fl_policy_evaluate(NULL, &f), -EINVAL);

    struct fl_volume *v = good_luks2("/dev/sdb1");
    assert_int_equal(fl_policy_evaluate(v, NULL), -EINVAL);
    fl_volume_free(v);
}

/* ---- rules ----------------------------------------------------------------------------------- */

static void test_good_volume(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");

    expect_none(v);
    /* a second digest, keyslot and a linear segment change nothing */
    add_segment(v, 1, NULL, 0, NULL);
    add_digest(v, 1, "pbkdf2", "sha512", 1000);
    add_keyslot(v, 1, "pbkdf2", "sha3-256", FL_RECOMMENDED_MIN_ITERATIONS);
    set_string(&v->keyslots[1].cipher, "aes-cbc-essiv:sha256");
    v->keyslots[1].key_bits = 256;
    set_string(&v->keyslots[1].af_hash, "sha512");
    expect_none(v);
    fl_volume_free(v);
}

static void test_reencrypt(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    v->reencrypt = true;
    f = expect_only(v, "FL-REENCRYPT", "header", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message,
                        "a reencryption is in progress or was interrupted; the volume cannot "
                        "be judged until it finishes");
    assert_string_equal(f.items[0].remedy, "fipsluks reencrypt /dev/sdb1 (resumes it; then scan again)");
    fl_findings_clear(&f);

    /* the reencrypt keyslot is not judged as a keyslot and does not count as one */
    add_keyslot(v, 1, NULL, NULL, 0);
    set_string(&v->keyslots[1].type, "reencrypt");
    set_string(&v->keyslots[1].cipher, NULL);
    set_string(&v->keyslots[1].af_hash, NULL);
    f = expect_only(v, "FL-REENCRYPT", "header", FL_SEVERITY_ERROR);
    fl_findings_clear(&f);

    /* a reencrypt keyslot alone opens nothing */
    remove_keyslot(v, 0);
    assert_int_equal(evaluate(v, &f), 1);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[0].rule->id, "FL-REENCRYPT");
    assert_string_equal(f.items[1].rule->id, "FL-NO-KEYSLOT");
    fl_findings_clear(&f);
    fl_volume_free(v);
}

static void test_requirements(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    v->requirements = sdup("online-reencrypt-v2,future-thing");
    expect_none(v); /* known requirements alone are fine */
    v->unknown_requirements = true;
    f = expect_only(v, "FL-REQUIREMENTS", "header", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "the header requires features this libcryptsetup does not know "
                                            "(online-reencrypt-v2,future-thing); it cannot be judged");
    assert_string_equal(f.items[0].remedy,
                        "upgrade cryptsetup, or inspect with: cryptsetup luksDump /dev/sdb1");
    fl_findings_clear(&f);

    set_string(&v->requirements, NULL);
    f = expect_only(v, "FL-REQUIREMENTS", "header", FL_SEVERITY_ERROR);
    assert_non_null(strstr(f.items[0].message, "(unknown)"));
    fl_findings_clear(&f);
    fl_volume_free(v);
}

static void test_header_damaged(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    v->header_repaired = true;
    f = expect_only(v, "FL-HEADER-DAMAGED", "header", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].remedy,
                        "back up, then repair: cryptsetup luksHeaderBackup --header-backup-file "
                        "BACKUP /dev/sdb1 && cryptsetup repair /dev/sdb1");
    fl_findings_clear(&f);
    fl_volume_free(v);
}

static void test_luks1(void **state)
{
    struct fl_volume *v = luks1("sha256");
    struct fl_findings f;

    f = expect_only(v, "FL-LUKS1", "header", FL_SEVERITY_INFO);
    assert_string_equal(f.items[0].message, "LUKS1 format: a single header copy and no per-keyslot hashes");
    assert_string_equal(f.items[0].remedy, "fipsluks migrate --convert-luks1 /dev/sdb1");
    fl_findings_clear(&f);
    fl_volume_free(v);

    /* with a header hash a FIPS host refuses, conversion is not enough: the one command is reencrypt */
    v = luks1("ripemd160");
    evaluate(v, &f);
    assert_string_equal(get(&f, "FL-LUKS1", "header")->remedy,
                        "fipsluks reencrypt /dev/sdb1 (on a host not yet in FIPS mode)");
    fl_findings_clear(&f);
    fl_volume_free(v);
}

/* LUKS1 keyslots are re-wrapped by migrate --convert-luks1 (LUKS2 first, then PBKDF2 keyslots). */
static void test_luks1_keyslot_remedy(void **state)
{
    struct fl_volume *v = luks1("sha256");
    struct fl_findings f = {0};

    v->keyslots[0].iterations = 5000;
    evaluate(v, &f);
    assert_string_equal(get(&f, "FL-KDF-ITER-LOW", "keyslot 0")->remedy,
                        "fipsluks migrate --convert-luks1 /dev/sdb1");
    fl_findings_clear(&f);
    fl_volume_free(v);
}

/* A LUKS1 header hash is judged once, in the header, never again per keyslot, digest or AF. */
static void test_luks1_hash(void **state)
{
    struct fl_volume *v = luks1("ripemd160");
    struct fl_findings f = {0};

    add_keyslot(v, 1, "pbkdf2", "ripemd160", 2000000);
    assert_int_equal(evaluate(v, &f), 1);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[0].rule->id, "FL-LUKS1");
    assert_string_equal(f.items[1].rule->id, "FL-LUKS1-HASH");
    assert_string_equal(OBJ(&f.items[1]), "header");
    assert_int_equal(f.items[1].severity, FL_SEVERITY_ERROR);
    assert_string_equal(f.items[1].message,
                        "LUKS1 header hash ripemd160 is not FIPS-approved; it is used for every "
                        "keyslot, the AF splitter and the volume-key digest");
    assert_string_equal(f.items[1].remedy, "fipsluks reencrypt /dev/sdb1 (on a host not yet in FIPS mode)");
    assert_false(fl_findings_compatible(&f));
    fl_findings_clear(&f);
    fl_volume_free(v);

    v = luks1("sha1");
    assert_int_equal(evaluate(v, &f), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.items[1].rule->id, "FL-LUKS1-HASH");
    assert_int_equal(f.items[1].severity, FL_SEVERITY_WARNING);
    assert_string_equal(f.items[1].remedy, "fipsluks reencrypt /dev/sdb1");
    assert_int_equal(
        count_rule(&f, "FL-KDF-SHA1") + count_rule(&f, "FL-DIGEST-HASH") + count_rule(&f, "FL-AF-HASH"), 0);
    assert_true(fl_findings_compatible(&f));
    fl_findings_clear(&f);

    /* iteration rules still apply to LUKS1 */
    v->keyslots[0].iterations = 999;
    v->digests[0].iterations = 999;
    assert_int_equal(evaluate(v, &f), 2);
    assert_non_null(find(&f, "FL-DIGEST-ITER", "digest 0"));
    assert_non_null(find(&f, "FL-KDF-ITER-MIN", "keyslot 0"));
    fl_findings_clear(&f);

    /* the LUKS1 keyslot area uses the data cipher: judged once, as the segment */
    v->keyslots[0].iterations = 2000000;
    v->digests[0].iterations = 2000000;
    set_string(&v->segments[0].cipher, "serpent-xts-plain64");
    set_string(&v->keyslots[0].cipher, "serpent-xts-plain64");
    assert_int_equal(evaluate(v, &f), 1);
    assert_non_null(find(&f, "FL-CIPHER", "segment 0"));
    assert_int_equal(count_rule(&f, "FL-AREA-CIPHER"), 0);
    fl_findings_clear(&f);
    fl_volume_free(v);

    v = luks1(NULL);
    assert_int_equal(evaluate(v, &f), 1);
    assert_non_null(strstr(get(&f, "FL-LUKS1-HASH", "header")->message, "(unknown)"));
    fl_findings_clear(&f);
    fl_volume_free(v);
}

static void test_no_keyslot(void **state)
{
    struct fl_volume *v = volume(2, "/dev/sdb1");
    struct fl_findings f;

    add_segment(v, 0, "aes-xts-plain64", 512, NULL);
    add_digest(v, 0, "pbkdf2", "sha256", 200000);
    f = expect_only(v, "FL-NO-KEYSLOT", "header", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].message, "no active keyslot: no passphrase or key can open this volume");
    assert_non_null(strstr(f.items[0].remedy, "luksHeaderRestore"));
    fl_findings_clear(&f);

    add_keyslot(v, 0, "pbkdf2", "sha256", 2000000);
    expect_none(v);
    fl_volume_free(v);
}

/* Out-of-range header values are reported as malformed, never judged or given a migrate remedy. */
static void test_malformed(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f = {0};
    struct fl_keyslot *k;

    /* a keyslot id LUKS2 does not have: fipsluks migrate --key-slot 40 would be refused */
    k = add_keyslot(v, 40, "argon2id", NULL, 4);
    k->malformed = sdup("keyslot id 40 is beyond LUKS2's 32 keyslots (0-31): libcryptsetup ignores it, so no "
                        "passphrase opens it");
    f = expect_only(v, "FL-HEADER-MALFORMED", "keyslot 40", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message,
                        "malformed header: keyslot id 40 is beyond LUKS2's 32 keyslots (0-31): "
                        "libcryptsetup ignores it, so no passphrase opens it");
    assert_string_equal(f.items[0].remedy,
                        "inspect with: cryptsetup luksDump /dev/sdb1; then restore a good header backup: "
                        "cryptsetup luksHeaderRestore --header-backup-file BACKUP /dev/sdb1");
    fl_findings_clear(&f);

    /* a malformed keyslot does not count as one that opens the volume */
    remove_keyslot(v, 0);
    assert_int_equal(evaluate(v, &f), 1);
    assert_int_equal(f.n, 2);
    get(&f, "FL-NO-KEYSLOT", "header");
    get(&f, "FL-HEADER-MALFORMED", "keyslot 40");
    for (size_t i = 0; i < f.n; i++)
        assert_null(strstr(f.items[i].remedy, "migrate"));
    fl_findings_clear(&f);
    fl_volume_free(v);

    /* a volume key size out of range: the segment is not judged by a wrapped key size */
    v = good_luks2("/dev/sdb1");
    v->segments[0].key_bits = 0;
    v->segments[0].malformed = sdup("volume key size 536870913 is out of range (1 to 1024 bytes)");
    f = expect_only(v, "FL-HEADER-MALFORMED", "segment 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message,
                        "malformed header: volume key size 536870913 is out of range (1 to 1024 bytes)");
    fl_findings_clear(&f);
    fl_volume_free(v);
}

static void test_segment_cipher(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    set_string(&v->segments[0].cipher, "serpent-xts-plain64");
    f = expect_only(v, "FL-CIPHER", "segment 0", FL_SEVERITY_ERROR);
    assert_string_equal(
        f.items[0].message,
        "data cipher serpent-xts-plain64 with a 512-bit key: serpent is not a FIPS-approved cipher");
    assert_string_equal(f.items[0].remedy, "fipsluks reencrypt /dev/sdb1 "
                                           "(on a host not yet in FIPS mode)");
    fl_findings_clear(&f);

    set_string(&v->segments[0].cipher, "aes-cbc-plain64");
    v->segments[0].key_bits = 256;
    f = expect_only(v, "FL-CIPHER", "segment 0", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].message,
                        "data cipher aes-cbc-plain64 with a 256-bit key: predictable IVs; use XTS");
    assert_string_equal(f.items[0].remedy, "fipsluks reencrypt /dev/sdb1");
    fl_findings_clear(&f);

    set_string(&v->segments[0].cipher, "aes-cbc-essiv:sha256");
    expect_none(v);

    set_string(&v->segments[0].cipher, "aes-xts-plain64");
    v->segments[0].key_bits = 256;
    expect_none(v);
    v->segments[0].key_bits = 512;
    expect_none(v);
    v->segments[0].key_bits = 384;
    f = expect_only(v, "FL-XTS-KEY", "segment 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message,
                        "data cipher aes-xts-plain64 with a 384-bit key: XTS needs a 256- or 512-bit key "
                        "(AES-128 or AES-256); a FIPS kernel rejects other sizes");
    assert_string_equal(f.items[0].remedy, "fipsluks reencrypt /dev/sdb1 "
                                           "(on a host not yet in FIPS mode)");
    fl_findings_clear(&f);

    /* a bad IV as well as a bad key size is not just a key-size problem */
    set_string(&v->segments[0].cipher, "aes-xts-null");
    f = expect_only(v, "FL-CIPHER", "segment 0", FL_SEVERITY_ERROR);
    fl_findings_clear(&f);

    /* linear segments (no cipher) are not judged */
    set_string(&v->segments[0].cipher, NULL);
    expect_none(v);
    fl_volume_free(v);
}

static void test_segment_integrity(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    /* the volume key holds the HMAC key too: 512 + 256 bits */
    set_string(&v->segments[0].cipher, "aes-xts-random");
    set_string(&v->segments[0].integrity, "hmac(sha256)");
    v->segments[0].key_bits = 768;
    expect_none(v);
    set_string(&v->segments[0].integrity, "hmac(sha512)");
    v->segments[0].key_bits = 1024;
    expect_none(v);

    set_string(&v->segments[0].integrity, "hmac(sha1)");
    v->segments[0].key_bits = 512 + 160;
    f = expect_only(v, "FL-INTEGRITY", "segment 0", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].message, "integrity hmac(sha1) is allowed by FIPS but deprecated (SHA-1)");
    assert_string_equal(
        f.items[0].remedy,
        "re-create the volume with --integrity hmac-sha256 (integrity cannot be changed in place)");
    fl_findings_clear(&f);

    /* AES-XTS with "aead" has no authentication at all */
    set_string(&v->segments[0].integrity, "aead");
    v->segments[0].key_bits = 512;
    f = expect_only(v, "FL-INTEGRITY", "segment 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "integrity aead is not FIPS-approved");
    fl_findings_clear(&f);

    /* AES-GCM's own tag: judged by the cipher rule alone */
    set_string(&v->segments[0].cipher, "aes-gcm-random");
    v->segments[0].key_bits = 256;
    f = expect_only(v, "FL-CIPHER", "segment 0", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].remedy, "re-create the volume with --cipher aes-xts-random --integrity "
                                           "hmac-sha256 (integrity volumes cannot be reencrypted in place)");
    fl_findings_clear(&f);

    /* ChaCha20-Poly1305: two errors */
    set_string(&v->segments[0].cipher, "chacha20-random");
    set_string(&v->segments[0].integrity, "poly1305");
    struct fl_findings g = {0};
    assert_int_equal(evaluate(v, &g), 2);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.items[0].rule->id, "FL-CIPHER");
    assert_string_equal(g.items[1].rule->id, "FL-INTEGRITY");
    assert_string_equal(OBJ(&g.items[1]), "segment 0");
    fl_findings_clear(&g);
    fl_volume_free(v);
}

static void test_digest(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    set_string(&v->digests[0].hash, "sha1");
    f = expect_only(v, "FL-DIGEST-HASH", "digest 0", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].message, "volume-key digest hash sha1 is allowed by FIPS but deprecated");
    assert_string_equal(f.items[0].remedy, "fipsluks reencrypt /dev/sdb1");
    fl_findings_clear(&f);

    set_string(&v->digests[0].hash, "whirlpool");
    f = expect_only(v, "FL-DIGEST-HASH", "digest 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "volume-key digest hash whirlpool is not FIPS-approved");
    assert_string_equal(f.items[0].remedy, "fipsluks reencrypt /dev/sdb1 (on a host not yet in FIPS mode)");
    fl_findings_clear(&f);

    set_string(&v->digests[0].hash, "sha256");
    set_string(&v->digests[0].type, "argon2id");
    f = expect_only(v, "FL-DIGEST-HASH", "digest 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "digest type argon2id is not PBKDF2");
    fl_findings_clear(&f);

    set_string(&v->digests[0].type, NULL);
    f = expect_only(v, "FL-DIGEST-HASH", "digest 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "digest type (unknown) is not PBKDF2");
    fl_findings_clear(&f);

    set_string(&v->digests[0].type, "pbkdf2");
    v->digests[0].iterations = FL_FIPS_MIN_ITERATIONS - 1;
    f = expect_only(v, "FL-DIGEST-ITER", "digest 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message,
                        "volume-key digest PBKDF2 with 999 iterations is below the FIPS minimum of 1000");
    fl_findings_clear(&f);
    v->digests[0].iterations = FL_FIPS_MIN_ITERATIONS;
    expect_none(v); /* digests are not held to the recommended keyslot minimum */
    fl_volume_free(v);
}

static void test_kdf_argon2(void **state)
{
    static const char *const kdfs[] = {"argon2id", "argon2i"};

    for (size_t i = 0; i < 2; i++) {
        struct fl_volume *v = good_luks2("/dev/sdb1");
        struct fl_findings f;
        char want[200];

        add_keyslot(v, 3, kdfs[i], NULL, 4);
        f = expect_only(v, "FL-KDF-ARGON2", "keyslot 3", FL_SEVERITY_ERROR);
        snprintf(
            want, sizeof(want),
            "%s keyslot: a FIPS host derives keys with PBKDF2 only; cryptsetup >= 2.7 with OpenSSL >= 3.2 "
            "cannot open it",
            kdfs[i]);
        assert_string_equal(f.items[0].message, want);
        assert_string_equal(f.items[0].remedy, "fipsluks migrate --key-slot 3 /dev/sdb1");
        fl_findings_clear(&f);
        fl_volume_free(v);
    }
}

static void test_kdf_unknown(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    set_string(&v->keyslots[0].kdf, "scrypt");
    f = expect_only(v, "FL-KDF-UNKNOWN", "keyslot 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message,
                        "unknown key derivation function scrypt; a FIPS host derives keys with PBKDF2 only");
    fl_findings_clear(&f);
    set_string(&v->keyslots[0].kdf, NULL);
    f = expect_only(v, "FL-KDF-UNKNOWN", "keyslot 0", FL_SEVERITY_ERROR);
    assert_non_null(strstr(f.items[0].message, "(unknown)"));
    fl_findings_clear(&f);
    set_string(&v->keyslots[0].kdf, "PBKDF2");
    expect_none(v);
    fl_volume_free(v);
}

static void test_kdf_hash(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    set_string(&v->keyslots[0].hash, "ripemd160");
    f = expect_only(v, "FL-KDF-HASH", "keyslot 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "PBKDF2 hash ripemd160 is not FIPS-approved");
    assert_string_equal(f.items[0].remedy, "fipsluks migrate --key-slot 0 /dev/sdb1");
    fl_findings_clear(&f);

    set_string(&v->keyslots[0].hash, "whirlpool");
    f = expect_only(v, "FL-KDF-HASH", "keyslot 0", FL_SEVERITY_ERROR);
    fl_findings_clear(&f);

    set_string(&v->keyslots[0].hash, NULL);
    f = expect_only(v, "FL-KDF-HASH", "keyslot 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "PBKDF2 hash (unknown) is not FIPS-approved");
    fl_findings_clear(&f);

    set_string(&v->keyslots[0].hash, "sha1");
    f = expect_only(v, "FL-KDF-SHA1", "keyslot 0", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].message, "PBKDF2 hash sha1 is allowed by FIPS but deprecated");
    fl_findings_clear(&f);

    set_string(&v->keyslots[0].hash, "sha256");
    expect_none(v);
    set_string(&v->keyslots[0].hash, "sha3-512");
    expect_none(v);
    fl_volume_free(v);
}

static void test_kdf_iterations(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    v->keyslots[0].iterations = 999;
    f = expect_only(v, "FL-KDF-ITER-MIN", "keyslot 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "PBKDF2 with 999 iterations is below the FIPS minimum of 1000");
    assert_string_equal(f.items[0].remedy, "fipsluks migrate --key-slot 0 /dev/sdb1");
    fl_findings_clear(&f);

    v->keyslots[0].iterations = 0;
    f = expect_only(v, "FL-KDF-ITER-MIN", "keyslot 0", FL_SEVERITY_ERROR);
    fl_findings_clear(&f);

    v->keyslots[0].iterations = 1000;
    f = expect_only(v, "FL-KDF-ITER-LOW", "keyslot 0", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].message,
                        "PBKDF2 with 1000 iterations is below the recommended minimum of 100000");
    assert_string_equal(f.items[0].remedy, "fipsluks migrate --key-slot 0 /dev/sdb1");
    fl_findings_clear(&f);

    v->keyslots[0].iterations = 99999;
    f = expect_only(v, "FL-KDF-ITER-LOW", "keyslot 0", FL_SEVERITY_WARNING);
    fl_findings_clear(&f);

    v->keyslots[0].iterations = 100000;
    expect_none(v);

    /* token-bound keyslots hold high-entropy keys: 1000 is by design, below 1000 is still refused */
    add_token(v, 0, "systemd-tpm2", 0);
    v->keyslots[0].iterations = 1000;
    expect_none(v);
    v->keyslots[0].iterations = 99999;
    expect_none(v);
    v->keyslots[0].iterations = 999;
    f = expect_only(v, "FL-KDF-ITER-MIN", "keyslot 0", FL_SEVERITY_ERROR);
    assert_non_null(strstr(f.items[0].remedy, "re-enroll the systemd-tpm2 token"));
    fl_findings_clear(&f);
    fl_volume_free(v);
}

static void test_area_cipher(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    set_string(&v->keyslots[0].cipher, "twofish-xts-plain64");
    f = expect_only(v, "FL-AREA-CIPHER", "keyslot 0", FL_SEVERITY_ERROR);
    assert_string_equal(
        f.items[0].message,
        "keyslot area cipher twofish-xts-plain64 with a 512-bit key: twofish is not a FIPS-approved "
        "cipher");
    assert_string_equal(f.items[0].remedy, "fipsluks migrate --key-slot 0 /dev/sdb1");
    fl_findings_clear(&f);

    set_string(&v->keyslots[0].cipher, "aes-cbc-plain64");
    v->keyslots[0].key_bits = 256;
    f = expect_only(v, "FL-AREA-CIPHER", "keyslot 0", FL_SEVERITY_WARNING);
    fl_findings_clear(&f);

    /* a key-size problem in a keyslot area is still FL-AREA-CIPHER */
    set_string(&v->keyslots[0].cipher, "aes-xts-plain64");
    v->keyslots[0].key_bits = 384;
    f = expect_only(v, "FL-AREA-CIPHER", "keyslot 0", FL_SEVERITY_ERROR);
    fl_findings_clear(&f);
    v->keyslots[0].key_bits = 256;
    expect_none(v);

    /* NULL area cipher: nothing to judge */
    set_string(&v->keyslots[0].cipher, NULL);
    expect_none(v);

    /* when the data cipher is bad too, reencryption fixes both */
    set_string(&v->keyslots[0].cipher, "serpent-xts-plain64");
    v->keyslots[0].key_bits = 512;
    set_string(&v->segments[0].cipher, "serpent-xts-plain64");
    struct fl_findings g = {0};
    assert_int_equal(evaluate(v, &g), 2);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.items[0].rule->id, "FL-CIPHER");
    assert_string_equal(g.items[1].rule->id, "FL-AREA-CIPHER");
    assert_string_equal(g.items[1].remedy, "fipsluks reencrypt /dev/sdb1 "
                                           "(on a host not yet in FIPS mode)");
    fl_findings_clear(&g);
    fl_volume_free(v);
}

static void test_af_hash(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;

    set_string(&v->keyslots[0].af_hash, "sha1");
    f = expect_only(v, "FL-AF-HASH", "keyslot 0", FL_SEVERITY_WARNING);
    assert_string_equal(f.items[0].message,
                        "anti-forensic splitter hash sha1 is allowed by FIPS but deprecated");
    fl_findings_clear(&f);
    set_string(&v->keyslots[0].af_hash, "ripemd160");
    f = expect_only(v, "FL-AF-HASH", "keyslot 0", FL_SEVERITY_ERROR);
    assert_string_equal(f.items[0].message, "anti-forensic splitter hash ripemd160 is not FIPS-approved");
    assert_string_equal(f.items[0].remedy, "fipsluks migrate --key-slot 0 /dev/sdb1");
    fl_findings_clear(&f);
    set_string(&v->keyslots[0].af_hash, NULL);
    expect_none(v);
    set_string(&v->keyslots[0].af_hash, "sha512");
    expect_none(v);
    fl_volume_free(v);
}

static void test_token_remedies(void **state)
{
    static const struct {
        const char *type, *remedy;
    } cases[] = {
        {"systemd-tpm2",
         "re-enroll the systemd-tpm2 token for keyslot 1 (e.g. systemd-cryptenroll --wipe-slot=1 "
         "--tpm2-device=auto /dev/sdb1), or run fipsluks migrate --key-slot 1 --key-file SECRET "
         "/dev/sdb1 with its secret"},
        {"systemd-fido2",
         "re-enroll the systemd-fido2 token for keyslot 1 (e.g. systemd-cryptenroll --wipe-slot=1 "
         "--fido2-device=auto /dev/sdb1), or run fipsluks migrate --key-slot 1 --key-file SECRET "
         "/dev/sdb1 with its secret"},
        {"systemd-pkcs11",
         "re-enroll the systemd-pkcs11 token for keyslot 1 (e.g. systemd-cryptenroll "
         "--wipe-slot=1 --pkcs11-token-uri=auto /dev/sdb1), or run fipsluks migrate --key-slot 1 "
         "--key-file SECRET /dev/sdb1 with its secret"},
        {"clevis",
         "re-enroll the clevis token for keyslot 1 (e.g. clevis luks regen -d /dev/sdb1 -s 1), or run "
         "fipsluks migrate --key-slot 1 --key-file SECRET /dev/sdb1 with its secret"},
        {"systemd-recovery",
         "re-enroll the recovery key (systemd-cryptenroll --wipe-slot=1 --recovery-key "
         "/dev/sdb1), or run fipsluks migrate --key-slot 1 /dev/sdb1 and type the recovery key"},
        {"luks2-keyring",
         "re-enroll the luks2-keyring token for keyslot 1 with the tool that created it, or run "
         "fipsluks migrate --key-slot 1 --key-file SECRET /dev/sdb1 with its secret"},
        {"evil'; rm -rf /",
         "re-enroll the evil???rm?-rf?/ token for keyslot 1 with the tool that created it, or run "
         "fipsluks migrate --key-slot 1 --key-file SECRET /dev/sdb1 with its secret"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fl_volume *v = good_luks2("/dev/sdb1");
        struct fl_findings f;

        add_keyslot(v, 1, "argon2id", NULL, 4);
        add_token(v, 0, cases[i].type, 1);
        f = expect_only(v, "FL-KDF-ARGON2", "keyslot 1", FL_SEVERITY_ERROR);
        assert_string_equal(f.items[0].remedy, cases[i].remedy);
        fl_findings_clear(&f);
        fl_volume_free(v);
    }

    /* a token id that names no token */
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f;
    add_keyslot(v, 1, "argon2id", NULL, 4);
    v->keyslots[1].tokens[v->keyslots[1].n_tokens++] = 7;
    f = expect_only(v, "FL-KDF-ARGON2", "keyslot 1", FL_SEVERITY_ERROR);
    assert_non_null(strstr(f.items[0].remedy, "re-enroll the (unknown) token for keyslot 1"));
    fl_findings_clear(&f);
    fl_volume_free(v);
}

/* Paths are shell-quoted; a detached header adds --header HDR before the device. */
static void test_remedy_quoting(void **state)
{
    struct fl_volume *v = good_luks2("/tmp/my disk's.img");
    struct fl_findings f = {0};

    set_string(&v->keyslots[0].kdf, "argon2id");
    set_string(&v->keyslots[0].hash, NULL);
    set_string(&v->digests[0].hash, "sha1");
    assert_int_equal(evaluate(v, &f), 1);
    assert_string_equal(get(&f, "FL-KDF-ARGON2", "keyslot 0")->remedy,
                        "fipsluks migrate --key-slot 0 '/tmp/my disk'\\''s.img'");
    assert_string_equal(get(&f, "FL-DIGEST-HASH", "digest 0")->remedy,
                        "fipsluks reencrypt '/tmp/my disk'\\''s.img'");
    fl_findings_clear(&f);

    v->header_path = sdup("/srv/headers/disk 1.hdr");
    v->header_repaired = true;
    add_keyslot(v, 2, "argon2id", NULL, 4);
    add_token(v, 5, "systemd-tpm2", 2);
    assert_int_equal(evaluate(v, &f), 2);
    assert_string_equal(
        get(&f, "FL-KDF-ARGON2", "keyslot 0")->remedy,
        "fipsluks migrate --key-slot 0 --header '/srv/headers/disk 1.hdr' '/tmp/my disk'\\''s.img'");
    assert_string_equal(get(&f, "FL-DIGEST-HASH", "digest 0")->remedy,
                        "fipsluks reencrypt --header '/srv/headers/disk 1.hdr' "
                        "'/tmp/my disk'\\''s.img'");
    assert_string_equal(
        get(&f, "FL-HEADER-DAMAGED", "header")->remedy,
        "back up, then repair: cryptsetup luksHeaderBackup --header-backup-file BACKUP --header "
        "'/srv/headers/disk 1.hdr' '/tmp/my disk'\\''s.img' && cryptsetup repair --header "
        "'/srv/headers/disk 1.hdr' '/tmp/my disk'\\''s.img'");
    assert_string_equal(
        get(&f, "FL-KDF-ARGON2", "keyslot 2")->remedy,
        "re-enroll the systemd-tpm2 token for keyslot 2 (e.g. systemd-cryptenroll --wipe-slot=2 "
        "--tpm2-device=auto '/tmp/my disk'\\''s.img'), or run fipsluks migrate --key-slot 2 "
        "--key-file SECRET --header '/srv/headers/disk 1.hdr' '/tmp/my disk'\\''s.img' with its "
        "secret");
    fl_findings_clear(&f);
    fl_volume_free(v);
}

/* Header rules, then segments, digests and keyslots, each by id whatever the array order. */
static void test_ordering(void **state)
{
    static const char *const want[][2] = {
        {"FL-REENCRYPT", "header"},      {"FL-REQUIREMENTS", "header"},     {"FL-HEADER-DAMAGED", "header"},
        {"FL-CIPHER", "segment 0"},      {"FL-XTS-KEY", "segment 1"},       {"FL-INTEGRITY", "segment 1"},
        {"FL-DIGEST-HASH", "digest 0"},  {"FL-DIGEST-ITER", "digest 0"},    {"FL-DIGEST-HASH", "digest 1"},
        {"FL-KDF-ARGON2", "keyslot 0"},  {"FL-AREA-CIPHER", "keyslot 0"},   {"FL-AF-HASH", "keyslot 0"},
        {"FL-KDF-UNKNOWN", "keyslot 1"}, {"FL-KDF-HASH", "keyslot 3"},      {"FL-KDF-ITER-MIN", "keyslot 3"},
        {"FL-KDF-SHA1", "keyslot 10"},   {"FL-KDF-ITER-LOW", "keyslot 10"},
    };
    struct fl_volume *v = volume(2, "/dev/sdb1");
    struct fl_findings f = {0};
    struct fl_keyslot *k;
    size_t errors = 0;

    v->reencrypt = true;
    v->unknown_requirements = true;
    v->header_repaired = true;
    add_segment(v, 1, "aes-xts-random", 384 + 160, "hmac(sha1)");
    add_segment(v, 0, "twofish-xts-plain64", 512, NULL);
    add_digest(v, 1, "pbkdf2", "sha1", 1000);
    add_digest(v, 0, "pbkdf2", "stribog512", 10);
    add_keyslot(v, 10, "pbkdf2", "sha1", 5000);
    add_keyslot(v, 3, "pbkdf2", "blake2b-512", 10);
    k = add_keyslot(v, 0, "argon2i", NULL, 4);
    set_string(&k->cipher, "camellia-xts-plain64");
    set_string(&k->af_hash, "sm3");
    add_keyslot(v, 1, "bcrypt", NULL, 0);

    int r = evaluate(v, &f);
    for (size_t i = 0; i < f.n; i++) {
        if (i >= sizeof(want) / sizeof(want[0]) || strcmp(f.items[i].rule->id, want[i][0]) != 0 ||
            strcmp(OBJ(&f.items[i]), want[i][1]) != 0)
            print_error("  #%zu got %s %s\n", i, f.items[i].rule->id, OBJ(&f.items[i]));
        if (f.items[i].severity == FL_SEVERITY_ERROR)
            errors++;
    }
    assert_int_equal(f.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < f.n; i++) {
        assert_string_equal(f.items[i].rule->id, want[i][0]);
        assert_string_equal(OBJ(&f.items[i]), want[i][1]);
    }
    assert_int_equal(r, errors);
    assert_int_equal(r, 12);
    assert_false(fl_findings_compatible(&f));

    /* evaluate appends; it returns the errors of this call only */
    assert_int_equal(evaluate(v, &f), 12);
    assert_int_equal(f.n, 2 * (sizeof(want) / sizeof(want[0])));
    assert_true(f.n <= f.allocated);
    fl_findings_clear(&f);
    assert_null(f.items);
    assert_int_equal(f.n, 0);
    fl_volume_free(v);
}

/* Messages are single lines of plain ASCII that start in lower case or with an acronym, no full stop. */
static void test_message_form(void **state)
{
    struct fl_volume *v = volume(2, "/dev/sdb1");
    struct fl_findings f = {0};

    v->reencrypt = v->unknown_requirements = v->header_repaired = true;
    v->requirements = sdup("bad\nflag\x01\xff");
    add_segment(v, 0, "serp\nent-xts-plain64", 512, "crc\t32");
    add_digest(v, 0, "pbkdf2", "md5", 1);
    add_keyslot(v, 0, "argon2id", NULL, 4);
    add_keyslot(v, 1, "pbkdf2", "sha1", 10);
    set_string(&v->keyslots[1].af_hash, "whirl\x7fpool");
    evaluate(v, &f);
    assert_true(f.n >= 8);
    for (size_t i = 0; i < f.n; i++) {
        const char *m = f.items[i].message;
        size_t len = strlen(m);

        assert_true(len > 0);
        assert_true((m[0] >= 'a' && m[0] <= 'z') || strncmp(m, "LUKS", 4) == 0 ||
                    strncmp(m, "PBKDF2", 6) == 0);
        assert_true(m[len - 1] != '.');
        for (size_t j = 0; j < len; j++)
            assert_true(m[j] >= 0x20 && m[j] < 0x7f);
        assert_true(strlen(OBJ(&f.items[i])) > 0);
        assert_non_null(f.items[i].remedy);
    }
    assert_non_null(strstr(get(&f, "FL-REQUIREMENTS", "header")->message, "(bad?flag?"
                                                                          "?)"));
    assert_non_null(strstr(get(&f, "FL-CIPHER", "segment 0")->message, "serp?ent-xts-plain64"));
    fl_findings_clear(&f);
    fl_volume_free(v);
}

/* Every allocation in fl_policy_evaluate() may fail: -ENOMEM, and fl_findings_clear() frees all. */
static void test_enomem(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings baseline = {0};
    int want, failures = 0;

    v->header_path = sdup("/srv/hdr");
    v->reencrypt = v->unknown_requirements = v->header_repaired = true;
    set_string(&v->segments[0].cipher, "serpent-xts-plain64");
    set_string(&v->digests[0].hash, "sha1");
    set_string(&v->keyslots[0].kdf, "argon2id");
    add_keyslot(v, 1, "pbkdf2", "sha1", 999);
    add_token(v, 0, "systemd-tpm2", 1);
    add_keyslot(v, 2, "pbkdf2", "ripemd160", 5000);
    for (int i = 3; i < 8; i++)
        add_keyslot(v, i, "argon2i", NULL, 4);
    add_token(v, 1, "clevis", 3);
    add_keyslot(v, 33, "pbkdf2", "sha256", 5000)->malformed =
        sdup("keyslot id 33 is beyond LUKS2's 32 keyslots");
    vasprintf_calls = 0;
    want = evaluate(v, &baseline);
    if (vasprintf_calls == 0) {
        fl_findings_clear(&baseline);
        fl_volume_free(v);
        skip(); /* the allocations of policy.c cannot be interposed in this build */
    }
    assert_true(baseline.n > 8); /* enough to grow the array more than once */

    for (long n = 0;; n++) {
        struct fl_findings f = {0};
        int r;

        alloc_calls = 0;
        fail_at = n;
        r = fl_policy_evaluate(v, &f);
        fail_at = -1;
        if (alloc_calls <= n) { /* nothing left to fail */
            assert_int_equal(r, want);
            assert_int_equal(f.n, baseline.n);
            fl_findings_clear(&f);
            break;
        }
        assert_int_equal(r, -ENOMEM);
        failures++;
        assert_true(f.n <= f.allocated);
        assert_true(f.n < baseline.n);
        for (size_t i = 0; i < f.n; i++) {
            assert_string_equal(f.items[i].rule->id, baseline.items[i].rule->id);
            assert_string_equal(f.items[i].message, baseline.items[i].message);
        }
        fl_findings_clear(&f);
    }
    assert_true(failures > 2 * (int)baseline.n);
    fl_findings_clear(&baseline);

    fl_volume_free(v);
}

/*
 * When the volume needs re-encryption anyway (digest or data cipher refused), the keyslot findings name
 * fipsluks reencrypt too: it writes new PBKDF2 keyslots in the same run, so a migrate first would be a
 * wasted pass. Token-bound keyslots keep their re-enrollment remedy (reencrypt cannot take their secret).
 */
static void test_keyslot_remedy_with_reencrypt(void **state)
{
    struct fl_volume *v = good_luks2("/dev/sdb1");
    struct fl_findings f = {0};

    set_string(&v->keyslots[0].hash, "ripemd160");
    evaluate(v, &f);
    assert_string_equal(get(&f, "FL-KDF-HASH", "keyslot 0")->remedy,
                        "fipsluks migrate --key-slot 0 /dev/sdb1");
    fl_findings_clear(&f);

    set_string(&v->digests[0].hash, "ripemd160");
    add_keyslot(v, 1, "argon2id", NULL, 4);
    add_keyslot(v, 2, "argon2id", NULL, 4);
    add_token(v, 0, "systemd-tpm2", 2);
    evaluate(v, &f);
    assert_string_equal(get(&f, "FL-DIGEST-HASH", "digest 0")->remedy,
                        "fipsluks reencrypt /dev/sdb1 (on a host not yet in FIPS mode)");
    assert_string_equal(get(&f, "FL-KDF-HASH", "keyslot 0")->remedy,
                        "fipsluks reencrypt /dev/sdb1 (on a host not yet in FIPS mode)");
    assert_string_equal(get(&f, "FL-KDF-ARGON2", "keyslot 1")->remedy,
                        "fipsluks reencrypt /dev/sdb1 (on a host not yet in FIPS mode)");
    assert_non_null(
        strstr(get(&f, "FL-KDF-ARGON2", "keyslot 2")->remedy, "re-enroll the systemd-tpm2 token"));
    fl_findings_clear(&f);

    /* the same for a refused data cipher; a weak one (a warning) does not force re-encryption */
    set_string(&v->digests[0].hash, "sha256");
    set_string(&v->segments[0].cipher, "serpent-xts-plain64");
    evaluate(v, &f);
    assert_string_equal(get(&f, "FL-KDF-HASH", "keyslot 0")->remedy,
                        "fipsluks reencrypt /dev/sdb1 (on a host not yet in FIPS mode)");
    fl_findings_clear(&f);
    set_string(&v->segments[0].cipher, "aes-cbc-plain64");
    v->segments[0].key_bits = 256;
    evaluate(v, &f);
    assert_string_equal(get(&f, "FL-KDF-HASH", "keyslot 0")->remedy,
                        "fipsluks migrate --key-slot 0 /dev/sdb1");
    fl_findings_clear(&f);
    fl_volume_free(v);
}

/* ---- the rule table and its documents -------------------------------------------------------- */

static void test_rule_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < FL_RULE_COUNT; i++) {
        const struct fl_rule *r = &fl_rules[i];

        assert_non_null(r->id);
        assert_int_equal(strncmp(r->id, "FL-", 3), 0);
        assert_true(strspn(r->id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == strlen(r->id));
        assert_non_null(r->meaning);
        assert_true(strlen(r->meaning) > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(r->id, fl_rules[j].id);
    }
    assert_int_equal(fl_rules[FL_RULE_KDF_ARGON2].fixed_by, FL_FIX_MIGRATE);
    assert_string_equal(fl_rules[FL_RULE_KDF_ARGON2].id, "FL-KDF-ARGON2");
    assert_int_equal(fl_rules[FL_RULE_INTEGRITY].fixed_by, FL_FIX_FORMAT);
    assert_int_equal(fl_rules[FL_RULE_DIGEST_ITER].fixed_by, FL_FIX_REENCRYPT);
    assert_int_equal(fl_rules[FL_RULE_HEADER_MALFORMED].fixed_by, FL_FIX_NONE);
}

/* The object as printed, from the kind and the id; and the findings whose fix depends on the volume. */
static void test_finding_object_and_fix(void **state)
{
    struct fl_finding x = {.object = FL_OBJECT_HEADER, .object_id = 7};
    struct fl_findings f = {0};
    struct fl_volume *v;
    char buf[32];

    (void)state;
    assert_string_equal(fl_finding_object(&x, buf, sizeof(buf)), "header");
    x.object = FL_OBJECT_KEYSLOT;
    assert_string_equal(fl_finding_object(&x, buf, sizeof(buf)), "keyslot 7");
    x.object = FL_OBJECT_SEGMENT;
    assert_string_equal(fl_finding_object(&x, buf, sizeof(buf)), "segment 7");
    x.object = FL_OBJECT_DIGEST;
    x.object_id = 31;
    assert_string_equal(fl_finding_object(&x, buf, sizeof(buf)), "digest 31");
    x.object = FL_OBJECT_TOKEN;
    assert_string_equal(fl_finding_object(&x, buf, sizeof(buf)), "token 31");

    /* LUKS1: migrate --convert-luks1, unless only a new volume key fixes the header hash */
    v = luks1("sha256");
    evaluate(v, &f);
    assert_int_equal(get(&f, "FL-LUKS1", "header")->fix, FL_FIX_MIGRATE);
    fl_findings_clear(&f);
    fl_volume_free(v);
    v = luks1("ripemd160");
    evaluate(v, &f);
    assert_int_equal(get(&f, "FL-LUKS1", "header")->fix, FL_FIX_REENCRYPT);
    assert_int_equal(get(&f, "FL-LUKS1-HASH", "header")->fix, FL_FIX_REENCRYPT);
    fl_findings_clear(&f);
    fl_volume_free(v);

    /* a data cipher: reencrypt, or a new volume when the segment has integrity */
    v = good_luks2("/dev/sdb1");
    set_string(&v->segments[0].cipher, "serpent-xts-plain64");
    evaluate(v, &f);
    assert_int_equal(get(&f, "FL-CIPHER", "segment 0")->fix, FL_FIX_REENCRYPT);
    fl_findings_clear(&f);
    set_string(&v->segments[0].integrity, "hmac(sha256)");
    v->segments[0].key_bits = 768;
    evaluate(v, &f);
    assert_int_equal(get(&f, "FL-CIPHER", "segment 0")->fix, FL_FIX_FORMAT);
    fl_findings_clear(&f);

    /* a keyslot-area cipher: migrate, unless the data cipher is not approved either */
    set_string(&v->segments[0].integrity, NULL);
    v->segments[0].key_bits = 512;
    set_string(&v->keyslots[0].cipher, "twofish-xts-plain64");
    evaluate(v, &f);
    assert_int_equal(get(&f, "FL-AREA-CIPHER", "keyslot 0")->fix, FL_FIX_REENCRYPT);
    fl_findings_clear(&f);
    set_string(&v->segments[0].cipher, "aes-xts-plain64");
    evaluate(v, &f);
    assert_int_equal(get(&f, "FL-AREA-CIPHER", "keyslot 0")->fix, FL_FIX_MIGRATE);
    fl_findings_clear(&f);
    fl_volume_free(v);
}

/* The whole of @p name below the source tree, with roff's "\-" read as "-". */
static char *read_doc(const char *name)
{
    char path[4096], *text, *out;
    FILE *fp;
    long len;

    snprintf(path, sizeof(path), "%s/%s", FL_SOURCE_DIR, name);
    fp = fopen(path, "r");
    if (!fp) {
        print_error("cannot open %s\n", path);
        fail();
        abort();
    }
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    len = ftell(fp);
    assert_true(len > 0);
    rewind(fp);
    text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    out = text;
    for (const char *p = text; *p; p++)
        if (!(p[0] == '\\' && p[1] == '-'))
            *out++ = *p;
    *out = '\0';
    return text;
}

static size_t count_in(const char *text, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Every rule id named in @p text (FL-WORD[-WORD...]) must be a rule of the table. */
static size_t unknown_ids(const char *name, const char *text)
{
    size_t bad = 0;

    static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    for (const char *p = strstr(text, "FL-"); p; p = strstr(p + 1, "FL-")) {
        size_t len = 3;
        bool known = false;

        if (!strchr(id_chars, p[3]) || !p[3])
            continue; /* "FL-..." stands for any rule */
        while (p[len] &&
               (strchr(id_chars, p[len]) || (p[len] == '-' && p[len + 1] && strchr(id_chars, p[len + 1]))))
            len++;
        for (size_t i = 0; i < FL_RULE_COUNT; i++)
            known = known || (strlen(fl_rules[i].id) == len && strncmp(p, fl_rules[i].id, len) == 0);
        if (!known) {
            print_error("%s names %.*s, which is not a rule of fl_rules[]\n", name, (int)len, p);
            bad++;
        }
    }
    return bad;
}

/*
 * Each rule of fl_rules[] has exactly one entry in docs/rules.md (a table row "| `FL-X` | SEVERITY")
 * and in fipsluks-scan(8) (a tag "\fBFL-X\fR (SEVERITY"), with the rule's most severe severity; and
 * neither document names a rule id that is not in the table.
 */
static void test_rules_documented(void **state)
{
    char *md = read_doc("docs/rules.md"), *man = read_doc("man/fipsluks-scan.8");
    char entry[128];
    size_t bad = 0;

    (void)state;
    for (size_t i = 0; i < FL_RULE_COUNT; i++) {
        const char *sev = fl_severity_name(fl_rules[i].severity);

        snprintf(entry, sizeof(entry), "\n| `%s` | %s", fl_rules[i].id, sev);
        if (count_in(md, entry) != 1) {
            print_error("docs/rules.md: %s has %zu entries \"| `%s` | %s\", not one\n", fl_rules[i].id,
                        count_in(md, entry), fl_rules[i].id, sev);
            bad++;
        }
        snprintf(entry, sizeof(entry), "\n\\fB%s\\fR (%s", fl_rules[i].id, sev);
        if (count_in(man, entry) != 1) {
            print_error("man/fipsluks-scan.8: %s has %zu entries \"\\fB%s\\fR (%s\", not one\n",
                        fl_rules[i].id, count_in(man, entry), fl_rules[i].id, sev);
            bad++;
        }
    }
    bad += unknown_ids("docs/rules.md", md);
    bad += unknown_ids("man/fipsluks-scan.8", man);
    free(md);
    free(man);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_severity_name),
        cmocka_unit_test(test_findings_helpers),
        cmocka_unit_test(test_good_volume),
        cmocka_unit_test(test_reencrypt),
        cmocka_unit_test(test_requirements),
        cmocka_unit_test(test_header_damaged),
        cmocka_unit_test(test_luks1),
        cmocka_unit_test(test_luks1_hash),
        cmocka_unit_test(test_luks1_keyslot_remedy),
        cmocka_unit_test(test_no_keyslot),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_segment_cipher),
        cmocka_unit_test(test_segment_integrity),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_keyslot_remedy_with_reencrypt),
        cmocka_unit_test(test_kdf_argon2),
        cmocka_unit_test(test_kdf_unknown),
        cmocka_unit_test(test_kdf_hash),
        cmocka_unit_test(test_kdf_iterations),
        cmocka_unit_test(test_area_cipher),
        cmocka_unit_test(test_af_hash),
        cmocka_unit_test(test_token_remedies),
        cmocka_unit_test(test_remedy_quoting),
        cmocka_unit_test(test_ordering),
        cmocka_unit_test(test_message_form),
        cmocka_unit_test(test_enomem),
        cmocka_unit_test(test_rule_table),
        cmocka_unit_test(test_finding_object_and_fix),
        cmocka_unit_test(test_rules_documented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
