/*
 * test_image.c — the image module: decoding with limits checked first,
 * and MNIST preprocessing that gives (almost) the same 28 x 28 digit
 * however the same shape was drawn: moved, enlarged, dark on light, on a
 * wide canvas, on a transparent sheet, through JPEG, on grey paper.
 *
 * Fixtures are made here: a "6"-like shape (a ring with a slanted stem,
 * lopsided on purpose so centring by mass is really tested) is rendered
 * with 8 x 8 supersampling at any position and scale, then encoded with
 * stb_image_write or handed over as a dl_gray.
 *
 * "Almost the same" means: mean absolute difference over the 784 pixels
 * below IMG_TOL_MAD (0.05, on a 0..1 scale), and the output's ink centre
 * of mass within 0.5 px of (14, 14).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <stb_image_write.h>

#include "digitlens/fileio.h"
#include "digitlens/digit.h"
#include "digitlens/image.h"

TestSuite(image);

#define IMG_N 28
#define IMG_TOL_MAD 0.05
#define IMG_TOL_COM 0.5

/* ---- the shape -------------------------------------------------------- */

/* Distance from (px, py) to the segment (ax, ay)-(bx, by). */
static double img_seg_dist(double px, double py, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay;
    double t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy);
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    double qx = ax + t * dx - px, qy = ay + t * dy - py;
    return sqrt(qx * qx + qy * qy);
}

/* The shape in its own units: about 0.6 wide and 1 tall, origin top-left. */
static int img_in_shape(double u, double v)
{
    double r = sqrt((u - 0.3) * (u - 0.3) + (v - 0.7) * (v - 0.7));
    if (r <= 0.3 && r >= 0.17) return 1;
    return img_seg_dist(u, v, 0.065, 0.7, 0.5, 0.065) <= 0.065;
}

/* Ink coverage 0..1 of a w x h canvas with the shape's origin at (x0, y0)
 * and `scale` pixels per unit (so the shape is about `scale` px tall). */
static float *img_render(int w, int h, double x0, double y0, double scale)
{
    enum { SS = 8 };
    float *cov = calloc((size_t)w * (size_t)h, sizeof *cov);
    cr_assert_not_null(cov);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int hits = 0;
            for (int j = 0; j < SS; j++)
                for (int i = 0; i < SS; i++) {
                    double u = (x + (i + 0.5) / SS - x0) / scale;
                    double v = (y + (j + 0.5) / SS - y0) / scale;
                    hits += img_in_shape(u, v);
                }
            cov[(size_t)y * (size_t)w + (size_t)x] = (float)hits / (SS * SS);
        }
    return cov;
}

/* A dl_gray showing the coverage as ink of shade `ink` on paper `paper`. */
static dl_gray *img_gray_from(const float *cov, int w, int h, float paper, float ink)
{
    dl_err e;
    dl_gray *g = dl_gray_new(w, h, &e);
    cr_assert_not_null(g, "%s", e.msg);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) g->px[i] = paper + (ink - paper) * cov[i];
    return g;
}

/* ---- encoding fixtures ------------------------------------------------ */

typedef struct img_buf {
    unsigned char *p;
    size_t n, cap;
} img_buf;

static void img_buf_put(void *ctx, void *data, int size)
{
    img_buf *b = ctx;
    if (b->n + (size_t)size > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + (size_t)size) cap *= 2;
        unsigned char *np = realloc(b->p, cap);
        cr_assert_not_null(np);
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, (size_t)size);
    b->n += (size_t)size;
}

/* 8-bit pixels (c channels) to PNG, JPEG or BMP bytes in b. */
static void img_encode(img_buf *b, char fmt, int w, int h, int c, const unsigned char *px)
{
    memset(b, 0, sizeof *b);
    int ok = 0;
    if (fmt == 'p') ok = stbi_write_png_to_func(img_buf_put, b, w, h, c, px, w * c);
    if (fmt == 'j') ok = stbi_write_jpg_to_func(img_buf_put, b, w, h, c, px, 90);
    if (fmt == 'b') ok = stbi_write_bmp_to_func(img_buf_put, b, w, h, c, px);
    cr_assert(ok && b->n > 0, "stb_image_write failed");
}

static unsigned char img_u8(double v)
{
    if (v < 0) v = 0;
    if (v > 1) v = 1;
    return (unsigned char)floor(v * 255.0 + 0.5);
}

/* Coverage as 1-channel 8-bit pixels, ink shade `ink` on paper `paper`. */
static unsigned char *img_gray8(const float *cov, int w, int h, double paper, double ink)
{
    size_t n = (size_t)w * (size_t)h;
    unsigned char *px = malloc(n);
    cr_assert_not_null(px);
    for (size_t i = 0; i < n; i++) px[i] = img_u8(paper + (ink - paper) * cov[i]);
    return px;
}

/* ---- measuring -------------------------------------------------------- */

static double img_mad(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs((double)a[i] - b[i]);
    return s / (double)n;
}

static void img_com(const float *v, int rows, int cols, double *cy, double *cx)
{
    double m = 0, sx = 0, sy = 0;
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            double p = v[y * cols + x];
            m += p;
            sx += p * x;
            sy += p * y;
        }
    cr_assert(m > 0, "output has no ink");
    *cx = sx / m;
    *cy = sy / m;
}

static void img_assert_centred(const float *v, int rows, int cols)
{
    double cy, cx;
    img_com(v, rows, cols, &cy, &cx);
    cr_expect(fabs(cy - rows / 2.0) <= IMG_TOL_COM && fabs(cx - cols / 2.0) <= IMG_TOL_COM,
              "centre of mass (%.2f, %.2f) is not within %.1f px of (%.1f, %.1f)", cy, cx,
              IMG_TOL_COM, rows / 2.0, cols / 2.0);
}

/* The reference: the shape 60 px tall, white on black, 100 x 100. */
static void img_reference(float *out)
{
    float *cov = img_render(100, 100, 20, 20, 60);
    dl_gray *g = img_gray_from(cov, 100, 100, 0.0f, 1.0f);
    dl_err e;
    cr_assert_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_OK, "%s", e.msg);
    dl_gray_free(g);
    free(cov);
}

static void img_assert_like_reference(const float *got, const char *what)
{
    float ref[IMG_N * IMG_N];
    img_reference(ref);
    double mad = img_mad(ref, got, IMG_N * IMG_N);
    cr_expect(mad < IMG_TOL_MAD, "%s: mean absolute difference %.4f from the reference (limit %.2f)",
              what, mad, IMG_TOL_MAD);
    img_assert_centred(got, IMG_N, IMG_N);
}

