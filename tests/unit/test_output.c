/* Unit tests: JSON strings (json-c objects and struct fl_jw text), text escaping, number parsing and the
 * exit-code map. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "fipsluks/util.h"

/* Serialise fl_json_string(in) and compare with the expected JSON text. */
static void check_json(const char *in, const char *want)
{
    json_object *o = fl_json_string(in);
    assert_non_null(o);
    assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE), want);
    json_object_put(o);
}

static void test_json_string_escaping(void **state)
{
    check_json("plain", "\"plain\"");
    check_json("/dev/disk/by-id/x", "\"/dev/disk/by-id/x\"");
    check_json("a\"b\\c", "\"a\\\"b\\\\c\"");
    check_json("line1\nline2\ttab", "\"line1\\nline2\\ttab\"");
    check_json("\x01", "\"\\u0001\"");
    check_json("caf\xc3\xa9", "\"caf\xc3\xa9\"");                           /* valid UTF-8 kept */
    check_json("bad\xff", "\"bad\xef\xbf\xbd\"");                           /* invalid byte → U+FFFD */
    check_json("\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"");                 /* overlong '/' refused */
    check_json("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* surrogate */
    check_json("\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\"");                 /* truncated sequence */
    check_json("\xf0\x9f\x94\x91", "\"\xf0\x9f\x94\x91\"");                 /* 4-byte emoji kept */
    assert_null(fl_json_string(NULL));
}

/* The JSON text must parse back to the same (sanitised) string. */
static void test_json_roundtrip(void **state)
{
    const char *in = "we\"ird\nname \\ \xe2\x9c\x93.img";
    json_object *o = fl_json_string(in);
    json_object *back = json_tokener_parse(json_object_to_json_string(o));
    assert_non_null(back);
    assert_string_equal(json_object_get_string(back), in);
    json_object_put(back);
    json_object_put(o);
}

static void check_escaped(const char *in, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fl_fputs_escaped(in, f);
    fclose(f);
    assert_string_equal(buf, want);
    free(buf);
}

static void test_text_escaping(void **state)
{
    check_escaped("/dev/sda2", "/dev/sda2");
    check_escaped("a b", "a b");
    check_escaped("new\nline", "new\\x0aline");
    check_escaped("\033[31mred", "\\x1b[31mred");
    check_escaped("del\x7f", "del\\x7f");
    check_escaped("bad\xff", "bad\\xff");
    check_escaped("caf\xc3\xa9", "caf\xc3\xa9");
    /* C1 controls (U+0080-U+009F) are escaped byte by byte: c2 9b is a one-character CSI */
    check_escaped("\302\23331mred", "\\xc2\\x9b31mred"); /* octal: a hex escape would swallow "31" */
    check_escaped("a\302\200b\302\237c", "a\\xc2\\x80b\\xc2\\x9fc");
    check_escaped("next\xc2\x85line", "next\\xc2\\x85line");
    /* the first printable character after them is kept: U+00A0, U+00E9 */
    check_escaped("\xc2\xa0\xc3\xa9", "\xc2\xa0\xc3\xa9");
    /* a lone lead byte or continuation byte, an overlong form, a surrogate */
    check_escaped("\xc2", "\\xc2");
    check_escaped("\x85", "\\x85");
    check_escaped("\xc0\xaf", "\\xc0\\xaf");
    check_escaped("\xed\xa0\x80", "\\xed\\xa0\\x80");
    check_escaped("\xf0\x9f\x94\x91 ok", "\xf0\x9f\x94\x91 ok");
    check_escaped("", "");
    /* invisible characters that change how text reads: bidi override (U+202E), isolate (U+2066),
     * mark (U+200F), zero-width space (U+200B), byte order mark (U+FEFF); U+2010 (a hyphen) is fine */
    check_escaped("gpj.\xe2\x80\xae"
                  "exe",
                  "gpj.\\xe2\\x80\\xaeexe");
    check_escaped("a\xe2\x81\xa6"
                  "b",
                  "a\\xe2\\x81\\xa6b");
    check_escaped("a\xe2\x80\x8f"
                  "b\xe2\x80\x8b"
                  "c\xef\xbb\xbf",
                  "a\\xe2\\x80\\x8fb\\xe2\\x80\\x8bc\\xef\\xbb\\xbf");
    check_escaped("a\xe2\x80\x90"
                  "b",
                  "a\xe2\x80\x90"
                  "b");
    /* fl_fputs_escaped_keep(): only the bytes asked for stay */
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        fl_fputs_escaped_keep("a\nb\tc\xc2\x9b", f, "\n");
        assert_int_equal(fclose(f), 0);
        assert_string_equal(buf, "a\nb\\x09c\\xc2\\x9b");
        free(buf);
    }
}

static void test_fprintf_escaped(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    assert_int_equal(fl_fprintf_escaped(f, "kdf %s, hash %s, %d", "argon2\xc2\x9b", "sha\xff\n", 7), 0);
    fclose(f);
    assert_string_equal(buf, "kdf argon2\\xc2\\x9b, hash sha\\xff\\x0a, 7");
    free(buf);
}

/* What fl_json_string() makes of C1 controls and invalid bytes is valid UTF-8 JSON that parses back. */
static void test_json_always_valid(void **state)
{
    const char *in = "c1\xc2\x85\xc2\x9b bad\xff\xfe\xc2 end\x01";
    json_object *o = fl_json_string(in), *back;
    const char *text;

    assert_non_null(o);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        assert_true(*p != 0xff && *p != 0xfe);
    back = json_tokener_parse(text);
    assert_non_null(back);
    assert_string_equal(json_object_get_string(back),
                        "c1\xc2\x85\xc2\x9b bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end\x01");
    json_object_put(back);
    json_object_put(o);
}

/* ---- struct fl_jw: the bytes json-c writes for the same values ---- */

/* @p w's text equals json-c's compact form of @p o (which it takes), then @p w is reset. */
static void check_jw(struct fl_jw *w, json_object *o)
{
    char *text = fl_sb_take(&w->sb);

    assert_non_null(text);
    assert_string_equal(
        text, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    free(text);
    json_object_put(o);
    *w = (struct fl_jw){0};
}

static void test_jw_strings(void **state)
{
    static const char *const samples[] = {"",
                                          "plain",
                                          "/dev/disk/by-id/x",
                                          "a\"b\\c/d",
                                          "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                                          "bad \xff\xfe utf-8 \xc3",
                                          "overlong \xc0\xaf, surrogate \xed\xa0\x80",
                                          "\x7f del, \xc2\x9b csi, \xe2\x80\xae rlo"};
    struct fl_jw w = {0};
    uint64_t rng = 0x2545f4914f6cdd1du;
    char s[2] = "";

    (void)state;
    /* every byte alone: json-c's escapes of controls, quote, backslash; U+FFFD for a byte that is not UTF-8
     */
    for (int c = 1; c < 256; c++) {
        s[0] = (char)c;
        fl_jw_string(&w, s);
        check_jw(&w, fl_json_string(s));
    }
    for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        fl_jw_string(&w, samples[i]);
        check_jw(&w, fl_json_string(samples[i]));
    }
    /* random bytes, as a string and as a member's name */
    for (int i = 0; i < 2000; i++) {
        char buf[40];
        size_t n = (size_t)(rng % (sizeof(buf) - 1));
        json_object *o = json_object_new_object();

        for (size_t k = 0; k < n; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            buf[k] = (char)(rng % 255 + 1);
        }
        buf[n] = '\0';
        fl_jw_begin(&w, '{');
        fl_jw_key(&w, buf);
        fl_jw_string(&w, buf);
        fl_jw_end(&w, '}');
        json_object_object_add(o, buf, fl_json_string(buf));
        check_jw(&w, o);
    }
}

static void test_jw_values(void **state)
{
    struct fl_jw w = {0};
    json_object *o = json_object_new_object(), *a = json_object_new_array(),
                *inner = json_object_new_object();

    (void)state;
    fl_jw_begin(&w, '{');
    fl_jw_key(&w, "ints");
    fl_jw_begin(&w, '[');
    fl_jw_int(&w, 0);
    fl_jw_int(&w, -1);
    fl_jw_int(&w, INT64_MIN);
    fl_jw_int(&w, INT64_MAX);
    fl_jw_u64(&w, UINT64_MAX, true); /* saturated, as fl_json_u64() */
    fl_jw_u64(&w, 7, false);
    fl_jw_bool(&w, true);
    fl_jw_bool(&w, false);
    fl_jw_null(&w);
    fl_jw_string(&w, NULL);
    fl_jw_begin(&w, '{');
    fl_jw_end(&w, '}');
    fl_jw_begin(&w, '[');
    fl_jw_end(&w, ']');
    fl_jw_end(&w, ']');
    fl_jw_key(&w, "inner");
    fl_jw_begin(&w, '{');
    fl_jw_key(&w, "a");
    fl_jw_null(&w);
    fl_jw_key(&w, "b");
    fl_jw_begin(&w, '[');
    fl_jw_end(&w, ']');
    fl_jw_end(&w, '}');
    fl_jw_key(&w, "last");
    fl_jw_int(&w, 1);
    fl_jw_end(&w, '}');

    json_object_array_add(a, json_object_new_int64(0));
    json_object_array_add(a, json_object_new_int64(-1));
    json_object_array_add(a, json_object_new_int64(INT64_MIN));
    json_object_array_add(a, json_object_new_int64(INT64_MAX));
    json_object_array_add(a, fl_json_u64(UINT64_MAX, true));
    json_object_array_add(a, fl_json_u64(7, false));
    json_object_array_add(a, json_object_new_boolean(1));
    json_object_array_add(a, json_object_new_boolean(0));
    json_object_array_add(a, NULL);
    json_object_array_add(a, fl_json_string(NULL));
    json_object_array_add(a, json_object_new_object());
    json_object_array_add(a, json_object_new_array());
    json_object_object_add(o, "ints", a);
    json_object_object_add(inner, "a", NULL);
    json_object_object_add(inner, "b", json_object_new_array());
    json_object_object_add(o, "inner", inner);
    json_object_object_add(o, "last", json_object_new_int(1));
    check_jw(&w, o);
}

static void test_exit_codes(void **state)
{
    assert_int_equal(fl_exit_code(FL_EXIT_OK), 0);
    assert_int_equal(fl_exit_code(FL_EXIT_INCOMPATIBLE), 6);
    assert_int_equal(fl_exit_code(-EINVAL), 1);
    assert_int_equal(fl_exit_code(-EPERM), 2);
    assert_int_equal(fl_exit_code(-EACCES), 2);
    assert_int_equal(fl_exit_code(-ENOMEM), 3);
    assert_int_equal(fl_exit_code(-ENOENT), 4);
    assert_int_equal(fl_exit_code(-EIO), 4);
    assert_int_equal(fl_exit_code(-EMEDIUMTYPE), 4);
    assert_int_equal(fl_exit_code(-EBUSY), 5);
    assert_int_equal(fl_exit_code(-EEXIST), 5);
}

static void test_volume_error_messages(void **state)
{
    assert_string_equal(fl_volume_strerror(-EMEDIUMTYPE), "not a LUKS volume (no LUKS signature)");
    assert_string_equal(fl_volume_strerror(-ENOENT), "no such file or device");
    assert_string_equal(fl_volume_strerror(-EACCES), "permission denied");
    assert_non_null(strstr(fl_volume_strerror(-EUCLEAN), "no header copy is valid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_string_escaping),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_text_escaping),
        cmocka_unit_test(test_fprintf_escaped),
        cmocka_unit_test(test_json_always_valid),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_volume_error_messages),
        cmocka_unit_test(test_jw_strings),
        cmocka_unit_test(test_jw_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
