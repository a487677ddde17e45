/*
 * mkseeds.c — writes the fuzzers' seed corpora: small valid files of every
 * kind each harness reads, so fuzzing starts from inside the formats
 * rather than from random bytes.  Nothing binary is kept in the
 * repository; `make fuzz` and `make test` run this into build/fuzz/seeds.
 *     mkseeds DIR    makes DIR/idx, DIR/model, DIR/image, DIR/json and DIR/onnx
 *
 * idx/    inputs for fuzz_idx (first byte: its mode, see fuzz_idx.c):
 *         image sets raw and to be gzipped, label + image pairs, and a file
 *         gzip-compressed already;
 * model/  .dlm files through the library's own encoder: fresh, with
 *         history, stopped mid-epoch (shuffle order saved), partial with
 *         --digits classes, four layers;
 * snapshot/ snapshot files through the library's own writer: a few
 *         records of small networks, per batch and per epoch, and one
 *         with a torn last record;
 * image/  one digit drawn in PNG (every bit depth and colour type,
 *         palette with transparency, Adam7 interlaced), JPEG (with and
 *         without an EXIF Orientation tag), BMP, GIF, PBM/PGM/PPM (plain, 8 and 16
 *         bits), HDR, plus a 1 x 1 and a blank picture;
 * onnx/   digitlens exports and torch-shaped graphs (mkseeds_onnx.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <stb_image_write.h>

#include "digitlens/idx.h"
#include "digitlens/model.h"
#include "digitlens/network2.h"
#include "digitlens/rng.h"
#include "digitlens/snapshot.h"

#include "mkseeds.h"

static const char *g_dir;

void die(const char *what)
{
    fprintf(stderr, "mkseeds: %s\n", what);
    exit(1);
}

void save(const char *sub, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", g_dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) die(path);
}

/* A growable byte buffer. */
typedef struct bytes {
    unsigned char *p;
    size_t n, cap;
} bytes;

static void add(bytes *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) die("out of memory");
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void add_be32(bytes *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    add(b, c, 4);
}

static void add_be16(bytes *b, unsigned v)
{
    unsigned char c[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    add(b, c, 2);
}

/* Ink of a ring digit "0" at (x, y) of a w x h field, 0..1. */
static double ring(int x, int y, int w, int h)
{
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    double r = sqrt((x - cx) * (x - cx) / (cx * cx + 1e-9) + (y - cy) * (y - cy) / (cy * cy + 1e-9));
    double d = fabs(r - 0.6);
    return d < 0.12 ? 1.0 : d < 0.25 ? (0.25 - d) / 0.13 : 0.0;
}

/* ---- IDX --------------------------------------------------------------- */

static void idx_images(bytes *b, uint32_t n, uint32_t rows, uint32_t cols)
{
    add_be32(b, DL_IDX_MAGIC_IMAGES);
    add_be32(b, n);
    add_be32(b, rows);
    add_be32(b, cols);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t y = 0; y < rows; y++)
            for (uint32_t x = 0; x < cols; x++) {
                unsigned char v = (unsigned char)(255 * ring((int)x, (int)y, (int)cols, (int)rows) * (i % 2 ? 0.5 : 1));
                add(b, &v, 1);
            }
}

static void idx_labels(bytes *b, uint32_t n)
{
    add_be32(b, DL_IDX_MAGIC_LABELS);
    add_be32(b, n);
    for (uint32_t i = 0; i < n; i++) {
        unsigned char v = (unsigned char)(i % 10);
        add(b, &v, 1);
    }
}

static void idx_seed(const char *name, unsigned mode, uint32_t n, uint32_t rows, uint32_t cols)
{
    bytes b = {0}, l = {0}, im = {0};
    unsigned char m = (unsigned char)mode;
    add(&b, &m, 1);
    idx_images(&im, n, rows, cols);
    if (mode & 2) {
        idx_labels(&l, n);
        unsigned char s[2] = {(unsigned char)l.n, (unsigned char)(l.n >> 8)};
        add(&b, s, 2);
        add(&b, l.p, l.n);
    }
    add(&b, im.p, im.n);
    save("idx", name, b.p, b.n);
    free(b.p);
    free(l.p);
    free(im.p);
}

