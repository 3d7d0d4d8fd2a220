/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The migration journal inside the library (parsing and checking are public in fipsluks/migrate.h). */
#ifndef FL_LIB_JOURNAL_H
#define FL_LIB_JOURNAL_H

#include <stdbool.h>

#include <libcryptsetup.h>

#include "fipsluks/migrate.h"

/** Whether journal @p j names keyslot @p slot, as the keyslot converted or as its temporary copy. */
bool fl_journal_claims(const struct fl_journal *j, int slot);

/**
 * Commit @p j as token @p token (CRYPT_ANY_TOKEN: a new one). @p backup is recorded for the operator
 * only (never read back as a path). @return the token id, or -errno.
 */
int fl_journal_write(struct crypt_device *cd, int token, const struct fl_journal *j, const char *backup);

#endif
