/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The openssl-live check: a probe of what this process's OpenSSL allows, with its configuration loaded. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/conf.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "fipsluks/why.h"
#include "host-internal.h"

/* SHA-256("abc"), FIPS 180-2 appendix B.1. */
static const unsigned char sha256_abc[32] = {
    0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
};

/* The first error on OpenSSL's queue as text (static buffer), and the queue emptied. */
static const char *openssl_error(void)
{
    static char buf[256];
    unsigned long e = ERR_peek_error();

    if (!e) {
        ERR_clear_error();
        return "no error reported";
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return buf;
}

struct provider_walk {
    struct fl_check *c;
    int r;
};

/* One evidence line per active provider: "provider fips: OpenSSL FIPS Provider 3.5.7, status active". */
static int describe_provider(OSSL_PROVIDER *prov, void *arg)
{
    struct provider_walk *w = arg;
    const char *name = NULL, *version = NULL;
    int status = -1;
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, &name, 0),
        OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, &version, 0),
        OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, &status),
        OSSL_PARAM_END,
    };

    if (!OSSL_PROVIDER_get_params(prov, params))
        ERR_clear_error();
    w->r = fl_check_evidence(w->c, "provider %s: %s %s, status %s", OSSL_PROVIDER_get0_name(prov),
                             name ? name : "(no name)", version ? version : "(no version)",
                             status == 1   ? "active"
                             : status == 0 ? "inactive (self-test failed?)"
                                           : "unknown");
    return w->r >= 0;
}

/* Fetch @p alg: 1 (with the provider's name in @p ret_provider) when available, 0 (OpenSSL's error in
 * @p why) when refused. */
static int fetch_md(const char *alg, const char **ret_provider, struct fl_why *why)
{
    EVP_MD *md = EVP_MD_fetch(NULL, alg, NULL);

    if (!md)
        return fl_why_set(why, 0, "%s", openssl_error());
    *ret_provider = OSSL_PROVIDER_get0_name(EVP_MD_get0_provider(md));
    EVP_MD_free(md);
    return 1;
}

static bool sha256_works(void)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    bool ok;

    ok = md && EVP_Digest("abc", 3, out, &len, md, NULL) && len == sizeof(sha256_abc) &&
         !memcmp(out, sha256_abc, len);
    EVP_MD_free(md);
    ERR_clear_error();
    return ok;
}

int fl_check_openssl_live(struct fl_check *c, struct fl_openssl_live *ret)
{
    struct fl_openssl_live live = {0};
    struct provider_walk walk = {.c = c};
    const char *sha_provider = NULL, *md5_provider = NULL;
    struct fl_why sha_error = {""}, md5_error = {""};
    char *conf_file;
    Dl_info info;
    int r;

    fl_check_init(c, FL_CHECK_OPENSSL_LIVE);
    if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL)) {
        r = fl_check_evidence(c, "loading the OpenSSL configuration failed: %s", openssl_error());
        if (r < 0)
            return r;
    }
    r = fl_check_evidence(c, "library: %s", OpenSSL_version(OPENSSL_VERSION));
    if (r >= 0 && dladdr((void *)EVP_MD_fetch, &info) && info.dli_fname)
        r = fl_check_evidence(c, "library file: %s", info.dli_fname);
    if (r < 0)
        return r;
    conf_file = CONF_get1_default_config_file();
    r = fl_check_evidence(c, "configuration: %s%s", conf_file ? conf_file : "(none)",
                          getenv("OPENSSL_CONF") ? " (OPENSSL_CONF)" : "");
    OPENSSL_free(conf_file);
    if (r < 0)
        return r;

    live.sha256 = fetch_md("SHA256", &sha_provider, &sha_error) && sha256_works();
    live.md5 = fetch_md("MD5", &md5_provider, &md5_error);
    live.fips_properties = EVP_default_properties_is_fips_enabled(NULL) == 1;
    live.fips_available = OSSL_PROVIDER_available(NULL, "fips") == 1;
    ERR_clear_error();

    if (live.sha256)
        r = fl_check_evidence(c, "SHA-256: available (provider %s)", sha_provider ? sha_provider : "?");
    else
        r = fl_check_evidence(c, "SHA-256: NOT available: %s", sha_error.text);
    if (r >= 0) {
        if (live.md5)
            r = fl_check_evidence(c, "MD5: available (provider %s)", md5_provider ? md5_provider : "?");
        else
            r = fl_check_evidence(c, "MD5: refused: %s", md5_error.text);
    }
    if (r >= 0)
        r = fl_check_evidence(c, "default properties: %s",
                              live.fips_properties ? "fips=yes" : "fips not required");
    if (r < 0)
        return r;
    if (!OSSL_PROVIDER_do_all(NULL, describe_provider, &walk) && walk.r < 0)
        return walk.r;
    ERR_clear_error();
    if (!live.fips_available) {
        /* For the report only: can the fips provider be loaded at all? Unloaded again at once. */
        OSSL_PROVIDER *fips = OSSL_PROVIDER_try_load(NULL, "fips", 1);
        if (fips) {
            struct provider_walk w = {.c = c};
            r = fl_check_evidence(
                c, "the fips provider can be loaded, but the configuration does not activate it:");
            if (r >= 0) {
                describe_provider(fips, &w);
                r = w.r;
            }
            OSSL_PROVIDER_unload(fips);
        } else {
            r = fl_check_evidence(c, "the fips provider cannot be loaded: %s", openssl_error());
        }
        ERR_clear_error();
        if (r < 0)
            return r;
    }

    if (live.sha256 && !live.md5 && live.fips_available && live.fips_properties) {
        r = fl_check_set(c, FL_CHECK_PASS,
                         "the fips provider is active and required: SHA-256 works, MD5 is refused");
    } else if (!live.sha256) {
        r = fl_check_set(c, FL_CHECK_FAIL,
                         "SHA-256 is not available: the fips provider failed to load or its self-test failed "
                         "(does fipsmodule.cnf belong to this fips.so?)");
        if (r >= 0)
            r = fl_check_remedy(
                c, "run openssl fipsinstall again for the installed fips.so (see openssl-config)");
    } else {
        char why[160] = "";

        if (!live.fips_available)
            strcat(why, ", the fips provider is not active");
        if (!live.fips_properties)
            strcat(why, ", default properties do not require fips=yes");
        if (live.md5)
            strcat(why, ", MD5 is available");
        r = fl_check_set(c, FL_CHECK_FAIL, "OpenSSL in this process is not in FIPS mode: %s", why + 2);
        if (r >= 0)
            r = fl_check_remedy(
                c, "make the active openssl.cnf activate the fips provider and set default_properties "
                   "= fips=yes (see openssl-config), or set OPENSSL_CONF to such a file");
    }
    if (r < 0)
        return r;
    if (ret)
        *ret = live;
    return 0;
}
