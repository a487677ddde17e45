/*
 * digit.c — a grayscale picture to an MNIST-style digit (see digit.h for
 * the contract): finding the digit in a photographed page, then cropping,
 * scaling and centring it the way MNIST's digits were prepared.
 *
 * The MNIST recipe (LeCun et al.): the NIST digits were scaled, aspect
 * kept and anti-aliased, to fit a 20 x 20 box, then placed in a 28 x 28
 * field with their centre of mass at the centre.  We add what a photo or a
 * drawing from a paint program needs first: flattening transparency,
 * finding the paper (locally, as light falls unevenly on a page), turning
 * dark-on-light around, stretching the contrast, and finding the digit
 * among what else is in the picture (specks, ruled lines, a table edge or
 * shadow along the border) so that none of it widens the ink's bounding
 * box.  The connected pieces of ink are found by union-find over runs of
 * pixels: no recursion, memory bounded by the picture's size.  MNIST's own
 * digits pass through bit for bit as before all this was added.
 *
 * dl_image_to_mnist_ex runs the steps in order over one small state
 * (digit_state): read the picture, find the paper, measure the ink, find
 * the stroke cores, keep the faint ink around them, scale, centre.
 *
 * Nothing here prints or keeps state between calls.  stb_image_resize
 * comes from libstb (-lstb).
 */
#include "digitlens/digit.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_resize.h>

#include "digit_parts.h"
#include "image_border.h"
#include "contract.h"

/* ---- MNIST preprocessing: the paper ------------------------------------ */

/* Tuning constants (more in digit_parts.h), all fractions unless marked.  They were chosen on the
 * synthetic tests in tests/test_image.c and on the pictures of
 * scripts/make-handwriting-set.sh, and checked against all 10,000 real MNIST
 * test digits (which must come back as they were). */
enum {
    PAPER_GRID = 16,     /* blocks along the longer side: lighting varies slowly */
    PAPER_MIN_BLOCK = 4, /* px: fewer pixels make a poor percentile */
    PAPER_OPEN = 2,      /* blocks: ink patches up to 2 * PAPER_OPEN blocks wide are not paper */
    PAPER_BINS = 256     /* histogram bins for the percentile (8-bit pictures need no more) */
};

/* The block [span_lo(n, k, i), span_lo(n, k, i + 1)) is the i-th of k
 * nearly equal blocks covering 0..n-1. */
static int span_lo(int n, int k, int i)
{
    return (int)((int64_t)n * i / k);
}

/* Where pixel centre p (of n) falls between the centres of k blocks: the
 * block at or before it and the weight of the next one. */
static void grid_pos(int n, int k, int p, int *i0, float *t)
{
    double f = (p + 0.5) * k / n - 0.5;
    if (f <= 0) { *i0 = 0; *t = 0.0f; return; }
    if (f >= k - 1) { *i0 = k - 1; *t = 0.0f; return; }
    *i0 = (int)f;
    *t = (float)(f - *i0);
}

/* Three levels per block of an nx x ny grid over v (nx, ny <= PAPER_GRID):
 * q[0] its 25th percentile, q[1] its median, q[2] its 75th percentile, each
 * grid row-major.  Whichever way round the ink is, one of the quartiles is
 * paper while ink covers less than 3/4 of the block, and thin lines do not
 * move it.  The outer quartiles are bin edges on the paper's side (the
 * lower edge for q[0], the upper for q[2]), so that perfectly black or
 * white paper comes out exactly 0 or 1.  all[] gets the histogram of the
 * whole picture. */
static void block_levels(const float *v, int w, int h, int nx, int ny, float *q[3], size_t all[PAPER_BINS])
{
    memset(all, 0, PAPER_BINS * sizeof *all);
    unsigned hist[PAPER_GRID][PAPER_BINS];
    for (int j = 0; j < ny; j++) {
        const int ya = span_lo(h, ny, j), yb = span_lo(h, ny, j + 1);
        memset(hist, 0, (size_t)nx * sizeof hist[0]);
        for (int y = ya; y < yb; y++) {
            const float *row = v + (size_t)y * (size_t)w;
            for (int i = 0; i < nx; i++) {
                const int xb = span_lo(w, nx, i + 1);
                for (int x = span_lo(w, nx, i); x < xb; x++) {
                    int b = (int)(row[x] * PAPER_BINS);
                    hist[i][b < PAPER_BINS ? b : PAPER_BINS - 1]++;
                }
            }
        }
        for (int i = 0; i < nx; i++) {
            const size_t count = (size_t)(yb - ya) * (size_t)(span_lo(w, nx, i + 1) - span_lo(w, nx, i));
            for (int b = 0; b < PAPER_BINS; b++) all[b] += hist[i][b];
            size_t seen = hist[i][0];
            int b = 0;
            for (int k = 0; k < 3; k++) {
                /* the smallest bin with at least a quarter (a half, ...) below or in it */
                const size_t need = ((size_t)(k + 1) * count + 3) / 4;
                while (b < PAPER_BINS - 1 && seen < need) seen += hist[i][++b];
                q[k][j * nx + i] = (b + 0.5f * k) / PAPER_BINS;
            }
        }
    }
}

