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
 * the safe order of remedies (enum fl_remedy_stage). Following the remedies top to bottom would
 * reboot an argon2 root volume into FIPS mode before it is migrated (kernel first) and switch
 * openssl.cnf before sshd stops offering chacha20-poly1305 (openssl-config before sshd): the stages
 * order them by dependency, and tests/e2e/test-check-order-fips.sh walks them in the FIPS test host.
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
     {FL_CHECK_KERNEL, FL_STAGE_KERNEL, true,
      "last, with the reboot: the kernel enters FIPS mode only at boot; by then the volumes open with "
      "PBKDF2, and new logins and volume opens since the OpenSSL step have shown that sshd and "
      "cryptsetup work in FIPS mode"}},
    {NEEDS_ROOT,
     {.root = fl_check_system_fips},
     {FL_CHECK_SYSTEM_FIPS, FL_STAGE_MARKER, false,
      "after OpenSSL, before the reboot: some older tools take it, with the kernel's fips_enabled=1, "
      "for FIPS mode (cryptsetup before 2.5, built for FIPS), so it matters from the reboot on"}},
    {NEEDS_ROOT,
     {.root = fl_check_openssl_module},
     {FL_CHECK_OPENSSL_MODULE, FL_STAGE_OPENSSL, false,
      "after the volumes and ssh: the FIPS provider that openssl-config activates"}},
    {NEEDS_ROOT_LIVE,
     {.root_live = fl_check_openssl_config},
     {FL_CHECK_OPENSSL_CONFIG, FL_STAGE_OPENSSL, false,
      "after the volumes and ssh: from this change on, without a reboot, every program started runs in "
      "FIPS mode (the sshd of each new login, cryptsetup); try a new login and open the volumes right "
      "after it"}},
    {GIVES_LIVE,
     {.gives_live = fl_check_openssl_live},
     {FL_CHECK_OPENSSL_LIVE, FL_STAGE_OPENSSL, false,
      "follows from openssl-module and openssl-config (in programs started after them)"}},
    {NEEDS_LIVE,
     {.live = fl_check_libcryptsetup},
     {FL_CHECK_LIBCRYPTSETUP, FL_STAGE_OPENSSL, false,
      "follows OpenSSL's FIPS mode (with a libcryptsetup built for it)"}},
    {NEEDS_ROOT,
     {.root = fl_check_sshd},
     {FL_CHECK_SSHD, FL_STAGE_SSH, false,
      "before OpenSSL's switch (openssl-config), and restart sshd: sshd starts a new process for each "
      "connection (OpenSSH re-executes itself; Flatcar socket-activates it), which loads openssl.cnf "
      "anew; once it requires fips=yes, a client that negotiates chacha20-poly1305 (a default OpenSSH "
      "client does) is dropped with \"ssh_dispatch_run_fatal: ... invalid argument\": new logins fail "
      "from that moment on, before any reboot"}},
    {NEEDS_ROOT,
     {.root = fl_check_ssh_client},
     {FL_CHECK_SSH_CLIENT, FL_STAGE_SSH, false,
      "with sshd, before OpenSSL's switch: each ssh started after it loads the new openssl.cnf, and "
      "outgoing connections that negotiate chacha20-poly1305 fail the same way"}},
    {NEEDS_ROOT,
     {.root = fl_check_luks},
     {FL_CHECK_LUKS, FL_STAGE_VOLUMES, false,
      "first: once OpenSSL is in FIPS mode (from the openssl-config step on, no reboot needed) no new "
      "argon2 keyslot can be made, and with cryptsetup >= 2.7 on OpenSSL >= 3.2 argon2 keyslots no "
      "longer open; migrate while they still open, or the volume (the root volume: the host) does not "
      "unlock"}},
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

enum fl_remedy_stage fl_remedy_stage(const char *id)
{
    const struct fl_remedy_step *step = fl_remedy_step(id);

    return step ? step->stage : FL_STAGE_OTHER;
}

size_t fl_remedy_order(const struct fl_checks *checks_done, size_t *order)
{
    size_t n = 0;

    for (enum fl_remedy_stage stage = FL_STAGE_VOLUMES; stage <= FL_STAGE_KERNEL; stage++)
        for (size_t i = 0; i < checks_done->n; i++) {
            const struct fl_check *c = &checks_done->items[i];

            if (fl_remedy_stage(c->id) == stage && c->remedy &&
                (c->status == FL_CHECK_FAIL || c->status == FL_CHECK_WARN))
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
