/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: arbitrary bytes as an openssl.cnf and as an sshd_config, through the parsers'
 * entry points (fl_ossl_conf_parse(), fl_sshd_config_parse()) and the judgments that read their
 * results (fl_ossl_conf_get(), fl_ossl_properties_fips(), fl_sshd_evaluate()). Include lines are
 * resolved below an empty directory, so they read nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fipsluks/host.h"
#include "fipsluks/sshd.h"
#include "host-internal.h"
#include "openssl-conf.h"

#define FUZZ_MAX_INPUT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/fl-fuzz-config.XXXXXX";

static void openssl_conf(const char *text)
{
    struct fl_ossl_conf conf = {0};
    const struct fl_ossl_value *v;

    if (fl_ossl_conf_parse(root, "/etc/ssl/openssl.cnf", text, &conf) == 0) {
        v = fl_ossl_conf_get(&conf, "algorithm_sect", "default_properties");
        if (v)
            (void)fl_ossl_properties_fips(v->value);
        v = fl_ossl_conf_get(&conf, "fips_sect", "activate");
        if (v)
            (void)fl_ossl_truthy(v->value);
        (void)fl_ossl_conf_get(&conf, "default", "openssl_conf");
    }
    fl_ossl_conf_clear(&conf);
}

static void sshd_config(const char *text)
{
    struct fl_sshd_config cfg = {0};
    struct fl_check c;

    fl_check_init(&c, FL_CHECK_SSHD);
    if (fl_sshd_config_parse(root, "/etc/ssh/sshd_config", text, &cfg) == 0)
        (void)fl_sshd_evaluate(&cfg, &c);
    fl_check_clear(&c);
    fl_sshd_config_clear(&cfg);
}

static void remove_root(void)
{
    rmdir(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size > FUZZ_MAX_INPUT)
        return 0;
    if (root[sizeof(root) - 2] == 'X') {
        if (!mkdtemp(root))
            abort();
        atexit(remove_root);
    }
    text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* an embedded NUL ends the text, as it ends a C string read from a file */
    openssl_conf(text);
    sshd_config(text);
    free(text);
    return 0;
}
