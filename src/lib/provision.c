/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* FIPS mode at provisioning: one description, rendered as Butane (YAML) and Ignition (JSON). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "fipsluks/provision.h"

static const char openssl_cnf[] =
    "# OpenSSL configuration for FIPS mode, from fipsluks check --emit.\n"
    "# Only the FIPS and base providers are active, and every algorithm fetch requires fips=yes.\n"
    "config_diagnostics = 1\n"
    "openssl_conf = openssl_init\n"
    "\n"
    "# Written by \"openssl fipsinstall\" (enable-fips.service): the module's integrity MAC and\n"
    "# self-test settings, in the section fips_sect.\n"
    ".include " FL_PROVISION_FIPSMODULE_CNF "\n"
    "\n"
    "[openssl_init]\n"
    "providers = provider_sect\n"
    "alg_section = algorithm_sect\n"
    "\n"
    "[provider_sect]\n"
    "fips = fips_sect\n"
    "base = base_sect\n"
    "\n"
    "[base_sect]\n"
    "activate = 1\n"
    "\n"
    "[algorithm_sect]\n"
    "default_properties = fips=yes\n";

static const char enable_fips_unit[] =
    "[Unit]\n"
    "Description=Turn on the OpenSSL FIPS provider (from fipsluks check --emit)\n"
    "# Runs until the FIPS openssl.cnf is in place, then never again.\n"
    "ConditionPathExists=" FL_PROVISION_OPENSSL_CNF_FIPS "\n"
    "# Before sshd accepts a login: Flatcar starts sshd per connection from sshd.socket, other hosts\n"
    "# run sshd.service. Early, so without the default dependencies (After=basic.target, which comes\n"
    "# after sockets.target, would make Before=sshd.socket an ordering cycle).\n"
    "DefaultDependencies=no\n"
    "After=local-fs.target\n"
    "Before=sshd.socket sshd.service systemd-user-sessions.service shutdown.target\n"
    "Conflicts=shutdown.target\n"
    "\n"
    "[Service]\n"
    "Type=oneshot\n"
    "RemainAfterExit=yes\n"
    "ExecStart=/usr/bin/openssl fipsinstall -out " FL_PROVISION_FIPSMODULE_CNF " -module " FL_PROVISION_MODULE
    "\n"
    "ExecStart=/usr/bin/mv " FL_PROVISION_OPENSSL_CNF_FIPS " " FL_PROVISION_OPENSSL_CNF "\n"
    "\n"
    "[Install]\n"
    "WantedBy=multi-user.target\n";

static const char *const args_present[] = {"fips=1", NULL};
static const char *const args_absent[] = {"fips=0", NULL};

static const struct fl_provision_file files[] = {
    {"/etc/system-fips", 0644, ""},
    {FL_PROVISION_OPENSSL_CNF_FIPS, 0644, openssl_cnf},
};

static const struct fl_provision_unit units[] = {
    {"enable-fips.service", true, enable_fips_unit},
};

static const struct fl_provision fips = {
    .kernel_args_present = args_present,
    .kernel_args_absent = args_absent,
    .files = files,
    .n_files = sizeof(files) / sizeof(files[0]),
    .units = units,
    .n_units = sizeof(units) / sizeof(units[0]),
};

const struct fl_provision *fl_provision_fips(void)
{
    return &fips;
}

const char *fl_provision_openssl_cnf(void)
{
    return openssl_cnf;
}

/* ---- LUKS volumes ---- */

/* Ignition runs "cryptsetup luksFormat" with these: PBKDF2 (the only PBKDF a FIPS host opens) with an
 * approved hash, and AES-XTS with a 512-bit key (AES-256). Without them, argon2id. */
const char *const fl_provision_luks_options[] = {
    "--pbkdf", "pbkdf2", "--hash", "sha256", "--cipher", "aes-xts-plain64", "--key-size", "512", NULL,
};

void fl_provision_luks_clear(struct fl_provision_luks *l)
{
    free(l->name);
    free(l->device);
    free(l->key_file);
    free(l->label);
    *l = (struct fl_provision_luks){0};
}

bool fl_provision_is_url(const char *key_file)
{
    const char *p = key_file;

    if (!strncmp(key_file, "data:", 5))
        return true;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
        p++;
    return p > key_file && !strncmp(p, "://", 3);
}

