/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading a LUKS header into struct fl_volume, strictly read-only.
 *
 * libcryptsetup's crypt_load() repairs a damaged LUKS2 header copy in place whenever it can open
 * the device for writing. A scan must never write, so the header region is read once into a
 * private sparse memfd the size of the device, and libcryptsetup loads that copy. Comparing the
 * copy before and after loading tells whether libcryptsetup had to repair anything. The copy is
 * also immune to the header changing while it is parsed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include <json-c/json.h>
#include <libcryptsetup.h>

#include "fipsluks/discover.h"
#include "fipsluks/util.h"
#include "fipsluks/volume.h"
#include "json-tree.h"
#include "luks-disk.h"
#include "util.h"

/* A private, sparse, in-memory copy of a device's header region. */
struct header_copy {
    int fd;               /* memfd, same size as the source */
    unsigned char *bytes; /* what was copied, to detect repairs */
    size_t len;
    unsigned char *spare; /* room for len more bytes after them (header_copy_changed()), or NULL */
    char path[64];        /* /proc/self/fd/N, for crypt_init() */
};

static void header_copy_done(struct header_copy *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->bytes);
    c->fd = -1;
    c->bytes = c->spare = NULL;
}

/* The size of @p fd, a regular file or a block device whose fstat() is @p st. */
static int source_size(int fd, const struct stat *st, uint64_t *ret)
{
    if (S_ISDIR(st->st_mode))
        return -EISDIR;
    if (S_ISREG(st->st_mode)) {
        *ret = (uint64_t)st->st_size;
        return 0;
    }
    if (S_ISBLK(st->st_mode)) {
        uint64_t size;
        if (ioctl(fd, BLKGETSIZE64, &size) < 0)
            return -errno;
        if (size == 0)
            return -ENXIO; /* no medium: an unbound loop device, one detached while it was scanned */
        *ret = size;
        return 0;
    }
    return -ENOTBLK;
}

/*
 * The first read of a source: both copies of a LUKS2 header of the default size (2 x 16 KiB), so
 * that the usual header takes one read from the device (the probe's, which leaves it in the page
 * cache for the copy), and a LUKS1 header or a file that is not LUKS costs no more than that.
 */
#define FIRST_READ (2u * FL_LUKS2_MIN_HDR_SIZE)

/*
 * How many bytes from offset 0 hold the LUKS header(s) of @fd, judged by the magic of the
 * primary copy or, when that is damaged, of a LUKS2 secondary copy. 0 means not LUKS. The first
 * FIRST_READ bytes (fewer for a smaller source) are read into @p buf, their count in @p ret_n.
 */
static int header_region(int fd, uint64_t size, unsigned char *buf, size_t *ret_n, size_t *ret_len)
{
    ssize_t n;

    n = fl_pread_full(fd, buf, FIRST_READ, 0);
    if (n < 0)
        return (int)n;
    *ret_n = (size_t)n;
    *ret_len = 0;
    if ((size_t)n >= FL_LUKS1_HEADER_SIZE && !memcmp(buf, FL_LUKS_MAGIC_PRIMARY, FL_LUKS_MAGIC_LEN)) {
        uint16_t version = fl_be16(buf + FL_LUKS_MAGIC_LEN);
        uint64_t hdr_size = fl_be64(buf + FL_LUKS2_OFF_HDR_SIZE);

        if (version == 1)
            *ret_len = FL_LUKS2_BINARY_HEADER_SIZE;
        else if (version == 2 && hdr_size >= FL_LUKS2_MIN_HDR_SIZE && hdr_size <= FL_LUKS2_MAX_HDR_SIZE &&
                 !(hdr_size & (hdr_size - 1)))
            *ret_len = 2 * hdr_size;
        else
            *ret_len = 2 * (size_t)FL_LUKS2_MAX_HDR_SIZE;
    } else {
        for (uint64_t off = FL_LUKS2_MIN_HDR_SIZE; off <= FL_LUKS2_MAX_HDR_SIZE && off < size; off *= 2) {
            unsigned char magic[FL_LUKS_MAGIC_LEN];
            if (off + FL_LUKS_MAGIC_LEN <= (uint64_t)n) {
                memcpy(magic, buf + off, FL_LUKS_MAGIC_LEN);
            } else {
                n = fl_pread_full(fd, magic, sizeof(magic), (off_t)off);
                if (n < 0)
                    return (int)n;
                if (n != FL_LUKS_MAGIC_LEN)
                    continue;
            }
            if (!memcmp(magic, FL_LUKS_MAGIC_SECONDARY, FL_LUKS_MAGIC_LEN)) {
                *ret_len = 2 * off;
                break;
            }
        }
    }
    if (*ret_len > size)
        *ret_len = (size_t)size;
    return 0;
}

/*
 * The private copy of the first @p len bytes of @p src, of which *@p first (@p n bytes, in a buffer of
 * 2 x FIRST_READ) were read. When those hold the whole region, the buffer becomes the copy's bytes
 * (taken: *@p first is set to NULL), its second half the room to read the copy back.
 */
