/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The luks check: the LUKS volumes on the host's block devices, judged as fipsluks scan does. A volume the
 * host opens at boot (in /etc/crypttab without noauto) that is not FIPS-compatible fails the check: the boot
 * stops at it in FIPS mode. One that is not opened at boot is a warning.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fipsluks/crypttab.h"
#include "fipsluks/policy.h"
#include "fipsluks/scan.h"
#include "fipsluks/volume.h"
#include "host-internal.h"

struct luks_tally {
    unsigned volumes, compatible, incompatible, unreadable;
    unsigned at_boot;    /* of incompatible: in crypttab without noauto */
    unsigned unattended; /* of at_boot: the crypttab key file opens every keyslot FIPS refuses */
};

/* Evidence on where @p v stands in crypttab (@p e, or NULL), with what its key file opens (@p keys, or
 * @p read_error): whether `fipsluks migrate --crypttab` converts it unattended (@return 1), or not (0),
 * or -errno. */
static int crypttab_evidence(const char *shown, const struct fl_crypttab_entry *e, const struct fl_volume *v,
                             const enum fl_crypttab_key *keys, int read_error, struct fl_check *c)
{
    char opened[256] = "";
    size_t len = 0;
    bool all = true;
    int r;

    if (!e)
        return fl_check_evidence(
                   c,
                   "%s: not in /etc/crypttab: not opened at boot (unless the initrd or the kernel "
                   "command line opens it)",
                   shown) < 0
                   ? -ENOMEM
                   : 0;
    for (size_t i = 0; i < v->n_keyslots && i < FL_MAX_KEYSLOTS; i++) {
        const char *name = fl_crypttab_key_name(keys[i]);
        if (!name)
            continue;
        all = all && keys[i] == FL_CRYPTTAB_KEY_OPENS;
        if (len < sizeof(opened))
            len += (size_t)snprintf(opened + len, sizeof(opened) - len, "%skeyslot %d: %s", len ? ", " : "",
                                    v->keyslots[i].id, name);
    }
    r = fl_check_evidence(c, "%s: in /etc/crypttab as %s (line %u), key file %s%s%s%s%s%s", shown, e->name,
                          e->line, e->key_file ? e->key_file : "none", opened[0] ? " (" : "", opened,
                          opened[0] ? ")" : "", read_error ? ": " : "",
                          read_error ? fl_crypttab_strerror(read_error) : "");
    if (r >= 0)
        r = fl_check_evidence(c, "%s: %s", shown,
                              e->noauto ? "noauto: not opened at boot: a warning"
                                        : "opened at boot: in FIPS mode the boot can stop there");
    if (r < 0)
        return r;
    return all && opened[0] && e->key_file;
}

/* What the luks check is given for each volume the scan engine reads. */
struct luks_run {
    bool crypttab_unknown; /* /etc/crypttab cannot be read: a volume not in it counts as opened at boot */
    struct luks_tally t;
    struct fl_check *c;
};

/* One volume of the host, read and judged by the scan engine (named as on the examined host). */
static int luks_volume(const struct fl_scan_result *res, void *ctx)
{
    struct luks_run *run = ctx;
    struct luks_tally *t = &run->t;
    struct fl_check *c = run->c;
    const struct fl_volume *v = res->volume;
    const struct fl_findings *f = &res->findings;
    const struct fl_crypttab_entry *e = res->crypttab;
    bool unattended;
    int r = 0;

    if (res->outcome == FL_SCAN_SKIPPED)
        return 0; /* no LUKS signature after all, or removed since it was listed */
    t->volumes++;
    if (res->outcome == FL_SCAN_ERROR) {
        t->unreadable++;
        return fl_check_evidence(c, "%s: cannot read: %s", res->host_path,
                                 fl_volume_strerror_at(res->error, res->path));
    }
    if (fl_findings_compatible(f)) {
        size_t warnings = 0;
        t->compatible++;
        for (size_t i = 0; i < f->n; i++)
            warnings += f->items[i].severity == FL_SEVERITY_WARNING;
        return fl_check_evidence(c, "%s: LUKS%d, FIPS-compatible (%zu warning%s)", v->path, v->luks_version,
                                 warnings, warnings == 1 ? "" : "s");
    }
    t->incompatible++;
    for (size_t i = 0; i < f->n && r >= 0; i++) {
        const struct fl_finding *x = &f->items[i];
        char object[32];
        if (x->severity == FL_SEVERITY_ERROR)
            r = fl_check_evidence(c, "%s: LUKS%d, NOT FIPS-compatible: %s %s: %s", v->path, v->luks_version,
                                  x->rule->id, fl_finding_object(x, object, sizeof(object)),
                                  x->message ? x->message : "");
    }
    if (r >= 0)
        r = crypttab_evidence(v->path, e, v, res->keys, res->key_error, c);
    if (r < 0)
        return r;
    /* the crypttab key file opens every keyslot FIPS refuses: migrate --crypttab converts them unattended
     * (that remedy, once for all volumes, at the end, instead of each keyslot's) */
    unattended = r > 0 && !e->noauto;
    if (e ? !e->noauto : run->crypttab_unknown)
        t->at_boot++;
    t->unattended += unattended;
    r = 0;
    for (size_t i = 0; i < f->n && r >= 0; i++) {
        const struct fl_finding *x = &f->items[i];
        if (x->severity == FL_SEVERITY_ERROR && x->remedy && !(unattended && x->object == FL_OBJECT_KEYSLOT))
            r = fl_check_remedy(c, "%s", x->remedy);
    }
    return r < 0 ? r : 0;
}

