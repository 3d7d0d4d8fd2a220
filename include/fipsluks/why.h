/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file why.h
 * The one way the library explains a failure: a fixed-size reason an operator reads.
 *
 * A function that can say why it failed takes `struct fl_why *why` as its last parameter (NULL when
 * the caller does not want to know); a result that carries an explanation embeds `struct fl_why
 * why`. The reason lives in the caller's memory: nothing is allocated, nothing is freed, and writing
 * a reason cannot fail. An empty text means no reason was given.
 *
 *     if (busy)
 *         return fl_why_set(why, -EBUSY, "mounted on %s", where);
 */
#ifndef FIPSLUKS_WHY_H
#define FIPSLUKS_WHY_H

#include <stdarg.h>
#include <stdbool.h>

/** Bytes of a reason, its NUL included: longer text is cut, on a character boundary. */
#define FL_WHY_SIZE 1024

/** A reason for an operator: a NUL-terminated UTF-8 sentence, "" when none. */
struct fl_why {
    char text[FL_WHY_SIZE];
};

/**
 * Write the printf-formatted reason into @p why (nothing when @p why is NULL). Text longer than
 * FL_WHY_SIZE - 1 bytes is cut before the first UTF-8 character that does not fit whole. The
 * arguments may include @p why's own text (it is formatted aside, then copied).
 * @return @p r, so that `return fl_why_set(why, -EBUSY, "…");` says the reason and returns the error.
 */
int fl_why_set(struct fl_why *why, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** fl_why_set() with a va_list, for a module's own variadic helper. @return @p r. */
int fl_why_setv(struct fl_why *why, int r, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/** Empty @p why (nothing when it is NULL). */
void fl_why_clear(struct fl_why *why);

/** True when @p why is NULL or says nothing. */
bool fl_why_empty(const struct fl_why *why);

#endif