static int header_copy_make(int src, uint64_t size, unsigned char **first, size_t n, size_t len,
                            struct header_copy *c)
{
    const size_t block = 4096;
    ssize_t r;

    c->fd = memfd_create("fipsluks-header", MFD_CLOEXEC);
    if (c->fd < 0)
        return -errno;
    if (ftruncate(c->fd, (off_t)size) < 0)
        return -errno;
    if (len <= n) {
        c->bytes = *first;
        *first = NULL;
        c->len = len;
        c->spare = c->bytes + FIRST_READ;
    } else {
        c->bytes = malloc(len);
        if (!c->bytes)
            return -ENOMEM;
        r = fl_pread_full(src, c->bytes, len, 0);
        if (r < 0)
            return (int)r;
        c->len = (size_t)r;
    }
    /* runs of blocks that are not all zero, one write each (the zero blocks keep the copy sparse) */
    for (size_t off = 0, run = 0;; off += block) {
        size_t chunk = off >= c->len ? 0 : c->len - off < block ? c->len - off : block;
        size_t end = chunk ? off : c->len;
        if (chunk && !fl_all_zero(c->bytes + off, chunk))
            continue;
        if (end > run && pwrite(c->fd, c->bytes + run, end - run, (off_t)run) != (ssize_t)(end - run))
            return errno ? -errno : -EIO;
        if (!chunk)
            break;
        run = off + chunk;
    }
    snprintf(c->path, sizeof(c->path), "/proc/self/fd/%d", c->fd);
    return 0;
}

/* True when libcryptsetup changed the private copy while loading it (it repaired a header copy). */
static bool header_copy_changed(const struct header_copy *c)
{
    unsigned char *buf = c->spare ? c->spare : malloc(c->len ? c->len : 1);
    bool changed;

    if (!buf || !c->bytes)
        changed = true; /* cannot tell: say so rather than hide a repair */
    else
        changed = fl_pread_full(c->fd, buf, c->len, 0) != (ssize_t)c->len || memcmp(buf, c->bytes, c->len);
    if (buf != c->spare)
        free(buf);
    return changed;
}

void fl_crypt_log_quiet(int level, const char *msg, void *usrptr)
{
    /*
     * Library code does not print; a failed load is reported through the return value. Debug
     * messages (only made when the program asked for them with crypt_set_debug_level()) go on to
     * the program's global log callback.
     */
    if (level == CRYPT_LOG_DEBUG || level == CRYPT_LOG_DEBUG_JSON)
        crypt_log(NULL, level, msg);
}

/*
 * ---- the LUKS2 metadata: libcryptsetup's JSON of the header it loaded (crypt_dump_json()), read
 * once into a tree of nodes (json-tree.h) ----
 */

static const struct fl_jtree_node *jget(const struct fl_jtree_node *o, const char *key)
{
    return fl_jtree_get(o, key);
}

static const char *jstr(const struct fl_jtree_node *o, const char *key)
{
    const struct fl_jtree_node *v = jget(o, key);
    return v && v->type == FL_JT_STRING ? v->str : NULL;
}

/* LUKS2 stores 64-bit values as decimal strings and small ones as numbers; accept both. */
static uint64_t ju64(const struct fl_jtree_node *o, const char *key)
{
    const struct fl_jtree_node *v = jget(o, key);
    uint64_t r;

    if (v && v->type == FL_JT_STRING)
        return fl_parse_u64(v->str, &r) ? 0 : r;
    if (v && v->type == FL_JT_INT)
        return v->i < 0 ? 0 : (uint64_t)v->i;
    return 0;
}