int fl_check_luks(const char *root, struct fl_check *c)
{
    struct fl_crypttab ct = {0};
    struct luks_run run = {.c = c};
    struct luks_tally *t = &run.t;
    struct fl_scan_options o = {
        .root = fl_root_set(root) ? root : NULL,
        .crypttab = &ct,
        .jobs = 1,
        .ordered = true,
        .host_paths = true,
    };
    struct fl_scan *s = NULL;
    int r, n;

    fl_check_init(c, FL_CHECK_LUKS);
    r = fl_crypttab_read(root, &ct);
    if (r == -ENOMEM)
        goto out;
    if (r < 0 && fl_check_evidence(c,
                                   "/etc/crypttab: cannot read: %s: every volume that is not FIPS-compatible "
                                   "counts as opened at boot",
                                   fl_crypttab_strerror(r)) < 0) {
        r = -ENOMEM;
        goto out;
    }
    run.crypttab_unknown = r < 0;
    r = fl_scan_new(&o, &s);
    if (r < 0)
        goto out;
    n = fl_scan_add_host(s);
    if (n == -ENOMEM) {
        r = n;
        goto out;
    }
    if (n < 0) {
        r = fl_check_evidence(c, "/sys/class/block: %s", strerror(-n));
        if (r >= 0)
            r = fl_check_set(c, FL_CHECK_SKIP,
                             "block devices not examined: /sys/class/block cannot be listed");
        goto out;
    }
    r = fl_scan_run(s, luks_volume, &run);
    if (r < 0)
        goto out;
    if (t->volumes == 0)
        r = fl_check_set(c, FL_CHECK_PASS, "no LUKS volumes found");
    else
        r = fl_check_set(c, FL_CHECK_PASS,
                         "%u LUKS volume%s: %u FIPS-compatible, %u not compatible, %u unreadable", t->volumes,
                         t->volumes == 1 ? "" : "s", t->compatible, t->incompatible, t->unreadable);
    if (r < 0)
        goto out;
    if (t->unreadable) {
        fl_check_worsen(c, FL_CHECK_WARN);
        r = fl_check_remedy(c, "fipsluks scan (as root) shows why a volume cannot be read");
    }
    if (r >= 0 && !fl_root_set(root) && geteuid() != 0) {
        fl_check_worsen(c, FL_CHECK_WARN);
        r = fl_check_evidence(c, "not running as root: block devices this user cannot read are not found");
        if (r >= 0)
            r = fl_check_remedy(c, "run fipsluks check as root to examine every block device");
    }
    if (r >= 0 && t->unattended)
        r = fl_check_remedy(
            c, "fipsluks migrate --crypttab (converts every volume in /etc/crypttab with the key "
               "file it names)");
    if (r >= 0 && t->incompatible) {
        fl_check_worsen(c, t->at_boot ? FL_CHECK_FAIL : FL_CHECK_WARN);
        r = fl_check_evidence(c, "%u of %u not compatible opened at boot (/etc/crypttab without noauto)%s",
                              t->at_boot, t->incompatible,
                              t->at_boot ? "" : ": a warning, the boot does not stop at them");
        if (r >= 0)
            r = fl_check_remedy(c, "fipsluks scan shows every finding");
    }
out:
    fl_scan_free(s);
    fl_crypttab_clear(&ct);
    return r < 0 ? r : 0;
}
