/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sectors of a LUKS data segment, decrypted and encrypted as dm-crypt does it (sectors.h), and the
 * plaintext digests that prove a re-encryption kept the data.
 *
 * The block cipher comes from OpenSSL when it has it, else from the kernel's crypto API over an
 * AF_ALG socket: the same two places fl_cipher_computable() (reencrypt.c) asks, in the same order,
 * so a volume it calls computable can be read here. The IV of each sector is made here, not by
 * the backend: dm-crypt's IV generators (plain, plain64, plain64be, essiv, null) are a few lines
 * each, and making them in one place keeps both backends bit for bit the same.
 *
 * Secrets: the cipher handle lives in crypt_safe_alloc() memory (it holds the ESSIV salt, a hash
 * of the volume key); the volume key itself is not kept, it is handed to OpenSSL (whose context
 * is cleansed when freed) or to the kernel (setsockopt) once. Every buffer that holds plaintext
 * is crypt_safe_alloc() memory, wiped when freed.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/if_alg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "fipsluks/algorithms.h"
#include "sectors.h"
#include "util.h"

#ifndef AF_ALG
#define AF_ALG 38
#endif
#ifndef SOL_ALG
#define SOL_ALG 279
#endif

#define SPEC_MAX   64 /* longer cipher specs are not plain LUKS specs */
#define IV_MAX     16 /* the IV of a 128-bit block cipher; 64-bit block ciphers take 8 */
#define SALT_MAX   EVP_MAX_MD_SIZE
#define CHUNK_SIZE (256u * 1024u) /* fl_data_digest() reads this much at a time */

enum iv_mode { IV_NONE, IV_PLAIN, IV_PLAIN64, IV_PLAIN64BE, IV_ESSIV, IV_NULL };

/* One keyed block cipher mode (the data cipher, or ESSIV's ECB) on one backend. */
struct engine {
    enum fl_sector_backend backend;
    EVP_CIPHER_CTX *enc, *dec; /* FL_SECTOR_OPENSSL */
    int tfm_fd, op_fd;         /* FL_SECTOR_KERNEL: the bound and keyed socket, and the accepted one */
    size_t iv_len;
};

struct fl_sector_cipher {
    uint32_t sector_size;
    enum iv_mode iv_mode;
    struct engine data;
    struct engine essiv; /* IV_ESSIV: ECB with the salt, over one IV */
};

uint64_t fl_sector_iv(uint64_t offset_in_segment, uint64_t iv_tweak)
{
    return offset_in_segment / 512 + iv_tweak;
}

static bool sector_size_valid(uint32_t s)
{
    return s >= 512 && s <= 4096 && (s & (s - 1)) == 0;
}

/* ---- the spec ------------------------------------------------------------------------------------- */

struct spec {
    char name[SPEC_MAX];  /* "aes" */
    char chain[SPEC_MAX]; /* "xts" */
    enum iv_mode iv_mode;
    char hash[SPEC_MAX]; /* essiv:HASH */
};

/*
 * Split a LUKS cipher spec, NAME-CHAIN[-IVMODE[:IVOPTS]], with fl_cipher_spec_parse(). -ENOTSUP for
 * anything not computed here: the short forms ("aes", "aes-plain", "null"), capi: specs, loop-AES
 * key counts, IV generators other than the five below.
 */
