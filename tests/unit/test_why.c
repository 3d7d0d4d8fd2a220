/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of src/lib/why.c: a reason is formatted into the caller's buffer, the error passed in
 * comes back, NULL asks for nothing, and text too long for FL_WHY_SIZE is cut whole characters at a
 * time and stays NUL-terminated.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fipsluks/why.h"
#include "fipsluks/util.h"

static void test_format_and_return(void **state)
{
    struct fl_why why;

    memset(&why, 'x', sizeof(why));
    assert_int_equal(fl_why_set(&why, -EBUSY, "mounted on %s (%d)", "/mnt", 3), -EBUSY);
    assert_string_equal(why.text, "mounted on /mnt (3)");
    assert_false(fl_why_empty(&why));
    assert_int_equal(fl_why_set(&why, 0, "%s", ""), 0);
    assert_true(fl_why_empty(&why));
    assert_int_equal(fl_why_set(&why, 7, "again"), 7);
    assert_string_equal(why.text, "again");
    fl_why_clear(&why);
    assert_string_equal(why.text, "");
    assert_true(fl_why_empty(&why));
}

static void test_null(void **state)
{
    assert_int_equal(fl_why_set(NULL, -EINVAL, "ignored %s", "here"), -EINVAL);
    assert_int_equal(fl_why_set(NULL, 0, "x"), 0);
    fl_why_clear(NULL);
    assert_true(fl_why_empty(NULL));
}

/* The reason's own text as an argument: formatted aside, so "a: b" and not overlapping garbage. */
static void test_own_text(void **state)
{
    struct fl_why why;

    fl_why_set(&why, 0, "held by %s", "dm-0");
    assert_int_equal(fl_why_set(&why, -EBUSY, "'%s' is %s; nothing written", "/dev/sdb", why.text), -EBUSY);
    assert_string_equal(why.text, "'/dev/sdb' is held by dm-0; nothing written");
}

/* Every byte of @p s is part of a whole, valid UTF-8 character. */
static bool valid_utf8(const char *s)
{
    uint32_t cp;
    size_t n;

    for (; *s; s += n)
        if (!(n = fl_utf8_char(s, &cp)))
            return false;
    return true;
}

/* ASCII filler of @p pad bytes, then @p ch repeated: cut at every offset a character can straddle. */
static void check_cut(const char *ch, size_t pad)
{
    char long_text[3 * FL_WHY_SIZE];
    size_t chl = strlen(ch), len = 0, kept;
    struct fl_why why;

    memset(long_text, 'a', pad);
    len = pad;
    while (len + chl < sizeof(long_text) - 1) {
        memcpy(long_text + len, ch, chl);
        len += chl;
    }
    long_text[len] = '\0';
    memset(&why, 'x', sizeof(why));
    assert_int_equal(fl_why_set(&why, -E2BIG, "%s", long_text), -E2BIG);
    kept = strnlen(why.text, sizeof(why.text));
    assert_true(kept < FL_WHY_SIZE);                /* NUL-terminated inside the buffer */
    assert_true(kept > FL_WHY_SIZE - 1 - chl);      /* only the character that did not fit is gone */
    assert_memory_equal(why.text, long_text, kept); /* a prefix of the text */
    assert_int_equal((kept - pad) % chl, 0);        /* whole characters only */
    assert_true(valid_utf8(why.text));
}

static void test_truncation(void **state)
{
    static const char *chars[] = {"a", "\xc3\xa9" /* é */, "\xe2\x82\xac" /* € */,
                                  "\xf0\x9f\x94\x91" /* 🔑 */};

    for (size_t c = 0; c < sizeof(chars) / sizeof(chars[0]); c++)
        for (size_t pad = 0; pad < 4; pad++)
            check_cut(chars[c], pad);
}

/* Exactly FL_WHY_SIZE - 1 bytes fit whole; one more byte is cut. */
static void test_exact_fit(void **state)
{
    char text[FL_WHY_SIZE + 1];
    struct fl_why why;

    memset(text, 'b', FL_WHY_SIZE - 1);
    text[FL_WHY_SIZE - 1] = '\0';
    fl_why_set(&why, 0, "%s", text);
    assert_string_equal(why.text, text);
    /* ends with a 2-byte character whose last byte is the one past the room */
    memset(text, 'b', FL_WHY_SIZE - 2);
    memcpy(text + FL_WHY_SIZE - 2, "\xc3\xa9", 3);
    fl_why_set(&why, 0, "%s", text);
    assert_int_equal(strlen(why.text), FL_WHY_SIZE - 2);
    assert_true(valid_utf8(why.text));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_and_return), cmocka_unit_test(test_null),
        cmocka_unit_test(test_own_text),          cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_exact_fit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
