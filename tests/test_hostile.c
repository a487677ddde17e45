/*
 * test_hostile.c — regression tests for what fuzzing and the bad-input
 * table found: files built to exhaust memory or to smuggle bytes into
 * messages, pairs of files that do not match, and signals that arrive
 * while a file is being written.  (The harnesses themselves live in
 * tests/fuzz/; these tests keep their findings fixed in every build.)
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <stb_image_write.h>

#include "digitlens/colormap.h"
#include "digitlens/fileio.h"
#include "digitlens/idx.h"
#include "digitlens/image.h"
#include "digitlens/model.h"
#include "digitlens/viz.h"
#include "support/support.h"

TestSuite(hostile);

/* ---- PNG files built by hand -------------------------------------------- */

typedef struct ho_buf {
    unsigned char *p;
    size_t n;
} ho_buf;

static void ho_add(ho_buf *b, const void *p, size_t n)
{
    b->p = realloc(b->p, b->n + n);
    cr_assert(b->p);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void ho_be32(ho_buf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    ho_add(b, c, 4);
}

/* A chunk whose length field says `len` while `n` bytes of body follow. */
static void ho_chunk(ho_buf *b, const char *type, const void *body, size_t n, uint32_t len)
{
    ho_be32(b, len);
    ho_add(b, type, 4);
    if (n) ho_add(b, body, n);
    uLong crc = crc32(crc32(0L, (const Bytef *)type, 4), body, (uInt)n);
    ho_be32(b, (uint32_t)crc);
}

/* Signature and IHDR of a w x h 8-bit grayscale PNG. */
static ho_buf ho_png_start(uint32_t w, uint32_t h)
{
    ho_buf b = {0};
    ho_add(&b, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ih[13] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16), (unsigned char)(w >> 8),
                            (unsigned char)w, (unsigned char)(h >> 24), (unsigned char)(h >> 16),
                            (unsigned char)(h >> 8), (unsigned char)h, 8, 0, 0, 0, 0};
    ho_chunk(&b, "IHDR", ih, 13, 13);
    return b;
}

static dl_status ho_decode(const ho_buf *b, dl_err *e)
{
    dl_gray *g = NULL;
    dl_status st = dl_image_decode(b->p, b->n, "hostile.png", &g, e);
    dl_gray_free(g);
    return st;
}

Test(hostile, png_whose_data_inflates_past_its_header_is_refused)
{
    /* 1 x 1 pixel needs 2 bytes; the data inflates to 8 MiB.  stb_image alone
     * grows its buffer to whatever the stream holds (4 GB at most). */
    size_t big = (size_t)8 << 20;
    unsigned char *zeros = calloc(big, 1);
    uLongf zn = compressBound((uLong)big);
    unsigned char *z = malloc(zn);
    cr_assert(zeros && z && compress2(z, &zn, zeros, (uLong)big, 9) == Z_OK);
    ho_buf b = ho_png_start(1, 1);
    ho_chunk(&b, "IDAT", z, zn, (uint32_t)zn);
    ho_chunk(&b, "IEND", NULL, 0, 0);
    dl_err e;
    cr_expect_eq(ho_decode(&b, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "hostile.png: PNG image data inflates to more than its 1 x 1 pixels need"), "%s", e.msg);
    free(b.p);
    free(z);
    free(zeros);
}

/* Bits for a deflate stream, least significant first; Huffman codes go in
 * most significant bit first, as RFC 1951 says. */
typedef struct ho_bits {
    unsigned char b[64];
    size_t n; /* bits written */
} ho_bits;

static void ho_put_bits(ho_bits *w, unsigned v, int k, int msb_first)
{
    for (int i = 0; i < k; i++) {
        unsigned bit = msb_first ? (v >> (k - 1 - i)) & 1 : (v >> i) & 1;
        w->b[w->n / 8] = (unsigned char)(w->b[w->n / 8] | bit << (w->n % 8));
        w->n++;
    }
}