static int spec_parse(const char *text, struct spec *s)
{
    struct fl_cipher_spec sp;
    size_t len;

    memset(s, 0, sizeof(*s));
    if (!text)
        return -EINVAL;
    len = strnlen(text, SPEC_MAX);
    if (len == 0 || len >= SPEC_MAX)
        return -ENOTSUP;
    /* the header is untrusted: only plain names reach OpenSSL and the kernel */
    for (const char *p = text; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == ':'))
            return -ENOTSUP;
    /* key_count: "aes:64-cbc-lmk", loop-AES multi-key */
    if (!fl_cipher_spec_parse(text, &sp) || sp.form != FL_SPEC_FULL || sp.key_count || !*sp.cipher ||
        !*sp.mode || strchr(sp.mode, ':'))
        return -ENOTSUP;
    memcpy(s->name, sp.cipher, strlen(sp.cipher) + 1); /* shorter than the spec, itself < SPEC_MAX */
    memcpy(s->chain, sp.mode, strlen(sp.mode) + 1);

    if (!strcmp(s->chain, "ecb")) { /* no IV: dm-crypt ignores an IV mode given with it */
        s->iv_mode = IV_NONE;
        return 0;
    }
    if (!*sp.iv) /* dm-crypt: "IV mechanism required" */
        return -ENOTSUP;
    if (!strcmp(sp.iv, "essiv")) {
        if (!*sp.ivopts || strpbrk(sp.ivopts, ":-"))
            return -ENOTSUP;
        s->iv_mode = IV_ESSIV;
        memcpy(s->hash, sp.ivopts, strlen(sp.ivopts) + 1);
        return 0;
    }
    if (strchr(text, ':')) /* "plain64:x", "plain64:" (the name and chain have none) */
        return -ENOTSUP;
    if (!strcmp(sp.iv, "plain"))
        s->iv_mode = IV_PLAIN;
    else if (!strcmp(sp.iv, "plain64"))
        s->iv_mode = IV_PLAIN64;
    else if (!strcmp(sp.iv, "plain64be"))
        s->iv_mode = IV_PLAIN64BE;
    else if (!strcmp(sp.iv, "null"))
        s->iv_mode = IV_NULL;
    else /* benbi, lmk, tcw, random, eboiv, elephant, ... */
        return -ENOTSUP;
    return 0;
}

/* ---- the backends --------------------------------------------------------------------------------- */

static void engine_init(struct engine *e)
{
    memset(e, 0, sizeof(*e));
    e->tfm_fd = -1;
    e->op_fd = -1;
}

static void engine_done(struct engine *e)
{
    EVP_CIPHER_CTX_free(e->enc); /* cleanses the key schedule */
    EVP_CIPHER_CTX_free(e->dec);
    if (e->op_fd >= 0)
        close(e->op_fd);
    if (e->tfm_fd >= 0)
        close(e->tfm_fd);
    engine_init(e);
}

static int ossl_op(struct engine *e, int enc, const unsigned char *iv, unsigned char *buf, size_t len)
{
    EVP_CIPHER_CTX *ctx = enc ? e->enc : e->dec;
    int out = 0, fin = 0;

    if (len > INT_MAX)
        return -EIO;
    if (EVP_CipherInit_ex2(ctx, NULL, NULL, e->iv_len ? iv : NULL, enc, NULL) != 1 ||
        EVP_CipherUpdate(ctx, buf, &out, buf, (int)len) != 1 ||
        EVP_CipherFinal_ex(ctx, buf + out, &fin) != 1 || (size_t)out + (size_t)fin != len)
        return -EIO;
    return 0;
}

/* OpenSSL's "NAME-BITS-CHAIN" with @p key: -ENOENT when OpenSSL has no such cipher (try the kernel),
   -EINVAL when it refuses the key. */
