/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file policy.h
 * The FIPS policy: which LUKS parameters a FIPS host refuses or frowns upon, and what to do.
 *
 * Pure functions over struct fl_volume: no I/O, no global state. Each rule has a stable
 * identifier (FL-…) documented in fipsluks-scan(8).
 */
#ifndef FIPSLUKS_POLICY_H
#define FIPSLUKS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "algorithms.h" /* enum fl_approval, fl_policy_hash(), fl_policy_cipher(), fl_policy_integrity() */
#include "util.h"       /* fl_shell_quote() */
#include "volume.h"

/** Lowest PBKDF2 iteration count the OpenSSL FIPS provider accepts. */
#define FL_FIPS_MIN_ITERATIONS 1000u
/** Below this, an allowed PBKDF2 keyslot is reported as weak (warning). */
#define FL_RECOMMENDED_MIN_ITERATIONS 100000u

enum fl_severity {
    FL_SEVERITY_INFO = 0,
    FL_SEVERITY_WARNING = 1,
    FL_SEVERITY_ERROR = 2,
};

/** The kind of object a finding concerns; with its id it is printed "keyslot 1", "header", … */
enum fl_object {
    FL_OBJECT_HEADER = 0, /**< the volume header as a whole (no id) */
    FL_OBJECT_SEGMENT,
    FL_OBJECT_DIGEST,
    FL_OBJECT_KEYSLOT,
    FL_OBJECT_TOKEN,
};

/** The fipsluks verb that fixes a finding. */
enum fl_fix {
    FL_FIX_NONE = 0,  /**< no fipsluks verb: a header backup, another tool, or an operator's decision */
    FL_FIX_MIGRATE,   /**< fipsluks migrate: a new PBKDF2 keyslot, same volume key (or LUKS1 to LUKS2) */
    FL_FIX_REENCRYPT, /**< fipsluks reencrypt: a new volume key, digest, data cipher and keyslots */
    FL_FIX_FORMAT,    /**< fipsluks format: a new volume (integrity cannot be changed in place) */
};

/** The rules: indices into fl_rules[], in the order of the table (and of docs/rules.md). */
enum fl_rule_id {
    FL_RULE_REENCRYPT = 0,
    FL_RULE_REQUIREMENTS,
    FL_RULE_HEADER_DAMAGED,
    FL_RULE_LUKS1,
    FL_RULE_LUKS1_HASH,
    FL_RULE_NO_KEYSLOT,
    FL_RULE_HEADER_MALFORMED,
    FL_RULE_CIPHER,
    FL_RULE_XTS_KEY,
    FL_RULE_INTEGRITY,
    FL_RULE_DIGEST_HASH,
    FL_RULE_DIGEST_ITER,
    FL_RULE_KDF_ARGON2,
    FL_RULE_KDF_UNKNOWN,
    FL_RULE_KDF_HASH,
    FL_RULE_KDF_SHA1,
    FL_RULE_KDF_ITER_MIN,
    FL_RULE_KDF_ITER_LOW,
    FL_RULE_AREA_CIPHER,
    FL_RULE_AF_HASH,
    FL_RULE_COUNT
};

/** One policy rule: a row of fl_rules[], documented in docs/rules.md and fipsluks-scan(8). */
struct fl_rule {
    const char *id;            /**< stable rule id, e.g. "FL-KDF-ARGON2" */
    enum fl_severity severity; /**< the most severe its findings get (some are warnings for weak values) */
    enum fl_fix fixed_by;      /**< the verb that fixes its findings (struct fl_finding.fix says where not) */
    const char *meaning;       /**< what a finding of it means, one line */
};

/** Every rule, indexed by enum fl_rule_id. */
extern const struct fl_rule fl_rules[FL_RULE_COUNT];

/** One thing the policy has to say about a volume. */
struct fl_finding {
    const struct fl_rule *rule; /**< the rule, a row of fl_rules[] */
    enum fl_severity severity;
    enum fl_object object; /**< what it concerns: the header, or a segment, digest, keyslot, token … */
    int object_id;         /**< … with this id (0 for the header) */
    enum fl_fix fix;       /**< the verb that fixes it: the rule's fixed_by, except where the rule
                                depends on the volume (FL-AREA-CIPHER with a data cipher that is not
                                approved, FL-CIPHER on a segment with integrity, FL-LUKS1 with a
                                header hash that is not approved) */
    char *message;         /**< one-line reason */
    char *remedy;          /**< what fixes it, with the exact command; may be NULL */
};

struct fl_findings {
    struct fl_finding *items;
    size_t n;
    size_t allocated;
};

/** Name of an object kind ("header", "segment", "digest", "keyslot", "token"). */
const char *fl_object_name(enum fl_object o);

/**
 * The object of @p f as shown to operators: "header", "keyslot 1", "segment 0" (at most 32 bytes
 * with the NUL). @return @p buf.
 */
char *fl_finding_object(const struct fl_finding *f, char *buf, size_t size);

/**
 * Evaluate @p v and append its findings to @p out (which the caller zero-initialises): header
 * rules first, then segments, digests and keyslots, each in id order.
 * @return number of error findings appended, -EINVAL (NULL argument) or -ENOMEM; after -ENOMEM
 *         @p out holds the findings appended so far, released by fl_findings_clear().
 */
int fl_policy_evaluate(const struct fl_volume *v, struct fl_findings *out);

/** True when @p f holds no error finding. */
int fl_findings_compatible(const struct fl_findings *f);

/** Release the findings' contents (not @p f itself). */
void fl_findings_clear(struct fl_findings *f);

/** Name of a severity ("error", "warning", "info"). */
const char *fl_severity_name(enum fl_severity s);

/**
 * What re-wraps keyslot @p slot, bound to a token of type @p token_type (systemd-tpm2, clevis, …;
 * anything but [A-Za-z0-9_@%+=:,./-] in it is shown as '?'): guidance for a person, with example
 * commands, not one command (the token's secret is needed). @p path is the device and @p target
 * "[--header HDR ]PATH", both already shell-quoted (fl_shell_quote()). Scan's remedy and report's
 * to-do list use the same words. @return a new string, or NULL on allocation failure.
 */
char *fl_remedy_token_keyslot(int slot, const char *token_type, const char *path, const char *target);

#endif