/* The bilinear interpolation of grid lv (gx x gy blocks over a w x h
 * picture) along pixel row y: line[x] for every x, using each column's
 * place on the grid (col_i, col_t from grid_pos). */
static void grid_line(const float *lv, int gx, int gy, int h, int y, const int *col_i,
                      const float *col_t, int w, float *line)
{
    int j0;
    float ty, at[PAPER_GRID];
    grid_pos(h, gy, y, &j0, &ty);
    const int j1 = j0 + 1 < gy ? j0 + 1 : j0;
    for (int i = 0; i < gx; i++) at[i] = lv[j0 * gx + i] + ty * (lv[j1 * gx + i] - lv[j0 * gx + i]);
    for (int x = 0; x < w; x++) {
        const int i0 = col_i[x], i1 = i0 + 1 < gx ? i0 + 1 : i0;
        line[x] = at[i0] + col_t[x] * (at[i1] - at[i0]);
    }
}

/* lv = min (or max, when take_max) of lv over a (2r+1) x (2r+1) window of
 * blocks, clipped at the grid's edge; tmp holds nx * ny floats. */
static void grid_rank(float *lv, float *tmp, int nx, int ny, int r, int take_max)
{
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            float m = lv[j * nx + i];
            for (int k = i - r; k <= i + r; k++) {
                if (k < 0 || k >= nx) continue;
                float v = lv[j * nx + k];
                if (take_max ? v > m : v < m) m = v;
            }
            tmp[j * nx + i] = m;
        }
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            float m = tmp[j * nx + i];
            for (int k = j - r; k <= j + r; k++) {
                if (k < 0 || k >= ny) continue;
                float v = tmp[k * nx + i];
                if (take_max ? v > m : v < m) m = v;
            }
            lv[j * nx + i] = m;
        }
}

/* Caller-filled pictures may hold anything; NaN and out-of-range values
 * would poison the percentiles and the maximum, so read them clamped. */
static float clamp01(float v)
{
    if (!(v >= 0.0f)) return 0.0f; /* also NaN */
    return v > 1.0f ? 1.0f : v;
}

/* round(20/28 * size), at least 1: MNIST's 20-pixel box in a 28 field. */
static int fit_box(int size)
{
    int b = (int)floor(20.0 * size / 28.0 + 0.5);
    return b < 1 ? 1 : b;
}

static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- MNIST preprocessing: the steps ------------------------------------ */

/* What the steps of dl_image_to_mnist_ex hand on to each other. */
typedef struct digit_state {
    int w, h;
    size_t npx;
    /* One block (ink): the ink map [npx], the border scratch [nb], and per
     * column where it falls on the paper grid; per row whether it is a
     * straight line (erase_rules). */
    float *ink, *scratch, *col_t, *line;
    int *col_i, *col_lo, *col_hi;
    unsigned char *row_rule;
    int clean;                   /* noise-free: most pixels are the border's exact shade */
    /* the paper grid: gx x gy blocks, lv the paper level of each (ink-up) */
    int gx, gy;
    float q25[PAPER_GRID * PAPER_GRID], q50[PAPER_GRID * PAPER_GRID], q75[PAPER_GRID * PAPER_GRID];
    float *lv;                   /* = q25, opened */
    int inverted;                /* dark ink on light paper */
    float top, strongest;        /* the strongest ink anywhere; of the digit */
    int kx0, ky0, kx1, ky1;      /* the kept cores' box, with its margin */
    int kept, dropped;           /* parts kept and left out */
    int x0, y0, x1, y1;          /* the digit's ink box, inclusive */
} digit_state;

