/* test_evolve.c — GIFs decode with their frames, size and palette; films
 * keep one colour scale; histograms are normalised; dead and duplicate
 * neurons are found on a hand-built model; the pruning curve and the
 * clustering order. */
#include <criterion/criterion.h>
#include <gif_lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/evolve.h"
#include "digitlens/gif.h"
#include "digitlens/rng.h"
#include "support/support.h"

TestSuite(evolve);

Test(evolve, a_gif_decodes_with_its_frames_size_palette_delay_and_exact_colours)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "film.gif");
    dl_rgb pal[256];
    int npal = dl_gif_palette_pictures(pal);
    cr_assert(npal > 200 && npal <= 256);
    dl_err e;
    dl_gif *g = dl_gif_new(40, 30, pal, npal, 12, &e);
    cr_assert_not_null(g, "%s", e.msg);
    for (int k = 0; k < 3; k++) {
        dl_canvas *c = dl_canvas_new(40, 30, pal[0], &e);
        /* Frame k: a block of palette colour 30 + k, and one colour not in the palette. */
        dl_canvas_fill_rect(c, 5 + k, 5, 10, 10, pal[30 + k]);
        dl_canvas_put(c, 0, 0, DL_RGB(250, 3, 251));
        cr_assert_eq(dl_gif_add(g, c, &e), DL_OK, "%s", e.msg);
        dl_canvas_free(c);
    }
    dl_canvas *wrong = dl_canvas_new(41, 30, pal[0], &e);
    cr_assert_eq(dl_gif_add(g, wrong, &e), DL_EINVAL);
    dl_canvas_free(wrong);
    cr_assert_eq(dl_gif_frames(g), 3);
    cr_assert_eq(dl_gif_finish(g, path, &e), DL_OK, "%s", e.msg);

    int err = 0;
    GifFileType *d = DGifOpenFileName(path, &err);
    cr_assert_not_null(d, "%s", GifErrorString(err));
    cr_assert_eq(DGifSlurp(d), GIF_OK);
    cr_assert_eq(d->ImageCount, 3);
    cr_assert_eq(d->SWidth, 40);
    cr_assert_eq(d->SHeight, 30);
    cr_assert_eq(d->SColorMap->ColorCount, 256);
    for (int i = 0; i < npal; i++) {
        GifColorType c = d->SColorMap->Colors[i];
        cr_assert(c.Red == pal[i].r && c.Green == pal[i].g && c.Blue == pal[i].b, "palette entry %d", i);
    }
    GraphicsControlBlock gcb;
    cr_assert_eq(DGifSavedExtensionToGCB(d, 2, &gcb), GIF_OK);
    cr_assert_eq(gcb.DelayTime, 12);
    for (int k = 0; k < 3; k++) {
        const GifByteType *r = d->SavedImages[k].RasterBits;
        cr_assert_eq(r[7 * 40 + 6 + k], 30 + k, "frame %d keeps its palette colour exactly", k);
        cr_assert_eq(r[20 * 40 + 30], 0);
        GifColorType c = d->SColorMap->Colors[r[0]];
        /* The stray colour went to its nearest entry: a pink-purple, not white. */
        cr_assert(c.Red > 100 && c.Blue > 100 && c.Green < 150, "%d %d %d", c.Red, c.Green, c.Blue);
    }
    DGifCloseFile(d, &err);
    free(path);
    free(dir);
}

Test(evolve, a_failed_gif_write_leaves_nothing)
{
    dl_rgb pal[2] = {{0, 0, 0}, {255, 255, 255}};
    dl_err e;
    dl_gif *g = dl_gif_new(4, 4, pal, 2, 10, &e);
    dl_canvas *c = dl_canvas_new(4, 4, pal[1], &e);
    cr_assert_eq(dl_gif_add(g, c, &e), DL_OK);
    dl_canvas_free(c);
    cr_assert_eq(dl_gif_finish(g, "/nonexistent-dir/x.gif", &e), DL_EIO);
    cr_assert(strstr(e.msg, "/nonexistent-dir/x.gif"), "%s", e.msg);
    cr_assert_null(dl_gif_new(0, 4, pal, 2, 10, &e));
    cr_assert_null(dl_gif_new(4, 4, pal, 257, 10, &e));
}

/* A snapshot set in memory: n records of a 4-3-2 network whose weights
 * grow with the record's index. */
