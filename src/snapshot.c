/*
 * snapshot.c — the snapshot file (format and safety contract in
 * snapshot.h): encoding a header and records, parsing a file with every
 * count checked before use, and a writer that appends in place.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* pwritev */
#define _GNU_SOURCE     /* sync_file_range */
#include "digitlens/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "digitlens/fileio.h"

#include "bytes.h"
#include "crc32.h"

/* Where the file's byte order is the machine's (DL_LITTLE_ENDIAN),
 * parameters are written and read as they lie in memory, without a copy
 * (training waits for a snapshot). */

static const unsigned char MAGIC[8] = {'D', 'L', 'S', 'N', 'A', 'P', 'S', 0};
static const unsigned char TAG[4] = {'S', 'N', 'A', 'P'};
enum { REC_HEAD = 36 }; /* tag, index, step, epoch, pos, correct, total, cost */
#define WRITE_AHEAD (2u << 20) /* bytes (dl_snapshot_write_params) */

dl_status dl_snapshot_path(const char *model, char *buf, size_t cap, dl_err *e)
{
    size_t n = strlen(model);
    if (n >= 4 && strcmp(model + n - 4, ".dlm") == 0) n -= 4;
    if (n + sizeof ".snapshots" > cap) return dl_err_set(e, DL_ELIMIT, "%s: path too long", model);
    memcpy(buf, model, n);
    memcpy(buf + n, ".snapshots", sizeof ".snapshots");
    return DL_OK;
}

uint64_t dl_snapshot_steps_per_epoch(const dl_snapshot_header *h)
{
    return h->batch ? ((uint64_t)h->ntrain + h->batch - 1) / h->batch : 0;
}

uint64_t dl_snapshot_grid(const dl_snapshot_header *h)
{
    return h->unit == DL_SNAP_EPOCHS ? (uint64_t)h->every * dl_snapshot_steps_per_epoch(h) : h->every;
}

size_t dl_snapshot_nparams(const dl_snapshot_header *h)
{
    size_t P = 0;
    for (int l = 1; l < h->nlayers; l++) P += (size_t)h->sizes[l] * h->sizes[l - 1] + (size_t)h->sizes[l];
    return P;
}

size_t dl_snapshot_header_bytes(const dl_snapshot_header *h)
{
    return 8 + 4 + 4 + 4 * (size_t)h->nlayers + 4 * 9 + 8 + 4;
}

size_t dl_snapshot_record_bytes(const dl_snapshot_header *h)
{
    return REC_HEAD + 4 * dl_snapshot_nparams(h) + 4;
}

uint64_t dl_snapshot_plan_bytes(const dl_snapshot_header *h, uint64_t steps, uint64_t *count)
{
    uint64_t grid = dl_snapshot_grid(h), n = 1;
    if (grid > 0) n += steps / grid + (steps % grid != 0);
    if (count) *count = n;
    return dl_snapshot_header_bytes(h) + n * dl_snapshot_record_bytes(h);
}

/* --- encoding ------------------------------------------------------------ */

static unsigned char *put32(unsigned char *p, uint32_t v)
{
    dl_put_le32(p, v);
    return p + 4;
}

static unsigned char *put64(unsigned char *p, uint64_t v)
{
    p = put32(p, (uint32_t)v);
    return put32(p, (uint32_t)(v >> 32));
}

static unsigned char *putf(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    return put32(p, v);
}

/* buf [dl_snapshot_header_bytes(h)] */
static void encode_header(const dl_snapshot_header *h, unsigned char *buf)
{
    unsigned char *p = buf;
    memcpy(p, MAGIC, 8);
    p = put32(p + 8, DL_SNAPSHOT_VERSION);
    p = put32(p, (uint32_t)h->nlayers);
    for (int l = 0; l < h->nlayers; l++) p = put32(p, (uint32_t)h->sizes[l]);
    p = put32(p, (uint32_t)h->rows);
    p = put32(p, (uint32_t)h->cols);
    p = put32(p, (uint32_t)h->unit);
    p = put32(p, h->every);
    p = put32(p, h->batch);
    p = put32(p, h->ntrain);
    p = put32(p, h->eval_n);
    p = put32(p, h->init);
    p = put64(p, h->seed);
    p = put32(p, h->data_fingerprint);
    put32(p, dl_crc32(0, buf, (size_t)(p - buf)));
}

