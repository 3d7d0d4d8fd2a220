/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Finishing a reencryption whose data is all re-encrypted but whose header was not cleaned up.
 *
 * libcryptsetup ends a forward reencryption in two stages. The last step commits segments that say
 * "one segment, the new key, the whole device", and only then, in several more header writes, destroys
 * the old keyslots, the backup segments, the requirement flag and the reencrypt keyslot. A run killed
 * between the two leaves a header that still requires reencryption, and libcryptsetup (2.6.1 and 2.7.5
 * alike) reads "one data segment" as "nothing done yet" (_offset_forward() in luks2_reencrypt.c): its
 * resume decrypts the new data with the old key and encrypts it again, and every sector is lost. A
 * little later the old keyslot's area is already wiped while the header still needs it to load the
 * reencryption, and nothing opens the volume any more.
 *
 * So fipsluks never hands that state to libcryptsetup. It recognises it from the header alone (every
 * condition below must hold, or it is not this state), writes what libcryptsetup's clean-up would have
 * written, and proves the result before a byte reaches the device: the new header, in a private copy of
 * the header region, must load as a volume not in reencryption and open with every given secret. Only
 * then are the two header copies written (each one sealed by its checksum: a torn write leaves the
 * other, and the next run finds the same state again), and after them the retired keyslot areas wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libcryptsetup.h>
#include <openssl/evp.h>

#include "fipsluks/util.h"
#include "luks-disk.h"
#include "reencrypt-finish.h"

#define OFF_SEQID      16
#define OFF_CSUM_ALG   72
#define CSUM_ALG_LEN   32
#define OFF_HDR_OFFSET 256
#define OFF_CSUM       448
#define CSUM_LEN       64

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

/* Exactly @p n bytes at @p off (a short read is -EIO). */
static int full_pread(int fd, void *buf, size_t n, uint64_t off)
{
    ssize_t r = fl_pread_full(fd, buf, n, (off_t)off);

    return r < 0 ? (int)r : (size_t)r == n ? 0 : -EIO;
}

static int full_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
    ssize_t r = fl_pwrite_full(fd, buf, n, (off_t)off);

    return r < 0 ? (int)r : 0;
}

/* The SHA-256 checksum libcryptsetup seals a copy with: over the copy, its checksum field zeroed (@p out
 * must not point into @p copy). */
static int seal(unsigned char *copy, size_t size, unsigned char out[CSUM_LEN])
{
    unsigned char saved[CSUM_LEN];
    unsigned int len = 0;
    int ok;

    memcpy(saved, copy + OFF_CSUM, CSUM_LEN);
    memset(copy + OFF_CSUM, 0, CSUM_LEN);
    memset(out, 0, CSUM_LEN);
    ok = EVP_Digest(copy, size, out, &len, EVP_sha256(), NULL);
    memcpy(copy + OFF_CSUM, saved, CSUM_LEN);
    return ok ? 0 : -EIO;
}

/* Whether the copy at @p off is a sealed LUKS2 header copy of @p size bytes. */
static bool copy_valid(unsigned char *copy, size_t size, uint64_t off)
{
    unsigned char sum[CSUM_LEN];
    const char *magic = off ? FL_LUKS_MAGIC_SECONDARY : FL_LUKS_MAGIC_PRIMARY;

    if (memcmp(copy, magic, FL_LUKS_MAGIC_LEN) || fl_be16(copy + FL_LUKS_MAGIC_LEN) != 2 ||
        fl_be64(copy + FL_LUKS2_OFF_HDR_SIZE) != size || fl_be64(copy + OFF_HDR_OFFSET) != off)
        return false;
    if (strncmp((const char *)copy + OFF_CSUM_ALG, "sha256", CSUM_ALG_LEN))
        return false;
    return seal(copy, size, sum) == 0 && !memcmp(sum, copy + OFF_CSUM, 32);
}

static json_object *member(json_object *o, const char *name)
{
    json_object *v = NULL;

    return o && json_object_object_get_ex(o, name, &v) ? v : NULL;
}

