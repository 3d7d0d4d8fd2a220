/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OpenSSL configuration checks: the FIPS provider module exists (openssl-module), and the
 * active openssl.cnf includes fipsmodule.cnf, activates the fips provider and requires fips=yes
 * (openssl-config). The files are read with openssl-conf.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "fipsluks/why.h"
#include "host-internal.h"
#include "openssl-conf.h"

/* ---- where things are ---- */

/* The quoted directory in an OpenSSL_version() string like 'OPENSSLDIR: "/usr/lib/ssl"'. */
static char *compiled_dir(int which)
{
    const char *s = OpenSSL_version(which), *open, *close;

    if (!s || !(open = strchr(s, '"')) || !(close = strrchr(s, '"')) || close <= open + 1)
        return NULL;
    return strndup(open + 1, (size_t)(close - open - 1));
}

static const char *const conf_dirs[] = {"/etc/ssl", "/etc/pki/tls", "/usr/lib/ssl", "/usr/local/ssl", NULL};
static const char *const module_dirs[] = {
    "/usr/lib64/ossl-modules",
    "/usr/lib/x86_64-linux-gnu/ossl-modules",
    "/usr/lib/aarch64-linux-gnu/ossl-modules",
    "/usr/lib/ossl-modules",
    "/usr/local/lib64/ossl-modules",
    "/usr/local/lib/ossl-modules",
    NULL,
};

/*
 * The active openssl.cnf (host path) into @p ret, with the reason in @p why. Live:
 * OPENSSL_CONF, else the compiled-in OPENSSLDIR. Below a root: the first existing openssl.cnf in
 * the usual directories (/etc/ssl/openssl.cnf when there is none); what this process's OpenSSL was
 * built with says nothing about the host below the root.
 */
static int active_conf(const char *root, char **ret, struct fl_why *why)
{
    char *compiled = compiled_dir(OPENSSL_DIR), *path = NULL;
    int r = 0;

    if (!fl_root_set(root)) {
        const char *env = getenv("OPENSSL_CONF");
        if (env && *env) {
            path = strdup(env);
            fl_why_set(why, 0, "OPENSSL_CONF");
        } else {
            if (asprintf(&path, "%s/openssl.cnf", compiled ? compiled : "/usr/lib/ssl") < 0)
                path = NULL;
            fl_why_set(why, 0, "the compiled-in OPENSSLDIR");
        }
        r = path ? 0 : -ENOMEM;
        goto out;
    }
    fl_why_set(why, 0, "the first openssl.cnf found below the root");
    for (int i = 0; conf_dirs[i]; i++) {
        char *candidate = NULL;
        int e;

        if (asprintf(&candidate, "%s/openssl.cnf", conf_dirs[i]) < 0) {
            r = -ENOMEM;
            goto out;
        }
        e = fl_root_exists(root, candidate);
        if (e > 0 || i == 0) {
            free(path);
            path = candidate;
            if (e > 0)
                break;
        } else {
            free(candidate);
        }
    }
    if (!path)
        r = -ENOMEM;
out:
    free(compiled);
    if (r == 0)
        *ret = path;
    return r;
}

/*
 * Where fips.so is (host path) into @p ret; @p ret_found: 1 when it exists. Order: the fips
 * section's "module"; live: OPENSSL_MODULES, else the compiled-in MODULESDIR; below a root: the
 * usual module directories. @p c (optional) gets the evidence.
 */
static int find_module(const char *root, const struct fl_ossl_value *module, char **ret, int *ret_found,
                       struct fl_check *c)
{
    char *compiled = compiled_dir(OPENSSL_MODULES_DIR), *path = NULL;
    int r = 0, e = 0;