/* A record's fields before its parameters, buf [REC_HEAD]. */
static void encode_head(size_t index, const dl_snapshot_meta *m, unsigned char *buf)
{
    unsigned char *p = buf;
    memcpy(p, TAG, 4);
    p = put32(p + 4, (uint32_t)index);
    p = put64(p, m->step);
    p = put32(p, m->epoch);
    p = put32(p, m->pos);
    p = put32(p, m->correct);
    p = put32(p, m->total);
    putf(p, m->cost);
}

/* buf [dl_snapshot_record_bytes(h)] */
static void encode_record(const dl_snapshot_header *h, size_t index, const dl_snapshot_meta *m,
                          const float *params, unsigned char *buf)
{
    size_t P = dl_snapshot_nparams(h);
    encode_head(index, m, buf);
    unsigned char *p = buf + REC_HEAD;
#if DL_LITTLE_ENDIAN
    memcpy(p, params, 4 * P);
    p += 4 * P;
#else
    for (size_t i = 0; i < P; i++) p = putf(p, params[i]);
#endif
    put32(p, dl_crc32(0, buf, (size_t)(p - buf)));
}

/* --- decoding ------------------------------------------------------------ */

static float getf(const unsigned char *p)
{
    uint32_t v = dl_get_le32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)dl_get_le32(p) | ((uint64_t)dl_get_le32(p + 4) << 32);
}

/* The header at buf (len bytes available) into *h; *hlen its size. */
static dl_status decode_header(const unsigned char *buf, size_t len, const char *name,
                               dl_snapshot_header *h, size_t *hlen, dl_err *e)
{
    memset(h, 0, sizeof *h);
    if (len < 8 || memcmp(buf, MAGIC, 8) != 0)
        return dl_err_set(e, DL_EFORMAT, "%s: not a digitlens snapshot file (bad magic; expected "
                          "MODEL.snapshots written by 'digitlens train --snapshot-every')", name);
    if (len < 16) return dl_err_set(e, DL_EFORMAT, "%s: truncated snapshot file (ends inside the header)", name);
    uint32_t version = dl_get_le32(buf + 8), nl = dl_get_le32(buf + 12);
    if (version == 0 || version > DL_SNAPSHOT_VERSION)
        return dl_err_set(e, DL_EFORMAT, "%s: snapshot format version %u is newer than this digitlens "
                          "reads (%u; upgrade digitlens)", name, version, DL_SNAPSHOT_VERSION);
    if (nl < 2 || nl > DL_MAX_LAYERS)
        return dl_err_set(e, DL_EFORMAT, "%s: %u layers is impossible (2..%d)", name, nl, DL_MAX_LAYERS);
    h->nlayers = (int)nl;
    *hlen = dl_snapshot_header_bytes(h);
    if (len < *hlen) return dl_err_set(e, DL_EFORMAT, "%s: truncated snapshot file (ends inside the header)", name);
    if (dl_crc32(0, buf, *hlen - 4) != dl_get_le32(buf + *hlen - 4))
        return dl_err_set(e, DL_EFORMAT, "%s: header checksum mismatch (the file is damaged)", name);
    const unsigned char *p = buf + 16;
    for (uint32_t l = 0; l < nl; l++, p += 4) {
        uint32_t s = dl_get_le32(p);
        h->sizes[l] = s > DL_MAX_WIDTH ? -1 : (int)s;
    }
    dl_err sub;
    if (dl_net_check_sizes(h->nlayers, h->sizes, &sub) != DL_OK)
        return dl_err_set(e, DL_EFORMAT, "%s: impossible layer sizes (%s)", name, sub.msg);
    uint32_t rows = dl_get_le32(p), cols = dl_get_le32(p + 4), unit = dl_get_le32(p + 8);
    if (rows == 0 || cols == 0 || (uint64_t)rows * cols != (uint64_t)h->sizes[0])
        return dl_err_set(e, DL_EFORMAT, "%s: input shape %ux%u does not match %d inputs", name, rows, cols,
                          h->sizes[0]);
    h->rows = (int)rows;
    h->cols = (int)cols;
    h->every = dl_get_le32(p + 12);
    h->batch = dl_get_le32(p + 16);
    h->ntrain = dl_get_le32(p + 20);
    h->eval_n = dl_get_le32(p + 24);
    h->init = dl_get_le32(p + 28);
    h->seed = get64(p + 32);
    h->data_fingerprint = dl_get_le32(p + 40);
    if (unit > DL_SNAP_EPOCHS || h->every == 0 || h->batch == 0 || h->ntrain == 0 || h->init > DL_INIT_NORMAL)
        return dl_err_set(e, DL_EFORMAT, "%s: impossible header (unit %u, every %u, batch %u, %u training "
                          "images, init %u)", name, unit, h->every, h->batch, h->ntrain, h->init);
    h->unit = (dl_snap_unit)unit;
    return DL_OK;
}

