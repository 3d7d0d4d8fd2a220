/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fipsluks report's reader: bytes in, typed records out (fleet-record.h).
 *
 * A strict JSON parser (RFC 8259: no comments, no control characters in strings, no trailing
 * commas) that walks each value once and keeps only the members report uses, decoded into an arena;
 * every other member is checked and skipped. It runs on the bytes of the current value as far as
 * they have arrived: running out of them is never an error but "more is needed", and the value is
 * parsed again from its start once the bytes held have doubled (so a value of any size costs a
 * bounded multiple of its length, and whatever the pieces the input comes in, the same values and
 * the same errors come out). What one value may cost is bounded as it is parsed: strings of
 * FL_FLEET_STRING_MAX characters, FL_FLEET_TOKENS_MAX members and elements, FL_REC_DEPTH_MAX levels
 * of nesting, FL_FLEET_VALUE_MAX bytes. After a bad value, reading resumes at the next line that
 * starts with '{'.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fipsluks/array.h"
#include "fipsluks/fleet.h"

#include "fleet-record.h"

#define FL_REC_DEPTH_MAX 64
#define FL_REC_KEY_MAX   32 /* longer member names are none report knows */
#define STR_(x)          #x
#define STR(x)           STR_(x)

enum { P_OK = 0, P_MORE = 1, P_BAD = 2 };

/* Where a volume's findings and keyslots start in the reader's vectors, while they are parsed. */
struct vol_build {
    size_t finding0, keyslot0;
};

struct fl_rec_reader {
    struct fl_rec_sink sink;
    char *buf;
    size_t len, allocated;
    size_t pos;         /* where the next value (or the search for a line that starts one) begins */
    size_t retry_at;    /* parse the value at pos again once len - pos reaches this */
    unsigned long line; /* the line of buf[pos] */
    bool resync;        /* after a bad value: looking for a line that starts with '{' */
    bool done;          /* the rest of the input is not read */

    /* what one parse fills */
    char *arena;
    size_t arena_len, arena_cap;
    struct fl_rec_finding *findings;
    size_t n_findings, allocated_findings;
    struct fl_rec_keyslot *keyslots;
    size_t n_keyslots, allocated_keyslots;
    struct fl_rec_volume *volumes;
    struct vol_build *builds;
    size_t n_volumes, allocated_volumes, allocated_builds;
    struct fl_rec rec;
    struct vol_build self_build;
};

/* The state of one parse: the bytes, where it is, and why it stopped. */
struct parser {
    struct fl_rec_reader *rd;
    const char *p, *end;
    bool eof;
    unsigned depth;
    size_t tokens;
    const char *why;    /* P_BAD: what is wrong */
    const char *bad_at; /* P_BAD: where */
    bool refused;       /* P_BAD: a cost refused (valid JSON, maybe), not a syntax error */
    bool nomem;
};

static int bad(struct parser *ps, const char *why)
{
    ps->why = why;
    ps->bad_at = ps->p;
    return P_BAD;
}

static int token(struct parser *ps)
{
    if (++ps->tokens <= FL_FLEET_TOKENS_MAX)
        return P_OK;
    ps->refused = true;
    return bad(ps, "more members and elements than " STR(FL_FLEET_TOKENS_MAX) " in one value: refused");
}

/* Bytes by class: JSON whitespace, and what ends a run of plain bytes in a string. */
enum { C_WS = 1, C_STR = 2 };
static const unsigned char cls[256] = {
    [0 ... 8] = C_STR,   ['\t'] = C_WS | C_STR, ['\n'] = C_WS | C_STR,
    [11 ... 12] = C_STR, ['\r'] = C_WS | C_STR, [14 ... 0x1f] = C_STR,
    [' '] = C_WS,        ['"'] = C_STR,         ['\\'] = C_STR,
};

static bool is_ws(char c)
{
    return cls[(unsigned char)c] & C_WS;
}

static void ws(struct parser *ps)
{
    while (ps->p < ps->end && is_ws(*ps->p))
        ps->p++;
}

/* The characters of @p n bytes of UTF-8 (a continuation byte is no character of its own). */
static size_t utf8_chars(const char *p, size_t n)
{
    size_t chars = 0;

    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)p[i] & 0xc0) != 0x80;
    return chars;
}

/* ---- scalars ---- */

static int hex4(const char *p, unsigned *ret)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *ret = v;
    return 0;
}

