/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The luks check: the LUKS volumes on the host's block devices, judged as fipsluks scan does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fipsluks/discover.h"
#include "fipsluks/policy.h"
#include "fipsluks/volume.h"
#include "host-internal.h"

struct luks_tally {
    unsigned volumes, compatible, incompatible, unreadable;
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

static int luks_volume(const char *root, const char *path, struct luks_tally *t, struct fl_check *c)
{
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
        free(v->path);
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
        if (x->severity != FL_SEVERITY_ERROR)
            continue;
        r = fl_check_evidence(c, "%s: LUKS%d, NOT FIPS-compatible: %s %s: %s", shown, v->luks_version,
                              x->rule->id, fl_finding_object(x, object, sizeof(object)),
                              x->message ? x->message : "");
        if (r >= 0 && x->remedy)
            r = fl_check_remedy(c, "%s", x->remedy);
    }
out:
    fl_findings_clear(&f);
    fl_volume_free(v);
    return r < 0 ? r : 0;
}

int fl_check_luks(const char *root, struct fl_check *c)
{
    struct fl_found_list list = {0};
    struct luks_tally t = {0};
    int r, n;

    fl_check_init(c, FL_CHECK_LUKS);
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
        r = luks_volume(root, list.items[i].path, &t, c);
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
    if (r >= 0 && t.incompatible) {
        fl_check_worsen(c, FL_CHECK_FAIL);
        r = fl_check_remedy(c, "fipsluks scan shows every finding");
    }
out:
    fl_found_clear(&list);
    return r < 0 ? r : 0;
}
