/*
 * snapshot.h — the parameters of a network at moments of its training, in a
 * file of their own beside the model (MODEL.snapshots), for films and
 * plots of how it learned.
 *
 * Format (version 1), all integers little-endian, floats IEEE-754 binary32.
 * A header, then fixed-size records appended one after another:
 *   header:  "DLSNAPS\0" (8 bytes), u32 version, u32 nlayers, u32 sizes[nlayers],
 *            u32 rows, u32 cols, u32 unit (0: every K mini-batches, 1: every K
 *            epochs), u32 every (K), u32 batch, u32 ntrain, u32 eval_n
 *            (evaluation subset size, 0: none), u32 init, u64 seed,
 *            u32 data_fingerprint, u32 CRC-32 of the header bytes before it
 *   record:  "SNAP" (4 bytes), u32 index (0, 1, ...), u64 step (mini-batches
 *            since training began), u32 epoch (epochs done), u32 pos
 *            (examples done in the current epoch), u32 correct, u32 total
 *            (on the evaluation subset), f32 cost (mean training cost so far
 *            in this epoch; NaN before the first mini-batch), f32 params[P]
 *            (layout of net.h), u32 CRC-32 of the record bytes before it
 * Record 0 is the initial parameters (step 0).
 *
 * Why this shape: snapshots arrive during training, so the file grows by
 * appending, and rewriting it whole each time would cost O(n^2).  Instead a
 * new file is born complete (header + record 0, written atomically through
 * fileio), and each later record is appended with signals held back (its
 * parameters, then its head and CRC: dl_snapshot_append_begin below); a
 * failed write (a full disk) is cut off again (ftruncate), so the
 * file on disk always ends at a record boundary.  A crash or power loss can
 * still leave a partial or unsynced last record: the reader recognises it
 * (too short, or a bad checksum on the very last record only) and ignores
 * it as "torn"; damage anywhere else is an error.  dl_snapshot_sync makes
 * what was appended durable; training calls it before each model save, so
 * a saved model never refers to snapshots that are not on disk.
 */
#ifndef DIGITLENS_SNAPSHOT_H
#define DIGITLENS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/err.h"
#include "digitlens/net.h"

#define DL_SNAPSHOT_VERSION 1u
#define DL_SNAPSHOT_MAX_BYTES 1000000000ull /* 1 GB: the most one run may write */

typedef enum dl_snap_unit { DL_SNAP_BATCHES = 0, DL_SNAP_EPOCHS = 1 } dl_snap_unit;

/* What the whole file shares. */
typedef struct dl_snapshot_header {
    int nlayers;
    int sizes[DL_MAX_LAYERS];
    int rows, cols;
    dl_snap_unit unit;
    uint32_t every;            /* K >= 1 */
    uint32_t batch, ntrain;    /* mini-batch size and training-set size: steps per epoch */
    uint32_t eval_n;
    uint32_t init;             /* dl_init of the run */
    uint64_t seed;
    uint32_t data_fingerprint; /* dl_dataset_fingerprint of the training data */
} dl_snapshot_header;

/* One record's figures (its parameters travel separately). */
typedef struct dl_snapshot_meta {
    uint64_t step;
    uint32_t epoch, pos;
    uint32_t correct, total;
    float cost;
} dl_snapshot_meta;

/* Where a model's snapshots live: the model's path with a ".dlm" ending
 * replaced by (or, without one, followed by) ".snapshots".  DL_ELIMIT
 * when it does not fit buf[cap]. */
dl_status dl_snapshot_path(const char *model, char *buf, size_t cap, dl_err *e);

/* Mini-batches per epoch: ceil(ntrain / batch). */
uint64_t dl_snapshot_steps_per_epoch(const dl_snapshot_header *h);

/* The mini-batch count at which the grid of h puts snapshots: every K
 * batches, or every K epochs' worth. */
uint64_t dl_snapshot_grid(const dl_snapshot_header *h);

/* The parameter count of h's layers. */
size_t dl_snapshot_nparams(const dl_snapshot_header *h);

/* Bytes of the header and of one record. */
size_t dl_snapshot_header_bytes(const dl_snapshot_header *h);
size_t dl_snapshot_record_bytes(const dl_snapshot_header *h);

/* The bytes a run of `steps` mini-batches will write: header plus record 0,
 * one per grid point, and the final one when it is off the grid. */