static void idx_seeds(void)
{
    idx_seed("images-3x4x4", 0, 3, 4, 4);
    idx_seed("images-3x4x4-gz", 1, 3, 4, 4);
    idx_seed("pair-5x3x5", 2, 5, 3, 5);
    idx_seed("pair-5x3x5-gz", 3, 5, 3, 5);
    idx_seed("images-1x28x28", 0, 1, 28, 28);
    idx_seed("images-0x1x1", 0, 0, 1, 1);
    /* Already gzip-compressed: fuzzes the gzip container itself. */
    bytes im = {0};
    idx_images(&im, 2, 6, 6);
    uLongf cap = compressBound((uLong)im.n) + 64;
    unsigned char *z = malloc(cap + 1);
    z_stream s;
    memset(&s, 0, sizeof s);
    if (!z || deflateInit2(&s, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) die("deflate");
    s.next_in = im.p;
    s.avail_in = (uInt)im.n;
    s.next_out = z + 1;
    s.avail_out = (uInt)cap;
    if (deflate(&s, Z_FINISH) != Z_STREAM_END) die("deflate");
    z[0] = 0;
    save("idx", "images-2x6x6-gzipped", z, 1 + s.total_out);
    deflateEnd(&s);
    free(z);
    free(im.p);
}

/* ---- models ------------------------------------------------------------ */

/* How a model seed is written: the book's network in the current format
 * or in version 1, or with chapter 3's extras (activations, log-likelihood,
 * momentum's velocity, dropout, early stopping's kept parameters, a halved
 * η) so the fuzzer starts from every field of version 2. */
enum { SEED_PLAIN, SEED_V1, SEED_CH3 };

/* Chapter 3's extras on a model with hist epochs of history. */
static void ch3_extras(dl_model *m, int hist)
{
    dl_err e;
    dl_net *n = m->net;
    for (int l = 0; l + 2 < n->nlayers; l++) n->act[l] = l % 2 ? DL_ACT_TANH : DL_ACT_RELU;
    n->act[n->nlayers - 2] = DL_ACT_SOFTMAX;
    m->cost = DL_COST_LOG_LIKELIHOOD;
    m->momentum = 0.9f;
    m->dropout = 0.5f;
    m->early_stop = 3;
    m->halve_after = 2;
    dl_train_state *s = &m->state;
    if (dl_train_state_array(s, &s->velocity, n->nparams, &e) != DL_OK ||
        dl_train_state_array(s, &s->kept, n->nparams, &e) != DL_OK)
        die(e.msg);
    for (size_t i = 0; i < n->nparams; i++) {
        s->velocity[i] = 0.01f * (float)(i % 5) - 0.02f;
        s->kept[i] = n->params[i] * 0.5f;
    }
    s->eta = m->eta / 4.0f;
    s->dropout_seed = 0x5eedULL;
    for (int i = 0; i < hist; i++) m->history[i].eta = i ? s->eta : m->eta;
    if (hist > 0) {
        s->best_epoch = 1;
        s->best_correct = m->history[0].correct;
        s->stale = (uint32_t)hist - 1;
        s->kept_is_last = s->pos == 0;
    }
}

static void model_seed(const char *name, int nl, const int *sizes, int rows, int cols, int hist,
                       int mid_epoch, const int *classes, int flavour)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(12, rows, cols, &e);
    if (!d) die(e.msg);
    for (size_t i = 0; i < d->n; i++) {
        d->labels[i] = (uint8_t)(i % (size_t)sizes[nl - 1]);
        for (size_t k = 0; k < d->npix; k++) d->pixels[i * d->npix + k] = (uint8_t)(i * 31 + k * 7);
    }
    dl_model *m = dl_model_new(nl, sizes, rows, cols, &e);
    if (!m || dl_model_start(m, DL_INIT_SCALED, 7, d, &e) != DL_OK) die(e.msg);
    m->cost = DL_COST_CROSS_ENTROPY;
    m->eta = 0.5f;
    m->lambda = 0.1f;
    m->batch = 3;
    m->epochs_planned = (uint32_t)(hist + 2);
    if (dl_model_reserve_history(m, m->epochs_planned, &e) != DL_OK) die(e.msg);
    for (int i = 0; i < hist; i++) {
        m->history[i].correct = (uint32_t)(5 + i);
        m->history[i].total = 12;
        m->history[i].cost = 0.5f / (float)(i + 1);
    }
    m->nhistory = (uint32_t)hist;
    m->state.epoch = (uint32_t)hist;
    if (mid_epoch) {
        dl_rng_shuffle(&m->state.rng, m->state.order, m->state.n);
        m->state.pos = 6;
        m->state.cost_sum = 1.25;
        m->flags |= DL_MODEL_PARTIAL;
    }
    if (classes)
        for (int k = 0; k < sizes[nl - 1]; k++) m->classes[k] = (uint8_t)classes[k];
    for (int i = 0; i < hist; i++) m->history[i].eta = m->eta;
    /* Some weights trained away from their initial values. */
    for (size_t i = 0; i < m->net->nparams; i += 3) m->net->params[i] *= 1.5f;
    if (flavour == SEED_CH3) ch3_extras(m, hist);
    unsigned char *p = NULL;
    size_t n = 0;
    if (dl_model_encode_version(m, flavour == SEED_V1 ? 1u : DL_MODEL_VERSION, &p, &n, &e) != DL_OK) die(e.msg);
    save("model", name, p, n);
    free(p);
    dl_model_free(m);
    dl_dataset_free(d);
}

