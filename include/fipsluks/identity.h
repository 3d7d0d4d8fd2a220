/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file identity.h Who and when: the host identity and time every scan and check record carries,
 * so records from many hosts can be merged (fipsluks report) without wrapping them by hand.
 */
#ifndef FIPSLUKS_IDENTITY_H
#define FIPSLUKS_IDENTITY_H

#include <time.h>

/** Version of the JSON schema of scan, check and report output (documented in fipsluks-scan(8)). */
#define FL_SCHEMA_VERSION 1

/** Length of an RFC 3339 UTC timestamp "YYYY-MM-DDTHH:MM:SSZ" plus its NUL. */
#define FL_TIMESTAMP_SIZE 21

struct fl_identity {
    char *hostname;      /**< the host name; NULL if unknown */
    char *machine_id;    /**< /etc/machine-id (32 hex digits); NULL if absent or malformed */
    char *os_id;         /**< os-release ID; NULL if absent */
    char *os_version_id; /**< os-release VERSION_ID; NULL if absent */
    int kernel_fips;     /**< /proc/sys/crypto/fips_enabled: 1, 0, or -1 when it cannot be read */
    time_t time;         /**< when the identity was taken */
    char timestamp[FL_TIMESTAMP_SIZE]; /**< @p time as RFC 3339 UTC */
};

/**
 * Read this host's identity and the current time. With @p root, the identity of the system whose
 * files are below that directory (etc/hostname, etc/machine-id, os-release; the kernel's FIPS
 * state only if root/proc has it). Missing items are NULL (-1), not errors.
 * @return 0 or -ENOMEM. @p ret is cleared first; fl_identity_clear() it afterwards.
 */
int fl_identity_read(const char *root, struct fl_identity *ret);

void fl_identity_clear(struct fl_identity *id);

/** Format @p t as RFC 3339 UTC ("2026-11-29T12:00:00Z"). @return 0 or -EOVERFLOW. */
int fl_timestamp_format(time_t t, char buf[FL_TIMESTAMP_SIZE]);

/**
 * Parse an RFC 3339 timestamp: "YYYY-MM-DDTHH:MM:SS" with optional fraction, then "Z" or "±HH:MM".
 * @return 0, or -EINVAL when @p s is not one.
 */
int fl_timestamp_parse(const char *s, time_t *ret);

#endif
