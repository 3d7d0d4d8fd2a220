/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fipsluks check: the table of checks and the one loop that runs them. Each check lives in its own
 * module (check-kernel.c, check-openssl.c, check-openssl-live.c, check-libcryptsetup.c, check-sshd.c,
 * check-luks.c) and fills a record (check-record.c); this file only says which checks there are, in
 * what order, what each needs, and where its remedy goes in the safe order. Nothing here is called
 * back by a check.
 */
#include <string.h>

#include "host-internal.h"

/* What a check is given: the argument list of its function. */
enum needs {
    NEEDS_ROOT,      /* the root to read files below */
    NEEDS_LIVE,      /* the live OpenSSL probe's result (a probe of this process: --root or not) */
    NEEDS_ROOT_LIVE, /* the root, and the live probe's result on the live system only (below a root
                        it says nothing about the host there) */
    GIVES_LIVE,      /* none; it is the live probe, and gives its result: it runs before every other */
};

/*
 * Every check, in report order. A row: the check's function (by what it needs), then its place in
 * the safe order of remedies. Following the remedies top to bottom (kernel first) would reboot an
 * argon2 root volume into FIPS mode before it is migrated: the stages order them by dependency.
 */
static const struct row {
    enum needs needs;
    union {
        int (*root)(const char *root, struct fl_check *c);
        int (*live)(const struct fl_openssl_live *live, struct fl_check *c);
        int (*root_live)(const char *root, const struct fl_openssl_live *live, struct fl_check *c);
        int (*gives_live)(struct fl_check *c, struct fl_openssl_live *ret);
    } run;
    struct fl_remedy_step step; /* the id, the stage, a reboot, why there */
} checks[] = {
    {NEEDS_ROOT,
     {.root = fl_check_kernel},
     {FL_CHECK_KERNEL, 4, true,
      "last, with the reboot: booting into FIPS mode is safe once the volumes open with PBKDF2, OpenSSL "
      "is configured and sshd accepts logins"}},
    {NEEDS_ROOT,
     {.root = fl_check_system_fips},
     {FL_CHECK_SYSTEM_FIPS, 2, false, "a marker file for tools that look for it; harmless at any time"}},
    {NEEDS_ROOT,
     {.root = fl_check_openssl_module},
     {FL_CHECK_OPENSSL_MODULE, 2, false,
      "after the volumes: programs started from now on run in FIPS mode, and the migrated volumes open "
      "in it"}},
    {NEEDS_ROOT_LIVE,
     {.root_live = fl_check_openssl_config},
     {FL_CHECK_OPENSSL_CONFIG, 2, false,
      "after the volumes: programs started from now on run in FIPS mode, and the migrated volumes open "
      "in it"}},
    {GIVES_LIVE,
     {.gives_live = fl_check_openssl_live},
     {FL_CHECK_OPENSSL_LIVE, 2, false, "follows from openssl-module and openssl-config"}},
    {NEEDS_LIVE,
     {.live = fl_check_libcryptsetup},
     {FL_CHECK_LIBCRYPTSETUP, 2, false, "follows OpenSSL's FIPS mode (with a libcryptsetup built for it)"}},
    {NEEDS_ROOT,
     {.root = fl_check_sshd},
     {FL_CHECK_SSHD, 3, false,
      "before the reboot: in FIPS mode an sshd that offers an algorithm that breaks drops the clients "
      "that negotiate it, which would lock you out of the rebooted host"}},
    {NEEDS_ROOT,
     {.root = fl_check_ssh_client},
     {FL_CHECK_SSH_CLIENT, 3, false, "with sshd: outgoing connections fail the same way"}},
    {NEEDS_ROOT,
     {.root = fl_check_luks},
     {FL_CHECK_LUKS, 1, false,
      "first: in FIPS mode no new argon2 keyslot can be made, and with cryptsetup >= 2.7 on OpenSSL >= "
      "3.2 argon2 keyslots no longer open; migrate while they still open, or the volume (the root volume: "
      "the host) does not unlock after the reboot"}},
};

#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))
_Static_assert(N_CHECKS <= sizeof(((struct fl_checks *)0)->items) / sizeof(((struct fl_checks *)0)->items[0]),
               "struct fl_checks has room for every check");

const struct fl_remedy_step *fl_remedy_step(const char *id)
{
    for (size_t i = 0; id && i < N_CHECKS; i++)
        if (!strcmp(checks[i].step.id, id))
            return &checks[i].step;
    return NULL;
}

size_t fl_remedy_order(const struct fl_checks *checks_done, size_t *order)
{
    size_t n = 0;

    /* a check the table does not know goes with stage 3: before the kernel and its reboot */
    for (unsigned stage = 1; stage <= 4; stage++)
        for (size_t i = 0; i < checks_done->n; i++) {
            const struct fl_check *c = &checks_done->items[i];
            const struct fl_remedy_step *step = fl_remedy_step(c->id);
            unsigned at = step ? step->stage : 3;

            if (at == stage && c->remedy && (c->status == FL_CHECK_FAIL || c->status == FL_CHECK_WARN))
                order[n++] = i;
        }
    return n;
}

/* Run the check of @p row into @p c with what it needs. */
static int run_one(const struct row *row, const char *root, struct fl_openssl_live *live, struct fl_check *c)
{
    switch (row->needs) {
    case NEEDS_ROOT:
        return row->run.root(root, c);
    case NEEDS_LIVE:
        return row->run.live(live, c);
    case NEEDS_ROOT_LIVE:
        return row->run.root_live(root, fl_root_set(root) ? NULL : live, c);
    case GIVES_LIVE:
        return row->run.gives_live(c, live);
    }
    return -EINVAL;
}

int fl_host_check_all(const char *root, struct fl_checks *out)
{
    struct fl_openssl_live live = {0};
    int r = 0, failed = 0;

    /* The live probe first, whatever its place in the report: other checks consult its result. Then
     * the rest in report order. */
    for (int pass = 0; pass < 2 && r >= 0; pass++)
        for (size_t i = 0; i < N_CHECKS && r >= 0; i++)
            if ((checks[i].needs == GIVES_LIVE) == (pass == 0))
                r = run_one(&checks[i], root, &live, &out->items[i]);
    if (r < 0) {
        out->n = sizeof(out->items) / sizeof(out->items[0]);
        return r;
    }
    out->n = N_CHECKS;
    for (size_t i = 0; i < out->n; i++)
        failed += out->items[i].status == FL_CHECK_FAIL;
    return failed;
}
