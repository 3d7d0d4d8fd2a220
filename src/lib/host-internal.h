/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a check module (check-*.c) includes: the checks' public API, the record it fills
 * (check-record.h) and reading below --root (root.h). */
#ifndef FL_LIB_HOST_INTERNAL_H
#define FL_LIB_HOST_INTERNAL_H

#include "check-record.h"
#include "fipsluks/host.h"
#include "root.h"

#endif