/* Checks record i at p; fills *m.  Returns 0 when it is sound. */
static int check_record(const dl_snapshot_header *h, const unsigned char *p, size_t rlen, size_t i,
                        uint64_t prev_step, dl_snapshot_meta *m, const char **why)
{
    if (memcmp(p, TAG, 4) != 0) return *why = "bad record tag", 1;
    if (dl_crc32(0, p, rlen - 4) != dl_get_le32(p + rlen - 4)) return *why = "checksum mismatch", 1;
    m->step = get64(p + 8);
    m->epoch = dl_get_le32(p + 16);
    m->pos = dl_get_le32(p + 20);
    m->correct = dl_get_le32(p + 24);
    m->total = dl_get_le32(p + 28);
    m->cost = getf(p + 32);
    uint64_t spe = dl_snapshot_steps_per_epoch(h);
    if (dl_get_le32(p + 4) != (uint32_t)i) return *why = "records out of order", 1;
    if (i == 0 ? m->step != 0 : m->step <= prev_step) return *why = "steps do not increase", 1;
    if (m->pos > h->ntrain || m->correct > m->total || m->total > h->eval_n ||
        m->step != (uint64_t)m->epoch * spe + (m->pos + (uint64_t)h->batch - 1) / h->batch)
        return *why = "impossible step, position or accuracy", 1;
    return 0;
}

dl_status dl_snapshots_decode(const unsigned char *buf, size_t len, const char *name,
                              dl_snapshots **out, dl_err *e)
{
    *out = NULL;
    dl_snapshot_header h;
    size_t hlen = 0;
    dl_status st = decode_header(buf, len, name, &h, &hlen, e);
    if (st != DL_OK) return st;
    size_t rlen = dl_snapshot_record_bytes(&h), count = (len - hlen) / rlen;
    int torn = (len - hlen) % rlen != 0;
    if (count == 0)
        return dl_err_set(e, DL_EFORMAT, "%s: truncated snapshot file (no complete snapshot after the "
                          "header; %zu bytes, one snapshot needs %zu)", name, len - hlen, rlen);
    dl_snapshots *s = calloc(1, sizeof *s);
    if (s) s->meta = malloc(count * sizeof *s->meta);
    if (!s || !s->meta) {
        free(s);
        return dl_err_set(e, DL_ENOMEM, "%s: out of memory for %zu snapshots", name, count);
    }
    s->h = h;
    s->nparams = dl_snapshot_nparams(&h);
    s->data = buf;
    uint64_t prev = 0;
    for (size_t i = 0; i < count; i++) {
        const char *why = NULL;
        if (check_record(&h, buf + hlen + i * rlen, rlen, i, prev, &s->meta[i], &why)) {
            /* Only the end of the file is where an interrupted write lands. */
            if (i > 0 && i + 1 == count && !torn) {
                count = i;
                torn = 1;
                break;
            }
            dl_snapshots_free(s);
            return dl_err_set(e, DL_EFORMAT, "%s: snapshot %zu of %zu is damaged (%s)", name, i + 1,
                              count, why);
        }
        prev = s->meta[i].step;
    }
    s->count = count;
    s->torn = torn;
    *out = s;
    return DL_OK;
}

dl_status dl_snapshots_load(const char *path, dl_snapshots **out, dl_err *e)
{
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    dl_status st = dl_file_read_all(path, (size_t)DL_SNAPSHOT_MAX_BYTES + (64u << 20), &buf, &len, e);
    if (st != DL_OK) return st;
    st = dl_snapshots_decode(buf, len, path, out, e);
    if (st != DL_OK) {
        free(buf);
        return st;
    }
    (*out)->owned = buf;
    return DL_OK;
}

