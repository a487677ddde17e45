/*
 * train_fast_pool.c — the persistent pool (see train_fast_pool.h).
 *
 * One atomic word, `state`, describes the current run:
 *     bits 32..63  generation (one per run)
 *     bit  31      open: workers may still join
 *     bits 0..30   workers inside the run
 * The caller publishes the job and a new generation, open, with nobody
 * inside; a worker joins with a compare-and-swap that succeeds only while
 * that generation is open; when the caller's own share is done it closes
 * the run (another compare-and-swap) and waits for those inside to leave.
 * A worker that wakes after the close sees the run closed and skips it, so
 * it can never touch a job the caller has moved on from.
 *
 * Idle workers spin on `state` for IDLE_NS, then sleep on `cv`.  Lost
 * wake-ups are impossible: a worker increments `sleepers` and re-reads the
 * generation under the mutex; the caller stores the generation, then reads
 * `sleepers`; both sequentially consistent, so either the worker sees the
 * new run or the caller sees the sleeper and signals under the mutex.
 */
#define _POSIX_C_SOURCE 200809L
#include "train_fast_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* How long a waiting thread spins: inside a run, before it starts yielding
 * the CPU; between runs, before it sleeps.  The second must cover a whole
 * run plus the caller's work between runs: a worker that fell asleep wakes
 * too late to join the next run, and would fall asleep again after it. */
#define SPIN_NS 50000L
#define IDLE_NS 2000000L

#define MAX_THREADS 256
#define OPEN ((uint64_t)1 << 31)
#define INSIDE_MASK (OPEN - 1)

struct dl_pool {
    int nthreads;
    dl_pool_fn fn;          /* the job: written before the state store that publishes it */
    void *arg;
    _Atomic uint64_t state; /* generation | open | workers inside */
    atomic_int quit;
    atomic_int sleepers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int nstarted;
    pthread_t tid[MAX_THREADS];
};

typedef struct worker_arg {
    dl_pool *p;
    int t;
} worker_arg;

static uint32_t gen_of(uint64_t s) { return (uint32_t)(s >> 32); }

/* A spin-then-yield waiter: call step() in the loop body. */
typedef struct spin {
    int n;
    int timed;
    long limit;
    struct timespec t0;
} spin;

static long since_ns(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Returns 1 once s->limit ns have passed (checked every 256 calls). */
static int spin_step(spin *s)
{
    CPU_RELAX();
    if (++s->n < 256) return 0;
    s->n = 0;
    if (!s->timed) {
        clock_gettime(CLOCK_MONOTONIC, &s->t0);
        s->timed = 1;
        return 0;
    }
    return since_ns(&s->t0) > s->limit;
}

/* Roughly how long a finished wait lasted: 0 if it never got to the first
 * clock reading (a few hundred spins), else the time since that reading. */
static long waited(const spin *s) { return s->timed ? since_ns(&s->t0) : 0; }

static void *worker_main(void *va)
{
    worker_arg *wa = va;
    dl_pool *p = wa->p;
    int t = wa->t;
    free(wa);
    uint32_t seen = 0;
    for (;;) {
        /* Wait for a new generation: spin, then sleep. */
        spin s = {0, 0, IDLE_NS, {0, 0}};
        uint64_t st;
        while (gen_of(st = atomic_load_explicit(&p->state, memory_order_acquire)) == seen) {
            if (!spin_step(&s)) continue;
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            while (gen_of(atomic_load(&p->state)) == seen) pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        seen = gen_of(st);
        if (atomic_load_explicit(&p->quit, memory_order_acquire)) return NULL;
        /* Join if this generation is still open. */
        int joined = 0;
        while (gen_of(st) == seen && (st & OPEN)) {
            if (atomic_compare_exchange_weak_explicit(&p->state, &st, st + 1, memory_order_acquire,
                                                      memory_order_acquire)) {
                joined = 1;
                break;
            }
        }
        if (!joined) continue;
        p->fn(p->arg, t);
        atomic_fetch_sub_explicit(&p->state, 1, memory_order_release);
    }
}

/* Publishes a new state (seq_cst: see the file comment) and wakes sleepers. */
static void publish(dl_pool *p, uint64_t st)
{
    atomic_store(&p->state, st);
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
    atomic_init(&p->state, 0);
    atomic_init(&p->quit, 0);
    atomic_init(&p->sleepers, 0);
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
            break; /* fewer threads: results do not depend on the count */
        }
        p->nthreads = t + 1;
    }
    p->nstarted = p->nthreads - 1;
    return p;
}

