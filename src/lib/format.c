/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Formatting a new LUKS2 volume for FIPS hosts.
 *
 * libcryptsetup does the formatting, the same calls `cryptsetup luksFormat --type luks2 --pbkdf
 * pbkdf2` makes, with one difference: cryptsetup benchmarks PBKDF2 twice (once for the volume-key
 * digest, once for the keyslot; over a second each), fipsluks calibrates once with the PBKDF2 that
 * will unlock the volume (fl_kdf_calibrate_pbkdf2(), ~0.2 s) and hands libcryptsetup fixed counts
 * (CRYPT_PBKDF_NO_BENCHMARK). libcryptsetup then gives the digest the minimum of 1000 iterations
 * (lib/luks2/luks2_digest_pbkdf2.c: with NO_BENCHMARK it skips the 125 ms benchmark), so when
 * calibrating, the digest is recomputed here with 125 ms worth of iterations and written into both
 * header copies before the keyslot is added. libcryptsetup verifies the volume key against that
 * digest when it adds the keyslot and writes the final header itself.
 *
 * Undo: before the first write, every byte that may change is copied into memory (the 16 MiB
 * header area, and the magic of signatures beyond it); if a later step fails it is written back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "fipsluks/format.h"
#include "fipsluks/kdf.h"
#include "fipsluks/secret.h"
#include "luks-disk.h"
#include "util.h"

#define LUKS2_LABEL_MAX      47 /* 48-byte fields, NUL-terminated */
#define LUKS2_OFF_SEQID      16
#define LUKS2_OFF_CSUM_ALG   72
#define LUKS2_OFF_HDR_OFFSET 256
#define LUKS2_OFF_CSUM       448
#define LUKS2_CSUM_LEN       64
#define DIGEST_SALT_LEN      32        /* LUKS_SALTSIZE */
#define ITERATIONS_MAX       INT32_MAX /* LUKS2 JSON stores iterations as a JSON int */

/* ---- the profile -------------------------------------------------------------------------------- */

struct cipher_profile {
    const char *spec;
    const char *name, *mode; /* for crypt_format() */
    uint32_t default_bits;
    uint32_t allowed_bits[2];
};

static const struct cipher_profile ciphers[] = {
    {"aes-xts-plain64", "aes", "xts-plain64", 512, {256, 512}},
    {"aes-cbc-essiv:sha256", "aes", "cbc-essiv:sha256", 256, {256, 0}},
};

static const struct cipher_profile *cipher_profile(const char *spec)
{
    for (size_t i = 0; spec && i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
        if (!strcmp(spec, ciphers[i].spec))
            return &ciphers[i];
    return NULL;
}

void fl_format_params_default(struct fl_format_params *p)
{
    memset(p, 0, sizeof(*p));
    p->type = "luks2";
    p->cipher = FL_FORMAT_DEFAULT_CIPHER;
    p->pbkdf = "pbkdf2";
    p->hash = FL_DEFAULT_HASH;
    p->iter_time_ms = FL_DEFAULT_ITER_TIME_MS;
}

uint32_t fl_format_key_bits(const struct fl_format_params *p)
{
    const struct cipher_profile *c = cipher_profile(p->cipher);

    if (p->key_bits)
        return p->key_bits;
    return c ? c->default_bits : 0;
}

static bool uuid_valid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    }
    return true;
}

static int refuse(const char **ret_option, const char **ret_why, const char *option, const char *why)
{
    if (ret_option)
        *ret_option = option;
    if (ret_why)
        *ret_why = why;
    return -EINVAL;
}

