/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading below a root directory (root.c): files, links resolved inside the root, configuration
 * trees with caps. Used by the configuration parsers (openssl-conf.c, sshd-config.c), discover.c and the
 * checks; knows nothing of checks. */
#ifndef FL_LIB_ROOT_H
#define FL_LIB_ROOT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* True when @p root names a root other than "/" (NULL, "" and "/" mean the live system). */
int fl_root_set(const char *root);

/*
 * The path to open for @p path (absolute, as on the host) below @p root, with symbolic links
 * resolved inside @p root the way a chroot would (an absolute link target starts again at @p root;
 * ".." stops at it). Resolution stops at the first component that does not exist; the rest is
 * appended unchanged, so opening the result fails with ENOENT as it should. Without a root, a copy.
 * @return 0 or -ENOMEM, -ELOOP (too many links).
 */
int fl_root_path(const char *root, const char *path, char **ret);

/*
 * Read a whole text file (at most @p max bytes; more is -EFBIG) into a NUL-terminated buffer.
 * Never blocks: anything that is not a regular file (a FIFO, socket, device, directory) is refused
 * with -FL_ENOTREG (-EISDIR for a directory) before it is opened. @return 0 or -errno.
 */
int fl_read_text(const char *path, size_t max, char **ret);

/* Read @p path below @p root with fl_root_path() and fl_read_text(). @return 0 or -errno. */
int fl_root_read_text(const char *root, const char *path, size_t max, char **ret);

/* ---- configuration trees: a file and everything it includes (openssl.cnf, sshd_config) ---- */

/* The errors of reading a configuration tree, besides the usual ones; fl_read_strerror() words them. */
#define FL_ENOTREG ENXIO /* not a regular file (as open(2) says for a socket) */
/* also -EFBIG: one file larger than FL_CONF_MAX_FILE; -E2BIG: FL_CONF_MAX_BYTES read in all;
 * -EMLINK: FL_CONF_MAX_FILES files tried */

/* Whether fl_conf_read() met a file before (by device and inode, whatever its path): no error, but
 * not read again. */
enum fl_conf_seen {
    FL_CONF_NEW = 0, /* not met before: read */
    FL_CONF_CYCLE,   /* being read (an including file): an include cycle */
    FL_CONF_REPEAT,  /* read before, completely */
};

#define FL_CONF_MAX_FILE       (1024u * 1024u)
#define FL_CONF_MAX_FILE_TEXT  "1 MiB"
#define FL_CONF_MAX_BYTES      (4u * 1024u * 1024u)
#define FL_CONF_MAX_BYTES_TEXT "4 MiB"
#define FL_CONF_MAX_FILES      256u
#define FL_CONF_MAX_FILES_TEXT "256"

struct fl_conf_id {
    dev_t dev;
    ino_t ino;
    bool reading; /* between fl_conf_read() and fl_conf_read_end(): an ancestor of what is read now */
};

/* The files of one configuration tree read so far, by identity, and the totals the caps limit. */
struct fl_conf_reader {
    const char *root;
    struct fl_conf_id *ids;
    size_t n_ids, allocated_ids;
    size_t bytes;      /* read in all */
    unsigned attempts; /* files tried, read or not */
};

void fl_conf_reader_init(struct fl_conf_reader *cr, const char *root);
void fl_conf_reader_done(struct fl_conf_reader *cr);

/*
 * Read @p path (a host path) below the reader's root as fl_root_read_text() does, within the caps:
 * at most FL_CONF_MAX_FILES files tried, FL_CONF_MAX_FILE bytes each and FL_CONF_MAX_BYTES in all.
 * A file met before (same st_dev and st_ino, whatever its path) is not read again: *@p ret_seen is
 * FL_CONF_CYCLE when it is still being read (fl_conf_read_end() not called yet), FL_CONF_REPEAT
 * otherwise, and *@p ret NULL; else FL_CONF_NEW. @p ret_type: the file type (S_IFMT bits) on
 * -FL_ENOTREG or -EISDIR, else 0.
 * @return an index for fl_conf_read_end() (>= 0) when read, 0 when met before (nothing to end), or -errno.
 */
int fl_conf_read(struct fl_conf_reader *cr, const char *path, char **ret, mode_t *ret_type,
                 enum fl_conf_seen *ret_seen);
/* The file fl_conf_read() returned @p index for is read completely (its includes too). */
void fl_conf_read_end(struct fl_conf_reader *cr, int index);

/* Why a file was not read, for evidence: "is a FIFO" (with @p type), "larger than 1 MiB: …", or strerror. */
const char *fl_read_strerror(int err, mode_t type);

/* Why a file met before was not read again, for evidence (FL_CONF_CYCLE, FL_CONF_REPEAT; "" for
 * FL_CONF_NEW). */
const char *fl_conf_seen_text(enum fl_conf_seen seen);

/* Whether @p path below @p root exists (following links inside the root). @return 1, 0, or -errno. */
int fl_root_exists(const char *root, const char *path);

#endif
