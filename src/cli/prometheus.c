/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scan --format prometheus: node_exporter's textfile-collector format (Prometheus text exposition
 * format 0.0.4). Every family has HELP and TYPE lines and its samples together; label values are
 * valid UTF-8 and escaped as the format requires, so a hostile label or path cannot break the file,
 * and two paths that differ only in bytes that are not UTF-8 stay two series. Per-volume samples keep
 * the scan's target order; counted families are sorted by label, so the same volumes always give
 * the same bytes. Counted families list every value they know (the KDFs, each rule at the severities
 * it gives) with 0 rather than leaving it out: a series that vanishes after a migration reads as
 * "no data", not as "none left".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fipsluks/host.h"
#include "fipsluks/identity.h"
#include "cli.h"

/* The KDFs a keyslot has (struct fl_keyslot.kdf): always listed, 0 when no keyslot has one. */
static const char *const known_kdfs[] = {"argon2i", "argon2id", "pbkdf2"};

struct fl_prom {
    FILE *volumes; /* fipsluks_volume_fips_compatible samples */
    char *volumes_buf;
    size_t volumes_len;
    FILE *unreadable; /* fipsluks_target_unreadable samples */
    char *unreadable_buf;
    size_t unreadable_len;
    json_object *paths; /* the paths counted: a path given twice is one series, counted once */
    json_object *kdfs;  /* kdf -> keyslots */
    unsigned findings[FL_RULE_COUNT][FL_SEVERITY_ERROR + 1]; /* by rule (fl_rules[]) and severity */
    unsigned n_compatible, n_incompatible, n_unreadable;
};

int fl_prom_new(struct fl_prom **ret)
{
    struct fl_prom *p = calloc(1, sizeof(*p));

    if (!p)
        return -ENOMEM;
    p->volumes = open_memstream(&p->volumes_buf, &p->volumes_len);
    p->unreadable = open_memstream(&p->unreadable_buf, &p->unreadable_len);
    p->paths = json_object_new_object();
    p->kdfs = json_object_new_object();
    if (!p->volumes || !p->unreadable || !p->paths || !p->kdfs) {
        fl_prom_free(p);
        return -ENOMEM;
    }
    *ret = p;
    return 0;
}

void fl_prom_free(struct fl_prom *p)
{
    if (!p)
        return;
    if (p->volumes)
        fclose(p->volumes);
    if (p->unreadable)
        fclose(p->unreadable);
    free(p->volumes_buf);
    free(p->unreadable_buf);
    json_object_put(p->paths);
    json_object_put(p->kdfs);
    free(p);
}

/*
 * A label value. The value a parser reads is @p s with each byte that is not valid UTF-8 written
 * \xNN and each backslash doubled, so it is valid UTF-8 and distinct strings stay distinct (replacing
 * bad bytes with U+FFFD made "a\xff" and "a\xfe" one series, which node_exporter refuses). In the
 * file, that value's backslashes, double quotes and newlines are escaped as the format requires.
 */
void fl_prom_label_value(FILE *out, const char *s)
{
    const unsigned char *c = (const unsigned char *)(s ? s : "");

    while (*c) {
        size_t n = fl_utf8_len(c);

        if (n == 0) {
            fprintf(out, "\\\\x%02x", *c++); /* the value holds \xNN; the file \\xNN */
            continue;
        }
        if (*c == '\\')
            fputs("\\\\\\\\", out); /* the value holds \\ */
        else if (*c == '"')
            fputs("\\\"", out);
        else if (*c == '\n')
            fputs("\\n", out);
        else
            fwrite(c, 1, n, out);
        c += n;
    }
}

/* Whether @p path was counted already (node_exporter refuses a file with a series twice);
 * @return 1 if so, 0 if not (it is now), -ENOMEM. */
static int seen(struct fl_prom *p, const char *path)
{
    if (json_object_object_get_ex(p->paths, path, NULL))
        return 1;
    return json_object_object_add(p->paths, path, NULL) < 0 ? -ENOMEM : 0;
}

static int bump(json_object *map, const char *key)
{
    json_object *v;

    if (json_object_object_get_ex(map, key, &v))
        return json_object_int_inc(v, 1) ? 0 : -ENOMEM;
    v = json_object_new_int(1);
    if (!v || json_object_object_add(map, key, v) < 0) {
        json_object_put(v);
        return -ENOMEM;
    }
    return 0;
}