/* Decodes bytes and preprocesses them to 28 x 28, asserting success. */
static void img_decode_mnist(const img_buf *b, float *out)
{
    dl_err e;
    dl_gray *g = NULL;
    cr_assert_eq(dl_image_decode(b->p, b->n, "fixture", &g, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_OK, "%s", e.msg);
    dl_gray_free(g);
}

/* ---- preprocessing: the same digit however it was drawn ---------------- */

Test(image, reference_fills_20px_box_and_is_centred_by_mass)
{
    float out[IMG_N * IMG_N];
    img_reference(out);
    int x0 = IMG_N, y0 = IMG_N, x1 = -1, y1 = -1;
    float mx = 0;
    for (int y = 0; y < IMG_N; y++)
        for (int x = 0; x < IMG_N; x++) {
            float v = out[y * IMG_N + x];
            cr_assert(v >= 0.0f && v <= 1.0f, "pixel %d,%d = %f outside [0,1]", y, x, v);
            if (v > mx) mx = v;
            if (v > 0) {
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
        }
    /* The shape is taller than wide: its height fills the box exactly. */
    cr_expect_eq(y1 - y0 + 1, 20, "ink is %d px tall, expected 20", y1 - y0 + 1);
    cr_expect(x1 - x0 + 1 < 20, "ink is %d px wide, expected less than 20", x1 - x0 + 1);
    cr_expect(mx > 0.9f, "strongest ink %.3f, expected close to 1", mx);
    img_assert_centred(out, IMG_N, IMG_N);
}

/* Mean absolute difference between a and b moved by (dy, dx). */
static double img_mad_shifted(const float *a, const float *b, int dy, int dx)
{
    double s = 0;
    for (int y = 0; y < IMG_N; y++)
        for (int x = 0; x < IMG_N; x++) {
            int yy = y + dy, xx = x + dx;
            float v = (yy >= 0 && yy < IMG_N && xx >= 0 && xx < IMG_N) ? b[yy * IMG_N + xx] : 0.0f;
            s += fabs((double)a[y * IMG_N + x] - v);
        }
    return s / (IMG_N * IMG_N);
}

Test(image, mnist_style_input_comes_back_nearly_unchanged)
{
    /* MNIST-style digits: the shape 20 px tall, anti-aliased, at 25
     * sub-pixel phases (so its ink box is 20 or 21 px with faint edges),
     * moved by whole pixels so its centre of mass rounds to (14, 14).
     * Each must come back the same up to that rounding: equal within a
     * mean 0.01 after at most a 1 px shift, and centred. */
    for (int k = 0; k < 25; k++) {
        double fy = (k / 5) / 5.0, fx = (k % 5) / 5.0, cy, cx;
        float *probe = img_render(IMG_N, IMG_N, 4 + fx, 4 + fy, 20);
        img_com(probe, IMG_N, IMG_N, &cy, &cx);
        free(probe);
        float *cov = img_render(IMG_N, IMG_N, 4 + fx + floor(14.0 - cx + 0.5),
                                4 + fy + floor(14.0 - cy + 0.5), 20);
        dl_gray *g = img_gray_from(cov, IMG_N, IMG_N, 0.0f, 1.0f);
        float out[IMG_N * IMG_N];
        dl_err e;
        cr_assert_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_OK, "%s", e.msg);
        double best = 1.0;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                double m = img_mad_shifted(cov, out, dy, dx);
                if (m < best) best = m;
            }
        cr_expect(best < 0.01, "phase (%.1f, %.1f): mean absolute difference %.4f (limit 0.01)",
                  fy, fx, best);
        img_assert_centred(out, IMG_N, IMG_N);
        dl_gray_free(g);
        free(cov);
    }
}

/* The real MNIST test images, when the project's shared copy is there
 * ($DIGITLENS_SHARED_MNIST or ../shared/data/mnist); NULL otherwise. */
static unsigned char *img_real_mnist(size_t *count)
{
    const char *env = getenv("DIGITLENS_SHARED_MNIST");
    char path[4096];
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", env && *env ? env : "../shared/data/mnist");
    if (access(path, R_OK) != 0) return NULL;
    unsigned char *b = NULL;
    size_t n = 0;
    dl_err e;
    cr_assert_eq(dl_file_read_all(path, (size_t)64 << 20, &b, &n, &e), DL_OK, "%s", e.msg);
    static const unsigned char head[4] = {0, 0, 8, 3}, side[4] = {0, 0, 0, 28};
    cr_assert(n >= 16 && memcmp(b, head, 4) == 0 && memcmp(b + 8, side, 4) == 0 &&
                  memcmp(b + 12, side, 4) == 0,
              "%s: not a 28 x 28 IDX image file", path);
    size_t items = (size_t)b[4] << 24 | (size_t)b[5] << 16 | (size_t)b[6] << 8 | b[7];
    cr_assert(n >= 16 + items * 784, "%s: shorter than its header says", path);
    *count = items;
    return b;
}

Test(image, real_mnist_digits_come_back_nearly_unchanged)
{
    /* The acid test of "do it like MNIST": MNIST's own digits are already
     * 20 px in 28, centred by mass, so preprocessing must leave them alone
     * up to a 1 px rounding of the centre (faint edge pixels below the
     * noise threshold are the only loss). */
    size_t count = 0;
    unsigned char *b = img_real_mnist(&count);
    if (!b) cr_skip_test("real MNIST not found (set DIGITLENS_SHARED_MNIST)");
    size_t n = count; /* 10,000 digits take well under a second */
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *px = b + 16 + i * 784;
        dl_err e;
        dl_gray *g = dl_gray_new(IMG_N, IMG_N, &e);
        cr_assert_not_null(g);
        float in[IMG_N * IMG_N], out[IMG_N * IMG_N];
        for (int k = 0; k < IMG_N * IMG_N; k++) g->px[k] = in[k] = px[k] / 255.0f;
        cr_assert_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_OK, "digit %zu: %s", i, e.msg);
        double best = 1.0;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                double m = img_mad_shifted(in, out, dy, dx);
                if (m < best) best = m;
            }
        cr_assert(best < 0.01, "digit %zu: mean absolute difference %.4f after alignment (limit 0.01)",
                  i, best);
        total += img_mad(in, out, IMG_N * IMG_N);
        img_assert_centred(out, IMG_N, IMG_N);
        dl_gray_free(g);
    }
    cr_expect(total / n < 0.01, "mean absolute difference over %zu digits %.4f (limit 0.01)", n, total / n);
    free(b);
}