/* Step 1: the picture, clamped, and whether it is noise-free: when most
 * pixels are exactly the shade the border mostly shows, nothing was
 * photographed (it was drawn, or is MNIST's own): see choose_parts. */
static dl_status read_picture(digit_state *s, const dl_gray *in, dl_err *e)
{
    const int w = in->w, h = in->h;
    const size_t npx = (size_t)w * (size_t)h, nb = dl_border_count(w, h);
    s->w = w;
    s->h = h;
    s->npx = npx;
    s->ink = malloc(npx * sizeof *s->ink + nb * sizeof(float) + (size_t)w * (2 * sizeof(float) + 3 * sizeof(int)) +
                    (size_t)h);
    if (!s->ink) return dl_err_set(e, DL_ENOMEM, "picture: out of memory for %d x %d pixels", w, h);
    s->scratch = s->ink + npx;
    s->col_t = s->scratch + nb;
    s->line = s->col_t + w;
    s->col_i = (int *)(s->line + w);
    s->col_lo = s->col_i + w;
    s->col_hi = s->col_lo + w;
    s->row_rule = (unsigned char *)(s->col_hi + w);

    for (size_t k = 0; k < nb; k++) s->scratch[k] = clamp01(in->px[dl_border_index(w, h, k)]);
    const float border = dl_median(s->scratch, nb);
    size_t flat = 0;
    for (size_t i = 0; i < npx; i++) {
        const float v = clamp01(in->px[i]);
        flat += v == border;
        s->ink[i] = v;
    }
    s->clean = 2 * flat >= npx;
    return DL_OK;
}

/* Step 2: levels on a grid of blocks (about 1/16 of the longer side):
 * light falls unevenly on a photographed page, so one paper level would
 * call its darker side ink. */
static void find_paper(digit_state *s)
{
    const int w = s->w, h = s->h;
    const int longer = w > h ? w : h;
    const int block = clampi((longer + PAPER_GRID - 1) / PAPER_GRID, PAPER_MIN_BLOCK, longer);
    const int gx = clampi((int)floor((double)w / block + 0.5), 1, PAPER_GRID);
    const int gy = clampi((int)floor((double)h / block + 0.5), 1, PAPER_GRID);
    s->gx = gx;
    s->gy = gy;
    float *lv = s->q25, *qs[3] = {s->q25, s->q50, s->q75};
    s->lv = lv;
    size_t hist[PAPER_BINS];
    block_levels(s->ink, w, h, gx, gy, qs, hist);

    /* Which way round: the typical paper is the median of the blocks'
     * medians, and ink lies far from it: when the darkest and the lightest
     * 0.5% of the picture are clearly unequally far from that paper, the
     * farther side is the ink (black ink on grey paper, or behind a shadow
     * on the border); otherwise (little ink, or far on both sides) light
     * paper means dark ink. */
    float sorted[PAPER_GRID * PAPER_GRID];
    memcpy(sorted, s->q50, (size_t)(gx * gy) * sizeof *sorted);
    const float typical = dl_median(sorted, (size_t)(gx * gy));
    int lo_bin = 0, hi_bin = PAPER_BINS - 1;
    for (size_t seen = 0; lo_bin < PAPER_BINS - 1 && (seen += hist[lo_bin]) <= s->npx / 200; lo_bin++) {}
    for (size_t seen = 0; hi_bin > 0 && (seen += hist[hi_bin]) <= s->npx / 200; hi_bin--) {}
    const float to_dark = typical - (lo_bin + 0.5f) / PAPER_BINS;
    const float to_light = (hi_bin + 0.5f) / PAPER_BINS - typical;
    s->inverted = to_dark > 2 * to_light ? 1 : to_light > 2 * to_dark ? 0 : typical >= 0.5f;

    /* From here on u = "ink-up": 0 towards paper, 1 towards ink, and the
     * paper of a block is its quartile on the paper's side.  An opening of
     * the grid (min, then max, over 5 x 5 blocks) removes blocks that ink
     * mostly fills, yet keeps any gradient, which min-then-max returns
     * exactly; pixels then interpolate bilinearly. */
    for (int k = 0; k < gx * gy; k++) lv[k] = s->inverted ? 1.0f - s->q75[k] : s->q25[k];
    grid_rank(lv, s->q50, gx, gy, PAPER_OPEN, 0);
    grid_rank(lv, s->q50, gx, gy, PAPER_OPEN, 1);
    for (int x = 0; x < w; x++) grid_pos(w, gx, x, &s->col_i[x], &s->col_t[x]);
}

