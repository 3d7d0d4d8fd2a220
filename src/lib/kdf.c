/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PBKDF2 calibration. libcryptsetup's OpenSSL backend derives keyslot keys with OpenSSL's PBKDF2
 * (EVP_KDF "PBKDF2"); timing the same KDF here, through the same provider configuration, predicts
 * the unlock time. cryptsetup's benchmark doubles the count until one run takes 500 ms; timing
 * runs of about 50 ms is as accurate for a CPU-bound loop and ten times cheaper. The count for
 * those runs is found with short runs (a few ms), not by doubling up to 50 ms: that ramp alone
 * used to cost as much as the measurement (about 0.33 s of a format in all, now about 0.16 s).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "fipsluks/kdf.h"
#include "fipsluks/policy.h"

#define CALIBRATION_PROBE_MS  4.0  /* long enough to predict the count for the measuring window */
#define CALIBRATION_WINDOW_MS 50.0 /* each measuring run */
#define CALIBRATION_RUNS      3
#define CALIBRATION_START     1024u
#define KEY_MAX               512u

int fl_kdf_hash_allowed(const char *hash)
{
    return hash && (!strcasecmp(hash, "sha256") || !strcasecmp(hash, "sha512"));
}

/*
 * CPU time of this thread, as cryptsetup measures its benchmark (getrusage()): time spent waiting
 * for a CPU that other processes hold would otherwise make a loaded machine look slow.
 */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* One PBKDF2 run; @return its duration in ms, or a negative errno. */
static double pbkdf2_run(EVP_KDF *kdf, const char *hash, size_t key_size, uint32_t iterations)
{
    /* Fixed, non-secret calibration inputs; lengths meet the FIPS provider's lower bounds. */
    static const char password[] = "fipsluks-calibration";
    static const unsigned char salt[32] = {0x66, 0x6c};
    unsigned char key[KEY_MAX];
    unsigned int iter = iterations;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t)hash, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)(uintptr_t)password,
                                          sizeof(password) - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, sizeof(salt)),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_end(),
    };
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    double start;
    int ok;

    if (!ctx)
        return -ENOMEM;
    start = now_ms();
    ok = EVP_KDF_derive(ctx, key, key_size, params);
    EVP_KDF_CTX_free(ctx);
    return ok == 1 ? now_ms() - start : -EINVAL;
}

int fl_kdf_calibrate_pbkdf2(const char *hash, size_t key_size, uint32_t iter_time_ms,
                            uint32_t *ret_iterations)
{
    EVP_KDF *kdf;
    uint32_t iterations = CALIBRATION_START;
    double ms = 0, estimate;

    if (!hash || key_size == 0 || key_size > KEY_MAX || iter_time_ms == 0)
        return -EINVAL;
    kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
    if (!kdf)
        return -EINVAL;
    for (;;) {
        ms = pbkdf2_run(kdf, hash, key_size, iterations);
        if (ms < 0 || ms >= CALIBRATION_PROBE_MS || iterations > UINT32_MAX / 16)
            break;
        iterations = ms < CALIBRATION_PROBE_MS / 16 ? iterations * 16 : iterations * 2;
    }
    if (ms >= 0) {
        double scaled = (double)iterations * CALIBRATION_WINDOW_MS / (ms > 0.001 ? ms : 0.001);
        iterations = scaled > UINT32_MAX / 2 ? UINT32_MAX / 2
                     : scaled < iterations   ? iterations
                                             : (uint32_t)scaled;
        ms = 0;
    }
    /*
     * The mean of the measuring runs. A busy machine (another process on the same core) slows runs
     * down for stretches of time; cryptsetup's single long run averages over them, and so does this.
     * The fastest run alone would overestimate by a third and more under load.
     */
    for (int i = 0; i < CALIBRATION_RUNS && ms >= 0; i++) {
        double again = pbkdf2_run(kdf, hash, key_size, iterations);
        ms = again >= 0 ? ms + again : again;
    }
    EVP_KDF_free(kdf);
    if (ms < 0)
        return (int)ms;
    ms /= CALIBRATION_RUNS;
    estimate = (double)iterations * iter_time_ms / (ms > 0.001 ? ms : 0.001);
    if (estimate > FL_MAX_ITERATIONS)
        estimate = FL_MAX_ITERATIONS;
    *ret_iterations = estimate < FL_FIPS_MIN_ITERATIONS ? FL_FIPS_MIN_ITERATIONS : (uint32_t)estimate;
    return 0;
}
