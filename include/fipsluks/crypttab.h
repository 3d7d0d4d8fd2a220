/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file crypttab.h
 * What a host opens at boot: /etc/crypttab, read as systemd-cryptsetup-generator reads it.
 *
 * A line is stripped of leading and trailing white space; an empty line or one starting with '#' is a
 * comment. The rest is split at runs of white space into two to four fields (name, device, key file,
 * options); more fields are ignored, fewer is a malformed line (ignored, counted). Fields are taken as
 * written: like the generator (which scans them with sscanf("%ms")), there is no quoting and no
 * escape in a field. Options are comma-separated; "\," is a comma inside a value, as systemd-cryptsetup
 * splits them. The file is untrusted: lines longer than FL_CRYPTTAB_MAX_LINE and entries past
 * FL_CRYPTTAB_MAX_ENTRIES are ignored (counted), the file is read only when it is a regular file
 * (never blocking on a FIFO) of at most FL_CRYPTTAB_MAX_FILE bytes.
 */
#ifndef FIPSLUKS_CRYPTTAB_H
#define FIPSLUKS_CRYPTTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "secret.h"
#include "volume.h"

#define FL_CRYPTTAB_PATH        "/etc/crypttab"
#define FL_CRYPTTAB_MAX_LINE    4096u
#define FL_CRYPTTAB_MAX_ENTRIES 1024u
#define FL_CRYPTTAB_MAX_FILE    (1024u * 1024u)

/** Tokens an entry asks systemd-cryptsetup to use (bits of fl_crypttab_entry.tokens). */
enum fl_crypttab_token {
    FL_CRYPTTAB_TPM2 = 1u << 0,   /**< tpm2-device= */
    FL_CRYPTTAB_FIDO2 = 1u << 1,  /**< fido2-device= */
    FL_CRYPTTAB_PKCS11 = 1u << 2, /**< pkcs11-uri= */
};

/** What kind of volume an entry says it is (luks unless plain, tcrypt or bitlk is given). */
enum fl_crypttab_type { FL_CRYPTTAB_LUKS = 0, FL_CRYPTTAB_PLAIN, FL_CRYPTTAB_TCRYPT, FL_CRYPTTAB_BITLK };

/** One entry. Strings are owned by it; absent ones are NULL. */
struct fl_crypttab_entry {
    unsigned line;  /**< its line number in the file, from 1 */
    char *name;     /**< the mapping name, as written */
    char *device;   /**< the device, as written (UUID=…, PARTUUID=…, LABEL=…, /dev/…, a file) */
    char *key_spec; /**< the third field as written, or NULL when the line has two fields */
    char
        *key_file; /**< the key file (the path part of PATH:DEVICE), or NULL for none ("none", "-", absent) */
    char *key_device; /**< PATH:DEVICE's device (the key file is on it, not below the root), or NULL */
    char *options;    /**< the fourth field as written, or NULL */
    int key_slot;     /**< key-slot=, or -1 */
    uint64_t keyfile_offset, keyfile_size; /**< keyfile-offset=, keyfile-size= (0: absent) */
    char *header;                          /**< header=, or NULL */
    unsigned tokens;                       /**< fl_crypttab_token bits */
    enum fl_crypttab_type type;
    bool noauto, nofail, discard;
    char *
        bad_option; /**< the first option whose value is malformed (a key-slot= that is no number), or NULL */
};

struct fl_crypttab {
    struct fl_crypttab_entry *entries;
    size_t n, allocated;
    unsigned ignored; /**< lines ignored: malformed, too long, or past FL_CRYPTTAB_MAX_ENTRIES */
};

/**
 * Parse the text of a crypttab (NUL-terminated) into @p ret (appended to; start from {0}).
 * @return 0 or -ENOMEM.
 */
int fl_crypttab_parse(const char *text, struct fl_crypttab *ret);

/**
 * Read FL_CRYPTTAB_PATH below @p root (NULL or "/": the live system; links resolved inside the root).
 * A missing file is an empty crypttab (0). @return 0, or -errno (-ENXIO: not a regular file, -EISDIR,
 * -EFBIG: larger than FL_CRYPTTAB_MAX_FILE, -EACCES, -ENOMEM, …).
 */
