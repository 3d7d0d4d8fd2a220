/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file reencrypt.h
 * Re-encrypting a volume offline to what a FIPS host opens, in one resumable run: AES-XTS
 * (aes-xts-plain64, 512-bit key) with a new volume key, its digest PBKDF2 with an approved hash,
 * every keyslot PBKDF2 with an approved hash.
 *
 * fl_reencrypt() is the whole protocol behind one call:
 *
 *  0. Take the lock migrate and reencrypt share (an OFD lock on the header device: -EBUSY while another
 *     migrate or reencrypt works on it) and refuse, before anything is written: a read-only target
 *     (-EROFS: a read-only loop device or mount, an immutable or append-only file), a sparse image
 *     whose file system has no room for its holes (-ENOSPC), a header UUID libcryptsetup cannot
 *     name its reencryption lock after (-ENOTSUP). The reason is in ->why.
 *  1. Refuse a device or image in use (-EBUSY, the reason in ->why): libcryptsetup re-encrypts
 *     offline here, and a mounted or mapped device would be corrupted; an image backing a loop
 *     device that a process holds open is in use too.
 *  2. Refuse what cannot be re-encrypted (-ENOTSUP, the reason in ->why): integrity (AEAD/HMAC)
 *     segments, more than one data segment, a source cipher this host computes neither with
 *     OpenSSL nor with the kernel's crypto API (AF_ALG), headers with unknown requirements.
 *  3. Match every secret to the keyslots it opens (-EPERM when one opens none; nothing written).
 *     Keyslots no secret opens are asked for (ops->ask); those still without a secret would be
 *     dropped: ops->confirm_drop() decides (no callback: -ECANCELED, nothing written).
 *     The plan is then in the result (plan_old/plan_new: the keyslot numbers before and after,
 *     data_size, rate): options->dry_run stops here, having written nothing; otherwise
 *     ops->confirm() is asked (also before an interrupted reencryption is resumed).
 *  4. Back up the header (never over an existing file; fsynced).
 *     Then remove the unbound keyslots a given secret opens: a run killed after adding its new
 *     keyslots and before initialising the reencryption leaves them (bound to a key no data uses).
 *  5. A LUKS1 volume is converted to LUKS2 first (fl_luks1_convert(), whose backup is the backup).
 *     Before anything else is read, the LUKS1 header of a conversion an earlier run left cut short is
 *     put back from that run's backup, once proven this volume's (fl_luks1_recover()).
 *  6. Add one new PBKDF2 keyslot per kept keyslot (same secret, priority and tokens) bound to a new
 *     volume key, and initialise the reencryption in the header (options->resilience).
 *  7. Run it (ops->progress reports and may stop it after the current hotzone). libcryptsetup
 *     keeps its progress in the header: after an interruption or a crash (SIGKILL, power loss) the
 *     same call resumes, recovering the interrupted hotzone first. When it finishes, the old keyslots
 *     and digest are gone.
 *  8. Verify that every secret opens the re-encrypted volume, and that the sampled sectors (with
 *     verify_full every sector) decrypt under the new key to what they were: -EPROTO if not, with what
 *     did not verify in ->unproven.
 */
#ifndef FIPSLUKS_REENCRYPT_H
#define FIPSLUKS_REENCRYPT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migrate.h"
#include "secret.h"
#include "volume.h"
#include "why.h"

/** The data cipher of a re-encrypted volume. */
#define FL_REENCRYPT_CIPHER   "aes-xts-plain64"
#define FL_REENCRYPT_KEY_BITS 512u

