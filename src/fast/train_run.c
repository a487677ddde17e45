/*
 * fast/train_run.c — how the fast training kernel's threads share a run of
 * chunks (fast/train.c has the plan).  Compiled once per SIMD variant,
 * after fast/train_step.c.
 *
 * A run is a few dozen whole batches.  Its threads ("ranks" 0..P-1, rank 0
 * the caller) each own the units u with u % P == rank, and go through the
 * chunks in lock step with one hand-off per chunk:
 *     forward pass of chunk 0 on its units
 *     for each chunk c:
 *         publish "forward of c done" (prog[rank] = c + 1)
 *         its own pixel maps of c and the pixels of c+1, then wait for all ranks
 *         mid(c): the later layers, from every unit's partial sums
 *         update of c on its units, each word followed by the forward pass of c+1
 * Buffers written in one chunk and read by others in the next come in two
 * copies by chunk parity (the partial sums; every rank's pixel values),
 * so nobody overwrites what another rank may still read: a rank writes the
 * parity of chunk c+2 only after everyone has published c+1, which they do
 * after mid(c).  The run ends when every rank has left it (dl_pool_run), so
 * between runs thread 0 alone touches the context.
 */

/* One rank's share of the run, subnormals flushed to zero (fpmode.h says why). */
static void run_rank(fast_ctx *k, int rank, int P)
{
    dl_fpmode fpm = dl_fpmode_flush();
    rank_mem *r = &k->ranks[rank];
    /* Rank 0 works on the network's own parameters after W[0]; a helper on
     * a copy of them made now (between runs only thread 0 changes them). */
    r->small = k->net->params + k->small_off;
    r->vsmall = k->vel ? k->vel + k->small_off : NULL;
    if (rank) {
        memcpy(r->own, r->small, k->nsmall * sizeof(float));
        r->small = r->own;
        if (k->vel) {
            memcpy(r->vown, r->vsmall, k->nsmall * sizeof(float));
            r->vsmall = r->vown;
        }
    }
    r->owns[0] = r->owns[1] = 0;
    for (int u = rank; u < k->nunits; u += P) r->owns[k->units[u].cls] = 1;
    r->cost = 0.0;
    r->nfar = 0;
    chunk cur = chunk_at(k, 0), next;
    prepare(k, r, &cur, 0);
    for (int u = rank; u < k->nunits; u += P) unit_pass(k, r, &k->units[u], NULL, &cur, 0);
    for (int c = 0;; c++) {
        /* A stop request ends the run after a whole batch (rank 0 decides,
         * before it publishes this chunk, so every rank learns it below). */
        if (rank == 0 && cur.last && k->stop && *k->stop)
            atomic_store_explicit(&k->run_end, c + 1, memory_order_relaxed);
        atomic_store_explicit(&k->prog[rank].v, c + 1, memory_order_release);
        /* While the others finish their part: this rank's own maps of the
         * chunk and the next chunk's pixels, which need nothing of theirs
         * (rank-local buffers, the next in the other parity).  The next may
         * be past a stop that only rank 0 knows of yet: preparing it is
         * harmless. */
        int par = c & 1;
        light_maps(k, r, &cur, par);
        r->nfar = 0;
        if (c + 1 < k->nchunks) {
            next = chunk_at(k, c + 1);
            prepare(k, r, &next, par ^ 1);
            /* The images after next are scattered through the dataset:
             * unit_pass fetches them ahead a word at a time, as it goes.
             * All at once, their 130 lines overflowed the core's line
             * fill buffers and the prefetches themselves waited (3% of
             * an epoch on one thread). */
            if (c + 2 < k->nchunks) {
                chunk far = chunk_at(k, c + 2);
                for (int i = 0; i < far.cm; i++)
                    r->far[i] = k->d->pixels + (size_t)k->idx[far.off + (uint32_t)i] * k->d->npix;
                r->nfar = far.cm;
            }
        }
        for (int q = 0; q < P; q++) {
            long wt = dl_wait_at_least(&k->prog[q].v, c + 1);
            r->waited += wt;
        }
        int more = c + 1 < atomic_load_explicit(&k->run_end, memory_order_relaxed);
        mid(k, r, rank, P > 1, &cur, par);
        for (int u = rank; u < k->nunits; u += P)
            unit_pass(k, r, &k->units[u], &cur, more ? &next : NULL, par ^ 1);
        if (!more) break;
        cur = next;
    }
    dl_fpmode_restore(fpm);
}

/* dl_pool_run's job for a team run: thread 0 waits briefly for helpers to
 * join, closes the roster and tells them the team's size; a helper that
 * comes after the close leaves (thread 0 does its share). */