Test(hostile, png_data_with_an_invalid_distance_code_is_refused)
{
    /* Found by MemorySanitizer: stb_image's inflater takes the invalid
     * distance codes 30 and 31 for a distance of 0 and copies bytes it has
     * not written yet.  zlib refuses them, and so do we, before stb_image. */
    ho_bits w;
    memset(&w, 0, sizeof w);
    ho_put_bits(&w, 1, 1, 0);          /* BFINAL */
    ho_put_bits(&w, 1, 2, 0);          /* BTYPE 01: fixed Huffman codes */
    ho_put_bits(&w, 0x30 + 0, 8, 1);   /* literal 0 (the filter byte) */
    ho_put_bits(&w, 0x30 + 7, 8, 1);   /* literal 7 */
    ho_put_bits(&w, 257 - 256, 7, 1);  /* length 3 */
    ho_put_bits(&w, 30, 5, 1);         /* distance code 30: invalid */
    ho_put_bits(&w, 0, 7, 1);          /* end of block */
    unsigned char z[80] = {0x78, 0x01};
    size_t zn = 2 + (w.n + 7) / 8;
    memcpy(z + 2, w.b, zn - 2);
    ho_buf b = ho_png_start(4, 1);
    ho_chunk(&b, "IDAT", z, zn, (uint32_t)zn);
    ho_chunk(&b, "IEND", NULL, 0, 0);
    dl_err e;
    cr_expect_eq(ho_decode(&b, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "hostile.png: damaged PNG image data (invalid distance code; the file is corrupt)"),
              "%s", e.msg);
    free(b.p);
}

Test(hostile, png_chunk_longer_than_the_file_is_refused)
{
    /* stb_image would reserve the 1.5 GB this IDAT claims before reading it. */
    ho_buf b = ho_png_start(28, 28);
    ho_chunk(&b, "IDAT", "xxxxxxxx", 8, 0x60000000u);
    dl_err e;
    cr_expect_eq(ho_decode(&b, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "a PNG chunk runs past the end of the file (the file is truncated or corrupt)"), "%s", e.msg);
    free(b.p);
}

Test(hostile, unknown_chunk_names_do_not_reach_the_message_raw)
{
    /* stb_image puts a critical chunk's unknown name into its failure
     * reason; here the name is a newline and a terminal escape. */
    ho_buf b = ho_png_start(4, 4);
    ho_chunk(&b, "\n\x1b[2", "ab", 2, 2);
    ho_chunk(&b, "IEND", NULL, 0, 0);
    dl_err e;
    cr_expect_eq(ho_decode(&b, &e), DL_EFORMAT);
    for (const char *p = e.msg; *p; p++) cr_expect((unsigned char)*p >= 0x20 && *p != 0x7f, "byte %d in: %s", *p, e.msg);
    cr_expect(strstr(e.msg, "cannot decode the picture"), "%s", e.msg);
    free(b.p);
}

static void ho_write_func(void *ctx, void *data, int size)
{
    ho_add(ctx, data, (size_t)size);
}

Test(hostile, honest_pngs_pass_the_inflate_check)
{
    /* Every channel count and odd widths: the check counts exactly what
     * the scanlines need, so nothing real may be refused. */
    for (int c = 1; c <= 4; c++)
        for (int w = 1; w <= 33; w += 8) {
            int h = 7;
            unsigned char *px = malloc((size_t)w * h * c);
            for (int i = 0; i < w * h * c; i++) px[i] = (unsigned char)(i * 37);
            ho_buf b = {0};
            cr_assert(stbi_write_png_to_func(ho_write_func, &b, w, h, c, px, w * c));
            dl_gray *g = NULL;
            dl_err e;
            cr_expect_eq(dl_image_decode(b.p, b.n, "ok.png", &g, &e), DL_OK, "%d channels, %d wide: %s", c, w, e.msg);
            dl_gray_free(g);
            free(b.p);
            free(px);
        }
}

/* ---- IDX pairs ------------------------------------------------------------ */

Test(hostile, mismatched_pair_is_refused_before_any_pixel_is_read)
{
    /* The image header promises 6 images but holds no pixels: the count
     * against the 5 labels is the first thing wrong, and reported as such
     * (a gzip bomb with the wrong count then costs nothing to refuse). */
    char *dir = ts_tempdir(), *im = ts_path(dir, "im"), *lb = ts_path(dir, "lb");
    uint8_t labels[5] = {0, 1, 2, 3, 4};
    size_t n = 0;
    unsigned char *b = ts_idx_labels(DL_IDX_MAGIC_LABELS, 5, labels, &n);
    ts_write(lb, b, n, 0);
    free(b);
    b = ts_idx_images(DL_IDX_MAGIC_IMAGES, 6, 28, 28, NULL, &n);
    ts_write(im, b, n, 1);
    free(b);
    dl_dataset *d = NULL;
    dl_err e;
    cr_expect_eq(dl_idx_load(im, lb, &d, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "6 images but") && strstr(e.msg, "has 5 labels (files do not pair up)"), "%s", e.msg);
    cr_expect_null(d);
    unlink(im);
    unlink(lb);
    rmdir(dir);
    free(im);
    free(lb);
    free(dir);
}