    if (module) {
        path = strdup(module->value);
        if (!path)
            r = -ENOMEM;
        else if ((e = fl_root_exists(root, path)) >= 0 && c)
            r = fl_check_evidence(c, "%s:%u: module = %s: %s", module->file, module->line, path,
                                  e ? "exists" : "does not exist");
        goto out;
    }
    if (!fl_root_set(root)) {
        const char *env = getenv("OPENSSL_MODULES");
        const char *dir = env && *env ? env : compiled ? compiled : "/usr/lib/ossl-modules";

        if (asprintf(&path, "%s/fips.so", dir) < 0) {
            path = NULL;
            r = -ENOMEM;
            goto out;
        }
        e = fl_root_exists(root, path);
        if (e >= 0 && c)
            r = fl_check_evidence(c, "%s/fips.so (%s): %s", dir,
                                  env && *env ? "OPENSSL_MODULES" : "the compiled-in MODULESDIR",
                                  e ? "exists" : "does not exist");
        goto out;
    }
    for (int i = 0; module_dirs[i]; i++) {
        free(path);
        if (asprintf(&path, "%s/fips.so", module_dirs[i]) < 0) {
            path = NULL;
            r = -ENOMEM;
            goto out;
        }
        e = fl_root_exists(root, path);
        if (e > 0)
            break;
    }
    if (e > 0 && c)
        r = fl_check_evidence(c, "%s: exists", path);
    else if (c)
        r = fl_check_evidence(c, "fips.so: not found in the usual module directories (%s, %s, …)",
                              module_dirs[0], module_dirs[1]);
    if (e <= 0 && r >= 0) {
        /* remedies name the Flatcar location, where the emitted configurations point */
        free(path);
        path = strdup("/usr/lib64/ossl-modules/fips.so");
        if (!path)
            r = -ENOMEM;
    }
out:
    free(compiled);
    if (e < 0 && r >= 0)
        r = e == -ENOMEM ? e : 0;
    if (r < 0) {
        free(path);
        return r;
    }
    *ret = path;
    *ret_found = e > 0;
    return 0;
}

/* The fips provider's configuration section, from a loaded configuration (or NULL). */
static const char *fips_section(const struct fl_ossl_conf *conf)
{
    const struct fl_ossl_value *init = fl_ossl_conf_get(conf, "default", "openssl_conf");
    const struct fl_ossl_value *prov = init ? fl_ossl_conf_get(conf, init->value, "providers") : NULL;
    const struct fl_ossl_value *fips = prov ? fl_ossl_conf_get(conf, prov->value, "fips") : NULL;

    if (fips)
        return fips->value;
    /* a provider configured under another name, "identity = fips" */
    for (size_t i = 0; prov && i < conf->n_values; i++) {
        const struct fl_ossl_value *v = &conf->values[i], *id;
        if (strcmp(v->section, prov->value))
            continue;
        id = fl_ossl_conf_get(conf, v->value, "identity");
        if (id && !strcmp(id->value, "fips"))
            return v->value;
    }
    return NULL;
}

/* ---- openssl-module ---- */

int fl_check_openssl_module(const char *root, struct fl_check *c)
{
    struct fl_ossl_conf conf = {0};
    const char *section;
    struct fl_why why;
    char *conf_path = NULL, *module = NULL;
    int r, found = 0;

    fl_check_init(c, FL_CHECK_OPENSSL_MODULE);
    r = active_conf(root, &conf_path, &why);
    if (r < 0)
        return r;
    r = fl_ossl_conf_load(root, conf_path, &conf);
    if (r == -ENOMEM)
        goto out;
    section = fips_section(&conf);
    r = find_module(root, section ? fl_ossl_conf_get(&conf, section, "module") : NULL, &module, &found, c);
    if (r < 0)
        goto out;
    if (found) {
        r = fl_check_set(c, FL_CHECK_PASS, "the FIPS provider module is installed: %s", module);
    } else {
        r = fl_check_set(c, FL_CHECK_FAIL, "the OpenSSL FIPS provider module (fips.so) is not installed");
        if (r >= 0)
            r = fl_check_remedy(
                c, "install OpenSSL's FIPS provider (Flatcar and RHEL ship it; Ubuntu: Ubuntu Pro "
                   "FIPS packages; Debian ships none: build OpenSSL with enable-fips)");
    }
out:
    fl_ossl_conf_clear(&conf);
    free(conf_path);
    free(module);
    return r < 0 ? r : 0;
}