Test(image, shifted_digit_gives_the_same_result)
{
    float *cov = img_render(100, 100, 3.3, 36.6, 60);
    dl_gray *g = img_gray_from(cov, 100, 100, 0.0f, 1.0f);
    float out[IMG_N * IMG_N];
    dl_err e;
    cr_assert_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_OK, "%s", e.msg);
    img_assert_like_reference(out, "shifted");
    dl_gray_free(g);
    free(cov);
}

Test(image, digit_scaled_5x_gives_the_same_result)
{
    float *cov = img_render(500, 500, 101.7, 98.2, 300);
    dl_gray *g = img_gray_from(cov, 500, 500, 0.0f, 1.0f);
    float out[IMG_N * IMG_N];
    dl_err e;
    cr_assert_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_OK, "%s", e.msg);
    img_assert_like_reference(out, "scaled x5");
    dl_gray_free(g);
    free(cov);
}

Test(image, dark_ink_on_white_is_inverted_to_the_same_result)
{
    float *cov = img_render(100, 100, 20, 20, 60);
    dl_gray *g = img_gray_from(cov, 100, 100, 1.0f, 0.0f);
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    dl_err e;
    cr_assert_eq(dl_image_to_mnist_ex(g, IMG_N, IMG_N, out, &prep, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(prep.inverted, 1);
    img_assert_like_reference(out, "inverted");
    dl_gray_free(g);
    free(cov);
}

Test(image, non_square_canvas_gives_the_same_result)
{
    float *cov = img_render(300, 120, 181.4, 14.8, 90);
    dl_gray *g = img_gray_from(cov, 300, 120, 1.0f, 0.1f);
    float out[IMG_N * IMG_N];
    dl_err e;
    cr_assert_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_OK, "%s", e.msg);
    img_assert_like_reference(out, "300x120 canvas");
    dl_gray_free(g);
    free(cov);
}

Test(image, grey_paper_with_noise_and_faint_ink_gives_the_same_result)
{
    /* Like a photo of pencil on paper: paper at 0.75 with +-0.04 grain,
     * ink only down to 0.35. */
    float *cov = img_render(160, 160, 47.1, 40.3, 80);
    dl_gray *g = img_gray_from(cov, 160, 160, 0.75f, 0.35f);
    uint32_t s = 12345;
    for (size_t i = 0; i < 160u * 160u; i++) {
        s = s * 1664525u + 1013904223u;
        g->px[i] += ((float)(s >> 8) / 16777216.0f - 0.5f) * 0.08f;
    }
    float out[IMG_N * IMG_N];
    dl_err e;
    cr_assert_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_OK, "%s", e.msg);
    img_assert_like_reference(out, "grey paper");
    dl_gray_free(g);
    free(cov);
}

Test(image, png_gray_decodes_to_the_same_result)
{
    float *cov = img_render(100, 100, 20, 20, 60);
    unsigned char *px = img_gray8(cov, 100, 100, 0.0, 1.0);
    img_buf b;
    img_encode(&b, 'p', 100, 100, 1, px);
    float out[IMG_N * IMG_N];
    img_decode_mnist(&b, out);
    img_assert_like_reference(out, "PNG");
    free(b.p);
    free(px);
    free(cov);
}

Test(image, rgb_jpeg_of_dark_ink_on_white_gives_the_same_result)
{
    /* Blue ink on off-white paper, through lossy JPEG. */
    int w = 140, h = 110;
    float *cov = img_render(w, h, 36.5, 21.25, 70);
    unsigned char *px = malloc((size_t)w * (size_t)h * 3);
    cr_assert_not_null(px);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
        px[3 * i + 0] = img_u8(0.96 - 0.86 * cov[i]);
        px[3 * i + 1] = img_u8(0.95 - 0.80 * cov[i]);
        px[3 * i + 2] = img_u8(0.90 - 0.40 * cov[i]);
    }
    img_buf b;
    img_encode(&b, 'j', w, h, 3, px);
    float out[IMG_N * IMG_N];
    img_decode_mnist(&b, out);
    img_assert_like_reference(out, "JPEG");
    free(b.p);
    free(px);
    free(cov);
}

Test(image, bmp_decodes_to_the_same_result)
{
    float *cov = img_render(100, 100, 20, 20, 60);
    unsigned char *px = malloc(100 * 100 * 3);
    cr_assert_not_null(px);
    for (size_t i = 0; i < 100 * 100; i++) px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = img_u8(1.0 - cov[i]);
    img_buf b;
    img_encode(&b, 'b', 100, 100, 3, px);
    float out[IMG_N * IMG_N];
    img_decode_mnist(&b, out);
    img_assert_like_reference(out, "BMP");
    free(b.p);
    free(px);
    free(cov);
}

/* Black strokes on a fully transparent sheet whose hidden colour is also
 * black: flattened onto black they would vanish. */
Test(image, black_ink_on_transparent_black_sheet_stays_visible)
{
    float *cov = img_render(100, 100, 20, 20, 60);
    unsigned char *px = calloc(100 * 100, 4);
    cr_assert_not_null(px);
    for (size_t i = 0; i < 100 * 100; i++) px[4 * i + 3] = img_u8(cov[i]);
    img_buf b;
    img_encode(&b, 'p', 100, 100, 4, px);
    float out[IMG_N * IMG_N];
    img_decode_mnist(&b, out);
    img_assert_like_reference(out, "black on transparent");
    free(b.p);
    free(px);
    free(cov);
}

Test(image, white_ink_on_transparent_sheet_stays_visible)
{
    float *cov = img_render(100, 100, 20, 20, 60);
    unsigned char *px = calloc(100 * 100, 4);
    cr_assert_not_null(px);
    for (size_t i = 0; i < 100 * 100; i++) {
        px[4 * i + 0] = px[4 * i + 1] = px[4 * i + 2] = 255;
        px[4 * i + 3] = img_u8(cov[i]);
    }
    img_buf b;
    img_encode(&b, 'p', 100, 100, 4, px);
    float out[IMG_N * IMG_N];
    img_decode_mnist(&b, out);
    img_assert_like_reference(out, "white on transparent");
    free(b.p);
    free(px);
    free(cov);
}

