/* SPDX-License-Identifier: LGPL-2.1-or-later */
/** @file array.h The one growable array of the library and the command line. */
#ifndef FIPSLUKS_ARRAY_H
#define FIPSLUKS_ARRAY_H

#include <stddef.h>

/**
 * Make room for @p need elements of @p size bytes in the array whose address is @p items (a
 * `struct x **`, passed as `&list->items`) and that has room for *@p allocated elements. When
 * @p need is more than that, the array grows to twice its room (at least 8 elements, at least
 * @p need), or to exactly @p need when twice would not fit in a size_t.
 * @return 0, or -ENOMEM (out of memory, or @p need elements of @p size bytes do not fit in a
 *         size_t); on failure *@p items and *@p allocated are left as they were.
 */
int fl_array_grow(void *items, size_t *allocated, size_t need, size_t size);

#endif
