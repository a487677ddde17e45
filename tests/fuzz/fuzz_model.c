/*
 * fuzz_model.c — libFuzzer harness for the .dlm model decoder, and for
 * what the picture commands do with a model once it has loaded.
 *
 * Every input is decoded twice: as it is, and with its last four bytes
 * replaced by the right CRC-32.  Without the second pass almost every
 * mutation would stop at "checksum mismatch" and the parser behind it
 * would go unexplored; a hostile file can of course carry a valid CRC.
 *
 * A model that loads must survive: encoding and decoding again, a forward
 * pass and an input gradient through its activations, and (when small
 * enough to be quick) the weight picture, the weight
 * grid, the activation and heatmap pictures, class templates and PNG
 * encoding of a picture, the explorer's page, with the arbitrary floats
 * (NaN, infinities, huge values) such a file may hold.  A small one is also
 * resumed for one more epoch, as `train --resume` would, on made-up data of
 * the size its training state names: every field that indexes (epoch,
 * position, shuffle) has to have been checked at load.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "digitlens/explore.h"
#include "digitlens/model.h"
#include "digitlens/png.h"
#include "digitlens/train.h"
#include "digitlens/viz.h"
#include "digitlens/viz_contrib.h"

#include "fuzz_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void draw(const dl_canvas *c)
{
    if (!c) return;
    unsigned char *png = NULL;
    size_t len = 0;
    dl_err e;
    if (dl_png_encode(c, &png, &len, &e) == DL_OK && (len < 8 || png[1] != 'P')) abort();
    free(png);
}

/* What cmd_train does with a loaded model before dl_train, then one epoch. */
static void resume(dl_model *m)
{
    const dl_net *n = m->net;
    if (m->batch == 0 || m->ntrain == 0 || m->ntrain > 64 || n->nparams > 20000) return;
    dl_err e;
    dl_dataset *d = dl_dataset_new(m->ntrain, m->rows, m->cols, &e);
    if (!d) abort();
    for (size_t i = 0; i < d->n; i++) {
        d->labels[i] = (uint8_t)(i % (size_t)m->nclasses);
        for (size_t k = 0; k < d->npix; k++) d->pixels[i * d->npix + k] = (uint8_t)(i * 37 + k * 11);
    }
    if (m->state.pos == 0 && dl_train_state_set_n(&m->state, (uint32_t)d->n, &e) != DL_OK) abort();
    if (m->state.n != d->n) abort(); /* the loader promised a shuffle of ntrain images */
    int epochs = (int)m->state.epoch + 1;
    if (dl_model_reserve_history(m, (uint32_t)epochs, &e) != DL_OK) abort();
    /* The model's own chapter 3 settings too (the loader checked them). */
    dl_train_opts o = {.epochs = epochs, .batch = (int)m->batch, .eta = m->eta > 0 ? m->eta : 1.0f,
                       .lambda = m->lambda, .cost = m->cost, .threads = 1, .kernel = DL_KERNEL_FAST,
                       .momentum = m->momentum, .dropout = m->dropout, .early_stop = (int)m->early_stop,
                       .halve_after = (int)m->halve_after};
    /* Early stopping and the schedule judge epochs by an evaluation set. */
    const dl_dataset *eval = o.early_stop || o.halve_after ? d : NULL;
    dl_status st = dl_train(m->net, d, eval, &o, &m->state, m->history, NULL, NULL, &e);
    if (st != DL_OK && bad_message(&e, st)) abort();
    dl_dataset_free(d);
}