int fl_format_check_params(const struct fl_format_params *p, const char **ret_option, const char **ret_why)
{
    const struct cipher_profile *c;
    uint32_t bits;

    if (!p->type || strcasecmp(p->type, "luks2"))
        return refuse(ret_option, ret_why, "type",
                      "only LUKS2 volumes are created (LUKS1 has one header-wide hash "
                      "and a single header copy); approved: luks2");
    c = cipher_profile(p->cipher);
    if (!c)
        return refuse(
            ret_option, ret_why, "cipher",
            "not an approved cipher for new volumes; approved: aes-xts-plain64, aes-cbc-essiv:sha256");
    bits = fl_format_key_bits(p);
    if (bits != c->allowed_bits[0] && bits != c->allowed_bits[1])
        return refuse(ret_option, ret_why, "key-size",
                      c->allowed_bits[1]
                          ? "not an approved key size for aes-xts-plain64; approved: 256, 512"
                          : "not an approved key size for aes-cbc-essiv:sha256; approved: 256");
    if (!p->pbkdf || strcmp(p->pbkdf, "pbkdf2"))
        return refuse(ret_option, ret_why, "pbkdf",
                      "a FIPS host derives keyslot keys with PBKDF2 only; approved: pbkdf2");
    /* fl_kdf_hash_allowed(), spelt the way libcryptsetup stores it */
    if (!fl_kdf_hash_allowed(p->hash) || (strcmp(p->hash, "sha256") != 0 && strcmp(p->hash, "sha512") != 0))
        return refuse(ret_option, ret_why, "hash",
                      "not an approved PBKDF2 hash for new volumes; approved: sha256, sha512");
    if (p->iterations && p->iterations < FL_FIPS_MIN_ITERATIONS)
        return refuse(ret_option, ret_why, "pbkdf-force-iterations",
                      "below the FIPS minimum for PBKDF2; approved: 1000 or more");
    if (p->iterations > ITERATIONS_MAX)
        return refuse(ret_option, ret_why, "pbkdf-force-iterations",
                      "too large; approved: 1000 to 2147483647");
    if (!p->iterations && (p->iter_time_ms == 0 || p->iter_time_ms > 3600u * 1000u))
        return refuse(ret_option, ret_why, "iter-time", "out of range; approved: 1 to 3600000 (ms)");
    if (p->sector_size && p->sector_size != 512 && p->sector_size != 1024 && p->sector_size != 2048 &&
        p->sector_size != 4096)
        return refuse(ret_option, ret_why, "sector-size",
                      "not a LUKS2 sector size; approved: 512, 1024, 2048, 4096");
    if (p->label && strlen(p->label) > LUKS2_LABEL_MAX)
        return refuse(ret_option, ret_why, "label", "longer than the 47 bytes a LUKS2 label holds");
    if (p->subsystem && strlen(p->subsystem) > LUKS2_LABEL_MAX)
        return refuse(ret_option, ret_why, "subsystem", "longer than the 47 bytes a LUKS2 subsystem holds");
    if (p->uuid && !uuid_valid(p->uuid))
        return refuse(ret_option, ret_why, "uuid", "not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
    return 0;
}

/* ---- the undo log ------------------------------------------------------------------------------- */

struct saved {
    uint64_t offset;
    size_t len;
    unsigned char *bytes;
};

struct undo {
    int fd;              /* O_RDWR on the target */
    struct saved *items; /* first the magic of signatures beyond the header area, then the header area */
    size_t n;
    size_t n_magic; /* how many of the items are signature magic, to be erased */
    bool armed;     /* something may have been written */
};

static ssize_t pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static int undo_save(struct undo *u, uint64_t offset, size_t len)
{
    struct saved *items = reallocarray(u->items, u->n + 1, sizeof(*items));
    unsigned char *bytes;
    ssize_t n;

    if (!items)
        return -ENOMEM;
    u->items = items;
    bytes = malloc(len ? len : 1);
    if (!bytes)
        return -ENOMEM;
    n = fl_pread_full(u->fd, bytes, len, (off_t)offset);
    if (n < 0 || (size_t)n != len) {
        free(bytes);
        return n < 0 ? (int)n : -EIO;
    }
    u->items[u->n++] = (struct saved){offset, len, bytes};
    return 0;
}

/* Write back everything saved, newest first. @return 0 or the first error. */
static int undo_restore(struct undo *u)
{
    int r = 0;

    for (size_t i = u->n; i-- > 0;) {
        ssize_t n = pwrite_full(u->fd, u->items[i].bytes, u->items[i].len, (off_t)u->items[i].offset);
        if (n < 0 && r == 0)
            r = (int)n;
    }
    if (fsync(u->fd) < 0 && r == 0)
        r = -errno;
    return r;
}

static void undo_free(struct undo *u)
{
    for (size_t i = 0; i < u->n; i++)
        free(u->items[i].bytes);
    free(u->items);
    u->items = NULL;
    u->n = 0;
}

/* ---- the target --------------------------------------------------------------------------------- */

/* Size of the target, its logical block size, and the sector size it allows: 4096 unless its size
 * (or for block devices its logical block size or alignment offset) rules that out, then its
 * logical block size. */
static int target_geometry(int fd, uint64_t *ret_size, uint32_t *ret_logical, uint32_t *ret_sector)
{
    uint32_t logical = 512, sector = 4096;
    struct stat st;
    uint64_t size;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode)) {
        size = (uint64_t)st.st_size;
    } else if (S_ISBLK(st.st_mode)) {
        int ssz = 0, align = 0;
        if (ioctl(fd, BLKGETSIZE64, &size) < 0)
            return -errno;
        if (ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
            logical = (uint32_t)ssz;
        if (ioctl(fd, BLKALIGNOFF, &align) == 0 && align % 4096 != 0)
            sector = logical;
        if (logical > 4096)
            sector = logical; /* libcryptsetup refuses it below; nothing larger than 4096 exists */
    } else {
        return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTBLK;
    }
    if (size % sector != 0)
        sector = logical;
    *ret_size = size;
    *ret_logical = logical;
    *ret_sector = sector;
    return 0;
}