static bool has_string(json_object *array, const char *prefix)
{
    size_t n = json_object_is_type(array, json_type_array) ? json_object_array_length(array) : 0;

    for (size_t i = 0; i < n; i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(array, i));
        if (s && !strncmp(s, prefix, strlen(prefix)))
            return true;
    }
    return false;
}

/* Remove every element of @p array equal to string @p s. */
static void drop_string(json_object *array, const char *s)
{
    for (size_t i = json_object_is_type(array, json_type_array) ? json_object_array_length(array) : 0;
         i-- > 0;) {
        const char *e = json_object_get_string(json_object_array_get_idx(array, i));
        if (e && !strcmp(e, s))
            json_object_array_del_idx(array, i, 1);
    }
}

static bool parse_u64(json_object *o, uint64_t *ret)
{
    const char *s = json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
    char *end;
    unsigned long long v;

    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *ret = v;
    return true;
}

/* The id of the segment whose flags hold @p flag, or NULL. */
static const char *segment_with_flag(json_object *segments, const char *flag)
{
    json_object_object_foreach(segments, id, seg)
    {
        if (has_string(member(seg, "flags"), flag))
            return id;
    }
    return NULL;
}

/* The id of the digest that lists @p what_id in its member @p what ("segments", "keyslots"), or NULL. */
static const char *digest_of(json_object *digests, const char *what, const char *what_id)
{
    json_object_object_foreach(digests, id, d)
    {
        json_object *list = member(d, what);
        size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;

        for (size_t i = 0; i < n; i++) {
            const char *s = json_object_get_string(json_object_array_get_idx(list, i));
            if (s && !strcmp(s, what_id))
                return id;
        }
    }
    return NULL;
}

struct area {
    uint64_t offset, size;
};

struct plan {
    size_t n_retired;
    char retired[FL_MAX_KEYSLOTS + 1][8]; /* keyslot ids removed: the old ones and the reencrypt one */
    struct area areas[FL_MAX_KEYSLOTS + 1];
    uint64_t area_lo, area_hi; /* the keyslots area */
};

static bool overlaps(const struct area *a, const struct area *b)
{
    return a->offset < b->offset + b->size && b->offset < a->offset + a->size;
}

/*
 * Turn @p root into the header libcryptsetup's clean-up would have written, or return 0 when @p root is
 * not a finished forward reencryption waiting for its clean-up (nothing is changed then). @return 1, 0 or
 * -errno.
 */