void dl_snapshots_free(dl_snapshots *s)
{
    if (!s) return;
    free(s->meta);
    free(s->owned);
    free(s);
}

void dl_snapshots_params(const dl_snapshots *s, size_t i, float *params)
{
    const unsigned char *p =
        s->data + dl_snapshot_header_bytes(&s->h) + i * dl_snapshot_record_bytes(&s->h) + REC_HEAD;
#if DL_LITTLE_ENDIAN
    memcpy(params, p, 4 * s->nparams);
#else
    for (size_t k = 0; k < s->nparams; k++) params[k] = getf(p + 4 * k);
#endif
}

/* --- writing ------------------------------------------------------------- */

struct dl_snapshot_writer {
    int fd;
    char *path;
    dl_snapshot_header h;
    size_t count;
    uint64_t last;     /* step of the last record */
    uint64_t size;     /* bytes on disk: header + count records */
    uint64_t started;  /* where writing to disk was last started (dl_snapshot_write_params) */
    unsigned char *rec; /* [record bytes] scratch where the order is not the machine's, else NULL */
    /* An append begun and not yet ended (dl_snapshot_append_begin): its
     * parameters, the signals held meanwhile, and the parameters' part,
     * once written: their CRC and the errno of the write (0 when whole). */
    const float *pending;
    sigset_t held;
    atomic_int written, summed;
    uint32_t params_crc;
    int params_err;
};