static void model_seeds(void)
{
    static const int a[] = {16, 6, 2}, b[] = {6, 8, 4, 3}, c[] = {64, 10, 10}, d[] = {1, 1};
    static const int digits[] = {3, 7, 9};
    model_seed("fresh-16-6-2.dlm", 3, a, 4, 4, 0, 0, NULL, SEED_PLAIN);
    model_seed("trained-16-6-2.dlm", 3, a, 4, 4, 3, 0, NULL, SEED_PLAIN);
    model_seed("mid-epoch-16-6-2.dlm", 3, a, 4, 4, 2, 1, NULL, SEED_PLAIN);
    model_seed("digits-6-8-4-3.dlm", 4, b, 2, 3, 1, 1, digits, SEED_PLAIN);
    model_seed("tiny-1-1.dlm", 2, d, 1, 1, 0, 0, NULL, SEED_PLAIN);
    model_seed("eight-by-eight-64-10-10.dlm", 3, c, 8, 8, 2, 0, NULL, SEED_PLAIN);
    model_seed("v1-trained-16-6-2.dlm", 3, a, 4, 4, 3, 0, NULL, SEED_V1);
    model_seed("v1-mid-epoch-6-8-4-3.dlm", 4, b, 2, 3, 1, 1, digits, SEED_V1);
    model_seed("ch3-relu-softmax-16-6-2.dlm", 3, a, 4, 4, 3, 0, NULL, SEED_CH3);
    model_seed("ch3-mid-epoch-6-8-4-3.dlm", 4, b, 2, 3, 2, 1, digits, SEED_CH3);
}

/* ---- snapshots ---------------------------------------------------------- */

static void snapshot_seed(const char *name, int nl, const int *sizes, int rows, int cols, int unit, size_t n,
                          size_t torn)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/snapshot/%s", g_dir, name);
    dl_snapshot_header h;
    memset(&h, 0, sizeof h);
    h.nlayers = nl;
    memcpy(h.sizes, sizes, (size_t)nl * sizeof *sizes);
    h.rows = rows;
    h.cols = cols;
    h.unit = (dl_snap_unit)unit;
    h.every = 1;
    h.batch = 2;
    h.ntrain = 6;
    h.eval_n = 5;
    h.seed = 3;
    size_t P = dl_snapshot_nparams(&h);
    float *p = malloc(P * sizeof *p);
    if (!p) die("out of memory");
    dl_rng r;
    dl_rng_seed(&r, 5);
    dl_err e;
    dl_snapshot_writer *w = NULL;
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < P; i++) p[i] = (float)dl_rng_normal(&r) * (float)(k + 1);
        uint64_t step = unit ? 3 * k : k;
        dl_snapshot_meta m = {step, (uint32_t)(step / 3), (uint32_t)(2 * (step % 3)), (uint32_t)(k % 6), 5, 0.1f};
        if (m.correct > 5) m.correct = 5;
        if (!w ? !(w = dl_snapshot_create(path, &h, &m, p, &e)) : dl_snapshot_append(w, &m, p, &e) != DL_OK)
            die(e.msg);
    }
    if (dl_snapshot_close(w, &e) != DL_OK) die(e.msg);
    free(p);
    if (torn) {
        FILE *f = fopen(path, "ab");
        static const unsigned char junk[] = "SNAP\1\0\0\0partial";
        if (!f || fwrite(junk, 1, torn < sizeof junk ? torn : sizeof junk, f) == 0 || fclose(f) != 0) die(path);
    }
}