static void exercise(const dl_model *m)
{
    const dl_net *n = m->net;
    int L = n->nlayers, np = n->sizes[0];
    if (m->rows * m->cols != np || m->nclasses != n->sizes[L - 1]) abort();
    dl_err e;

    /* Round trip: what decoded must encode, and decode again. */
    unsigned char *buf = NULL;
    size_t len = 0;
    if (dl_model_encode(m, &buf, &len, &e) != DL_OK) abort();
    dl_model *again = NULL;
    if (dl_model_decode(buf, len, "again", &again, &e) != DL_OK) abort();
    if (again->net->nparams != n->nparams ||
        memcmp(again->net->params, n->params, n->nparams * sizeof(float)) != 0)
        abort();
    dl_model_free(again);
    free(buf);

    float *x = malloc((size_t)np * sizeof *x);
    if (!x) abort();
    for (int i = 0; i < np; i++) x[i] = (float)(i % 7) / 6.0f;
    dl_trace *t = dl_trace_new(n, &e);
    if (!t) abort();
    const float *a = dl_net_forward(n, x, t);
    int best = dl_argmax(a, n->sizes[L - 1]);
    if (best < 0 || best >= n->sizes[L - 1]) abort();
    /* The backward pass through whatever activations the file names
     * (a softmax output through its Jacobian). */
    float *gx = malloc((size_t)np * sizeof *gx);
    if (!gx) abort();
    dl_net_input_gradient(n, t, L - 1, best, gx);
    free(gx);
    dl_trace_free(t);

    /* Pictures cost time in proportion to the model; keep the fuzzer fast. */
    if (n->nparams <= 20000 && m->rows <= 64 && m->cols <= 64) {
        dl_viz_style st = {NULL, 1};
        dl_canvas *c = dl_viz_weight_picture(m, 1, 0, 0, 0.0f, &st, &e);
        draw(c);
        dl_canvas_free(c);
        c = dl_viz_weight_picture(m, L - 1, n->sizes[L - 1] - 1, 1, dl_viz_layer_limit(m, L - 1, 1), &st, &e);
        dl_canvas_free(c);
        if (n->sizes[1] <= 64) {
            c = dl_viz_weight_grid(m, 1, 0, 0, &st, &e);
            dl_canvas_free(c);
            c = dl_viz_weight_grid(m, L - 1, 1, 1, &st, &e);
            dl_canvas_free(c);
        }
        c = dl_viz_activation_picture(m, x, &st, &e);
        draw(c);
        dl_canvas_free(c);
        int cls = L == 3 ? 0 : -1;
        int neuron = cls >= 0 ? dl_viz_top_hidden_for_class(n, 0, 1) : 0;
        if (neuron >= 0) {
            c = dl_viz_heatmap_picture(m, neuron, cls, x, &st, &e);
            dl_canvas_free(c);
        }
        if (L >= 3) { /* the hidden votes (and conductance) of whatever loaded, and their picture */
            dl_contrib_opts co = {n->sizes[L - 1] > 1 ? 1 : -1, L > 3 ? 8 : 0, NULL};
            dl_contrib *v = dl_contrib_compute(n, 0, x, &co, &e);
            if (!v) abort();
            c = dl_viz_contrib_picture(m, x, v, 2, "votes", &st, &e);
            draw(c);
            dl_canvas_free(c);
            dl_contrib_free(v);
        }
        { /* the explorer's page: written whole, or refused with a message */
            char *html = NULL;
            size_t hl = 0;
            dl_status ps = dl_explore_page(m, NULL, &html, &hl, NULL, &e);
            if (ps == DL_OK ? !html || strlen(html) != hl : html != NULL || bad_message(&e, ps)) abort();
            free(html);
        }
        int K = n->sizes[L - 1] < 4 ? n->sizes[L - 1] : 4;
        float *maps = malloc((size_t)K * np * sizeof *maps);
        if (!maps) abort();
        const char *titles[4] = {"0", "1", "2", "3"};
        for (int k = 0; k < K; k++)
            if (dl_viz_template_map(n, k, maps + (size_t)k * np, &e) != DL_OK) abort();
        c = dl_viz_map_row(maps, K, m->cols, m->rows, titles, "templates", &st, &e);
        dl_canvas_free(c);
        free(maps);
    }
    free(x);
}

static void one(const uint8_t *data, size_t size)
{
    dl_model *m = NULL;
    dl_err e;
    dl_status st = dl_model_decode(data, size, "fuzz.dlm", &m, &e);
    if (st == DL_OK) {
        if (!m) abort();
        exercise(m);
        resume(m);
        dl_model_free(m);
    } else if (m || bad_message(&e, st)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    if (size < 16) return 0;
    uint8_t *copy = malloc(size);
    if (!copy) abort();
    memcpy(copy, data, size);
    uint32_t crc = (uint32_t)crc32_z(0L, copy, size - 4);
    copy[size - 4] = (uint8_t)crc;
    copy[size - 3] = (uint8_t)(crc >> 8);
    copy[size - 2] = (uint8_t)(crc >> 16);
    copy[size - 1] = (uint8_t)(crc >> 24);
    if (memcmp(copy, data, size) != 0) one(copy, size);
    free(copy);
    return 0;
}