static int plan_cleanup(json_object *root, uint64_t hdr_size, struct plan *p)
{
    json_object *config = member(root, "config"), *keyslots = member(root, "keyslots"),
                *segments = member(root, "segments"), *digests = member(root, "digests"),
                *tokens = member(root, "tokens"), *reqs = member(config, "requirements"),
                *mandatory = member(reqs, "mandatory");
    const char *reenc_id = NULL, *data_id = NULL, *prev_id, *final_id, *d_new, *d_old, *d_data;
    size_t n_data = 0, n_reenc = 0;
    uint64_t ks_size;

    memset(p, 0, sizeof(*p));
    if (!keyslots || !segments || !digests || !has_string(mandatory, "online-reencrypt"))
        return 0;
    json_object_object_foreach(keyslots, kid, ks)
    {
        const char *type = json_object_get_string(member(ks, "type"));
        if (type && !strcmp(type, "reencrypt")) {
            reenc_id = kid;
            n_reenc++;
        }
    }
    if (n_reenc != 1)
        return 0;
    {
        json_object *rk = member(keyslots, reenc_id);
        const char *mode = json_object_get_string(member(rk, "mode"));
        const char *dir = json_object_get_string(member(rk, "direction"));
        const char *rtype = json_object_get_string(member(member(rk, "area"), "type"));

        if (!mode || strcmp(mode, "reencrypt") || !dir || strcmp(dir, "forward") || !rtype ||
            !strncmp(rtype, "datashift", 9))
            return 0;
    }
    json_object_object_foreach(segments, sid, seg)
    {
        json_object *flags = member(seg, "flags");
        if (has_string(flags, "backup-"))
            continue;
        if (has_string(flags, "in-reencryption"))
            return 0;
        data_id = sid;
        n_data++;
    }
    prev_id = segment_with_flag(segments, "backup-previous");
    final_id = segment_with_flag(segments, "backup-final");
    if (n_data != 1 || !prev_id || !final_id || segment_with_flag(segments, "backup-moved-segment"))
        return 0;
    {
        json_object *dseg = member(segments, data_id), *fin = member(segments, final_id);
        const char *size = json_object_get_string(member(dseg, "size"));
        const char *off = json_object_get_string(member(dseg, "offset"));
        const char *foff = json_object_get_string(member(fin, "offset"));

        /* the one data segment covers the device from the new segment's offset on */
        if (!size || strcmp(size, "dynamic") || !off || !foff || strcmp(off, foff))
            return 0;
    }
    d_data = digest_of(digests, "segments", data_id);
    d_new = digest_of(digests, "segments", final_id);
    d_old = digest_of(digests, "segments", prev_id);
    if (!d_data || !d_new || !d_old || strcmp(d_data, d_new) || !strcmp(d_new, d_old))
        return 0;
    if (!parse_u64(member(config, "keyslots_size"), &ks_size))
        return 0;
    p->area_lo = 2 * hdr_size;
    p->area_hi = 2 * hdr_size + ks_size;

    /* retire the reencrypt keyslot and every keyslot of the old key */
    snprintf(p->retired[p->n_retired++], sizeof(p->retired[0]), "%s", reenc_id);
    {
        json_object *old_ks = member(member(digests, d_old), "keyslots");
        size_t n = json_object_is_type(old_ks, json_type_array) ? json_object_array_length(old_ks) : 0;

        for (size_t i = 0; i < n && p->n_retired <= FL_MAX_KEYSLOTS; i++) {
            const char *s = json_object_get_string(json_object_array_get_idx(old_ks, i));
            if (s && member(keyslots, s) && strlen(s) < sizeof(p->retired[0]))
                snprintf(p->retired[p->n_retired++], sizeof(p->retired[0]), "%s", s);
        }
    }
    for (size_t i = 0; i < p->n_retired; i++) {
        json_object *area = member(member(keyslots, p->retired[i]), "area");
        struct area *a = &p->areas[i];

        if (!parse_u64(member(area, "offset"), &a->offset) || !parse_u64(member(area, "size"), &a->size) ||
            a->offset < p->area_lo || a->size > p->area_hi - a->offset)
            return -EUCLEAN;
    }
    /* a retired area shared with a keyslot that stays is never wiped: refuse rather than guess */
    json_object_object_foreach(keyslots, kid2, ks2)
    {
        struct area a;
        bool retired = false;

        for (size_t i = 0; i < p->n_retired; i++)
            retired |= !strcmp(kid2, p->retired[i]);
        if (retired)
            continue;
        if (!parse_u64(member(member(ks2, "area"), "offset"), &a.offset) ||
            !parse_u64(member(member(ks2, "area"), "size"), &a.size))
            return -EUCLEAN;
        for (size_t i = 0; i < p->n_retired; i++)
            if (overlaps(&a, &p->areas[i]))
                return -EUCLEAN;
    }

    /* the clean-up: keyslots, their token bindings, backup segments, the old digest, the requirement */
    for (size_t i = 0; i < p->n_retired; i++) {
        json_object_object_del(keyslots, p->retired[i]);
        json_object_object_foreach(digests, did, dg)
        {
            (void)did;
            drop_string(member(dg, "keyslots"), p->retired[i]);
        }
        if (tokens) {
            json_object_object_foreach(tokens, tid, tok)
            {
                (void)tid;
                drop_string(member(tok, "keyslots"), p->retired[i]);
            }
        }
    }
    drop_string(member(member(digests, d_new), "segments"), final_id);
    json_object_object_del(digests, d_old);
    json_object_object_del(segments, prev_id);
    json_object_object_del(segments, final_id);
    for (size_t i = json_object_array_length(mandatory); i-- > 0;) {
        const char *s = json_object_get_string(json_object_array_get_idx(mandatory, i));
        if (s && !strncmp(s, "online-reencrypt", 16))
            json_object_array_del_idx(mandatory, i, 1);
    }
    if (json_object_array_length(mandatory) == 0)
        json_object_object_del(reqs, "mandatory");
    if (json_object_object_length(reqs) == 0)
        json_object_object_del(config, "requirements");
    return 1;
}

