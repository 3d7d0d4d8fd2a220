/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small thread pool for scans: workers claim items in index order and report completions on a
 * queue; the calling thread alone hands results to the caller, so output needs no locking and, in
 * ordered mode, is the same as a serial run. Workers never claim an item more than `window` items
 * ahead of what the caller has taken, which bounds the results held in memory.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fipsluks/jobs.h"

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t can_claim; /* workers wait here for room in the window */
    pthread_cond_t finished;  /* the caller waits here for a completion */
    size_t n, window;
    size_t next;   /* the next item to claim */
    size_t base;   /* ordered: the next item to hand over; else: the number handed over */
    size_t *queue; /* finished items, in completion order (unordered mode) */
    size_t q_head, q_tail;
    unsigned char *state; /* 1 when item i is finished */
    int *result;
    bool stop;
    fl_job_work_fn work;
    void *ctx;
};

static void *worker(void *arg)
{
    struct pool *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        size_t i;
        int r;

        while (!p->stop && p->next < p->n && p->next >= p->base + p->window)
            pthread_cond_wait(&p->can_claim, &p->lock);
        if (p->stop || p->next >= p->n)
            break;
        i = p->next++;
        pthread_mutex_unlock(&p->lock);
        r = p->work(i, p->ctx);
        pthread_mutex_lock(&p->lock);
        p->result[i] = r;
        p->state[i] = 1;
        p->queue[p->q_tail++] = i;
        pthread_cond_signal(&p->finished);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int run_serial(size_t n, fl_job_work_fn work, fl_job_done_fn done, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        int r = done(i, work(i, ctx), ctx);
        if (r < 0)
            return r;
    }
    return 0;
}

int fl_jobs_run(size_t n, unsigned jobs, bool ordered, fl_job_work_fn work, fl_job_done_fn done, void *ctx)
{
    struct pool p = {.n = n, .work = work, .ctx = ctx};
    pthread_t threads[FL_JOBS_MAX];
    unsigned started = 0;
    int r = 0;

    if (jobs > FL_JOBS_MAX)
        jobs = FL_JOBS_MAX;
    if (jobs > n)
        jobs = (unsigned)n;
    if (jobs <= 1)
        return run_serial(n, work, done, ctx);

    p.window = 4 * (size_t)jobs;
    p.queue = calloc(n, sizeof(*p.queue));
    p.state = calloc(n, 1);
    p.result = calloc(n, sizeof(*p.result));
    if (!p.queue || !p.state || !p.result) {
        r = -ENOMEM;
        goto out;
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.can_claim, NULL);
    pthread_cond_init(&p.finished, NULL);
    for (; started < jobs; started++) {
        int e = pthread_create(&threads[started], NULL, worker, &p);
        if (e) {
            if (started == 0)
                r = -e;
            break;
        }
    }

    pthread_mutex_lock(&p.lock);
    for (size_t handed = 0; r == 0 && handed < n; handed++) {
        size_t i;

        if (ordered) {
            while (!p.state[p.base])
                pthread_cond_wait(&p.finished, &p.lock);
            i = p.base;
        } else {
            while (p.q_head == p.q_tail)
                pthread_cond_wait(&p.finished, &p.lock);
            i = p.queue[p.q_head++];
        }
        pthread_mutex_unlock(&p.lock);
        r = done(i, p.result[i], ctx);
        pthread_mutex_lock(&p.lock);
        p.base++;
        pthread_cond_broadcast(&p.can_claim);
    }
    p.stop = true;
    pthread_cond_broadcast(&p.can_claim);
    pthread_mutex_unlock(&p.lock);

    for (unsigned t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    pthread_cond_destroy(&p.finished);
    pthread_cond_destroy(&p.can_claim);
    pthread_mutex_destroy(&p.lock);
out:
    free(p.queue);
    free(p.state);
    free(p.result);
    return r;
}

unsigned fl_jobs_cpus(void)
{
    cpu_set_t set;
    long n;

    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
