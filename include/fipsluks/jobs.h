/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file jobs.h Run independent work items on a few threads and hand each result back to the
 * calling thread, in index order or as soon as it is done, with a bounded number in flight.
 */
#ifndef FIPSLUKS_JOBS_H
#define FIPSLUKS_JOBS_H

#include <stdbool.h>
#include <stddef.h>

/** Most threads fl_jobs_run() starts. */
#define FL_JOBS_MAX 64

/** Work on item @p i; runs on a worker thread. Its return value is handed to the done callback. */
typedef int (*fl_job_work_fn)(size_t i, void *ctx);
/** Item @p i is done with @p result; runs on the calling thread. A negative return stops the run. */
typedef int (*fl_job_done_fn)(size_t i, int result, void *ctx);

/**
 * Run @p work for items 0 … @p n - 1 on @p jobs threads (1: on the calling thread, no thread is
 * started) and call @p done for each on the calling thread: in index order when @p ordered, else in
 * the order they finish. At most 4 × @p jobs items are done but not yet handed to @p done, so the
 * memory their results hold stays bounded whatever @p n is.
 * @return 0, the first negative value @p done returned (the remaining items are not started), or
 * -errno when threads cannot be started.
 */
int fl_jobs_run(size_t n, unsigned jobs, bool ordered, fl_job_work_fn work, fl_job_done_fn done, void *ctx);

/** The number of CPUs this process may run on (at least 1). */
unsigned fl_jobs_cpus(void);

#endif