Test(image, gray_alpha_on_opaque_paper_composites_onto_that_paper)
{
    /* Gray+alpha: opaque light-grey paper, dark ink, with a half
     * transparent patch in a corner that must not become ink. */
    int w = 100, h = 100;
    float *cov = img_render(w, h, 20, 20, 60);
    unsigned char *px = malloc((size_t)w * (size_t)h * 2);
    cr_assert_not_null(px);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            px[2 * i] = img_u8(0.85 - 0.8 * cov[i]);
            px[2 * i + 1] = (x < 8 && y < 8) ? 0 : 255;
        }
    img_buf b;
    img_encode(&b, 'p', w, h, 2, px);
    float out[IMG_N * IMG_N];
    img_decode_mnist(&b, out);
    img_assert_like_reference(out, "gray+alpha");
    free(b.p);
    free(px);
    free(cov);
}

Test(image, tiny_digit_is_scaled_up_to_fill_the_box)
{
    float *cov = img_render(40, 40, 15, 12, 8);
    dl_gray *g = img_gray_from(cov, 40, 40, 0.0f, 1.0f);
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    dl_err e;
    cr_assert_eq(dl_image_to_mnist_ex(g, IMG_N, IMG_N, out, &prep, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(prep.scaled_h, 20, "scaled to %d px tall, expected 20", prep.scaled_h);
    cr_expect(prep.box_h <= 9, "ink box %d px tall for an 8 px shape", prep.box_h);
    img_assert_centred(out, IMG_N, IMG_N);
    dl_gray_free(g);
    free(cov);
}

Test(image, other_output_sizes_keep_the_20_in_28_proportion)
{
    float *cov = img_render(100, 100, 20, 20, 60);
    dl_gray *g = img_gray_from(cov, 100, 100, 0.0f, 1.0f);
    float out[56 * 42];
    dl_mnist_prep prep;
    dl_err e;
    cr_assert_eq(dl_image_to_mnist_ex(g, 56, 42, out, &prep, &e), DL_OK, "%s", e.msg);
    /* box = round(20/28 * 56) = 40 rows by round(20/28 * 42) = 30 columns;
     * the shape is taller than wide, so its height gives the scale. */
    cr_expect_eq(prep.scaled_h, 40);
    cr_expect(prep.scaled_w <= 30);
    img_assert_centred(out, 56, 42);
    dl_gray_free(g);
    free(cov);
}

Test(image, ink_touching_the_edge_is_kept_inside_the_field)
{
    /* A short wide bar in a corner: its mass centre is fine, but a lopsided
     * shape must never be shifted off the field. */
    dl_err e;
    dl_gray *g = dl_gray_new(50, 50, &e);
    cr_assert_not_null(g);
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 50; x++) g->px[y * 50 + x] = 1.0f;
    for (int y = 10; y < 40; y++) g->px[y * 50 + 10] = 0.0f;   /* long thin stem */
    for (int x = 10; x < 40; x++) g->px[39 * 50 + x] = 0.0f;   /* long thin base */
    for (int y = 30; y < 40; y++)
        for (int x = 30; x < 40; x++) g->px[y * 50 + x] = 0.0f; /* heavy block */
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    cr_assert_eq(dl_image_to_mnist_ex(g, IMG_N, IMG_N, out, &prep, &e), DL_OK, "%s", e.msg);
    cr_expect(prep.off_x >= 0 && prep.off_x + prep.scaled_w <= IMG_N);
    cr_expect(prep.off_y >= 0 && prep.off_y + prep.scaled_h <= IMG_N);
    double total = 0;
    for (int i = 0; i < IMG_N * IMG_N; i++) total += out[i];
    cr_expect(total > 20, "ink was lost (total %.1f)", total);
    dl_gray_free(g);
}

/* ---- photographed pages: uneven light, ruled paper, clutter ------------ */

/* Photographed-looking fixtures: dark ink (0.1) on light paper (0.9) with
 * a little grain (+-0.02, a fixed sequence), so they take the path for
 * pictures with camera noise.  Their tolerances: the same IMG_TOL_MAD
 * (0.05) from the reference as every invariance test above, and, where a
 * clean twin exists, 0.02 from it. */
static void img_add_grain(dl_gray *g, uint32_t seed)
{
    for (size_t i = 0; i < (size_t)g->w * (size_t)g->h; i++) {
        seed = seed * 1664525u + 1013904223u;
        g->px[i] += ((float)(seed >> 8) / 16777216.0f - 0.5f) * 0.04f;
    }
}

/* The 28 x 28 of g, asserting success. */
static void img_mnist_of(const dl_gray *g, float *out, dl_mnist_prep *prep)
{
    dl_err e;
    cr_assert_eq(dl_image_to_mnist_ex(g, IMG_N, IMG_N, out, prep, &e), DL_OK, "%s", e.msg);
}

Test(image, lighting_gradient_down_to_55_percent_gives_the_same_result)
{
    /* Light falls from the top-left corner (100%) to the bottom-right one
     * (55%), multiplying paper and ink alike, as on a photographed page.
     * With one paper level for the whole picture, the shaded half of the
     * paper passed for ink and the digit shrank to a corner of the box. */
    const int w = 180, h = 150;
    float *cov = img_render(w, h, 80.3, 30.6, 90);
    dl_gray *flat = img_gray_from(cov, w, h, 0.9f, 0.1f);
    dl_gray *lit = img_gray_from(cov, w, h, 0.9f, 0.1f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            lit->px[y * w + x] *= 1.0f - 0.45f * (0.5f * x / (w - 1) + 0.5f * y / (h - 1));
    img_add_grain(flat, 7);
    img_add_grain(lit, 7);
    float a[IMG_N * IMG_N], b[IMG_N * IMG_N];
    dl_mnist_prep pa, pb;
    img_mnist_of(flat, a, &pa);
    img_mnist_of(lit, b, &pb);
    double mad = img_mad(a, b, IMG_N * IMG_N);
    cr_expect(mad < 0.02, "flat and lit paper differ by %.4f (limit 0.02)", mad);
    cr_expect(abs(pb.box_h - pa.box_h) <= 1 && abs(pb.box_w - pa.box_w) <= 1,
              "ink box %d x %d under the gradient, %d x %d on flat paper", pb.box_w, pb.box_h, pa.box_w,
              pa.box_h);
    cr_expect_eq(pb.inverted, 1);
    img_assert_like_reference(b, "lighting gradient");
    dl_gray_free(flat);
    dl_gray_free(lit);
    free(cov);
}

Test(image, gradient_on_clean_paper_is_not_ink)
{
    /* The same light on paper without grain, and the digit small: the box
     * must still hug the digit, not the shaded corner. */
    const int w = 240, h = 200;
    float *cov = img_render(w, h, 150.2, 20.7, 50);
    dl_gray *g = img_gray_from(cov, w, h, 1.0f, 0.0f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) g->px[y * w + x] *= 1.0f - 0.45f * (float)(x + y) / (w + h - 2);
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    img_mnist_of(g, out, &prep);
    cr_expect(prep.box_h >= 49 && prep.box_h <= 53, "ink box %d px tall for a 50 px digit", prep.box_h);
    img_assert_like_reference(out, "gradient on clean paper");
    dl_gray_free(g);
    free(cov);
}

Test(image, ruled_and_margin_lines_do_not_widen_the_box)
{
    /* Notebook paper: a 2 px rule every 18 px and a margin line, at 0.65
     * (a light blue's luminance), running through the digit. */
    const int w = 200, h = 170;
    float *cov = img_render(w, h, 90.4, 40.2, 90);
    dl_gray *g = img_gray_from(cov, w, h, 0.9f, 0.1f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int rule = (y % 18) < 2 || (x >= 30 && x < 32);
            float paper = rule ? 0.65f : 0.9f;
            g->px[y * w + x] = paper + (0.1f - paper) * cov[y * w + x];
        }
    img_add_grain(g, 11);
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    img_mnist_of(g, out, &prep);
    cr_expect(prep.box_h >= 89 && prep.box_h <= 93, "ink box %d px tall for a 90 px digit", prep.box_h);
    cr_expect(prep.box_w < 60, "ink box %d px wide for a 55 px digit", prep.box_w);
    img_assert_like_reference(out, "ruled paper");
    dl_gray_free(g);
    free(cov);
}

Test(image, dark_bar_along_one_border_is_not_ink)
{
    /* A table edge in the frame: a near-black bar along the left border,
     * full height, soft at its inner edge; and the same along the top,
     * reaching down to touch the digit. */
    for (int side = 0; side < 2; side++) {
        const int w = 190, h = 160;
        float *cov = img_render(w, h, side ? 70.5 : 96.5, side ? 30.0 : 45.3, 95);
        dl_gray *g = img_gray_from(cov, w, h, 0.9f, 0.1f);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int t = side ? 31 - y : 28 - x; /* > 0 inside the bar, soft over 4 px */
                float shade = t >= 4 ? 0.15f : t > 0 ? 1.0f - 0.85f * t / 4.0f : 1.0f;
                g->px[y * w + x] *= shade;
            }
        img_add_grain(g, 5u + (uint32_t)side);
        float out[IMG_N * IMG_N];
        dl_mnist_prep prep;
        img_mnist_of(g, out, &prep);
        cr_expect(prep.box_h <= 97, "%s bar: ink box %d px tall for a 95 px digit", side ? "top" : "left",
                  prep.box_h);
        cr_expect(prep.box_x >= 40, "%s bar: ink box starts at x = %d", side ? "top" : "left", prep.box_x);
        img_assert_like_reference(out, side ? "bar along the top, touching" : "bar along the left");
        dl_gray_free(g);
        free(cov);
    }
}

Test(image, specks_and_a_stray_mark_are_left_out_of_a_photo)
{
    /* Dust near the digit and a scribble far from it, on grainy paper. */
    const int w = 220, h = 160;
    float *cov = img_render(w, h, 60.2, 30.1, 90);
    dl_gray *g = img_gray_from(cov, w, h, 0.9f, 0.1f);
    static const int specks[][2] = {{20, 150}, {140, 20}, {145, 130}, {12, 40}};
    for (size_t k = 0; k < sizeof specks / sizeof specks[0]; k++)
        for (int dy = 0; dy < 2; dy++)
            for (int dx = 0; dx < 2; dx++) g->px[(specks[k][0] + dy) * w + specks[k][1] + dx] = 0.1f;
    for (int y = 60; y < 66; y++)
        for (int x = 185; x < 210; x++) g->px[y * w + x] = 0.1f; /* a dash 60 px off the digit */
    img_add_grain(g, 3);
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    img_mnist_of(g, out, &prep);
    cr_expect(prep.box_w < 60 && prep.box_h <= 92, "ink box %d x %d for a 55 x 90 digit", prep.box_w, prep.box_h);
    cr_expect(prep.dropped >= 5, "%d pieces left out, expected the 4 specks and the dash", prep.dropped);
    img_assert_like_reference(out, "specks and a stray");
    dl_gray_free(g);
    free(cov);
}

Test(image, digit_in_two_strokes_keeps_both)
{
    /* The shape cut in two by a 3 px gap, on grainy paper: the smaller
     * piece is close to the larger, so it is part of the digit. */
    const int w = 160, h = 150;
    float *cov = img_render(w, h, 50.0, 30.0, 90);
    for (int y = 78; y < 81; y++)
        for (int x = 0; x < w; x++) cov[y * w + x] = 0.0f;
    dl_gray *g = img_gray_from(cov, w, h, 0.9f, 0.1f);
    img_add_grain(g, 9);
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    img_mnist_of(g, out, &prep);
    cr_expect_geq(prep.parts, 2, "%d part(s) kept", prep.parts);
    cr_expect(prep.box_h >= 89, "ink box %d px tall for a 90 px digit in two pieces", prep.box_h);
    img_assert_like_reference(out, "two strokes");
    dl_gray_free(g);
    free(cov);
}

Test(image, black_ink_on_dark_grey_paper_is_still_dark_ink)
{
    /* Paper at 0.45 is darker than mid-grey, but the ink lies far below it
     * and nothing far above: the ink is the dark side. */
    float *cov = img_render(120, 120, 30.5, 20.5, 70);
    dl_gray *g = img_gray_from(cov, 120, 120, 0.45f, 0.02f);
    img_add_grain(g, 13);
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    img_mnist_of(g, out, &prep);
    cr_expect_eq(prep.inverted, 1);
    img_assert_like_reference(out, "dark grey paper");
    dl_gray_free(g);
    free(cov);
}

Test(image, border_clutter_that_is_the_only_ink_is_kept)
{
    /* A bar along the border and nothing else: better a guess than a
     * refusal ("no ink" is for blank pictures). */
    dl_err e;
    dl_gray *g = dl_gray_new(60, 40, &e);
    cr_assert_not_null(g);
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 60; x++) g->px[y * 60 + x] = x < 6 ? 0.1f : 0.9f;
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    img_mnist_of(g, out, &prep);
    cr_expect(prep.box_x == 0 && prep.box_w == 6, "box at x %d, %d wide", prep.box_x, prep.box_w);
    dl_gray_free(g);
}

