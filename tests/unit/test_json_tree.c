/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the read-only JSON tree (src/lib/json-tree.c), against json-c itself: every text is
 * parsed by both, and the trees must agree in every type, member name and order, integer (json-c's
 * json_object_get_int64()), string, and in each value's own text, which json-c must read back as the
 * same value. The texts: hand-written cases (escapes, surrogate pairs, NUL, numbers at and past
 * int64's ends, NaN, deep nesting), a LUKS2 header's JSON as libcryptsetup dumps it, and random
 * documents written by json-c in each of its output styles. Then the texts it refuses.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "json-tree.h"

static void same(const struct fl_jtree_node *n, json_object *o);

/* The value's own text, read back by json-c, is the value json-c has. */
static void same_text(const struct fl_jtree_node *n, json_object *o)
{
    char *raw = strndup(n->raw, n->raw_len);
    json_object *back;

    assert_non_null(raw);
    back = json_tokener_parse(raw);
    assert_string_equal(json_object_to_json_string(back), json_object_to_json_string(o));
    json_object_put(back);
    free(raw);
}

static void same(const struct fl_jtree_node *n, json_object *o)
{
    const struct fl_jtree_node *child;
    size_t i = 0;

    same_text(n, o);
    switch (json_object_get_type(o)) {
    case json_type_null:
        assert_int_equal(n->type, FL_JT_NULL);
        break;
    case json_type_boolean:
        assert_int_equal(n->type, FL_JT_BOOL);
        break;
    case json_type_int:
        assert_int_equal(n->type, FL_JT_INT);
        assert_true(n->i == json_object_get_int64(o));
        break;
    case json_type_double:
        assert_int_equal(n->type, FL_JT_OTHER);
        break;
    case json_type_string:
        assert_int_equal(n->type, FL_JT_STRING);
        assert_string_equal(n->str, json_object_get_string(o));
        break;
    case json_type_array:
        assert_int_equal(n->type, FL_JT_ARRAY);
        assert_int_equal(n->n_children, json_object_array_length(o));
        for (child = fl_jtree_first(n); child; child = fl_jtree_next(child), i++) {
            assert_null(child->key);
            same(child, json_object_array_get_idx(o, i));
        }
        assert_int_equal(i, json_object_array_length(o));
        break;
    case json_type_object:
        assert_int_equal(n->type, FL_JT_OBJECT);
        assert_int_equal(n->n_children, json_object_object_length(o));
        child = fl_jtree_first(n);
        json_object_object_foreach(o, key, val)
        {
            assert_non_null(child);
            assert_string_equal(child->key, key);
            assert_ptr_equal(fl_jtree_get(n, key), child);
            same(child, val);
            child = fl_jtree_next(child);
        }
        assert_null(child);
        assert_null(fl_jtree_get(n, "no such member"));
        break;
    }
}

/* @p text parsed by both, the same. */
static void check(const char *text)
{
    json_object *o = json_tokener_parse(text);
    struct fl_jtree t;

    if (fl_jtree_parse(text, &t) < 0)
        fail_msg("not parsed: %s", text);
    if (o || strcmp(text, "null"))
        assert_non_null(o);
    same(&t.nodes[0], o);
    fl_jtree_free(&t);
    json_object_put(o);
}

static void test_cases(void **state)
{
    static const char *const texts[] = {
        "{}",
        "[]",
        "null",
        "true",
        "0",
        "-0",
        "12",
        " \n\t{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\r\n",
        "{\"s\":\"plain\",\"e\":\"\\\" \\\\ \\/ \\b \\f \\n \\r "
        "\\t\",\"u\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}",
        "{\"nul\":\"before\\u0000after\",\"ctl\":\"\\u001f\\u0001\",\"raw\":\"\xc3\xa9 \xff\xfe\"}",
        "[9223372036854775807,9223372036854775808,18446744073709551615,99999999999999999999999]",
        "[-9223372036854775808,-9223372036854775809,-99999999999999999999999]",
        "[1.5,-0.25,1e3,1E-3,2.5e+10,NaN,Infinity,-Infinity]",
        "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}}}}}",
        "{\"\":\"empty name\",\"\\u0041\":\"escaped name\",\"k\\\"q\":1}",
        /* a LUKS2 header's metadata as libcryptsetup's crypt_dump_json() gives it */
        "{\"keyslots\":{\"0\":{\"type\":\"luks2\",\"key_size\":64,\"af\":{\"type\":\"luks1\",\"stripes\":"
        "4000,"
        "\"hash\":\"sha256\"},\"area\":{\"type\":\"raw\",\"offset\":\"32768\",\"size\":\"258048\","
        "\"encryption\":\"aes-xts-plain64\",\"key_size\":64},\"kdf\":{\"type\":\"argon2id\",\"time\":4,"
        "\"memory\":32768,\"cpus\":1,\"salt\":\"7Vx/x3nC6o1g0Vx0GmyRk6Hq8o3f3C0m7o2G3nR3Hq8=\"}}},"
        "\"tokens\":{\"0\":{\"type\":\"systemd-tpm2\",\"keyslots\":[\"0\"]}},\"segments\":{\"0\":{\"type\":"
        "\"crypt\",\"offset\":\"16777216\",\"size\":\"dynamic\",\"iv_tweak\":\"0\",\"encryption\":"
        "\"aes-xts-plain64\",\"sector_size\":4096}},\"digests\":{\"0\":{\"type\":\"pbkdf2\",\"keyslots\":"
        "[\"0\"],\"segments\":[\"0\"],\"hash\":\"sha256\",\"iterations\":1000,\"salt\":\"c2FsdA==\","
        "\"digest\":\"ZGlnZXN0\"}},\"config\":{\"json_size\":\"12288\",\"keyslots_size\":\"16744448\","
        "\"requirements\":{\"mandatory\":[\"online-reencrypt-v2\"]}}}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        check(texts[i]);
}

/* ---- random documents, written by json-c ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned next_rand(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static json_object *random_string(void)
{
    /* bytes json-c escapes, bytes it writes as they are, and UTF-8 */
    static const char *const pieces[] = {
        "a",    "Z",       "0",     " ",    "\"",   "\\",   "/",        "\b",           "\f",
        "\n",   "\r",      "\t",    "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
        "\xff", "keyslot", "sha256"};
    char buf[256] = "";
    unsigned n = next_rand(12);

    for (unsigned i = 0; i < n; i++)
        strcat(buf, pieces[next_rand(sizeof(pieces) / sizeof(pieces[0]))]);
    return json_object_new_string(buf);
}

static json_object *random_value(unsigned depth)
{
    static const double doubles[] = {0.5, -1.25, 1e300, -3.0, 123456.789, 1e-7};
    unsigned kind = next_rand(depth > 5 ? 6 : 8);

    switch (kind) {
    case 0:
        return NULL;
    case 1:
        return json_object_new_boolean((int)next_rand(2));
    case 2: {
        int64_t v = (int64_t)(next_rand(3) == 0 ? rng >> 1 : rng % 100000);
        return json_object_new_int64(next_rand(2) ? v : -v);
    }
    case 3:
        return json_object_new_uint64(rng);
    case 4:
        return json_object_new_double(doubles[next_rand(sizeof(doubles) / sizeof(doubles[0]))]);
    case 5:
        return random_string();
    case 6: {
        json_object *a = json_object_new_array();
        unsigned n = next_rand(5);
        for (unsigned i = 0; i < n; i++)
            json_object_array_add(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_object *o = json_object_new_object();
        unsigned n = next_rand(5);
        for (unsigned i = 0; i < n; i++) {
            json_object *key = random_string();
            json_object_object_add(o, json_object_get_string(key), random_value(depth + 1));
            json_object_put(key);
        }
        return o;
    }
    }
}

static void test_random(void **state)
{
    static const int styles[] = {JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_SPACED, JSON_C_TO_STRING_PRETTY,
                                 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                                 JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB};

    (void)state;
    for (int i = 0; i < 3000; i++) {
        json_object *o = random_value(0);

        check(json_object_to_json_string_ext(o, styles[i % 5]));
        json_object_put(o);
    }
}

/* ---- refused ---- */

static void test_refused(void **state)
{
    static const char *const texts[] = {
        "",
        " ",
        "{",
        "[",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":1",
        "{\"a\":1,",
        "[1,",
        "[1,]",
        "{\"a\" 1}",
        "{1:2}",
        "\"open",
        "\"bad \\q escape\"",
        "\"\\u12\"",
        "\"\\ud83d alone\"",
        "\"\\ude00 alone\"",
        "-",
        "1 2",
        "{} x",
        "[1]]",
        "{\"a\":1}}",
    };
    char deep[2 * (FL_JTREE_MAX_DEPTH + 1) + 1];
    struct fl_jtree t;

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(fl_jtree_parse(texts[i], &t), -EINVAL);
        fl_jtree_free(&t);
    }
    /* FL_JTREE_MAX_DEPTH levels are read, one more is refused */
    memset(deep, '[', FL_JTREE_MAX_DEPTH);
    memset(deep + FL_JTREE_MAX_DEPTH, ']', FL_JTREE_MAX_DEPTH);
    deep[2 * FL_JTREE_MAX_DEPTH] = '\0';
    assert_int_equal(fl_jtree_parse(deep, &t), 0);
    assert_int_equal(t.n, FL_JTREE_MAX_DEPTH);
    fl_jtree_free(&t);
    memset(deep, '[', FL_JTREE_MAX_DEPTH + 1);
    memset(deep + FL_JTREE_MAX_DEPTH + 1, ']', FL_JTREE_MAX_DEPTH + 1);
    deep[2 * (FL_JTREE_MAX_DEPTH + 1)] = '\0';
    assert_int_equal(fl_jtree_parse(deep, &t), -EINVAL);
    fl_jtree_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