int fl_provision_luks_parse(const char *spec, struct fl_provision_luks *ret)
{
    char *fields[4] = {0};
    size_t n = 0, len = strlen(spec);
    char *cur = malloc(len + 1), *q = cur;
    int r = -EINVAL;

    if (!cur)
        return -ENOMEM;
    for (const char *p = spec;; p++) {
        if (*p == '\\' && (p[1] == ':' || p[1] == '\\')) {
            *q++ = *++p;
            continue;
        }
        if (*p == ':' || !*p) {
            *q = '\0';
            if (n == 4)
                goto out; /* a fifth field */
            fields[n++] = cur;
            if (!*p) {
                cur = NULL;
                break;
            }
            cur = q = malloc(len + 1);
            if (!cur) {
                r = -ENOMEM;
                goto out;
            }
            continue;
        }
        *q++ = *p;
    }
    if (n < 2 || !*fields[0] || strchr(fields[0], '/') || fields[1][0] != '/' || (n >= 3 && !*fields[2]) ||
        (n == 4 && !*fields[3]))
        goto out;
    *ret = (struct fl_provision_luks){
        .name = fields[0],
        .device = fields[1],
        .key_file = n >= 3 ? fields[2] : NULL,
        .label = n == 4 ? fields[3] : NULL,
    };
    return 0;
out:
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
    free(cur);
    return r;
}

/* ---- The system extension (Flatcar) ---- */

const char *fl_provision_sysext_path(void)
{
    return FL_PROVISION_SYSEXT_DIR "/fipsluks-" FL_VERSION "-" FL_PROVISION_SYSEXT_ARCH ".raw";
}

/* ---- Butane ---- */

/* @p s as a YAML double-quoted scalar (JSON's escapes, which YAML shares). */
static void yaml_quoted(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void butane_luks(FILE *f, const struct fl_provision *p)
{
    if (!p->n_luks) {
        fputs("  # LUKS volumes: Ignition formats them with cryptsetup's defaults (argon2id), which do not "
              "open\n"
              "  # on a FIPS host. Add --luks NAME:DEVICE[:KEYFILE[:LABEL]] (repeatable) to\n"
              "  # \"fipsluks check --emit butane\" for storage.luks entries made with --pbkdf pbkdf2.\n",
              f);
        return;
    }
    fputs("  luks:\n", f);
    for (size_t i = 0; i < p->n_luks; i++) {
        const struct fl_provision_luks *l = &p->luks[i];

        fputs("    - name: ", f);
        yaml_quoted(f, l->name);
        fputs("\n      device: ", f);
        yaml_quoted(f, l->device);
        fputc('\n', f);
        if (l->label) {
            fputs("      label: ", f);
            yaml_quoted(f, l->label);
            fputc('\n', f);
        }
        if (l->key_file) {
            fprintf(f,
                    "      key_file:\n        %s: ", fl_provision_is_url(l->key_file) ? "source" : "local");
            yaml_quoted(f, l->key_file);
            fputc('\n', f);
        }
        fputs("      wipe_volume: false\n      options:\n", f);
        for (size_t o = 0; fl_provision_luks_options[o]; o++)
            fprintf(f, "        - \"%s\"\n", fl_provision_luks_options[o]);
    }
}

/* @p text as a YAML literal block scalar ("|") whose lines are indented by @p indent spaces. */
static void yaml_block(FILE *f, const char *text, int indent)
{
    if (!*text) {
        fputs("\"\"\n", f);
        return;
    }
    fputs("|\n", f);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (len)
            fprintf(f, "%*s%.*s\n", indent, "", (int)len, p);
        else
            fputc('\n', f);
        p += len + (nl ? 1 : 0);
    }
}

static void yaml_list(FILE *f, const char *key, const char *const *items)
{
    if (!items || !items[0])
        return;
    fprintf(f, "  %s:\n", key);
    for (size_t i = 0; items[i]; i++)
        fprintf(f, "    - %s\n", items[i]);
}

/* The image as a file Ignition downloads, and the link systemd-sysext follows (Flatcar's sysext
 * documentation does both in storage: files and links). */
