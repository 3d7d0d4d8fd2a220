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
#include "fipsluks/discover.h"
#include "fipsluks/policy.h"
#include "fipsluks/volume.h"
#include "host-internal.h"

struct luks_tally {
    unsigned volumes, compatible, incompatible, unreadable;
    unsigned at_boot;     /* of incompatible: in crypttab without noauto */
    unsigned unattended;  /* of at_boot: the crypttab key file opens every keyslot FIPS refuses */
};

/* @p path without the root prefix, as on the examined host. */
static const char *host_path(const char *root, const char *path)
{
    size_t n;

    if (!fl_root_set(root))
        return path;
    n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    return !strncmp(path, root, n) && path[n] == '/' ? path + n : path;
}

/* Evidence on where @p v stands in crypttab (@p e, or NULL), with what its key file opens: whether
 * `fipsluks migrate --crypttab` converts it unattended (@return 1), or not (0), or -errno. */
static int crypttab_evidence(const char *root, const char *shown, const struct fl_crypttab_entry *e,
                             const struct fl_volume *v, const struct fl_findings *f, struct fl_check *c)
{
    enum fl_crypttab_key keys[FL_MAX_KEYSLOTS];
    char opened[256] = "";
    size_t len = 0;
    bool all = true;
    int r, read_error;

    if (!e)
        return fl_check_evidence(c, "%s: not in /etc/crypttab: not opened at boot (unless the initrd or the kernel "
                                    "command line opens it)",
                                 shown) < 0
                   ? -ENOMEM
                   : 0;
    r = fl_crypttab_try_keys(root, e, v, f, keys, &read_error);
    if (r < 0)
        return r;
    for (size_t i = 0; i < v->n_keyslots && i < FL_MAX_KEYSLOTS; i++) {
        const char *name = fl_crypttab_key_name(keys[i]);
        if (!name)
            continue;
        all = all && keys[i] == FL_CRYPTTAB_KEY_OPENS;
        if (len < sizeof(opened))
            len += (size_t)snprintf(opened + len, sizeof(opened) - len, "%skeyslot %d: %s", len ? ", " : "",
                                    v->keyslots[i].id, name);
    }
    r = fl_check_evidence(c, "%s: in /etc/crypttab as %s (line %u), key file %s%s%s%s%s%s", shown, e->name, e->line,
                          e->key_file ? e->key_file : "none", opened[0] ? " (" : "", opened, opened[0] ? ")" : "",
                          read_error ? ": " : "", read_error ? fl_crypttab_strerror(read_error) : "");
    if (r >= 0)
        r = fl_check_evidence(c, "%s: %s", shown,
                              e->noauto ? "noauto: not opened at boot: a warning"
                                        : "opened at boot: in FIPS mode the boot can stop there");
    if (r < 0)
        return r;
    return all && opened[0] && e->key_file;
}

/* @p crypttab_unknown: /etc/crypttab cannot be read: a volume not in @p ct counts as opened at boot */
static int luks_volume(const char *root, const char *path, const struct fl_crypttab *ct, bool crypttab_unknown,
                       struct luks_tally *t, struct fl_check *c)
{
    const struct fl_crypttab_entry *e;
    char *real = NULL;
    bool unattended;
    struct fl_findings f = {0};
    struct fl_volume *v = NULL;
    const char *shown = host_path(root, path);
    int r;