/* Step 3: ink is the distance from the local paper.  Dark ink is measured
 * as a fraction of the paper's brightness there: light multiplies, so
 * ink / paper stays the same from the bright to the shaded side.  Light
 * ink on dark ground is plain distance (the ground is near 0). */
static dl_status measure_ink(digit_state *s, dl_err *e)
{
    const int w = s->w, h = s->h, inverted = s->inverted;
    float lv_min = 1.0f;
    for (int k = 0; k < s->gx * s->gy; k++) lv_min = s->lv[k] < lv_min ? s->lv[k] : lv_min;
    const float dim = 0.5f * (1.0f - lv_min); /* shadowed paper divides by at least this */
    float contrast = 0.0f, top = 0.0f;
    for (int y = 0; y < h; y++) {
        grid_line(s->lv, s->gx, s->gy, h, y, s->col_i, s->col_t, w, s->line);
        float *row = s->ink + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            float d = (inverted ? 1.0f - row[x] : row[x]) - s->line[x];
            if (d > contrast) contrast = d;
            if (inverted && d > 0.0f) {
                const float bright = 1.0f - s->line[x];
                d /= bright > dim ? bright : dim;
            }
            d = d < 0.0f ? 0.0f : d > 1.0f ? 1.0f : d;
            row[x] = d;
            if (d > top) top = d;
        }
    }
    s->top = top;
    if (contrast < DL_IMAGE_MIN_CONTRAST)
        return dl_err_set(e, DL_EFORMAT,
                          "no ink found (the picture is blank or nearly uniform; it needs a digit "
                          "clearly darker or lighter than its background)");
    return DL_OK;
}

/* Step 4: the digit's parts: connected pieces of stroke cores (at least
 * STROKE_CORE of the strongest ink), once straight lines from edge to edge
 * are gone, chosen by choose_parts.  When the strongest ink was left out (a
 * black table edge beside a pencil digit) the cores are found again
 * relative to the digit's own ink.  Leaves the cores' runs in *runs_out
 * and *first_out (the caller frees them), each run's parent saying whether
 * its part was kept (1) or not (2), and the box of the kept cores, with a
 * margin for their soft rims, in kx0..ky1. */
static dl_status find_cores(digit_state *s, ink_run **runs_out, uint32_t **first_out, dl_err *e)
{
    const int w = s->w, h = s->h;
    ink_run *runs = NULL;
    uint32_t *first = NULL;
    ink_part *parts = NULL;
    int32_t nparts = 0;
    float strongest = s->top;
    for (int round = 0; round < 2; round++) {
        free(runs);
        free(first);
        free(parts);
        dl_digit_erase_rules(s->ink, w, h, STROKE_CORE * strongest, NULL, 0, s->col_i, s->col_lo, s->col_hi, s->row_rule);
        dl_status st = dl_digit_label_parts(s->ink, w, h, STROKE_CORE * strongest, &runs, &first, &parts, &nparts, e);
        if (st != DL_OK) return st;
        dl_digit_choose_parts(parts, nparts, w, h, s->clean);
        float peak = 0.0f;
        for (int32_t k = 0; k < nparts; k++)
            if (parts[k].keep && parts[k].peak > peak) peak = parts[k].peak;
        if (peak >= 0.8f * strongest || peak <= 0.0f) break;
        strongest = peak;
    }
    s->strongest = strongest;
    int kx0 = w, ky0 = h, kx1 = -1, ky1 = -1, kept = 0;
    for (int32_t k = 0; k < nparts; k++) {
        const ink_part *q = &parts[k];
        if (!q->keep) continue;
        kept++;
        kx0 = q->x0 < kx0 ? q->x0 : kx0;
        ky0 = q->y0 < ky0 ? q->y0 : ky0;
        kx1 = q->x1 > kx1 ? q->x1 : kx1;
        ky1 = q->y1 > ky1 ? q->y1 : ky1;
    }
    s->kept = kept;
    s->dropped = (int)nparts - kept;
    /* The parts can go before the faint ink is labelled: the runs remember. */
    for (uint32_t c = 0; c < first[h]; c++) runs[c].parent = parts[run_part(&runs[c])].keep ? 1 : 2;
    free(parts);
    const int margin = 2 + ((kx1 - kx0 > ky1 - ky0 ? kx1 - kx0 : ky1 - ky0) + 1) / 50;
    s->kx0 = clampi(kx0 - margin, 0, w - 1);
    s->ky0 = clampi(ky0 - margin, 0, h - 1);
    s->kx1 = clampi(kx1 + margin, 0, w - 1);
    s->ky1 = clampi(ky1 + margin, 0, h - 1);
    *runs_out = runs;
    *first_out = first;
    return DL_OK;
}