Test(image, ink_filling_half_the_picture_is_still_the_digit)
{
    /* Like the command-line tests' fixtures: the left half all ink (every
     * column edge to edge, as a ruled line would be), faint noise on the
     * right.  A line is only erased when the digit does not vanish with it:
     * here it is the digit, so it stays, full height.  (Ink this solid along
     * a border partly passes for shaded paper, so the box may be narrower
     * than the half.) */
    dl_err e;
    dl_gray *g = dl_gray_new(28, 28, &e);
    cr_assert_not_null(g);
    uint32_t s = 99;
    for (int i = 0; i < 28 * 28; i++) {
        s = s * 1664525u + 1013904223u;
        g->px[i] = (i % 28) < 14 ? 0.5f + (float)(s >> 24) / 512.0f : ((s >> 8) & 3) ? 0.0f : 0.2f;
    }
    float out[IMG_N * IMG_N];
    dl_mnist_prep prep;
    img_mnist_of(g, out, &prep);
    cr_expect(prep.box_x == 0 && prep.box_w <= 14 && prep.box_h == 28, "box %d,%d %d x %d", prep.box_x,
              prep.box_y, prep.box_w, prep.box_h);
    dl_gray_free(g);
}

/* ---- no ink ----------------------------------------------------------- */

static void img_assert_blank(float paper, int w, int h)
{
    dl_err e;
    dl_gray *g = dl_gray_new(w, h, &e);
    cr_assert_not_null(g);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++) g->px[i] = paper;
    float out[IMG_N * IMG_N];
    cr_expect_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "no ink") != NULL, "message: %s", e.msg);
    dl_gray_free(g);
}

