/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Finishing a reencryption whose data is done and whose header clean-up was cut short (see the .c file). */
#ifndef FL_LIB_REENCRYPT_FINISH_H
#define FL_LIB_REENCRYPT_FINISH_H

#include <stdbool.h>
#include <stddef.h>

#include "fipsluks/secret.h"
#include "fipsluks/volume.h"

struct fl_finish_result {
    bool pending;                     /**< the header was in that state */
    bool wrote;                       /**< a header copy was written */
    bool finished;                    /**< the clean-up is written and the retired areas wiped */
    int failed_secret;                /**< with -EPERM: the secret that does not open the result */
    int retired[FL_MAX_KEYSLOTS + 1]; /**< keyslots removed: the old ones and the reencrypt keyslot */
    size_t n_retired;
};

/**
 * When the LUKS2 header on @p hdev (data on @p data_path) holds a forward reencryption whose data is all
 * re-encrypted and only libcryptsetup's clean-up is missing, write that clean-up, after proving that the
 * cleaned header loads and opens with each of @p secrets. Anything else: nothing is written,
 * @p res->pending is false.
 * @return 0 (see @p res), -EPERM (a secret does not open the cleaned header: nothing written),
 *         -EUCLEAN (the header is in that state but inconsistent: nothing written), -errno.
 */
int fl_reencrypt_finish_pending(const char *hdev, const char *data_path,
                                const struct fl_secret *const *secrets, size_t n_secrets,
                                struct fl_finish_result *res);

/**
 * A private copy (a memfd) of the first @p bytes of @p fd: the header region, where a change can be tried
 * with libcryptsetup before the device sees it (crypt_init_data_device() on /proc/self/fd/N).
 * @return the memfd, or -errno.
 */
int fl_header_region_copy(int fd, uint64_t bytes);

#endif