/* Whether the profile fits the target; @return 0 with the sector size to use, or -errno and why. */
static int target_fits(int fd, const struct fl_format_params *p, uint32_t *ret_sector, const char **ret_why)
{
    uint32_t sector = 512, logical = 512;
    uint64_t size = 0;
    int r;

    r = target_geometry(fd, &size, &logical, &sector);
    if (r < 0)
        return r;
    if (size <= FL_FORMAT_HEADER_AREA) {
        *ret_why = "too small: LUKS2 needs 16 MiB for its header and keyslots, and room for data after them";
        return -ENOSPC;
    }
    if (p->sector_size && p->sector_size < logical) {
        *ret_why = "the sector size is smaller than the device's logical block size (--sector-size)";
        return -EINVAL;
    }
    if (p->sector_size)
        sector = p->sector_size;
    if ((size - FL_FORMAT_HEADER_AREA) % sector) {
        *ret_why = "its size after the 16 MiB header is not a multiple of the sector size (--sector-size)";
        return -EINVAL;
    }
    *ret_sector = sector;
    return 0;
}

int fl_format_check_target(const char *path, const struct fl_format_params *p, char **ret_why)
{
    const char *why = NULL;
    uint32_t sector;
    int fd, r;

    *ret_why = NULL;
    r = fl_format_check_busy(path, ret_why);
    if (r < 0)
        return r;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    r = target_fits(fd, p, &sector, &why);
    close(fd);
    if (r < 0 && why && !(*ret_why = strdup(why)))
        return -ENOMEM;
    return r;
}

/* ---- PBKDF2 ------------------------------------------------------------------------------------- */

static int pbkdf2(const char *hash, const void *password, size_t password_len, const void *salt,
                  size_t salt_len, uint32_t iterations, void *out, size_t out_len)
{
    unsigned int iter = iterations;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)hash, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(uintptr_t)password, password_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, salt_len),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int ok = ctx ? EVP_KDF_derive(ctx, out, out_len, params) : 0;

    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok == 1 ? 0 : -EINVAL;
}

/*
 * The keyslot and digest iteration counts. Like libcryptsetup (crypt_benchmark_pbkdf_internal()),
 * measure the rate for a @p key_size -byte key once and scale it to each time.
 */
static int choose_iterations(const struct fl_format_params *p, size_t key_size, uint32_t *ret_keyslot,
                             uint32_t *ret_digest)
{
    uint32_t per_second;
    double keyslot, digest;
    int r;

    if (p->iterations) {
        *ret_keyslot = p->iterations;
        *ret_digest = FL_FIPS_MIN_ITERATIONS; /* what libcryptsetup gives it without a benchmark */
        return 0;
    }
    r = fl_kdf_calibrate_pbkdf2(p->hash, key_size, 1000, &per_second);
    if (r < 0)
        return r;
    keyslot = (double)per_second * p->iter_time_ms / 1000.0;
    digest = (double)per_second * FL_FORMAT_DIGEST_TIME_MS / 1000.0;
    *ret_keyslot = keyslot > ITERATIONS_MAX           ? ITERATIONS_MAX
                   : keyslot < FL_FIPS_MIN_ITERATIONS ? FL_FIPS_MIN_ITERATIONS
                                                      : (uint32_t)keyslot;
    *ret_digest = digest < FL_FIPS_MIN_ITERATIONS ? FL_FIPS_MIN_ITERATIONS : (uint32_t)digest;
    return 0;
}

