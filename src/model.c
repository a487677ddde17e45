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
#include <zlib.h>

#include "digitlens/fileio.h"

#include "buf.h"
#include "bytes.h"

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

int dl_model_has_init(const dl_model *m)
{
    return memcmp(m->init_params, m->net->params, m->net->nparams * sizeof(float)) != 0;
}

double dl_model_last_accuracy(const dl_model *m)
{
    if (m->nhistory == 0) return -1.0;
    const dl_epoch_stat *s = &m->history[m->nhistory - 1];
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
    for (size_t i = 0; i < n; i++) put_f32(b, f[i]);
}

dl_status dl_model_encode(const dl_model *m, unsigned char **out, size_t *len, dl_err *e)
{
    const dl_net *n = m->net;
    dl_buf b = {0};
    dl_buf_append(&b, MAGIC, 8);
    put_u32(&b, DL_MODEL_VERSION);
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
    put_u32(&b, m->nhistory);
    for (uint32_t i = 0; i < m->nhistory; i++) {
        put_u32(&b, m->history[i].correct);
        put_u32(&b, m->history[i].total);
        put_f32(&b, m->history[i].cost);
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
    put_f32s(&b, n->params, n->nparams);
    put_f32s(&b, m->init_params, n->nparams);
    if (!b.oom) put_u32(&b, (uint32_t)crc32_z(0L, (const unsigned char *)b.p, b.n));
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
    if ((uint32_t)crc32_z(0L, data, len - 4) != want)
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
    if (cost > DL_COST_CROSS_ENTROPY || init > DL_INIT_NORMAL) {
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
    uint32_t nh = get_u32(&c);
    if (c.short_read) { st = TRUNC("header"); goto fail; }
    if (nh > DL_MODEL_MAX_EPOCHS || (size_t)nh * 12 > left(&c)) { st = TRUNC("history"); goto fail; }
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
        if (m->history[i].correct > m->history[i].total) {
            st = BAD_STATE("epoch %u scored %u of %u", i + 1, m->history[i].correct, m->history[i].total);
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
    for (size_t i = 0; i < P; i++) m->net->params[i] = get_f32(&c);
    for (size_t i = 0; i < P; i++) m->init_params[i] = get_f32(&c);
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
