/*
 * parallel.h — fork/join over a few threads and a queue of files to write,
 * for the library's batch work (the report, whole-layer neuron statistics).
 * Private to src/.
 *
 * dl_parallel_run(n, fn, ctx) calls fn(ctx, t, n) once for every t in
 * 0..n-1: t = 0 on the calling thread, the others on threads of their own.
 * When the system refuses a thread, its share runs on the calling thread
 * after the others have been joined, so the work is always done whole and
 * what it computes never depends on how many threads really ran.  A caller
 * splits its items by t with dl_parallel_lo/hi, or shares them through a
 * counter of its own.  (The fast training kernel needs microsecond steps
 * and has a persistent pool of its own, train_fast_pool.h; this one starts
 * threads per call, for work that lasts milliseconds or more.)
 *
 * dl_writeq writes whole files atomically (dl_file_write_atomic) on a few
 * threads of its own: writing is mostly waiting for fsync, so the threads
 * that draw can keep the cores busy meanwhile.  After the first failure the
 * queue drops what is left and every later put returns that error.
 *
 * The queue holds SIGINT, SIGTERM, SIGHUP and SIGQUIT in the calling
 * thread from before it starts its threads (which inherit the mask) until
 * dl_writeq_finish has joined them (dl_signals_hold): a signal would
 * otherwise reach a thread that has no file open and end the process while
 * a writer has one, leaving its temporary file.  It is delivered once the
 * queue is done.  dl_parallel_run's threads inherit the caller's mask too,
 * so parts run between dl_writeq_start and dl_writeq_finish (the report's
 * drawing, which may write when the queue has no threads) are covered;
 * other parts should not write files.
 */
#ifndef DIGITLENS_PARALLEL_H
#define DIGITLENS_PARALLEL_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "digitlens/err.h"

#define DL_PARALLEL_MAX 64 /* threads in one run */

/* Clamps a requested thread count to 1..DL_PARALLEL_MAX and to at most
 * `items` (at least 1). */
int dl_parallel_threads(int threads, size_t items);

/* fn(ctx, t, n) for t = 0..n-1 (n is clamped to 1..DL_PARALLEL_MAX). */
void dl_parallel_run(int n, void (*fn)(void *ctx, int t, int n), void *ctx);

/* Part t of n of the items [0, count): [lo, hi). */
static inline size_t dl_parallel_lo(size_t count, int t, int n) { return count * (size_t)t / (size_t)n; }
static inline size_t dl_parallel_hi(size_t count, int t, int n) { return count * (size_t)(t + 1) / (size_t)n; }

#define DL_WRITEQ_THREADS 4

typedef struct dl_writeq_file dl_writeq_file;

typedef struct dl_writeq {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    dl_writeq_file *head, *tail;
    int closing, failed, nthreads;
    dl_err err;              /* the first failure */
    int files;               /* files written */
    size_t bytes;            /* their total size */
    pthread_t tid[DL_WRITEQ_THREADS];
    sigset_t held;           /* signals held from start to finish (see below) */
} dl_writeq;

/* Starts the writer threads (as many as the system allows; with none,
 * dl_writeq_put writes at once). */
void dl_writeq_start(dl_writeq *w);

/* Queues data (malloc'd; the queue frees it, also on failure) for the file
 * dir/name.  Returns the first error any write has had so far. */
dl_status dl_writeq_put(dl_writeq *w, const char *dir, const char *name, void *data, size_t len, dl_err *e);

/* Waits for every queued file and stops the threads; the first write
 * error, if any (*e is filled only then, and only when e is non-NULL). */
dl_status dl_writeq_finish(dl_writeq *w, dl_err *e);

#endif