static int ossl_open(struct engine *e, const char *name, const char *chain, const void *key, size_t key_len)
{
    char ossl[3 * SPEC_MAX];
    EVP_CIPHER *c;
    size_t bits = key_len * 8;
    int r = -EINVAL;

    if (!strcmp(chain, "xts"))
        bits /= 2;
    snprintf(ossl, sizeof(ossl), "%s-%zu-%s", name, bits, chain);
    c = EVP_CIPHER_fetch(NULL, ossl, NULL);
    if (!c)
        return -ENOENT;
    if ((size_t)EVP_CIPHER_get_key_length(c) != key_len || EVP_CIPHER_get_iv_length(c) > IV_MAX ||
        EVP_CIPHER_get_iv_length(c) < 0)
        goto out;
    e->iv_len = (size_t)EVP_CIPHER_get_iv_length(c);
    e->enc = EVP_CIPHER_CTX_new();
    e->dec = EVP_CIPHER_CTX_new();
    if (!e->enc || !e->dec) {
        r = -ENOMEM;
        goto out;
    }
    if (EVP_CipherInit_ex2(e->enc, c, key, NULL, 1, NULL) != 1 ||
        EVP_CipherInit_ex2(e->dec, c, key, NULL, 0, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(e->enc, 0) != 1 || EVP_CIPHER_CTX_set_padding(e->dec, 0) != 1)
        goto out;
    e->backend = FL_SECTOR_OPENSSL;
    r = 0;
out:
    EVP_CIPHER_free(c);
    if (r < 0)
        engine_done(e);
    return r;
}

static int alg_op(struct engine *e, int enc, const unsigned char *iv, unsigned char *buf, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct af_alg_iv) + IV_MAX)];
        struct cmsghdr align;
    } control;
    struct iovec io = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control.buf};
    struct cmsghdr *cm;
    struct af_alg_iv *aiv;
    uint32_t op = enc ? ALG_OP_ENCRYPT : ALG_OP_DECRYPT;
    size_t done = 0;
    ssize_t n;

    if (e->iv_len && !iv)
        return -EINVAL; /* a mode with an IV is always given one */
    memset(&control, 0, sizeof(control));
    msg.msg_controllen = CMSG_SPACE(sizeof(op)) + (e->iv_len ? CMSG_SPACE(sizeof(*aiv) + e->iv_len) : 0);
    /* laid out by hand: CMSG_FIRSTHDR()/CMSG_NXTHDR() may return NULL, as far as the compiler knows */
    cm = &control.align;
    cm->cmsg_level = SOL_ALG;
    cm->cmsg_type = ALG_SET_OP;
    cm->cmsg_len = CMSG_LEN(sizeof(op));
    memcpy(CMSG_DATA(cm), &op, sizeof(op));
    if (e->iv_len) {
        cm = (struct cmsghdr *)(void *)(control.buf + CMSG_SPACE(sizeof(op)));
        cm->cmsg_level = SOL_ALG;
        cm->cmsg_type = ALG_SET_IV;
        cm->cmsg_len = CMSG_LEN(sizeof(*aiv) + e->iv_len);
        aiv = (struct af_alg_iv *)(void *)CMSG_DATA(cm);
        aiv->ivlen = (uint32_t)e->iv_len;
        memcpy(aiv->iv, iv, e->iv_len);
    }
    do
        n = sendmsg(e->op_fd, &msg, 0);
    while (n < 0 && errno == EINTR);
    crypt_safe_memzero(control.buf, sizeof(control.buf)); /* an ESSIV IV is derived from the key */
    if (n < 0 || (size_t)n != len)
        return -EIO;
    while (done < len) {
        n = read(e->op_fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EIO;
        done += (size_t)n;
    }
    return 0;
}

/* The kernel's "CHAIN(NAME)" over AF_ALG with @p key: -ENOENT when it has no such skcipher,
   -EINVAL when it refuses the key or every IV size tried. @p probe_len: bytes of a trial run. */
