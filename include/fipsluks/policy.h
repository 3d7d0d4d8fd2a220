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

/** How a FIPS host treats an algorithm. */
enum fl_approval {
    FL_APPROVED = 0,
    FL_APPROVED_WEAK = 1,   /**< allowed, but deprecated or weak (SHA-1, CBC with plain IVs) */
    FL_NOT_APPROVED = 2,
};

/** One thing the policy has to say about a volume. */
struct fl_finding {
    const char *rule;          /**< stable rule id, e.g. "FL-KDF-ARGON2" (static string) */
    enum fl_severity severity;
    char object[32];           /**< "keyslot 1", "digest 0", "segment 0", "header" */
    char *message;             /**< one-line reason */
    char *remedy;              /**< what fixes it, with the exact command; may be NULL */
};

struct fl_findings {
    struct fl_finding *items;
    size_t n;
    size_t allocated;
};

/** Approval of a hash used by PBKDF2, the AF splitter or ESSIV ("sha256", "ripemd160", …). */
enum fl_approval fl_policy_hash(const char *hash);

/**
 * Approval of a LUKS cipher spec ("aes-xts-plain64", "aes-cbc-essiv:sha256", "serpent-xts-plain64")
 * with a key of @p key_bits (the cipher's own key, without any dm-integrity HMAC key; 0 when unknown,
 * which skips the key-size check). On FL_APPROVED_WEAK or FL_NOT_APPROVED, @p ret_why (if not
 * NULL) is set to a static explanation; otherwise it is left alone.
 */
enum fl_approval fl_policy_cipher(const char *cipher, uint32_t key_bits, const char **ret_why);

/**
 * Approval of a dm-integrity algorithm ("hmac(sha256)", "poly1305", "aead"). NULL and "none" are
 * FL_APPROVED (nothing to judge); "aead" alone is FL_NOT_APPROVED (fl_policy_evaluate() lets
 * AES-GCM's own tag be judged as the cipher).
 */
enum fl_approval fl_policy_integrity(const char *integrity);

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
 * Quote @p s for a POSIX shell when it needs quoting (used in remedies): a copy when it is made of
 * [A-Za-z0-9_@%+=:,./-] only, else single-quoted with ' written as '\''; "" and NULL give ''.
 * @return a new string, or NULL on allocation failure.
 */
char *fl_shell_quote(const char *s);

#endif