/* Whether "\\uXXXX" with a low surrogate is at @p p: P_OK (*@p ret set), P_BAD, or P_MORE (unknown yet). */
static int low_surrogate(const char *p, const char *end, unsigned *ret)
{
    size_t have = (size_t)(end - p);

    for (size_t i = 0; i < have && i < 6; i++) {
        char c = p[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

        if (i == 0 ? c != '\\' : i == 1 ? c != 'u' : !hex)
            return P_BAD;
    }
    if (have < 6)
        return P_MORE;
    (void)hex4(p + 2, ret);
    return *ret >= 0xdc00 && *ret < 0xe000 ? P_OK : P_BAD;
}

static char *put_utf8(char *w, unsigned cp)
{
    if (cp < 0x80) {
        *w++ = (char)cp;
    } else if (cp < 0x800) {
        *w++ = (char)(0xc0 | (cp >> 6));
        *w++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *w++ = (char)(0xe0 | (cp >> 12));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *w++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *w++ = (char)(0xf0 | (cp >> 18));
        *w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *w++ = (char)(0x80 | (cp & 0x3f));
    }
    return w;
}

/*
 * The string at ps->p (at its opening quote). With @p out, decoded into the arena (never longer than
 * its JSON form: the arena has room for the whole value) and *@p out set to it.
 */
static int string(struct parser *ps, const char **out, char *keybuf, size_t *keylen)
{
    static const char too_long[] = "a string longer than " STR(FL_FLEET_STRING_MAX) " characters: refused";
    const char *p = ps->p + 1, *end = ps->end;
    char *w = out ? ps->rd->arena + ps->rd->arena_len : NULL, *start = w;
    size_t chars = 0, klen = 0;

    for (;;) {
        const char *run = p;
        unsigned char c;

        /* a run of plain bytes: copied as they are, counted only when it could be too long */
        while (p < end && !(cls[(unsigned char)*p] & C_STR))
            p++;
        if (p > run) {
            size_t n = (size_t)(p - run);

            chars += chars + n > FL_FLEET_STRING_MAX ? utf8_chars(run, n) : n;
            if (w) {
                memcpy(w, run, n);
                w += n;
            } else if (keybuf) {
                if (klen + n <= FL_REC_KEY_MAX)
                    memcpy(keybuf + klen, run, n);
                klen = klen + n <= FL_REC_KEY_MAX ? klen + n : FL_REC_KEY_MAX + 1;
            }
        }
        if (chars > FL_FLEET_STRING_MAX) {
            ps->p = p;
            ps->refused = true;
            return bad(ps, too_long);
        }
        if (p >= end)
            return P_MORE;
        c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c != '\\') {
            ps->p = p;
            return bad(ps, "a control character in a string");
        }
        {
            unsigned cp;

            if (p + 1 >= end)
                return P_MORE;
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
                cp = (unsigned char)p[1];
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            case 'u':
                if (end - p < 6)
                    return P_MORE;
                if (hex4(p + 2, &cp) < 0) {
                    ps->p = p;
                    return bad(ps, "a bad \\u escape in a string");
                }
                if (cp >= 0xd800 && cp < 0xdc00) {
                    unsigned lo;
                    int pair = low_surrogate(p + 6, end, &lo);

                    /* a high surrogate: with the low one after it, one character */
                    if (pair == P_MORE)
                        return P_MORE;
                    if (pair == P_OK) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        p += 6;
                    } else {
                        cp = 0xfffd;
                    }
                } else if (cp >= 0xdc00 && cp < 0xe000) {
                    cp = 0xfffd;
                }
                p += 4;
                break;
            default:
                ps->p = p;
                return bad(ps, "a bad escape in a string");
            }
            p += 2;
            chars++; /* an escape is one character */
            if (w)
                w = put_utf8(w, cp);
            else if (keybuf && cp < 0x80 && klen < FL_REC_KEY_MAX)
                keybuf[klen++] = (char)cp;
            else if (keybuf)
                klen = FL_REC_KEY_MAX + 1;
        }
        if (chars > FL_FLEET_STRING_MAX) {
            ps->p = p;
            ps->refused = true;
            return bad(ps, too_long);
        }
    }
    ps->p = p + 1;
    if (w) {
        *w++ = '\0';
        ps->rd->arena_len += (size_t)(w - start);
        *out = start;
    }
    if (keylen)
        *keylen = klen;
    return P_OK;
}

