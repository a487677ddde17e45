/*
 * model.c — .dlm encoding and decoding (format in model.h).
 *
 * Encoding writes into a growing byte buffer with explicit little-endian
 * helpers, so the bytes are the same on every machine.  Decoding reads
 * through a bounds-checked cursor: every count is checked against the
 * limits and against the bytes left before anything is allocated.
 */
#include "digitlens/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"

#include "buf.h"
#include "bytes.h"
#include "crc32.h"

static const unsigned char MAGIC[8] = {'D', 'L', 'M', 'O', 'D', 'E', 'L', 0};

dl_model *dl_model_new(int nlayers, const int *sizes, int rows, int cols, dl_err *e)
{
    if (rows < 1 || cols < 1 || nlayers < 1 || (long)rows * cols != sizes[0]) {
        dl_err_set(e, DL_EINVAL, "input shape %dx%d does not match an input layer of %d", rows, cols,
                   nlayers > 0 ? sizes[0] : 0);
        return NULL;
    }
    dl_model *m = calloc(1, sizeof *m);
    if (!m) {
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    m->net = dl_net_new(nlayers, sizes, e);
    if (!m->net) {
        free(m);
        return NULL;
    }
    m->init_params = calloc(m->net->nparams, sizeof(float));
    if (!m->init_params) {
        dl_model_free(m);
        dl_err_set(e, DL_ENOMEM, "out of memory");
        return NULL;
    }
    m->rows = rows;
    m->cols = cols;
    m->nclasses = sizes[nlayers - 1];
    for (int k = 0; k < m->nclasses && k < 256; k++) m->classes[k] = (uint8_t)k;
    return m;
}

void dl_model_free(dl_model *m)
{
    if (!m) return;
    dl_net_free(m->net);
    free(m->init_params);
    free(m->history);
    dl_train_state_free(&m->state);
    free(m);
}

dl_status dl_model_start(dl_model *m, dl_init init, uint64_t seed, const dl_dataset *train,
                         dl_err *e)
{
    if (train->n > UINT32_MAX) return dl_err_set(e, DL_ELIMIT, "too many training examples");
    dl_rng rng;
    dl_rng_seed(&rng, seed);
    dl_net_init(m->net, init, &rng);
    memcpy(m->init_params, m->net->params, m->net->nparams * sizeof(float));
    m->init = init;
    m->seed = seed;
    m->data_fingerprint = dl_dataset_fingerprint(train);
    m->ntrain = (uint32_t)train->n;
    dl_train_state_free(&m->state);
    return dl_train_state_init(&m->state, (uint32_t)train->n, &rng, e);
}

dl_status dl_model_reserve_history(dl_model *m, uint32_t n, dl_err *e)
{
    if (n <= m->nhistory && m->history) return DL_OK;
    dl_epoch_stat *h = realloc(m->history, (n ? n : 1) * sizeof *h);
    if (!h) return dl_err_set(e, DL_ENOMEM, "out of memory for %u epochs of history", n);
    if (n > m->nhistory) memset(h + m->nhistory, 0, (n - m->nhistory) * sizeof *h);
    m->history = h;
    return DL_OK;
}

dl_status dl_model_finish_import(dl_model *m, dl_err *e)
{
    memcpy(m->init_params, m->net->params, m->net->nparams * sizeof(float));
    dl_rng rng;
    dl_rng_seed(&rng, 0);
    dl_status st = dl_train_state_init(&m->state, 0, &rng, e);
    return st != DL_OK ? st : dl_model_reserve_history(m, 0, e);
}

uint32_t dl_model_params_epoch(const dl_model *m)
{
    const dl_train_state *s = &m->state;
    return s->kept_is_last && s->best_epoch <= m->nhistory ? s->best_epoch : m->nhistory;
}

int dl_model_has_init(const dl_model *m)
{
    return memcmp(m->init_params, m->net->params, m->net->nparams * sizeof(float)) != 0;
}

double dl_model_last_accuracy(const dl_model *m)
{
    uint32_t ep = dl_model_params_epoch(m);
    if (ep == 0) return -1.0;
    const dl_epoch_stat *s = &m->history[ep - 1];
    return s->total ? (double)s->correct / s->total : -1.0;
}

/* --- encoding ------------------------------------------------------------ */

static void put_u32(dl_buf *b, uint32_t v)
{
    unsigned char c[4];
    dl_put_le32(c, v);
    dl_buf_append(b, c, 4);
}

static void put_u64(dl_buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32(dl_buf *b, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(b, v);
}

static void put_f64(dl_buf *b, double f)
{
    uint64_t v;
    memcpy(&v, &f, 8);
    put_u64(b, v);
}

static void put_f32s(dl_buf *b, const float *f, size_t n)
{
#if DL_LITTLE_ENDIAN
    /* As put_f32 writes them one by one: the bytes as they lie in memory. */
    dl_buf_append(b, f, n * sizeof *f);
#else
    for (size_t i = 0; i < n; i++) put_f32(b, f[i]);
#endif
}

/* What a version 1 file cannot hold, or NULL. */
static const char *beyond_v1(const dl_model *m)
{
    if (!dl_net_all_sigmoid(m->net)) return "activations other than sigmoid";
    if ((int)m->cost < 0 || m->cost > DL_COST_CROSS_ENTROPY) return "the log-likelihood cost";
    if (m->momentum != 0.0f || m->state.velocity) return "momentum";
    if (m->dropout != 0.0f) return "dropout";
    if (m->early_stop || m->state.kept) return "early stopping";
    if (m->halve_after) return "an eta schedule";
    return NULL;
}

/* The optional parameter-sized arrays of the training state: u32 count
 * (0 or P), then the floats. */
static void put_array(dl_buf *b, const float *a, size_t P)
{
    put_u32(b, a ? (uint32_t)P : 0u);
    if (a) put_f32s(b, a, P);
}

dl_status dl_model_encode(const dl_model *m, unsigned char **out, size_t *len, dl_err *e)
{
    return dl_model_encode_version(m, DL_MODEL_VERSION, out, len, e);
}

dl_status dl_model_encode_version(const dl_model *m, uint32_t version, unsigned char **out, size_t *len,
                                  dl_err *e)
{
    const dl_net *n = m->net;
    *out = NULL;
    if (version < 1 || version > DL_MODEL_VERSION)
        return dl_err_set(e, DL_EINVAL, "no model format version %u (1..%u)", version, DL_MODEL_VERSION);
    const char *lack = version == 1 ? beyond_v1(m) : NULL;
    if (lack) return dl_err_set(e, DL_EINVAL, "model format version 1 cannot hold %s", lack);
    dl_buf b = {0};
    dl_buf_append(&b, MAGIC, 8);
    put_u32(&b, version);
    put_u32(&b, m->flags);
    put_u32(&b, (uint32_t)n->nlayers);
    for (int l = 0; l < n->nlayers; l++) put_u32(&b, (uint32_t)n->sizes[l]);
    put_u32(&b, (uint32_t)m->rows);
    put_u32(&b, (uint32_t)m->cols);
    put_u32(&b, (uint32_t)m->cost);
    put_u32(&b, (uint32_t)m->init);
    put_f32(&b, m->eta);
    put_f32(&b, m->lambda);
    put_u32(&b, m->batch);
    put_u64(&b, m->seed);
    put_u32(&b, m->epochs_planned);
    put_u32(&b, (uint32_t)m->nclasses);
    dl_buf_append(&b, m->classes, (size_t)m->nclasses);
    put_u32(&b, m->data_fingerprint);
    put_u32(&b, m->ntrain);
    if (version >= 2) {
        for (int l = 0; l + 1 < n->nlayers; l++) put_u32(&b, (uint32_t)n->act[l]);
        put_f32(&b, m->momentum);
        put_f32(&b, m->dropout);
        put_u32(&b, m->early_stop);
        put_u32(&b, m->halve_after);
    }
    put_u32(&b, m->nhistory);
    for (uint32_t i = 0; i < m->nhistory; i++) {
        put_u32(&b, m->history[i].correct);
        put_u32(&b, m->history[i].total);
        put_f32(&b, m->history[i].cost);
        if (version >= 2) put_f32(&b, m->history[i].eta);
    }
    const dl_train_state *s = &m->state;
    /* The shuffle order matters only mid-epoch; at a boundary the RNG recreates it. */
    uint32_t norder = (s->pos > 0 && s->order) ? s->n : 0;
    put_u32(&b, s->epoch);
    put_u32(&b, s->pos);
    put_f64(&b, s->cost_sum);
    put_u32(&b, norder);
    for (uint32_t i = 0; i < norder; i++) put_u32(&b, s->order[i]);
    for (int i = 0; i < 4; i++) put_u64(&b, s->rng.s[i]);
    put_f64(&b, s->rng.spare);
    put_u32(&b, (uint32_t)s->rng.has_spare);
    if (version >= 2) {
        put_f32(&b, s->eta);
        put_u32(&b, s->best_epoch);
        put_u32(&b, s->best_correct);
        put_u32(&b, s->stale);
        put_u32(&b, s->stopped);
        put_u64(&b, s->dropout_seed);
        put_u32(&b, s->kept_is_last);
        put_array(&b, s->velocity, n->nparams);
        put_array(&b, s->kept, n->nparams);
    }
    put_f32s(&b, n->params, n->nparams);
    put_f32s(&b, m->init_params, n->nparams);
    if (!b.oom) put_u32(&b, dl_crc32(0, b.p, b.n));
    *out = (unsigned char *)dl_buf_take(&b, len);
    if (!*out) return dl_err_set(e, DL_ENOMEM, "out of memory encoding the model");
    return DL_OK;
}

dl_status dl_model_save(const dl_model *m, const char *path, dl_err *e)
{
    unsigned char *p = NULL;
    size_t n = 0;
    dl_status st = dl_model_encode(m, &p, &n, e);
    return st != DL_OK ? st : dl_file_write_atomic_free(path, p, n, e);
}

/* --- decoding ------------------------------------------------------------ */

typedef struct cur {
    const unsigned char *p;
    size_t n, off;
    int short_read;
} cur;

static int take(cur *c, void *dst, size_t n)
{
    if (c->short_read || n > c->n - c->off) {
        c->short_read = 1;
        if (dst) memset(dst, 0, n);
        return 0;
    }
    if (dst) memcpy(dst, c->p + c->off, n);
    c->off += n;
    return 1;
}

static uint32_t get_u32(cur *c)
{
    unsigned char b[4];
    take(c, b, 4);
    return dl_get_le32(b);
}

static uint64_t get_u64(cur *c)
{
    uint64_t lo = get_u32(c);
    return lo | ((uint64_t)get_u32(c) << 32);
}

static float get_f32(cur *c)
{
    uint32_t v = get_u32(c);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static double get_f64(cur *c)
{
    uint64_t v = get_u64(c);
    double f;
    memcpy(&f, &v, 8);
    return f;
}

static size_t left(const cur *c) { return c->short_read ? 0 : c->n - c->off; }

/* n floats, as get_f32 reads them one by one (a model's parameters: 636 KB
 * for 784-100-10, read by every command, `classify` included). */
static void get_f32s(cur *c, float *dst, size_t n)
{
#if DL_LITTLE_ENDIAN
    take(c, dst, n * sizeof *dst);
#else
    for (size_t i = 0; i < n; i++) dst[i] = get_f32(c);
#endif
}

#define TRUNC(what) dl_err_set(e, DL_EFORMAT, "%s: truncated model file (ends inside the %s)", name, what)
#define BAD_STATE(...) bad_state(e, name, __VA_ARGS__)

/* "<file>: impossible training state (<what>; the file is damaged or was not
 * written by digitlens)": the CRC only proves the bytes are the writer's,
 * and a hostile writer can fix it up, so each field of the training state is
 * checked against the others before anything indexes with it. */
static dl_status bad_state(dl_err *e, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static dl_status bad_state(dl_err *e, const char *name, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dl_err_set(e, DL_EFORMAT, "%s: impossible training state (%s; the file is damaged or was not "
                      "written by digitlens)", name, what);
}

/* The settings and where training stands, against each other: resuming
 * indexes the history with the epoch, the shuffle with the position, and
 * the data with the shuffle.  A model that was never trained here (an
 * imported one: batch 0) must say so everywhere. */
static dl_status check_settings(const dl_model *m, const dl_train_state *s, uint32_t norder,
                                const char *name, dl_err *e)
{
    if (!isfinite(m->eta) || m->eta < 0.0f || !isfinite(m->lambda) || m->lambda < 0.0f)
        return BAD_STATE("learning rate %g, L2 strength %g", (double)m->eta, (double)m->lambda);
    if (m->batch > DL_MODEL_MAX_BATCH)
        return BAD_STATE("mini-batch of %u (at most %u)", m->batch, DL_MODEL_MAX_BATCH);
    if (m->ntrain > DL_DATASET_MAX_ITEMS)
        return BAD_STATE("%u training images (at most %u)", m->ntrain, DL_DATASET_MAX_ITEMS);
    if (s->epoch != m->nhistory)
        return BAD_STATE("%u epochs done but %u in the history", s->epoch, m->nhistory);
    if (s->epoch > m->epochs_planned)
        return BAD_STATE("%u epochs done of %u planned", s->epoch, m->epochs_planned);
    if (m->batch == 0 && (s->epoch || s->pos || m->ntrain || m->eta > 0.0f))
        return BAD_STATE("a mini-batch of 0 in a trained model");
    /* Version 2's options are training settings too (decoded before this). */
    if (m->batch == 0 && (m->momentum > 0.0f || m->dropout > 0.0f || m->early_stop || m->halve_after))
        return BAD_STATE("momentum, dropout, early stopping or a schedule with a mini-batch of 0");
    if (m->batch > 0 && !(m->eta > 0.0f))
        return BAD_STATE("learning rate %g", (double)m->eta);
    if (!isfinite(s->cost_sum) || s->cost_sum < 0.0)
        return BAD_STATE("summed cost %g", s->cost_sum);
    if (s->pos == 0 && norder == 0) return DL_OK;
    /* Mid-epoch: the shuffle of every training image, and a position inside it. */
    if (norder != m->ntrain)
        return BAD_STATE("a shuffle of %u images for %u training images", norder, m->ntrain);
    if (s->pos == 0 || s->pos >= norder)
        return BAD_STATE("position %u in an epoch of %u images", s->pos, norder);
    return DL_OK;
}

/* The saved shuffle must be a permutation of 0..n-1: an index out of range
 * reads outside the data, a repeated one trains on some images twice. */
static dl_status check_order(const uint32_t *order, uint32_t n, const char *name, dl_err *e)
{
    unsigned char *seen = calloc((size_t)n / 8 + 1, 1);
    if (!seen) return dl_err_set(e, DL_ENOMEM, "%s: out of memory", name);
    dl_status st = DL_OK;
    for (uint32_t i = 0; i < n && st == DL_OK; i++) {
        uint32_t k = order[i];
        if (k >= n) st = BAD_STATE("shuffle entry %u is image %u of %u", i, k, n);
        else if (seen[k / 8] & (1u << (k % 8))) st = BAD_STATE("image %u appears twice in the shuffle", k);
        else seen[k / 8] |= (unsigned char)(1u << (k % 8));
    }
    free(seen);
    return st;
}

#define BAD(...) dl_err_set(e, DL_EFORMAT, __VA_ARGS__)

/* Version 2's header fields: the activations and the training options,
 * each checked against what digitlens could have written. */
static dl_status decode_training_options(cur *c, dl_model *m, const char *name, dl_err *e)
{
    dl_net *n = m->net;
    for (int l = 0; l + 1 < n->nlayers; l++) {
        uint32_t a = get_u32(c);
        if (a >= DL_ACT_COUNT && !c->short_read) return BAD("%s: layer %d has an unknown activation %u", name, l + 1, a);
        n->act[l] = (dl_act)a;
    }
    m->momentum = get_f32(c);
    m->dropout = get_f32(c);
    m->early_stop = get_u32(c);
    m->halve_after = get_u32(c);
    if (c->short_read) return TRUNC("header");
    dl_err sub;
    if (dl_net_check_acts(n, &sub) != DL_OK) return BAD("%s: impossible activations (%s)", name, sub.msg);
    if (dl_net_check_cost(n, m->cost, &sub) != DL_OK) return BAD("%s: impossible cost (%s)", name, sub.msg);
    if (!(m->momentum >= 0.0f && m->momentum < 1.0f))
        return BAD("%s: momentum %g is impossible (0 <= mu < 1)", name, (double)m->momentum);
    if (!(m->dropout >= 0.0f && m->dropout < 1.0f))
        return BAD("%s: dropout %g is impossible (0 <= p < 1)", name, (double)m->dropout);
    if (m->early_stop > 1000000 || m->halve_after > 1000000)
        return BAD("%s: early-stop patience %u or schedule %u is impossible (at most 1000000)", name, m->early_stop,
                   m->halve_after);
    return DL_OK;
}

/* One optional parameter-sized array of the training state: a count of 0
 * (absent; *out stays NULL) or P, then the floats. */
static dl_status decode_array(cur *c, size_t P, int allowed, float **out, const char *what, const char *name,
                              dl_err *e)
{
    uint32_t k = get_u32(c);
    if (c->short_read) return TRUNC("training state");
    if (k == 0) return DL_OK;
    if (k != P || !allowed) return BAD_STATE("%s of %u values", what, k);
    if ((size_t)k * 4 > left(c)) return TRUNC("training state");
    float *a = malloc(P * sizeof(float));
    if (!a) return dl_err_set(e, DL_ENOMEM, "%s: out of memory", name);
    get_f32s(c, a, P);
    /* Resuming trains on from them: a NaN velocity makes every weight NaN,
     * a NaN kept parameter comes back when early stopping swaps. */
    for (size_t i = 0; i < P; i++)
        if (!isfinite(a[i])) {
            const char *bad = isnan(a[i]) ? "NaN" : "infinite";
            free(a);
            return BAD_STATE("%s value %zu is %s", what, i, bad);
        }
    *out = a;
    return DL_OK;
}

/* Version 2's training state after the RNG: the schedule, early stopping,
 * dropout's seed, momentum's velocity and the kept parameters. */
static dl_status decode_extra_state(cur *c, dl_model *m, size_t P, const char *name, dl_err *e)
{
    dl_train_state *s = &m->state;
    s->eta = get_f32(c);
    s->best_epoch = get_u32(c);
    s->best_correct = get_u32(c);
    s->stale = get_u32(c);
    s->stopped = get_u32(c);
    s->dropout_seed = get_u64(c);
    s->kept_is_last = get_u32(c);
    if (c->short_read) return TRUNC("training state");
    /* Only the schedule keeps an η of its own: the model's, halved. */
    if (!(s->eta == 0.0f || (s->eta > 0.0f && s->eta <= m->eta)) || (!m->halve_after && s->eta != 0.0f))
        return BAD_STATE("a scheduled learning rate %g with the model's %g%s", (double)s->eta, (double)m->eta,
                         m->halve_after ? "" : " and no schedule");
    int judged = m->early_stop || m->halve_after;
    if (s->best_epoch > s->epoch || s->best_epoch > m->nhistory || (!judged && s->best_epoch) ||
        (s->best_epoch ? s->best_correct != m->history[s->best_epoch - 1].correct : s->best_correct != 0) ||
        s->stale > s->epoch)
        return BAD_STATE("best epoch %u (%u correct, %u epochs stale) against %u epochs of history", s->best_epoch,
                         s->best_correct, s->stale, m->nhistory);
    if (s->stopped > DL_STOP_SCHEDULE || (s->stopped == DL_STOP_EARLY && !m->early_stop) ||
        (s->stopped == DL_STOP_SCHEDULE && !m->halve_after) || (s->stopped && s->pos))
        return BAD_STATE("stopped (%u) where it could not have", s->stopped);
    if (s->kept_is_last > 1 || (s->kept_is_last && !s->best_epoch))
        return BAD_STATE("kept parameters marked %u with best epoch %u", s->kept_is_last, s->best_epoch);
    dl_status st = decode_array(c, P, m->momentum > 0.0f, &s->velocity, "velocity", name, e);
    if (st == DL_OK) st = decode_array(c, P, m->early_stop > 0, &s->kept, "kept parameters", name, e);
    if (st != DL_OK) return st;
    if (s->kept_is_last && !s->kept) return BAD_STATE("kept parameters marked but missing");
    s->nparams = P;
    return DL_OK;
}

dl_status dl_model_decode(const unsigned char *data, size_t len, const char *name,
                          dl_model **out, dl_err *e)
{
    *out = NULL;
    cur c = {data, len, 0, 0};
    unsigned char magic[8];
    if (!take(&c, magic, 8) || memcmp(magic, MAGIC, 8) != 0)
        return dl_err_set(e, DL_EFORMAT, "%s: not a digitlens model (bad magic; expected a .dlm file "
                          "written by 'digitlens train')", name);
    uint32_t version = get_u32(&c);
    if (c.short_read) return TRUNC("header");
    if (version == 0 || version > DL_MODEL_VERSION)
        return dl_err_set(e, DL_EFORMAT, "%s: model format version %u is newer than this digitlens "
                          "reads (%u; upgrade digitlens)", name, version, DL_MODEL_VERSION);
    /* CRC before anything else: a damaged file gets one clear message. */
    if (len < 16) return TRUNC("header");
    uint32_t want = dl_get_le32(data + len - 4);
    uint32_t flags = get_u32(&c);
    uint32_t nl = get_u32(&c);
    if (c.short_read) return TRUNC("header");
    if (nl < 2 || nl > DL_MAX_LAYERS)
        return dl_err_set(e, DL_EFORMAT, "%s: %u layers is impossible (2..%d)", name, nl, DL_MAX_LAYERS);
    int sizes[DL_MAX_LAYERS];
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t s = get_u32(&c);
        sizes[l] = s > DL_MAX_WIDTH ? -1 : (int)s;
    }
    if (c.short_read) return TRUNC("header");
    dl_err sub;
    if (dl_net_check_sizes((int)nl, sizes, &sub) != DL_OK)
        return dl_err_set(e, DL_EFORMAT, "%s: impossible layer sizes (%s)", name, sub.msg);
    uint32_t rows = get_u32(&c), cols = get_u32(&c);
    if (c.short_read) return TRUNC("header");
    if (rows == 0 || cols == 0 || rows > DL_MAX_WIDTH || cols > DL_MAX_WIDTH ||
        (uint64_t)rows * cols != (uint64_t)sizes[0])
        return dl_err_set(e, DL_EFORMAT, "%s: input shape %ux%u does not match %d inputs", name, rows,
                          cols, sizes[0]);
    /* Whole-file size check before allocating the network. */
    size_t P = 0;
    for (uint32_t l = 1; l < nl; l++) P += (size_t)sizes[l] * sizes[l - 1] + (size_t)sizes[l];
    if (len - 4 < c.off || 8 * P > len - 4 - c.off)
        return dl_err_set(e, DL_EFORMAT, "%s: truncated model file (%zu bytes; the parameters alone "
                          "need %zu)", name, len, 8 * P);
    if (dl_crc32(0, data, len - 4) != want)
        return dl_err_set(e, DL_EFORMAT, "%s: checksum mismatch (the file is damaged; retrain or "
                          "restore it)", name);

    dl_model *m = dl_model_new((int)nl, sizes, (int)rows, (int)cols, e);
    if (!m) return e ? e->code : DL_ENOMEM;
    dl_status st = DL_OK;
    m->flags = flags;
    uint32_t cost = get_u32(&c), init = get_u32(&c);
    m->eta = get_f32(&c);
    m->lambda = get_f32(&c);
    m->batch = get_u32(&c);
    m->seed = get_u64(&c);
    m->epochs_planned = get_u32(&c);
    uint32_t nclasses = get_u32(&c);
    if (c.short_read) { st = TRUNC("header"); goto fail; }
    if (cost > (version >= 2 ? DL_COST_LOG_LIKELIHOOD : DL_COST_CROSS_ENTROPY) || init > DL_INIT_NORMAL) {
        st = dl_err_set(e, DL_EFORMAT, "%s: unknown cost %u or init %u", name, cost, init);
        goto fail;
    }
    m->cost = (dl_cost)cost;
    m->init = (dl_init)init;
    if (nclasses != (uint32_t)sizes[nl - 1] || nclasses > 256) {
        st = dl_err_set(e, DL_EFORMAT, "%s: %u class names for %d outputs", name, nclasses,
                        sizes[nl - 1]);
        goto fail;
    }
    m->nclasses = (int)nclasses;
    take(&c, m->classes, nclasses);
    for (uint32_t k = 0; k < nclasses && !c.short_read; k++)
        for (uint32_t j = 0; j < k; j++)
            if (m->classes[j] == m->classes[k]) {
                st = dl_err_set(e, DL_EFORMAT, "%s: outputs %u and %u both stand for label %u (the file is "
                                "damaged)", name, j, k, m->classes[k]);
                goto fail;
            }
    m->data_fingerprint = get_u32(&c);
    m->ntrain = get_u32(&c);
    if (version >= 2 && (st = decode_training_options(&c, m, name, e)) != DL_OK) goto fail;
    uint32_t nh = get_u32(&c);
    if (c.short_read) { st = TRUNC("header"); goto fail; }
    size_t per_epoch = version >= 2 ? 16 : 12;
    if (nh > DL_MODEL_MAX_EPOCHS || (size_t)nh * per_epoch > left(&c)) { st = TRUNC("history"); goto fail; }
    if (m->epochs_planned > DL_MODEL_MAX_EPOCHS) {
        st = BAD_STATE("%u epochs planned (at most %u)", m->epochs_planned, DL_MODEL_MAX_EPOCHS);
        goto fail;
    }
    uint32_t cap = nh > m->epochs_planned ? nh : m->epochs_planned;
    if ((st = dl_model_reserve_history(m, cap, e)) != DL_OK) goto fail;
    for (uint32_t i = 0; i < nh; i++) {
        m->history[i].correct = get_u32(&c);
        m->history[i].total = get_u32(&c);
        m->history[i].cost = get_f32(&c);
        /* Version 1 trained at one η throughout (0 stands for an impossible one). */
        m->history[i].eta = version >= 2 ? get_f32(&c) : (m->eta >= 0.0f && m->eta < INFINITY ? m->eta : 0.0f);
        if (m->history[i].correct > m->history[i].total) {
            st = BAD_STATE("epoch %u scored %u of %u", i + 1, m->history[i].correct, m->history[i].total);
            goto fail;
        }
        if (!(m->history[i].eta >= 0.0f && m->history[i].eta < INFINITY)) {
            st = dl_err_set(e, DL_EFORMAT, "%s: epoch %u's learning rate is impossible", name, i + 1);
            goto fail;
        }
    }
    m->nhistory = nh;
    dl_train_state *s = &m->state;
    s->epoch = get_u32(&c);
    s->pos = get_u32(&c);
    s->cost_sum = get_f64(&c);
    uint32_t norder = get_u32(&c);
    if (c.short_read || (size_t)norder * 4 > left(&c)) { st = TRUNC("training state"); goto fail; }
    if ((st = check_settings(m, s, norder, name, e)) != DL_OK) goto fail;
    if (norder) {
        s->order = malloc((size_t)norder * 4);
        if (!s->order) { st = dl_err_set(e, DL_ENOMEM, "%s: out of memory", name); goto fail; }
        for (uint32_t i = 0; i < norder; i++) s->order[i] = get_u32(&c);
        s->n = norder;
        if ((st = check_order(s->order, norder, name, e)) != DL_OK) goto fail;
    }
    for (int i = 0; i < 4; i++) s->rng.s[i] = get_u64(&c);
    s->rng.spare = get_f64(&c);
    uint32_t has_spare = get_u32(&c);
    s->rng.has_spare = has_spare ? 1 : 0;
    if (!c.short_read && ((s->rng.s[0] | s->rng.s[1] | s->rng.s[2] | s->rng.s[3]) == 0 || has_spare > 1 ||
                          !isfinite(s->rng.spare))) {
        /* xoshiro's all-zero state is a fixed point: every "random" number would be 0. */
        st = BAD_STATE("the random generator's state is impossible");
        goto fail;
    }
    if (version >= 2 && (st = decode_extra_state(&c, m, P, name, e)) != DL_OK) goto fail;
    get_f32s(&c, m->net->params, P);
    get_f32s(&c, m->init_params, P);
    if (c.short_read) { st = TRUNC("parameters"); goto fail; }
    /* A model whose training diverged before digitlens stopped it: every
     * answer it gave would be NaN. */
    for (size_t i = 0; i < 2 * P; i++) {
        float v = i < P ? m->net->params[i] : m->init_params[i - P];
        if (!isfinite(v)) {
            st = dl_err_set(e, DL_EFORMAT, "%s: %sparameter %zu is %s (training diverged; retrain with a smaller "
                            "--eta or --lambda)", name, i < P ? "" : "initial ", i < P ? i : i - P,
                            isnan(v) ? "NaN" : "infinite");
            goto fail;
        }
    }
    if (c.off != len - 4) {
        st = dl_err_set(e, DL_EFORMAT, "%s: %zu unexpected bytes before the checksum", name,
                        len - 4 - c.off);
        goto fail;
    }
    *out = m;
    return DL_OK;
fail:
    dl_model_free(m);
    return st;
}

dl_status dl_model_load(const char *path, dl_model **out, dl_err *e)
{
    unsigned char *data = NULL;
    size_t len = 0;
    *out = NULL;
    dl_status st = dl_file_read_all(path, DL_MODEL_MAX_BYTES, &data, &len, e);
    if (st != DL_OK) return st;
    if (len == 0) {
        free(data);
        return dl_err_set(e, DL_EFORMAT, "%s: empty file (not a digitlens model)", path);
    }
    st = dl_model_decode(data, len, path, out, e);
    free(data);
    return st;
}

dl_status dl_model_fit_data(const dl_model *m, const char *model, const char *images, const char *labels,
                            dl_dataset **d, dl_err *e)
{
    const dl_dataset *in = *d;
    if (in->rows != m->rows || in->cols != m->cols)
        return dl_err_set(e, DL_EFORMAT, "%s: images are %dx%d but %s expects %dx%d", images, in->rows, in->cols,
                          model, m->rows, m->cols);
    int identity = 1, classes[256];
    for (int k = 0; k < m->nclasses; k++) {
        classes[k] = m->classes[k];
        if (m->classes[k] != k) identity = 0;
    }
    /* A model over labels 0..K-1 scores every example: a label it cannot
     * output is a data error, not something to drop quietly.  A --digits
     * model (even --digits 0,1, whose classes look like 0..K-1) scores only
     * the examples of its classes. */
    if (identity && !(m->flags & DL_MODEL_SUBSET)) {
        char hint[300];
        snprintf(hint, sizeof hint, "%s knows labels 0..%d", model, m->nclasses - 1);
        return dl_dataset_check(in, m->net->sizes[0], m->nclasses, labels, hint, e);
    }
    dl_dataset *s = dl_dataset_select(in, classes, m->nclasses, e);
    if (!s) return e ? e->code : DL_ENOMEM;
    dl_dataset_free(*d);
    *d = s;
    return DL_OK;
}
