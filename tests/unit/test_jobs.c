/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The scan thread pool (src/lib/jobs.c): order, completeness, the in-flight bound, stopping. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "fipsluks/jobs.h"

#define N 500

struct run {
    pthread_mutex_t lock;
    unsigned char worked[N], delivered[N];
    size_t order[N], n_delivered;
    size_t started, max_ahead; /* items started but not delivered, at most */
    long stop_at;
};

static int work(size_t i, void *ctx)
{
    struct run *r = ctx;
    struct timespec ts = {0, (long)((i * 7919) % 200) * 1000};

    pthread_mutex_lock(&r->lock);
    r->worked[i]++;
    r->started++;
    if (r->started - r->n_delivered > r->max_ahead)
        r->max_ahead = r->started - r->n_delivered;
    pthread_mutex_unlock(&r->lock);
    nanosleep(&ts, NULL); /* finish out of order */
    return (int)(i % 3);
}

static int done(size_t i, int result, void *ctx)
{
    struct run *r = ctx;

    assert_int_equal(result, (int)(i % 3));
    pthread_mutex_lock(&r->lock);
    r->delivered[i]++;
    r->order[r->n_delivered++] = i;
    pthread_mutex_unlock(&r->lock);
    return r->stop_at >= 0 && (long)r->n_delivered == r->stop_at ? -ECANCELED : 0;
}

static struct run *new_run(long stop_at)
{
    struct run *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    pthread_mutex_init(&r->lock, NULL);
    r->stop_at = stop_at;
    return r;
}

static void test_ordered(void **state)
{
    (void)state;
    for (unsigned jobs = 1; jobs <= 8; jobs *= 2) {
        struct run *r = new_run(-1);
        assert_int_equal(fl_jobs_run(N, jobs, true, work, done, r), 0);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(r->worked[i], 1);
            assert_int_equal(r->delivered[i], 1);
            assert_int_equal(r->order[i], i);
        }
        /* never more than 4 x jobs items started ahead of what was handed over (+1 in hand) */
        assert_true(r->max_ahead <= 4 * jobs + 1);
        free(r);
    }
}

static void test_unordered(void **state)
{
    struct run *r = new_run(-1);

    (void)state;
    assert_int_equal(fl_jobs_run(N, 4, false, work, done, r), 0);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(r->worked[i], 1);
        assert_int_equal(r->delivered[i], 1);
    }
    assert_true(r->max_ahead <= 4 * 4 + 1);
    free(r);
}

static void test_stop(void **state)
{
    struct run *r = new_run(10);
    size_t worked = 0;

    (void)state;
    assert_int_equal(fl_jobs_run(N, 4, true, work, done, r), -ECANCELED);
    assert_int_equal(r->n_delivered, 10);
    for (size_t i = 0; i < N; i++)
        worked += r->worked[i];
    assert_true(worked <= 10 + 4 * 4 + 4);
    free(r);
    assert_int_equal(fl_jobs_run(0, 4, true, work, done, NULL), 0);
    assert_true(fl_jobs_cpus() >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ordered),
        cmocka_unit_test(test_unordered),
        cmocka_unit_test(test_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