static int literal(struct parser *ps, const char *word, size_t n)
{
    size_t have = (size_t)(ps->end - ps->p);

    if (have < n) {
        if (memcmp(ps->p, word, have))
            return bad(ps, "unexpected character");
        return P_MORE;
    }
    if (memcmp(ps->p, word, n))
        return bad(ps, "unexpected character");
    ps->p += n;
    return P_OK;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The digits at @p p (one at least, unless the input ends at @p p): where they end, or NULL when @p p is
 * not a digit (ps->p set there, for the error). */
static const char *digits(struct parser *ps, const char *p, const char *end)
{
    if (p < end && !is_digit(*p)) {
        ps->p = p;
        return NULL;
    }
    while (p < end && is_digit(*p))
        p++;
    return p;
}

/* A number; *@p ret_int is whether it is an integer, *@p ret its value then (saturated). */
static int number(struct parser *ps, bool *ret_int, int64_t *ret)
{
    const char *p = ps->p, *end = ps->end;
    bool neg = false, is_int = true;
    uint64_t v = 0;

    if (*p == '-') {
        neg = true;
        p++;
    }
    if (p >= end)
        return P_MORE;
    if (*p == '0') {
        p++;
    } else if (is_digit(*p)) {
        for (; p < end && is_digit(*p); p++)
            v = v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : v * 10 + (uint64_t)(*p - '0');
    } else {
        ps->p = p;
        return bad(ps, "a bad number");
    }
    if (p < end && *p == '.') {
        is_int = false;
        p = digits(ps, p + 1, end);
        if (!p)
            return bad(ps, "a bad number");
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        is_int = false;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        p = digits(ps, p, end);
        if (!p)
            return bad(ps, "a bad number");
    }
    if (p >= end && !ps->eof)
        return P_MORE; /* more digits may follow */
    if (p >= end && (p[-1] == '-' || p[-1] == '.' || p[-1] == 'e' || p[-1] == 'E' || p[-1] == '+'))
        return P_MORE; /* at the end of the input: cut short */
    ps->p = p;
    *ret_int = is_int;
    if (neg)
        *ret = v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
    else
        *ret = v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    return P_OK;
}

/* ---- values ---- */

/* What value() found: its type, and for scalars the value (a string only when asked for). */
struct jval {
    enum fl_jtype type;
    bool b;
    int64_t i;
    const char *s;
};

typedef int (*member_fn)(struct parser *ps, const char *key, size_t keylen, void *ctx);
typedef int (*element_fn)(struct parser *ps, void *ctx);

static int value(struct parser *ps, struct jval *v, bool want_string);

static int skip_member(struct parser *ps, const char *key, size_t keylen, void *ctx)
{
    struct jval v;

    (void)key;
    (void)keylen;
    (void)ctx;
    return value(ps, &v, false);
}

static int skip_element(struct parser *ps, void *ctx)
{
    struct jval v;

    (void)ctx;
    return value(ps, &v, false);
}

/*
 * Count a token and step over the punctuation at ps->p (an opening bracket, ':' or ','), and the
 * whitespace after it: @return P_OK with ps->p at what follows, or P_MORE, P_BAD.
 */
static int step(struct parser *ps)
{
    int r = token(ps);

    if (r)
        return r;
    ps->p++;
    ws(ps);
    return ps->p < ps->end ? P_OK : P_MORE;
}

/* Leave the container whose closing bracket is at ps->p. */
static void leave(struct parser *ps)
{
    ps->p++;
    ps->depth--;
}

/*
 * Enter the container at ps->p (its opening bracket), up to its first member or element: @return
 * P_OK with *@p empty set when @p close follows at once (then the container is left, closed), or
 * P_MORE, P_BAD.
 */
static int enter(struct parser *ps, char close, bool *empty)
{
    int r;

    *empty = false;
    if (++ps->depth > FL_REC_DEPTH_MAX)
        return bad(ps, "nesting too deep");
    if ((r = step(ps)))
        return r;
    if (*ps->p == close) {
        leave(ps);
        *empty = true;
    }
    return P_OK;
}

/*
 * After a member or element of the container that @p close ends: @return P_OK with *@p done set when
 * @p close follows (then the container is left, closed), or with ps->p at the next member or element
 * (past the ','); or P_MORE, P_BAD.
 */
static int next_item(struct parser *ps, char close, bool *done)
{
    *done = false;
    ws(ps);
    if (ps->p >= ps->end)
        return P_MORE;
    if (*ps->p == close) {
        leave(ps);
        *done = true;
        return P_OK;
    }
    if (*ps->p != ',')
        return bad(ps, close == '}' ? "no ',' or '}' after a member" : "no ',' or ']' after an element");
    return step(ps);
}

/* The object at ps->p: @p fn parses each member's value (it is at ps->p). */
static int object(struct parser *ps, member_fn fn, void *ctx)
{
    bool done;
    int r = enter(ps, '}', &done);

    while (!r && !done) {
        char key[FL_REC_KEY_MAX + 1];
        size_t keylen = 0;

        if (*ps->p != '"')
            return bad(ps, "a member name is not a string");
        if ((r = string(ps, NULL, key, &keylen)))
            return r;
        key[keylen <= FL_REC_KEY_MAX ? keylen : 0] = '\0';
        ws(ps);
        if (ps->p >= ps->end)
            return P_MORE;
        if (*ps->p != ':')
            return bad(ps, "no ':' after a member name");
        if ((r = step(ps)))
            return r;
        if ((r = (keylen <= FL_REC_KEY_MAX ? fn : skip_member)(ps, key, keylen, ctx)))
            return r;
        r = next_item(ps, '}', &done);
    }
    return r;
}

/* The array at ps->p: @p fn parses each element (it is at ps->p). */
static int array(struct parser *ps, element_fn fn, void *ctx)
{
    bool done;
    int r = enter(ps, ']', &done);

    while (!r && !done) {
        if ((r = fn(ps, ctx)))
            return r;
        r = next_item(ps, ']', &done);
    }
    return r;
}

/* Any value at ps->p (not at the end): checked, skipped if a container, its type and scalar kept. */
static int value(struct parser *ps, struct jval *v, bool want_string)
{
    v->type = FL_J_ABSENT;
    switch (*ps->p) {
    case '{':
        v->type = FL_J_OBJECT;
        return object(ps, skip_member, NULL);
    case '[':
        v->type = FL_J_ARRAY;
        return array(ps, skip_element, NULL);
    case '"':
        v->type = FL_J_STRING;
        return string(ps, want_string ? &v->s : NULL, NULL, NULL);
    case 't':
        v->type = FL_J_BOOL;
        v->b = true;
        return literal(ps, "true", 4);
    case 'f':
        v->type = FL_J_BOOL;
        v->b = false;
        return literal(ps, "false", 5);
    case 'n':
        v->type = FL_J_NULL;
        return literal(ps, "null", 4);
    default:
        if (*ps->p == '-' || is_digit(*ps->p)) {
            bool is_int = false;
            int r = number(ps, &is_int, &v->i);
            v->type = is_int ? FL_J_INT : FL_J_DOUBLE;
            return r;
        }
        return bad(ps, "unexpected character");
    }
}

static int str_value(struct parser *ps, struct fl_jstr *dst)
{
    struct jval v;
    int r = value(ps, &v, true);

    dst->type = v.type;
    dst->s = v.type == FL_J_STRING ? v.s : NULL;
    return r;
}

static int int_value(struct parser *ps, struct fl_jint *dst)
{
    struct jval v;
    int r = value(ps, &v, false);

    dst->type = v.type;
    dst->v = v.type == FL_J_INT ? v.i : 0;
    return r;
}

static int bool_value(struct parser *ps, struct fl_jbool *dst)
{
    struct jval v;
    int r = value(ps, &v, false);

    dst->type = v.type;
    dst->v = v.type == FL_J_BOOL && v.b;
    return r;
}

/* Any value at ps->p, where only its type matters: checked and skipped, its type kept. */
static int type_value(struct parser *ps, enum fl_jtype *dst)
{
    struct jval v;
    int r = value(ps, &v, false);

    *dst = v.type;
    return r;
}

/* A member report reads as an object: parsed by @p fn if it is one, else checked and skipped. */
static int typed_object(struct parser *ps, enum fl_jtype *dst, member_fn fn, void *ctx)
{
    if (*ps->p != '{')
        return type_value(ps, dst);
    *dst = FL_J_OBJECT;
    return object(ps, fn, ctx);
}

/* A member report reads as an array: its elements parsed by @p fn if it is one, else skipped. */
static int typed_array(struct parser *ps, enum fl_jtype *dst, element_fn fn, void *ctx)
{
    if (*ps->p != '[')
        return type_value(ps, dst);
    *dst = FL_J_ARRAY;
    return array(ps, fn, ctx);
}

#define KEY(k) (keylen == sizeof(k) - 1 && !memcmp(key, k, sizeof(k) - 1))

/* ---- the members report reads ---- */

/* Append @p item (of @p size bytes) to the vector @p arr of *@p n elements. */
static int push(struct parser *ps, void *arr, size_t *allocated, size_t *n, size_t size, const void *item)
{
    if (fl_array_grow(arr, allocated, *n + 1, size) < 0) {
        ps->nomem = true;
        return bad(ps, "out of memory");
    }
    memcpy(*(char **)arr + *n * size, item, size);
    (*n)++;
    return P_OK;
}

/* An element that is an object of @p fn's members, read into @p item (of @p size bytes, its type in
 * @p type), then appended to the vector @p arr of *@p n elements. */
static int push_object(struct parser *ps, enum fl_jtype *type, member_fn fn, void *item, size_t size,
                       void *arr, size_t *allocated, size_t *n)
{
    int r = typed_object(ps, type, fn, item);

    return r ? r : push(ps, arr, allocated, n, size, item);
}

/*
 * Members that are plain values, as data: a key, what kind of value, where it goes in its object. A
 * member function looks its key up here first (field_member()) and handles only what is not plain.
 */
enum field_kind { F_STR, F_INT, F_BOOL, F_TYPE };

struct field {
    const char *key;
    size_t keylen;
    enum field_kind kind;
    size_t offset;
};

#define FIELD(type, key, kind, member)                                                                       \
    {                                                                                                        \
        key, sizeof(key) - 1, kind, offsetof(type, member)                                                   \
    }

/* The member @p key of @p fields (@p n) read into the object at @p obj: @return the value's result
 * (P_OK, P_MORE, P_BAD), or -1 when @p fields has no such key. */
static int field_member(struct parser *ps, const struct field *fields, size_t n, const char *key,
                        size_t keylen, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        const struct field *f = &fields[i];
        void *dst = (char *)obj + f->offset;

        if (f->keylen != keylen || memcmp(f->key, key, keylen))
            continue;
        switch (f->kind) {
        case F_STR:
            return str_value(ps, dst);
        case F_INT:
            return int_value(ps, dst);
        case F_BOOL:
            return bool_value(ps, dst);
        case F_TYPE:
            return type_value(ps, dst);
        }
    }
    return -1;
}