/* ---- openssl-config ---- */

static const char *const fipsmodule_dirs[] = {"/etc/ssl", "/usr/lib/ssl", "/etc/pki/tls", "/usr/local/ssl",
                                              NULL};

static bool is_fipsmodule(const char *path)
{
    const char *base = strrchr(path, '/');
    return !strcmp(base ? base + 1 : path, "fipsmodule.cnf");
}

/* The directory part of @p path ("/etc/ssl/openssl.cnf" → "/etc/ssl"), a new string. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash != path ? strndup(path, (size_t)(slash - path)) : strdup("/");
}

/* fipsmodule.cnf: written by openssl fipsinstall, included by openssl.cnf. @return 1 when fine. */
static int judge_fipsmodule(const char *root, const char *conf_path, const struct fl_ossl_conf *conf,
                            const char *section, const char *module, struct fl_check *c)
{
    const struct fl_ossl_value *mac = section ? fl_ossl_conf_get(conf, section, "module-mac") : NULL;
    const struct fl_ossl_file *included = NULL;
    char *dir = NULL, *found = NULL;
    int r;

    for (size_t i = 1; i < conf->n_files; i++)
        if (is_fipsmodule(conf->files[i].path) && conf->files[i].seen == FL_CONF_NEW)
            included = &conf->files[i];
    if (included && !included->error && mac)
        return fl_check_evidence(c, "%s:%u: [%s] module-mac is set (written by openssl fipsinstall)",
                                 mac->file, mac->line, section) < 0
                   ? -ENOMEM
                   : 1;
    if (!included && mac)
        return fl_check_evidence(c, "%s:%u: the fips section's module-mac is set here (no fipsmodule.cnf)",
                                 mac->file, mac->line) < 0
                   ? -ENOMEM
                   : 1;
    if (included && included->error) {
        r = fl_check_evidence(c, "%s: included, but %s", included->path,
                              fl_read_strerror(included->error, included->type));
        if (r >= 0)
            r = fl_check_remedy(c, "openssl fipsinstall -out %s -module %s", included->path, module);
        return r < 0 ? r : 0;
    }
    if (included) {
        r = fl_check_evidence(c, "%s: included, but the fips section has no module-mac", included->path);
        if (r >= 0)
            r = fl_check_remedy(c, "openssl fipsinstall -out %s -module %s", included->path, module);
        return r < 0 ? r : 0;
    }
    /* not included: is there one to include? */
    dir = dir_of(conf_path);
    if (!dir)
        return -ENOMEM;
    for (int i = -1; !found && (i < 0 || fipsmodule_dirs[i]); i++) {
        char *candidate = NULL;
        if (asprintf(&candidate, "%s/fipsmodule.cnf", i < 0 ? dir : fipsmodule_dirs[i]) < 0) {
            free(dir);
            return -ENOMEM;
        }
        if (fl_root_exists(root, candidate) > 0)
            found = candidate;
        else
            free(candidate);
    }
    if (found) {
        r = fl_check_evidence(c, "%s: exists, but %s does not include it", found, conf_path);
        if (r >= 0)
            r = fl_check_remedy(c, "add to %s, before the first section: .include %s", conf_path, found);
    } else {
        r = fl_check_evidence(
            c, "fipsmodule.cnf: not included by %s, and none in %s or the usual directories", conf_path, dir);
        if (r >= 0)
            r = fl_check_remedy(c, "openssl fipsinstall -out %s/fipsmodule.cnf -module %s", dir, module);
        if (r >= 0)
            r = fl_check_remedy(c, "add to %s, before the first section: .include %s/fipsmodule.cnf",
                                conf_path, dir);
    }
    free(dir);
    free(found);
    return r < 0 ? r : 0;
}

