/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one growable array: grow by doubling, with the multiplications checked. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fipsluks/array.h"

#define FL_ARRAY_MIN 8

int fl_array_grow(void *items, size_t *allocated, size_t need, size_t size)
{
    size_t want;
    void *p, *grown;

    if (need <= *allocated)
        return 0;
    if (size == 0 || need > SIZE_MAX / size)
        return -ENOMEM;
    want = *allocated > SIZE_MAX / 2 ? SIZE_MAX : *allocated * 2;
    if (want < FL_ARRAY_MIN)
        want = FL_ARRAY_MIN;
    if (want < need || want > SIZE_MAX / size)
        want = need;
    /* items is the address of a pointer of any object type: read and written through memcpy() */
    memcpy(&p, items, sizeof(p));
    grown = reallocarray(p, want, size);
    if (!grown)
        return -ENOMEM;
    memcpy(items, &grown, sizeof(grown));
    *allocated = want;
    return 0; /* cppcheck-suppress memleak ; the memcpy() above stored grown in *items, for the caller */
}