/* field_member(), or skip_member() when @p fields has no such key. */
static int plain_member(struct parser *ps, const struct field *fields, size_t n, const char *key,
                        size_t keylen, void *obj)
{
    int r = field_member(ps, fields, n, key, keylen, obj);

    return r >= 0 ? r : skip_member(ps, key, keylen, NULL);
}

#define N_FIELDS(table) (sizeof(table) / sizeof((table)[0]))

static int token_member(struct parser *ps, const char *key, size_t keylen, void *ctx)
{
    struct fl_jstr *type = ctx;

    if (KEY("type"))
        return str_value(ps, type);
    return skip_member(ps, key, keylen, NULL);
}

static int token_element(struct parser *ps, void *ctx)
{
    struct fl_rec_keyslot *ks = ctx;
    struct fl_jstr type = {0};
    enum fl_jtype t;
    int r = typed_object(ps, &t, token_member, &type);

    if (r)
        return r;
    if (t != FL_J_OBJECT || (type.type != FL_J_ABSENT && type.type != FL_J_NULL && type.type != FL_J_STRING))
        ks->token_malformed = true;
    if (ks->n_tokens++ == 0)
        ks->first_token = t == FL_J_OBJECT ? type : (struct fl_jstr){0};
    return P_OK;
}

static int keyslot_member(struct parser *ps, const char *key, size_t keylen, void *ctx)
{
    static const struct field fields[] = {
        FIELD(struct fl_rec_keyslot, "id", F_INT, id),
        FIELD(struct fl_rec_keyslot, "kdf", F_STR, kdf),
        FIELD(struct fl_rec_keyslot, "crypttab_key", F_STR, crypttab_key),
    };
    struct fl_rec_keyslot *ks = ctx;

    if (KEY("tokens")) {
        ks->n_tokens = 0;
        ks->token_malformed = false;
        ks->first_token = (struct fl_jstr){0};
        return typed_array(ps, &ks->tokens, token_element, ks);
    }
    return plain_member(ps, fields, N_FIELDS(fields), key, keylen, ks);
}

