/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A read-only JSON tree in one array of nodes (json-tree.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fipsluks/array.h"
#include "json-tree.h"

struct parser {
    struct fl_jtree *t;
    const char *p;
    char *out; /* where the next decoded string goes, in t->strings */
};

static void skip_space(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

/* A new node (an index: the array moves as it grows), or -ENOMEM. */
static long new_node(struct parser *ps)
{
    struct fl_jtree *t = ps->t;

    /* a node takes a byte of text at least, and fl_jtree_parse() takes at most UINT32_MAX bytes */
    if (fl_array_grow(&t->nodes, &t->allocated, t->n + 1, sizeof(*t->nodes)) < 0)
        return -ENOMEM;
    t->nodes[t->n] = (struct fl_jtree_node){.type = FL_JT_NULL};
    return (long)t->n++;
}

static int hex4(const char *p, unsigned *ret)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return -EINVAL;
        v = v << 4 | d;
    }
    *ret = v;
    return 0;
}

/* The code point @p cp as UTF-8 at @p out; its length. */
static size_t put_utf8(char *out, unsigned cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/*
 * The string at ps->p (its opening quote), decoded into the strings buffer: never longer than its
 * text with the quotes, so the buffer of the text's size holds them all.
 */
static int string(struct parser *ps, const char **ret)
{
    const char *p = ps->p + 1;
    char *start = ps->out, *q = ps->out;

    for (;;) {
        const char *run = p;
        unsigned cp, low;

        while (*p && *p != '"' && *p != '\\')
            p++;
        memcpy(q, run, (size_t)(p - run));
        q += p - run;
        if (*p == '"')
            break;
        if (!*p)
            return -EINVAL;
        p++; /* the backslash */
        switch (*p) {
        case '"':
        case '\\':
        case '/':
            *q++ = *p;
            break;
        case 'b':
            *q++ = '\b';
            break;
        case 'f':
            *q++ = '\f';
            break;
        case 'n':
            *q++ = '\n';
            break;
        case 'r':
            *q++ = '\r';
            break;
        case 't':
            *q++ = '\t';
            break;
        case 'u':
            if (hex4(p + 1, &cp) < 0)
                return -EINVAL;
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* a pair: 12 bytes of text for the 4 of UTF-8 */
                if (p[1] != '\\' || p[2] != 'u' || hex4(p + 3, &low) < 0 || low < 0xdc00 || low > 0xdfff)
                    return -EINVAL;
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return -EINVAL;
            }
            q += put_utf8(q, cp);
            break;
        default:
            return -EINVAL;
        }
        p++;
    }
    *q++ = '\0';
    ps->out = q;
    ps->p = p + 1;
    *ret = start;
    return 0;
}

/* A number, true, false or null: the text up to the next delimiter. */
static int scalar(struct parser *ps, struct fl_jtree_node *n)
{
    const char *s = ps->p, *p = s;
    bool negative = *p == '-', digits = true;
    uint64_t v = 0;
    size_t len;

    while (*p && !strchr(",:]}[{\" \t\n\r", *p))
        p++;
    len = (size_t)(p - s);
    ps->p = p;
    if (len == 4 && !memcmp(s, "null", 4)) {
        n->type = FL_JT_NULL;
        return 0;
    }
    if ((len == 4 && !memcmp(s, "true", 4)) || (len == 5 && !memcmp(s, "false", 5))) {
        n->type = FL_JT_BOOL;
        return 0;
    }
    if (len == (size_t)negative)
        return -EINVAL;
    for (const char *d = s + negative; d < p && digits; d++) {
        digits = *d >= '0' && *d <= '9';
        if (digits)
            v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(*d - '0');
    }
    if (!digits) {
        n->type = FL_JT_OTHER;
        return 0;
    }
    n->type = FL_JT_INT;
    if (negative)
        n->i = v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
    else
        n->i = v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    return 0;
}

static int value(struct parser *ps, long self, unsigned depth);

