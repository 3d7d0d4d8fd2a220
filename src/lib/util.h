/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal helpers of the core library. */
#ifndef FL_LIB_UTIL_H
#define FL_LIB_UTIL_H

#include "fipsluks/util.h"

#endif