    t->volumes++;
    r = fl_volume_read(path, NULL, &v);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        t->unreadable++;
        return fl_check_evidence(c, "%s: cannot read: %s", shown, fl_volume_strerror(r));
    }
    /* remedies name the device as it is on the examined host */
    if (shown != path) {
        char *copy = strdup(shown);
        if (!copy) {
            r = -ENOMEM;
            goto out;
        }
        real = v->path; /* kept: keys are tried on it */
        v->path = copy;
    }
    r = fl_policy_evaluate(v, &f);
    if (r < 0)
        goto out;
    if (fl_findings_compatible(&f)) {
        size_t warnings = 0;
        t->compatible++;
        for (size_t i = 0; i < f.n; i++)
            warnings += f.items[i].severity == FL_SEVERITY_WARNING;
        r = fl_check_evidence(c, "%s: LUKS%d, FIPS-compatible (%zu warning%s)", shown, v->luks_version,
                              warnings, warnings == 1 ? "" : "s");
        goto out;
    }
    t->incompatible++;
    for (size_t i = 0; i < f.n && r >= 0; i++) {
        const struct fl_finding *x = &f.items[i];
        char object[32];
        if (x->severity == FL_SEVERITY_ERROR)
            r = fl_check_evidence(c, "%s: LUKS%d, NOT FIPS-compatible: %s %s: %s", shown, v->luks_version,
                                  x->rule->id, fl_finding_object(x, object, sizeof(object)),
                                  x->message ? x->message : "");
    }
    if (r < 0)
        goto out;
    e = fl_crypttab_find(ct, root, path, v->uuid, v->label);
    if (real) { /* the key is tried on the device below the root, not on the host path the remedies name */
        char *host = v->path;
        v->path = real;
        r = crypttab_evidence(root, shown, e, v, &f, c);
        v->path = host;
    } else {
        r = crypttab_evidence(root, shown, e, v, &f, c);
    }
    if (r < 0)
        goto out;
    /* the crypttab key file opens every keyslot FIPS refuses: migrate --crypttab converts them unattended
     * (that remedy, once for all volumes, at the end, instead of each keyslot's) */
    unattended = r > 0 && !e->noauto;
    if (e ? !e->noauto : crypttab_unknown)
        t->at_boot++;
    t->unattended += unattended;
    r = 0;
    for (size_t i = 0; i < f.n && r >= 0; i++) {
        const struct fl_finding *x = &f.items[i];
        if (x->severity == FL_SEVERITY_ERROR && x->remedy && !(unattended && x->object == FL_OBJECT_KEYSLOT))
            r = fl_check_remedy(c, "%s", x->remedy);
    }
out:
    free(real);
    fl_findings_clear(&f);
    fl_volume_free(v);
    return r < 0 ? r : 0;
}

int fl_check_luks(const char *root, struct fl_check *c)
{
    struct fl_found_list list = {0};
    struct fl_crypttab ct = {0};
    struct luks_tally t = {0};
    bool crypttab_unknown;
    int r, n;

    fl_check_init(c, FL_CHECK_LUKS);
    r = fl_crypttab_read(root, &ct);
    if (r == -ENOMEM)
        goto out;
    if (r < 0 && fl_check_evidence(c, "/etc/crypttab: cannot read: %s: every volume that is not FIPS-compatible "
                                      "counts as opened at boot", fl_crypttab_strerror(r)) < 0) {
        r = -ENOMEM;
        goto out;
    }
    crypttab_unknown = r < 0;
    n = fl_discover_luks_devices(fl_root_set(root) ? root : NULL, &list);
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
    r = 0;
    for (size_t i = 0; i < list.n && r >= 0; i++)
        r = luks_volume(root, list.items[i].path, &ct, crypttab_unknown, &t, c);
    if (r < 0)
        goto out;
    if (t.volumes == 0)
        r = fl_check_set(c, FL_CHECK_PASS, "no LUKS volumes found");
    else
        r = fl_check_set(c, FL_CHECK_PASS,
                         "%u LUKS volume%s: %u FIPS-compatible, %u not compatible, %u unreadable", t.volumes,
                         t.volumes == 1 ? "" : "s", t.compatible, t.incompatible, t.unreadable);
    if (r < 0)
        goto out;
    if (t.unreadable) {
        fl_check_worsen(c, FL_CHECK_WARN);
        r = fl_check_remedy(c, "fipsluks scan (as root) shows why a volume cannot be read");
    }
    if (r >= 0 && !fl_root_set(root) && geteuid() != 0) {
        fl_check_worsen(c, FL_CHECK_WARN);
        r = fl_check_evidence(c, "not running as root: block devices this user cannot read are not found");
        if (r >= 0)
            r = fl_check_remedy(c, "run fipsluks check as root to examine every block device");
    }
    if (r >= 0 && t.unattended)
        r = fl_check_remedy(c, "fipsluks migrate --crypttab (converts every volume in /etc/crypttab with the key "
                               "file it names)");
    if (r >= 0 && t.incompatible) {
        fl_check_worsen(c, t.at_boot ? FL_CHECK_FAIL : FL_CHECK_WARN);
        r = fl_check_evidence(c, "%u of %u not compatible opened at boot (/etc/crypttab without noauto)%s", t.at_boot,
                              t.incompatible, t.at_boot ? "" : ": a warning, the boot does not stop at them");
        if (r >= 0)
            r = fl_check_remedy(c, "fipsluks scan shows every finding");
    }
out:
    fl_crypttab_clear(&ct);
    fl_found_clear(&list);
    return r < 0 ? r : 0;
}