static uint32_t ju32(const struct fl_jtree_node *o, const char *key)
{
    uint64_t v = ju64(o, key);
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/*
 * json-c's json_object_get_string() (@p as_string) or json_object_to_json_string() of the value @p n,
 * in *@p ret (malloc'd; NULL for get_string of null). For values that LUKS2 does not have where they
 * appear, so rare: their text is parsed again by json-c, whose output is the one shown before.
 */
static int jsonc_text(const struct fl_jtree_node *n, bool as_string, char **ret)
{
    char *raw = strndup(n->raw, n->raw_len);
    json_object *o = raw ? json_tokener_parse(raw) : NULL;
    const char *s = as_string ? json_object_get_string(o) : json_object_to_json_string(o);
    int r = raw ? 0 : -ENOMEM;

    *ret = NULL;
    if (!r && s && !(*ret = strdup(s)))
        r = -ENOMEM;
    json_object_put(o);
    free(raw);
    return r;
}

/*
 * A key size in bytes from the header, as bits. 0 when the value is absent, not an integer, not
 * positive or above FL_MAX_KEY_BYTES (then bytes * 8 could also wrap): the caller reports it as
 * malformed, with the value as found in @p ret_text.
 */
static uint32_t key_bits_of(const struct fl_jtree_node *v, char *ret_text, size_t size)
{
    char *text = NULL;

    if (v && v->type == FL_JT_INT && v->i > 0 && v->i <= FL_MAX_KEY_BYTES)
        return (uint32_t)v->i * 8;
    if (v)
        (void)jsonc_text(v, false, &text);
    snprintf(ret_text, size, "%.24s", !v ? "(missing)" : text ? text : "(null)");
    free(text);
    return 0;
}

static int set_malformed(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_malformed(char **dst, const char *fmt, ...)
{
    va_list ap;
    int r;

    if (*dst)
        return 0; /* the first reason is enough */
    va_start(ap, fmt);
    r = vasprintf(dst, fmt, ap);
    va_end(ap);
    if (r < 0) {
        *dst = NULL;
        return -ENOMEM;
    }
    return 0;
}

static int id_of(const char *key)
{
    uint64_t id;
    if (fl_parse_u64(key, &id) < 0 || id >= INT_MAX)
        return -1;
    return (int)id;
}

/*
 * An array element as json_object_get_string() shows it, for what names a keyslot, digest or segment:
 * a string, or an integer written in @p buf; NULL for anything else (no id is written so).
 */
static const char *jelem_text(const struct fl_jtree_node *e, char buf[static 24])
{
    if (e->type == FL_JT_STRING)
        return e->str;
    if (e->type != FL_JT_INT)
        return NULL;
    snprintf(buf, 24, "%" PRId64, e->i);
    return buf;
}

static int jelem_id(const struct fl_jtree_node *e)
{
    char buf[24];
    return id_of(jelem_text(e, buf));
}

static int jarray_has_id(const struct fl_jtree_node *arr, int id)
{
    if (arr && arr->type == FL_JT_ARRAY)
        for (const struct fl_jtree_node *e = fl_jtree_first(arr); e; e = fl_jtree_next(e)) {
            if (jelem_id(e) == id)
                return 1;
        }
    return 0;
}

static int keyslot_read_kdf(struct crypt_device *cd, struct fl_keyslot *ks)
{
    struct crypt_pbkdf_type pbkdf;
    int r;

    if (crypt_keyslot_get_pbkdf(cd, ks->id, &pbkdf) < 0)
        return 0; /* no KDF (reencrypt keyslot) */
    r = fl_strdup_opt(&ks->kdf, pbkdf.type);
    if (!r && strcmp(pbkdf.type ? pbkdf.type : "", CRYPT_KDF_PBKDF2) == 0)
        r = fl_strdup_opt(&ks->hash, pbkdf.hash);
    ks->iterations = pbkdf.iterations;
    ks->memory_kib = pbkdf.max_memory_kb;
    ks->threads = pbkdf.parallel_threads;
    return r;
}

static enum fl_priority priority_of(struct crypt_device *cd, int id)
{
    switch (crypt_keyslot_get_priority(cd, id)) {
    case CRYPT_SLOT_PRIORITY_IGNORE:
        return FL_PRIORITY_IGNORE;
    case CRYPT_SLOT_PRIORITY_PREFER:
        return FL_PRIORITY_PREFER;
    default:
        return FL_PRIORITY_NORMAL;
    }
}

static int luks2_read_keyslot(struct crypt_device *cd, int id, const struct fl_jtree_node *jks,
                              struct fl_keyslot *ks)
{
    const struct fl_jtree_node *area = jget(jks, "area");
    char text[32];
    int r;

    ks->id = id;
    r = fl_strdup_opt(&ks->type, jstr(jks, "type"));
    if (!r && id >= FL_MAX_KEYSLOTS)
        r = set_malformed(&ks->malformed,
                          "keyslot id %d is beyond LUKS2's %d keyslots (0-%d): libcryptsetup "
                          "ignores it, so no passphrase opens it",
                          id, FL_MAX_KEYSLOTS, FL_MAX_KEYSLOTS - 1);
    if (!r)
        r = keyslot_read_kdf(cd, ks);
    if (!r)
        r = fl_strdup_opt(&ks->cipher, jstr(area, "encryption"));
    if (!r)
        r = fl_strdup_opt(&ks->af_hash, jstr(jget(jks, "af"), "hash"));
    if (r)
        return r;
    if (!key_bits_of(jget(jks, "key_size"), text, sizeof(text)))
        r = set_malformed(&ks->malformed, "volume key size %s is out of range (1 to %d bytes)", text,
                          FL_MAX_KEY_BYTES);
    /* only "raw" areas hold encrypted key material (reencrypt keyslots have "none", "checksum", …) */
    ks->key_bits = key_bits_of(jget(area, "key_size"), text, sizeof(text));
    if (!r && !ks->key_bits &&
        (jget(area, "key_size") || !strcmp(jstr(area, "type") ? jstr(area, "type") : "", "raw")))
        r = set_malformed(&ks->malformed, "keyslot area key size %s is out of range (1 to %d bytes)", text,
                          FL_MAX_KEY_BYTES);
    ks->area_offset = ju64(area, "offset");
    ks->area_size = ju64(area, "size");
    ks->priority = priority_of(cd, id);
    return r;
}

/*
 * Keyslots with the ids LUKS2 allows first, then the others (malformed) while there is room: a
 * header listing junk keyslots first cannot push a real one out of the 32 places.
 */
static int luks2_read_keyslots(struct crypt_device *cd, const struct fl_jtree_node *root, struct fl_volume *v)
{
    for (int pass = 0; pass < 2; pass++) {
        for (const struct fl_jtree_node *jks = fl_jtree_first(jget(root, "keyslots")); jks;
             jks = fl_jtree_next(jks)) {
            int id = id_of(jks->key), r;

            if (id < 0 || v->n_keyslots >= FL_MAX_KEYSLOTS || (id < FL_MAX_KEYSLOTS) != (pass == 0))
                continue;
            r = luks2_read_keyslot(cd, id, jks, &v->keyslots[v->n_keyslots++]);
            if (r)
                return r;
        }
    }
    return 0;
}

/* The one keyslot lookup: the index of keyslot @p id in v->keyslots, or v->n_keyslots. */
static size_t keyslot_index(const struct fl_volume *v, int id)
{
    size_t i = 0;

    while (i < v->n_keyslots && v->keyslots[i].id != id)
        i++;
    return i;
}

/* fl_volume_keyslot(), for the reader that is still filling @p v in. */
static struct fl_keyslot *keyslot_by_id(struct fl_volume *v, int id)
{
    size_t i = keyslot_index(v, id);
    return i < v->n_keyslots ? &v->keyslots[i] : NULL;
}

static int luks2_read_tokens(const struct fl_jtree_node *root, struct fl_volume *v)
{
    for (const struct fl_jtree_node *jt = fl_jtree_first(jget(root, "tokens")); jt; jt = fl_jtree_next(jt)) {
        const struct fl_jtree_node *slots = jget(jt, "keyslots");
        struct fl_token *t;
        int id = id_of(jt->key), r;

        if (id < 0 || v->n_tokens >= FL_MAX_TOKENS)
            continue;
        t = &v->tokens[v->n_tokens++];
        t->id = id;
        r = fl_strdup_opt(&t->type, jstr(jt, "type"));
        if (r)
            return r;
        for (const struct fl_jtree_node *e = slots && slots->type == FL_JT_ARRAY ? fl_jtree_first(slots)
                                                                                 : NULL;
             e && t->n_keyslots < FL_MAX_KEYSLOTS; e = fl_jtree_next(e)) {
            int slot = jelem_id(e);
            struct fl_keyslot *ks = keyslot_by_id(v, slot);

            if (slot < 0)
                continue;
            t->keyslots[t->n_keyslots++] = slot;
            if (ks && ks->n_tokens < FL_MAX_TOKENS)
                ks->tokens[ks->n_tokens++] = id;
        }
    }
    return 0;
}

static int luks2_read_digests(const struct fl_jtree_node *root, struct fl_volume *v)
{
    for (const struct fl_jtree_node *jd = fl_jtree_first(jget(root, "digests")); jd; jd = fl_jtree_next(jd)) {
        struct fl_digest *d;
        int id = id_of(jd->key), r;

        if (id < 0 || v->n_digests >= FL_MAX_DIGESTS)
            continue;
        d = &v->digests[v->n_digests++];
        d->id = id;
        r = fl_strdup_opt(&d->type, jstr(jd, "type"));
        if (!r)
            r = fl_strdup_opt(&d->hash, jstr(jd, "hash"));
        if (r)
            return r;
        d->iterations = ju32(jd, "iterations");
    }
    return 0;
}

/*
 * Key size of a segment: that of a keyslot bound to the digest that covers the segment, else the
 * volume key size libcryptsetup reports. 0 with @p ret_text set when the header's value is out of range.
 */
static uint32_t luks2_segment_key_bits(struct crypt_device *cd, const struct fl_jtree_node *root, int segment,
                                       char *ret_text, size_t size)
{
    const struct fl_jtree_node *keyslots = jget(root, "keyslots");
    int vk_bytes;

    for (const struct fl_jtree_node *jd = fl_jtree_first(jget(root, "digests")); jd; jd = fl_jtree_next(jd)) {
        const struct fl_jtree_node *slots = jget(jd, "keyslots");

        if (!jarray_has_id(jget(jd, "segments"), segment) || !slots || slots->type != FL_JT_ARRAY)
            continue;
        for (const struct fl_jtree_node *e = fl_jtree_first(slots); e; e = fl_jtree_next(e)) {
            char buf[24];
            const char *name = jelem_text(e, buf);
            const struct fl_jtree_node *jks = name ? jget(keyslots, name) : NULL;

            if (jget(jks, "key_size"))
                return key_bits_of(jget(jks, "key_size"), ret_text, size);
        }
    }
    vk_bytes = crypt_get_volume_key_size(cd);
    snprintf(ret_text, size, "%d", vk_bytes);
    return vk_bytes > 0 && vk_bytes <= FL_MAX_KEY_BYTES ? (uint32_t)vk_bytes * 8 : 0;
}

static int luks2_read_segments(struct crypt_device *cd, const struct fl_jtree_node *root, struct fl_volume *v)
{
    for (const struct fl_jtree_node *js = fl_jtree_first(jget(root, "segments")); js;
         js = fl_jtree_next(js)) {
        struct fl_segment *s;
        char text[32];
        int id = id_of(js->key), r;

        if (id < 0 || v->n_segments >= FL_MAX_SEGMENTS)
            continue;
        s = &v->segments[v->n_segments++];
        s->id = id;
        r = fl_strdup_opt(&s->type, jstr(js, "type"));
        if (!r)
            r = fl_strdup_opt(&s->cipher, jstr(js, "encryption"));
        if (!r)
            r = fl_strdup_opt(&s->integrity, jstr(jget(js, "integrity"), "type"));
        if (r)
            return r;
        s->sector_size = ju32(js, "sector_size");
        s->offset = ju64(js, "offset");
        if (s->cipher) {
            s->key_bits = luks2_segment_key_bits(cd, root, id, text, sizeof(text));
            if (!s->key_bits &&
                set_malformed(&s->malformed, "volume key size %s is out of range (1 to %d bytes)", text,
                              FL_MAX_KEY_BYTES) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static int luks2_read_requirements(struct crypt_device *cd, const struct fl_jtree_node *root,
                                   struct fl_volume *v)
{
    const struct fl_jtree_node *mandatory = jget(jget(jget(root, "config"), "requirements"), "mandatory");
    uint32_t flags = 0;
    char *joined = NULL;

    for (const struct fl_jtree_node *e =
             mandatory && mandatory->type == FL_JT_ARRAY ? fl_jtree_first(mandatory) : NULL;
         e; e = fl_jtree_next(e)) {
        char *text = NULL, *next;
        const char *req = e->type == FL_JT_STRING ? e->str : NULL;
        int r = e->type == FL_JT_STRING ? 0 : jsonc_text(e, true, &text);

        if (r < 0 || asprintf(&next, "%s%s%s", joined ? joined : "", joined ? "," : "",
                              req    ? req
                              : text ? text
                                     : "") < 0) {
            free(text);
            free(joined);
            return -ENOMEM;
        }
        free(text);
        free(joined);
        joined = next;
    }
    v->requirements = joined;

    if (crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &flags) == 0) {
        if (flags & CRYPT_REQUIREMENT_UNKNOWN)
            v->unknown_requirements = true;
        if (flags & (CRYPT_REQUIREMENT_OFFLINE_REENCRYPT | CRYPT_REQUIREMENT_ONLINE_REENCRYPT))
            v->reencrypt = true;
    }
    if (crypt_reencrypt_status(cd, NULL) != CRYPT_REENCRYPT_NONE)
        v->reencrypt = true;
    for (size_t i = 0; i < v->n_keyslots; i++)
        if (v->keyslots[i].type && !strcmp(v->keyslots[i].type, "reencrypt"))
            v->reencrypt = true;
    return 0;
}

static int fl_cmp_int(const void *a, const void *b)
{
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

#define SORT_BY_ID(arr, n) qsort((arr), (n), sizeof((arr)[0]), fl_cmp_int)

static int read_luks2(struct crypt_device *cd, struct fl_volume *v)
{
    struct fl_jtree tree;
    const char *json;
    const struct fl_jtree_node *root;
    int r;

    r = crypt_dump_json(cd, &json, 0);
    if (r < 0)
        return r;
    r = fl_jtree_parse(json, &tree);
    if (r < 0) {
        fl_jtree_free(&tree);
        return r;
    }
    root = &tree.nodes[0];

    r = fl_strdup_opt(&v->label, crypt_get_label(cd));
    if (!r)
        r = fl_strdup_opt(&v->subsystem, crypt_get_subsystem(cd));
    if (!r)
        r = luks2_read_keyslots(cd, root, v);
    if (!r) {
        /* Every id-carrying struct starts with "int id", so sorting by the first int sorts by id. */
        SORT_BY_ID(v->keyslots, v->n_keyslots);
        r = luks2_read_tokens(root, v);
    }
    if (!r)
        r = luks2_read_digests(root, v);
    if (!r)
        r = luks2_read_segments(cd, root, v);
    if (!r) {
        SORT_BY_ID(v->tokens, v->n_tokens);
        SORT_BY_ID(v->digests, v->n_digests);
        SORT_BY_ID(v->segments, v->n_segments);
        r = luks2_read_requirements(cd, root, v);
    }
    if (!r)
        r = crypt_get_metadata_size(cd, &v->metadata_size, &v->keyslots_size);
    fl_jtree_free(&tree);
    return r;
}

static int read_luks1(struct crypt_device *cd, const struct header_copy *c, struct fl_volume *v)
{
    char hash[FL_LUKS1_HASH_SPEC_LEN + 1];
    struct fl_segment *s = &v->segments[0];
    struct fl_digest *d = &v->digests[0];
    int max = crypt_keyslot_max(CRYPT_LUKS1), vk_bytes, r;

    if (c->len < FL_LUKS1_HEADER_SIZE)
        return -EINVAL;
    memcpy(hash, c->bytes + FL_LUKS1_OFF_HASH_SPEC, FL_LUKS1_HASH_SPEC_LEN);
    hash[FL_LUKS1_HASH_SPEC_LEN] = '\0';
    r = fl_strdup_opt(&v->hash_spec, hash);
    if (r)
        return r;

    v->n_segments = 1;
    s->id = 0;
    if (asprintf(&s->cipher, "%s-%s", crypt_get_cipher(cd), crypt_get_cipher_mode(cd)) < 0) {
        s->cipher = NULL;
        return -ENOMEM;
    }
    r = fl_strdup_opt(&s->type, "crypt");
    if (r)
        return r;
    vk_bytes = crypt_get_volume_key_size(cd);
    if (vk_bytes > 0 && vk_bytes <= FL_MAX_KEY_BYTES)
        s->key_bits = (uint32_t)vk_bytes * 8;
    else if (set_malformed(&s->malformed, "volume key size %d is out of range (1 to %d bytes)", vk_bytes,
                           FL_MAX_KEY_BYTES) < 0)
        return -ENOMEM;
    s->sector_size = 512;
    s->offset = crypt_get_data_offset(cd) * 512;

    v->n_digests = 1;
    d->id = 0;
    r = fl_strdup_opt(&d->type, "pbkdf2");
    if (!r)
        r = fl_strdup_opt(&d->hash, hash);
    if (r)
        return r;
    d->iterations = fl_be32(c->bytes + FL_LUKS1_OFF_DIGEST_ITERATIONS);

    for (int id = 0; id < max; id++) {
        crypt_keyslot_info st = crypt_keyslot_status(cd, id);
        struct fl_keyslot *ks;
        size_t key_size = 0;

        if (st != CRYPT_SLOT_ACTIVE && st != CRYPT_SLOT_ACTIVE_LAST)
            continue;
        ks = &v->keyslots[v->n_keyslots++];
        ks->id = id;
        r = fl_strdup_opt(&ks->type, "luks1");
        if (!r)
            r = keyslot_read_kdf(cd, ks);
        if (!r)
            r = fl_strdup_opt(&ks->cipher, crypt_keyslot_get_encryption(cd, id, &key_size));
        if (!r)
            r = fl_strdup_opt(&ks->af_hash, hash);
        if (r)
            return r;
        ks->key_bits = key_size > 0 && key_size <= FL_MAX_KEY_BYTES ? (uint32_t)key_size * 8 : 0;
        if (!ks->key_bits && set_malformed(&ks->malformed, "key size %zu is out of range (1 to %d bytes)",
                                           key_size, FL_MAX_KEY_BYTES) < 0)
            return -ENOMEM;
        ks->priority = FL_PRIORITY_NORMAL;
    }
    return 0;
}

/*
 * Open @p path for reading only once it is known to be a regular file or a block device on a real
 * file system: it is first opened with O_PATH (which runs no driver code and cannot block), checked
 * with fstat() and fstatfs(), and only then reopened for reading through /proc/self/fd, which names
 * exactly the inode just checked. A FIFO, a character device (whose open() alone can have side
 * effects), or a file on proc or sysfs is never opened for reading, not even if it replaced a
 * listed file after the directory walk.
 */
static int open_source(const char *path, unsigned flags, int *ret_fd, uint64_t *ret_size)
{
    char proc[64];
    struct stat st, again;
    int pfd, fd, r;

    pfd = open(path, O_PATH | O_CLOEXEC | ((flags & FL_READ_NOFOLLOW) ? O_NOFOLLOW : 0));
    if (pfd < 0)
        return -errno;
    if (fstat(pfd, &st) < 0)
        r = -errno;
    else if (S_ISDIR(st.st_mode))
        r = -EISDIR;
    else if (S_ISLNK(st.st_mode))
        r = -ELOOP; /* FL_READ_NOFOLLOW */
    else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        r = -ENOTBLK;
    else /* a file on proc or sysfs is no image file: reading it runs kernel code */
        r = fl_fd_on_pseudo_fs(pfd, NULL) > 0 ? -ENOTBLK : 0;
    if (r < 0) {
        close(pfd);
        return r;
    }
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
    fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    r = fd < 0 ? -errno : 0;
    close(pfd);
    if (fd < 0)
        return r;
    if (fstat(fd, &again) < 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino)
        r = -EAGAIN; /* cannot happen: /proc/self/fd reopens the same inode */
    if (!r)
        r = source_size(fd, &again, ret_size);
    if (r < 0) {
        close(fd);
        return r;
    }
    /* only the bytes asked for: no readahead into keyslot areas or data (a cold scan reads less) */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    *ret_fd = fd;
    return 0;
}

/*
 * open_source() and header_region() of @p source: @p first (FIRST_READ bytes) gets its first *@p n
 * bytes, *@p len the size of its LUKS header region (0: none). *@p fd is the open source, or -1: the
 * caller closes it, also on failure.
 */
static int open_region(const char *source, unsigned flags, unsigned char *first, int *fd, uint64_t *size,
                       size_t *n, size_t *len)
{
    int r = open_source(source, flags, fd, size);

    return r < 0 ? r : header_region(*fd, *size, first, n, len);
}

/* Read @p source (or @p ahead, opened ahead of time: taken over) into @p v. */
static int load(struct fl_volume *v, const char *source, unsigned flags, struct fl_volume_source *ahead)
{
    struct header_copy copy = {.fd = -1};
    struct crypt_device *cd = NULL;
    unsigned char *first;
    uint64_t size = 0;
    size_t n = 0, len = 0;
    int fd = -1, r;

    if (ahead) {
        fd = ahead->fd;
        size = ahead->size;
        ahead->fd = -1;
    }
    first = malloc(2 * FIRST_READ); /* the first read, then room to compare the copy (header_copy_make()) */
    if (!first)
        r = -ENOMEM;
    else if (fd >= 0)
        r = header_region(fd, size, first, &n, &len);
    else
        r = open_region(source, flags, first, &fd, &size, &n, &len);
    if (r >= 0 && len == 0)
        r = -EMEDIUMTYPE;
    if (r >= 0)
        r = header_copy_make(fd, size, &first, n, len, &copy);
    if (fd >= 0)
        close(fd);
    free(first);
    if (r < 0)
        goto out;

    r = crypt_init(&cd, copy.path);
    if (r < 0)
        goto out;
    crypt_set_log_callback(cd, fl_crypt_log_quiet, NULL);
    r = crypt_load(cd, CRYPT_LUKS, NULL);
    if (r < 0) {
        /* It looked like LUKS, but no header copy is usable. */
        r = r == -ENOMEM ? r : -EUCLEAN;
        goto out;
    }
    v->header_repaired = header_copy_changed(&copy);
    r = fl_strdup_opt(&v->uuid, crypt_get_uuid(cd));
    if (r)
        goto out;
    if (!strcmp(crypt_get_type(cd), CRYPT_LUKS1)) {
        v->luks_version = 1;
        r = read_luks1(cd, &copy, v);
    } else if (!strcmp(crypt_get_type(cd), CRYPT_LUKS2)) {
        v->luks_version = 2;
        r = read_luks2(cd, v);
    } else {
        r = -EMEDIUMTYPE;
    }
out:
    crypt_free(cd);
    header_copy_done(&copy);
    return r;
}

int fl_volume_read(const char *path, const char *header_path, struct fl_volume **ret)
{
    return fl_volume_read_flags(path, header_path, 0, ret);
}

static int volume_read(const char *path, const char *header_path, unsigned flags,
                       struct fl_volume_source *ahead, struct fl_volume **ret)
{
    struct fl_volume *v;
    int r;

    v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->path = strdup(path);
    if (!v->path || (header_path && !(v->header_path = strdup(header_path)))) {
        fl_volume_free(v);
        return -ENOMEM;
    }
    if (header_path) {
        /* The data device must exist; the header comes from the detached file. */
        struct stat st;
        r = stat(path, &st) < 0 ? -errno : 0;
        if (!r)
            r = load(v, header_path, flags, NULL);
    } else {
        r = load(v, path, flags, ahead);
    }
    if (r < 0) {
        fl_volume_free(v);
        return r;
    }
    *ret = v;
    return 0;
}

int fl_volume_read_flags(const char *path, const char *header_path, unsigned flags, struct fl_volume **ret)
{
    return volume_read(path, header_path, flags, NULL, ret);
}

int fl_volume_source_open(const char *path, unsigned flags, struct fl_volume_source *ret)
{
    int r;

    ret->fd = -1;
    ret->size = 0;
    r = open_source(path, flags, &ret->fd, &ret->size);
    if (r < 0)
        return r;
    /* the first read, started now: it completes while the caller works on other volumes */
    (void)posix_fadvise(ret->fd, 0, FIRST_READ, POSIX_FADV_WILLNEED);
    return 0;
}

void fl_volume_source_close(struct fl_volume_source *src)
{
    if (src->fd >= 0)
        close(src->fd);
    src->fd = -1;
}

int fl_volume_read_source(struct fl_volume_source *src, const char *path, struct fl_volume **ret)
{
    int r = src->fd >= 0 ? volume_read(path, NULL, 0, src, ret) : -EINVAL;

    fl_volume_source_close(src);
    return r;
}

void fl_volume_free(struct fl_volume *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_segments; i++) {
        free(v->segments[i].type);
        free(v->segments[i].cipher);
        free(v->segments[i].integrity);
        free(v->segments[i].malformed);
    }
    for (size_t i = 0; i < v->n_keyslots; i++) {
        free(v->keyslots[i].type);
        free(v->keyslots[i].kdf);
        free(v->keyslots[i].hash);
        free(v->keyslots[i].cipher);
        free(v->keyslots[i].af_hash);
        free(v->keyslots[i].malformed);
    }
    for (size_t i = 0; i < v->n_tokens; i++)
        free(v->tokens[i].type);
    for (size_t i = 0; i < v->n_digests; i++) {
        free(v->digests[i].type);
        free(v->digests[i].hash);
    }
    free(v->path);
    free(v->header_path);
    free(v->uuid);
    free(v->label);
    free(v->subsystem);
    free(v->hash_spec);
    free(v->requirements);
    free(v);
}

const struct fl_keyslot *fl_volume_keyslot(const struct fl_volume *v, int id)
{
    size_t i = keyslot_index(v, id);
    return i < v->n_keyslots ? &v->keyslots[i] : NULL;
}

const struct fl_token *fl_volume_token(const struct fl_volume *v, int id)
{
    for (size_t i = 0; i < v->n_tokens; i++)
        if (v->tokens[i].id == id)
            return &v->tokens[i];
    return NULL;
}

const char *fl_priority_name(enum fl_priority p)
{
    switch (p) {
    case FL_PRIORITY_IGNORE:
        return "ignore";
    case FL_PRIORITY_PREFER:
        return "prefer";
    case FL_PRIORITY_NORMAL:
        break;
    }
    return "normal";
}

const char *fl_volume_strerror(int err)
{
    switch (-err) {
    case ENOENT:
        return "no such file or device";
    case EACCES:
    case EPERM:
        return "permission denied";
    case EISDIR:
        return "is a directory";
    case ENOTBLK:
        return "neither a block device nor a regular file";
    case EMEDIUMTYPE:
        return "not a LUKS volume (no LUKS signature)";
    case EUCLEAN:
        return "LUKS signature found, but no header copy is valid (corrupt or unsupported header)";
    case EIO:
        return "I/O error while reading the header";
    case ENXIO:
    case ENODEV:
        return "device not present (vanished?)";
    case ENOMEM:
        return "out of memory";
    case ELOOP:
        return "directory tree too deep, or a symbolic link where a file was listed";
    default:
        return strerror(-err);
    }
}

const char *fl_volume_strerror_at(int err, const char *path)
{
    if (err == -ENOTBLK && path && fl_path_on_pseudo_fs(path, NULL) > 0)
        return "on a pseudo file system (proc, sysfs, ...): never read";
    return fl_volume_strerror(err);
}

/* ---- trying a key without writing ---- */

/* Largest header region (everything before the data) copied to try a key: LUKS2 allows 16 MiB of
 * metadata and keyslots by default, and far less is usual. */
#define TRY_KEY_MAX_REGION (256u * 1024u * 1024u)

/* A private copy of the first @p len bytes of @p fd (sparse: blocks of zeros are not written). */
static int region_copy(int fd, uint64_t size, uint64_t len, int *ret_fd)
{
    const size_t chunk = 1u << 20;
    unsigned char *buf = malloc(chunk);
    int mfd = memfd_create("fipsluks-try-key", MFD_CLOEXEC), r = 0;

    if (!buf || mfd < 0) {
        r = !buf ? -ENOMEM : -errno;
        goto out;
    }
    if (ftruncate(mfd, (off_t)size) < 0) {
        r = -errno;
        goto out;
    }
    for (uint64_t off = 0; off < len && r >= 0; off += chunk) {
        size_t want = len - off < chunk ? (size_t)(len - off) : chunk;
        ssize_t n = fl_pread_full(fd, buf, want, (off_t)off);

        if (n < 0)
            r = (int)n;
        else if (n > 0 && !fl_all_zero(buf, (size_t)n))
            r = fl_pwrite_full(mfd, buf, (size_t)n, (off_t)off) < 0 ? -EIO : 0;
        if (n >= 0 && (size_t)n < want)
            break;
    }
out:
    free(buf);
    if (r < 0 && mfd >= 0)
        close(mfd);
    if (r >= 0)
        *ret_fd = mfd;
    return r;
}

int fl_volume_try_key(const struct fl_volume *v, int keyslot, const char *key, size_t key_len)
{
    const char *source = v->header_path ? v->header_path : v->path;
    struct crypt_device *cd = NULL;
    uint64_t size = 0, len;
    char proc[64];
    int fd = -1, mfd = -1, r;

    r = open_source(source, 0, &fd, &size);
    if (r < 0)
        return r;
    /* a detached header is all header; otherwise everything before the first data segment */
    len = size;
    if (!v->header_path)
        for (size_t i = 0; i < v->n_segments; i++)
            if (v->segments[i].offset && v->segments[i].offset < len)
                len = v->segments[i].offset;
    r = len > TRY_KEY_MAX_REGION ? -EFBIG : region_copy(fd, size, len, &mfd);
    close(fd);
    if (r < 0)
        return r;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", mfd);
    r = crypt_init(&cd, proc);
    if (r >= 0) {
        crypt_set_log_callback(cd, fl_crypt_log_quiet, NULL);
        r = crypt_load(cd, CRYPT_LUKS, NULL);
    }
    if (r >= 0) {
        r = crypt_activate_by_passphrase(cd, NULL, keyslot, key, key_len, 0);
        r = r >= 0 ? 1 : r == -EPERM ? 0 : r;
    }
    crypt_free(cd);
    close(mfd);
    return r;
}