static int finding_member(struct parser *ps, const char *key, size_t keylen, void *ctx)
{
    static const struct field fields[] = {
        FIELD(struct fl_rec_finding, "rule", F_STR, rule),
        FIELD(struct fl_rec_finding, "severity", F_STR, severity),
        FIELD(struct fl_rec_finding, "remedy", F_STR, remedy),
        FIELD(struct fl_rec_finding, "object", F_STR, object),
    };

    return plain_member(ps, fields, N_FIELDS(fields), key, keylen, ctx);
}

static int keyslot_element(struct parser *ps, void *ctx)
{
    struct fl_rec_keyslot ks = {0};

    (void)ctx;
    return push_object(ps, &ks.type, keyslot_member, &ks, sizeof(ks), &ps->rd->keyslots,
                       &ps->rd->allocated_keyslots, &ps->rd->n_keyslots);
}

static int finding_element(struct parser *ps, void *ctx)
{
    struct fl_rec_finding f = {0};

    (void)ctx;
    return push_object(ps, &f.type, finding_member, &f, sizeof(f), &ps->rd->findings,
                       &ps->rd->allocated_findings, &ps->rd->n_findings);
}

static int segment_member(struct parser *ps, const char *key, size_t keylen, void *ctx)
{
    bool *integrity = ctx;
    struct fl_jstr s = {0};
    int r;

    if (!KEY("integrity"))
        return skip_member(ps, key, keylen, NULL);
    r = str_value(ps, &s);
    if (!r && s.type == FL_J_STRING && *s.s && strcmp(s.s, "none"))
        *integrity = true;
    return r;
}

