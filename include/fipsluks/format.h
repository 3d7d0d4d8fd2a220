/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file format.h
 * Creating a new LUKS2 volume that a FIPS host opens: the approved profile, the safety checks
 * (signatures, mounts, holders) and the formatting itself.
 *
 * The profile is what `cryptsetup luksFormat --type luks2 --pbkdf pbkdf2` creates with the same
 * parameters, except that the PBKDF2 iteration counts come from one cheap calibration
 * (fl_kdf_calibrate_pbkdf2()) instead of libcryptsetup's two benchmarks. The target is opened once
 * (fl_format_open()) and every check and write goes through that one open file. fl_format()
 * changes the target only after every check has passed, and puts every byte it wrote back when a
 * later step fails (see fl_format()).
 */
#ifndef FIPSLUKS_FORMAT_H
#define FIPSLUKS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "volume.h"
#include "why.h"

struct fl_secret;

#define FL_FORMAT_DEFAULT_CIPHER "aes-xts-plain64"

/** Size of a random key file made by fl_format_new_key_file() (the LUKS2 volume key size, 512 bits). */
#define FL_FORMAT_KEY_FILE_SIZE 64u
/**
 * Bytes at the start of the target that formatting may change: both LUKS2 header copies and the
 * keyslots area with libcryptsetup's default metadata sizes (16 MiB). The target must be larger.
 */
#define FL_FORMAT_HEADER_AREA (16u * 1024u * 1024u)

/** What to create. fl_format_params_default() fills in the defaults. */
struct fl_format_params {
    const char *type;      /**< "luks2" (the only one allowed) */
    const char *cipher;    /**< "aes-xts-plain64" or "aes-cbc-essiv:sha256" */
    uint32_t key_bits;     /**< 0: the cipher's default (512 for XTS, 256 for CBC-ESSIV) */
    const char *pbkdf;     /**< "pbkdf2" (the only one allowed) */
    const char *hash;      /**< PBKDF2 hash of the keyslot and the digest: "sha256" or "sha512" */
    uint32_t iter_time_ms; /**< unlock time to calibrate the keyslot to (ignored with @c iterations) */
    uint32_t iterations;   /**< > 0: use exactly this many keyslot iterations (>= 1000), no calibration */
    uint32_t sector_size;  /**< 0: 4096 where the target allows it, else 512; or 512, 1024, 2048, 4096 */
    const char *label;     /**< LUKS2 label or NULL (at most 47 bytes) */
    const char *subsystem; /**< LUKS2 subsystem or NULL (at most 47 bytes) */
    const char *uuid;      /**< volume UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx) or NULL for a random one */
};

/** Fill @p p with the defaults: LUKS2, aes-xts-plain64, 512 bits, PBKDF2-SHA256, 2000 ms, auto sector size.
 */
void fl_format_params_default(struct fl_format_params *p);

/** The parameter of struct fl_format_params that fl_format_check_params() refuses. */
enum fl_format_param {
    FL_FORMAT_PARAM_NONE,        /**< none: the profile is approved */
    FL_FORMAT_PARAM_TYPE,        /**< @c type */
    FL_FORMAT_PARAM_CIPHER,      /**< @c cipher */
    FL_FORMAT_PARAM_KEY_SIZE,    /**< @c key_bits (for the cipher) */
    FL_FORMAT_PARAM_PBKDF,       /**< @c pbkdf */
    FL_FORMAT_PARAM_HASH,        /**< @c hash */
    FL_FORMAT_PARAM_ITERATIONS,  /**< @c iterations */
    FL_FORMAT_PARAM_ITER_TIME,   /**< @c iter_time_ms */
    FL_FORMAT_PARAM_SECTOR_SIZE, /**< @c sector_size */
    FL_FORMAT_PARAM_LABEL,       /**< @c label */
    FL_FORMAT_PARAM_SUBSYSTEM,   /**< @c subsystem */
    FL_FORMAT_PARAM_UUID,        /**< @c uuid */
    FL_FORMAT_PARAM_COUNT,
};

/**
 * Whether @p p describes an approved profile. Pure: no I/O, no state.
 *
 * @param ret_param  on refusal, the parameter at fault (never FL_FORMAT_PARAM_NONE); may be NULL
 * @param why        on refusal, a sentence that names the approved choices; may be NULL
 * @return 0, or -EINVAL.
 */