struct fl_reencrypt_options {
    const char *header;     /**< detached header, or NULL */
    const char *hash;       /**< PBKDF2 hash of the new keyslots and digest (sha256, sha512) */
    uint32_t iter_time_ms;  /**< keyslot PBKDF2 unlock time (when @p iterations is 0) */
    uint32_t iterations;    /**< forced keyslot PBKDF2 iterations (>= 1000), 0: calibrate */
    const char *backup;     /**< header backup file, or NULL: a new file in @p backup_dir */
    const char *backup_dir; /**< NULL: $FIPSLUKS_BACKUP_DIR, else FL_DEFAULT_BACKUP_DIR */
    uint64_t hotzone_bytes; /**< largest area re-encrypted per step (0: libcryptsetup's default) */
    /** How the area being rewritten survives a crash: "checksum" (NULL; checksums of its old sectors,
     *  safe when the device writes whole encryption sectors atomically) or "journal" (a copy in the
     *  header first: safe against torn sectors too, every byte written twice). Fixed at the start. */
    const char *resilience;
    /** Test every secret and fill the plan in the result, then stop: nothing is written. */
    bool dry_run;
    /** Prove every sector, not a sample: a digest of the whole plaintext under the old key before the first
     *  data write (kept in the journal) and under the new key at the end, one read of the device each. */
    bool verify_full;
};

enum fl_reencrypt_event {
    FL_REENC_UNLOCK,    /**< unlocking @p keyslot with secret @p secret */
    FL_REENC_BACKUP,    /**< the header backup is written (result->backup) */
    FL_REENC_CONVERTED, /**< LUKS1 was converted to LUKS2 */
    FL_REENC_KEYSLOT,   /**< new keyslot @p keyslot was added for old keyslot @p secret (its id) */
    FL_REENC_START,     /**< the data is being re-encrypted (fresh start) */
    FL_REENC_RESUME,    /**< an interrupted reencryption is resumed */
    FL_REENC_RECOVER,   /**< the hotzone of a crashed run is recovered first */
    FL_REENC_VERIFY,    /**< checking that every secret opens the result */
    FL_REENC_FINALISE,  /**< the data was all re-encrypted; the header's clean-up, cut short, is written */
    FL_REENC_LEFTOVER,  /**< removed unbound keyslot @p keyslot, left by a start cut short; secret @p secret
                           opens it */
    FL_REENC_LUKS1_RESTORED, /**< the LUKS1 header of a LUKS1 conversion cut short was put back from the
                                backup result->backup (fl_luks1_recover()); it is converted again */
};

struct fl_reencrypt_result;

struct fl_reencrypt_ops {
    void *userdata;
    /** A secret for @p keyslot that no given secret opens (the @p attempt -th try): 0 with *@p ret,
     *  1 to leave it without, or -errno (-EINTR). NULL: not asked. */
    int (*ask)(void *userdata, const struct fl_keyslot *ks, unsigned attempt, struct fl_secret **ret);
    /** Keyslots @p ids would be dropped: 0 to go on, -ECANCELED to stop (not confirmed), or another -errno
     *  (-EINTR: stopped by a signal), returned as it is. NULL: -ECANCELED. */
    int (*confirm_drop)(void *userdata, const int *ids, size_t n);
    void (*event)(void *userdata, enum fl_reencrypt_event ev, int keyslot, int secret);
    /** The plan is in @p plan (plan_old/plan_new, n_dropped, data_size, rate, resumed); nothing is written
     *  yet: 0 to go on, -ECANCELED (not confirmed) or another -errno (-EINTR), returned as it is.
     *  NULL: go on. Not called in a dry run. */
    int (*confirm)(void *userdata, const struct fl_reencrypt_result *plan);
    /** @p done of @p size bytes re-encrypted; nonzero stops after the current step. */
    int (*progress)(void *userdata, uint64_t done, uint64_t size);
};

/** What did not verify at the end of a re-encryption (fl_reencrypt() returned -EPROTO). */
enum fl_reencrypt_unproven {
    FL_REENC_PROVEN = 0,         /**< nothing failed to verify */
    FL_REENC_SECRET_FAILS,       /**< a given secret (->failed_secret) does not open the result */
    FL_REENC_TYPED_FAILS,        /**< a typed passphrase does not open the result */
    FL_REENC_DATA_UNDECRYPTABLE, /**< the data could not be decrypted under the new key to check it */
    FL_REENC_SAMPLE_DIFFERS,     /**< a sampled sector decrypts to other bytes than before the first write */
    FL_REENC_DATA_DIFFERS,       /**< verify_full: the whole plaintext differs, though the samples match */
};

