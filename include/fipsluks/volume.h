/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file volume.h
 * What fipsluks reads from a LUKS header: a plain-data model of one volume.
 *
 * fl_volume_read() fills it through libcryptsetup from a private in-memory copy of the header
 * region, so reading never writes to the device. Every string is heap-allocated and owned by the
 * volume; absent values are NULL (strings) or 0 (numbers). fl_volume_free() releases it all.
 */
#ifndef FIPSLUKS_VOLUME_H
#define FIPSLUKS_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_MAX_KEYSLOTS 32
#define FL_MAX_TOKENS   32
#define FL_MAX_DIGESTS  32
#define FL_MAX_SEGMENTS 32
/** Largest key a header may declare, in bytes: anything larger (or 0, or negative) is malformed. */
#define FL_MAX_KEY_BYTES 1024

/** Keyslot priority, as libcryptsetup names it. */
enum fl_priority {
    FL_PRIORITY_IGNORE = 0,
    FL_PRIORITY_NORMAL = 1,
    FL_PRIORITY_PREFER = 2,
};

/** A data segment (LUKS1 has exactly one). */
struct fl_segment {
    int id;
    char *type;           /**< "crypt" (LUKS2), "linear" during reencryption */
    char *cipher;         /**< full spec, e.g. "aes-xts-plain64"; NULL for linear segments */
    uint32_t key_bits;    /**< volume key size in bits */
    uint32_t sector_size; /**< encryption sector size in bytes */
    char *integrity;      /**< dm-integrity algorithm ("hmac(sha256)"), NULL if none */
    uint64_t offset;      /**< data offset in bytes */
    char *malformed;      /**< why the header's values for this segment are out of range (its volume key
                               size), or NULL; key_bits is then 0 */
};

/** An active keyslot. */
struct fl_keyslot {
    int id;
    char *type;           /**< "luks1", "luks2" or "reencrypt" */
    char *kdf;            /**< "pbkdf2", "argon2i", "argon2id" */
    char *hash;           /**< PBKDF2 hash; NULL for argon2 */
    uint32_t iterations;  /**< PBKDF2 iterations, or argon2 time cost */
    uint32_t memory_kib;  /**< argon2 memory cost; 0 for PBKDF2 */
    uint32_t threads;     /**< argon2 parallel cost; 0 for PBKDF2 */
    char *cipher;         /**< keyslot area encryption, e.g. "aes-xts-plain64" */
    uint32_t key_bits;    /**< keyslot area key size in bits */
    char *af_hash;        /**< anti-forensic splitter hash */
    uint64_t area_offset; /**< LUKS2 keyslot area: byte offset in the header device */
    uint64_t area_size;   /**< LUKS2 keyslot area: size in bytes */
    enum fl_priority priority;
    int tokens[FL_MAX_TOKENS]; /**< ids of the tokens assigned to this keyslot */
    size_t n_tokens;
    char *malformed; /**< why this keyslot cannot be taken at face value (an id beyond LUKS2's 32
                          keyslots, which libcryptsetup ignores; a key size out of range), or NULL */
};

/** A LUKS2 token (systemd-tpm2, systemd-fido2, clevis, luks2-keyring, …). */
struct fl_token {
    int id;
    char *type;
    int keyslots[FL_MAX_KEYSLOTS];
    size_t n_keyslots;
};

/** A volume-key digest. LUKS1 has one, derived with the header hash. */
struct fl_digest {
    int id;
    char *type; /**< "pbkdf2" */
    char *hash;
    uint32_t iterations;
};

/** One LUKS volume (device, image or detached header). */
struct fl_volume {
    char *path;        /**< the device or image as given */
    char *header_path; /**< detached header, or NULL */
    int luks_version;  /**< 1 or 2 */
    char *uuid;
    char *label;            /**< LUKS2 only; NULL when empty */
    char *subsystem;        /**< LUKS2 only; NULL when empty */
    char *hash_spec;        /**< LUKS1 header hash (keyslots, digest and AF alike); NULL for LUKS2 */
    uint64_t metadata_size; /**< LUKS2 JSON+binary header size (one copy) */
    uint64_t keyslots_size; /**< LUKS2 keyslots area size */

    bool reencrypt;            /**< a reencryption is in progress or was interrupted */
    bool unknown_requirements; /**< the header carries requirements this library does not know */
    char *requirements;        /**< comma-separated LUKS2 requirement flags as stored, or NULL */
    bool header_repaired;      /**< one header copy was damaged; loading had to repair it */