static unsigned char *fake_snapshots(size_t n, size_t *len)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "s.snapshots");
    dl_snapshot_header h;
    memset(&h, 0, sizeof h);
    h.nlayers = 3;
    h.sizes[0] = 4;
    h.sizes[1] = 3;
    h.sizes[2] = 2;
    h.rows = h.cols = 2;
    h.every = 1;
    h.batch = 1;
    h.ntrain = 10;
    size_t P = dl_snapshot_nparams(&h);
    float *p = malloc(P * sizeof *p);
    dl_err e;
    dl_snapshot_writer *w = NULL;
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < P; i++) p[i] = (float)(k + 1) * ((i % 2) ? 0.5f : -0.25f);
        dl_snapshot_meta m = {k, (uint32_t)(k / 10), (uint32_t)(k % 10), 0, 0, 0.5f};
        if (!w) {
            w = dl_snapshot_create(path, &h, &m, p, &e);
            cr_assert_not_null(w, "%s", e.msg);
        } else {
            cr_assert_eq(dl_snapshot_append(w, &m, p, &e), DL_OK, "%s", e.msg);
        }
    }
    dl_snapshot_close(w, &e);
    free(p);
    unsigned char *raw = ts_read(path, len);
    free(path);
    free(dir);
    return raw;
}

Test(evolve, film_frames_are_one_size_with_one_colour_scale_and_picks_keep_both_ends)
{
    size_t len = 0;
    unsigned char *raw = fake_snapshots(9, &len);
    dl_snapshots *s = NULL;
    dl_err e;
    cr_assert_eq(dl_snapshots_decode(raw, len, "s", &s, &e), DL_OK, "%s", e.msg);
    size_t idx[16];
    cr_assert_eq(dl_film_pick(s, 4, idx), 4);
    cr_assert_eq(idx[0], 0);
    cr_assert_eq(idx[3], 8);
    cr_assert(idx[1] < idx[2] && idx[1] > 0 && idx[2] < 8);
    cr_assert_eq(dl_film_pick(s, 50, idx), 9);
    dl_film_opts o = {1, 0, NULL, 0, 4, NULL};
    dl_film f;
    cr_assert_eq(dl_film_init(&f, s, &o, idx, 9, &e), DL_OK, "%s", e.msg);
    /* The 99.5th percentile of |w| over all frames: the last frame's largest weight, 9 · 0.5. */
    cr_assert_float_eq(f.limit, 4.5f, 1e-6);
    int w = -1, h = -1;
    for (size_t k = 0; k < 9; k++) {
        dl_canvas *c = dl_film_frame(&f, k, 0, &e);
        cr_assert_not_null(c, "%s", e.msg);
        if (k == 0) w = c->w, h = c->h;
        cr_assert(c->w == w && c->h == h, "frame %zu is %dx%d, not %dx%d", k, c->w, c->h, w, h);
        dl_canvas_free(c);
    }
    dl_film_free(&f);
    int bad[1] = {3};
    dl_film_opts ob = {1, 0, bad, 1, 4, NULL};
    cr_assert_eq(dl_film_init(&f, s, &ob, idx, 9, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "--neurons 3 is out of range"), "%s", e.msg);
    dl_film_opts ol = {3, 0, NULL, 0, 4, NULL};
    cr_assert_eq(dl_film_init(&f, s, &ol, idx, 9, &e), DL_EINVAL);
    dl_snapshots_free(s);
    free(raw);
}

Test(evolve, histogram_rows_sum_to_one_and_huge_weights_saturate_every_unit)
{
    size_t len = 0;
    unsigned char *raw = fake_snapshots(5, &len);
    dl_snapshots *s = NULL;
    dl_err e;
    cr_assert_eq(dl_snapshots_decode(raw, len, "s", &s, &e), DL_OK, "%s", e.msg);
    dl_dataset *d = dl_dataset_new(20, 2, 2, &e);
    for (size_t i = 0; i < 80; i++) d->pixels[i] = (uint8_t)(255 * (i % 3 != 0));
    size_t idx[5] = {0, 1, 2, 3, 4};
    dl_histograms h;
    cr_assert_eq(dl_histograms_compute(s, idx, 5, d, 16, &h, &e), DL_OK, "%s", e.msg);
    cr_assert(h.has_act);
    for (int l = 0; l < h.nlayers; l++)
        for (size_t r = 0; r < h.nrows; r++) {
            double sw = 0, sa = 0;
            for (int b = 0; b < 16; b++) {
                sw += h.w[((size_t)l * h.nrows + r) * 16 + b];
                sa += h.act[((size_t)l * h.nrows + r) * 16 + b];
            }
            cr_assert_float_eq(sw, 1.0, 1e-5);
            cr_assert_float_eq(sa, 1.0, 1e-5);
        }
    /* Record 0's weights are ±0.25-ish: few saturate; record 4's are 5x larger. */
    cr_assert(h.saturated[h.nrows - 1] >= h.saturated[0]);
    dl_canvas *c = dl_histograms_picture(&h, NULL, &e);
    cr_assert_not_null(c, "%s", e.msg);
    dl_canvas_free(c);
    size_t n = 0;
    char *svg = dl_histograms_svg(&h, &n, &e);
    cr_assert_not_null(svg);
    cr_assert(strncmp(svg, "<svg", 4) == 0 && strstr(svg, "</svg>") && strlen(svg) == n);
    free(svg);
    dl_histograms_free(&h);
    dl_dataset_free(d);
    dl_snapshots_free(s);
    free(raw);
}

/* 16 inputs (4x4), 6 hidden, 3 outputs; neuron 2 is dead (no weights, a
 * bias of −30), neuron 5 is a copy of neuron 1. */