static void snapshot_seeds(void)
{
    static const int a[] = {16, 6, 2}, b[] = {6, 8, 4, 3}, c[] = {1, 1};
    snapshot_seed("batches-16-6-2.snapshots", 3, a, 4, 4, 0, 4, 0);
    snapshot_seed("epochs-6-8-4-3.snapshots", 4, b, 2, 3, 1, 3, 0);
    snapshot_seed("torn-16-6-2.snapshots", 3, a, 4, 4, 0, 2, 11);
    snapshot_seed("tiny-1-1.snapshots", 2, c, 1, 1, 0, 5, 0);
}

/* ---- pictures ---------------------------------------------------------- */

static void write_func(void *ctx, void *data, int size)
{
    add(ctx, data, (size_t)size);
}

/* A w x h picture of a ring with c channels: dark ink on light paper
 * (light = 0) or light on dark; alpha, when present, is transparent
 * outside the ink when clear_bg. */
static unsigned char *digit(int w, int h, int c, int light, int clear_bg)
{
    unsigned char *p = malloc((size_t)w * h * c);
    if (!p) die("out of memory");
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double ink = ring(x, y, w, h);
            unsigned char v = (unsigned char)(light ? 255 * ink : 255 * (1 - ink));
            unsigned char *q = p + ((size_t)y * w + x) * c;
            for (int k = 0; k < c; k++) q[k] = v;
            if (c >= 3) q[0] = (unsigned char)(v / 2 + 60);
            if (c == 2 || c == 4) q[c - 1] = clear_bg ? (unsigned char)(255 * ink) : 255;
        }
    return p;
}

static void stb_seed(const char *name, int kind, int w, int h, int c, int light, int clear_bg)
{
    unsigned char *p = digit(w, h, c, light, clear_bg);
    bytes b = {0};
    int ok = kind == 0   ? stbi_write_png_to_func(write_func, &b, w, h, c, p, w * c)
             : kind == 1 ? stbi_write_bmp_to_func(write_func, &b, w, h, c, p)
                         : stbi_write_jpg_to_func(write_func, &b, w, h, c, p, 80);
    if (!ok) die(name);
    save("image", name, b.p, b.n);
    free(b.p);
    free(p);
}

static void png_chunk(bytes *b, const char *type, const unsigned char *d, size_t n)
{
    add_be32(b, (uint32_t)n);
    bytes t = {0};
    add(&t, type, 4);
    if (n) add(&t, d, n);
    add(b, t.p, t.n);
    add_be32(b, (uint32_t)crc32(0L, t.p, (uInt)t.n));
    free(t.p);
}

/* A PNG of the ring with any bit depth and colour type, optionally Adam7
 * interlaced, written by hand (stb_image_write only makes 8-bit). */