static int segment_element(struct parser *ps, void *ctx)
{
    enum fl_jtype t;

    return typed_object(ps, &t, segment_member, ctx);
}

/* A volume's member into @p v (@p b: where its findings and keyslots start): @return -1 if not one. */
static int volume_member(struct parser *ps, const char *key, size_t keylen, struct fl_rec_volume *v,
                         struct vol_build *b)
{
    static const struct field fields[] = {
        FIELD(struct fl_rec_volume, "path", F_STR, path),
        FIELD(struct fl_rec_volume, "absolute_path", F_STR, absolute_path),
        FIELD(struct fl_rec_volume, "header", F_STR, header),
        FIELD(struct fl_rec_volume, "uuid", F_STR, uuid),
        FIELD(struct fl_rec_volume, "label", F_STR, label),
        FIELD(struct fl_rec_volume, "luks_version", F_INT, luks_version),
        FIELD(struct fl_rec_volume, "status", F_STR, status),
        FIELD(struct fl_rec_volume, "fips_compatible", F_BOOL, fips_compatible),
        FIELD(struct fl_rec_volume, "error", F_STR, error),
        FIELD(struct fl_rec_volume, "crypttab", F_TYPE, crypttab),
    };
    struct fl_rec_reader *rd = ps->rd;

    if (KEY("findings")) {
        b->finding0 = rd->n_findings;
        return typed_array(ps, &v->findings, finding_element, NULL);
    }
    if (KEY("keyslots")) {
        b->keyslot0 = rd->n_keyslots;
        return typed_array(ps, &v->keyslots, keyslot_element, NULL);
    }
    if (KEY("segments")) {
        v->integrity = false;
        return typed_array(ps, &v->segments, segment_element, &v->integrity);
    }
    return field_member(ps, fields, N_FIELDS(fields), key, keylen, v);
}

struct volume_ctx {
    struct fl_rec_volume v;
    struct vol_build b;
    /* the vectors' lengths where the last "findings" and "keyslots" members ended */
    size_t findings_end, keyslots_end;
};

static int element_volume_member(struct parser *ps, const char *key, size_t keylen, void *ctx)
{
    struct volume_ctx *vc = ctx;
    int r = volume_member(ps, key, keylen, &vc->v, &vc->b);

    if (r < 0)
        return skip_member(ps, key, keylen, NULL);
    if (!r && KEY("findings"))
        vc->findings_end = ps->rd->n_findings;
    if (!r && KEY("keyslots"))
        vc->keyslots_end = ps->rd->n_keyslots;
    return r;
}

static int volume_element(struct parser *ps, void *ctx)
{
    struct fl_rec_reader *rd = ps->rd;
    struct volume_ctx vc = {0};
    size_t n;
    int r;

    (void)ctx;
    vc.b.finding0 = vc.findings_end = rd->n_findings;
    vc.b.keyslot0 = vc.keyslots_end = rd->n_keyslots;
    r = typed_object(ps, &vc.v.type, element_volume_member, &vc);
    if (r)
        return r;
    vc.v.n_findings = vc.v.findings == FL_J_ARRAY ? vc.findings_end - vc.b.finding0 : 0;
    vc.v.n_keyslots = vc.v.keyslots == FL_J_ARRAY ? vc.keyslots_end - vc.b.keyslot0 : 0;
    n = rd->n_volumes; /* the two vectors are parallel: each push counts from the same n */
    r = push(ps, &rd->builds, &rd->allocated_builds, &n, sizeof(vc.b), &vc.b);
    return r ? r : push(ps, &rd->volumes, &rd->allocated_volumes, &rd->n_volumes, sizeof(vc.v), &vc.v);
}

/* The record's plain members: its own (REC_OWN of them), then those of its "host" object. */
enum { REC_OWN = 5 };
static const struct field rec_fields[] = {
    FIELD(struct fl_rec, "tool", F_STR, tool),
    FIELD(struct fl_rec, "record", F_STR, record),
    FIELD(struct fl_rec, "scanned_at", F_STR, scanned_at),
    FIELD(struct fl_rec, "version", F_STR, version),
    FIELD(struct fl_rec, "schema_version", F_INT, schema_version),
    FIELD(struct fl_rec, "machine_id", F_STR, machine_id),
    FIELD(struct fl_rec, "hostname", F_STR, hostname),
    FIELD(struct fl_rec, "os_id", F_STR, os_id),
    FIELD(struct fl_rec, "os_version_id", F_STR, os_version_id),
    FIELD(struct fl_rec, "kernel_fips", F_BOOL, kernel_fips),
};