int fl_crypttab_read(const char *root, struct fl_crypttab *ret);

/** Why a crypttab or key file could not be read (fl_crypttab_read(), fl_crypttab_read_key()): a static
 * string. */
const char *fl_crypttab_strerror(int err);

/** Release the entries of @p ct (not @p ct itself). */
void fl_crypttab_clear(struct fl_crypttab *ct);

/**
 * The device node udev makes for @p spec: "UUID=x" → "/dev/disk/by-uuid/x", likewise PARTUUID=,
 * LABEL=, PARTLABEL= (the value unquoted, bytes udev would not keep in a link name as \\xNN); anything
 * else is copied. @return 0 or -ENOMEM.
 */
int fl_crypttab_node(const char *spec, char **ret);

/**
 * The entry of @p ct for a LUKS volume: @p uuid (its LUKS UUID) for a UUID= or /dev/disk/by-uuid/ device,
 * @p label (its LUKS2 label, may be NULL) for LABEL=, and otherwise the same file or block device as
 * @p path (compared by identity: the entry's device resolved below @p root, links followed inside it).
 * @return the entry, or NULL.
 */
const struct fl_crypttab_entry *fl_crypttab_find(const struct fl_crypttab *ct, const char *root,
                                                 const char *path, const char *uuid, const char *label);

/**
 * Read the key file of @p e below @p root, with its keyfile-offset= and keyfile-size=, into locked memory.
 * Only a regular file is read (a FIFO or device at that path is refused without being opened for reading);
 * links are resolved inside @p root.
 * @return 0, or -ENOKEY (the entry names no key file), -EREMOTE (the key file is on another device:
 *         PATH:DEVICE), -ENXIO (not a regular file), -EISDIR, -ENOENT, -EACCES, -EINVAL (empty or shorter
 *         than keyfile-size), -EFBIG, -ENOMEM.
 */
int fl_crypttab_read_key(const char *root, const struct fl_crypttab_entry *e, struct fl_secret **ret);

/** Whether an entry's key file opens a keyslot (fl_crypttab_try_keys()). */
enum fl_crypttab_key {
    FL_CRYPTTAB_KEY_UNTRIED = 0, /**< not tried: the keyslot is FIPS-compatible */
    FL_CRYPTTAB_KEY_OPENS,       /**< "opens" */
    FL_CRYPTTAB_KEY_FAILS, /**< "fails": read, and does not open it (or this host cannot compute its KDF) */
    FL_CRYPTTAB_KEY_UNREADABLE, /**< "unreadable": the key file cannot be read (missing, not a regular file,
                                     on another device (PATH:DEVICE), …) */
    FL_CRYPTTAB_KEY_NONE, /**< "none": the entry names no key file, or its key-slot= is another keyslot */
};

/** "opens", "fails", "unreadable", "none"; NULL for FL_CRYPTTAB_KEY_UNTRIED. */
const char *fl_crypttab_key_name(enum fl_crypttab_key k);

/**
 * For each keyslot of @p v (by index into v->keyslots) that is not FIPS-compatible (an error finding of
 * @p f on it), whether the key file of @p e (read below @p root) opens it; the others stay
 * FL_CRYPTTAB_KEY_UNTRIED. key-slot=N limits the try to keyslot N, as systemd-cryptsetup does. Nothing is
 * written (fl_volume_try_key()). @p ret_read_error: why the key file could not be read (-errno), or 0.
 * @return the number of keyslots the key opens, or -ENOMEM.
 */
int fl_crypttab_try_keys(const char *root, const struct fl_crypttab_entry *e, const struct fl_volume *v,
                         const struct fl_findings *f, enum fl_crypttab_key ret[FL_MAX_KEYSLOTS],
                         int *ret_read_error);

/** Whether keyslot @p id of the volume judged by @p f has an error finding (is not FIPS-compatible). */
bool fl_crypttab_keyslot_incompatible(const struct fl_findings *f, int id);

#endif
