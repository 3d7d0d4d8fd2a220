/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file sshd.h
 * Which SSH algorithms sshd offers, read from sshd_config and its Include files, and which of them a
 * FIPS host refuses. The judgement is documented in fipsluks-check(8).
 */
#ifndef FIPSLUKS_SSHD_H
#define FIPSLUKS_SSHD_H

#include <stddef.h>

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

/**
 * Why a FIPS host refuses the SSH algorithm @p name (a static sentence), or NULL when it is fine.
 * Exact names, e.g. "chacha20-poly1305@openssh.com", "umac-64-etm@openssh.com", "ssh-ed25519".
 */
const char *fl_sshd_refused(const char *name);

/**
 * Judge what sshd offers into @p c (id "sshd"): fail when a line in effect names a refused
 * algorithm (file and line in the evidence); warn when sshd falls back to OpenSSH's compiled-in
 * defaults (no line, or a +/^ list), which include refused algorithms; pass otherwise.
 * @return 0 or -ENOMEM.
 */
int fl_sshd_evaluate(const struct fl_sshd_config *cfg, struct fl_check *c);

#endif