struct fl_reencrypt_result {
    char backup[PATH_MAX]; /**< header backup written by this run ("" if none) */
    struct fl_why why;     /**< with -EBUSY/-ENOTSUP/-EINVAL: why, for an operator */
    bool converted_luks1;  /**< this run converted LUKS1 to LUKS2 */
    bool resumed;          /**< an interrupted reencryption was continued */
    bool wrote;            /**< the header was written */
    bool finished;         /**< the data is re-encrypted and the old key is gone */
    bool interrupted;      /**< ops->progress stopped it; the same call continues */
    bool nothing_to_do;    /**< the volume was FIPS-compatible and not in reencryption: nothing written */
    size_t samples_proven; /**< sampled sectors that decrypt under the new key to what they were (0: none) */
    bool data_proven_full; /**< with verify_full: the whole plaintext is what it was */
    enum fl_reencrypt_unproven unproven; /**< with -EPROTO: what did not verify (->why says it in words) */
    int failed_secret;                   /**< index of a secret that opens no keyslot, or -1 */
    int old_ids[FL_MAX_KEYSLOTS], new_ids[FL_MAX_KEYSLOTS]; /**< kept keyslot -> its new keyslot */
    size_t n_kept;
    int dropped[FL_MAX_KEYSLOTS]; /**< keyslots without a secret, gone when the run finishes */
    size_t n_dropped;
    uint64_t done, size; /**< bytes re-encrypted / data size, as last reported */
    /** The plan (fresh start): kept keyslot plan_old[i] gets the new keyslot plan_new[i], the lowest free
     *  number, as libcryptsetup picks it; the old keyslots exist until the end, so no number is kept. */
    int plan_old[FL_MAX_KEYSLOTS], plan_new[FL_MAX_KEYSLOTS];
    size_t n_plan;
    uint64_t data_size; /**< bytes of data the reencryption rewrites */
    uint64_t rate;      /**< estimated bytes per second (fl_reencrypt_measure()), 0 if unknown */
};

/**
 * Re-encrypt @p path (see the file comment). @p secrets[i].keyslot is set to the keyslot each opens.
 * @return 0 (finished, interrupted by ops->progress, or a dry run: see @p res), or -errno: -EBUSY (in
 *         use, or another migrate or reencryption holds the lock), -EROFS (read-only), -ENOSPC (no
 *         space left: before the start, or its file system filled up while it ran), -ENOTSUP (cannot
 *         be re-encrypted here, or a malformed header UUID), -EPERM (a
 *         secret opens nothing / no secret), -ECANCELED (keyslots would be dropped, not confirmed),
 *         -EXFULL (no room in the keyslots area for the new keyslots; none is left behind),
 *         -EEXIST (backup file exists), -EMEDIUMTYPE/-EUCLEAN/-ENOENT/-EACCES (as fl_volume_read()),
 *         -EPROTO (the re-encrypted volume did not verify: ->unproven, ->why), -EIO (an I/O error, also
 *         reading the re-encrypted data to prove it), -ENOMEM, or libcryptsetup's errno.
 */
int fl_reencrypt(const char *path, const struct fl_reencrypt_options *o, struct fl_secret_offer *secrets,
                 size_t n_secrets, const struct fl_reencrypt_ops *ops, struct fl_reencrypt_result *res);

/**
 * Whether this host can compute the LUKS cipher @p spec ("aes-xts-plain64", "serpent-cbc-essiv:sha256")
 * with a @p key_bits volume key: OpenSSL has it, or the kernel's crypto API (AF_ALG) binds it.
 * @return 1 if so, 0 if not.
 */
int fl_cipher_computable(const char *spec, uint32_t key_bits);

#endif