int fl_format_check_params(const struct fl_format_params *p, enum fl_format_param *ret_param,
                           struct fl_why *why);

/** Key size in bits that @p p resolves to (its own, or its cipher's default). */
uint32_t fl_format_key_bits(const struct fl_format_params *p);

/** One signature libblkid found on a target. */
struct fl_signature {
    char *type;       /**< "ext4", "crypto_LUKS", "swap", "linux_raid_member", "dos", "gpt", … */
    char *usage;      /**< "filesystem", "crypto", "raid", "other", or "partition table" */
    char *label;      /**< LABEL, or NULL */
    char *uuid;       /**< UUID (PTUUID for partition tables), or NULL */
    uint64_t offset;  /**< byte offset of its magic */
    size_t magic_len; /**< length of its magic (what wipefs(8) would erase) */
};

struct fl_signatures {
    struct fl_signature *items;
    size_t n;
    size_t allocated;
};

/**
 * List every signature libblkid finds on @p path, the way `wipefs --all` finds them: superblocks
 * (filesystems, LUKS, swap, RAID members, …, also with bad checksums) and partition tables, each
 * with the offset and length of its magic. Each magic found is hidden and the device probed again,
 * so that signatures stored more than once are all listed (a GPT's primary header, its backup
 * header in the last sector, and its protective MBR). Reads only.
 * @return number of signatures appended to @p out, or a negative errno (-ENOENT, -EACCES, -EIO, -ENOMEM).
 */
int fl_format_probe_signatures(const char *path, struct fl_signatures *out);

/** Release the contents of @p s (not @p s itself). */
void fl_signatures_clear(struct fl_signatures *s);

/**
 * Whether @p path is in use, so that formatting it must be refused: a block device that is mounted,
 * used as swap, or held by device-mapper, RAID, LVM or another exclusive opener (O_EXCL fails with
 * EBUSY; /proc/self/mountinfo names it); an image file that backs a loop device in use (mounted,
 * held, or opened exclusively).
 *
 * @param why  when busy, by what (e.g. "mounted on /mnt", "backs /dev/loop3, which is in use");
 *             emptied otherwise. May be NULL.
 * @return 0 (not in use), -EBUSY, or another negative errno (-ENOENT, -EACCES, -ENOTBLK for neither
 *         a block device nor a regular file, -ENOMEM).
 */
int fl_format_check_busy(const char *path, struct fl_why *why);

/**
 * A target opened once for formatting. Every check, every write and any undo act on this one open
 * file, never on the path again: renaming the path or replacing it by a symbolic link after
 * fl_format_open() changes nothing. A block device is opened with O_EXCL and held that way until
 * fl_format_close(), so nothing can mount it, swap on it or build device-mapper or RAID on it
 * meanwhile.
 */
struct fl_format_target;

/**
 * Open @p path read-write as a format target: a regular file (named directly: a symbolic link to a
 * regular file is refused, as a link can be swapped), or a block device (also through a symbolic
 * link such as /dev/disk/by-id/…), opened exclusively.
 *
 * @param why  on -EBUSY or -ELOOP, why; emptied otherwise. May be NULL.
 * @return 0, -ENOENT, -EACCES, -EROFS, -ELOOP (a symbolic link to a regular file), -EISDIR,
 *         -ENOTBLK (neither a block device nor a regular file), -EBUSY (a block device someone else
 *         uses), -ENOMEM.
 */
int fl_format_open(const char *path, struct fl_format_target **ret, struct fl_why *why);

/** Close @p t (NULL is allowed); for a block device this ends the exclusive hold. */
void fl_format_close(struct fl_format_target *t);

/** The path @p t was opened with. */
const char *fl_format_target_path(const struct fl_format_target *t);

/**
 * Whether @p t can be formatted with @p p: not in use (as fl_format_check_busy()), larger than
 * FL_FORMAT_HEADER_AREA, and a whole number of sectors after it. Reads nothing but its size.
 *
 * @param why  on refusal, why; emptied otherwise. May be NULL.
 * @return 0, -EBUSY, -ENOSPC (too small), -EINVAL (size not a multiple of the sector size), or
 *         another negative errno.
 */
