/*
 * train_fast_pool.c — the persistent pool (see train_fast_pool.h).
 *
 * Three hand-offs, all on C11 atomics:
 *   start    the caller publishes (fn, arg) and bumps `gen` (release); a
 *            worker that has seen the old value spins on it, then sleeps
 *            on `cv` once it has waited longer than SPIN_NS;
 *   barrier  a counter plus a generation (sense reversal): the last thread
 *            to arrive resets the counter and bumps the generation;
 *   finish   each worker increments `done`; the caller spins until all have.
 * Spinning waits give up the CPU (sched_yield) after SPIN_NS, so running
 * more threads than cores costs time but never livelocks.
 *
 * Lost wake-ups are impossible: a worker increments `sleepers` and
 * re-reads `gen` under the mutex, the caller stores `gen` and then reads
 * `sleepers`; both are sequentially consistent, so either the worker sees
 * the new generation or the caller sees the sleeper and signals under the
 * mutex.
 */
#define _POSIX_C_SOURCE 200809L
#include "train_fast_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long a waiting thread spins before yielding or sleeping: a few
 * training steps' worth, far below an evaluation pass. */
#define SPIN_NS 20000L

#define MAX_THREADS 256

struct dl_pool {
    int nthreads;
    dl_pool_fn fn;         /* written by the caller before the release store of gen */
    void *arg;
    atomic_uint gen;       /* run generation */
    atomic_int done;       /* workers finished with the current run */
    atomic_int quit;
    atomic_int sleepers;
    atomic_uint bar_count; /* threads arrived at the current barrier */
    atomic_uint bar_gen;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid[MAX_THREADS];
    int nstarted;
};

typedef struct worker_arg {
    dl_pool *p;
    int t;
} worker_arg;

static long elapsed_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Spins while *a == old, yielding once SPIN_NS have passed. */
static void wait_change(atomic_uint *a, unsigned old)
{
    struct timespec t0;
    int spins = 0, timed = 0;
    while (atomic_load_explicit(a, memory_order_acquire) == old) {
        CPU_RELAX();
        if (++spins < 256) continue;
        spins = 0;
        if (!timed) {
            clock_gettime(CLOCK_MONOTONIC, &t0);
            timed = 1;
        } else if (elapsed_ns(&t0) > SPIN_NS) {
            sched_yield();
        }
    }
}

static void *worker_main(void *va)
{
    worker_arg *wa = va;
    dl_pool *p = wa->p;
    int t = wa->t;
    free(wa);
    unsigned seen = 0;
    for (;;) {
        /* Wait for a new generation: spin first, then sleep. */
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen) {
            CPU_RELAX();
            if (++spins < 256) continue;
            spins = 0;
            if (elapsed_ns(&t0) < SPIN_NS) continue;
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->gen) == seen) pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        seen = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (atomic_load_explicit(&p->quit, memory_order_acquire)) return NULL;
        p->fn(p->arg, t);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
    }
}

/* Publishes a new generation and wakes sleepers. */
static void bump(dl_pool *p)
{
    atomic_fetch_add(&p->gen, 1); /* seq_cst: see the file comment */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

dl_pool *dl_pool_new(int threads, dl_err *e)
{
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    dl_pool *p = calloc(1, sizeof *p);
    if (!p) {
        dl_err_set(e, DL_ENOMEM, "out of memory for the thread pool");
        return NULL;
    }
    atomic_init(&p->gen, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->quit, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_gen, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->nthreads = 1;
    for (int t = 1; t < threads; t++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) break;
        wa->p = p;
        wa->t = t;
        if (pthread_create(&p->tid[t], NULL, worker_main, wa) != 0) {
            free(wa);
            break; /* fewer threads: the kernels' results do not depend on the count */
        }
        p->nthreads = t + 1;
    }
    p->nstarted = p->nthreads - 1;
    return p;
}

int dl_pool_threads(const dl_pool *p) { return p->nthreads; }

void dl_pool_run(dl_pool *p, dl_pool_fn fn, void *arg)
{
    if (p->nthreads == 1) {
        fn(arg, 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    bump(p);
    fn(arg, 0);
    struct timespec t0;
    int spins = 0, timed = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < p->nthreads - 1) {
        CPU_RELAX();
        if (++spins < 256) continue;
        spins = 0;
        if (!timed) {
            clock_gettime(CLOCK_MONOTONIC, &t0);
            timed = 1;
        } else if (elapsed_ns(&t0) > SPIN_NS) {
            sched_yield();
        }
    }
}

void dl_pool_barrier(dl_pool *p)
{
    if (p->nthreads == 1) return;
    unsigned g = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) ==
        (unsigned)p->nthreads - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_store_explicit(&p->bar_gen, g + 1, memory_order_release);
    } else {
        wait_change(&p->bar_gen, g);
    }
}

void dl_pool_free(dl_pool *p)
{
    if (!p) return;
    atomic_store(&p->quit, 1);
    bump(p);
    for (int t = 1; t <= p->nstarted; t++) pthread_join(p->tid[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