/* The members or elements of the container @p self, from after its opening bracket. */
static int children(struct parser *ps, long self, bool object, unsigned depth)
{
    const char close = object ? '}' : ']';
    long last = 0;

    skip_space(ps);
    if (*ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        long child;
        int r;

        skip_space(ps);
        if (object) {
            if (*ps->p != '"')
                return -EINVAL;
            r = string(ps, &key);
            if (r < 0)
                return r;
            skip_space(ps);
            if (*ps->p++ != ':')
                return -EINVAL;
            skip_space(ps);
        }
        child = new_node(ps);
        if (child < 0)
            return (int)child;
        ps->t->nodes[child].key = key;
        if (last)
            ps->t->nodes[last].next = (uint32_t)(child - last);
        last = child;
        ps->t->nodes[self].n_children++;
        r = value(ps, child, depth + 1);
        if (r < 0)
            return r;
        skip_space(ps);
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p++ != close)
            return -EINVAL;
        return 0;
    }
}

static int value(struct parser *ps, long self, unsigned depth)
{
    const char *start = ps->p;
    int r;

    if (depth > FL_JTREE_MAX_DEPTH)
        return -EINVAL;
    switch (*ps->p) {
    case '{':
    case '[':
        ps->t->nodes[self].type = *ps->p == '{' ? FL_JT_OBJECT : FL_JT_ARRAY;
        ps->p++;
        r = children(ps, self, *start == '{', depth);
        break;
    case '"':
        ps->t->nodes[self].type = FL_JT_STRING;
        r = string(ps, &ps->t->nodes[self].str);
        break;
    default:
        r = scalar(ps, &ps->t->nodes[self]);
        break;
    }
    /* nodes may have moved: write through the index */
    ps->t->nodes[self].raw = start;
    ps->t->nodes[self].raw_len = (size_t)(ps->p - start);
    return r;
}

int fl_jtree_parse(const char *text, struct fl_jtree *ret)
{
    struct parser ps = {.t = ret, .p = text};
    size_t len = strlen(text);
    long root;
    int r;

    *ret = (struct fl_jtree){0};
    if (len >= UINT32_MAX) /* the nodes count their distances in 32 bits */
        return -EINVAL;
    ret->strings = malloc(len + 1);
    /* room for the usual count of nodes at once: libcryptsetup's JSON has one per 20 to 30 bytes */
    if (!ret->strings || fl_array_grow(&ret->nodes, &ret->allocated, len / 16 + 8, sizeof(*ret->nodes)) < 0)
        return -ENOMEM;
    ps.out = ret->strings;
    root = new_node(&ps);
    if (root < 0)
        return (int)root;
    skip_space(&ps);
    r = value(&ps, root, 1);
    if (r < 0)
        return r;
    skip_space(&ps);
    return *ps.p ? -EINVAL : 0;
}

void fl_jtree_free(struct fl_jtree *t)
{
    free(t->nodes);
    free(t->strings);
    *t = (struct fl_jtree){0};
}

const struct fl_jtree_node *fl_jtree_first(const struct fl_jtree_node *n)
{
    if (!n || (n->type != FL_JT_OBJECT && n->type != FL_JT_ARRAY) || !n->n_children)
        return NULL;
    return n + 1; /* a container's first child follows it */
}

const struct fl_jtree_node *fl_jtree_next(const struct fl_jtree_node *n)
{
    return n->next ? n + n->next : NULL;
}

const struct fl_jtree_node *fl_jtree_get(const struct fl_jtree_node *o, const char *key)
{
    if (!o || o->type != FL_JT_OBJECT)
        return NULL;
    /* the first: names are unique in json-c's output (json-c's parser keeps the last of duplicates) */
    for (const struct fl_jtree_node *m = fl_jtree_first(o); m; m = fl_jtree_next(m)) {
        if (!strcmp(m->key, key))
            return m;
    }
    return NULL;
}
