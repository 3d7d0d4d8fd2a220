/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file host.h
 * Is this host FIPS-ready? One function per check, each filling a struct fl_check with a verdict,
 * the evidence it read and the remedy. The checks are documented in fipsluks-check(8).
 *
 * Every file is read below a root directory (@p root; NULL or "" for the live system), with
 * symbolic links resolved inside it, so tests can run on fixture trees. Evidence and remedies name
 * paths as they are on the examined host, without the root. The live probes (openssl-live,
 * libcryptsetup) always test the running process. Library code: nothing is printed.
 *
 * Each fl_check_*() function starts by initialising @p c, so @p c must hold nothing (zeroed, or
 * released with fl_check_clear()). A verdict is not an error: they return 0 whatever they find, and
 * a negative errno (-ENOMEM) only when they could not finish; @p c then holds what was gathered,
 * released by fl_check_clear().
 */
#ifndef FIPSLUKS_HOST_H
#define FIPSLUKS_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "fipsluks/check.h"

/** Check ids, in report order. */
#define FL_CHECK_KERNEL         "kernel"
#define FL_CHECK_SYSTEM_FIPS    "system-fips"
#define FL_CHECK_OPENSSL_MODULE "openssl-module"
#define FL_CHECK_OPENSSL_CONFIG "openssl-config"
#define FL_CHECK_OPENSSL_LIVE   "openssl-live"
#define FL_CHECK_LIBCRYPTSETUP  "libcryptsetup"
#define FL_CHECK_SSHD           "sshd"
#define FL_CHECK_SSH_CLIENT     "ssh-client"
#define FL_CHECK_LUKS           "luks"

/** What the live OpenSSL probe found in this process (fl_check_openssl_live()). */
struct fl_openssl_live {
    bool sha256;          /**< SHA-256 can be fetched and computes the right digest */
    bool md5;             /**< MD5 can be fetched (a FIPS configuration refuses it) */
    bool fips_available;  /**< the fips provider is loaded and active */
    bool fips_properties; /**< the default properties require fips=yes */
};

/**
 * Kernel: /proc/sys/crypto/fips_enabled is 1 and fips=1 is on /proc/cmdline.
 * @return 0 (the verdict is in @p c), or -ENOMEM.
 */
int fl_check_kernel(const char *root, struct fl_check *c);

/** /etc/system-fips exists. @return 0 or -ENOMEM. */
int fl_check_system_fips(const char *root, struct fl_check *c);

/**
 * The OpenSSL FIPS provider module (fips.so) exists: where the fips section's "module" names it,
 * else in OPENSSL_MODULES or the compiled-in module directory (live system), or in the usual module
 * directories below @p root. @return 0 or -ENOMEM.
 */
int fl_check_openssl_module(const char *root, struct fl_check *c);

/**
 * The active openssl.cnf includes fipsmodule.cnf, activates the fips provider and sets
 * default_properties = fips=yes. The active file is OPENSSL_CONF or the compiled-in OPENSSLDIR's
 * openssl.cnf on the live system; below @p root the first of the usual locations that exists
 * (the environment describes this process, not the host below @p root, and is ignored there).
 * @param live  the live probe's result, or NULL: on the live system a fips provider that is active
 *              although the files do not activate it (a distribution patch, as on RHEL) turns a
 *              failure into a warning
 * @return 0 or -ENOMEM.
 */
int fl_check_openssl_config(const char *root, const struct fl_openssl_live *live, struct fl_check *c);

/**
 * Live probe in this process: load the OpenSSL configuration like any OpenSSL program, fetch
 * SHA-256 (must work) and MD5 (must be refused), ask whether the fips provider is active and the
 * default properties require fips=yes, and report every active provider's name, version and
 * status. @p ret (optional) receives the raw results. @return 0 or -ENOMEM.
 */
int fl_check_openssl_live(struct fl_check *c, struct fl_openssl_live *ret);

/**
 * The libcryptsetup this process runs with is in FIPS mode: its default LUKS2 PBKDF is pbkdf2.
 * @param live  the live OpenSSL probe's result (to tell "built without FIPS support" from
 *              "OpenSSL is not in FIPS mode"), or NULL
 * @return 0 or -ENOMEM.
 */
int fl_check_libcryptsetup(const struct fl_openssl_live *live, struct fl_check *c);

/** sshd offers no algorithm that breaks on a FIPS host, or is not approved (see sshd.h). @return 0 or
 * -ENOMEM. */
int fl_check_sshd(const char *root, struct fl_check *c);

