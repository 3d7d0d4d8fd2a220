/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file algorithms.h
 * The algorithms a FIPS host knows: hashes, ciphers, cipher modes, IV generators and integrity
 * algorithms with their FIPS status, and the one reader of LUKS cipher specs
 * ("aes-xts-plain64", "aes-cbc-essiv:sha256", "capi:xts(aes)-plain64").
 *
 * Pure functions over strings: no I/O, no global state. The rules that use them (which finding a
 * volume gets, and its remedy) are policy.h's.
 */
#ifndef FIPSLUKS_ALGORITHMS_H
#define FIPSLUKS_ALGORITHMS_H

#include <stdbool.h>
#include <stdint.h>

#include "why.h"

/** How a FIPS host treats an algorithm. */
enum fl_approval {
    FL_APPROVED = 0,
    FL_APPROVED_WEAK = 1, /**< allowed, but deprecated or weak (SHA-1, CBC with plain IVs) */
    FL_NOT_APPROVED = 2,
};

/** Longest part of a cipher spec, with its NUL. */
#define FL_CIPHER_SPEC_PART 64

/** How a cipher spec was written. */
enum fl_cipher_spec_form {
    FL_SPEC_FULL = 0, /**< "NAME-MODE[-IV[:IVOPTS]]", as written */
    FL_SPEC_SHORT,    /**< a short form read the way libcryptsetup does: "aes" and "aes-plain" are
                           aes-cbc-plain, "null" is cipher_null-ecb */
    FL_SPEC_CAPI,     /**< the kernel's form after "capi:": "xts(aes)-plain64", AEAD wrappers unwrapped */
};

/**
 * A cipher spec split as dm-crypt does: "aes-cbc-essiv:sha256" is aes, cbc, essiv, sha256. Every
 * part is lower case and empty when absent.
 */
struct fl_cipher_spec {
    char cipher[FL_CIPHER_SPEC_PART]; /**< without a ":N" key count; "xchacha12,aes" stays whole */
    char mode[FL_CIPHER_SPEC_PART];   /**< "xts", "cbc", "gcm", "adiantum" … */
    char iv[FL_CIPHER_SPEC_PART];     /**< IV generator: "plain64", "essiv" … */
    char ivopts[FL_CIPHER_SPEC_PART]; /**< what follows the IV generator's ':' ("sha256") */
    enum fl_cipher_spec_form form;
    bool key_count; /**< the cipher carried a loop-AES key count ("aes:64-cbc-lmk") */
};

/**
 * Split cipher spec @p spec into @p ret (always written; zeroed first), the way
 * crypt_parse_name_and_mode() and dm-crypt read it. @return false when it is empty, malformed or has
 * a part longer than FL_CIPHER_SPEC_PART - 1.
 */
bool fl_cipher_spec_parse(const char *spec, struct fl_cipher_spec *ret);

/** Approval of a hash used by PBKDF2, the AF splitter or ESSIV ("sha256", "ripemd160", …). */
enum fl_approval fl_policy_hash(const char *hash);

/** Digest size of hash @p hash in bits, or 0 when it is not one of the hashes known here. */
unsigned fl_hash_bits(const char *hash);

/** The verdict on a cipher spec with a key size. */
struct fl_cipher_verdict {
    enum fl_approval approval;
    const char *why;   /**< static explanation; NULL when FL_APPROVED */
    bool xts_key_only; /**< AES-XTS whose key size is all that is wrong with it */
};

/** The verdict on cipher spec @p cipher with a @p key_bits key (0: not judged), as fl_policy_cipher(). */
struct fl_cipher_verdict fl_cipher_judge(const char *cipher, uint32_t key_bits);

/**
 * Approval of a LUKS cipher spec ("aes-xts-plain64", "aes-cbc-essiv:sha256", "serpent-xts-plain64")
 * with a key of @p key_bits (the cipher's own key, without any dm-integrity HMAC key; 0 when unknown,
 * which skips the key-size check). On FL_APPROVED_WEAK or FL_NOT_APPROVED, @p why (may be NULL)
 * says why; otherwise it is emptied.
 */
enum fl_approval fl_policy_cipher(const char *cipher, uint32_t key_bits, struct fl_why *why);

/** True for an AES-GCM spec, whose own tag is the integrity protection ("aead"). */
bool fl_cipher_is_aes_gcm(const char *cipher);

/** True when @p integrity names no dm-integrity algorithm (NULL, "" or "none"). */
bool fl_integrity_none(const char *integrity);

/**
 * Bits of the HMAC key that libcryptsetup appends to the volume key for dm-integrity algorithm
 * @p integrity ("hmac(sha256)": 256); 0 when it is none or not an HMAC known here.
 */
uint32_t fl_integrity_key_bits(const char *integrity);

/**
 * Approval of a dm-integrity algorithm ("hmac(sha256)", "poly1305", "aead"). NULL and "none" are
 * FL_APPROVED (nothing to judge); "aead" alone is FL_NOT_APPROVED (fl_policy_evaluate() lets
 * AES-GCM's own tag be judged as the cipher).
 */
enum fl_approval fl_policy_integrity(const char *integrity);

#endif