/* Step 5: faint ink, down to DL_IMAGE_INK_THRESHOLD of the digit's
 * strongest, in pieces of its own (wr, wparts), again without straight
 * lines.  A piece's keep first collects the cores inside it (1: a kept one,
 * 2: a left-out one), then says what of it counts: pieces holding only
 * left-out cores go (0); in a noise-free picture a piece without cores that
 * is not clutter counts whole (3), like a faint speck or tail of an MNIST
 * digit; otherwise faint ink counts inside the cores' box (1): the soft rim
 * of a stroke, but not noise or a ruled line dragging the box to the edge
 * of the page.  Everything else in the ink map becomes 0, what counts is
 * scaled by the strongest ink, and its box goes to x0..y1.  Borrows the
 * cores' runs. */
static dl_status keep_faint_ink(digit_state *s, ink_run *runs, const uint32_t *first, dl_err *e)
{
    const int w = s->w, h = s->h;
    const float faint = DL_IMAGE_INK_THRESHOLD * s->strongest;
    ink_run *wr = NULL;
    uint32_t *wfirst = NULL;
    ink_part *wparts = NULL;
    int32_t nw_parts = 0;
    dl_digit_erase_rules(s->ink, w, h, faint, runs, first[h], s->col_i, s->col_lo, s->col_hi, s->row_rule);
    dl_status st = dl_digit_label_parts(s->ink, w, h, faint, &wr, &wfirst, &wparts, &nw_parts, e);
    if (st != DL_OK) return st;
    for (int y = 0; y < h; y++) {
        uint32_t q = wfirst[y];
        for (uint32_t c = first[y]; c < first[y + 1]; c++) {
            const int mark = runs[c].parent;
            while (q < wfirst[y + 1] && wr[q].x1 <= runs[c].x0) q++;
            /* a core lies inside one faint run, unless a line erased part of it */
            for (uint32_t o = q; o < wfirst[y + 1] && wr[o].x0 < runs[c].x1; o++)
                wparts[run_part(&wr[o])].keep |= mark;
        }
    }
    for (int32_t k = 0; k < nw_parts; k++) {
        ink_part *q = &wparts[k];
        q->keep = q->keep == 2 ? 0 : s->clean && q->keep == 0 && !dl_digit_part_is_clutter(q, w, h) ? 3 : 1;
    }
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++) {
        float *row = s->ink + (size_t)y * (size_t)w;
        const int row_in = y >= s->ky0 && y <= s->ky1;
        int x = 0;
        for (uint32_t c = wfirst[y]; c < wfirst[y + 1]; c++) {
            for (; x < wr[c].x0; x++) row[x] = 0.0f;
            const int how = wparts[run_part(&wr[c])].keep;
            for (; x < wr[c].x1; x++) {
                if (how == 0 || (how == 1 && (!row_in || x < s->kx0 || x > s->kx1))) {
                    row[x] = 0.0f;
                    continue;
                }
                const float v = row[x] / s->strongest;
                row[x] = v > 1.0f ? 1.0f : v;
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y;
            }
        }
        for (; x < w; x++) row[x] = 0.0f;
    }
    free(wr);
    free(wfirst);
    free(wparts);
    s->x0 = x0;
    s->y0 = y0;
    s->x1 = x1;
    s->y1 = y1;
    if (x1 < 0) /* only when lines along the edges were all the ink there was */
        return dl_err_set(e, DL_EFORMAT,
                          "no ink found apart from straight lines along the edges (ruled lines or a "
                          "shadow; the digit needs to be clearly darker or lighter than its paper)");
    return DL_OK;
}

/* Step 6: the ink box scaled, aspect kept, so its longer side fills the
 * 20/28 box: a new patch [*nh x *nw] (the caller frees it). */