    struct fl_segment segments[FL_MAX_SEGMENTS];
    size_t n_segments;
    struct fl_keyslot keyslots[FL_MAX_KEYSLOTS];
    size_t n_keyslots;
    struct fl_token tokens[FL_MAX_TOKENS];
    size_t n_tokens;
    struct fl_digest digests[FL_MAX_DIGESTS];
    size_t n_digests;
};

/**
 * Read the LUKS header of @p path (a block device or an image file) without writing to it.
 *
 * @param path         device or image
 * @param header_path  detached header file, or NULL to read the header from @p path
 * @param ret          on success, a new volume to free with fl_volume_free()
 * Only a regular file or a block device is ever opened for reading: anything else is refused after
 * an O_PATH open, which runs no driver code (a FIFO cannot block, a character device is not opened).
 *
 * @return 0, or a negative errno: -ENOENT (missing), -EACCES (permission), -EISDIR (a directory),
 *         -ENOTBLK (neither a block device nor an image file: a FIFO, a device node, or a file on a
 *         pseudo file system such as proc or sysfs, never read; fl_volume_strerror_at() tells them
 *         apart), -ENXIO (a block device without medium, e.g. a detached loop device),
 *         -EMEDIUMTYPE (no LUKS signature),
 *         -EUCLEAN (LUKS signature but no valid header copy), -EIO, -ENOMEM.
 */
int fl_volume_read(const char *path, const char *header_path, struct fl_volume **ret);

/** fl_volume_read() flags */
enum fl_read_flags {
    FL_READ_NOFOLLOW = 1 << 0, /**< refuse (-ELOOP) when the last component of the path is a symbolic link */
};

/** fl_volume_read() with @p flags (FL_READ_NOFOLLOW for paths found by walking a directory). */
int fl_volume_read_flags(const char *path, const char *header_path, unsigned flags, struct fl_volume **ret);

/** A device or image opened ahead of reading its header (fl_volume_source_open()). */
struct fl_volume_source {
    int fd; /**< -1 when closed */
    uint64_t size;
};

/**
 * Open @p path as fl_volume_read_flags() does (the same checks, the same errors) and have the kernel
 * start reading its first header bytes in the background. A scan opens a few targets ahead of
 * reading them, so that on a cold cache their reads overlap the work on other volumes.
 * @return 0 (close it with fl_volume_source_close(), or read it with fl_volume_read_source()), or
 *         the negative errno fl_volume_read_flags() would return for the open.
 */
int fl_volume_source_open(const char *path, unsigned flags, struct fl_volume_source *ret);

/** Close @p src (nothing when it is closed already). */
void fl_volume_source_close(struct fl_volume_source *src);

/**
 * fl_volume_read() of @p src, opened by fl_volume_source_open() of @p path (which only names it now);
 * @p src is closed in every case. A file removed since it was opened is read whole, as it was.
 */
int fl_volume_read_source(struct fl_volume_source *src, const char *path, struct fl_volume **ret);

/** Why a volume could not be read, for an operator: the errors of fl_volume_read(). Static string. */
const char *fl_volume_strerror(int err);

/**
 * fl_volume_strerror() of @p err for @p path, naming the kind of target where the errno cannot: a
 * path on a pseudo file system (refused with -ENOTBLK, as not an image file) says so. Static string.
 */
const char *fl_volume_strerror_at(int err, const char *path);

/**
 * Whether the secret @p key (@p key_len bytes) opens keyslot @p keyslot of @p v (its device or detached
 * header, read again). Checked on a private in-memory copy of everything before the data (header and
 * keyslot areas, at most 256 MiB): nothing is written, nothing activated. The keyslot's KDF runs once.
 * @return 1 (opens), 0 (does not), or -errno (the device cannot be read, -EFBIG: header region too large,
 *         -ENOENT: no such keyslot, other libcryptsetup errors, e.g. a KDF this host cannot compute).
 */
int fl_volume_try_key(const struct fl_volume *v, int keyslot, const char *key, size_t key_len);

/** Release a volume from fl_volume_read(); NULL is allowed. */
void fl_volume_free(struct fl_volume *v);

/**
 * The libcryptsetup log callback of library code (crypt_set_log_callback(cd, fl_crypt_log_quiet, NULL)):
 * nothing is printed, errors come back as return values; debug messages, which libcryptsetup makes only
 * when the program asked for them, go on to the program's global log callback.
 */
void fl_crypt_log_quiet(int level, const char *msg, void *usrptr);

/** A keyslot of @p v by id, or NULL. */
const struct fl_keyslot *fl_volume_keyslot(const struct fl_volume *v, int id);

/** The token of @p v by id, or NULL. */
const struct fl_token *fl_volume_token(const struct fl_volume *v, int id);

/** Name of a priority ("ignore", "normal", "prefer"). */
const char *fl_priority_name(enum fl_priority p);

#endif