Test(image, all_white_picture_is_refused_as_blank) { img_assert_blank(1.0f, 64, 48); }
Test(image, all_black_picture_is_refused_as_blank) { img_assert_blank(0.0f, 64, 48); }
Test(image, one_pixel_picture_is_refused_as_blank) { img_assert_blank(0.3f, 1, 1); }

Test(image, faint_jpeg_noise_on_white_is_refused_as_blank)
{
    /* Contrast 0.05 is below DL_IMAGE_MIN_CONTRAST: not a digit. */
    float *cov = img_render(60, 60, 10, 10, 40);
    dl_gray *g = img_gray_from(cov, 60, 60, 1.0f, 0.95f);
    float out[IMG_N * IMG_N];
    dl_err e;
    cr_expect_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_EFORMAT);
    dl_gray_free(g);
    free(cov);
}

Test(image, nan_and_out_of_range_pixels_do_not_crash)
{
    dl_err e;
    dl_gray *g = dl_gray_new(30, 30, &e);
    cr_assert_not_null(g);
    for (int i = 0; i < 900; i++) g->px[i] = (i % 7 == 0) ? NAN : (i % 5 == 0 ? 7.0f : -3.0f);
    float out[IMG_N * IMG_N];
    dl_status st = dl_image_to_mnist(g, IMG_N, IMG_N, out, &e);
    cr_expect(st == DL_OK || st == DL_EFORMAT);
    if (st == DL_OK)
        for (int i = 0; i < IMG_N * IMG_N; i++) cr_assert(out[i] >= 0.0f && out[i] <= 1.0f);
    dl_gray_free(g);
}

/* ---- refusing bad input ----------------------------------------------- */

static void img_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A PNG signature and a valid IHDR declaring w x h 8-bit gray, and an
 * IDAT chunk that holds nothing of the kind. */
static size_t img_png_header(unsigned char *b, uint32_t w, uint32_t h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(b, sig, 8);
    img_put_be32(b + 8, 13);
    memcpy(b + 12, "IHDR", 4);
    img_put_be32(b + 16, w);
    img_put_be32(b + 20, h);
    b[24] = 8; /* bit depth */
    b[25] = 0; /* grayscale */
    b[26] = b[27] = b[28] = 0;
    img_put_be32(b + 29, (uint32_t)crc32(0L, b + 12, 17));
    img_put_be32(b + 33, 2);
    memcpy(b + 37, "IDAT", 4);
    b[41] = 0x78;
    b[42] = 0x9c;
    img_put_be32(b + 43, (uint32_t)crc32(0L, b + 37, 6));
    return 47;
}

Test(image, png_declaring_60000x60000_is_refused_before_decoding)
{
    unsigned char b[64];
    size_t n = img_png_header(b, 60000, 60000);
    dl_gray *g = (dl_gray *)1;
    dl_err e;
    cr_expect_eq(dl_image_decode(b, n, "huge.png", &g, &e), DL_ELIMIT);
    cr_expect_null(g);
    cr_expect(strstr(e.msg, "huge.png") && strstr(e.msg, "60000"), "message: %s", e.msg);
}

Test(image, png_declaring_20000x20000_is_refused_by_our_limit)
{
    /* stb_image would accept this header (under its own 1 GB check). */
    unsigned char b[64];
    size_t n = img_png_header(b, 20000, 20000);
    dl_gray *g = NULL;
    dl_err e;
    cr_expect_eq(dl_image_decode(b, n, "big.png", &g, &e), DL_ELIMIT);
    cr_expect_null(g);
    cr_expect(strstr(e.msg, "20000") != NULL, "message: %s", e.msg);
}

Test(image, png_declaring_a_zero_width_is_refused)
{
    unsigned char b[64];
    size_t n = img_png_header(b, 0, 10);
    dl_gray *g = NULL;
    dl_err e;
    dl_status st = dl_image_decode(b, n, "zero.png", &g, &e);
    cr_expect(st == DL_EFORMAT || st == DL_ELIMIT, "status %d: %s", st, e.msg);
    cr_expect_null(g);
}

