/*
 * train_snap.c — snapshots during training (see train_snap.h and
 * snapshot.h for the file and its safety contract).
 *
 * Determinism: a record depends only on the parameters at its step and on
 * the fixed evaluation subset, and records sit on a grid of steps counted
 * from the start of training, so a run interrupted and resumed writes the
 * same file as one that ran through (the writer cuts off anything recorded
 * after the model's saved state, and the record at the resume point is
 * rewritten from the saved parameters when the grid has one there).
 */
#include "train_snap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/fileio.h"

int train_snap_parse(const char *s, dl_snap_unit *unit, uint32_t *every)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    *unit = DL_SNAP_BATCHES;
    if (end && *end == 'e' && end[1] == '\0') *unit = DL_SNAP_EPOCHS;
    else if (!end || *end != '\0') end = NULL;
    if (!end || end == s || v < 1 || v > 100000000)
        return cli_fail(EXIT_USAGE, "train: --snapshot-every '%s' is not a count (K mini-batches, 1..100000000, "
                        "or Ke for every K epochs, e.g. 100 or 1e)", s);
    *every = (uint32_t)v;
    return EXIT_OK;
}

/* Mini-batches done since training began, for state s. */
static uint64_t step_of(const dl_snapshot_header *h, const dl_train_state *s)
{
    return (uint64_t)s->epoch * dl_snapshot_steps_per_epoch(h) + ((uint64_t)s->pos + h->batch - 1) / h->batch;
}

/* Appends the record of net's parameters at state (epoch, pos) with the
 * mean training cost so far in that epoch; the first record creates the
 * file. */
static dl_status record(train_snap *t, const dl_net *net, const dl_scorer *sc, uint32_t epoch, uint32_t pos,
                        float cost, dl_err *e)
{
    /* An epoch's end is recorded as the start of the next ("epoch 3
     * done"), as a model saved there says, so both ways give one record. */
    if (pos == t->h.ntrain) {
        epoch++;
        pos = 0;
    }
    dl_train_state st = {.epoch = epoch, .pos = pos};
    dl_snapshot_meta m = {step_of(&t->h, &st), epoch, pos, 0, 0, cost};
    /* The parameters are written and checksummed while the subset is
     * scored, on training's threads (dl_scorer_evaluate). */
    if (t->w) dl_snapshot_append_begin(t->w, net->params);
    if (t->sub) {
        dl_eval ev;
        const dl_job jobs[2] = {{dl_snapshot_write_params, t->w}, {dl_snapshot_checksum_params, t->w}};
        dl_status s = sc ? dl_scorer_evaluate(sc, t->sub, t->cost, jobs, t->w ? 2 : 0, &ev, e)
                         : dl_evaluate(net, t->sub, t->cost, t->threads, &ev, e);
        if (s != DL_OK) {
            if (t->w) dl_snapshot_append_cancel(t->w);
            return s;
        }
        m.correct = (uint32_t)ev.correct;
        m.total = (uint32_t)ev.total;
        dl_eval_free(&ev);
    }
    if (!t->w) {
        t->w = dl_snapshot_create(t->path, &t->h, &m, net->params, e);
        return t->w ? DL_OK : e->code;
    }
    return dl_snapshot_append_end(t->w, &m, e);
}

static void human(char *buf, size_t cap, double bytes);

dl_status train_snap_step(const dl_net *net, const dl_train_state *s, const dl_scorer *sc, void *ctx, dl_err *e)
{
    train_snap *t = ctx;
    dl_status st = record(t, net, sc, s->epoch, s->pos, s->pos ? (float)(s->cost_sum / s->pos) : NAN, e);
    t->failed = st != DL_OK;
    return st;
}

void train_snap_report(const train_snap *t, double training_seconds)
{
    char all[32];
    human(all, sizeof all, t->bytes);
    double alone = training_seconds - t->seconds;
    fprintf(stderr, "snapshots: %zu in %s (%s), %.3f s of the %.2f s of training (%.1f%% on top of training alone)\n",
            t->count, t->path, all, t->seconds, training_seconds, alone > 0 ? 100.0 * t->seconds / alone : 0.0);
}

/* The record of a saved model's own state (its cost from where training
 * left it: the running sum mid-epoch, the history at a boundary). */
static dl_status record_model(train_snap *t, const dl_model *m, dl_err *e)
{
    const dl_train_state *s = &m->state;
    float cost = s->pos ? (float)(s->cost_sum / s->pos)
                        : s->epoch && s->epoch <= m->nhistory ? m->history[s->epoch - 1].cost : NAN;
    return record(t, m->net, NULL, s->epoch, s->pos, cost, e);
}

static void human(char *buf, size_t cap, double bytes)
{
    /* decimal units, as disks are sold */
    if (bytes >= 1e9) snprintf(buf, cap, "%.2f GB", bytes / 1e9);
    else if (bytes >= 1e6) snprintf(buf, cap, "%.1f MB", bytes / 1e6);
    else snprintf(buf, cap, "%.0f KB", bytes / 1e3);
}