static int alg_open(struct engine *e, const char *name, const char *chain, const void *key, size_t key_len,
                    size_t probe_len)
{
    static const size_t iv_sizes[] = {16, 8};
    struct sockaddr_alg sa = {.salg_family = AF_ALG, .salg_type = "skcipher"};
    unsigned char probe[4096], iv[IV_MAX] = {0};
    int r;

    if ((size_t)snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s(%s)", chain, name) >=
        sizeof(sa.salg_name))
        return -ENOENT;
    if (key_len > UINT_MAX || probe_len > sizeof(probe))
        return -EINVAL;
    e->tfm_fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (e->tfm_fd < 0) {
        r = -ENOENT;
        goto fail;
    }
    if (bind(e->tfm_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        r = -ENOENT;
        goto fail;
    }
    if (setsockopt(e->tfm_fd, SOL_ALG, ALG_SET_KEY, key, (socklen_t)key_len) < 0) {
        r = -EINVAL;
        goto fail;
    }
    e->op_fd = accept4(e->tfm_fd, NULL, NULL, SOCK_CLOEXEC);
    if (e->op_fd < 0) {
        r = -errno;
        goto fail;
    }
    e->backend = FL_SECTOR_KERNEL;
    /* AF_ALG does not say the IV size; a request with another size is refused, so try them */
    memset(probe, 0, sizeof(probe));
    if (!strcmp(chain, "ecb")) {
        e->iv_len = 0;
        if (alg_op(e, 1, iv, probe, probe_len) == 0)
            return 0;
    } else
        for (size_t i = 0; i < sizeof(iv_sizes) / sizeof(iv_sizes[0]); i++) {
            e->iv_len = iv_sizes[i];
            if (alg_op(e, 1, iv, probe, probe_len) == 0)
                return 0;
        }
    r = -EINVAL;
fail:
    engine_done(e);
    return r;
}

static int engine_open(struct engine *e, enum fl_sector_backend backend, const char *name, const char *chain,
                       const void *key, size_t key_len, size_t probe_len)
{
    int r;

    engine_init(e);
    if (backend != FL_SECTOR_KERNEL) {
        r = ossl_open(e, name, chain, key, key_len);
        if (r != -ENOENT || backend == FL_SECTOR_OPENSSL)
            return r == -ENOENT ? -ENOTSUP : r;
    }
    r = alg_open(e, name, chain, key, key_len, probe_len);
    return r == -ENOENT ? -ENOTSUP : r;
}

static int engine_op(struct engine *e, int enc, const unsigned char *iv, unsigned char *buf, size_t len)
{
    return e->backend == FL_SECTOR_OPENSSL ? ossl_op(e, enc, iv, buf, len) : alg_op(e, enc, iv, buf, len);
}

/* ---- the cipher ----------------------------------------------------------------------------------- */

/* ESSIV: the salt is HASH(volume key), the key of the same block cipher in ECB mode. */
static int essiv_open(struct fl_sector_cipher *c, const struct spec *s, enum fl_sector_backend backend,
                      const void *key, size_t key_len)
{
    unsigned char *salt;
    unsigned int salt_len = 0;
    EVP_MD *md;
    int r;

    md = EVP_MD_fetch(NULL, s->hash, NULL);
    if (!md)
        return -ENOTSUP;
    salt = crypt_safe_alloc(SALT_MAX);
    if (!salt) {
        EVP_MD_free(md);
        return -ENOMEM;
    }
    r = EVP_Digest(key, key_len, salt, &salt_len, md, NULL) == 1 ? 0 : -ENOTSUP;
    EVP_MD_free(md);
    if (r == 0)
        r = engine_open(&c->essiv, backend, s->name, "ecb", salt, salt_len, c->data.iv_len);
    crypt_safe_free(salt); /* wipes */
    /* -EINVAL: no such key size for this cipher (aes with sha1's 160 bits); dm-crypt fails too */
    if (r == -EINVAL)
        r = -ENOTSUP;
    if (r == 0) { /* ECB over exactly one IV: the block size must be the IV size */
        unsigned char iv[IV_MAX] = {0};

        if (c->essiv.iv_len != 0 || engine_op(&c->essiv, 1, NULL, iv, c->data.iv_len) < 0) {
            engine_done(&c->essiv);
            r = -ENOTSUP;
        }
    }
    return r;
}

int fl_sector_cipher_new_backend(const char *spec, const void *key, size_t key_len, uint32_t sector_size,
                                 enum fl_sector_backend backend, struct fl_sector_cipher **ret)
{
    struct fl_sector_cipher *c;
    struct spec s;
    int r;

    if (!spec || !key || key_len == 0 || !ret || !sector_size_valid(sector_size))
        return -EINVAL;
    r = spec_parse(spec, &s);
    if (r < 0)
        return r;
    if (!strcmp(s.chain, "xts") && key_len % 2)
        return -EINVAL;

    c = crypt_safe_alloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->sector_size = sector_size;
    c->iv_mode = s.iv_mode;
    engine_init(&c->data);
    engine_init(&c->essiv);
    r = engine_open(&c->data, backend, s.name, s.chain, key, key_len, sector_size);
    if (r < 0)
        goto fail;
    if ((c->data.iv_len == 0) != (s.iv_mode == IV_NONE)) { /* an IV mode needs a chain mode with an IV */
        r = -ENOTSUP;
        goto fail;
    }
    if (c->data.iv_len < sizeof(uint64_t) &&
        (s.iv_mode == IV_PLAIN64 || s.iv_mode == IV_PLAIN64BE || s.iv_mode == IV_ESSIV)) {
        r = -ENOTSUP;
        goto fail;
    }
    if (s.iv_mode == IV_ESSIV) {
        r = essiv_open(c, &s, backend, key, key_len);
        if (r < 0)
            goto fail;
    }
    *ret = c;
    return 0;
fail:
    fl_sector_cipher_free(c);
    return r;
}

int fl_sector_cipher_new(const char *spec, const void *key, size_t key_len, uint32_t sector_size,
                         struct fl_sector_cipher **ret)
{
    return fl_sector_cipher_new_backend(spec, key, key_len, sector_size, FL_SECTOR_ANY, ret);
}

uint32_t fl_sector_cipher_sector_size(const struct fl_sector_cipher *c)
{
    return c->sector_size;
}

void fl_sector_cipher_free(struct fl_sector_cipher *c)
{
    if (!c)
        return;
    engine_done(&c->data);
    engine_done(&c->essiv);
    crypt_safe_free(c); /* wipes */
}

/* dm-crypt's IV generators (drivers/md/dm-crypt.c crypt_iv_*_gen). */
static int make_iv(struct fl_sector_cipher *c, uint64_t sector, unsigned char iv[IV_MAX])
{
    size_t len = c->data.iv_len;

    memset(iv, 0, IV_MAX);
    switch (c->iv_mode) {
    case IV_NONE:
    case IV_NULL:
        return 0;
    case IV_PLAIN:
        for (size_t i = 0; i < 4; i++)
            iv[i] = (unsigned char)(sector >> (8 * i));
        return 0;
    case IV_PLAIN64:
    case IV_ESSIV:
        for (size_t i = 0; i < 8; i++)
            iv[i] = (unsigned char)(sector >> (8 * i));
        return c->iv_mode == IV_ESSIV ? engine_op(&c->essiv, 1, NULL, iv, len) : 0;
    case IV_PLAIN64BE: /* big-endian, at the end of the IV */
        for (size_t i = 0; i < 8; i++)
            iv[len - 1 - i] = (unsigned char)(sector >> (8 * i));
        return 0;
    }
    return -EIO;
}

static int sector_op(struct fl_sector_cipher *c, int enc, uint64_t iv_sector, void *buf)
{
    unsigned char iv[IV_MAX];
    int r;

    if (!c || !buf)
        return -EINVAL;
    r = make_iv(c, iv_sector, iv);
    if (r == 0)
        r = engine_op(&c->data, enc, iv, buf, c->sector_size);
    return r < 0 ? -EIO : 0;
}

int fl_sector_decrypt(struct fl_sector_cipher *c, uint64_t iv_sector, void *buf)
{
    return sector_op(c, 0, iv_sector, buf);
}

int fl_sector_encrypt(struct fl_sector_cipher *c, uint64_t iv_sector, void *buf)
{
    return sector_op(c, 1, iv_sector, buf);
}

/* ---- samples -------------------------------------------------------------------------------------- */

/* Whether [data_offset + offset, + len) lies within off_t. */
static bool within_off_t(uint64_t data_offset, uint64_t offset, uint64_t len)
{
    const uint64_t max = (uint64_t)INT64_MAX;

    return data_offset <= max && offset <= max - data_offset && len <= max - data_offset - offset;
}

static int read_exact(int fd, void *buf, size_t len, uint64_t off)
{
    ssize_t n = fl_pread_full(fd, buf, len, (off_t)off);

    if (n < 0)
        return (int)n;
    return (size_t)n == len ? 0 : -EIO;
}

/* The plaintext digest of the sector at @p offset of the segment, into @p digest (16 bytes). */
static int sector_digest(int fd, uint64_t data_offset, uint64_t offset, uint64_t iv_tweak,
                         struct fl_sector_cipher *c, unsigned char *buf, unsigned char digest[16])
{
    unsigned char md[32];
    int r;

    r = read_exact(fd, buf, c->sector_size, data_offset + offset);
    if (r < 0)
        return r;
    r = fl_sector_decrypt(c, fl_sector_iv(offset, iv_tweak), buf);
    if (r < 0)
        return r;
    if (EVP_Digest(buf, c->sector_size, md, NULL, EVP_sha256(), NULL) != 1)
        return -EIO;
    memcpy(digest, md, 16);
    return 0;
}

static bool samples_valid(const struct fl_samples *s)
{
    if (!s || !sector_size_valid(s->sector_size) || s->n == 0 || s->n > FL_SAMPLES_MAX)
        return false;
    for (size_t i = 0; i < s->n; i++)
        if (s->offset[i] % s->sector_size || !within_off_t(0, s->offset[i], s->sector_size) ||
            (i > 0 && s->offset[i] <= s->offset[i - 1]))
            return false;
    return true;
}

int fl_samples_take(int fd, uint64_t data_offset, uint64_t data_size, uint64_t iv_tweak, uint32_t sector_size,
                    struct fl_sector_cipher *c, size_t n, struct fl_samples *out)
{
    struct fl_samples s = {.sector_size = sector_size};
    unsigned char *buf;
    uint64_t sectors;
    size_t max;
    int r = 0;

    if (!c || !out || fd < 0 || n == 0 || !sector_size_valid(sector_size) || c->sector_size != sector_size ||
        data_size == 0 || data_size % sector_size || !within_off_t(data_offset, 0, data_size))
        return -EINVAL;
    sectors = data_size / sector_size;
    max = sectors < FL_SAMPLES_MAX ? (size_t)sectors : FL_SAMPLES_MAX;
    s.n = n < max ? n : max;
    /* sector i * (sectors - 1) / (n - 1): 0 and the last, strictly increasing as sectors >= n
       (sectors < 2^55, so the product stays below 2^60) */
    for (size_t i = 0; i < s.n; i++)
        s.offset[i] = (s.n == 1 ? 0 : (uint64_t)i * (sectors - 1) / (s.n - 1)) * sector_size;

    buf = crypt_safe_alloc(sector_size);
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < s.n && r == 0; i++)
        r = sector_digest(fd, data_offset, s.offset[i], iv_tweak, c, buf, s.digest[i]);
    crypt_safe_free(buf); /* wipes the plaintext */
    if (r == 0)
        *out = s;
    crypt_safe_memzero(&s, sizeof(s));
    return r;
}