int fl_prom_volume(struct fl_prom *p, const struct fl_volume *v, const struct fl_findings *f)
{
    bool ok = fl_findings_compatible(f);
    int r = seen(p, v->path);

    if (r != 0)
        return r < 0 ? r : 0;
    if (ok)
        p->n_compatible++;
    else
        p->n_incompatible++;
    fputs("fipsluks_volume_fips_compatible{path=\"", p->volumes);
    fl_prom_label_value(p->volumes, v->path);
    fputs("\",uuid=\"", p->volumes);
    fl_prom_label_value(p->volumes, v->uuid);
    fputs("\",label=\"", p->volumes);
    fl_prom_label_value(p->volumes, v->label);
    fprintf(p->volumes, "\"} %d\n", ok ? 1 : 0);
    for (size_t i = 0; i < v->n_keyslots && r == 0; i++)
        r = bump(p->kdfs, v->keyslots[i].kdf ? v->keyslots[i].kdf : "none");
    for (size_t i = 0; i < f->n && r == 0; i++)
        p->findings[f->items[i].rule - fl_rules][f->items[i].severity]++;
    return ferror(p->volumes) ? -ENOMEM : r;
}

int fl_prom_unreadable(struct fl_prom *p, const char *path)
{
    int r = seen(p, path);

    if (r != 0)
        return r < 0 ? r : 0;
    p->n_unreadable++;
    fputs("fipsluks_target_unreadable{path=\"", p->unreadable);
    fl_prom_label_value(p->unreadable, path);
    fputs("\"} 1\n", p->unreadable);
    return ferror(p->unreadable) ? -ENOMEM : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of @p map, sorted; NULL when empty or out of memory (@p ret_n says which). */
static const char **sorted_keys(json_object *map, size_t *ret_n)
{
    size_t n = (size_t)json_object_object_length(map), i = 0;
    const char **keys;

    *ret_n = 0;
    if (n == 0)
        return NULL;
    keys = calloc(n, sizeof(*keys));
    if (!keys)
        return NULL;
    json_object_object_foreach(map, k, v)
    {
        (void)v;
        keys[i++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_str);
    *ret_n = n;
    return keys;
}

void fl_prom_family(FILE *out, const char *name, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* The rules by id, as fl_prom_write() lists them. */
static int cmp_rule(const void *a, const void *b)
{
    return strcmp(fl_rules[*(const size_t *)a].id, fl_rules[*(const size_t *)b].id);
}

int fl_prom_write(struct fl_prom *p, FILE *out, const struct fl_identity *id,
                  const struct fl_fips_state *fips, double duration_seconds)
{
    /* label values in order: severities by name */
    static const enum fl_severity severities[] = {FL_SEVERITY_ERROR, FL_SEVERITY_INFO, FL_SEVERITY_WARNING};
    const char **kdfs = NULL;
    size_t n_kdfs, rules[FL_RULE_COUNT];
    int r = 0;

    if (fflush(p->volumes) == EOF || fflush(p->unreadable) == EOF)
        return -ENOMEM;
    /* every known KDF is a key, counted or not */
    for (size_t i = 0; i < sizeof(known_kdfs) / sizeof(known_kdfs[0]) && r == 0; i++)
        if (!json_object_object_get_ex(p->kdfs, known_kdfs[i], NULL)) {
            json_object *zero = json_object_new_int(0);
            if (!zero || json_object_object_add(p->kdfs, known_kdfs[i], zero) < 0) {
                json_object_put(zero);
                r = -ENOMEM;
            }
        }
    kdfs = r == 0 ? sorted_keys(p->kdfs, &n_kdfs) : NULL;
    if (!kdfs) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < FL_RULE_COUNT; i++)
        rules[i] = i;
    qsort(rules, FL_RULE_COUNT, sizeof(rules[0]), cmp_rule);

    fl_prom_family(out, "fipsluks_scan_info",
                   "fipsluks version and host identity of the last scan (always 1).");
    fprintf(out, "fipsluks_scan_info{version=\"%s\",hostname=\"", FL_VERSION);
    fl_prom_label_value(out, id->hostname);
    fputs("\",machine_id=\"", out);
    fl_prom_label_value(out, id->machine_id);
    fputs("\",os_id=\"", out);
    fl_prom_label_value(out, id->os_id);
    fputs("\",os_version_id=\"", out);
    fl_prom_label_value(out, id->os_version_id);
    fputs("\"} 1\n", out);
    fl_prom_family(
        out, "fipsluks_kernel_fips_enabled",
        "1 when the kernel runs in FIPS mode (/proc/sys/crypto/fips_enabled), 0 when not, -1 unknown.");
    fprintf(out, "fipsluks_kernel_fips_enabled %d\n", id->kernel_fips);
    fl_prom_family(out, "fipsluks_host_fips_mode",
                   "1 when the kernel runs in FIPS mode (fips_enabled=1), 0 when not, -1 unknown.");
    fprintf(out, "fipsluks_host_fips_mode %d\n", fips->mode);
    fl_prom_family(out, "fipsluks_host_fips_pending",
                   "1 when the host is switched to FIPS mode: fips=1 on the kernel command line (this "
                   "boot's or the next one's), /etc/system-fips, or an openssl.cnf that requires fips=yes.");
    fprintf(out, "fipsluks_host_fips_pending %d\n", fl_fips_state_pending(fips) ? 1 : 0);
    fl_prom_family(out, "fipsluks_last_scan_timestamp_seconds",
                   "When the last scan started, in seconds since the epoch.");
    fprintf(out, "fipsluks_last_scan_timestamp_seconds %lld\n", (long long)id->time);
    fl_prom_family(out, "fipsluks_scan_duration_seconds", "How long the last scan took.");
    fprintf(out, "fipsluks_scan_duration_seconds %.6f\n", duration_seconds);

    fl_prom_family(out, "fipsluks_volumes", "LUKS volumes found by the last scan, by state.");
    fprintf(out, "fipsluks_volumes{state=\"compatible\"} %u\n", p->n_compatible);
    fprintf(out, "fipsluks_volumes{state=\"incompatible\"} %u\n", p->n_incompatible);
    fprintf(out, "fipsluks_volumes{state=\"unreadable\"} %u\n", p->n_unreadable);
    fl_prom_family(out, "fipsluks_unreadable_targets", "Targets the last scan could not read.");
    fprintf(out, "fipsluks_unreadable_targets %u\n", p->n_unreadable);
    if (p->unreadable_len) {
        fl_prom_family(out, "fipsluks_target_unreadable",
                       "A target the last scan could not read (always 1).");
        fwrite(p->unreadable_buf, 1, p->unreadable_len, out);
    }
    if (p->volumes_len) {
        fl_prom_family(out, "fipsluks_volume_fips_compatible",
                       "1 when a FIPS host opens every part of this LUKS volume, 0 when it refuses some.");
        fwrite(p->volumes_buf, 1, p->volumes_len, out);
    }
    fl_prom_family(out, "fipsluks_keyslots", "Keyslots of the scanned volumes, by key derivation function.");
    for (size_t i = 0; i < n_kdfs; i++) {
        json_object *v = json_object_object_get(p->kdfs, kdfs[i]);
        fputs("fipsluks_keyslots{kdf=\"", out);
        fl_prom_label_value(out, kdfs[i]);
        fprintf(out, "\"} %d\n", json_object_get_int(v));
    }
    /* each rule at every severity up to its own (FL-LUKS1-HASH is a warning for SHA-1), and at any
     * other a finding has */
    fl_prom_family(out, "fipsluks_findings", "Findings of the last scan, by rule and severity.");
    for (size_t i = 0; i < FL_RULE_COUNT; i++)
        for (size_t s = 0; s < sizeof(severities) / sizeof(severities[0]); s++)
            if (severities[s] <= fl_rules[rules[i]].severity || p->findings[rules[i]][severities[s]])
                fprintf(out, "fipsluks_findings{rule=\"%s\",severity=\"%s\"} %u\n", fl_rules[rules[i]].id,
                        fl_severity_name(severities[s]), p->findings[rules[i]][severities[s]]);
    if (ferror(out))
        r = -EIO;
out:
    free(kdfs);
    return r;
}
