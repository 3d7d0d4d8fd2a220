/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scan engine (scan.h): the targets, read on worker threads, each opened a little ahead of its
 * reading, judged, and its crypttab key file tried; the results handed to the caller's emit on the
 * calling thread. Never writes.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fipsluks/array.h"
#include "fipsluks/discover.h"
#include "fipsluks/jobs.h"
#include "fipsluks/scan.h"

/* One path to scan, in output order, and what scanning it gave. */
struct target {
    char *path;
    char *why_owned; /* a reason of our own making (res.why points to it) */
    int walk_error;  /* met while finding it (an unreadable directory), or 0 */
    /* opened ahead of its reading (open_ahead()): AHEAD_* state, then the source or the error */
    int ahead_state;
    int ahead_error;
    struct fl_volume_source ahead;
    struct fl_scan_result res;
};

/* target.ahead_state: not opened ahead; being opened; opened (or failed); read without it */
enum { AHEAD_NONE, AHEAD_OPENING, AHEAD_READY, AHEAD_SKIPPED };

struct fl_scan {
    struct fl_scan_options o;
    struct target *targets;
    size_t n_targets, allocated;
    size_t ahead;               /* how far ahead of its reading a target is opened (open_ahead()) */
    pthread_mutex_t first_read; /* see read_volume() */
    pthread_mutex_t key_try;    /* one crypttab key tried at a time: an argon2 KDF may take 1 GiB of memory */
    bool cryptsetup_ready;
    fl_scan_emit_fn emit;
    void *emit_ctx;
};

int fl_scan_new(const struct fl_scan_options *options, struct fl_scan **ret)
{
    struct fl_scan *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->o = *options;
    if (s->o.jobs == 0)
        s->o.jobs = 1;
    if (s->o.root && (!*s->o.root || !strcmp(s->o.root, "/")))
        s->o.root = NULL; /* the live system */
    pthread_mutex_init(&s->first_read, NULL);
    pthread_mutex_init(&s->key_try, NULL);
    *ret = s;
    return 0;
}

void fl_scan_free(struct fl_scan *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_targets; i++) {
        struct target *t = &s->targets[i];

        fl_volume_source_close(&t->ahead); /* opened ahead, not read: the scan stopped */
        fl_findings_clear(&t->res.findings);
        fl_volume_free(t->res.volume);
        free(t->path);
        free(t->why_owned);
    }
    free(s->targets);
    pthread_mutex_destroy(&s->first_read);
    pthread_mutex_destroy(&s->key_try);
    free(s);
}

size_t fl_scan_n_targets(const struct fl_scan *s)
{
    return s->n_targets;
}

const struct fl_scan_result *fl_scan_result(const struct fl_scan *s, size_t i)
{
    return i < s->n_targets ? &s->targets[i].res : NULL;
}

/* ---- the targets ---- */

/* @p path without the root prefix, as on the examined host (NULL: it is not below the root). */
static const char *host_path(const char *root, const char *path)
{
    size_t n = strlen(root);

    while (n > 1 && root[n - 1] == '/')
        n--;
    return !strncmp(path, root, n) && path[n] == '/' ? path + n : NULL;
}

/* How @p path is named in results: as on the examined host when asked (host_paths), else itself. */
static const char *shown_path(const struct fl_scan *s, const char *path)
{
    const char *shown = s->o.host_paths && s->o.root ? host_path(s->o.root, path) : NULL;

    return shown ? shown : path;
}

/* Add @p path (taken); @p why: a static reason not to read it. @return 0 or -ENOMEM. */
static int add_target(struct fl_scan *s, char *path, int error, bool probe, const char *why)
{
    struct target *t;

    if (!path)
        return -ENOMEM;
    if (fl_array_grow(&s->targets, &s->allocated, s->n_targets + 1, sizeof(*s->targets)) < 0) {
        free(path);
        return -ENOMEM;
    }
    t = &s->targets[s->n_targets++];
    *t = (struct target){.path = path, .walk_error = error, .ahead = {.fd = -1}};
    t->res = (struct fl_scan_result){
        .path = path, .host_path = shown_path(s, path), .probe = probe, .named = !probe, .why = why};
    return 0;
}