int fl_header_region_copy(int fd, uint64_t bytes)
{
    unsigned char *buf = malloc(1 << 20);
    int mfd = memfd_create("fipsluks-header-copy", MFD_CLOEXEC), r = 0;

    if (!buf || mfd < 0) {
        r = mfd < 0 ? -errno : -ENOMEM;
        goto out;
    }
    for (uint64_t done = 0; r == 0 && done < bytes; done += 1 << 20) {
        size_t n = bytes - done < (1u << 20) ? (size_t)(bytes - done) : 1u << 20;

        r = full_pread(fd, buf, n, done);
        if (r == 0)
            r = full_pwrite(mfd, buf, n, done);
    }
out:
    free(buf);
    if (r < 0 && mfd >= 0)
        close(mfd);
    return r < 0 ? r : mfd;
}

/* Every secret opens the header in @p mfd (the data on @p data_path) and it is not in reencryption. */
static int prove(int mfd, const char *data_path, const struct fl_secret *const *secrets, size_t n,
                 int *ret_failed)
{
    struct crypt_device *cd = NULL;
    char name[64];
    int r;

    snprintf(name, sizeof(name), "/proc/self/fd/%d", mfd);
    r = crypt_init_data_device(&cd, name, data_path);
    if (r == 0)
        r = crypt_load(cd, CRYPT_LUKS2, NULL);
    if (r == 0 && crypt_reencrypt_status(cd, NULL) != CRYPT_REENCRYPT_NONE)
        r = -EUCLEAN;
    for (size_t i = 0; r == 0 && i < n; i++)
        if (crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, secrets[i]->data, secrets[i]->len, 0) <
            0) {
            *ret_failed = (int)i;
            r = -EPERM;
        }
    crypt_free(cd);
    return r;
}

int fl_reencrypt_finish_pending(const char *hdev, const char *data_path,
                                const struct fl_secret *const *secrets, size_t n_secrets,
                                struct fl_finish_result *res)
{
    unsigned char head[FL_LUKS2_BINARY_HEADER_SIZE], sum[CSUM_LEN];
    unsigned char *copies[2] = {NULL, NULL}, *newc = NULL;
    json_object *root = NULL;
    struct plan plan;
    uint64_t hdr_size, seqid[2] = {0, 0};
    int fd, mfd = -1, best = -1, r;
    const char *json;
    size_t json_len, region;

