/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internal: the sectors of a LUKS data segment, decrypted and encrypted as dm-crypt does it, and
 * digests of their plaintext that prove a re-encryption kept the data.
 *
 * Why: libcryptsetup's resume of an interrupted reencryption has been seen to re-encrypt data that
 * was already re-encrypted and report success (2.6.1 and 2.7.5, killed while finalising the
 * header, then resumed). Before the first data write the caller records the plaintext digests of a
 * sample of sectors (old key and cipher); after the last step it checks them with the new key. A sample is a
 * sample: a sector that was not sampled can change unnoticed (fl_data_digest() covers every sector, at the
 * cost of two full read passes).
 */
#ifndef FL_LIB_SECTORS_H
#define FL_LIB_SECTORS_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct fl_sector_cipher; /* opaque: the keys live in crypt_safe_alloc() memory, wiped on free */

/**
 * The IV sector number of the sector at byte @p offset_in_segment of a data segment: dm-crypt
 * counts 512-byte sectors from the start of the segment and adds the segment's iv_tweak, whatever
 * the segment's sector size (without the iv_large_sectors flag, which LUKS2 does not set: the IV
 * of a 4096-byte sector is its offset / 512).
 */
uint64_t fl_sector_iv(uint64_t offset_in_segment, uint64_t iv_tweak);

/**
 * A cipher for the sectors of one data segment.
 * @p spec: the LUKS cipher spec as in the header, "NAME-CHAIN[-IVMODE[:IVOPTS]]" ("aes-xts-plain64",
 *   "aes-cbc-essiv:sha256", "serpent-xts-plain64", "twofish-cbc-plain64", "aes-xts-plain64be",
 *   "aes-ecb"). IV modes: plain, plain64, plain64be, essiv:HASH (HASH from OpenSSL), null; ecb
 *   takes no IV (an IV mode given with it is ignored, as dm-crypt does).
 * @p key: the raw volume key (@p key_len bytes: the key of cbc/ecb, both halves of xts).
 * @p sector_size: 512, 1024, 2048 or 4096.
 * The block cipher comes from OpenSSL ("aes-256-xts") when it has it, else from the kernel's
 * crypto API over AF_ALG ("xts(serpent)"): where fl_cipher_computable(spec, key_len * 8) is 1,
 * this succeeds for the IV modes above (essiv: when its hash's size is a key size of the cipher).
 * One handle is used by one thread at a time (it holds the backends' contexts).
 * @return 0 and *@p ret, or -EINVAL (no spec or key, an odd xts key length, a sector size not
 *         listed, or the backend that has the cipher refuses this key: a key size the kernel's
 *         cipher lacks, XTS halves that are equal where that is refused), -ENOTSUP (a spec with
 *         other characters than [a-z0-9-:], an IV mode not listed (benbi, lmk, tcw, random,
 *         eboiv, ...), no IV mode for a chain mode that takes one, cipher_null, an ESSIV hash
 *         OpenSSL lacks, or neither OpenSSL nor the kernel has the cipher), -ENOMEM.
 */
int fl_sector_cipher_new(const char *spec, const void *key, size_t key_len, uint32_t sector_size,
                         struct fl_sector_cipher **ret);

/** For tests: which backend computes the block cipher (and the ESSIV cipher). */
enum fl_sector_backend {
    FL_SECTOR_ANY,     /* OpenSSL if it has the cipher, else the kernel */
    FL_SECTOR_OPENSSL, /* OpenSSL only */
    FL_SECTOR_KERNEL,  /* AF_ALG only */
};

/** fl_sector_cipher_new() with the backend chosen: -ENOTSUP when that one cannot compute it. */
int fl_sector_cipher_new_backend(const char *spec, const void *key, size_t key_len, uint32_t sector_size,
                                 enum fl_sector_backend backend, struct fl_sector_cipher **ret);

/** The sector size @p c was made for. */
uint32_t fl_sector_cipher_sector_size(const struct fl_sector_cipher *c);