/* ---- models holding infinities ---------------------------------------------- */

Test(hostile, infinite_weights_saturate_the_colour_scale)
{
    /* A model file may hold any float.  With every weight +inf, the shared
     * colour limit is inf too, and inf / inf used to reach a float-to-int
     * conversion as NaN (undefined behaviour, found by fuzz_model). */
    dl_rgb o = dl_cmap_diverging(INFINITY, INFINITY);
    cr_expect(o.r == 103 && o.g == 0 && o.b == 31, "got %d,%d,%d", o.r, o.g, o.b);
    o = dl_scale_color(dl_scale_diverging(INFINITY), -INFINITY);
    cr_expect(o.r == 5 && o.g == 48 && o.b == 97, "got %d,%d,%d", o.r, o.g, o.b);
    int sizes[3] = {4, 2, 2};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 2, 2, &e);
    cr_assert(m, "%s", e.msg);
    for (size_t i = 0; i < m->net->nparams; i++) m->net->params[i] = i % 2 ? INFINITY : -INFINITY;
    dl_viz_style st = {NULL, 2};
    dl_canvas *c = dl_viz_weight_grid(m, 1, 0, 1, &st, &e);
    cr_expect(c, "%s", e.msg);
    dl_canvas_free(c);
    c = dl_viz_weight_picture(m, 2, 1, 1, dl_viz_layer_limit(m, 2, 1), &st, &e);
    cr_expect(c, "%s", e.msg);
    dl_canvas_free(c);
    dl_model_free(m);
}

/* ---- signals while writing --------------------------------------------------- */

static int ho_count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert(d);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));) n += strstr(de->d_name, ".tmp-") != NULL;
    closedir(d);
    return n;
}

/* In a child: opens a writer, gets SIGTERM (default action: die), writes
 * and commits (or aborts).  Returns how the child ended. */
static int ho_child_writes_through_sigterm(const char *path, int commit)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        dl_err e;
        dl_writer *w = dl_writer_open(path, &e);
        if (!w) _exit(3);
        raise(SIGTERM); /* held back: the temporary file exists */
        if (dl_writer_write(w, "complete", 8, &e) != DL_OK) _exit(4);
        if (commit) dl_writer_commit(w, &e);
        else dl_writer_abort(w);
        _exit(0); /* not reached: SIGTERM arrives as the writer finishes */
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    return status;
}

Test(hostile, sigterm_while_writing_leaves_the_whole_file_and_no_temporary)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "out.bin");
    int status = ho_child_writes_through_sigterm(path, 1);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    size_t n = 0;
    unsigned char *b = ts_read(path, &n);
    cr_expect(b && n == 8 && memcmp(b, "complete", 8) == 0);
    cr_expect_eq(ho_count_temps(dir), 0);
    free(b);
    unlink(path);

    status = ho_child_writes_through_sigterm(path, 0);
    cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    cr_expect_eq(access(path, F_OK), -1, "an aborted write left a file");
    cr_expect_eq(ho_count_temps(dir), 0);
    rmdir(dir);
    free(path);
    free(dir);
}

Test(hostile, writer_keeps_the_callers_signal_mask)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.bin");
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    cr_assert_eq(sigprocmask(SIG_BLOCK, &s, &old), 0);
    dl_err e;
    cr_assert_eq(dl_file_write_atomic(path, "x", 1, &e), DL_OK, "%s", e.msg);
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    cr_expect(sigismember(&now, SIGINT), "the caller's blocked SIGINT was released");
    cr_expect(!sigismember(&now, SIGTERM), "SIGTERM stayed blocked after the write");
    sigprocmask(SIG_SETMASK, &old, NULL);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}
