/*
 * train_fast_pool.h — a small persistent thread pool for the fast kernels
 * (private to train_fast*.c), built for work that lasts microseconds.
 *
 * dl_pool_run(p, fn, arg) calls fn(arg, 0) on the caller and fn(arg, t) on
 * each worker t that wakes up in time to join the run; it returns once the
 * caller's fn has returned and every worker that joined has left.  A worker
 * that is late (descheduled on a busy machine, or still asleep) skips the
 * run rather than holding it up.  So fn must share its work out through a
 * dl_work counter, never by thread index: units are claimed one at a time
 * by whichever threads are there, and the caller alone can do them all.
 * The thread index t is only for per-thread scratch memory.
 *
 * Which thread does a unit never changes what the unit computes, so
 * results cannot depend on the number of threads or on timing.
 *
 * Waiting spins briefly (a training step lasts tens of microseconds and a
 * sleeping thread takes that long to wake), then yields the CPU; an idle
 * worker sleeps on a condition variable, so nothing burns CPU between
 * epochs or after training.
 */
#ifndef DIGITLENS_TRAIN_FAST_POOL_H
#define DIGITLENS_TRAIN_FAST_POOL_H

#include <stdatomic.h>

#include "digitlens/err.h"

typedef struct dl_pool dl_pool;
typedef void (*dl_pool_fn)(void *arg, int t);

/* A pool of up to `threads` threads, the caller included.  If the system
 * refuses to start some, the pool keeps those it got (dl_pool_threads);
 * NULL with *e only when out of memory. */
dl_pool *dl_pool_new(int threads, dl_err *e);

/* Threads that may run fn, the caller included (>= 1). */
int dl_pool_threads(const dl_pool *p);

/* fn(arg, t) on the caller (t = 0) and on the workers that join (see
 * above).  One run at a time, from the thread that created the pool.
 * Returns the nanoseconds the caller then waited for workers to leave. */
long dl_pool_run(dl_pool *p, dl_pool_fn fn, void *arg);

/* Stops and joins the workers; NULL is fine. */
void dl_pool_free(dl_pool *p);

/* n units of work shared by the threads of a run. */
typedef struct dl_work {
    atomic_int next;      /* next unit to hand out (dl_work_claim) */
    atomic_int done;      /* units finished */
    int n;
    atomic_uchar *taken;  /* [n] per-unit claims (dl_work_claim_own), or NULL */
} dl_work;

/* Before the run: n units, none handed out.  taken is NULL for units
 * handed out in order (dl_work_claim), or caller storage for n flags for
 * units with owners (dl_work_claim_own). */
void dl_work_reset(dl_work *w, int n, atomic_uchar *taken);

/* The next unhanded unit, or -1 when all have been handed out. */
int dl_work_claim(dl_work *w);

/* Units with owners: unit u belongs to thread u % T.  Thread t takes its
 * own units first, then any other still free (a helper that is late or
 * absent leaves its units to the others), or -1.  Owners keep their data
 * in their own core's cache from one run to the next. */
int dl_work_claim_own(dl_work *w, int t, int T);

/* Marks a claimed unit finished (publishing what it wrote). */
void dl_work_finish(dl_work *w);

/* Returns when all n units are finished (and their writes visible), with
 * the nanoseconds it waited. */
long dl_work_wait(dl_work *w);

/* Waits until *v >= target (an acquire load: what was written before the
 * release that raised *v is visible), spinning, then yielding the CPU.
 * Returns the nanoseconds it waited (0 when it was quick). */
long dl_wait_at_least(atomic_int *v, int target);

/* The same, but gives up after limit_ns: 1 when *v reached target. */
int dl_wait_at_least_for(atomic_int *v, int target, long limit_ns);

#endif
