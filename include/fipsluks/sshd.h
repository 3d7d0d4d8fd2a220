/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file sshd.h
 * Which SSH algorithms sshd (sshd_config) and ssh (ssh_config) offer, read with their Include files,
 * and what a FIPS host does with each: works and approved, works but not approved, or breaks. The judgement
 * is documented in fipsluks-check(8).
 */
#ifndef FIPSLUKS_SSHD_H
#define FIPSLUKS_SSHD_H

#include <stdbool.h>
#include <stddef.h>

#include "why.h"

struct fl_check;

/** The sshd_config keywords that name algorithms. */
enum fl_sshd_keyword {
    FL_SSHD_CIPHERS = 0,
    FL_SSHD_MACS,
    FL_SSHD_KEX,
    FL_SSHD_HOSTKEY,
    FL_SSHD_PUBKEY,
    FL_SSHD_N_KEYWORDS,
};

/** One algorithm line as written ("Ciphers +aes128-cbc"). */
struct fl_sshd_setting {
    enum fl_sshd_keyword keyword;
    const char *file; /**< host path (one of the config's files[]) */
    unsigned line;
    char *value; /**< the list as written, with any +, - or ^ prefix */
    /** "FILE:LINE: Match …" of the enclosing Match block (one of the config's scopes[]), or NULL */
    const char *match;
    size_t scope; /**< 0 outside any Match block, else 1 + the index of match in scopes[] */
};

struct fl_sshd_config {
    struct fl_sshd_setting *settings; /**< in the order sshd reads them */
    size_t n_settings, allocated_settings;
    char **files; /**< every file read, in order (host paths) */
    size_t n_files, allocated_files;
    /** files that could not be read ("FILE: why"), includes that matched nothing, nesting too deep */
    char **notes;
    size_t n_notes, allocated_notes;
    char **scopes; /**< every Match block: "FILE:LINE: Match …" */
    size_t n_scopes, allocated_scopes;
    /** a file was not read (not a regular file, or over a cap): the verdict may miss lines */
    int incomplete;
    /** set before loading: ssh_config (Host blocks start a scope, as Match blocks do), not sshd_config */
    bool client;
};

/** Canonical name of a keyword ("Ciphers", "MACs", "KexAlgorithms", …). */
const char *fl_sshd_keyword_name(enum fl_sshd_keyword k);

/**
 * Read @p path (a host path, e.g. "/etc/ssh/sshd_config") below @p root and, in place, every file
 * its Include lines name (globs, sorted; relative to /etc/ssh). Keywords are case-insensitive,
 * "Keyword value" and "Keyword=value" both work, Match blocks end at the next Match or the end of
 * the file that holds them. Only regular files are read, never blocking; a file is read once
 * (by device and inode: a second Include of it, or an include cycle, is noted and skipped); at most
 * 256 files and 4 MiB in all (1 MiB each). Linear in the input. A file that cannot be read is
 * noted in notes[] ("FILE: why"), @p path itself too.
 * @return 0, the negative errno of reading @p path itself, or -ENOMEM.
 */
int fl_sshd_config_load(const char *root, const char *path, struct fl_sshd_config *cfg);

/** Parse @p text as if it were the file @p name (Include lines are read below @p root). @return 0 or -ENOMEM.
 */
int fl_sshd_config_parse(const char *root, const char *name, const char *text, struct fl_sshd_config *cfg);

void fl_sshd_config_clear(struct fl_sshd_config *cfg);

/** What a FIPS host does with an SSH algorithm (worst last). */
enum fl_ssh_verdict {
    FL_SSH_APPROVED = 0,     /**< works, FIPS-approved */
    FL_SSH_NOT_APPROVED = 1, /**< works, but not FIPS-approved (FIPS crypto policies disable it): warn */
    FL_SSH_BREAKS = 2,       /**< the handshake fails when it is negotiated: fail */
};

/**
 * The verdict for the SSH algorithm @p name (exact names, e.g. "chacha20-poly1305@openssh.com",
 * "umac-64-etm@openssh.com", "ssh-ed25519"), from a table held to what Debian's sshd does in the
 * FIPS test host (tests/e2e/test-check-sshd-fips.sh, docs/sshd-fips.md). Unknown names are "not
 * approved". @p why (may be NULL) says why; it is empty for approved algorithms.
 */
enum fl_ssh_verdict fl_ssh_judge(const char *name, struct fl_why *why);

/** "approved", "not approved", "breaks". */
const char *fl_ssh_verdict_name(enum fl_ssh_verdict v);

/**
 * Judge what sshd (or, with cfg->client, ssh) offers into @p c (id "sshd" or "ssh-client"): every
 * algorithm of a line in effect is listed with its verdict; fail when one breaks (file and line in
 * the evidence), warn when one is not approved or the compiled-in defaults (no line, or a +/^ list)
 * are in effect, which include such algorithms; pass otherwise. @return 0 or -ENOMEM.
 */
int fl_sshd_evaluate(const struct fl_sshd_config *cfg, struct fl_check *c);

#endif
