/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file scan.h
 * The scan engine: targets in (paths, directories walked, the host's block devices), results out,
 * in target order or as they come. Each target is read on a worker thread (fl_jobs_run()), judged
 * (fl_policy_evaluate()) and, when /etc/crypttab lists it, its crypttab key file tried on the
 * keyslots a FIPS host refuses. Nothing is written. `fipsluks scan` and the luks check of
 * `fipsluks check` use it; they only decide what to show.
 */
#ifndef FIPSLUKS_SCAN_H
#define FIPSLUKS_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "fipsluks/crypttab.h"
#include "fipsluks/policy.h"
#include "fipsluks/volume.h"

struct fl_scan_options {
    const char *header; /**< a detached header for the one target, or NULL */
    const char *root;   /**< a host root (crypttab, key files, discovery below it), or NULL */
    const struct fl_crypttab
        *crypttab;       /**< the host's crypttab (fl_crypttab_read()), or NULL: not consulted */
    unsigned walk_flags; /**< fl_walk_directory() flags for directories added */
    unsigned jobs;       /**< worker threads (1 to FL_JOBS_MAX) */
    bool ordered;        /**< results in target order; else as they come */
    /** Volumes are named as on the examined host (@p root's prefix removed from their path), so that
     *  the findings' remedies are commands for that host; keys are still tried below @p root. */
    bool host_paths;
};

enum fl_scan_outcome {
    FL_SCAN_VOLUME,  /**< read and judged: volume, findings (and crypttab) are set */
    FL_SCAN_ERROR,   /**< could not be read: error */
    FL_SCAN_SKIPPED, /**< not a LUKS volume, or deliberately not read: why */
};

/** What scanning one target gave. */
struct fl_scan_result {
    const char *path;      /**< the target, as added */
    const char *host_path; /**< @p path as the examined host names it (host_paths: without the root) */
    bool probe;            /**< found by walking or discovery (not named) */
    bool named;            /**< named by the caller: a skip deserves a word even when quiet */
    enum fl_scan_outcome outcome;
    const char *why; /**< FL_SCAN_SKIPPED: why (static or the engine's); NULL: no LUKS signature */
    int error;       /**< FL_SCAN_ERROR: the negative errno (fl_volume_strerror()) */
    struct fl_volume *volume;
    struct fl_findings findings;
    const struct fl_crypttab_entry *crypttab; /**< its /etc/crypttab entry, or NULL */
    enum fl_crypttab_key
        keys[FL_MAX_KEYSLOTS]; /**< by keyslot index: whether the entry's key file opens it */
    int key_error;             /**< why the entry's key file could not be read (-errno), or 0 */
};

struct fl_scan;

/** A scan with @p options (copied; the strings and crypttab it points to must outlive it). */
int fl_scan_new(const struct fl_scan_options *options, struct fl_scan **ret);
void fl_scan_free(struct fl_scan *s);

/**
 * Add @p path: a file or device, or a directory (every regular file and block device below it,
 * each probed for a LUKS signature: without one it is skipped, not an error). A path on a pseudo
 * file system (/proc, /sys…) is added as skipped, never read. @return 0 or -ENOMEM (or the walk's
 * -errno for the directory itself).
 */
int fl_scan_add_path(struct fl_scan *s, const char *path);

/** Add every block device with a LUKS signature (below the root). @return 0, -ENOMEM, or the listing's
 * -errno. */
int fl_scan_add_host(struct fl_scan *s);

size_t fl_scan_n_targets(const struct fl_scan *s);

/** Called on the calling thread for each result; a negative return stops the scan (and is returned). */
typedef int (*fl_scan_emit_fn)(const struct fl_scan_result *res, void *ctx);

/**
 * Scan every target added: @p emit gets each result (in target order with options->ordered),
 * valid during the call only (its volume and findings are freed after it). @return 0, -ENOMEM, or
 * what @p emit returned. May be called once.
 */
int fl_scan_run(struct fl_scan *s, fl_scan_emit_fn emit, void *ctx);

/** Target @p i after fl_scan_run(): its path, probe/named and outcome (its volume is gone). */
const struct fl_scan_result *fl_scan_result(const struct fl_scan *s, size_t i);

#endif