uint64_t dl_snapshot_plan_bytes(const dl_snapshot_header *h, uint64_t steps, uint64_t *count);

/* ---- reading ----------------------------------------------------------- */

typedef struct dl_snapshots {
    dl_snapshot_header h;
    size_t nparams;
    size_t count;              /* complete, valid records */
    dl_snapshot_meta *meta;    /* [count] */
    int torn;                  /* a partial or damaged last record was ignored */
    const unsigned char *data; /* the file's bytes (borrowed, or `owned`) */
    unsigned char *owned;
} dl_snapshots;

/* Parses a snapshot file in memory; *out borrows buf (keep it alive).
 * Checks magic, version, header CRC and sizes, then every record's tag,
 * index, step order and CRC.  name is used in messages. */
dl_status dl_snapshots_decode(const unsigned char *buf, size_t len, const char *name,
                              dl_snapshots **out, dl_err *e);

/* Reads and parses a file (up to DL_SNAPSHOT_MAX_BYTES plus slack). */
dl_status dl_snapshots_load(const char *path, dl_snapshots **out, dl_err *e);
void dl_snapshots_free(dl_snapshots *s);

/* The parameters of record i into params[nparams]. */
void dl_snapshots_params(const dl_snapshots *s, size_t i, float *params);

/* ---- writing ----------------------------------------------------------- */

typedef struct dl_snapshot_writer dl_snapshot_writer;

/* Starts path afresh: header h and record 0 (first, params) are written
 * atomically, replacing any older file only once complete. */
dl_snapshot_writer *dl_snapshot_create(const char *path, const dl_snapshot_header *h,
                                       const dl_snapshot_meta *first, const float *params,
                                       dl_err *e);

/* Continues an existing file for a run resumed at mini-batch `step`: its
 * header must equal h and its record 0 must hold init_params (else
 * DL_EFORMAT: the file is of another run); records after `step`, and a last
 * record at `step` that is off the grid (a finished run's final one), are
 * cut off, as is a torn tail, so that the file goes on exactly as an
 * uninterrupted run's would.  *count receives the records kept. */
dl_snapshot_writer *dl_snapshot_continue(const char *path, const dl_snapshot_header *h,
                                         const float *init_params, uint64_t step, size_t *count,
                                         dl_err *e);

/* Appends one record (see the contract above); on failure the file is as
 * it was before the call. */
dl_status dl_snapshot_append(dl_snapshot_writer *w, const dl_snapshot_meta *m, const float *params,
                             dl_err *e);

/* dl_snapshot_append in parts, so that the parameters can be written and
 * checksummed on other threads while the caller scores them (training
 * waits for its snapshots):
 *   dl_snapshot_append_begin(w, params)   holds signals until the end;
 *   dl_snapshot_write_params(w)           on any thread, at most once each,
 *   dl_snapshot_checksum_params(w)        at the same time if need be:
 *                                         write params where the record
 *                                         will hold them; their CRC-32;
 *   dl_snapshot_append_end(w, m, e)       after those threads are joined
 *                                         (what none did, it does itself):
 *                                         the record's head with m and its
 *                                         CRC; reports as
 *                                         dl_snapshot_append does.
 * params must not change until the end.  On failure the file is as it was
 * before _begin; until the end it may hold a partial record, which a
 * reader recognises as torn if the process dies meanwhile. */
void dl_snapshot_append_begin(dl_snapshot_writer *w, const float *params);
void dl_snapshot_write_params(void *w);
void dl_snapshot_checksum_params(void *w);
dl_status dl_snapshot_append_end(dl_snapshot_writer *w, const dl_snapshot_meta *m, dl_err *e);
/* Abandons an append begun (after joining any writer of its parameters):
 * the file is cut back as it was before it. */
void dl_snapshot_append_cancel(dl_snapshot_writer *w);

/* fsync: everything appended so far is durable. */
dl_status dl_snapshot_sync(dl_snapshot_writer *w, dl_err *e);

/* Records written so far, the step of the last one, and the file's size
 * in bytes. */
size_t dl_snapshot_count(const dl_snapshot_writer *w);
uint64_t dl_snapshot_last_step(const dl_snapshot_writer *w);
uint64_t dl_snapshot_size(const dl_snapshot_writer *w);

/* Syncs, closes and frees w (NULL is fine). */
dl_status dl_snapshot_close(dl_snapshot_writer *w, dl_err *e);

#endif
