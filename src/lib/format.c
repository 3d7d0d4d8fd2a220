/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Formatting a new LUKS2 volume for FIPS hosts.
 *
 * libcryptsetup does the formatting, the same calls `cryptsetup luksFormat --type luks2 --pbkdf
 * pbkdf2` makes, with one difference: cryptsetup benchmarks PBKDF2 twice (once for the volume-key
 * digest, once for the keyslot; over a second each), fipsluks calibrates once with the PBKDF2 that
 * will unlock the volume (fl_kdf_calibrate_pbkdf2(), ~0.2 s) and hands libcryptsetup fixed counts
 * (CRYPT_PBKDF_NO_BENCHMARK). libcryptsetup then gives the volume-key digest the minimum of 1000
 * iterations (lib/luks2/luks2_digest_pbkdf2.c: with NO_BENCHMARK it skips its 125 ms benchmark), as
 * `cryptsetup luksFormat --pbkdf-force-iterations` does. That is deliberate: the digest's iteration
 * count protects nothing (it checks a random 256- or 512-bit volume key, which no one can guess), and
 * every header byte is libcryptsetup's own: fipsluks writes none by hand.
 *
 * The target is opened once (fl_format_open(), format-safety.c) and never again by name.
 * libcryptsetup does all of the above in a private memory file the size of the target (see "the
 * scratch copy"); fipsluks writes the result through its own descriptor of the target.
 *
 * Undo: before the first write, every byte that may change is copied into memory (the 16 MiB
 * header area, and the magic of signatures beyond it); if a later step fails, the ranges written
 * are written back, unless the target is in use by then.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <openssl/rand.h>

#include "fipsluks/backup.h"
#include "fipsluks/array.h"
#include "fipsluks/format.h"
#include "fipsluks/kdf.h"
#include "fipsluks/secret.h"
#include "format-target.h"
#include "luks-disk.h"
#include "util.h"

#define LUKS2_LABEL_MAX 47                /* 48-byte fields, NUL-terminated */
#define ITERATIONS_MAX  FL_MAX_ITERATIONS /* LUKS2 JSON stores iterations as a JSON int */
#define VOLUME_KEY_MAX  64                /* bytes: 512 bits, the largest approved key */

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

static int refuse(enum fl_format_param *ret_param, struct fl_why *why, enum fl_format_param param,
                  const char *text)
{
    if (ret_param)
        *ret_param = param;
    return fl_why_set(why, -EINVAL, "%s", text);
}

int fl_format_check_params(const struct fl_format_params *p, enum fl_format_param *ret_param,
                           struct fl_why *why)
{
    const struct cipher_profile *c;
    uint32_t bits;

    if (!p->type || strcasecmp(p->type, "luks2"))
        return refuse(ret_param, why, FL_FORMAT_PARAM_TYPE,
                      "only LUKS2 volumes are created (LUKS1 has one header-wide hash "
                      "and a single header copy); approved: luks2");
    c = cipher_profile(p->cipher);
    if (!c)
        return refuse(
            ret_param, why, FL_FORMAT_PARAM_CIPHER,
            "not an approved cipher for new volumes; approved: aes-xts-plain64, aes-cbc-essiv:sha256");
    bits = fl_format_key_bits(p);
    if (bits != c->allowed_bits[0] && bits != c->allowed_bits[1])
        return refuse(ret_param, why, FL_FORMAT_PARAM_KEY_SIZE,
                      c->allowed_bits[1]
                          ? "not an approved key size for aes-xts-plain64; approved: 256, 512"
                          : "not an approved key size for aes-cbc-essiv:sha256; approved: 256");
    if (!p->pbkdf || strcmp(p->pbkdf, "pbkdf2"))
        return refuse(ret_param, why, FL_FORMAT_PARAM_PBKDF,
                      "a FIPS host derives keyslot keys with PBKDF2 only; approved: pbkdf2");
    /* fl_kdf_hash_allowed(), spelt the way libcryptsetup stores it */
    if (!fl_kdf_hash_allowed(p->hash) || (strcmp(p->hash, "sha256") != 0 && strcmp(p->hash, "sha512") != 0))
        return refuse(ret_param, why, FL_FORMAT_PARAM_HASH,
                      "not an approved PBKDF2 hash for new volumes; approved: sha256, sha512");
    if (p->iterations && p->iterations < FL_FIPS_MIN_ITERATIONS)
        return refuse(ret_param, why, FL_FORMAT_PARAM_ITERATIONS,
                      "below the FIPS minimum for PBKDF2; approved: 1000 or more");
    if (p->iterations > ITERATIONS_MAX)
        return refuse(ret_param, why, FL_FORMAT_PARAM_ITERATIONS, "too large; approved: 1000 to 2147483647");
    if (!p->iterations && (p->iter_time_ms == 0 || p->iter_time_ms > FL_MAX_ITER_TIME_MS))
        return refuse(ret_param, why, FL_FORMAT_PARAM_ITER_TIME, "out of range; approved: 1 to 3600000 (ms)");
    if (p->sector_size && p->sector_size != 512 && p->sector_size != 1024 && p->sector_size != 2048 &&
        p->sector_size != 4096)
        return refuse(ret_param, why, FL_FORMAT_PARAM_SECTOR_SIZE,
                      "not a LUKS2 sector size; approved: 512, 1024, 2048, 4096");
    if (p->label && strlen(p->label) > LUKS2_LABEL_MAX)
        return refuse(ret_param, why, FL_FORMAT_PARAM_LABEL, "longer than the 47 bytes a LUKS2 label holds");
    if (p->subsystem && strlen(p->subsystem) > LUKS2_LABEL_MAX)
        return refuse(ret_param, why, FL_FORMAT_PARAM_SUBSYSTEM,
                      "longer than the 47 bytes a LUKS2 subsystem holds");
    if (p->uuid && !fl_uuid_valid(p->uuid))
        return refuse(ret_param, why, FL_FORMAT_PARAM_UUID,
                      "not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
    return 0;
}

/* ---- the undo log ------------------------------------------------------------------------------- */

/* A range of the target as it was before this run, and how much of it this run may have written. */
struct saved {
    uint64_t offset;
    size_t len;
    unsigned char *bytes;
    size_t written; /* bytes from offset on that a write was started on: what an undo puts back */
};

struct undo {
    struct fl_format_target *t;
    struct saved *items; /* first the magic of signatures beyond the header area, then the header area */
    size_t n, allocated;
    size_t n_magic; /* how many of the items are signature magic, to be erased */
};

static int undo_save(struct undo *u, uint64_t offset, size_t len)
{
    unsigned char *bytes;
    ssize_t n;

    if (fl_array_grow(&u->items, &u->allocated, u->n + 1, sizeof(*u->items)) < 0)
        return -ENOMEM;
    bytes = malloc(len ? len : 1);
    if (!bytes)
        return -ENOMEM;
    n = fl_pread_full(u->t->fd, bytes, len, (off_t)offset);
    if (n < 0 || (size_t)n != len) {
        free(bytes);
        return n < 0 ? (int)n : -EIO;
    }
    u->items[u->n++] = (struct saved){offset, len, bytes, 0};
    return 0;
}

/* Write @p len bytes of @p buf at @p off of item @p s's range, noting first that they may change. */
static int undo_write(struct undo *u, struct saved *s, const void *buf, size_t len, uint64_t off)
{
    ssize_t n;

    if (off + len - s->offset > s->written)
        s->written = (size_t)(off + len - s->offset);
    n = fl_pwrite_full(u->t->fd, buf, len, (off_t)off);
    return n < 0 ? (int)n : 0;
}

static bool undo_armed(const struct undo *u)
{
    for (size_t i = 0; i < u->n; i++)
        if (u->items[i].written)
            return true;
    return false;
}

/*
 * Put back what this run wrote, and nothing else: only the ranges a write was started on, on the
 * target it wrote to. Not at all if the target is in use by now (an image file that became a
 * mounted loop device): writing the old bytes under a live file system would destroy it.
 * @return 0, -EBUSY (nothing written back; @p why says by what), or the first write error.
 */
static int undo_restore(struct undo *u, struct fl_why *why)
{
    int r;

    r = fl_format_target_busy(u->t, why);
    if (r < 0)
        return r;
    for (size_t i = u->n; i-- > 0;) {
        struct saved *s = &u->items[i];
        ssize_t n = s->written ? fl_pwrite_full(u->t->fd, s->bytes, s->written, (off_t)s->offset) : 0;
        if (n < 0 && r == 0)
            r = (int)n;
    }
    if (fsync(u->t->fd) < 0 && r == 0)
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
static int target_fits(int fd, const struct fl_format_params *p, uint32_t *ret_sector, struct fl_why *why)
{
    uint32_t sector = 512, logical = 512;
    uint64_t size = 0;
    int r;

    r = target_geometry(fd, &size, &logical, &sector);
    if (r < 0)
        return r;
    if (size <= FL_FORMAT_HEADER_AREA)
        return fl_why_set(
            why, -ENOSPC,
            "too small: LUKS2 needs 16 MiB for its header and keyslots, and room for data after them");
    if (p->sector_size && p->sector_size < logical)
        return fl_why_set(why, -EINVAL,
                          "the sector size is smaller than the device's logical block size (--sector-size)");
    if (p->sector_size)
        sector = p->sector_size;
    if ((size - FL_FORMAT_HEADER_AREA) % sector)
        return fl_why_set(
            why, -EINVAL,
            "its size after the 16 MiB header is not a multiple of the sector size (--sector-size)");
    *ret_sector = sector;
    return 0;
}

/* Busy, or does not fit: @return 0 with the sector size to use, or -errno and @p why. */
static int check_target(const struct fl_format_target *t, const struct fl_format_params *p,
                        uint32_t *ret_sector, struct fl_why *why)
{
    int r;

    r = fl_format_target_busy(t, why);
    if (r < 0)
        return r;
    return target_fits(t->fd, p, ret_sector, why);
}

int fl_format_check(const struct fl_format_target *t, const struct fl_format_params *p, struct fl_why *why)
{
    uint32_t sector;

    fl_why_clear(why);
    return check_target(t, p, &sector, why);
}

int fl_format_check_target(const char *path, const struct fl_format_params *p, struct fl_why *why)
{
    struct fl_format_target *t = NULL;
    int r;

    r = fl_format_open(path, &t, why);
    if (r < 0)
        return r;
    r = fl_format_check(t, p, why);
    fl_format_close(t);
    return r;
}

/* ---- PBKDF2 ------------------------------------------------------------------------------------- */

/*
 * The keyslot's iteration count: like libcryptsetup (crypt_benchmark_pbkdf_internal()), measure the
 * rate for a @p key_size -byte key once and scale it to the wanted time. The digest gets what
 * libcryptsetup gives it without a benchmark (see the top of this file).
 */
static int choose_iterations(const struct fl_format_params *p, size_t key_size, uint32_t *ret_keyslot,
                             uint32_t *ret_digest)
{
    uint32_t per_second;
    double keyslot;
    int r;

    *ret_digest = FL_FIPS_MIN_ITERATIONS;
    if (p->iterations) {
        *ret_keyslot = p->iterations;
        return 0;
    }
    r = fl_kdf_calibrate_pbkdf2(p->hash, key_size, 1000, &per_second);
    if (r < 0)
        return r;
    keyslot = (double)per_second * p->iter_time_ms / 1000.0;
    *ret_keyslot = keyslot > ITERATIONS_MAX           ? ITERATIONS_MAX
                   : keyslot < FL_FIPS_MIN_ITERATIONS ? FL_FIPS_MIN_ITERATIONS
                                                      : (uint32_t)keyslot;
    return 0;
}

/* ---- the scratch copy ------------------------------------------------------------------------- */

/*
 * libcryptsetup never opens the target. It formats a private, sparse memory file of the target's
 * size (so that it makes the same choices), reached as /proc/self/fd/N; fipsluks then writes the
 * header area from it through its own descriptor of the target. This way libcryptsetup cannot
 * write to an object that was swapped in under the target's name, nor to a device that became busy
 * after the checks (its own O_EXCL check would have collided with the one fipsluks holds), and
 * every byte written to the target is one the undo log knows of.
 */
struct scratch {
    int fd;
    char path[64]; /* /proc/self/fd/N */
};

static int scratch_open(uint64_t size, struct scratch *s)
{
    struct stat a, b;

    s->fd = memfd_create("fipsluks-format", MFD_CLOEXEC);
    if (s->fd < 0)
        return -errno;
    if (ftruncate(s->fd, (off_t)size) < 0)
        return -errno;
    snprintf(s->path, sizeof(s->path), "/proc/self/fd/%d", s->fd);
    /* The name libcryptsetup gets must be this very file (device and inode). */
    if (fstat(s->fd, &a) < 0 || stat(s->path, &b) < 0)
        return -errno;
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return -EIO;
    return 0;
}

static void scratch_close(struct scratch *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* ---- formatting --------------------------------------------------------------------------------- */

static int cryptsetup_errno(int r)
{
    /* libcryptsetup returns -1 (-EPERM) for "no keyslot opened"; everything else is -errno. */
    return r == -EPERM ? -EPROTO : r;
}

/* Open keyslot @p slot of the new volume with the passphrase: derives and checks, activates nothing. */
static int verify_opens(const char *path, int slot, uint32_t bits, const struct fl_secret *pass)
{
    struct crypt_device *cd = NULL;
    int r, key_size;

    r = crypt_init(&cd, path);
    if (r == 0)
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
    if (r == 0) {
        /* A header value: range-checked before it is turned into bits. */
        key_size = crypt_get_volume_key_size(cd);
        if (key_size <= 0 || key_size > VOLUME_KEY_MAX || (uint32_t)key_size * 8u != bits)
            r = -EPROTO;
    }
    if (r == 0)
        r = crypt_activate_by_passphrase(cd, NULL, slot, pass->data, pass->len, 0);
    crypt_free(cd);
    if (r < 0)
        return -EPROTO;
    return r == slot ? 0 : -EPROTO;
}

/* The volume at @p path is what was asked for, and the policy has no error on it. */
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
        strcmp(seg->cipher, cipher) || seg->key_bits != bits || seg->sector_size != sector ||
        seg->offset != FL_FORMAT_HEADER_AREA || !ks->kdf || strcmp(ks->kdf, "pbkdf2") || !ks->hash ||
        strcmp(ks->hash, p->hash) || ks->iterations != iterations || !dg->hash || strcmp(dg->hash, p->hash) ||
        dg->iterations != digest_iterations || (p->uuid && (!v->uuid || strcasecmp(v->uuid, p->uuid)))) {
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
 * Create the new header area in the scratch copy @p s: what `cryptsetup luksFormat` would write.
 * @return the keyslot, or -errno with @p step saying which step failed.
 */
static int build_header(const struct scratch *s, const struct fl_format_params *p,
                        const struct cipher_profile *c, uint32_t bits, uint32_t sector, uint32_t iterations,
                        uint32_t digest_iterations, const struct fl_secret *pass, struct fl_why *step)
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
    fl_why_set(step, 0, "libcryptsetup cannot create the LUKS2 header");
    r = crypt_init(&cd, s->path);
    if (r == 0)
        r = crypt_format(cd, CRYPT_LUKS2, c->name, c->mode, p->uuid, vk, vk_len, &params);
    if (r < 0)
        goto out;
    /* Checks @p vk against the digest, writes the keyslot and the final header. */
    fl_why_set(step, 0, "libcryptsetup cannot add the keyslot");
    slot = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, vk, vk_len, pass->data, pass->len);
    if (slot < 0) {
        r = cryptsetup_errno(slot);
        goto out;
    }
    fl_why_clear(step);
    r = slot;
out:
    crypt_free(cd);
    crypt_safe_free(vk);
    return r;
}

#define COPY_CHUNK (1024u * 1024u)

/*
 * Write to the target, through its descriptor: erase the magic of the signatures beyond the header
 * area, then copy the header area from the scratch copy, then sync. Each range is entered in the
 * undo log before it is written. @return 0 or -errno with @p step saying which step failed.
 */
static int write_target(struct undo *u, const struct scratch *s, struct fl_why *step)
{
    struct saved *area = &u->items[u->n - 1];
    unsigned char *buf = NULL;
    int r = 0;

    /* Like `wipefs --all` and cryptsetup luksFormat: every signature libblkid found goes. */
    fl_why_set(step, 0, "cannot erase an old signature");
    for (size_t i = 0; r == 0 && i < u->n_magic; i++) {
        unsigned char *zeros = calloc(1, u->items[i].len);
        if (!zeros)
            return -ENOMEM;
        r = undo_write(u, &u->items[i], zeros, u->items[i].len, u->items[i].offset);
        free(zeros);
    }
    if (r < 0)
        return r;
    fl_why_set(step, 0, "cannot write the new header");
    buf = malloc(COPY_CHUNK);
    if (!buf)
        return -ENOMEM;
    for (uint64_t off = 0; off < area->len; off += COPY_CHUNK) {
        size_t len = area->len - off < COPY_CHUNK ? (size_t)(area->len - off) : COPY_CHUNK;
        ssize_t n = fl_pread_full(s->fd, buf, len, (off_t)off);
        if (n != (ssize_t)len) {
            r = n < 0 ? (int)n : -EIO;
            goto out;
        }
        r = undo_write(u, area, buf, len, off);
        if (r < 0)
            goto out;
    }
    fl_why_set(step, 0, "cannot sync the target");
    r = fsync(u->t->fd) < 0 ? -errno : 0;
out:
    free(buf);
    return r;
}

/* The header area as the target now holds it is byte for byte the one built and verified. */
static int compare_target(const struct fl_format_target *t, const struct scratch *s)
{
    unsigned char *a = malloc(COPY_CHUNK), *b = malloc(COPY_CHUNK);
    int r = 0;

    if (!a || !b)
        r = -ENOMEM;
    for (uint64_t off = 0; r == 0 && off < FL_FORMAT_HEADER_AREA; off += COPY_CHUNK) {
        ssize_t na = fl_pread_full(t->fd, a, COPY_CHUNK, (off_t)off);
        ssize_t nb = fl_pread_full(s->fd, b, COPY_CHUNK, (off_t)off);
        if (na < 0 || nb < 0)
            r = na < 0 ? (int)na : (int)nb;
        else if ((size_t)na != COPY_CHUNK || (size_t)nb != COPY_CHUNK || memcmp(a, b, COPY_CHUNK))
            r = -EPROTO;
    }
    free(a);
    free(b);
    return r;
}

/* A partition table was erased from a whole disk: have the kernel forget its partitions, as wipefs
 * does (best effort: a partition or a loop device without partition scanning refuses). */
static void reread_partitions(const struct fl_format_target *t, const struct fl_signatures *sigs)
{
    for (size_t i = 0; i < sigs->n; i++)
        if (S_ISBLK(t->st.st_mode) && !strcmp(sigs->items[i].usage, "partition table")) {
            (void)ioctl(t->fd, BLKRRPART);
            return;
        }
}

int fl_format(struct fl_format_target *t, const struct fl_format_params *p,
              const struct fl_secret *passphrase, struct fl_format_result *ret, struct fl_why *why)
{
    struct fl_why step = {""}; /* the step under way, while one can fail */
    struct fl_format_result res = {.keyslot = -1};
    struct fl_signatures sigs = {0};
    const struct cipher_profile *c;
    struct scratch s = {.fd = -1};
    struct undo u = {.t = t};
    uint32_t bits, sector = 512, iterations, digest_iterations;
    uint64_t size = 0; /* set by target_geometry(); clang's analyzer takes a failed fstat() for errno 0 */
    uint32_t logical, auto_sector;
    char cipher[64];
    int r, slot;

    fl_why_clear(why);
    if (!t || !p || !passphrase || !ret)
        return -EINVAL;
    r = fl_format_check_params(p, NULL, NULL);
    if (r < 0)
        return r;
    c = cipher_profile(p->cipher);
    if (!c)
        return -EINVAL;
    bits = fl_format_key_bits(p);
    snprintf(cipher, sizeof(cipher), "%s-%s", c->name, c->mode);

    /* Every check, on the one open target. */
    r = check_target(t, p, &sector, why);
    if (r < 0)
        return r;
    r = target_geometry(t->fd, &size, &logical, &auto_sector);
    if (r < 0)
        return r;
    r = choose_iterations(p, bits / 8, &iterations, &digest_iterations);
    if (r < 0)
        return fl_why_set(why, r, "cannot calibrate PBKDF2 (is the hash available from OpenSSL?)");
    r = fl_format_signatures(t, &sigs);
    if (r < 0)
        goto out;

    /* The new header area, built and verified in memory: nothing is written to the target yet. */
    r = scratch_open(size, &s);
    if (r < 0)
        goto out;
    slot = build_header(&s, p, c, bits, sector, iterations, digest_iterations, passphrase, &step);
    if (slot < 0) {
        r = slot;
        goto out;
    }
    fl_why_set(&step, 0, "the new volume does not open with the passphrase");
    r = verify_opens(s.path, slot, bits, passphrase);
    if (r < 0)
        goto out;
    r = verify_volume(s.path, p, cipher, bits, sector, iterations, digest_iterations, slot, &res);
    if (r < 0) {
        if (r == -ENOMEM)
            fl_why_clear(&step);
        else
            fl_why_set(&step, 0, "the new volume is not what was asked for, or the policy reports an error");
        goto out;
    }
    fl_why_clear(&step);

    /* The undo log: the magic of signatures beyond the header area, and the header area. */
    for (size_t i = 0; i < sigs.n; i++) {
        const struct fl_signature *sig = &sigs.items[i];
        if (sig->magic_len == 0 || sig->magic_len > 4096 ||
            sig->offset + sig->magic_len <= FL_FORMAT_HEADER_AREA)
            continue;
        r = undo_save(&u, sig->offset, sig->magic_len);
        if (r < 0)
            goto out;
        u.n_magic++;
    }
    r = undo_save(&u, 0, FL_FORMAT_HEADER_AREA);
    if (r < 0)
        goto out;

    /* Last look before the first write: an image file can have become a mounted loop device. */
    r = fl_format_target_busy(t, why);
    if (r < 0)
        goto out;
    r = write_target(&u, &s, &step);
    if (r == 0) {
        fl_why_set(&step, 0, "the target does not hold what was written (read back)");
        r = compare_target(t, &s);
    }
    if (r < 0)
        goto out;
    fl_why_clear(&step);
    reread_partitions(t, &sigs);

    /* Read from the scratch copy: name the target, and in the remedies too. */
    free(res.volume->path);
    res.volume->path = strdup(t->path);
    if (!res.volume->path) {
        r = -ENOMEM;
        goto out;
    }
    fl_findings_clear(&res.findings);
    r = fl_policy_evaluate(res.volume, &res.findings);
    if (r < 0)
        goto out;
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
    if (r < 0 && undo_armed(&u)) {
        struct fl_why used = {""};
        int e = undo_restore(&u, &used);
        if (e == -EBUSY) {
            r = fl_why_set(why, -EUCLEAN,
                           "%s; and the target is in use by now (%s), so nothing was written back: "
                           "the target is damaged",
                           fl_why_empty(&step) ? strerror(-r) : step.text,
                           fl_why_empty(&used) ? "busy" : used.text);
            fl_why_clear(&step);
        } else if (e < 0) {
            fl_why_set(
                &step, 0,
                "a step failed, and writing the saved contents back failed too: the target is damaged");
            r = -EUCLEAN;
        }
    }
    if (r < 0 && !fl_why_empty(&step) && fl_why_empty(why))
        fl_why_set(why, r, "%s", step.text);
    fl_findings_clear(&res.findings);
    fl_volume_free(res.volume);
    undo_free(&u);
    scratch_close(&s);
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
    fd = fl_create_new(path, 0400);
    if (fd < 0) {
        fl_secret_free(s);
        return fd;
    }
    n = fl_pwrite_full(fd, s->data, len, 0);
    r = n < 0 ? (int)n : 0;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r == 0)
        r = fl_fsync_parent(path);
    if (r < 0)
        fl_unlink_own(path, fd);
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r < 0) {
        fl_secret_free(s);
        return r;
    }
    *ret = s;
    return 0;
}