int dl_pool_threads(const dl_pool *p) { return p->nthreads; }

long dl_pool_run(dl_pool *p, dl_pool_fn fn, void *arg)
{
    if (p->nthreads == 1) {
        fn(arg, 0);
        return 0;
    }
    p->fn = fn;
    p->arg = arg;
    uint32_t g = gen_of(atomic_load_explicit(&p->state, memory_order_relaxed)) + 1;
    publish(p, (uint64_t)g << 32 | OPEN);
    fn(arg, 0);
    /* Close the run, then wait for those inside to leave. */
    uint64_t st = atomic_load_explicit(&p->state, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&p->state, &st, st & ~OPEN, memory_order_acq_rel,
                                                  memory_order_relaxed)) {
    }
    spin s = {0, 0, SPIN_NS, {0, 0}};
    while (atomic_load_explicit(&p->state, memory_order_acquire) & INSIDE_MASK)
        if (spin_step(&s)) sched_yield();
    return waited(&s);
}

void dl_pool_free(dl_pool *p)
{
    if (!p) return;
    atomic_store(&p->quit, 1);
    uint32_t g = gen_of(atomic_load(&p->state)) + 1;
    publish(p, (uint64_t)g << 32); /* a new generation, closed: workers see quit */
    for (int t = 1; t <= p->nstarted; t++) pthread_join(p->tid[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

void dl_work_reset(dl_work *w, int n, atomic_uchar *taken)
{
    atomic_store_explicit(&w->next, 0, memory_order_relaxed);
    atomic_store_explicit(&w->done, 0, memory_order_relaxed);
    w->n = n;
    w->taken = taken;
    if (taken)
        for (int u = 0; u < n; u++) atomic_store_explicit(&taken[u], 0, memory_order_relaxed);
}

int dl_work_claim(dl_work *w)
{
    /* Cheap test first, so latecomers do not keep bumping the counter. */
    if (atomic_load_explicit(&w->next, memory_order_relaxed) >= w->n) return -1;
    int u = atomic_fetch_add_explicit(&w->next, 1, memory_order_relaxed);
    return u < w->n ? u : -1;
}

static int take(dl_work *w, int u)
{
    return !atomic_load_explicit(&w->taken[u], memory_order_relaxed) &&
           !atomic_exchange_explicit(&w->taken[u], 1, memory_order_relaxed);
}

int dl_work_claim_own(dl_work *w, int t, int T)
{
    for (int u = t; u < w->n; u += T)
        if (take(w, u)) return u;
    for (int u = 0; u < w->n; u++)
        if (take(w, u)) return u;
    return -1;
}

void dl_work_finish(dl_work *w) { atomic_fetch_add_explicit(&w->done, 1, memory_order_release); }

long dl_work_wait(dl_work *w)
{
    spin s = {0, 0, SPIN_NS, {0, 0}};
    while (atomic_load_explicit(&w->done, memory_order_acquire) < w->n)
        if (spin_step(&s)) sched_yield();
    return waited(&s);
}

long dl_wait_at_least(atomic_int *v, int target)
{
    spin s = {0, 0, SPIN_NS, {0, 0}};
    while (atomic_load_explicit(v, memory_order_acquire) < target)
        if (spin_step(&s)) sched_yield();
    return waited(&s);
}

int dl_wait_at_least_for(atomic_int *v, int target, long limit_ns)
{
    spin s = {0, 0, limit_ns, {0, 0}};
    while (atomic_load_explicit(v, memory_order_acquire) < target)
        if (spin_step(&s)) return 0;
    return 1;
}
