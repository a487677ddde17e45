/*
 * train_snap.h — what `train --snapshot-every` adds to training: the
 * snapshot file beside the model, opened afresh or continued on --resume,
 * a record every K mini-batches (or K epochs) with the accuracy on a fixed
 * evaluation subset, and its cost printed before training starts.
 * Private to src/cli (cmd_train.c).
 */
#ifndef DIGITLENS_CLI_TRAIN_SNAP_H
#define DIGITLENS_CLI_TRAIN_SNAP_H

#include "digitlens/model.h"
#include "digitlens/snapshot.h"
#include "digitlens/train.h"

/* The evaluation subset by default: the first this many images of the
 * evaluation set.  Scoring it is most of what a snapshot costs (a forward
 * pass per image, against a forward and backward pass per training image
 * between snapshots), so it is kept small for --snapshot-every 100 at
 * batch 10 (make bench measures what it costs; README, "Watching it learn"). */
#define TRAIN_SNAP_EVAL 100

typedef struct train_snap {
    dl_snapshot_writer *w;
    dl_snapshot_header h;
    dl_dataset *sub;      /* owned: the evaluation subset (NULL: none) */
    dl_cost cost;
    int threads;
    int failed;           /* an append failed: training stopped for it */
    double seconds;       /* spent recording during training (the kernel's write-back of the
                             network, scoring, encoding, writing: dl_step_hook.spent) */
    size_t count;         /* records in the file, and its size, once finished */
    double bytes;
    char path[4096];
} train_snap;

/* Parses "100" (mini-batches) or "2e" (epochs); 0 on success, else prints
 * a usage error naming --snapshot-every. */
int train_snap_parse(const char *s, dl_snap_unit *unit, uint32_t *every);

/* Opens the snapshots of model m (at path out's snapshot path) for a run of
 * `epochs` epochs on n training images: a new file (record 0 = m's initial
 * parameters), or, when resuming and the file exists, the file continued
 * at m's state (every == 0 then takes the interval from the file; with no
 * file and every == 0 there is nothing to do: *active = 0).  Records are
 * scored on the first eval_n images of eval (NULL: none).  Prints the
 * plan (count, size) unless quiet; refuses a plan over 1 GB with a hint.
 * Returns an exit code (EXIT_OK on success). */
int train_snap_open(train_snap *t, const dl_model *m, const char *out, int resume, dl_snap_unit unit,
                    uint32_t every, int epochs, const dl_dataset *eval, size_t eval_n, int threads, int quiet,
                    int *active);

/* The step hook for dl_train (ctx = the train_snap). */
dl_status train_snap_step(const dl_net *net, const dl_train_state *s, const dl_scorer *sc, void *ctx, dl_err *e);

/* At a normal end: the final record when it is off the grid; then closes. */
dl_status train_snap_finish(train_snap *t, const dl_model *m, dl_err *e);

/* Makes what was appended durable (before the model is saved). */
dl_status train_snap_sync(train_snap *t, dl_err *e);

/* Prints what the snapshots cost: "snapshots: N in FILE (SIZE), S s of
 * the T s of training (P% on top of training alone)". */
void train_snap_report(const train_snap *t, double training_seconds);

/* Closes without a final record (interrupted or failed runs). */
void train_snap_close(train_snap *t);

#endif
