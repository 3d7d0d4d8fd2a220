/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Filling a check record (check-record.c): what every check module writes its verdict with. A leaf:
 * it knows the record (fipsluks/check.h), none of the checks. */
#ifndef FL_LIB_CHECK_RECORD_H
#define FL_LIB_CHECK_RECORD_H

#include "fipsluks/check.h"

/* Reset @p c to an empty check with @p id (a static string); status pass. */
void fl_check_init(struct fl_check *c, const char *id);
/* Set the status and the message (printf format). @return 0 or -ENOMEM. */
int fl_check_set(struct fl_check *c, enum fl_check_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append one evidence line. @return 0 or -ENOMEM. */
int fl_check_evidence(struct fl_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append one remedy line (skipped when the same line is already there). @return 0 or -ENOMEM. */
int fl_check_remedy(struct fl_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raise the status to @p status when it is worse than the current one (pass < warn < fail). */
void fl_check_worsen(struct fl_check *c, enum fl_check_status status);

#endif