/* ---- the digest --------------------------------------------------------------------------------- */

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static json_object *base64(const unsigned char *buf, size_t len)
{
    char out[4 * ((128 + 2) / 3) + 1];

    if (len > 128)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
    return json_object_new_string(out);
}

/* The new JSON text of @p json_area with digest 0 recomputed for @p vk with @p iterations. */
static int digest_json(const char *json_area, const char *vk, size_t vk_len, uint32_t iterations, char **ret)
{
    unsigned char salt[DIGEST_SALT_LEN], raw[EVP_MAX_MD_SIZE];
    json_object *root = json_tokener_parse(json_area), *digests, *d, *o;
    const char *hash;
    EVP_MD *md = NULL;
    int r = -EPROTO, size;

    if (!root || !json_object_object_get_ex(root, "digests", &digests) ||
        json_object_object_length(digests) != 1 || !json_object_object_get_ex(digests, "0", &d) ||
        !json_object_object_get_ex(d, "type", &o) || strcmp(json_object_get_string(o), "pbkdf2") ||
        !json_object_object_get_ex(d, "hash", &o))
        goto out;
    hash = json_object_get_string(o);
    md = EVP_MD_fetch(NULL, hash, NULL);
    size = md ? EVP_MD_get_size(md) : -1;
    if (size <= 0 || (size_t)size > sizeof(raw)) {
        r = -EINVAL;
        goto out;
    }
    if (RAND_bytes(salt, sizeof(salt)) != 1) {
        r = -EIO;
        goto out;
    }
    /* As PBKDF2_digest_store(): PBKDF2(hash, volume key, salt, iterations) of the hash's length. */
    r = pbkdf2(hash, vk, vk_len, salt, sizeof(salt), iterations, raw, (size_t)size);
    if (r < 0)
        goto out;
    json_object_object_add(d, "iterations", json_object_new_int((int32_t)iterations));
    json_object_object_add(d, "salt", base64(salt, sizeof(salt)));
    json_object_object_add(d, "digest", base64(raw, (size_t)size));
    /* The serialisation libcryptsetup writes (LUKS2_hdr_write). */
    *ret =
        strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    r = *ret ? 0 : -ENOMEM;
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    EVP_MD_free(md);
    json_object_put(root);
    return r;
}

/* Seal one header copy: raise its sequence id, recompute its SHA-256 checksum. */
static int seal_copy(unsigned char *copy, uint64_t hdr_size, uint64_t seqid)
{
    unsigned int len = 0;

    put_be64(copy + LUKS2_OFF_SEQID, seqid);
    memset(copy + LUKS2_OFF_CSUM, 0, LUKS2_CSUM_LEN);
    if (EVP_Digest(copy, hdr_size, copy + LUKS2_OFF_CSUM, &len, EVP_sha256(), NULL) != 1)
        return -EIO;
    return 0;
}

/*
 * Give the volume-key digest of the freshly formatted header on @p fd @p iterations, in both
 * header copies. libcryptsetup checks the result when it loads the header and adds the keyslot.
 */