static void team_job(void *kv, int t)
{
    fast_ctx *k = kv;
    if (t == 0) {
        dl_wait_at_least_for(&k->roster, k->T - 1, JOIN_NS);
        int joined = atomic_fetch_or(&k->roster, ROSTER_CLOSED) & ~ROSTER_CLOSED;
        atomic_store_explicit(&k->team, 1 + joined, memory_order_release);
        run_rank(k, 0, 1 + joined);
        return;
    }
    int n = atomic_load_explicit(&k->roster, memory_order_relaxed);
    do {
        if (n & ROSTER_CLOSED) return;
    } while (!atomic_compare_exchange_weak(&k->roster, &n, n + 1));
    dl_wait_at_least(&k->team, 1);
    run_rank(k, n + 1, atomic_load_explicit(&k->team, memory_order_relaxed));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One run over examples idx[0..n) (whole batches); returns how many it did
 * (rank 0 has added their costs to *k->cost_out). */
static uint32_t run(fast_ctx *k, const uint32_t *idx, uint32_t n, uint32_t pos)
{
    k->idx = idx;
    k->run_pos = pos;
    k->nrun = n;
    uint32_t full = n / (uint32_t)k->batch, rest = n % (uint32_t)k->batch;
    k->nchunks = (int)full * k->cpb + (int)((rest + CHUNK - 1) / CHUNK);
    atomic_store_explicit(&k->run_end, k->nchunks, memory_order_relaxed);
    for (int t = 0; t < k->T; t++) atomic_store_explicit(&k->prog[t].v, 0, memory_order_relaxed);
    atomic_store_explicit(&k->roster, 0, memory_order_relaxed);
    atomic_store_explicit(&k->team, 0, memory_order_relaxed);
    for (int t = 0; t < k->T; t++) k->ranks[t].waited = 0;

    /* Working together is not always faster: when the machine has more
     * busy threads than cores, a thread descheduled mid-run stalls the
     * others for a whole time slice.  So thread 0 keeps measuring: PROBE
     * runs as a team; when in most of them some thread waited for the others
     * a good part of the time (HEALTHY), PROBE runs alone too; then EXPLOIT
     * runs the faster way by the medians (one preempted run must not
     * decide), and again; a stall during a team stretch ends it at once.
     * A healthy team is not timed against thread 0 alone, which takes about
     * 1.6 times as long per example: those runs cost more than the check
     * could win (`make bench` trains each epoch with a new kernel, and 16 of
     * its 94 runs went alone).  Only speed depends on this. */
    int alone = k->T == 1 || (k->sched >= PROBE && (k->sched >= 2 * PROBE ? k->solo_wins : 1));
    k->went_alone = alone;
    double t0 = now_ns();
    if (alone) run_rank(k, 0, 1);
    else dl_pool_run(k->pool, team_job, k);
    int end = atomic_load_explicit(&k->run_end, memory_order_relaxed);
    chunk last = chunk_at(k, end - 1);
    uint32_t done = last.off + (uint32_t)last.cm;
    /* The longest any thread waited for the others: a descheduled thread
     * makes the others wait, whichever it is. */
    k->waited = 0;
    for (int t = 0; t < k->T; t++)
        if (k->ranks[t].waited > k->waited) k->waited = k->ranks[t].waited;
    if (k->T > 1) {
        double el = now_ns() - t0, per = el / done;
        if (k->sched < 2 * PROBE) k->probe[k->sched / PROBE][k->sched % PROBE] = per;
        /* A helper that came too late to join was off its core: that run
         * tells nothing good of the team. */
        int short_team = !alone && atomic_load_explicit(&k->team, memory_order_relaxed) < k->T;
        if (k->sched < PROBE) k->probe_wait[k->sched] = short_team ? 1.0 : (double)k->waited / el;
        k->sched++;
        if (k->sched == PROBE) {
            qsort(k->probe_wait, PROBE, sizeof(double), cmp_double);
            if (k->probe_wait[PROBE / 2] < HEALTHY) {
                k->solo_wins = 0;
                k->sched = 2 * PROBE;
            }
        } else if (k->sched == 2 * PROBE) {
            qsort(k->probe[0], PROBE, sizeof(double), cmp_double);
            qsort(k->probe[1], PROBE, sizeof(double), cmp_double);
            k->solo_wins = k->probe[1][PROBE / 2] < k->probe[0][PROBE / 2];
        }
        if (k->sched >= 2 * PROBE + EXPLOIT || (!alone && k->sched > 2 * PROBE && k->waited > STALL_NS))
            k->sched = 0;
    }
    return done;
}

static uint32_t fast_train(void *kv, const dl_dataset *d, const uint32_t *idx, uint32_t n,
                           int batch, const dl_step *st, volatile sig_atomic_t *stop, double *cost)
{
    fast_ctx *k = kv;
    k->d = d;
    k->batch = batch;
    k->cpb = (batch + CHUNK - 1) / CHUNK;
    k->eta = st->eta;
    k->decay = st->decay;
    k->l2 = st->l2;
    k->dseed = st->dropout_seed;
    k->stop = stop;
    k->cost_out = cost;
    uint32_t per_run = (uint32_t)(RUN_CHUNKS / k->cpb > 0 ? RUN_CHUNKS / k->cpb : 1) * (uint32_t)batch;
    uint32_t pos = 0;
    while (pos < n) {
        uint32_t want = n - pos < per_run ? n - pos : per_run;
        uint32_t done = run(k, idx + pos, want, st->pos + pos);
        pos += done;
        if (done < want || (stop && *stop)) break;
    }
    return pos;
}

static const dl_kernel_ops fast_ops = {fast_new, fast_train, fast_sync, fast_free, fast_evaluate_own};