static int host_member(struct parser *ps, const char *key, size_t keylen, void *ctx)
{
    return plain_member(ps, rec_fields + REC_OWN, N_FIELDS(rec_fields) - REC_OWN, key, keylen, ctx);
}

struct record_ctx {
    struct fl_rec *rec;
    size_t volumes0, volumes_end; /* the last "volumes" member's elements */
    size_t findings_end, keyslots_end;
};

static int record_member(struct parser *ps, const char *key, size_t keylen, void *ctx)
{
    struct record_ctx *rc = ctx;
    struct fl_rec *rec = rc->rec;
    int r = field_member(ps, rec_fields, REC_OWN, key, keylen, rec);

    if (r >= 0)
        return r;
    if (KEY("host")) {
        /* the last "host" counts, whole */
        rec->machine_id = rec->hostname = rec->os_id = rec->os_version_id = (struct fl_jstr){0};
        rec->kernel_fips = (struct fl_jbool){0};
        return typed_object(ps, &rec->host, host_member, rec);
    }
    if (KEY("volumes")) {
        rc->volumes0 = ps->rd->n_volumes;
        r = typed_array(ps, &rec->volumes, volume_element, NULL);
        rc->volumes_end = ps->rd->n_volumes;
        return r;
    }
    r = volume_member(ps, key, keylen, &rec->self, &ps->rd->self_build);
    if (r < 0)
        return skip_member(ps, key, keylen, NULL);
    if (!r && KEY("findings"))
        rc->findings_end = ps->rd->n_findings;
    if (!r && KEY("keyslots"))
        rc->keyslots_end = ps->rd->n_keyslots;
    return r;
}

/* Pointers into the vectors, now that they no longer move (NULL where a vector is empty). */
static void record_close(struct fl_rec_reader *rd, struct record_ctx *rc)
{
    struct fl_rec *rec = &rd->rec;

#define AT(vec, i) ((vec) ? (vec) + (i) : NULL)
    rec->self.n_findings = rec->self.findings == FL_J_ARRAY ? rc->findings_end - rd->self_build.finding0 : 0;
    rec->self.n_keyslots = rec->self.keyslots == FL_J_ARRAY ? rc->keyslots_end - rd->self_build.keyslot0 : 0;
    rec->self.finding = AT(rd->findings, rd->self_build.finding0);
    rec->self.keyslot = AT(rd->keyslots, rd->self_build.keyslot0);
    rec->n_volumes = rec->volumes == FL_J_ARRAY ? rc->volumes_end - rc->volumes0 : 0;
    rec->volume = AT(rd->volumes, rc->volumes0);
    for (size_t i = 0; i < rd->n_volumes; i++) {
        rd->volumes[i].finding = AT(rd->findings, rd->builds[i].finding0);
        rd->volumes[i].keyslot = AT(rd->keyslots, rd->builds[i].keyslot0);
    }
#undef AT
}

/* Parse the value at ps->p into rd->rec. */
static int record(struct parser *ps)
{
    struct fl_rec_reader *rd = ps->rd;
    struct record_ctx rc = {.rec = &rd->rec};
    int r;

    memset(&rd->rec, 0, sizeof(rd->rec));
    rd->self_build = (struct vol_build){0};
    rd->arena_len = rd->n_findings = rd->n_keyslots = rd->n_volumes = 0;
    r = typed_object(ps, &rd->rec.type, record_member, &rc);
    rd->rec.self.type = rd->rec.type; /* a "volume" record is its own volume */
    if (!r)
        record_close(rd, &rc);
    return r;
}

/* ---- the input ---- */

static unsigned long count_lines(const char *s, size_t n)
{
    unsigned long lines = 0;

    for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))); p++)
        lines++;
    return lines;
}

int fl_rec_reader_new(const struct fl_rec_sink *sink, struct fl_rec_reader **ret)
{
    struct fl_rec_reader *rd = calloc(1, sizeof(*rd));

    if (!rd)
        return -ENOMEM;
    rd->sink = *sink;
    rd->line = 1;
    *ret = rd;
    return 0;
}

