/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file provision.h
 * Turning FIPS mode on at provisioning time: one description (kernel arguments, files, systemd
 * units) rendered as a Butane config (variant flatcar, version 1.0.0) or the equivalent Ignition
 * config (spec 3.3.0), so both always say the same thing. Documented in fipsluks-check(8).
 */
#ifndef FIPSLUKS_PROVISION_H
#define FIPSLUKS_PROVISION_H

#include <stdbool.h>
#include <stddef.h>

/** Where the FIPS provider module is on Flatcar, and where the emitted configuration puts things. */
#define FL_PROVISION_MODULE           "/usr/lib64/ossl-modules/fips.so"
#define FL_PROVISION_FIPSMODULE_CNF   "/etc/ssl/fipsmodule.cnf"
#define FL_PROVISION_OPENSSL_CNF      "/etc/ssl/openssl.cnf"
#define FL_PROVISION_OPENSSL_CNF_FIPS "/etc/ssl/openssl.cnf.fips"
/** Where a fipsluks system extension goes on Flatcar (Flatcar's sysext documentation): the image in
 * a directory of its own under /opt/extensions, named with its version and architecture, and a link
 * to it in /etc/extensions, which systemd-sysext merges at boot. */
#define FL_PROVISION_SYSEXT_DIR  "/opt/extensions/fipsluks"
#define FL_PROVISION_SYSEXT_LINK "/etc/extensions/fipsluks.raw"
#define FL_PROVISION_SYSEXT_ARCH "x86-64"

struct fl_provision_file {
    const char *path;
    unsigned mode;        /**< permission bits, e.g. 0644 */
    const char *contents; /**< the file's bytes ("" for an empty file) */
};

struct fl_provision_unit {
    const char *name; /**< "enable-fips.service" */
    bool enabled;
    const char *contents;
};

/** A LUKS volume Ignition creates at first boot (storage.luks), with the PBKDF2 options. */
struct fl_provision_luks {
    char *name;     /**< the mapping name (/dev/mapper/NAME) */
    char *device;   /**< absolute path of the block device */
    char *key_file; /**< NULL (Ignition makes a random key), a URL, or (Butane only) a path relative to
                         butane's --files-dir */
    char *label;    /**< NULL or the LUKS label */
};

/** The luksFormat options of every emitted volume (NULL-terminated): PBKDF2 with SHA-256, AES-XTS. */
extern const char *const fl_provision_luks_options[];

/**
 * Parse "NAME:DEVICE[:KEYFILE[:LABEL]]" (a colon inside a field written "\:", a backslash "\\")
 * into @p ret (released with fl_provision_luks_clear()). NAME must be non-empty, without '/';
 * DEVICE an absolute path. @return 0, -EINVAL or -ENOMEM.
 */
int fl_provision_luks_parse(const char *spec, struct fl_provision_luks *ret);

/** Whether @p key_file is a URL Ignition fetches (scheme://…, or data:). */
bool fl_provision_is_url(const char *key_file);

void fl_provision_luks_clear(struct fl_provision_luks *l);

struct fl_provision {
    const char *const *kernel_args_present; /**< NULL-terminated */
    const char *const *kernel_args_absent;  /**< NULL-terminated */
    const struct fl_provision_file *files;
    size_t n_files;
    const struct fl_provision_unit *units;
    size_t n_units;
    const struct fl_provision_luks *luks; /**< none in fl_provision_fips(): the caller adds them */
    size_t n_luks;
    /** NULL, or the URL of the fipsluks system extension image (scripts/package/sysext) Ignition
     * downloads to FL_PROVISION_SYSEXT_DIR/fipsluks-VERSION-x86-64.raw and links from
     * FL_PROVISION_SYSEXT_LINK. None in fl_provision_fips(): the caller adds it. */
    const char *sysext_url;
};

/** The FIPS provisioning description (static data). */
const struct fl_provision *fl_provision_fips(void);

/** The openssl.cnf that the description installs (static text): fips and base active, fips=yes. */
const char *fl_provision_openssl_cnf(void);

/**
 * Where the system extension image of this fipsluks version goes,
 * FL_PROVISION_SYSEXT_DIR "/fipsluks-" VERSION "-x86-64.raw" (static text).
 */
const char *fl_provision_sysext_path(void);

/**
 * @p p as a Butane config (YAML, variant flatcar, version 1.0.0), a new string. Without LUKS volumes a
 * comment says how to add them. A key file that is not a URL is a local file (butane --files-dir).
 * @return 0, -EINVAL (a sysext_url that is not a URL) or -ENOMEM.
 */
int fl_provision_butane(const struct fl_provision *p, char **ret);

/**
 * @p p as an Ignition config (JSON, spec 3.3.0), a new string.
 * @return 0, -EINVAL (a key file or a sysext_url that is not a URL: Ignition cannot read local files)
 * or -ENOMEM.
 */
int fl_provision_ignition(const struct fl_provision *p, char **ret);

#endif