static dl_snapshot_writer *writer_new(const char *path, const dl_snapshot_header *h, dl_err *e)
{
    dl_snapshot_writer *w = calloc(1, sizeof *w);
    size_t n = strlen(path) + 1;
    if (w) {
        w->fd = -1;
        w->h = *h;
        w->path = malloc(n);
        w->rec = DL_LITTLE_ENDIAN ? NULL : malloc(dl_snapshot_record_bytes(h));
    }
    if (!w || !w->path || (!DL_LITTLE_ENDIAN && !w->rec)) {
        if (w) free(w->path);
        free(w);
        dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    memcpy(w->path, path, n);
    return w;
}

static void writer_free(dl_snapshot_writer *w)
{
    if (w->fd >= 0) close(w->fd);
    free(w->path);
    free(w->rec);
    free(w);
}

static dl_snapshot_writer *writer_open_fd(dl_snapshot_writer *w, dl_err *e)
{
    w->fd = open(w->path, O_WRONLY);
    if (w->fd < 0) {
        dl_err_set(e, DL_EIO, "%s: cannot open for appending (%s)", w->path, strerror(errno));
        writer_free(w);
        return NULL;
    }
    return w;
}

dl_snapshot_writer *dl_snapshot_create(const char *path, const dl_snapshot_header *h,
                                       const dl_snapshot_meta *first, const float *params, dl_err *e)
{
    dl_snapshot_writer *w = writer_new(path, h, e);
    if (!w) return NULL;
    size_t hlen = dl_snapshot_header_bytes(h), rlen = dl_snapshot_record_bytes(h);
    unsigned char *buf = malloc(hlen + rlen);
    if (!buf) {
        dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
        writer_free(w);
        return NULL;
    }
    encode_header(h, buf);
    encode_record(h, 0, first, params, buf + hlen);
    if (dl_file_write_atomic_free(path, buf, hlen + rlen, e) != DL_OK) {
        writer_free(w);
        return NULL;
    }
    w->count = 1;
    w->last = first->step;
    w->size = hlen + rlen;
    return writer_open_fd(w, e);
}

/* The fields that make two headers the same run's (all of them). */
static int same_header(const dl_snapshot_header *a, const dl_snapshot_header *b)
{
    if (a->nlayers != b->nlayers) return 0;
    for (int l = 0; l < a->nlayers; l++)
        if (a->sizes[l] != b->sizes[l]) return 0;
    return a->rows == b->rows && a->cols == b->cols && a->unit == b->unit && a->every == b->every &&
           a->batch == b->batch && a->ntrain == b->ntrain && a->eval_n == b->eval_n && a->init == b->init &&
           a->seed == b->seed && a->data_fingerprint == b->data_fingerprint;
}

dl_snapshot_writer *dl_snapshot_continue(const char *path, const dl_snapshot_header *h,
                                         const float *init_params, uint64_t step, size_t *count,
                                         dl_err *e)
{
    dl_snapshots *s = NULL;
    if (dl_snapshots_load(path, &s, e) != DL_OK) return NULL;
    const char *why = NULL;
    if (!same_header(&s->h, h)) {
        why = s->h.unit != h->unit || s->h.every != h->every
                  ? "it was recorded at another --snapshot-every"
                  : "its network, data or seed differ from the model's";
    } else {
        /* Record 0 is the run's initial parameters: a cheap, exact identity. */
        float *p0 = malloc(s->nparams * sizeof *p0);
        if (!p0) {
            dl_snapshots_free(s);
            dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
            return NULL;
        }
        dl_snapshots_params(s, 0, p0);
        if (memcmp(p0, init_params, s->nparams * sizeof *p0) != 0) why = "its first snapshot is not the model's initial parameters";
        free(p0);
    }
    if (why) {
        dl_err_set(e, DL_EFORMAT, "%s: belongs to another training run (%s; move it away to start "
                   "the snapshots afresh, or resume with the options it was recorded with)", path, why);
        dl_snapshots_free(s);
        return NULL;
    }
    size_t keep = 0;
    uint64_t grid = dl_snapshot_grid(h);
    while (keep < s->count && s->meta[keep].step <= step) keep++;
    if (keep > 1 && s->meta[keep - 1].step == step && step % grid != 0) keep--;
    uint64_t last = keep ? s->meta[keep - 1].step : 0;
    dl_snapshots_free(s);
    dl_snapshot_writer *w = writer_new(path, h, e);
    if (!w || !(w = writer_open_fd(w, e))) return NULL;
    w->count = keep;
    w->last = last;
    w->size = dl_snapshot_header_bytes(h) + keep * dl_snapshot_record_bytes(h);
    if (ftruncate(w->fd, (off_t)w->size) != 0 || fsync(w->fd) != 0) {
        dl_err_set(e, DL_EIO, "%s: cannot cut back to %zu snapshots (%s)", path, keep, strerror(errno));
        writer_free(w);
        return NULL;
    }
    *count = keep;
    return w;
}

/* Writes the n pieces iov[0..n) at offset off, resuming after short
 * writes: 0, or the errno that stopped it (ENOSPC for a write of 0). */
static int pwrite_all(int fd, struct iovec *iov, int n, off_t off)
{
    while (n > 0) {
        ssize_t k = pwritev(fd, iov, n, off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? errno : ENOSPC;
        off += k;
        for (; n > 0 && (size_t)k >= iov->iov_len; iov++, n--) k -= (ssize_t)iov->iov_len;
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

void dl_snapshot_append_begin(dl_snapshot_writer *w, const float *params)
{
    /* Held from here to the end of the append: a Ctrl-C meanwhile is
     * delivered once the record is whole, or cut off again. */
    dl_signals_hold(&w->held);
    w->pending = params;
    atomic_store_explicit(&w->written, 0, memory_order_relaxed);
    atomic_store_explicit(&w->summed, 0, memory_order_relaxed);
}

void dl_snapshot_checksum_params(void *writer)
{
    dl_snapshot_writer *w = writer;
    w->params_crc = dl_crc32(0, w->pending, dl_snapshot_record_bytes(&w->h) - REC_HEAD - 4);
    /* Publishes the CRC to the thread that ends the append. */
    atomic_store_explicit(&w->summed, 1, memory_order_release);
}

void dl_snapshot_write_params(void *writer)
{
    dl_snapshot_writer *w = writer;
#if DL_LITTLE_ENDIAN
    /* Straight from the parameters, after the space for the record's head. */
    size_t pb = dl_snapshot_record_bytes(&w->h) - REC_HEAD - 4;
    struct iovec iov = {(void *)(uintptr_t)w->pending, pb};
    w->params_err = pwrite_all(w->fd, &iov, 1, (off_t)(w->size + REC_HEAD));
#ifdef SYNC_FILE_RANGE_WRITE
    /* Start writing the records to disk, without waiting, once WRITE_AHEAD
     * bytes are pending: the fsync before a model save (dl_snapshot_sync)
     * then finds little left, where it would otherwise wait for every record
     * since the last (about 1 ms per 300 KB record here: 9 ms for a 3-epoch
     * run's 31).  Started for a few records at once, this costs about 25 us
     * a record, against 40 us one by one. */
    uint64_t end = w->size + REC_HEAD + pb;
    if (!w->params_err && end - w->started >= WRITE_AHEAD) {
        sync_file_range(w->fd, (off_t)w->started, (off_t)(end - w->started), SYNC_FILE_RANGE_WRITE);
        w->started = w->size; /* this record's head and CRC are still to come */
    }
#endif
#else
    w->params_err = 0; /* the record is encoded whole at the end */
#endif
    /* Publishes err to the thread that ends the append. */
    atomic_store_explicit(&w->written, 1, memory_order_release);
}

dl_status dl_snapshot_append_end(dl_snapshot_writer *w, const dl_snapshot_meta *m, dl_err *e)
{
    size_t rlen = dl_snapshot_record_bytes(&w->h);
    /* The caller has joined whoever wrote and summed them; what nobody
     * did is done here. */
    if (!atomic_load_explicit(&w->written, memory_order_acquire)) dl_snapshot_write_params(w);
    int err = w->params_err;
#if DL_LITTLE_ENDIAN
    /* The head, and the CRC of head and parameters, combined from the
     * head's own and the parameters'. */
    unsigned char head[REC_HEAD], crc[4];
    encode_head(w->count, m, head);
    if (!atomic_load_explicit(&w->summed, memory_order_acquire)) dl_snapshot_checksum_params(w);
    dl_put_le32(crc, dl_crc32_combine(dl_crc32(0, head, REC_HEAD), w->params_crc, rlen - REC_HEAD - 4));
    struct iovec hv = {head, REC_HEAD}, cv = {crc, 4};
    if (!err) err = pwrite_all(w->fd, &hv, 1, (off_t)w->size);
    if (!err) err = pwrite_all(w->fd, &cv, 1, (off_t)(w->size + rlen - 4));
#else
    encode_record(&w->h, w->count, m, w->pending, w->rec);
    struct iovec iov[1] = {{w->rec, rlen}};
    err = pwrite_all(w->fd, iov, 1, (off_t)w->size);
#endif
    if (err) {
        /* Cut the partial record off again: the file ends at a record boundary. */
        if (ftruncate(w->fd, (off_t)w->size) != 0) { /* the reader will call it torn */ }
    } else {
        w->size += rlen;
        w->count++;
        w->last = m->step;
    }
    w->pending = NULL;
    dl_signals_release(&w->held);
    if (err)
        return dl_err_set(e, DL_EIO, "%s: cannot append snapshot %zu (%s; the %zu before it are kept)",
                          w->path, w->count + 1, strerror(err), w->count);
    return DL_OK;
}

void dl_snapshot_append_cancel(dl_snapshot_writer *w)
{
    if (atomic_load_explicit(&w->written, memory_order_acquire))
        if (ftruncate(w->fd, (off_t)w->size) != 0) { /* the reader will call it torn */ }
    w->pending = NULL;
    dl_signals_release(&w->held);
}

dl_status dl_snapshot_append(dl_snapshot_writer *w, const dl_snapshot_meta *m, const float *params,
                             dl_err *e)
{
    dl_snapshot_append_begin(w, params);
    return dl_snapshot_append_end(w, m, e);
}

dl_status dl_snapshot_sync(dl_snapshot_writer *w, dl_err *e)
{
    if (fsync(w->fd) != 0 && errno != EINVAL)
        return dl_err_set(e, DL_EIO, "%s: fsync failed (%s)", w->path, strerror(errno));
    return DL_OK;
}

size_t dl_snapshot_count(const dl_snapshot_writer *w) { return w->count; }

uint64_t dl_snapshot_last_step(const dl_snapshot_writer *w) { return w->last; }

uint64_t dl_snapshot_size(const dl_snapshot_writer *w) { return w->size; }

dl_status dl_snapshot_close(dl_snapshot_writer *w, dl_err *e)
{
    if (!w) return DL_OK;
    dl_status st = dl_snapshot_sync(w, e);
    if (close(w->fd) != 0 && st == DL_OK)
        st = dl_err_set(e, DL_EIO, "%s: close failed (%s)", w->path, strerror(errno));
    w->fd = -1;
    writer_free(w);
    return st;
}