int train_snap_open(train_snap *t, const dl_model *m, const char *out, int resume, dl_snap_unit unit,
                    uint32_t every, int epochs, const dl_dataset *eval, size_t eval_n, int threads, int quiet,
                    int *active)
{
    memset(t, 0, sizeof *t);
    *active = 0;
    dl_err e = {0};
    if (dl_snapshot_path(out, t->path, sizeof t->path, &e) != DL_OK) return cli_fail_err(&e);
    int exists = dl_file_exists(t->path);
    if (every == 0) {
        /* --resume without --snapshot-every: continue the snapshots there are. */
        if (!resume || !exists) return EXIT_OK;
        dl_snapshots *old = NULL;
        if (dl_snapshots_load(t->path, &old, &e) != DL_OK) return cli_fail_err(&e);
        unit = old->h.unit;
        every = old->h.every;
        dl_snapshots_free(old);
    }
    dl_snapshot_header *h = &t->h;
    h->nlayers = m->net->nlayers;
    memcpy(h->sizes, m->net->sizes, sizeof h->sizes);
    h->rows = m->rows;
    h->cols = m->cols;
    h->unit = unit;
    h->every = every;
    h->batch = m->batch;
    h->ntrain = m->ntrain;
    h->eval_n = eval ? (uint32_t)(eval->n < eval_n ? eval->n : eval_n) : 0;
    h->init = (uint32_t)m->init;
    h->seed = m->seed;
    h->data_fingerprint = m->data_fingerprint;
    t->cost = m->cost;
    /* One thread: the training pool's threads wait for the next step, and
     * starting more costs more than it saves on a few hundred images. */
    (void)threads;
    t->threads = 1;

    uint64_t count = 0, total = (uint64_t)epochs * dl_snapshot_steps_per_epoch(h);
    uint64_t bytes = dl_snapshot_plan_bytes(h, total, &count);
    char each[32], all[32];
    human(each, sizeof each, (double)dl_snapshot_record_bytes(h));
    human(all, sizeof all, (double)bytes);
    const char *u = unit == DL_SNAP_EPOCHS ? "e" : "";
    if (bytes > DL_SNAPSHOT_MAX_BYTES) {
        /* The smallest interval that fits: at most `fit` records, two of
         * them the first and the final one. */
        uint64_t fit = (DL_SNAPSHOT_MAX_BYTES - dl_snapshot_header_bytes(h)) / dl_snapshot_record_bytes(h);
        uint64_t span = unit == DL_SNAP_EPOCHS ? (uint64_t)epochs : total;
        uint64_t k = fit > 2 ? (span + fit - 3) / (fit - 2) : span;
        return cli_fail(EXIT_USAGE, "train: --snapshot-every %u%s would write %llu snapshots of %s = %s, more than "
                        "1 GB (try --snapshot-every %llu%s, or fewer --epochs)", every, u,
                        (unsigned long long)count, each, all, (unsigned long long)(k > every ? k : every + 1), u);
    }
    if (h->eval_n) {
        t->sub = dl_dataset_slice(eval, 0, h->eval_n, &e);
        if (!t->sub) return cli_fail_err(&e);
    }
    const dl_train_state *s0 = &m->state;
    uint64_t step = step_of(h, s0);
    dl_status st = DL_OK;
    if (resume && exists) {
        size_t kept = 0;
        t->w = dl_snapshot_continue(t->path, h, m->init_params, step, &kept, &e);
        if (!t->w) st = e.code;
    } else {
        /* A fresh file begins with the initial parameters. */
        dl_net *n0 = dl_net_copy(m->net, &e);
        if (!n0) st = e.code;
        else {
            memcpy(n0->params, m->init_params, n0->nparams * sizeof(float));
            st = record(t, n0, NULL, 0, 0, NAN, &e);
            dl_net_free(n0);
        }
        if (st == DL_OK && resume && step > 0 && !quiet)
            fprintf(stderr, "digitlens: note: %s was missing; it starts again from the initial parameters, without "
                    "the snapshots of the first %llu mini-batches\n", t->path, (unsigned long long)step);
    }
    /* A run stopped exactly on the grid (or whose append failed there) has
     * not recorded that step: the saved model holds its parameters. */
    if (st == DL_OK && step > 0 && step % dl_snapshot_grid(h) == 0 && dl_snapshot_last_step(t->w) < step)
        st = record_model(t, m, &e);
    if (st != DL_OK) {
        train_snap_close(t);
        return cli_fail_err(&e);
    }
    if (!quiet)
        fprintf(stderr, "snapshots: every %u %s, %llu in all (%s each, %s) to %s\n", every,
                unit == DL_SNAP_EPOCHS ? (every == 1 ? "epoch" : "epochs") : (every == 1 ? "mini-batch" : "mini-batches"),
                (unsigned long long)count, each, all, t->path);
    *active = 1;
    return EXIT_OK;
}

dl_status train_snap_sync(train_snap *t, dl_err *e)
{
    return t->w ? dl_snapshot_sync(t->w, e) : DL_OK;
}

dl_status train_snap_finish(train_snap *t, const dl_model *m, dl_err *e)
{
    uint64_t step = step_of(&t->h, &m->state);
    dl_status st = DL_OK;
    if (step % dl_snapshot_grid(&t->h) != 0 && dl_snapshot_last_step(t->w) < step) st = record_model(t, m, e);
    t->count = dl_snapshot_count(t->w);
    t->bytes = (double)dl_snapshot_size(t->w);
    if (st == DL_OK) st = dl_snapshot_close(t->w, e);
    else dl_snapshot_close(t->w, NULL);
    t->w = NULL;
    dl_dataset_free(t->sub);
    t->sub = NULL;
    return st;
}

void train_snap_close(train_snap *t)
{
    dl_snapshot_close(t->w, NULL);
    t->w = NULL;
    dl_dataset_free(t->sub);
    t->sub = NULL;
}