#define FL_FIPS_ACTIVE 1 /* the fips provider is configured and activated */
#define FL_FIPS_PROPS  2 /* default_properties require fips=yes */

/* Provider activation and default properties. @return FL_FIPS_* flags for what is right, or -ENOMEM. */
static int judge_providers(const struct fl_ossl_conf *conf, const char *conf_path, const char *section,
                           struct fl_check *c)
{
    const struct fl_ossl_value *init = fl_ossl_conf_get(conf, "default", "openssl_conf");
    const struct fl_ossl_value *prov = init ? fl_ossl_conf_get(conf, init->value, "providers") : NULL;
    const struct fl_ossl_value *alg = init ? fl_ossl_conf_get(conf, init->value, "alg_section") : NULL;
    const struct fl_ossl_value *props = alg ? fl_ossl_conf_get(conf, alg->value, "default_properties") : NULL;
    const struct fl_ossl_value *activate = section ? fl_ossl_conf_get(conf, section, "activate") : NULL;
    bool fips_active = activate && fl_ossl_truthy(activate->value);
    bool fips_props = props && fl_ossl_properties_fips(props->value);
    char active[256] = "";
    int r = 0;

    if (!init) {
        r = fl_check_evidence(c, "%s: no openssl_conf: no provider configuration is applied", conf_path);
        if (r >= 0)
            r = fl_check_remedy(c,
                                "add to %s, before the first section: openssl_conf = openssl_init; then "
                                "[openssl_init] providers = provider_sect, alg_section = algorithm_sect",
                                conf_path);
        goto properties;
    }
    r = fl_check_evidence(c, "%s:%u: openssl_conf = %s", init->file, init->line, init->value);
    if (r < 0)
        return r;
    if (!prov) {
        r = fl_check_evidence(c, "[%s]: no providers section", init->value);
        if (r >= 0)
            r = fl_check_remedy(c, "add to [%s] in %s: providers = provider_sect", init->value, conf_path);
        goto properties;
    }
    /* every provider the configuration activates */
    for (size_t i = 0; i < conf->n_values; i++) {
        const struct fl_ossl_value *v = &conf->values[i], *act;
        if (strcmp(v->section, prov->value) || fl_ossl_conf_get(conf, prov->value, v->name) != v)
            continue;
        act = fl_ossl_conf_get(conf, v->value, "activate");
        if (act && fl_ossl_truthy(act->value) && strlen(active) + strlen(v->name) + 3 < sizeof(active)) {
            strcat(active, *active ? ", " : "");
            strcat(active, v->name);
        }
    }
    r = fl_check_evidence(c, "%s:%u: providers = %s; activated: %s", prov->file, prov->line, prov->value,
                          *active ? active : "none");
    if (r < 0)
        return r;
    if (!section) {
        r = fl_check_evidence(c, "[%s]: no fips provider", prov->value);
        if (r >= 0)
            r = fl_check_remedy(
                c,
                "add to [%s] in %s: fips = fips_sect (the section fipsmodule.cnf defines), and "
                "base = base_sect with [base_sect] activate = 1",
                prov->value, conf_path);
    } else if (!fips_active) {
        if (activate)
            r = fl_check_evidence(c, "%s:%u: [%s] activate = %s: the fips provider is not activated",
                                  activate->file, activate->line, section, activate->value);
        else
            r = fl_check_evidence(c, "[%s]: no activate: the fips provider is not activated", section);
        if (r >= 0)
            r = fl_check_remedy(
                c, "set activate = 1 in [%s] (openssl fipsinstall writes it into fipsmodule.cnf)", section);
    } else {
        r = fl_check_evidence(c, "%s:%u: [%s] activate = %s", activate->file, activate->line, section,
                              activate->value);
    }
properties:
    if (r < 0)
        return r;
    if (fips_props) {
        r = fl_check_evidence(c, "%s:%u: [%s] default_properties = %s", props->file, props->line, alg->value,
                              props->value);
    } else {
        if (props)
            r = fl_check_evidence(c, "%s:%u: [%s] default_properties = %s: does not require fips=yes",
                                  props->file, props->line, alg->value, props->value);
        else if (alg)
            r = fl_check_evidence(c, "[%s]: no default_properties", alg->value);
        else
            r = fl_check_evidence(c, "%s: no alg_section: default properties do not require fips=yes",
                                  conf_path);
        if (r >= 0 && init && !alg)
            r = fl_check_remedy(c,
                                "add to [%s] in %s: alg_section = algorithm_sect; then [algorithm_sect] "
                                "default_properties = fips=yes",
                                init->value, conf_path);
        else if (r >= 0)
            r = fl_check_remedy(c, "set default_properties = fips=yes in [%s] of %s",
                                alg ? alg->value : "algorithm_sect", conf_path);
    }
    if (r < 0)
        return r;
    return (section && fips_active ? FL_FIPS_ACTIVE : 0) | (fips_props ? FL_FIPS_PROPS : 0);
}