static void png_seed(const char *name, int w, int h, int depth, int ctype, int interlace)
{
    int chans = ctype == 0 ? 1 : ctype == 2 ? 3 : ctype == 3 ? 1 : ctype == 4 ? 2 : 4;
    int maxv = (1 << depth) - 1;
    static const int X0[7] = {0, 4, 0, 2, 0, 1, 0}, Y0[7] = {0, 0, 4, 0, 2, 0, 1};
    static const int DX[7] = {8, 8, 4, 4, 2, 2, 1}, DY[7] = {8, 8, 8, 4, 4, 2, 2};
    bytes raw = {0};
    for (int pass = 0; pass < (interlace ? 7 : 1); pass++) {
        int x0 = interlace ? X0[pass] : 0, y0 = interlace ? Y0[pass] : 0;
        int dx = interlace ? DX[pass] : 1, dy = interlace ? DY[pass] : 1;
        if (x0 >= w || y0 >= h) continue;
        for (int y = y0; y < h; y += dy) {
            /* Every filter type, except in palette images: there the
             * unfiltered bytes (see below) would be indices beyond the
             * palette, which digitlens refuses. */
            unsigned char f = ctype == 3 ? 0 : (unsigned char)(y % 5);
            add(&raw, &f, 1);
            int bits = 0;
            unsigned acc = 0;
            for (int x = x0; x < w; x += dx)
                for (int k = 0; k < chans; k++) {
                    double ink = ring(x, y, w, h);
                    unsigned v = (unsigned)((1.0 - ink) * maxv + 0.5);
                    if (ctype == 3) v = (unsigned)(ink * 3.0 + 0.5) & (unsigned)maxv; /* palette index */
                    if ((ctype == 4 || ctype == 6) && k == chans - 1) v = (unsigned)maxv;
                    if (depth == 16) {
                        add_be16(&raw, v);
                        continue;
                    }
                    acc = acc << depth | v;
                    bits += depth;
                    if (bits == 8) {
                        unsigned char o = (unsigned char)acc;
                        add(&raw, &o, 1);
                        acc = 0;
                        bits = 0;
                    }
                }
            if (bits) {
                unsigned char o = (unsigned char)(acc << (8 - bits));
                add(&raw, &o, 1);
            }
        }
    }
    /* Filter bytes are declared but the data is unfiltered: for filters
     * 1-4 the decoder then sees other (still valid) pixels, which is all a
     * seed needs. */
    uLongf zn = compressBound((uLong)raw.n);
    unsigned char *z = malloc(zn);
    if (!z || compress2(z, &zn, raw.p, (uLong)raw.n, 9) != Z_OK) die("compress");
    bytes b = {0};
    add(&b, "\x89PNG\r\n\x1a\n", 8);
    bytes ih = {0};
    add_be32(&ih, (uint32_t)w);
    add_be32(&ih, (uint32_t)h);
    unsigned char rest[5] = {(unsigned char)depth, (unsigned char)ctype, 0, 0, (unsigned char)interlace};
    add(&ih, rest, 5);
    png_chunk(&b, "IHDR", ih.p, ih.n);
    if (ctype == 3) {
        unsigned char plte[12] = {255, 255, 255, 170, 170, 170, 85, 85, 85, 0, 0, 0};
        unsigned char trns[2] = {0, 255};
        png_chunk(&b, "PLTE", plte, (size_t)3 * (maxv + 1 < 4 ? (size_t)maxv + 1 : 4));
        png_chunk(&b, "tRNS", trns, 2);
    }
    png_chunk(&b, "IDAT", z, zn);
    png_chunk(&b, "IEND", NULL, 0);
    save("image", name, b.p, b.n);
    free(ih.p);
    free(b.p);
    free(z);
    free(raw.p);
}

static void pnm_seed(const char *name, int w, int h, int c, int maxv)
{
    bytes b = {0};
    char hdr[64];
    int n = snprintf(hdr, sizeof hdr, "P%d\n# digit\n%d %d\n%d\n", c == 1 ? 5 : 6, w, h, maxv);
    add(&b, hdr, (size_t)n);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                unsigned v = (unsigned)((1.0 - ring(x, y, w, h)) * maxv);
                if (maxv > 255) add_be16(&b, v);
                else {
                    unsigned char o = (unsigned char)v;
                    add(&b, &o, 1);
                }
            }
    save("image", name, b.p, b.n);
    free(b.p);
}

