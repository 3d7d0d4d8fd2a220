/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file secret.h
 * Secrets (passphrases, key files) in crypt_safe_alloc() memory: locked, wiped when freed.
 * Never printed, never logged, never put into JSON.
 */
#ifndef FIPSLUKS_SECRET_H
#define FIPSLUKS_SECRET_H

#include <stddef.h>
#include <stdint.h>

/** Largest key file read, like cryptsetup's default --keyfile-size limit (8 MiB). */
#define FL_SECRET_MAX_SIZE (8u * 1024u * 1024u)
/** Shortest passphrase Red Hat's FIPS OpenSSL (RHEL 9, 10) accepts for PBKDF2; shorter ones get a warning. */
#define FL_SECRET_MIN_PASSPHRASE 8u

/** What fl_secret_read_key_file() noticed about a key file (bits of its @p ret_notes). */
enum fl_key_file_note {
    FL_KEY_FILE_EXPOSED = 1u << 0, /**< a regular file that group or others can read */
    FL_KEY_FILE_SHORT = 1u << 1,   /**< the secret is shorter than FL_SECRET_MIN_PASSPHRASE */
};

struct fl_secret {
    char *data; /**< crypt_safe_alloc() memory, NUL-terminated for convenience */
    size_t len; /**< length in bytes; the secret may contain NUL bytes */
};

/**
 * Read a key file (cryptsetup semantics: the file's exact bytes, newlines included).
 * @param path    file, or "-" for standard input
 * @param offset  bytes to skip first (--keyfile-offset)
 * @param size    bytes to read (--keyfile-size); 0 reads to the end of the file, at most
 *                FL_SECRET_MAX_SIZE
 * @return 0, or -ENOENT/-EACCES/-EISDIR, -EINVAL (empty, or shorter than @p size),
 *         -EFBIG (larger than FL_SECRET_MAX_SIZE), -ENOMEM, -EIO.
 */
int fl_secret_read_file(const char *path, uint64_t offset, uint64_t size, struct fl_secret **ret);

/**
 * fl_secret_read_file(), and what a caller should warn about: the permissions of the file it read
 * (from the open file, not the path) and the length of the secret.
 * @param ret_notes  on success, fl_key_file_note bits
 */
int fl_secret_read_key_file(const char *path, uint64_t offset, uint64_t size, struct fl_secret **ret,
                            unsigned *ret_notes);

/** Whether @p s is shorter than FL_SECRET_MIN_PASSPHRASE. */
int fl_secret_short(const struct fl_secret *s);

/** A secret holding a copy of @p len bytes at @p buf. @return 0 or -ENOMEM. */
int fl_secret_new(const void *buf, size_t len, struct fl_secret **ret);

/** Equal length and bytes (constant time in the contents). */
int fl_secret_equal(const struct fl_secret *a, const struct fl_secret *b);

/** Wipe and release; NULL is allowed. */
void fl_secret_free(struct fl_secret *s);

/** A secret offered to a verb's protocol (fl_migrate(), fl_reencrypt(), the LUKS1 conversion) and what became
 * of it. */
struct fl_secret_offer {
    const struct fl_secret *secret;
    const char *source; /**< for messages: "key file 'x'", "standard input", "the terminal" */
    int keyslot;        /**< out: the keyslot it opens (-1: none tried yet / none) */
};

#endif
