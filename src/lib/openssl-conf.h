/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading OpenSSL configuration files the way OpenSSL does (enough of it to judge FIPS mode). */
#ifndef FL_LIB_OPENSSL_CONF_H
#define FL_LIB_OPENSSL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "root.h"

/* One "name = value" in a section (the first part of a file, before any [section], is "default"). */
struct fl_ossl_value {
    const char *section; /* owned by the conf's sections[] */
    char *name;
    char *value;      /* quotes removed, comments and surrounding white space stripped */
    const char *file; /* host path of the file that set it (owned by the conf's files[]) */
    unsigned line;
};

/* A file read, or named by an .include that could not be read. */
struct fl_ossl_file {
    char *path;             /* host path */
    int error;              /* 0, or the negative errno met reading it (fl_read_strerror() words it) */
    mode_t type;            /* what it is (S_IFMT bits) when error is -FL_ENOTREG, else 0 */
    enum fl_conf_seen seen; /* FL_CONF_CYCLE or FL_CONF_REPEAT: met before, not read again (error 0) */
};

struct fl_ossl_conf {
    struct fl_ossl_value *values;
    size_t n_values, allocated_values;
    struct fl_ossl_file *files; /* the main file first, then includes in the order read */
    size_t n_files, allocated_files;
    char **sections; /* every section name met, once per [section] line */
    size_t n_sections, allocated_sections;
    size_t *index; /* (section, name) -> the last value's position: open addressing, SIZE_MAX is empty */
    size_t index_size, n_indexed;
    /* why OpenSSL refuses to load this configuration ("FILE:LINE: $x has no value"), or NULL */
    char *refused;
    char *incomplete;     /* why fipsluks stopped reading (a cap), or NULL */
    size_t expanded;      /* bytes $var expansion made in all */
    unsigned env_unknown; /* $ENV::x taken as empty: below a root, the host's environment is unknown */
};

/*
 * Read @p path (a host path, below @p root) and every file it includes (.include FILE or DIR:
 * the *.cnf and *.conf files in it, sorted; relative paths against ".pragma includedir", else
 * OPENSSL_CONF_INCLUDE on the live system, else the including file's directory). Values,
 * section names and .include arguments are copied as OpenSSL does: quotes and escapes, and $var,
 * ${var}, $(var), $section::var expanded from the values read so far (.pragma dollarid honoured;
 * $ENV::x below a root, where the host's environment is unknown, is empty unless the configuration
 * sets it). What makes OpenSSL refuse the whole file (a variable with no value, a value over 64 KiB
 * after expansion) stops reading and sets refused; more than 16 MiB of expansion in all stops reading
 * and sets incomplete. An include that cannot be read is recorded in files[] with its error, and so
 * is a file met before (same device and inode: seen is FL_CONF_REPEAT, or FL_CONF_CYCLE for an
 * include cycle), which is not read again. The caps of fl_conf_read() apply to the whole tree.
 * Linear in the input.
 * @return 0, or the negative errno of reading @p path itself, or -ENOMEM.
 */
int fl_ossl_conf_load(const char *root, const char *path, struct fl_ossl_conf *conf);

/* Parse @p text as if it were the file @p name (includes are read below @p root). @return 0 or -ENOMEM. */
int fl_ossl_conf_parse(const char *root, const char *name, const char *text, struct fl_ossl_conf *conf);

/* The value of @p name in @p section (the last one set, as OpenSSL keeps it), or NULL. */
const struct fl_ossl_value *fl_ossl_conf_get(const struct fl_ossl_conf *conf, const char *section,
                                             const char *name);

/* Whether an "activate" value turns a provider on: 1, yes, true, on (any case). */
bool fl_ossl_truthy(const char *value);

/* Whether a property query ("fips=yes", "fips", "provider=x,fips = yes") requires fips=yes. */
bool fl_ossl_properties_fips(const char *properties);

void fl_ossl_conf_clear(struct fl_ossl_conf *conf);

#endif