/**
 * The same judgement for the ssh client: /etc/ssh/ssh_config and its Include files (Host and Match
 * blocks), since outgoing connections from a FIPS host fail the same way. @return 0 or -ENOMEM.
 */
int fl_check_ssh_client(const char *root, struct fl_check *c);

/**
 * The LUKS volumes on the host's block devices (below @p root: ROOT/sys/class/block and ROOT/dev),
 * judged like fipsluks scan. Skipped when there is no /sys/class/block. @return 0 or -ENOMEM.
 */
int fl_check_luks(const char *root, struct fl_check *c);

/**
 * Whether the host runs in FIPS mode, or is switched to it: what an alert needs to tell "a volume a
 * FIPS host would refuse, before the rollout" (a plan) from "on a FIPS host" (a volume that does not
 * unlock at the next boot). Read as the kernel, system-fips and openssl-config checks read.
 */
struct fl_fips_state {
    int mode;         /**< /proc/sys/crypto/fips_enabled: 1, 0, or -1 when it cannot be read */
    bool cmdline;     /**< fips=1 is the last fips= argument on /proc/cmdline */
    bool next_boot;   /**< fips=1 on the next boot's command line: a boot loader entry
                           (/boot/loader/entries), RHEL 8's grubenv kernelopts, /etc/kernel/cmdline, or
                           GRUB_CMDLINE_LINUX[_DEFAULT] in /etc/default/grub */
    bool system_fips; /**< /etc/system-fips exists */
    bool openssl;     /**< the active openssl.cnf puts OpenSSL in FIPS mode (the openssl-config check
                           passes): programs started from now on, libcryptsetup among them, run in it */
};

/** Any of the switches to FIPS mode is in place (fips=1 now or for the next boot, /etc/system-fips,
 * the openssl.cnf). */
bool fl_fips_state_pending(const struct fl_fips_state *s);

/**
 * Read @p ret below @p root (NULL or "" for the live system; the openssl.cnf is then the one this
 * process uses). Unreadable items are "no" (mode -1), not errors.
 * @return 0, or -ENOMEM (@p ret untouched).
 */
int fl_fips_state_read(const char *root, struct fl_fips_state *ret);

/**
 * The stages of the safe order of remedies, in the order they are applied. What forces it: once
 * openssl.cnf requires fips=yes, every program started afterwards runs in FIPS mode (sshd starts a
 * new process for each connection and loads openssl.cnf anew), so what breaks in FIPS mode (argon2
 * keyslots, sshd offering chacha20-poly1305) must be fixed before OpenSSL's switch, not only before
 * the reboot.
 */
enum fl_remedy_stage {
    FL_STAGE_VOLUMES = 1, /**< luks: migrate or re-encrypt while argon2 keyslots still open */
    FL_STAGE_SSH,         /**< sshd (then restart it), ssh-client: before OpenSSL's switch */
    FL_STAGE_OPENSSL,     /**< openssl-module, openssl-config; openssl-live and libcryptsetup follow */
    FL_STAGE_MARKER,      /**< system-fips, and any check the table does not know */
    FL_STAGE_KERNEL,      /**< fips=1 on the kernel command line, and the reboot */
};

/** The stage of a check fl_remedy_step() does not know: before the kernel and its reboot. */
#define FL_STAGE_OTHER FL_STAGE_MARKER

/** Where a check's remedy belongs in the safe order of remedies (a row of a static table). */
struct fl_remedy_step {
    const char *id;             /**< the check */
    enum fl_remedy_stage stage; /**< its stage */
    bool reboot;                /**< the remedy takes effect only after a reboot */
    const char *why;            /**< why it belongs at this place */
};

/** The step of check @p id, or NULL for an id the table does not know. */
const struct fl_remedy_step *fl_remedy_step(const char *id);

/** The stage of check @p id: its step's, or FL_STAGE_OTHER for an id the table does not know. */
enum fl_remedy_stage fl_remedy_stage(const char *id);

/**
 * The checks of @p checks that have something to fix (fail or warn, with a remedy), in the order
 * that keeps the host bootable and reachable: volumes first, then sshd and ssh, then OpenSSL (and
 * what follows from it), then /etc/system-fips, the kernel argument and its reboot last (report
 * order within a stage; see enum fl_remedy_stage).
 * @param order  receives indices into checks->items (room for checks->n)
 * @return how many were written.
 */
size_t fl_remedy_order(const struct fl_checks *checks, size_t *order);

/**
 * Run every check, in report order, into @p out (zero-initialised by the caller).
 * @return number of failed checks, or -ENOMEM (@p out then holds what was done; clear it).
 */
int fl_host_check_all(const char *root, struct fl_checks *out);

#endif