int fl_samples_check(int fd, uint64_t data_offset, uint64_t iv_tweak, struct fl_sector_cipher *c,
                     const struct fl_samples *s, size_t *ret_bad)
{
    unsigned char *buf, digest[16];
    int r = 0;

    if (!c || fd < 0 || !samples_valid(s) || c->sector_size != s->sector_size ||
        !within_off_t(data_offset, s->offset[s->n - 1], s->sector_size))
        return -EINVAL;
    buf = crypt_safe_alloc(s->sector_size);
    if (!buf)
        return -ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        r = sector_digest(fd, data_offset, s->offset[i], iv_tweak, c, buf, digest);
        if (r < 0)
            break;
        if (CRYPTO_memcmp(digest, s->digest[i], sizeof(digest))) {
            if (ret_bad)
                *ret_bad = i;
            r = -EPROTO; /* read and decrypted, but not what was there before: did not verify */
            break;
        }
    }
    crypt_safe_free(buf); /* wipes the plaintext */
    crypt_safe_memzero(digest, sizeof(digest));
    return r;
}

int fl_data_digest(int fd, uint64_t data_offset, uint64_t data_size, uint64_t iv_tweak, uint32_t sector_size,
                   struct fl_sector_cipher *c, unsigned char out[32])
{
    EVP_MD_CTX *md;
    unsigned char *buf;
    uint64_t pos = 0;
    int r = 0;