    memset(res, 0, sizeof(*res));
    res->failed_secret = -1;
    fd = open(hdev, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    r = full_pread(fd, head, sizeof(head), 0);
    if (r < 0)
        goto out;
    hdr_size = fl_be64(head + FL_LUKS2_OFF_HDR_SIZE);
    if (memcmp(head, FL_LUKS_MAGIC_PRIMARY, FL_LUKS_MAGIC_LEN) || fl_be16(head + FL_LUKS_MAGIC_LEN) != 2 ||
        hdr_size < FL_LUKS2_MIN_HDR_SIZE || hdr_size > FL_LUKS2_MAX_HDR_SIZE || (hdr_size & (hdr_size - 1))) {
        r = 0; /* not a LUKS2 header this can judge (a torn primary: libcryptsetup's resume decides) */
        goto out;
    }
    for (int c = 0; c < 2; c++) {
        copies[c] = malloc(hdr_size);
        if (!copies[c]) {
            r = -ENOMEM;
            goto out;
        }
        r = full_pread(fd, copies[c], hdr_size, c * hdr_size);
        if (r < 0)
            goto out;
        if (copy_valid(copies[c], hdr_size, c * hdr_size)) {
            seqid[c] = fl_be64(copies[c] + OFF_SEQID);
            if (best < 0 || seqid[c] > seqid[best])
                best = c;
        }
    }
    r = 0;
    if (best < 0)
        goto out;
    copies[best][hdr_size - 1] = '\0';
    root = json_tokener_parse((const char *)copies[best] + FL_LUKS2_BINARY_HEADER_SIZE);
    if (!root)
        goto out;
    r = plan_cleanup(root, hdr_size, &plan);
    if (r <= 0)
        goto out;
    res->pending = true;
    res->n_retired = plan.n_retired;
    for (size_t i = 0; i < plan.n_retired; i++)
        res->retired[i] = atoi(plan.retired[i]);

    /* the new copy: the same binary header, the next sequence id, the cleaned JSON */
    json = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_len = json ? strlen(json) : 0;
    if (!json || json_len >= hdr_size - FL_LUKS2_BINARY_HEADER_SIZE) {
        r = -ENOMEM;
        goto out;
    }
    newc = calloc(1, hdr_size);
    if (!newc) {
        r = -ENOMEM;
        goto out;
    }
    memcpy(newc, copies[best], FL_LUKS2_BINARY_HEADER_SIZE);
    memcpy(newc + FL_LUKS2_BINARY_HEADER_SIZE, json, json_len);
    put_be64(newc + OFF_SEQID, (seqid[0] > seqid[1] ? seqid[0] : seqid[1]) + 1);

    /* a private copy of the header region with both new copies: it must load and open before the device is
     * touched */
    region = (size_t)plan.area_hi;
    mfd = fl_header_region_copy(fd, region);
    if (mfd < 0) {
        r = mfd;
        goto out;
    }
    for (int c = 0; c < 2; c++) {
        memcpy(newc, c ? FL_LUKS_MAGIC_SECONDARY : FL_LUKS_MAGIC_PRIMARY, FL_LUKS_MAGIC_LEN);
        put_be64(newc + OFF_HDR_OFFSET, c * hdr_size);
        r = seal(newc, hdr_size, sum);
        memcpy(newc + OFF_CSUM, sum, CSUM_LEN);
        if (r == 0)
            r = full_pwrite(mfd, newc, hdr_size, c * hdr_size);
        if (r < 0)
            goto out;
        memcpy(copies[c], newc, hdr_size); /* what the device gets */
    }
    r = prove(mfd, data_path, secrets, n_secrets, &res->failed_secret);
    if (r < 0)
        goto out;

    /* commit: the primary copy, then the secondary, each made durable before the next write */
    for (int c = 0; c < 2; c++) {
        r = full_pwrite(fd, copies[c], hdr_size, c * hdr_size);
        if (r == 0 && fdatasync(fd) < 0)
            r = -errno;
        if (r < 0)
            goto out;
        res->wrote = true;
    }
    /* the retired keyslots' areas: the old volume key, wrapped by each old passphrase */
    {
        unsigned char *zero = calloc(1, 1 << 16);

        if (!zero) {
            r = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; r == 0 && i < plan.n_retired; i++)
            for (uint64_t o = 0; r == 0 && o < plan.areas[i].size; o += 1 << 16) {
                uint64_t n = plan.areas[i].size - o < (1u << 16) ? plan.areas[i].size - o : 1u << 16;
                r = full_pwrite(fd, zero, (size_t)n, plan.areas[i].offset + o);
            }
        free(zero);
        if (r == 0 && fdatasync(fd) < 0)
            r = -errno;
    }
    res->finished = r == 0;
out:
    if (mfd >= 0)
        close(mfd);
    json_object_put(root);
    free(newc);
    free(copies[0]);
    free(copies[1]);
    close(fd);
    return r;
}