/* Move every path of @p list into the targets (each probed for a LUKS signature, unless not to be read). */
static int add_found(struct fl_scan *s, struct fl_found_list *list)
{
    int r = 0;

    for (size_t i = 0; i < list->n && r >= 0; i++) {
        r = add_target(s, list->items[i].path, list->items[i].error, true, list->items[i].skipped);
        list->items[i].path = NULL;
    }
    fl_found_clear(list);
    return r;
}

int fl_scan_add_path(struct fl_scan *s, const char *path)
{
    struct fl_found_list list = {0};
    const char *fs = NULL;
    struct stat st;
    int r;

    /* /proc, /sys and the like are never read, not even when named: reading them has side effects */
    if (fl_path_on_pseudo_fs(path, &fs) > 0) {
        char *why = NULL;

        if (asprintf(&why, "on a %s pseudo file system: not read", fs) < 0)
            return -ENOMEM;
        r = add_target(s, strdup(path), 0, false, why);
        if (r < 0) {
            free(why);
            return r;
        }
        s->targets[s->n_targets - 1].why_owned = why;
        return 0;
    }
    if (!s->o.header && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        r = fl_walk_directory(path, s->o.walk_flags, &list);
        if (r < 0) {
            fl_found_clear(&list);
            return r;
        }
        return add_found(s, &list);
    }
    return add_target(s, strdup(path), 0, false, NULL);
}

int fl_scan_add_host(struct fl_scan *s)
{
    struct fl_found_list list = {0};
    int r = fl_discover_luks_devices(s->o.root, &list);

    if (r < 0) {
        fl_found_clear(&list);
        return r;
    }
    return add_found(s, &list);
}

/* ---- scanning one target (on a worker thread: touches only its own target) ---- */

/*
 * Open target @p i ahead of its reading, and have the kernel start reading its header: a worker
 * does this for the target a few places after the one it takes, so that on a cold cache the read
 * runs while the workers are busy with libcryptsetup, as the floor's reads run with nothing else
 * to do. A warm scan pays one posix_fadvise() per target for it: the open is the one the read
 * would make anyway.
 */
