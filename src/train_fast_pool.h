/*
 * train_fast_pool.h — a small persistent thread pool for the fast kernels
 * (private to train_fast*.c).
 *
 * dl_pool_run(p, fn, arg) calls fn(arg, t) on every thread t = 0..T-1 (the
 * caller is thread 0) and returns when all have returned; inside fn,
 * dl_pool_barrier(p) waits for all T.  Hand-offs spin briefly, because a
 * training step lasts only tens of microseconds and a sleeping thread takes
 * that long to wake; an idle worker then sleeps on a condition variable so
 * it burns no CPU between epochs or after training.
 *
 * The pool never decides anything about the arithmetic: callers split work
 * by thread index, and all the fast kernels split it so that results do not
 * depend on how many threads there are.
 */
#ifndef DIGITLENS_TRAIN_FAST_POOL_H
#define DIGITLENS_TRAIN_FAST_POOL_H

#include "digitlens/err.h"

typedef struct dl_pool dl_pool;
typedef void (*dl_pool_fn)(void *arg, int t);

/* A pool of up to `threads` threads (the caller counts as one).  If the
 * system refuses to start some, the pool keeps the ones it got (see
 * dl_pool_threads); NULL with *e only when out of memory. */
dl_pool *dl_pool_new(int threads, dl_err *e);

/* Threads the pool really runs fn on (>= 1). */
int dl_pool_threads(const dl_pool *p);

/* fn(arg, t) on every thread; returns after all have finished.  Not
 * reentrant: one run at a time, from the thread that created the pool. */
void dl_pool_run(dl_pool *p, dl_pool_fn fn, void *arg);

/* Inside fn: returns when all threads of the run have called it. */
void dl_pool_barrier(dl_pool *p);

/* Stops and joins the workers; NULL is fine. */
void dl_pool_free(dl_pool *p);

#endif