/* Plain netpbm (P1, P2, P3) and the binary bitmap (P4) of the ring. */
static void pnm_plain_seed(const char *name, int type, int w, int h)
{
    bytes b = {0};
    char s[64];
    int n = snprintf(s, sizeof s, "P%d\n# ring\n%d %d\n%s", type, w, h, type == 1 || type == 4 ? "" : "255\n");
    add(&b, s, (size_t)n);
    for (int y = 0; y < h; y++) {
        unsigned char bits = 0;
        for (int x = 0; x < w; x++) {
            unsigned v = (unsigned)((1.0 - ring(x, y, w, h)) * 255);
            if (type == 4) {
                bits = (unsigned char)(bits | (v < 128) << (7 - x % 8));
                if (x % 8 == 7 || x + 1 == w) add(&b, &bits, 1), bits = 0;
                continue;
            }
            n = type == 1 ? snprintf(s, sizeof s, "%d", v < 128)
              : type == 2 ? snprintf(s, sizeof s, "%u ", v)
                          : snprintf(s, sizeof s, "%u %u %u ", v, v / 2, 255 - v);
            add(&b, s, (size_t)n);
        }
        if (type != 4) add(&b, "\n", 1);
    }
    save("image", name, b.p, b.n);
    free(b.p);
}

/* The JPEG with an APP1 Exif segment saying "turn 90 degrees clockwise"
 * (Orientation 6), big-endian TIFF, inserted right after SOI. */
static void jpeg_exif_seed(void)
{
    unsigned char *p = digit(24, 16, 3, 0, 0);
    bytes j = {0};
    if (!stbi_write_jpg_to_func(write_func, &j, 24, 16, 3, p, 90)) die("jpeg");
    static const unsigned char app1[] = {
        0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0,            /* APP1, length 34 */
        'M', 'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,               /* TIFF header, IFD at 8 */
        0x00, 0x01,                                                  /* one entry */
        0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00, /* Orientation = 6 */
        0x00, 0x00, 0x00, 0x00};                                     /* no next IFD */
    bytes b = {0};
    add(&b, j.p, 2);
    add(&b, app1, sizeof app1);
    add(&b, j.p + 2, j.n - 2);
    save("image", "exif-orientation-6.jpg", b.p, b.n);
    free(b.p);
    free(j.p);
    free(p);
}

static void image_seeds(void)
{
    stb_seed("gray-28.png", 0, 28, 28, 1, 1, 0);
    stb_seed("dark-on-light-40x30.png", 0, 40, 30, 1, 0, 0);
    stb_seed("gray-alpha-transparent.png", 0, 20, 20, 2, 0, 1);
    stb_seed("rgb-32x24.png", 0, 32, 24, 3, 0, 0);
    stb_seed("rgba-16.png", 0, 16, 16, 4, 1, 1);
    stb_seed("one-pixel.png", 0, 1, 1, 1, 0, 0);
    stb_seed("rgb-20.bmp", 1, 20, 20, 3, 0, 0);
    stb_seed("rgba-12.bmp", 1, 12, 12, 4, 0, 1);
    stb_seed("gray-24.jpg", 2, 24, 24, 1, 0, 0);
    stb_seed("rgb-32.jpg", 2, 32, 32, 3, 1, 0);
    jpeg_exif_seed();
    png_seed("gray1.png", 13, 11, 1, 0, 0);
    png_seed("gray2-interlaced.png", 13, 11, 2, 0, 1);
    png_seed("gray4.png", 9, 9, 4, 0, 0);
    png_seed("gray16-interlaced.png", 10, 12, 16, 0, 1);
    png_seed("palette2-trns.png", 14, 10, 2, 3, 0);
    png_seed("palette8-interlaced.png", 12, 12, 8, 3, 1);
    png_seed("rgb16.png", 8, 8, 16, 2, 0);
    png_seed("gray-alpha16.png", 8, 8, 16, 4, 0);
    png_seed("rgba8-interlaced.png", 11, 9, 8, 6, 1);
    pnm_seed("digit.pgm", 12, 10, 1, 255);
    pnm_seed("digit16.pgm", 8, 8, 1, 65535);
    pnm_seed("digit.ppm", 9, 9, 3, 255);
    pnm_plain_seed("plain.pbm", 1, 10, 9);
    pnm_plain_seed("plain.pgm", 2, 9, 8);
    pnm_plain_seed("plain.ppm", 3, 7, 7);
    pnm_plain_seed("bitmap.pbm", 4, 13, 11);
    /* The smallest GIF: 1 x 1, one transparent colour. */
    static const unsigned char gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0xff, 0xff,
                                        0xff, 0, 0, 0, '!', 0xf9, 4, 1, 0, 0, 0, 0, ',', 0, 0, 0, 0,
                                        1, 0, 1, 0, 0, 2, 2, 'D', 1, 0, ';'};
    save("image", "one-pixel.gif", gif, sizeof gif);
    float hdr[6 * 6 * 3];
    for (int i = 0; i < 36; i++) hdr[3 * i] = hdr[3 * i + 1] = hdr[3 * i + 2] = (float)ring(i % 6, i / 6, 6, 6) * 4.0f;
    bytes b = {0};
    if (!stbi_write_hdr_to_func(write_func, &b, 6, 6, 3, hdr)) die("hdr");
    save("image", "ring.hdr", b.p, b.n);
    free(b.p);
    unsigned char blank[16 * 16];
    memset(blank, 255, sizeof blank);
    b = (bytes){0};
    if (!stbi_write_png_to_func(write_func, &b, 16, 16, 1, blank, 16)) die("blank");
    save("image", "blank.png", b.p, b.n);
    free(b.p);
}

