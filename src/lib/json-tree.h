/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A read-only tree of one JSON text, parsed once into a single array of nodes: what scan reads the
 * LUKS2 metadata from (the text libcryptsetup's crypt_dump_json() gives, json-c's own output of the
 * header it loaded). json-c's parser builds an object with a hash table for every JSON object and an
 * allocation for every value, then frees them all; this makes three allocations per text. It reads
 * what json-c writes and what its parser accepts of the rest, as json-c would: the types, integers
 * saturated to int64, strings decoded. Internal to src/lib.
 */
#ifndef FIPSLUKS_JSON_TREE_H
#define FIPSLUKS_JSON_TREE_H

#include <stddef.h>
#include <stdint.h>

enum fl_jtree_type {
    FL_JT_NULL,
    FL_JT_BOOL,
    FL_JT_INT,   /* -?[0-9]+ */
    FL_JT_OTHER, /* any other number (fraction, exponent, NaN, Infinity) */
    FL_JT_STRING,
    FL_JT_ARRAY,
    FL_JT_OBJECT,
};

struct fl_jtree_node {
    enum fl_jtree_type type;
    uint32_t n_children; /* FL_JT_ARRAY, FL_JT_OBJECT: the first one is the next node in the array */
    uint32_t next;       /* how many nodes further the parent's next member or element is; 0: none */
    const char *key;     /* a member's name, decoded (NULL for an element or the root) */
    const char *str;     /* FL_JT_STRING: the value, decoded */
    int64_t i;           /* FL_JT_INT: the value, saturated to int64 */
    const char *raw;     /* the value's text in the parsed document (not NUL-terminated) */
    size_t raw_len;
};

struct fl_jtree {
    struct fl_jtree_node *nodes; /* nodes[0] is the root */
    size_t n, allocated;
    char *strings; /* the decoded strings and names */
};

/*
 * Parse the NUL-terminated @p text (kept by the caller while the tree is used: nodes point into it)
 * into @p ret. At most FL_JTREE_MAX_DEPTH levels of nesting.
 * @return 0, -EINVAL (not one JSON value), -ENOMEM. Free with fl_jtree_free() in every case.
 */
int fl_jtree_parse(const char *text, struct fl_jtree *ret);
#define FL_JTREE_MAX_DEPTH 64

void fl_jtree_free(struct fl_jtree *t);

/* The member @p key of object @p o (NULL when @p o is NULL or not an object, or has none). */
const struct fl_jtree_node *fl_jtree_get(const struct fl_jtree_node *o, const char *key);

/*
 * The first member or element of @p n (NULL: none, or not a container), and the one after @p n:
 * for (const struct fl_jtree_node *m = fl_jtree_first(o); m; m = fl_jtree_next(m)) …
 */
const struct fl_jtree_node *fl_jtree_first(const struct fl_jtree_node *n);
const struct fl_jtree_node *fl_jtree_next(const struct fl_jtree_node *n);

#endif