void fl_rec_reader_free(struct fl_rec_reader *rd)
{
    if (!rd)
        return;
    free(rd->buf);
    free(rd->arena);
    free(rd->findings);
    free(rd->keyslots);
    free(rd->volumes);
    free(rd->builds);
    free(rd);
}

/*
 * After a bad value at pos: move pos to the next line that starts a JSON object. @return true when
 * found, false when more input is needed (or, at the end, there is none).
 */
static bool resync(struct fl_rec_reader *rd, bool eof)
{
    const char *start = rd->buf + rd->pos, *next = start, *end = rd->buf + rd->len;

    for (;;) {
        next = memchr(next, '\n', (size_t)(end - next));
        if (!next || next + 1 >= end) {
            /* keep the last newline, whether '{' follows is not known yet; without one, nothing */
            next = next ? next : end;
            rd->line += count_lines(start, (size_t)(next - start));
            rd->pos = (size_t)(next - rd->buf);
            if (eof)
                rd->done = true;
            return false;
        }
        next++;
        if (*next == '{')
            break;
    }
    rd->line += count_lines(start, (size_t)(next - start));
    rd->pos = (size_t)(next - rd->buf);
    rd->resync = false;
    return true;
}

/* Parse what the buffer holds; at @p eof, also what is left unfinished. @return 0 or -ENOMEM. */
static int pump(struct fl_rec_reader *rd, bool eof)
{
    int r = 0;

    while (r >= 0 && !rd->done) {
        struct parser ps = {.rd = rd, .eof = eof};
        size_t have, used;
        int p;

        if (rd->resync && !resync(rd, eof))
            break;
        while (rd->pos < rd->len && is_ws(rd->buf[rd->pos]))
            rd->line += rd->buf[rd->pos++] == '\n';
        if (rd->pos >= rd->len)
            break;
        have = rd->len - rd->pos;
        if (!eof && have < rd->retry_at)
            break; /* parsed up to the end of what was here: again when it has doubled */
        /* decoded strings are never longer than their JSON form: the arena holds the whole value */
        if (have + 1 > rd->arena_cap) {
            size_t cap = rd->arena_cap;
            if (fl_array_grow(&rd->arena, &cap, have + 1, 1) < 0)
                return -ENOMEM;
            rd->arena_cap = cap;
        }
        ps.p = rd->buf + rd->pos;
        ps.end = rd->buf + rd->len;
        p = record(&ps);
        if (ps.nomem)
            return -ENOMEM;
        if (p == P_MORE) {
            if (eof) {
                r = rd->sink.error(rd->sink.ctx, rd->line,
                                   "a JSON value is cut short at the end of the input");
                rd->done = true;
                break;
            }
            rd->retry_at = have > SIZE_MAX / 2 ? SIZE_MAX : 2 * have;
            break;
        }
        rd->retry_at = 0;
        used = (size_t)(ps.p - (rd->buf + rd->pos));
        if (p == P_BAD) {
            unsigned long at = count_lines(rd->buf + rd->pos, (size_t)(ps.bad_at - (rd->buf + rd->pos)));

            /* reported at the line the bad value starts on: that is the record to look at */
            char msg[256];

            if (at)
                (void)snprintf(msg, sizeof(msg), "%s%s (line %lu)",
                               ps.refused ? "" : "invalid JSON: ", ps.why, rd->line + at);
            else
                (void)snprintf(msg, sizeof(msg), "%s%s", ps.refused ? "" : "invalid JSON: ", ps.why);
            r = rd->sink.error(rd->sink.ctx, rd->line, msg);
            rd->resync = true;
            continue;
        }
        r = rd->sink.record(rd->sink.ctx, rd->line, &rd->rec);
        rd->line += count_lines(rd->buf + rd->pos, used);
        rd->pos += used;
    }
    return r < 0 ? r : 0;
}

int fl_rec_reader_feed(struct fl_rec_reader *rd, const char *buf, size_t len)
{
    if (rd->done || len == 0)
        return 0;
    /* give up the bytes before pos (consumed): the buffer holds one value at most */
    if (rd->pos) {
        memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
        rd->len -= rd->pos;
        rd->pos = 0;
    }
    if (len > FL_FLEET_VALUE_MAX - rd->len) {
        rd->done = true;
        return rd->sink.error(rd->sink.ctx, rd->line,
                              "a JSON value is larger than 256 MiB: the rest is not read");
    }
    if (fl_array_grow(&rd->buf, &rd->allocated, rd->len + len, 1) < 0)
        return -ENOMEM;
    memcpy(rd->buf + rd->len, buf, len);
    rd->len += len;
    return pump(rd, false);
}

int fl_rec_reader_finish(struct fl_rec_reader *rd)
{
    return pump(rd, true);
}