static void open_ahead(struct fl_scan *s, size_t i)
{
    struct target *t;
    int expected = AHEAD_NONE;

    if (i >= s->n_targets || s->o.header)
        return;
    t = &s->targets[i];
    if (t->walk_error < 0 || t->res.why ||
        !__atomic_compare_exchange_n(&t->ahead_state, &expected, AHEAD_OPENING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return;
    t->ahead_error = fl_volume_source_open(t->path, t->res.probe ? FL_READ_NOFOLLOW : 0, &t->ahead);
    __atomic_store_n(&t->ahead_state, AHEAD_READY, __ATOMIC_RELEASE);
}

/* fl_volume_read_flags() of @p t, through the source open_ahead() opened when it did. */
static int read_target(struct fl_scan *s, struct target *t, struct fl_volume **ret)
{
    int state = AHEAD_NONE;

    /* a file found by walking and swapped for a symbolic link since is not followed */
    if (__atomic_compare_exchange_n(&t->ahead_state, &state, AHEAD_SKIPPED, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fl_volume_read_flags(t->path, t->res.probe ? NULL : s->o.header,
                                    t->res.probe ? FL_READ_NOFOLLOW : 0, ret);
    while (state == AHEAD_OPENING) { /* another worker is in the middle of a few system calls */
        sched_yield();
        state = __atomic_load_n(&t->ahead_state, __ATOMIC_ACQUIRE);
    }
    if (t->ahead_error < 0)
        return t->ahead_error;
    return fl_volume_read_source(&t->ahead, t->path, ret);
}

/*
 * libcryptsetup initialises its crypto backend and RNG on first use behind plain static flags,
 * which is not safe to race: until one volume has been read (so that initialisation is done),
 * reads take turns.
 */
static int read_volume(struct fl_scan *s, struct target *t, struct fl_volume **ret)
{
    int r;

    if (__atomic_load_n(&s->cryptsetup_ready, __ATOMIC_ACQUIRE))
        return read_target(s, t, ret);
    pthread_mutex_lock(&s->first_read);
    r = read_target(s, t, ret);
    if (r >= 0)
        __atomic_store_n(&s->cryptsetup_ready, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->first_read);
    return r;
}

/* Judge @p v, named @p shown (NULL: its own path): the findings' remedies name that path. */
static int evaluate(struct fl_volume *v, const char *shown, struct fl_findings *f)
{
    char *real = v->path, *copy;
    int r;

    if (!shown)
        return fl_policy_evaluate(v, f);
    copy = strdup(shown);
    if (!copy)
        return -ENOMEM;
    v->path = copy;
    r = fl_policy_evaluate(v, f);
    v->path = real;
    free(copy);
    return r;
}

static int scan_target(size_t i, void *ctx)
{
    struct fl_scan *s = ctx;
    struct target *t = &s->targets[i];
    struct fl_scan_result *res = &t->res;
    int r;

    res->outcome = FL_SCAN_ERROR;
    res->error = t->walk_error;
    if (t->walk_error < 0)
        return 0;
    if (res->why) {
        res->outcome = FL_SCAN_SKIPPED;
        return 0;
    }
    /*
     * A file found by walking is read like a named one (its first read is the probe), but having
     * no LUKS signature, or being removed since the walk listed it, skips it: nothing to judge,
     * nothing lost. A named file without a LUKS signature is not a LUKS volume either: said as
     * such by the caller, not counted unreadable.
     */
    open_ahead(s, i + s->ahead);
    r = read_volume(s, t, &res->volume);
    if (r == -ENOMEM)
        return r;
    if (r == -EMEDIUMTYPE || (res->probe && r == -ENOENT)) {
        res->outcome = FL_SCAN_SKIPPED;
        res->why = r == -ENOENT ? "removed during the scan" : NULL;
        res->error = 0;
        return 0;
    }
    if (r < 0) {
        res->error = r;
        return 0;
    }
    /* the volume's path is the target's: res->host_path is how the examined host names it */
    r = evaluate(res->volume, res->host_path != res->path ? res->host_path : NULL, &res->findings);
    if (r < 0)
        return r;
    /* in crypttab: does the key file the host opens it with at boot open the keyslots FIPS refuses? */
    res->crypttab = s->o.crypttab ? fl_crypttab_find(s->o.crypttab, s->o.root, t->path, res->volume->uuid,
                                                     res->volume->label)
                                  : NULL;
    if (res->crypttab) {
        pthread_mutex_lock(&s->key_try);
        r = fl_crypttab_try_keys(s->o.root, res->crypttab, res->volume, &res->findings, res->keys,
                                 &res->key_error);
        pthread_mutex_unlock(&s->key_try);
        if (r < 0)
            return r;
    }
    if (res->host_path != res->path) {
        /* the keys were tried on the device below the root; the volume is shown as the host names it */
        char *copy = strdup(res->host_path);
        if (!copy)
            return -ENOMEM;
        free(res->volume->path);
        res->volume->path = copy;
    }
    res->outcome = FL_SCAN_VOLUME;
    return 0;
}

/* Hand result @p i to the caller, then free what it no longer needs (its outcome stays). */
static int done(size_t i, int result, void *ctx)
{
    struct fl_scan *s = ctx;
    struct fl_scan_result *res = &s->targets[i].res;
    int r = result;

    if (r >= 0)
        r = s->emit(res, s->emit_ctx);
    fl_findings_clear(&res->findings);
    fl_volume_free(res->volume);
    res->volume = NULL;
    return r;
}

int fl_scan_run(struct fl_scan *s, fl_scan_emit_fn emit, void *ctx)
{
    if (!s->n_targets)
        return 0;
    s->emit = emit;
    s->emit_ctx = ctx;
    /* two rounds of the workers ahead: time for a cold read to complete before it is needed */
    s->ahead = 2 * (size_t)s->o.jobs;
    return fl_jobs_run(s->n_targets, s->o.jobs, s->o.ordered, scan_target, done, s);
}