int fl_check_openssl_config(const char *root, const struct fl_openssl_live *live, struct fl_check *c)
{
    struct fl_ossl_conf conf = {0};
    const char *section;
    struct fl_why why;
    char *conf_path = NULL, *module = NULL;
    int r, found, module_ok, providers_ok;
    unsigned capped = 0, over = 0;

    fl_check_init(c, FL_CHECK_OPENSSL_CONFIG);
    r = active_conf(root, &conf_path, &why);
    if (r < 0)
        return r;
    r = fl_check_evidence(c, "active configuration: %s (%s)", conf_path, why.text);
    if (r < 0)
        goto out;
    r = fl_ossl_conf_load(root, conf_path, &conf);
    if (r == -ENOMEM)
        goto out;
    if (r < 0) {
        const char *why_not = fl_read_strerror(r, conf.n_files ? conf.files[0].type : 0);

        r = fl_check_evidence(c, "%s: %s", conf_path, why_not);
        if (r >= 0)
            r = fl_check_set(c, FL_CHECK_FAIL, "%s cannot be read: %s", conf_path, why_not);
        if (r >= 0)
            r = fl_check_remedy(c, "write a FIPS openssl.cnf to %s (fipsluks check --emit butane shows one)",
                                conf_path);
        goto out;
    }
    for (size_t i = 1; i < conf.n_files && r >= 0; i++) {
        const struct fl_ossl_file *f = &conf.files[i];

        if (f->error == -EMLINK && over++)
            continue; /* one line says it; the rest are counted */
        if (f->error == -EMLINK || f->error == -E2BIG)
            capped++;
        if (f->seen != FL_CONF_NEW)
            r = fl_check_evidence(c, "%s: .include: %s", f->path, fl_conf_seen_text(f->seen));
        else if (!f->error)
            r = fl_check_evidence(c, "%s: included", f->path);
        else
            r = fl_check_evidence(c, "%s: .include failed: %s", f->path, fl_read_strerror(f->error, f->type));
    }
    if (r >= 0 && over > 1)
        r = fl_check_evidence(
            c, "%u more included files not read: the limit of " FL_CONF_MAX_FILES_TEXT " files is reached",
            over - 1);
    if (r >= 0 && conf.env_unknown)
        r = fl_check_evidence(c,
                              "%u $ENV:: reference%s taken as empty: the host's environment is not known "
                              "below --root",
                              conf.env_unknown, conf.env_unknown == 1 ? "" : "s");
    if (r >= 0 && conf.incomplete) {
        capped++;
        r = fl_check_evidence(c, "%s", conf.incomplete);
    }
    if (r >= 0 && conf.refused) {
        /* OpenSSL's loader fails: programs start without the file (or fail, with config_diagnostics) */
        r = fl_check_evidence(c, "%s: OpenSSL refuses to load the configuration", conf.refused);
        if (r >= 0)
            r = fl_check_set(c, FL_CHECK_FAIL,
                             "OpenSSL cannot load %s (%s): nothing in it applies, the fips provider is not "
                             "activated",
                             conf_path, conf.refused);
        if (r >= 0)
            r = fl_check_remedy(c, "fix %s", conf.refused);
        if (r >= 0)
            r = fl_check_remedy(c, "fipsluks check --emit butane shows a complete FIPS openssl.cnf");
        goto out;
    }
    if (r < 0)
        goto out;
    section = fips_section(&conf);
    r = find_module(root, section ? fl_ossl_conf_get(&conf, section, "module") : NULL, &module, &found, NULL);
    if (r < 0)
        goto out;
    module_ok = judge_fipsmodule(root, conf_path, &conf, section, module, c);
    if (module_ok < 0) {
        r = module_ok;
        goto out;
    }
    providers_ok = judge_providers(&conf, conf_path, section, c);
    if (providers_ok < 0) {
        r = providers_ok;
        goto out;
    }
    if (module_ok && providers_ok == (FL_FIPS_ACTIVE | FL_FIPS_PROPS)) {
        r = fl_check_set(c, FL_CHECK_PASS,
                         "%s includes fipsmodule.cnf, activates the fips provider and requires fips=yes",
                         conf_path);
    } else if (live && live->fips_available && live->fips_properties) {
        r = fl_check_set(
            c, FL_CHECK_WARN,
            "%s does not configure FIPS mode, yet OpenSSL in this process is in it (a distribution patch, "
            "as on RHEL, activates the fips provider when the kernel is in FIPS mode)",
            conf_path);
    } else if (module_ok && providers_ok == FL_FIPS_ACTIVE) {
        /* The FIPS guide's openssl.cnf.fips: fips and base active, no default properties. MD5 is gone
         * (no default provider), but libcryptsetup asks EVP_default_properties_is_fips_enabled(),
         * which is false: it makes argon2id keyslots (seen in the FIPS test host). */
        r = fl_check_set(c, FL_CHECK_FAIL,
                         "%s activates the fips provider but sets no default_properties = fips=yes (as the "
                         "FIPS guide's openssl.cnf.fips): libcryptsetup (OpenSSL backend) then does not run "
                         "in FIPS mode, and luksFormat still makes argon2id keyslots",
                         conf_path);
    } else {
        char problems[200] = "";

        if (!module_ok)
            strcat(problems, "; no usable fipsmodule.cnf");
        if (!(providers_ok & FL_FIPS_ACTIVE))
            strcat(problems, "; the fips provider is not activated");
        if (!(providers_ok & FL_FIPS_PROPS))
            strcat(problems, "; default_properties do not require fips=yes");
        r = fl_check_set(c, FL_CHECK_FAIL, "%s does not put OpenSSL in FIPS mode: %s", conf_path,
                         problems + 2);
    }
    if (r >= 0 && capped) {
        fl_check_worsen(c, FL_CHECK_WARN);
        r = fl_check_remedy(c,
                            "%s includes more than fipsluks reads (" FL_CONF_MAX_FILES_TEXT
                            " files, " FL_CONF_MAX_BYTES_TEXT "): check the files not read by hand",
                            conf_path);
    }
    if (r >= 0 && c->status != FL_CHECK_PASS && !(providers_ok & FL_FIPS_PROPS))
        r = fl_check_remedy(
            c, "the sections must be complete: [openssl_init] providers = provider_sect, "
               "alg_section = algorithm_sect; [provider_sect] fips = fips_sect, base = base_sect; "
               "[base_sect] activate = 1; [algorithm_sect] default_properties = fips=yes");
    if (r >= 0 && c->status != FL_CHECK_PASS)
        r = fl_check_remedy(c, "fipsluks check --emit butane shows a complete FIPS openssl.cnf");
out:
    fl_ossl_conf_clear(&conf);
    free(conf_path);
    free(module);
    return r < 0 ? r : 0;
}