static dl_status scale_box(const digit_state *s, int rows, int cols, float **patch_out, int *nw_out, int *nh_out,
                           dl_err *e)
{
    /* keep_faint_ink found ink: the box lies inside the picture. */
    DL_ASSERT(s->x0 >= 0 && s->x0 <= s->x1 && s->x1 < s->w && s->y0 >= 0 && s->y0 <= s->y1 && s->y1 < s->h);
    const int w = s->w, bw = s->x1 - s->x0 + 1, bh = s->y1 - s->y0 + 1;
    const int box_c = fit_box(cols), box_r = fit_box(rows);
    double sc = (double)box_c / bw;
    if ((double)box_r / bh < sc) sc = (double)box_r / bh;
    int nw = clampi((int)floor(bw * sc + 0.5), 1, box_c);
    int nh = clampi((int)floor(bh * sc + 0.5), 1, box_r);
    /* Ink already within a pixel of that size is pasted as it is: scaling
     * by a few percent would only blur it.  This is what lets an MNIST
     * digit through unchanged: its anti-aliased edges make its ink box 19
     * to 21 px, depending on where the strokes fell on the pixel grid and
     * on which faint edge pixels the threshold dropped. */
    if (abs(bw - nw) <= 1 && abs(bh - nh) <= 1 && bw <= cols && bh <= rows) {
        nw = bw;
        nh = bh;
    }
    float *patch = malloc((size_t)nw * (size_t)nh * sizeof *patch);
    if (!patch) return dl_err_set(e, DL_ENOMEM, "picture: out of memory");
    const float *src = s->ink + (size_t)s->y0 * (size_t)w + (size_t)s->x0;
    if (nw == bw && nh == bh) {
        for (int y = 0; y < nh; y++)
            memcpy(patch + (size_t)y * (size_t)nw, src + (size_t)y * (size_t)w, (size_t)nw * sizeof *patch);
    } else {
        /* Box filter when shrinking is an area average, what MNIST's
         * anti-aliasing did; bilinear when growing a tiny scribble (a box
         * would make blocks).  Outside the crop is paper, hence EDGE_ZERO. */
        stbir_filter fh = nw < bw ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
        stbir_filter fv = nh < bh ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
        int ok = stbir_resize(src, bw, bh, (int)((size_t)w * sizeof *s->ink), patch, nw, nh, 0, STBIR_TYPE_FLOAT, 1,
                              STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_ZERO, STBIR_EDGE_ZERO, fh, fv,
                              STBIR_COLORSPACE_LINEAR, NULL);
        if (!ok) {
            free(patch);
            return dl_err_set(e, DL_ENOMEM, "picture: out of memory while scaling");
        }
    }
    *patch_out = patch;
    *nw_out = nw;
    *nh_out = nh;
    return DL_OK;
}

/* Step 7: out [rows x cols] = the patch pasted so that its centre of mass
 * lands within half a pixel of the field's centre; where it went in *ox,
 * *oy.  Whole-pixel shifts keep the scaled ink as it is (no second blur);
 * clamping keeps a lopsided digit inside the field. */
static void paste_centred(float *patch, int nw, int nh, int rows, int cols, float *out, int *ox, int *oy)
{
    double m = 0, mx = 0, my = 0;
    for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++) {
            float *p = patch + (size_t)y * (size_t)nw + (size_t)x;
            *p = clamp01(*p);
            m += *p;
            mx += *p * (double)x;
            my += *p * (double)y;
        }
    double cx = m > 0 ? mx / m : (nw - 1) / 2.0;
    double cy = m > 0 ? my / m : (nh - 1) / 2.0;
    /* scale_box keeps the patch within the field, so the paste never
     * leaves it. */
    DL_ASSERT(nw >= 1 && nh >= 1 && nw <= cols && nh <= rows);
    *ox = clampi((int)floor(cols / 2.0 - cx + 0.5), 0, cols - nw);
    *oy = clampi((int)floor(rows / 2.0 - cy + 0.5), 0, rows - nh);
    memset(out, 0, (size_t)rows * (size_t)cols * sizeof *out);
    for (int y = 0; y < nh; y++)
        memcpy(out + (size_t)(*oy + y) * (size_t)cols + (size_t)*ox, patch + (size_t)y * (size_t)nw,
               (size_t)nw * sizeof *out);
}

/* What was found, for a person: the paper behind the middle of the digit
 * in the input's shades, the ink, the boxes. */