static void butane_sysext_file(FILE *f, const struct fl_provision *p)
{
    if (!p->sysext_url)
        return;
    fprintf(
        f, "    - path: %s\n      mode: 0644\n      contents:\n        source: ", fl_provision_sysext_path());
    yaml_quoted(f, p->sysext_url);
    fputc('\n', f);
}

static void butane_sysext_link(FILE *f, const struct fl_provision *p)
{
    if (!p->sysext_url)
        return;
    fprintf(f, "  links:\n    - path: %s\n      target: %s\n      hard: false\n", FL_PROVISION_SYSEXT_LINK,
            fl_provision_sysext_path());
}

int fl_provision_butane(const struct fl_provision *p, char **ret)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (p->sysext_url && !fl_provision_is_url(p->sysext_url))
        return -EINVAL;
    f = open_memstream(&buf, &len);
    if (!f)
        return -ENOMEM;
    fprintf(f,
            "# Butane config from fipsluks %s (fipsluks check --emit butane): FIPS mode at provisioning.\n"
            "# Transpile it with: butane --strict < fips.bu > fips.ign\n",
            FL_VERSION);
    fprintf(f, "variant: flatcar\nversion: 1.0.0\n");
    fprintf(f, "kernel_arguments:\n");
    yaml_list(f, "should_exist", p->kernel_args_present);
    yaml_list(f, "should_not_exist", p->kernel_args_absent);
    fprintf(f, "storage:\n  files:\n");
    for (size_t i = 0; i < p->n_files; i++) {
        fprintf(f,
                "    - path: %s\n      mode: 0%o\n      overwrite: true\n      contents:\n        inline: ",
                p->files[i].path, p->files[i].mode);
        yaml_block(f, p->files[i].contents, 10);
    }
    butane_sysext_file(f, p);
    butane_luks(f, p);
    butane_sysext_link(f, p);
    fprintf(f, "systemd:\n  units:\n");
    for (size_t i = 0; i < p->n_units; i++) {
        fprintf(f, "    - name: %s\n      enabled: %s\n      contents: ", p->units[i].name,
                p->units[i].enabled ? "true" : "false");
        yaml_block(f, p->units[i].contents, 8);
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return -ENOMEM;
    }
    *ret = buf;
    return 0;
}

/* ---- Ignition ---- */

/* An RFC 2397 data URL of @p text, percent-encoding everything but unreserved characters. */
static char *data_url(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen("data:,") + strlen(text) * 3 + 1), *q;

    if (!out)
        return NULL;
    q = stpcpy(out, "data:,");
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
            strchr("-._~", *s)) {
            *q++ = (char)*s;
        } else {
            *q++ = '%';
            *q++ = hex[*s >> 4];
            *q++ = hex[*s & 15];
        }
    }
    *q = '\0';
    return out;
}

static json_object *string_array(const char *const *items)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; a && items && items[i]; i++)
        json_object_array_add(a, json_object_new_string(items[i]));
    return a;
}

/* The system extension: a file in @p jfiles fetched from @p url, and storage.links in @p storage. */
static int ignition_sysext(json_object *jfiles, json_object *storage, const char *url)
{
    _cleanup_json_ json_object *file = json_object_new_object(), *contents = json_object_new_object();
    _cleanup_json_ json_object *links = json_object_new_array(), *link = json_object_new_object();

    if (!file || !contents || !links || !link)
        return -ENOMEM;
    json_object_object_add(file, "path", json_object_new_string(fl_provision_sysext_path()));
    json_object_object_add(file, "mode", json_object_new_int(0644));
    json_object_object_add(contents, "source", json_object_new_string(url));
    json_object_object_add(file, "contents", TAKE_PTR(contents));
    json_object_array_add(jfiles, TAKE_PTR(file));
    json_object_object_add(link, "path", json_object_new_string(FL_PROVISION_SYSEXT_LINK));
    json_object_object_add(link, "target", json_object_new_string(fl_provision_sysext_path()));
    json_object_object_add(link, "hard", json_object_new_boolean(0));
    json_object_array_add(links, TAKE_PTR(link));
    json_object_object_add(storage, "links", TAKE_PTR(links));
    return 0;
}