/* ---- network2.py JSON --------------------------------------------------- */

/* The library's own writer makes the valid ones; the rest are hand-made
 * corners of the grammar the parser must refuse or survive.  Each file
 * starts with the harness's shape byte. */
static void json_seed(const char *name, char shape, const char *text, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) die("out of memory");
    p[0] = shape;
    memcpy(p + 1, text, n);
    save("json", name, p, n + 1);
    free(p);
}

static void json_seeds(void)
{
    const int a[] = {4, 3, 2}, b[] = {6, 2};
    const int *sz[] = {a, b};
    const int nl[] = {3, 2};
    for (int i = 0; i < 2; i++) {
        dl_err e;
        dl_model *m = dl_model_new(nl[i], sz[i], 1, sz[i][0], &e);
        if (!m) die(e.msg);
        for (size_t k = 0; k < m->net->nparams; k++) m->net->params[k] = (float)((int)(k * 37 % 19) - 9) / 7.0f;
        if (i) m->cost = DL_COST_CROSS_ENTROPY;
        char *t = NULL;
        size_t n = 0;
        if (dl_nielsen_encode(m, &t, &n, &e) != DL_OK) die(e.msg);
        json_seed(i ? "cross-entropy-6-2.json" : "quadratic-4-3-2.json", 0, t, n);
        dl_model_free(m);
        free(t);
    }
    static const char *const odd[] = {
        "{\"sizes\": [1, 1], \"weights\": [[[1e400]]], \"biases\": [[[-0.0]]], \"cost\": \"QuadraticCost\"}",
        "{\"sizes\": [2, 1], \"weights\": [[[1, 2]]], \"biases\": [[[3]]], \"cost\": \"Q\\u0075adraticCost\", "
        "\"extra\": {\"a\": [true, false, null, \"\\ud83d\\ude00\"]}}",
        "\xEF\xBB\xBF [1, [2, [3, [4]]], {\"k\": {}}, \"\\n\\t\\\"\"]",
        "{\"sizes\": [2, 1], \"sizes\": [2, 1]}",
        "{\"sizes\": [784, 30, 10], \"weights\": [], \"biases\": [], \"cost\": \"CrossEntropyCost\"}",
    };
    char name[32];
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        snprintf(name, sizeof name, "odd-%zu.json", i);
        json_seed(name, (char)i, odd[i], strlen(odd[i]));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds DIR\n");
        return 2;
    }
    g_dir = argv[1];
    const char *subs[] = {"", "/idx", "/model", "/image", "/json", "/snapshot", "/onnx"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s%s", g_dir, subs[i]);
        mkdir(p, 0777);
    }
    idx_seeds();
    model_seeds();
    snapshot_seeds();
    image_seeds();
    json_seeds();
    onnx_seeds();
    return 0;
}