static void describe(const digit_state *s, int nw, int nh, int ox, int oy, dl_mnist_prep *prep)
{
    const int gx = s->gx, gy = s->gy, bw = s->x1 - s->x0 + 1, bh = s->y1 - s->y0 + 1;
    const float *lv = s->lv;
    int i0, j0;
    float tx, ty;
    grid_pos(s->w, gx, s->x0 + bw / 2, &i0, &tx);
    grid_pos(s->h, gy, s->y0 + bh / 2, &j0, &ty);
    const int i1 = i0 + 1 < gx ? i0 + 1 : i0, j1 = j0 + 1 < gy ? j0 + 1 : j0;
    const float top_l = lv[j0 * gx + i0] + tx * (lv[j0 * gx + i1] - lv[j0 * gx + i0]);
    const float bot_l = lv[j1 * gx + i0] + tx * (lv[j1 * gx + i1] - lv[j1 * gx + i0]);
    const float paper = top_l + ty * (bot_l - top_l);
    prep->background = s->inverted ? 1.0f - paper : paper;
    prep->ink = s->inverted ? (1.0f - paper) * (1.0f - s->strongest) : paper + s->strongest;
    prep->inverted = s->inverted;
    prep->box_x = s->x0;
    prep->box_y = s->y0;
    prep->box_w = bw;
    prep->box_h = bh;
    prep->scaled_w = nw;
    prep->scaled_h = nh;
    prep->off_x = ox;
    prep->off_y = oy;
    prep->parts = s->kept;
    prep->dropped = s->dropped;
}

dl_status dl_image_to_mnist_ex(const dl_gray *in, int rows, int cols, float *out,
                               dl_mnist_prep *prep, dl_err *e)
{
    if (!in || !in->px || in->w < 1 || in->h < 1 || in->w > DL_IMAGE_MAX_SIDE ||
        in->h > DL_IMAGE_MAX_SIDE || (size_t)in->w * (size_t)in->h > DL_IMAGE_MAX_PIXELS)
        return dl_err_set(e, DL_EINVAL, "picture: not a valid grayscale picture (NULL or bad size)");
    if (rows < 1 || cols < 1 || rows > DL_IMAGE_MAX_SIDE || cols > DL_IMAGE_MAX_SIDE ||
        (size_t)rows * (size_t)cols > DL_IMAGE_MAX_PIXELS)
        return dl_err_set(e, DL_EINVAL, "picture: output size %d x %d is impossible (1 to %d per side)",
                          rows, cols, DL_IMAGE_MAX_SIDE);
    if (!out) return dl_err_set(e, DL_EINVAL, "picture: no output buffer (out is NULL)");

    digit_state s;
    memset(&s, 0, sizeof s);
    ink_run *runs = NULL;
    uint32_t *first = NULL;
    float *patch = NULL;
    int nw = 0, nh = 0, ox = 0, oy = 0;
    dl_status st = read_picture(&s, in, e);
    if (st == DL_OK) {
        find_paper(&s);
        st = measure_ink(&s, e);
    }
    if (st == DL_OK) st = find_cores(&s, &runs, &first, e);
    if (st == DL_OK) st = keep_faint_ink(&s, runs, first, e);
    free(runs);
    free(first);
    if (st == DL_OK) st = scale_box(&s, rows, cols, &patch, &nw, &nh, e);
    if (st == DL_OK) {
        paste_centred(patch, nw, nh, rows, cols, out, &ox, &oy);
        if (prep) describe(&s, nw, nh, ox, oy, prep);
    }
    free(patch);
    free(s.ink);
    return st;
}

dl_status dl_image_to_mnist(const dl_gray *in, int rows, int cols, float *out, dl_err *e)
{
    return dl_image_to_mnist_ex(in, rows, cols, out, NULL, e);
}

dl_status dl_image_load_mnist(const char *path, int rows, int cols, float *out, dl_err *e)
{
    dl_gray *g = NULL;
    dl_status st = dl_image_load(path, &g, e);
    if (st != DL_OK) return st;
    st = dl_image_to_mnist(g, rows, cols, out, e);
    dl_gray_free(g);
    if (st != DL_OK && e) {
        /* to_mnist does not know the file; the message should name it. */
        char why[DL_ERR_MSG_MAX];
        memcpy(why, e->msg, sizeof why);
        why[sizeof why - 1] = '\0';
        const char *rest = strncmp(why, "picture: ", 9) == 0 ? why + 9 : why;
        dl_err_set(e, st, "%s: %s", path, rest);
    }
    return st;
}
