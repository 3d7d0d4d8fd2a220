/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the growable array (src/lib/array.c): growth by doubling, the minimum, exact growth
 * when twice would not fit, and overflow and allocation failure leaving the array as it was.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fipsluks/array.h"

/* reallocarray() as array.c sees it: counted, its element count recorded, made to fail on demand. */
static long calls;
static size_t last_n;
static bool fail_next;

void *reallocarray(void *p, size_t n, size_t size)
{
    calls++;
    last_n = n;
    if (fail_next || (size && n > SIZE_MAX / size)) {
        fail_next = false;
        return NULL;
    }
    return realloc(p, n * size);
}

struct item {
    int id;
    char name[12];
};

static void test_grow(void **state)
{
    struct item *items = NULL, *before;
    size_t allocated = 0;

    (void)state;
    calls = 0;
    /* from nothing: at least 8 */
    assert_int_equal(fl_array_grow(&items, &allocated, 1, sizeof(*items)), 0);
    assert_non_null(items);
    assert_int_equal(allocated, 8);
    for (int i = 0; i < 8; i++)
        items[i].id = i;
    /* room enough: nothing happens */
    before = items;
    assert_int_equal(fl_array_grow(&items, &allocated, 8, sizeof(*items)), 0);
    assert_int_equal(fl_array_grow(&items, &allocated, 0, sizeof(*items)), 0);
    assert_ptr_equal(items, before);
    assert_int_equal(allocated, 8);
    assert_int_equal(calls, 1);
    /* one more: twice the room, the contents kept */
    assert_int_equal(fl_array_grow(&items, &allocated, 9, sizeof(*items)), 0);
    assert_int_equal(allocated, 16);
    for (int i = 0; i < 8; i++)
        assert_int_equal(items[i].id, i);
    /* more than twice: exactly what is needed */
    assert_int_equal(fl_array_grow(&items, &allocated, 100, sizeof(*items)), 0);
    assert_int_equal(allocated, 100);
    items[99].id = 99;
    assert_int_equal(calls, 3);
    free(items);

    /* appending one at a time reallocates log2(n) times */
    items = NULL;
    allocated = 0;
    calls = 0;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(fl_array_grow(&items, &allocated, (size_t)i + 1, sizeof(*items)), 0);
        items[i].id = i;
        snprintf(items[i].name, sizeof(items[i].name), "item %d", i);
    }
    assert_int_equal(allocated, 1024);
    assert_int_equal(calls, 8); /* 8, 16, …, 1024 */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(items[i].id, i);
    assert_string_equal(items[0].name, "item 0");
    assert_string_equal(items[999].name, "item 999");
    free(items);
}

/* A failed allocation: -ENOMEM, the array and its room as they were. */
static void test_allocation_failure(void **state)
{
    struct item *items = NULL, *before;
    size_t allocated = 0;

    (void)state;
    fail_next = true;
    assert_int_equal(fl_array_grow(&items, &allocated, 1, sizeof(*items)), -ENOMEM);
    assert_null(items);
    assert_int_equal(allocated, 0);

    assert_int_equal(fl_array_grow(&items, &allocated, 3, sizeof(*items)), 0);
    items[2].id = 42;
    before = items;
    fail_next = true;
    assert_int_equal(fl_array_grow(&items, &allocated, 9, sizeof(*items)), -ENOMEM);
    assert_ptr_equal(items, before);
    assert_int_equal(allocated, 8);
    assert_int_equal(items[2].id, 42);
    free(items);
}

/* Sizes that do not fit in a size_t are refused before any allocation; growth that would overflow
 * when doubled asks for exactly what is needed. */
static void test_overflow(void **state)
{
    struct item *items = NULL, *before;
    size_t allocated = 0, fake;

    (void)state;
    assert_int_equal(fl_array_grow(&items, &allocated, 1, sizeof(*items)), 0);
    before = items;
    calls = 0;
    /* need * size wraps around */
    assert_int_equal(fl_array_grow(&items, &allocated, SIZE_MAX / sizeof(*items) + 1, sizeof(*items)),
                     -ENOMEM);
    assert_int_equal(fl_array_grow(&items, &allocated, SIZE_MAX, sizeof(*items)), -ENOMEM);
    assert_int_equal(fl_array_grow(&items, &allocated, SIZE_MAX / 2 + 1, 2), -ENOMEM);
    assert_int_equal(fl_array_grow(&items, &allocated, 9, 0), -ENOMEM); /* no element size */
    assert_int_equal(calls, 0);
    assert_ptr_equal(items, before);
    assert_int_equal(allocated, 8);

    /* twice the room would wrap: exactly the need is asked for (which the allocator here refuses; the
     * fake room makes no real allocation that large) */
    fake = SIZE_MAX / sizeof(*items) - 10;
    fail_next = true;
    assert_int_equal(fl_array_grow(&items, &fake, fake + 1, sizeof(*items)), -ENOMEM);
    assert_int_equal(calls, 1);
    assert_int_equal(last_n, SIZE_MAX / sizeof(*items) - 9);
    assert_int_equal(fake, SIZE_MAX / sizeof(*items) - 10);
    /* doubling the count itself would wrap */
    fake = SIZE_MAX / 2 + 5;
    fail_next = true;
    assert_int_equal(fl_array_grow(&items, &fake, fake + 1, 1), -ENOMEM);
    assert_int_equal(calls, 2);
    assert_int_equal(last_n, SIZE_MAX);
    assert_int_equal(fake, SIZE_MAX / 2 + 5);
    assert_ptr_equal(items, before);
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_allocation_failure),
        cmocka_unit_test(test_overflow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