static int rewrite_digest(int fd, const char *vk, size_t vk_len, uint32_t iterations)
{
    unsigned char bin[FL_LUKS2_BINARY_HEADER_SIZE], *hdr = NULL;
    uint64_t hdr_size, seqid;
    char *json = NULL;
    size_t area;
    ssize_t n;
    int r = -EPROTO;

    n = fl_pread_full(fd, bin, sizeof(bin), 0);
    if (n != (ssize_t)sizeof(bin))
        return n < 0 ? (int)n : -EIO;
    hdr_size = fl_be64(bin + FL_LUKS2_OFF_HDR_SIZE);
    if (memcmp(bin, FL_LUKS_MAGIC_PRIMARY, FL_LUKS_MAGIC_LEN) || fl_be16(bin + FL_LUKS_MAGIC_LEN) != 2 ||
        hdr_size < FL_LUKS2_MIN_HDR_SIZE || hdr_size > FL_LUKS2_MAX_HDR_SIZE || (hdr_size & (hdr_size - 1)) ||
        strcmp((const char *)bin + LUKS2_OFF_CSUM_ALG, "sha256"))
        return -EPROTO;
    hdr = calloc(2, hdr_size);
    if (!hdr)
        return -ENOMEM;
    n = fl_pread_full(fd, hdr, 2 * hdr_size, 0);
    if (n != (ssize_t)(2 * hdr_size)) {
        r = n < 0 ? (int)n : -EIO;
        goto out;
    }
    area = hdr_size - FL_LUKS2_BINARY_HEADER_SIZE;
    if (memcmp(hdr + hdr_size, FL_LUKS_MAGIC_SECONDARY, FL_LUKS_MAGIC_LEN) ||
        fl_be64(hdr + hdr_size + LUKS2_OFF_HDR_OFFSET) != hdr_size ||
        !memchr(hdr + FL_LUKS2_BINARY_HEADER_SIZE, '\0', area))
        goto out;
    r = digest_json((const char *)hdr + FL_LUKS2_BINARY_HEADER_SIZE, vk, vk_len, iterations, &json);
    if (r < 0)
        goto out;
    if (strlen(json) >= area) {
        r = -ENOSPC;
        goto out;
    }
    seqid = fl_be64(hdr + LUKS2_OFF_SEQID);
    if (fl_be64(hdr + hdr_size + LUKS2_OFF_SEQID) > seqid)
        seqid = fl_be64(hdr + hdr_size + LUKS2_OFF_SEQID);
    for (int i = 0; i < 2; i++) {
        unsigned char *copy = hdr + i * hdr_size;
        memset(copy + FL_LUKS2_BINARY_HEADER_SIZE, 0, area);
        memcpy(copy + FL_LUKS2_BINARY_HEADER_SIZE, json, strlen(json));
        r = seal_copy(copy, hdr_size, seqid + 1);
        if (r < 0)
            goto out;
    }
    n = pwrite_full(fd, hdr, 2 * hdr_size, 0);
    if (n < 0) {
        r = (int)n;
        goto out;
    }
    r = fsync(fd) < 0 ? -errno : 0;
out:
    free(json);
    free(hdr);
    return r;
}

/* ---- formatting --------------------------------------------------------------------------------- */

static int cryptsetup_errno(int r)
{
    /* libcryptsetup returns -1 (-EPERM) for "no keyslot opened"; everything else is -errno. */
    return r == -EPERM ? -EPROTO : r;
}

/* Open keyslot @p slot of the new volume with the passphrase: derives and checks, activates nothing. */
static int verify_opens(const char *path, int slot, const struct fl_secret *pass)
{
    struct crypt_device *cd = NULL;
    int r;

    r = crypt_init(&cd, path);
    if (r == 0)
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
    if (r == 0)
        r = crypt_activate_by_passphrase(cd, NULL, slot, pass->data, pass->len, 0);
    crypt_free(cd);
    if (r < 0)
        return -EPROTO;
    return r == slot ? 0 : -EPROTO;
}

/* The re-read volume is what was asked for, and the policy has no error on it. */
static int verify_volume(const char *path, const struct fl_format_params *p, const char *cipher,
                         uint32_t bits, uint32_t sector, uint32_t iterations, uint32_t digest_iterations,
                         int slot, struct fl_format_result *res)
{
    const struct fl_keyslot *ks;
    const struct fl_segment *seg;
    const struct fl_digest *dg;
    struct fl_volume *v = NULL;
    int r;

    r = fl_volume_read(path, NULL, &v);
    if (r < 0)
        return r == -ENOMEM ? r : -EPROTO;
    ks = fl_volume_keyslot(v, slot);
    seg = v->n_segments == 1 ? &v->segments[0] : NULL;
    dg = v->n_digests == 1 ? &v->digests[0] : NULL;
    if (v->luks_version != 2 || !ks || v->n_keyslots != 1 || !seg || !dg || !seg->cipher ||
        strcmp(seg->cipher, cipher) || seg->key_bits != bits || seg->sector_size != sector || !ks->kdf ||
        strcmp(ks->kdf, "pbkdf2") || !ks->hash || strcmp(ks->hash, p->hash) || ks->iterations != iterations ||
        !dg->hash || strcmp(dg->hash, p->hash) || dg->iterations != digest_iterations ||
        (p->uuid && (!v->uuid || strcasecmp(v->uuid, p->uuid)))) {
        r = -EPROTO;
        goto out;
    }
    r = fl_policy_evaluate(v, &res->findings);
    if (r < 0)
        goto out;
    if (r > 0) {
        r = -EPROTO;
        goto out;
    }
    res->volume = v;
    v = NULL;
out:
    fl_volume_free(v);
    return r;
}