    if (!c || !out || fd < 0 || !sector_size_valid(sector_size) || c->sector_size != sector_size ||
        data_size == 0 || data_size % sector_size || !within_off_t(data_offset, 0, data_size))
        return -EINVAL;
    md = EVP_MD_CTX_new();
    buf = crypt_safe_alloc(CHUNK_SIZE);
    if (!md || !buf) {
        r = -ENOMEM;
        goto out;
    }
    if (EVP_DigestInit_ex2(md, EVP_sha256(), NULL) != 1) {
        r = -EIO;
        goto out;
    }
    while (pos < data_size && r == 0) {
        size_t len = data_size - pos < CHUNK_SIZE ? (size_t)(data_size - pos) : CHUNK_SIZE;

        r = read_exact(fd, buf, len, data_offset + pos);
        for (size_t o = 0; o < len && r == 0; o += sector_size)
            r = fl_sector_decrypt(c, fl_sector_iv(pos + o, iv_tweak), buf + o);
        if (r == 0 && EVP_DigestUpdate(md, buf, len) != 1)
            r = -EIO;
        pos += len;
    }
    if (r == 0 && EVP_DigestFinal_ex(md, out, NULL) != 1)
        r = -EIO;
out:
    crypt_safe_free(buf); /* wipes the plaintext */
    EVP_MD_CTX_free(md);  /* cleanses the partial block */
    return r;
}