/**
 * Decrypt / encrypt one sector (fl_sector_cipher_sector_size() bytes of @p buf) in place.
 * @p iv_sector: the IV's sector number, fl_sector_iv() of the sector's offset in the segment.
 * @return 0, or -EIO (the backend failed).
 */
int fl_sector_decrypt(struct fl_sector_cipher *c, uint64_t iv_sector, void *buf);
int fl_sector_encrypt(struct fl_sector_cipher *c, uint64_t iv_sector, void *buf);

/** Free @p c (NULL is fine), wiping its keys. */
void fl_sector_cipher_free(struct fl_sector_cipher *c);

#define FL_SAMPLES_MAX 32

/** A sample of a data segment's sectors and the digests of their plaintext. */
struct fl_samples {
    uint32_t sector_size;
    size_t n;
    uint64_t offset[FL_SAMPLES_MAX];          /* byte offset of each sampled sector inside the data segment */
    unsigned char digest[FL_SAMPLES_MAX][16]; /* first 16 bytes of SHA-256 of the sector's plaintext */
};

/**
 * Choose min(@p n, FL_SAMPLES_MAX, sectors) sectors spread evenly over [0, @p data_size), the first
 * and the last included, in increasing order; read each from @p fd at @p data_offset + offset,
 * decrypt it with @p c (IV: fl_sector_iv(offset, @p iv_tweak)) and keep its digest in *@p out.
 * @p data_size: a multiple of @p sector_size (which must be @p c's).
 * @return 0, or -EINVAL (n == 0, data_size 0 or not a multiple of sector_size, a sector size not
 *         @p c's, offsets beyond off_t), -EIO (short read or the cipher failed), -errno of pread.
 *         *@p out is written only on success.
 */
int fl_samples_take(int fd, uint64_t data_offset, uint64_t data_size, uint64_t iv_tweak, uint32_t sector_size,
                    struct fl_sector_cipher *c, size_t n, struct fl_samples *out);

/**
 * Read the sectors of @p s again, decrypt them with @p c (the new key) and compare the digests.
 * @return 0 when all match; -EPROTO with *@p ret_bad (optional) = the index of the first mismatch;
 *         -EINVAL (@p s malformed or of another sector size than @p c), -EIO / -errno of a read
 *         (*@p ret_bad untouched).
 */
int fl_samples_check(int fd, uint64_t data_offset, uint64_t iv_tweak, struct fl_sector_cipher *c,
                     const struct fl_samples *s, size_t *ret_bad);

/**
 * SHA-256 over the plaintext of every sector of [0, @p data_size), in order, in one read pass
 * (for --verify-data full). @return 0 and @p out, or as fl_samples_take().
 */
int fl_data_digest(int fd, uint64_t data_offset, uint64_t data_size, uint64_t iv_tweak, uint32_t sector_size,
                   struct fl_sector_cipher *c, unsigned char out[32]);

/**
 * @p s as compact JSON for a LUKS2 token, numbers as decimal strings as LUKS2 writes them:
 * {"sector_size":"4096","offsets":["0",...],"sha256_16":["<32 hex>",...]}. 32 samples take
 * about 1.6 KiB serialised with JSON_C_TO_STRING_PLAIN (offsets of a few TiB), at most 1.9 KiB.
 * @return a new object, or NULL (out of memory, or @p s malformed).
 */
json_object *fl_samples_to_json(const struct fl_samples *s);

/**
 * Parse @p o (untrusted: read from a header). The three keys above must be there, as strings and
 * arrays of strings; other keys are ignored (the object may be the whole token). Checked: sector
 * size 512..4096 and a power of two; 1..FL_SAMPLES_MAX offsets, as many digests; each offset a
 * strict decimal, a multiple of the sector size, increasing, its sector ending within off_t;
 * each digest 32 lowercase hex digits.
 * @return 0 and *@p out, or -EINVAL (*@p out untouched).
 */
int fl_samples_from_json(json_object *o, struct fl_samples *out);

#endif