Test(image, truncated_png_is_refused_at_every_length)
{
    float *cov = img_render(64, 64, 12, 4, 50);
    unsigned char *px = img_gray8(cov, 64, 64, 1.0, 0.0);
    img_buf b;
    img_encode(&b, 'p', 64, 64, 1, px);
    /* Every cut must fail cleanly, one inside the final IEND chunk (which
     * loses no pixel data) included. */
    for (size_t n = 0; n < b.n; n++) {
        dl_gray *g = NULL;
        dl_err e;
        dl_status st = dl_image_decode(b.p, n, "cut.png", &g, &e);
        cr_expect_neq(st, DL_OK, "a PNG cut to %zu of %zu bytes decoded", n, b.n);
        if (n >= 8 && st != DL_OK)
            cr_expect(strstr(e.msg, "truncated") != NULL, "cut to %zu: %s", n, e.msg);
        cr_expect_null(g);
        dl_gray_free(g);
    }
    free(b.p);
    free(px);
    free(cov);
}

Test(image, truncated_jpeg_never_crashes)
{
    /* stb_image fills a JPEG cut short with grey rather than failing; all
     * we ask is an error or a picture of the declared size. */
    float *cov = img_render(48, 48, 10, 4, 40);
    unsigned char *px = img_gray8(cov, 48, 48, 1.0, 0.0);
    img_buf b;
    img_encode(&b, 'j', 48, 48, 1, px);
    for (size_t n = 0; n < b.n; n += 7) {
        dl_gray *g = NULL;
        dl_err e;
        if (dl_image_decode(b.p, n, "cut.jpg", &g, &e) == DL_OK) {
            cr_expect(g->w == 48 && g->h == 48);
            float out[IMG_N * IMG_N];
            dl_image_to_mnist(g, IMG_N, IMG_N, out, &e);
        }
        dl_gray_free(g);
    }
    free(b.p);
    free(px);
    free(cov);
}

Test(image, garbage_and_empty_input_are_refused_as_format_errors)
{
    static const unsigned char junk[] = "this is not a picture at all, just words";
    dl_gray *g = NULL;
    dl_err e;
    cr_expect_eq(dl_image_decode(junk, sizeof junk - 1, "notes.txt", &g, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "notes.txt") != NULL, "message: %s", e.msg);
    cr_expect_eq(dl_image_decode(junk, 0, "empty.png", &g, &e), DL_EFORMAT);
    cr_expect_null(g);
}

Test(image, oversized_buffer_is_refused_without_looking)
{
    static const unsigned char one[1] = {0};
    dl_gray *g = NULL;
    dl_err e;
    /* Only the length is checked before anything is read. */
    cr_expect_eq(dl_image_decode(one, DL_IMAGE_MAX_BYTES + 1, "big", &g, &e), DL_ELIMIT);
}

Test(image, missing_file_is_an_io_error_naming_the_path)
{
    const char *path = "/nonexistent-digitlens-dir/seven.png";
    dl_gray *g = NULL;
    dl_err e;
    cr_expect_eq(dl_image_load(path, &g, &e), DL_EIO);
    cr_expect_null(g);
    cr_expect(strstr(e.msg, path) != NULL, "message: %s", e.msg);
    float out[IMG_N * IMG_N];
    cr_expect_eq(dl_image_load_mnist(path, IMG_N, IMG_N, out, &e), DL_EIO);
}

Test(image, png_file_on_disk_loads_and_preprocesses)
{
    char dir[] = "/tmp/dl-test-image-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/digit.png", dir);
    float *cov = img_render(100, 100, 20, 20, 60);
    unsigned char *px = img_gray8(cov, 100, 100, 1.0, 0.0);
    img_buf b;
    img_encode(&b, 'p', 100, 100, 1, px);
    dl_err e;
    cr_assert_eq(dl_file_write_atomic(path, b.p, b.n, &e), DL_OK, "%s", e.msg);
    float out[IMG_N * IMG_N];
    cr_expect_eq(dl_image_load_mnist(path, IMG_N, IMG_N, out, &e), DL_OK, "%s", e.msg);
    img_assert_like_reference(out, "file");

    /* A blank file names itself in the message. */
    memset(px, 255, 100 * 100);
    free(b.p);
    img_encode(&b, 'p', 100, 100, 1, px);
    cr_assert_eq(dl_file_write_atomic(path, b.p, b.n, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(dl_image_load_mnist(path, IMG_N, IMG_N, out, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, path) && strstr(e.msg, "no ink"), "message: %s", e.msg);

    unlink(path);
    rmdir(dir);
    free(b.p);
    free(px);
    free(cov);
}

/* ---- formats ---------------------------------------------------------- */

Test(image, binary_pgm_p5_and_ppm_p6_decode)
{
    static const unsigned char pgm[] = "P5\n# a comment\n3 2\n255\n\x00\x40\x80\xc0\xff\x00";
    static const unsigned char ppm[] = "P6 2 1 255 \xff\x00\x00\x00\x00\xff";
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(pgm, sizeof pgm - 1, "a.pgm", &g, &e), DL_OK, "%s", e.msg);
    cr_expect(g->w == 3 && g->h == 2);
    cr_expect_float_eq(g->px[1], 64.0f / 255.0f, 1e-6f);
    cr_expect_float_eq(g->px[4], 1.0f, 1e-6f);
    dl_gray_free(g);
    cr_assert_eq(dl_image_decode(ppm, sizeof ppm - 1, "a.ppm", &g, &e), DL_OK, "%s", e.msg);
    cr_expect(g->w == 2 && g->h == 1);
    cr_expect_float_eq(g->px[0], 0.299f, 1e-5f); /* pure red */
    cr_expect_float_eq(g->px[1], 0.114f, 1e-5f); /* pure blue */
    dl_gray_free(g);
}

Test(image, gif_decodes_its_first_frame)
{
    /* A 1 x 1 GIF89a whose single pixel is transparent white. */
    static const unsigned char gif[] = {
        'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0,
        0xff, 0xff, 0xff, 0, 0, 0,
        0x21, 0xf9, 4, 1, 0, 0, 0, 0,
        0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0,
        2, 2, 0x44, 1, 0, 0x3b};
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(gif, sizeof gif, "dot.gif", &g, &e), DL_OK, "%s", e.msg);
    cr_expect(g->w == 1 && g->h == 1);
    float out[IMG_N * IMG_N];
    cr_expect_eq(dl_image_to_mnist(g, IMG_N, IMG_N, out, &e), DL_EFORMAT);
    dl_gray_free(g);
}