int fl_format_check(const struct fl_format_target *t, const struct fl_format_params *p, struct fl_why *why);

/** fl_format_probe_signatures() on the open target @p t. */
int fl_format_signatures(const struct fl_format_target *t, struct fl_signatures *out);

/**
 * Whether @p path can be formatted with @p p: fl_format_open(), fl_format_check(), fl_format_close().
 * @return as fl_format_open() and fl_format_check(); @p why as theirs.
 */
int fl_format_check_target(const char *path, const struct fl_format_params *p, struct fl_why *why);

/**
 * Create a new random key file at @p path: @p len bytes from the OpenSSL DRBG, mode 0400 (set with
 * fchmod() on the new file, whatever the umask), created with O_EXCL (an existing file or symbolic
 * link is never overwritten or followed), synced to disk with its directory entry.
 * @return 0 with the key in @p ret, -EEXIST, or another negative errno. On failure nothing is left
 *         at @p path.
 */
int fl_format_new_key_file(const char *path, size_t len, struct fl_secret **ret);

/** What fl_format() created. */
struct fl_format_result {
    int keyslot; /**< the passphrase keyslot */
    uint32_t key_bits;
    uint32_t sector_size;
    uint32_t iterations;         /**< keyslot PBKDF2 iterations */
    uint32_t digest_iterations;  /**< volume-key digest PBKDF2 iterations */
    bool calibrated;             /**< iterations came from the calibration (not forced) */
    unsigned wiped;              /**< signatures beyond the header area whose magic was erased */
    struct fl_volume *volume;    /**< the new header, re-read from the target */
    struct fl_findings findings; /**< the policy's findings on it (no errors; warnings possible) */
};

/**
 * Format the target @p t as a LUKS2 volume with the profile @p p, and one PBKDF2 keyslot for
 * @p passphrase.
 *
 * In order: the profile is checked; the target is checked not to be in use and to be larger than
 * FL_FORMAT_HEADER_AREA (fl_format_check()); the PBKDF2 iterations are calibrated (unless forced);
 * every signature is listed (fl_format_signatures()). libcryptsetup then creates the new header
 * area in a private memory file the size of the target, never on the target itself: the header
 * (digest iterations set to FL_FORMAT_DIGEST_TIME_MS of PBKDF2 when calibrating, as cryptsetup
 * would) and the keyslot. The first FL_FORMAT_HEADER_AREA bytes of the target and the magic of every
 * signature beyond them are copied into memory, the target is checked once more not to be in use,
 * and only then is anything written, all of it through @p t: the magic of every signature beyond
 * the header area is erased (as `wipefs --all` would; the header area is overwritten anyway, which
 * erases the rest) and the new header area is written and synced. It is read back and must equal
 * what was built; the volume must open with @p passphrase, and fl_policy_evaluate() must report no
 * error. If a step after the first write fails, exactly the ranges this call wrote are written back
 * from the copy, unless the target is in use by then (an image file can become a mounted loop
 * device): then nothing is written back, as that would damage what now uses it.
 *
 * The caller decides beforehand whether existing signatures may be destroyed
 * (fl_format_signatures()); this function erases them without asking.
 *
 * @param ret      on success, the result, to release with fl_format_result_clear()
 * @param why  on failure, which step failed, or empty when the errno says it all; may be NULL
 * @return the keyslot number (>= 0), or a negative errno: -EINVAL (profile refused, or libcryptsetup
 *         refused a parameter), -EBUSY (in use, before anything was written), -ENOSPC (target too
 *         small), -EIO, -ENOMEM, -EPROTO (the new volume failed the re-read: does not open, or the
 *         policy reports an error; the target was restored). Only -EUCLEAN means that a step failed
 *         after writing began and the target could not be put back (writing the saved bytes back
 *         failed, or the target had become busy): the target is damaged.
 */
int fl_format(struct fl_format_target *t, const struct fl_format_params *p,
              const struct fl_secret *passphrase, struct fl_format_result *ret, struct fl_why *why);

/** Release what a successful fl_format() put into @p r. */
void fl_format_result_clear(struct fl_format_result *r);

#endif