static int ignition(const struct fl_provision *p, char **ret)
{
    _cleanup_json_ json_object *doc = json_object_new_object(), *ign = json_object_new_object();
    _cleanup_json_ json_object *kargs = json_object_new_object(), *storage = json_object_new_object();
    _cleanup_json_ json_object *jfiles = json_object_new_array(), *systemd = json_object_new_object();
    _cleanup_json_ json_object *junits = json_object_new_array();
    const char *s;

    if (!doc || !ign || !kargs || !storage || !jfiles || !systemd || !junits)
        return -ENOMEM;
    json_object_object_add(ign, "version", json_object_new_string("3.3.0"));
    json_object_object_add(doc, "ignition", TAKE_PTR(ign));
    json_object_object_add(kargs, "shouldExist", string_array(p->kernel_args_present));
    json_object_object_add(kargs, "shouldNotExist", string_array(p->kernel_args_absent));
    json_object_object_add(doc, "kernelArguments", TAKE_PTR(kargs));
    for (size_t i = 0; i < p->n_files; i++) {
        _cleanup_json_ json_object *file = json_object_new_object(), *contents = json_object_new_object();
        _cleanup_free_ char *url = data_url(p->files[i].contents);

        if (!file || !contents || !url)
            return -ENOMEM;
        json_object_object_add(file, "path", json_object_new_string(p->files[i].path));
        json_object_object_add(file, "mode", json_object_new_int((int)p->files[i].mode));
        json_object_object_add(file, "overwrite", json_object_new_boolean(1));
        json_object_object_add(contents, "source", json_object_new_string(url));
        json_object_object_add(file, "contents", TAKE_PTR(contents));
        json_object_array_add(jfiles, TAKE_PTR(file));
    }
    /* shared: the system extension's file joins the list after it is in storage */
    json_object_object_add(storage, "files", json_object_get(jfiles));
    if (p->sysext_url && ignition_sysext(jfiles, storage, p->sysext_url) < 0)
        return -ENOMEM;
    if (p->n_luks) {
        _cleanup_json_ json_object *jluks = json_object_new_array();

        if (!jluks)
            return -ENOMEM;
        for (size_t i = 0; i < p->n_luks; i++) {
            const struct fl_provision_luks *l = &p->luks[i];
            _cleanup_json_ json_object *vol = json_object_new_object();

            if (!vol)
                return -ENOMEM;
            if (l->key_file && !fl_provision_is_url(l->key_file))
                return -EINVAL;
            json_object_object_add(vol, "name", json_object_new_string(l->name));
            json_object_object_add(vol, "device", json_object_new_string(l->device));
            if (l->label)
                json_object_object_add(vol, "label", json_object_new_string(l->label));
            if (l->key_file) {
                json_object *key = json_object_new_object();
                json_object_object_add(key, "source", json_object_new_string(l->key_file));
                json_object_object_add(vol, "keyFile", key);
            }
            json_object_object_add(vol, "wipeVolume", json_object_new_boolean(0));
            json_object_object_add(vol, "options", string_array(fl_provision_luks_options));
            json_object_array_add(jluks, TAKE_PTR(vol));
        }
        json_object_object_add(storage, "luks", TAKE_PTR(jluks));
    }
    json_object_object_add(doc, "storage", TAKE_PTR(storage));
    for (size_t i = 0; i < p->n_units; i++) {
        json_object *unit = json_object_new_object();

        if (!unit)
            return -ENOMEM;
        json_object_object_add(unit, "name", json_object_new_string(p->units[i].name));
        json_object_object_add(unit, "enabled", json_object_new_boolean(p->units[i].enabled));
        json_object_object_add(unit, "contents", json_object_new_string(p->units[i].contents));
        json_object_array_add(junits, unit);
    }
    json_object_object_add(systemd, "units", TAKE_PTR(junits));
    json_object_object_add(doc, "systemd", TAKE_PTR(systemd));
    s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!s || !(*ret = strdup(s)))
        return -ENOMEM;
    return 0;
}

int fl_provision_ignition(const struct fl_provision *p, char **ret)
{
    if (p->sysext_url && !fl_provision_is_url(p->sysext_url))
        return -EINVAL;
    return ignition(p, ret);
}
