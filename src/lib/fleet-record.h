/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fipsluks report's reader: the records of one input (JSON lines, or documents over many lines, in
 * any mix), read in pieces, each parsed straight into the few typed fields report uses. Everything
 * else in a record is checked for syntax and cost, and skipped: no JSON tree is built. Internal to
 * src/lib (fleet.c merges what this reads).
 */
#ifndef FIPSLUKS_FLEET_RECORD_H
#define FIPSLUKS_FLEET_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The type a member had; FL_J_ABSENT when the record has no such member. */
enum fl_jtype {
    FL_J_ABSENT = 0,
    FL_J_NULL,
    FL_J_BOOL,
    FL_J_INT, /* a number without fraction or exponent */
    FL_J_DOUBLE,
    FL_J_STRING,
    FL_J_ARRAY,
    FL_J_OBJECT,
};

/* A string member: s is set (NUL-terminated, decoded) when type is FL_J_STRING. */
struct fl_jstr {
    const char *s;
    enum fl_jtype type;
};

/* An integer member: v is set when type is FL_J_INT (saturated to int64's range). */
struct fl_jint {
    int64_t v;
    enum fl_jtype type;
};

struct fl_jbool {
    bool v;
    enum fl_jtype type;
};

/* One element of a volume's "findings". */
struct fl_rec_finding {
    enum fl_jtype type; /* of the element */
    struct fl_jstr rule, severity, remedy, object;
};

/* One element of a volume's "keyslots". */
struct fl_rec_keyslot {
    enum fl_jtype type; /* of the element */
    struct fl_jint id;
    struct fl_jstr kdf;
    enum fl_jtype tokens;        /* the type of its "tokens" */
    size_t n_tokens;             /* elements of "tokens" */
    bool token_malformed;        /* an element of "tokens" is not an object, or its "type" not a string */
    struct fl_jstr first_token;  /* the "type" of the first token */
    struct fl_jstr crypttab_key; /* whether the host's crypttab key file opens it: "opens", "fails", … */
};

/* A volume: an element of a scan document's "volumes", or the fields of a "volume" record itself. */
struct fl_rec_volume {
    enum fl_jtype type; /* of the element */
    struct fl_jstr path, absolute_path, status, uuid, label, error, header;
    struct fl_jbool fips_compatible;
    struct fl_jint luks_version;
    enum fl_jtype segments;
    bool integrity; /* a segment's "integrity" is a string other than "" and "none" */
    enum fl_jtype findings, keyslots;
    enum fl_jtype crypttab; /* an object when the host's /etc/crypttab lists the volume */
    const struct fl_rec_finding *finding;
    size_t n_findings;
    const struct fl_rec_keyslot *keyslot;
    size_t n_keyslots;
};

/* One record: what report reads of it. Valid until the next record is read. */
struct fl_rec {
    enum fl_jtype type; /* of the value */
    struct fl_jstr tool, record, scanned_at, version;
    struct fl_jint schema_version;
    enum fl_jtype host;
    struct fl_jstr machine_id, hostname, os_id, os_version_id;
    struct fl_jbool kernel_fips;
    enum fl_jtype volumes;
    const struct fl_rec_volume *volume; /* the elements of "volumes" */
    size_t n_volumes;
    struct fl_rec_volume self; /* the record's own volume fields (a "volume" record) */
};

/* What the reader gives its owner: a record, or an input error at a line. Return 0 or -ENOMEM. */
struct fl_rec_sink {
    int (*record)(void *ctx, unsigned long line, const struct fl_rec *rec);
    int (*error)(void *ctx, unsigned long line, const char *message);
    void *ctx;
};

struct fl_rec_reader;

int fl_rec_reader_new(const struct fl_rec_sink *sink, struct fl_rec_reader **ret);
/* Give the reader the next @p len bytes of the input. @return 0 or -ENOMEM (a sink's error too). */
int fl_rec_reader_feed(struct fl_rec_reader *rd, const char *buf, size_t len);
/* The input ended: what is left is read, or reported cut short. @return 0 or -ENOMEM. */
int fl_rec_reader_finish(struct fl_rec_reader *rd);
void fl_rec_reader_free(struct fl_rec_reader *rd);

#endif