/* Copies a JPEG and puts an EXIF APP1 segment holding only Orientation = o
 * right after its SOI marker, little- or big-endian. */
static void img_add_exif(img_buf *dst, const img_buf *jpg, unsigned o, int little)
{
    unsigned char app[36] = {0xFF, 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0};
    unsigned char *t = app + 10;
    if (little) {
        static const unsigned char tiff[26] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0,
                                               1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(t, tiff, sizeof tiff);
        t[18] = (unsigned char)o;
    } else {
        static const unsigned char tiff[26] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3,
                                               0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(t, tiff, sizeof tiff);
        t[19] = (unsigned char)o;
    }
    memset(dst, 0, sizeof *dst);
    img_buf_put(dst, jpg->p, 2);
    img_buf_put(dst, app, sizeof app);
    img_buf_put(dst, jpg->p + 2, (int)(jpg->n - 2));
}

Test(image, jpeg_exif_orientation_is_applied)
{
    /* The picture as meant to be seen, D: 120 x 90, dark ink on white.
     * For each EXIF orientation store it the way a camera would (S, from
     * which orientation o shows D) and check decoding shows D again. */
    const int w = 120, h = 90;
    float *cov = img_render(w, h, 30.5, 12.25, 66);
    unsigned char *d = img_gray8(cov, w, h, 1.0, 0.0);
    unsigned char *st = malloc((size_t)w * (size_t)h);
    cr_assert_not_null(st);
    for (unsigned o = 1; o <= 8; o++) {
        int sw = o >= 5 ? h : w, sh = o >= 5 ? w : h; /* stored size */
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int sx, sy; /* the stored pixel orientation o shows at (x, y) */
                switch (o) {
                case 2: sx = sw - 1 - x; sy = y; break;
                case 3: sx = sw - 1 - x; sy = sh - 1 - y; break;
                case 4: sx = x; sy = sh - 1 - y; break;
                case 5: sx = y; sy = x; break;
                case 6: sx = y; sy = sh - 1 - x; break;
                case 7: sx = sw - 1 - y; sy = sh - 1 - x; break;
                case 8: sx = sw - 1 - y; sy = x; break;
                default: sx = x; sy = y; break;
                }
                st[sy * sw + sx] = d[y * w + x];
            }
        img_buf jpg, withexif;
        img_encode(&jpg, 'j', sw, sh, 1, st);
        img_add_exif(&withexif, &jpg, o, o & 1);
        dl_gray *g = NULL;
        dl_err e;
        cr_assert_eq(dl_image_decode(withexif.p, withexif.n, "photo.jpg", &g, &e), DL_OK, "%s", e.msg);
        cr_expect(g->w == w && g->h == h, "orientation %u: %d x %d, expected %d x %d", o, g->w, g->h, w, h);
        if (g->w == w && g->h == h) {
            double mad = 0;
            for (int i = 0; i < w * h; i++) mad += fabs(g->px[i] - d[i] / 255.0);
            mad /= w * h;
            cr_expect(mad < 0.02, "orientation %u: mean absolute difference %.4f from the upright picture", o, mad);
        }
        dl_gray_free(g);
        free(jpg.p);
        free(withexif.p);
    }
    free(st);
    free(d);
    free(cov);
}

Test(image, broken_exif_is_ignored)
{
    /* An APP1 whose IFD offset points far outside the segment. */
    float *cov = img_render(40, 40, 8, 3, 30);
    unsigned char *px = img_gray8(cov, 40, 40, 1.0, 0.0);
    img_buf jpg, bad;
    img_encode(&jpg, 'j', 40, 40, 1, px);
    img_add_exif(&bad, &jpg, 6, 0);
    bad.p[2 + 10 + 4] = 0x7F; /* IFD offset 0x7F000008 */
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(bad.p, bad.n, "odd.jpg", &g, &e), DL_OK, "%s", e.msg);
    cr_expect(g->w == 40 && g->h == 40);
    dl_gray_free(g);
    free(jpg.p);
    free(bad.p);
    free(px);
    free(cov);
}

/* ---- arguments -------------------------------------------------------- */

Test(image, gray_new_refuses_impossible_and_huge_sizes)
{
    dl_err e;
    cr_expect_null(dl_gray_new(0, 5, &e));
    cr_expect_eq(e.code, DL_EINVAL);
    cr_expect_null(dl_gray_new(5, -1, &e));
    cr_expect_eq(e.code, DL_EINVAL);
    cr_expect_null(dl_gray_new(DL_IMAGE_MAX_SIDE + 1, 1, &e));
    cr_expect_eq(e.code, DL_ELIMIT);
    cr_expect_null(dl_gray_new(DL_IMAGE_MAX_SIDE, DL_IMAGE_MAX_SIDE, &e));
    cr_expect_eq(e.code, DL_ELIMIT);
    dl_gray_free(NULL);
}

Test(image, to_mnist_refuses_impossible_arguments)
{
    dl_err e;
    dl_gray *g = dl_gray_new(10, 10, &e);
    cr_assert_not_null(g);
    float out[IMG_N * IMG_N];
    cr_expect_eq(dl_image_to_mnist(NULL, IMG_N, IMG_N, out, &e), DL_EINVAL);
    cr_expect_eq(dl_image_to_mnist(g, 0, IMG_N, out, &e), DL_EINVAL);
    cr_expect_eq(dl_image_to_mnist(g, IMG_N, -4, out, &e), DL_EINVAL);
    cr_expect_eq(dl_image_to_mnist(g, IMG_N, IMG_N, NULL, &e), DL_EINVAL);
    dl_gray *none = g;
    cr_expect_eq(dl_image_decode(NULL, 10, "x", &none, &e), DL_EINVAL);
    cr_expect_null(none);
    dl_gray_free(g);
}

/* TGA has no magic: stb_image would read 27 arbitrary bytes as a
 * 1034x9824 picture.  Formats we do not promise never reach it. */
Test(image, formats_outside_the_promised_ones_are_refused_before_decoding)
{
    unsigned char tga[27] = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x04, 0x60, 0x26, 8, 0};
    unsigned char hdr[] = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 2 +X 2\n";
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(tga, sizeof tga, "x.tga", &g, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "not a picture digitlens can read"), "%s", e.msg);
    cr_assert_eq(dl_image_decode(hdr, sizeof hdr - 1, "x.hdr", &g, &e), DL_EFORMAT);
    cr_assert_null(g);
}