/* ---- JSON ----------------------------------------------------------------------------------------- */

static json_object *u64_string(uint64_t v)
{
    char text[24];

    snprintf(text, sizeof(text), "%" PRIu64, v);
    return json_object_new_string(text);
}

/* Add @p v (NULL: out of memory) to @p o under @p key, or to the array @p o when @p key is NULL;
   json-c does not take @p v when adding fails, so it is put here. */
static int add(json_object *o, const char *key, json_object *v)
{
    if (!v || (key ? json_object_object_add(o, key, v) : json_object_array_add(o, v)) < 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

json_object *fl_samples_to_json(const struct fl_samples *s)
{
    json_object *o, *offsets, *digests;
    int r, r2, r3;

    if (!samples_valid(s))
        return NULL;
    o = json_object_new_object();
    if (!o)
        return NULL;
    r = add(o, "sector_size", u64_string(s->sector_size));
    offsets = json_object_new_array();
    r2 = add(o, "offsets", offsets); /* each add() runs: one that fails puts its own value */
    digests = json_object_new_array();
    r3 = add(o, "sha256_16", digests);
    if (r < 0 || r2 < 0 || r3 < 0)
        goto fail;
    for (size_t i = 0; i < s->n; i++) {
        char text[33];

        fl_hex_encode(s->digest[i], 16, text);
        if (add(offsets, NULL, u64_string(s->offset[i])) < 0 ||
            add(digests, NULL, json_object_new_string(text)) < 0)
            goto fail;
    }
    return o;
fail:
    json_object_put(o);
    return NULL;
}

/* A JSON string holding a strict decimal number. */
static int json_u64(json_object *v, uint64_t *ret)
{
    if (!json_object_is_type(v, json_type_string) ||
        strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
        return -EINVAL;
    return fl_parse_u64(json_object_get_string(v), ret) < 0 ? -EINVAL : 0;
}

int fl_samples_from_json(json_object *o, struct fl_samples *out)
{
    struct fl_samples s = {0};
    json_object *v, *offsets, *digests;
    uint64_t size;

    if (!out || !json_object_is_type(o, json_type_object))
        return -EINVAL;
    if (!json_object_object_get_ex(o, "sector_size", &v) || json_u64(v, &size) < 0 || size > 4096 ||
        !sector_size_valid((uint32_t)size))
        return -EINVAL;
    s.sector_size = (uint32_t)size;
    if (!json_object_object_get_ex(o, "offsets", &offsets) ||
        !json_object_is_type(offsets, json_type_array) ||
        !json_object_object_get_ex(o, "sha256_16", &digests) ||
        !json_object_is_type(digests, json_type_array))
        return -EINVAL;
    s.n = json_object_array_length(offsets);
    if (s.n == 0 || s.n > FL_SAMPLES_MAX || json_object_array_length(digests) != s.n)
        return -EINVAL;
    for (size_t i = 0; i < s.n; i++) {
        json_object *d = json_object_array_get_idx(digests, i);
        const char *text;

        if (json_u64(json_object_array_get_idx(offsets, i), &s.offset[i]) < 0 ||
            !json_object_is_type(d, json_type_string) || json_object_get_string_len(d) != 32)
            return -EINVAL;
        text = json_object_get_string(d);
        if (fl_hex_decode(text, s.digest[i], 16) < 0)
            return -EINVAL;
    }
    if (!samples_valid(&s)) /* multiples of the sector size, increasing, within off_t */
        return -EINVAL;
    *out = s;
    return 0;
}