static dl_net *planted_net(void)
{
    int sizes[3] = {16, 6, 3};
    dl_err e;
    dl_net *n = dl_net_new(3, sizes, &e);
    dl_rng r;
    dl_rng_seed(&r, 7);
    for (size_t i = 0; i < n->nparams; i++) n->params[i] = 0.6f * (float)dl_rng_normal(&r);
    for (int k = 0; k < 16; k++) n->w[0][2 * 16 + k] = 0.0f;
    n->b[0][2] = -30.0f;
    memcpy(n->w[0] + 5 * 16, n->w[0] + 1 * 16, 16 * sizeof(float));
    n->b[0][5] = n->b[0][1];
    return n;
}

static dl_dataset *random_data(size_t count)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(count, 4, 4, &e);
    dl_rng r;
    dl_rng_seed(&r, 11);
    for (size_t i = 0; i < count * 16; i++) d->pixels[i] = (uint8_t)dl_rng_below(&r, 256);
    for (size_t i = 0; i < count; i++) d->labels[i] = (uint8_t)dl_rng_below(&r, 3);
    return d;
}

Test(evolve, a_planted_dead_neuron_and_a_planted_copy_are_found)
{
    dl_net *n = planted_net();
    dl_dataset *d = random_data(300);
    dl_health_opts o = dl_health_defaults();
    dl_neuron_health h;
    dl_err e;
    cr_assert_eq(dl_neuron_health_compute(n, d, 1, &o, &h, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(h.count, 6);
    cr_assert_eq(h.ndead, 1, "dead: %d", h.ndead);
    cr_assert_eq(h.dead[0], 2);
    cr_assert(h.saturated[2] == 1.0f && h.variance[2] < 1e-10f);
    int found = 0;
    for (int k = 0; k < h.ndups; k++) {
        cr_assert(h.dups[k].i < h.dups[k].j);
        cr_assert(h.dups[k].i != 2 && h.dups[k].j != 2, "a dead neuron has no correlation");
        if (h.dups[k].i == 1 && h.dups[k].j == 5) {
            found = 1;
            cr_assert_float_eq(h.dups[k].r, 1.0f, 1e-4);
            cr_assert_float_eq(h.dups[k].cosine, 1.0f, 1e-5);
        }
    }
    cr_assert(found, "the copy 1/5 was not reported");
    /* The pruning curve starts at the intact accuracy; removing the dead
     * neuron costs nothing, so it goes first or ties. */
    size_t correct = 0;
    dl_trace *t = dl_trace_new(n, &e);
    float x[16];
    for (size_t i = 0; i < d->n; i++) {
        dl_dataset_image(d, i, x);
        correct += dl_argmax(dl_net_forward(n, x, t), 3) == d->labels[i];
    }
    dl_trace_free(t);
    cr_assert_float_eq(h.pruning[0], (double)correct / d->n, 1e-12);
    cr_assert_float_eq(h.accuracy, h.pruning[0], 1e-12);
    int seen[6] = {0};
    for (int k = 0; k < 6; k++) seen[h.order[k]]++;
    for (int k = 0; k < 6; k++) cr_assert_eq(seen[k], 1, "the order is a permutation");
    cr_assert(h.pruning[1] >= h.pruning[0], "the dead neuron costs nothing, so the first removal costs nothing or helps");
    dl_neuron_health_free(&h);

    int order[6];
    cr_assert_eq(dl_neuron_cluster_order(n, d, 1, order, &e), DL_OK, "%s", e.msg);
    int p1 = -1, p5 = -1;
    for (int k = 0; k < 6; k++) {
        if (order[k] == 1) p1 = k;
        if (order[k] == 5) p5 = k;
    }
    cr_assert_eq(abs(p1 - p5), 1, "identical neurons sit side by side (%d, %d)", p1, p5);
    cr_assert_eq(dl_neuron_cluster_order(n, d, 2, order, &e), DL_EINVAL);
    dl_dataset_free(d);
    dl_net_free(n);
}

Test(evolve, pruning_everything_leaves_the_biases_vote)
{
    dl_net *n = planted_net();
    dl_dataset *d = random_data(200);
    dl_health_opts o = dl_health_defaults();
    dl_neuron_health h;
    dl_err e;
    cr_assert_eq(dl_neuron_health_compute(n, d, 1, &o, &h, &e), DL_OK, "%s", e.msg);
    /* With every hidden neuron removed, the output is σ(b2) for every example. */
    float out[3];
    for (int k = 0; k < 3; k++) out[k] = dl_sigmoid(n->b[1][k]);
    int guess = dl_argmax(out, 3);
    size_t c = 0;
    for (size_t i = 0; i < d->n; i++) c += d->labels[i] == guess;
    cr_assert_float_eq(h.pruning[6], (double)c / d->n, 1e-12);
    dl_neuron_health_free(&h);
    dl_dataset_free(d);
    dl_net_free(n);
}