/*
 * Everything that writes. From the first write on, a failure returns with @p u armed, and the
 * caller restores the target.
 */
static int format_target(const char *path, const struct fl_format_params *p, const struct cipher_profile *c,
                         uint32_t bits, uint32_t sector, uint32_t iterations, uint32_t digest_iterations,
                         const struct fl_secret *pass, struct undo *u, const char **why)
{
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2,
        .hash = p->hash,
        .time_ms = p->iterations ? 0 : p->iter_time_ms,
        .iterations = iterations,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    struct crypt_params_luks2 params = {
        .pbkdf = &pbkdf,
        .sector_size = sector,
        .label = p->label,
        .subsystem = p->subsystem,
    };
    struct crypt_device *cd = NULL;
    size_t vk_len = bits / 8;
    char *vk;
    int r, slot;

    vk = crypt_safe_alloc(vk_len);
    if (!vk)
        return -ENOMEM;
    /* The volume key from the OpenSSL DRBG (the FIPS provider's on a FIPS host). */
    if (RAND_priv_bytes((unsigned char *)vk, (int)vk_len) != 1) {
        r = -EIO;
        goto out;
    }
    r = crypt_init(&cd, path);
    if (r < 0)
        goto out;

    u->armed = true;
    /* Like cryptsetup luksFormat: erase the magic of every signature libcryptsetup will not overwrite. */
    for (size_t i = 0; i < u->n_magic; i++) {
        static const unsigned char zeros[64];
        ssize_t n = pwrite_full(u->fd, zeros, u->items[i].len, (off_t)u->items[i].offset);
        if (n < 0) {
            r = (int)n;
            *why = "cannot erase an old signature";
            goto out;
        }
    }
    *why = "libcryptsetup cannot create the LUKS2 header";
    r = crypt_format(cd, CRYPT_LUKS2, c->name, c->mode, p->uuid, vk, vk_len, &params);
    if (r < 0)
        goto out;
    if (digest_iterations != FL_FIPS_MIN_ITERATIONS) {
        crypt_free(cd);
        cd = NULL;
        *why = "cannot write the volume-key digest";
        r = rewrite_digest(u->fd, vk, vk_len, digest_iterations);
        if (r < 0)
            goto out;
        *why = "libcryptsetup cannot load the new header";
        r = crypt_init(&cd, path);
        if (r == 0)
            r = crypt_load(cd, CRYPT_LUKS2, NULL);
        if (r == 0)
            r = crypt_set_pbkdf_type(cd, &pbkdf);
        if (r < 0)
            goto out;
    }
    /* Checks @p vk against the digest, writes the keyslot and the final header. */
    *why = "libcryptsetup cannot add the keyslot";
    slot = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, vk, vk_len, pass->data, pass->len);
    if (slot < 0) {
        r = cryptsetup_errno(slot);
        goto out;
    }
    crypt_free(cd);
    cd = NULL;
    *why = "the new volume does not open with the passphrase";
    r = verify_opens(path, slot, pass);
    if (r == 0) {
        *why = NULL;
        r = slot;
    }
out:
    crypt_free(cd);
    crypt_safe_free(vk);
    return r;
}

int fl_format(const char *path, const struct fl_format_params *p, const struct fl_secret *passphrase,
              struct fl_format_result *ret, const char **ret_why)
{
    const char *why = NULL;
    struct fl_format_result res = {.keyslot = -1};
    struct fl_signatures sigs = {0};
    const struct cipher_profile *c;
    struct undo u = {.fd = -1};
    uint32_t bits, sector = 512, iterations, digest_iterations;
    char cipher[64];
    int r, slot;

    if (ret_why)
        *ret_why = NULL;
    if (!path || !p || !passphrase || !ret)
        return -EINVAL;
    r = fl_format_check_params(p, NULL, NULL);
    if (r < 0)
        return r;
    c = cipher_profile(p->cipher);
    if (!c)
        return -EINVAL;
    bits = fl_format_key_bits(p);
    snprintf(cipher, sizeof(cipher), "%s-%s", c->name, c->mode);

    r = fl_format_check_busy(path, NULL);
    if (r < 0)
        return r;
    u.fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (u.fd < 0)
        return -errno; /* cppcheck-suppress memleak ; open() failed: no descriptor to close */
    r = target_fits(u.fd, p, &sector, &why);
    if (r < 0)
        goto out;
    r = choose_iterations(p, bits / 8, &iterations, &digest_iterations);
    if (r < 0) {
        why = "cannot calibrate PBKDF2 (is the hash available from OpenSSL?)";
        goto out;
    }

    /* The undo log: the header area, and the magic of signatures beyond it. */
    r = fl_format_probe_signatures(path, &sigs);
    if (r < 0)
        goto out;
    for (size_t i = 0; i < sigs.n; i++) {
        const struct fl_signature *s = &sigs.items[i];
        if (s->magic_len == 0 || s->magic_len > 64 || s->offset + s->magic_len <= FL_FORMAT_HEADER_AREA)
            continue;
        r = undo_save(&u, s->offset, s->magic_len);
        if (r < 0)
            goto out;
        u.n_magic++;
    }
    r = undo_save(&u, 0, FL_FORMAT_HEADER_AREA);
    if (r < 0)
        goto out;

    slot = format_target(path, p, c, bits, sector, iterations, digest_iterations, passphrase, &u, &why);
    if (slot < 0) {
        r = slot;
        goto out;
    }
    r = verify_volume(path, p, cipher, bits, sector, iterations, digest_iterations, slot, &res);
    if (r < 0) {
        why = r == -ENOMEM ? NULL
                           : "the re-read volume is not what was asked for, or the policy reports an error";
        goto out;
    }
    res.keyslot = slot;
    res.key_bits = bits;
    res.sector_size = sector;
    res.iterations = iterations;
    res.digest_iterations = digest_iterations;
    res.calibrated = p->iterations == 0;
    res.wiped = (unsigned)u.n_magic;
    *ret = res;
    memset(&res, 0, sizeof(res));
    r = slot;
out:
    if (r < 0 && u.armed && undo_restore(&u) < 0) {
        why = "a step failed, and writing the saved contents back failed too: the target is damaged";
        r = -EUCLEAN;
    }
    if (r < 0 && ret_why)
        *ret_why = why;
    fl_findings_clear(&res.findings);
    fl_volume_free(res.volume);
    undo_free(&u);
    if (u.fd >= 0)
        close(u.fd);
    fl_signatures_clear(&sigs);
    return r;
}

void fl_format_result_clear(struct fl_format_result *r)
{
    fl_findings_clear(&r->findings);
    fl_volume_free(r->volume);
    memset(r, 0, sizeof(*r));
    r->keyslot = -1;
}

/* ---- key files ---------------------------------------------------------------------------------- */

int fl_format_new_key_file(const char *path, size_t len, struct fl_secret **ret)
{
    struct fl_secret *s = NULL;
    ssize_t n;
    int fd, r;

    if (len == 0 || len > FL_SECRET_MAX_SIZE)
        return -EINVAL;
    r = fl_secret_new(NULL, len, &s);
    if (r < 0)
        return r;
    if (RAND_priv_bytes((unsigned char *)s->data, (int)len) != 1) {
        fl_secret_free(s);
        return -EIO;
    }
    /* O_EXCL with O_CREAT also refuses a symbolic link, dangling or not. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0400);
    if (fd < 0) {
        r = -errno;
        fl_secret_free(s);
        return r;
    }
    r = fchmod(fd, 0400) < 0 ? -errno : 0; /* whatever the umask */
    if (r == 0) {
        n = pwrite_full(fd, s->data, len, 0);
        r = n < 0 ? (int)n : 0;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0) {
        unlink(path);
        fl_secret_free(s);
        return r;
    }
    *ret = s;
    return 0;
}
