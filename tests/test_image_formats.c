/*
 * test_image_formats.c — pictures cut short and the netpbm family
 * (src/image_formats.c): every truncated picture is refused naming the
 * file, whatever the format; P1-P6 read to the same grey levels; maxval
 * is checked and scales.
 *
 * Fixtures are built here: PNG, JPEG and BMP through stb_image_write, a
 * GIF with a small LZW encoder of our own (8-bit codes, a clear code often
 * enough that the code width never grows), netpbm by hand.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>
#include <zlib.h>

#include "digitlens/image.h"

TestSuite(image_formats);

typedef struct fm_buf {
    unsigned char *p;
    size_t n;
} fm_buf;

static void fm_add(fm_buf *b, const void *p, size_t n)
{
    b->p = realloc(b->p, b->n + n + 1);
    cr_assert_not_null(b->p);
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void fm_byte(fm_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    fm_add(b, &c, 1);
}

static void fm_str(fm_buf *b, const char *s) { fm_add(b, s, strlen(s)); }

static void fm_put(void *ctx, void *data, int size) { fm_add(ctx, data, (size_t)size); }

/* A W x H test picture: a dark ring on light paper, values 0..127 so the
 * GIF's 128-entry palette holds them exactly (level = 2 * value). */
#define FM_W 24
#define FM_H 20
static void fm_pixels(unsigned char px[FM_H * FM_W])
{
    for (int y = 0; y < FM_H; y++)
        for (int x = 0; x < FM_W; x++) {
            int dx = x - FM_W / 2, dy = y - FM_H / 2, r2 = dx * dx + dy * dy;
            px[y * FM_W + x] = (unsigned char)(r2 > 16 && r2 < 49 ? 5 + (x % 3) : 120 - (y % 4));
        }
}

/* A GIF89a of those pixels: 128-colour grey palette (entry i = 2i), LZW
 * with a minimum code size of 7, so every code is one 8-bit byte as long
 * as a clear code comes before the table reaches 256 entries. */
static fm_buf fm_gif(const unsigned char *px)
{
    fm_buf b = {0};
    fm_str(&b, "GIF89a");
    unsigned char lsd[7] = {FM_W, 0, FM_H, 0, 0xF6, 0, 0};
    fm_add(&b, lsd, 7);
    for (unsigned i = 0; i < 128; i++) {
        fm_byte(&b, 2 * i);
        fm_byte(&b, 2 * i);
        fm_byte(&b, 2 * i);
    }
    unsigned char desc[10] = {0x2C, 0, 0, 0, 0, FM_W, 0, FM_H, 0, 0};
    fm_add(&b, desc, 10);
    fm_byte(&b, 7);
    fm_buf codes = {0};
    for (int i = 0; i < FM_W * FM_H; i++) {
        if (i % 100 == 0) fm_byte(&codes, 128); /* clear */
        fm_byte(&codes, px[i]);
    }
    fm_byte(&codes, 129); /* end of information */
    for (size_t k = 0; k < codes.n; k += 255) {
        size_t len = codes.n - k < 255 ? codes.n - k : 255;
        fm_byte(&b, (unsigned)len);
        fm_add(&b, codes.p + k, len);
    }
    fm_byte(&b, 0);
    fm_byte(&b, 0x3B);
    free(codes.p);
    return b;
}

/* The same pixels as netpbm: type 1..6, maxval (ignored for PBM, where a
 * pixel is black below 64). */
static fm_buf fm_pnm(const unsigned char *px, int type, unsigned maxval)
{
    fm_buf b = {0};
    char head[64];
    if (type == 1 || type == 4) snprintf(head, sizeof head, "P%d\n# made by a test\n%d %d\n", type, FM_W, FM_H);
    else snprintf(head, sizeof head, "P%d\n%d %d\n# maxval next\n%u\n", type, FM_W, FM_H, maxval);
    fm_str(&b, head);
    int c = (type == 3 || type == 6) ? 3 : 1;
    for (int y = 0; y < FM_H; y++) {
        unsigned char bits = 0;
        for (int x = 0; x < FM_W; x++) {
            unsigned v = px[y * FM_W + x] * maxval / 127u, black = px[y * FM_W + x] < 64;
            char s[16];
            switch (type) {
            case 1: fm_byte(&b, black ? '1' : '0'); if (x % 8 == 7) fm_byte(&b, ' '); break;
            case 4:
                bits = (unsigned char)(bits | black << (7 - x % 8));
                if (x % 8 == 7 || x == FM_W - 1) { fm_byte(&b, bits); bits = 0; }
                break;
            case 2:
            case 3:
                for (int k = 0; k < c; k++) {
                    snprintf(s, sizeof s, "%u%s", v, (x == FM_W - 1 && k == c - 1) ? "\n" : " ");
                    fm_str(&b, s);
                }
                break;
            default:
                for (int k = 0; k < c; k++) {
                    if (maxval > 255) fm_byte(&b, v >> 8);
                    fm_byte(&b, v & 255);
                }
            }
        }
        if (type == 1) fm_byte(&b, '\n');
    }
    return b;
}

static fm_buf fm_stb(char fmt, const unsigned char *px)
{
    /* Grey to RGB: a 24-bit BMP row of 24 pixels is 72 bytes, no padding. */
    unsigned char rgb[FM_H * FM_W * 3];
    for (int i = 0; i < FM_H * FM_W; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = (unsigned char)(2 * px[i]);
    fm_buf b = {0};
    int ok = fmt == 'p' ? stbi_write_png_to_func(fm_put, &b, FM_W, FM_H, 3, rgb, FM_W * 3)
           : fmt == 'j' ? stbi_write_jpg_to_func(fm_put, &b, FM_W, FM_H, 3, rgb, 95)
                        : stbi_write_bmp_to_func(fm_put, &b, FM_W, FM_H, 3, rgb);
    cr_assert(ok && b.n > 0);
    return b;
}

static dl_gray *fm_decode(const fm_buf *b, const char *name)
{
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(b->p, b->n, name, &g, &e), DL_OK, "%s: %s", name, e.msg);
    cr_assert(g->w == FM_W && g->h == FM_H, "%s: %d x %d", name, g->w, g->h);
    return g;
}

/* Every cut of a picture shorter than `whole` bytes is refused, as a
 * format error whose message names the file. */
static void fm_every_cut_refused(const fm_buf *b, size_t whole, const char *name)
{
    for (size_t len = 0; len < whole; len++) {
        dl_gray *g = NULL;
        dl_err e;
        dl_status st = dl_image_decode(b->p, len, name, &g, &e);
        cr_assert_neq(st, DL_OK, "%s cut to %zu of %zu bytes was decoded", name, len, b->n);
        cr_assert_null(g);
        cr_assert(strncmp(e.msg, name, strlen(name)) == 0 && e.msg[strlen(name)] == ':', "%s: %s", name, e.msg);
        cr_assert(!strstr(e.msg, "png sig"), "%s cut to %zu: %s", name, len, e.msg);
    }
}

Test(image_formats, every_truncated_picture_is_refused_naming_the_file)
{
    unsigned char px[FM_H * FM_W];
    fm_pixels(px);
    struct { fm_buf b; const char *name; size_t keep; } f[] = {
        {fm_pnm(px, 5, 255), "cut.pgm", 0},  {fm_pnm(px, 5, 65535), "cut16.pgm", 0},
        {fm_pnm(px, 6, 255), "cut.ppm", 0},  {fm_pnm(px, 4, 1), "cut.pbm", 0},
        {fm_pnm(px, 2, 255), "cut-p2.pgm", 3}, {fm_pnm(px, 3, 255), "cut-p3.ppm", 3},
        {fm_pnm(px, 1, 1), "cut-p1.pbm", 2}, {fm_stb('b', px), "cut.bmp", 0},
        {fm_gif(px), "cut.gif", 0},          {fm_stb('j', px), "cut.jpg", 0},
        {fm_stb('p', px), "cut.png", 0},
    };
    /* keep: bytes at the end whose loss cannot be seen: P1's last
     * separators, and the digits of the plain formats' last number ("234"
     * cut to "23" is still a number).  A GIF without its trailer byte and a
     * PNG cut inside its IEND chunk hold all their pixels but were cut short
     * all the same, so they are refused too. */
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        dl_gray *g = fm_decode(&f[i].b, f[i].name);
        dl_gray_free(g);
        fm_every_cut_refused(&f[i].b, f[i].b.n - f[i].keep, f[i].name);
        free(f[i].b.p);
    }
}

Test(image_formats, a_truncated_pgm_says_how_much_is_missing)
{
    unsigned char px[FM_H * FM_W];
    fm_pixels(px);
    fm_buf b = fm_pnm(px, 5, 255);
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(b.p, b.n - 100, "digit.pgm", &g, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "digit.pgm: truncated PGM (P5): 24 x 20 pixels need 480 bytes of data, the file holds 380"),
              "%s", e.msg);
    free(b.p);
}

Test(image_formats, ascii_and_bitmap_netpbm_read_like_their_binary_forms)
{
    unsigned char px[FM_H * FM_W];
    fm_pixels(px);
    fm_buf p5 = fm_pnm(px, 5, 255), p2 = fm_pnm(px, 2, 255), p6 = fm_pnm(px, 6, 255), p3 = fm_pnm(px, 3, 255);
    fm_buf p4 = fm_pnm(px, 4, 1), p1 = fm_pnm(px, 1, 1), p16 = fm_pnm(px, 5, 65535), gif = fm_gif(px);
    dl_gray *g5 = fm_decode(&p5, "a.pgm"), *g2 = fm_decode(&p2, "a-p2.pgm"), *g6 = fm_decode(&p6, "a.ppm");
    dl_gray *g3 = fm_decode(&p3, "a-p3.ppm"), *g4 = fm_decode(&p4, "a.pbm"), *g1 = fm_decode(&p1, "a-p1.pbm");
    dl_gray *g16 = fm_decode(&p16, "a16.pgm"), *gg = fm_decode(&gif, "a.gif");
    for (int i = 0; i < FM_W * FM_H; i++) {
        cr_assert_eq(g2->px[i], g5->px[i], "P2 pixel %d", i);
        cr_assert_float_eq(g6->px[i], g5->px[i], 1e-6f, "P6 pixel %d", i);
        cr_assert_eq(g3->px[i], g6->px[i], "P3 pixel %d", i);
        cr_assert_float_eq(g16->px[i], (float)(px[i] * 65535u / 127u) / 65535.0f, 1e-6f, "16-bit pixel %d", i);
        cr_assert_float_eq(g5->px[i], (float)(px[i] * 255u / 127u) / 255.0f, 1e-6f, "8-bit pixel %d", i);
        cr_assert_eq(g1->px[i], g4->px[i], "P1 pixel %d", i);
        cr_assert_eq(g4->px[i], px[i] < 64 ? 0.0f : 1.0f, "P4 pixel %d: 1 is black", i);
        cr_assert_float_eq(gg->px[i], 2.0f * px[i] / 255.0f, 1e-6f, "GIF pixel %d", i);
    }
    dl_gray *gs[] = {g5, g2, g6, g3, g4, g1, g16, gg};
    for (size_t i = 0; i < 8; i++) dl_gray_free(gs[i]);
    fm_buf *bs[] = {&p5, &p2, &p6, &p3, &p4, &p1, &p16, &gif};
    for (size_t i = 0; i < 8; i++) free(bs[i]->p);
}

Test(image_formats, pgm_maxval_is_checked_and_scales_the_samples)
{
    static const struct { const char *file; dl_status want; const char *msg; } cases[] = {
        {"P5\n2 1\n0\n\x01\x01", DL_EFORMAT, "a.pgm: PGM (P5) maxval 0 is not allowed (1..65535)"},
        {"P2\n2 1\n0\n0 0\n", DL_EFORMAT, "a.pgm: PGM (P2) maxval 0 is not allowed"},
        {"P5\n2 1\n65536\n", DL_EFORMAT, "maxval above 65535 is not allowed"},
        {"P2\n2 1\n15\n3 16\n", DL_EFORMAT, "a.pgm: PGM (P2) pixel 1 is above the maxval 15"},
        {"P2\n2 1\n15\n3 x\n", DL_EFORMAT, "a.pgm: PGM (P2) pixel 1 is not a number"},
        {"P1\n2 1\n0 2\n", DL_EFORMAT, "a.pgm: PBM (P1) pixel 1 is not 0 or 1"},
        {"P5\n70000 70000\n255\n", DL_ELIMIT, "picture is 70000 x 70000 pixels, beyond the limit"},
        {"P5\n2\n", DL_EFORMAT, "a.pgm: damaged PGM (P5) header (the width and height are missing"},
        {"P5\n2 1\n255", DL_EFORMAT, "a.pgm: damaged PGM (P5) header (no whitespace before the pixel data)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dl_gray *g = NULL;
        dl_err e;
        const unsigned char *d = (const unsigned char *)cases[i].file;
        size_t n = strlen(cases[i].file);
        cr_expect_eq(dl_image_decode(d, n, "a.pgm", &g, &e), cases[i].want, "case %zu: %s", i, e.msg);
        cr_expect(strstr(e.msg, cases[i].msg), "case %zu: '%s'", i, e.msg);
        cr_expect_null(g);
    }
    /* maxval 15: 15 is white, 3 is 0.2 (stb_image used to read them as 15/255). */
    static const unsigned char p5[] = "P5 2 1 15 \x03\x0f";
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(p5, sizeof p5 - 1, "b.pgm", &g, &e), DL_OK, "%s", e.msg);
    cr_expect_float_eq(g->px[0], 0.2f, 1e-6f);
    cr_expect_float_eq(g->px[1], 1.0f, 1e-6f);
    dl_gray_free(g);
}

Test(image_formats, a_truncated_jpeg_is_called_a_truncated_jpeg)
{
    unsigned char px[FM_H * FM_W];
    fm_pixels(px);
    fm_buf b = fm_stb('j', px);
    int named = 0;
    for (size_t len = b.n / 4; len < b.n; len++) {
        dl_gray *g = NULL;
        dl_err e;
        cr_assert_neq(dl_image_decode(b.p, len, "photo.jpg", &g, &e), DL_OK);
        named += strstr(e.msg, "photo.jpg: truncated JPEG") != NULL;
    }
    cr_expect_eq(named, (int)(b.n - b.n / 4), "some cuts were not called truncated");
    free(b.p);
}

/* ---- palette PNGs ----------------------------------------------------------- */

static void fm_be32(fm_buf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    fm_add(b, c, 4);
}

static void fm_chunk(fm_buf *b, const char *type, const unsigned char *body, size_t n)
{
    fm_be32(b, (uint32_t)n);
    fm_add(b, type, 4);
    if (n) fm_add(b, body, n);
    fm_be32(b, (uint32_t)crc32(crc32(0L, (const Bytef *)type, 4), body, (uInt)n));
}

static unsigned fm_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return (unsigned)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

/* A w x h palette PNG at `depth` bits of the given indices, each row
 * filtered with type (row % 5), and a grey palette of npal entries
 * (entry i = 40 i). */
static fm_buf fm_png_palette(const unsigned char *idx, int w, int h, int depth, unsigned npal)
{
    size_t rb = ((size_t)w * (size_t)depth + 7) / 8;
    unsigned char *rows = calloc((size_t)h, rb), *raw = malloc((size_t)h * (rb + 1));
    cr_assert(rows && raw);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t bit = (size_t)x * (size_t)depth;
            rows[(size_t)y * rb + bit / 8] |= (unsigned char)(idx[y * w + x] << (8 - depth - bit % 8));
        }
    for (int y = 0; y < h; y++) {
        unsigned f = (unsigned)y % 5;
        raw[(size_t)y * (rb + 1)] = (unsigned char)f;
        const unsigned char *r = rows + (size_t)y * rb, *u = y ? r - rb : NULL;
        for (size_t i = 0; i < rb; i++) {
            int a = i ? r[i - 1] : 0, b = u ? u[i] : 0, c = (i && u) ? u[i - 1] : 0;
            unsigned pred = f == 1 ? (unsigned)a : f == 2 ? (unsigned)b : f == 3 ? (unsigned)(a + b) / 2
                          : f == 4 ? fm_paeth(a, b, c) : 0;
            raw[(size_t)y * (rb + 1) + 1 + i] = (unsigned char)(r[i] - pred);
        }
    }
    uLongf zn = compressBound((uLong)((size_t)h * (rb + 1)));
    unsigned char *z = malloc(zn);
    cr_assert_eq(compress2(z, &zn, raw, (uLong)((size_t)h * (rb + 1)), 9), Z_OK);
    fm_buf b = {0};
    fm_add(&b, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ih[13] = {0, 0, 0, (unsigned char)w, 0, 0, 0, (unsigned char)h, (unsigned char)depth, 3, 0, 0, 0};
    fm_chunk(&b, "IHDR", ih, 13);
    unsigned char plte[768];
    for (unsigned i = 0; i < npal; i++) plte[3 * i] = plte[3 * i + 1] = plte[3 * i + 2] = (unsigned char)(40 * i);
    fm_chunk(&b, "PLTE", plte, 3 * (size_t)npal);
    fm_chunk(&b, "IDAT", z, zn);
    fm_chunk(&b, "IEND", NULL, 0);
    free(z);
    free(raw);
    free(rows);
    return b;
}

Test(image_formats, a_png_index_beyond_its_palette_is_refused)
{
    /* stb_image would read such a pixel's colour from uninitialised stack
     * memory (found by MemorySanitizer).  Rows use every filter type, so
     * only the unfiltered indices are in range: the check must undo them. */
    enum { W = 7, H = 6 };
    unsigned char idx[W * H];
    for (int i = 0; i < W * H; i++) idx[i] = (unsigned char)((i * 5 + i / W) % 3);
    for (int depth = 2; depth <= 8; depth *= 2) {
        fm_buf ok = fm_png_palette(idx, W, H, depth, 3);
        dl_gray *g = NULL;
        dl_err e;
        cr_assert_eq(dl_image_decode(ok.p, ok.n, "pal.png", &g, &e), DL_OK, "depth %d: %s", depth, e.msg);
        for (int i = 0; i < W * H; i++)
            cr_assert_float_eq(g->px[i], 40.0f * idx[i] / 255.0f, 1e-6f, "depth %d pixel %d", depth, i);
        dl_gray_free(g);
        free(ok.p);
        idx[W * H - 3] = 3;
        fm_buf bad = fm_png_palette(idx, W, H, depth, 3);
        cr_assert_eq(dl_image_decode(bad.p, bad.n, "pal.png", &g, &e), DL_EFORMAT, "depth %d accepted", depth);
        cr_expect(strstr(e.msg, "pal.png: a PNG pixel uses palette entry 3, but the palette has only 3"), "%s", e.msg);
        free(bad.p);
        idx[W * H - 3] = 0;
    }
}

Test(image_formats, a_jpeg_scan_without_its_tables_is_refused)
{
    /* Without its quantisation (DQT) or Huffman (DHT) tables stb_image
     * decodes from tables it never initialised (found by MemorySanitizer):
     * drop each kind of segment from a good JPEG in turn. */
    unsigned char px[FM_H * FM_W];
    fm_pixels(px);
    fm_buf j = fm_stb('j', px);
    for (unsigned drop = 0xC4; drop <= 0xDB; drop += 0xDB - 0xC4) {
        fm_buf b = {0};
        fm_add(&b, j.p, 2);
        size_t p = 2;
        int dropped = 0;
        while (p + 4 <= j.n && j.p[p] == 0xFF && j.p[p + 1] != 0xDA) {
            size_t len = (size_t)j.p[p + 2] << 8 | j.p[p + 3];
            if (j.p[p + 1] == drop) dropped++;
            else fm_add(&b, j.p + p, 2 + len);
            p += 2 + len;
        }
        fm_add(&b, j.p + p, j.n - p);
        cr_assert_gt(dropped, 0, "no segment %02x to drop", drop);
        dl_gray *g = NULL;
        dl_err e;
        cr_assert_eq(dl_image_decode(b.p, b.n, "tables.jpg", &g, &e), DL_EFORMAT, "without %02x: accepted", drop);
        cr_expect(strstr(e.msg, "tables.jpg: damaged JPEG (a scan uses a quantisation or Huffman table the file "
                         "never defines)"), "without %02x: %s", drop, e.msg);
        free(b.p);
    }
    free(j.p);
}

Test(image_formats, a_sequential_jpeg_scan_is_checked_for_both_tables_whatever_its_spectral_range)
{
    /* A baseline scan is decoded whole even when its Se says 0, so its AC
     * table must exist too (found by MemorySanitizer: stb_image read the
     * fast-AC table of a table id the file never defines). */
    unsigned char px[FM_H * FM_W];
    fm_pixels(px);
    fm_buf j = fm_stb('j', px);
    size_t p = 2;
    while (p + 4 <= j.n && j.p[p] == 0xFF && j.p[p + 1] != 0xDA) p += 2 + ((size_t)j.p[p + 2] << 8 | j.p[p + 3]);
    cr_assert(p + 4 <= j.n && j.p[p + 1] == 0xDA, "no scan");
    unsigned char *sos = j.p + p + 4;
    size_t ns = sos[0];
    for (size_t i = 0; i < ns; i++) sos[2 + 2 * i] = (unsigned char)((sos[2 + 2 * i] & 0xF0) | 3); /* AC table 3 */
    sos[2 + 2 * ns] = 0; /* Se */
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(j.p, j.n, "se0.jpg", &g, &e), DL_EFORMAT, "accepted");
    cr_expect(strstr(e.msg, "se0.jpg: damaged JPEG (a scan uses a quantisation or Huffman table the file never "
                     "defines)"), "%s", e.msg);
    free(j.p);
}

Test(image_formats, a_jpeg_colour_component_without_a_scan_is_refused)
{
    /* stb_image does not clear its component buffers: a component that no
     * scan covers decoded as uninitialised memory (found by MemorySanitizer).
     * Here the colour JPEG's one scan is cut down to its first component. */
    unsigned char px[FM_H * FM_W];
    fm_pixels(px);
    fm_buf j = fm_stb('j', px);
    size_t p = 2;
    while (p + 4 <= j.n && !(j.p[p] == 0xFF && j.p[p + 1] == 0xDA)) p += 2 + ((size_t)j.p[p + 2] << 8 | j.p[p + 3]);
    cr_assert(p + 4 <= j.n && j.p[p + 4] == 3, "expected a three-component scan");
    size_t len = (size_t)j.p[p + 2] << 8 | j.p[p + 3];
    fm_buf b = {0};
    fm_add(&b, j.p, p);
    static const unsigned char sos[] = {0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00};
    fm_add(&b, sos, sizeof sos);
    fm_add(&b, j.p + p + 2 + len, j.n - (p + 2 + len));
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(b.p, b.n, "grey.jpg", &g, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "grey.jpg: damaged JPEG (a colour component has no image data"), "%s", e.msg);
    free(b.p);
    free(j.p);
}

Test(image_formats, a_bmp_with_a_negative_compression_is_checked_as_uncompressed)
{
    /* Found by the fuzzer: stb_image reads the compression field as an int
     * and decodes 0xFF000000 as uncompressed rows, from a 58-byte file
     * declaring 5120 x 256 pixels (the rest read as zeros). */
    unsigned char b[58] = {'B', 'M'};
    b[10] = 54;                                    /* pixel offset */
    b[14] = 40;                                    /* BITMAPINFOHEADER */
    b[19] = 0x14;                                  /* width 5120 */
    b[23] = 0x01;                                  /* height 256 */
    b[26] = 1;                                     /* planes */
    b[28] = 24;                                    /* bits per pixel */
    b[33] = 0xFF;                                  /* compression 0xFF000000 */
    dl_gray *g = NULL;
    dl_err e;
    cr_assert_eq(dl_image_decode(b, sizeof b, "neg.bmp", &g, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "neg.bmp: truncated BMP: 5120 x 256 pixels of 24 bits need"), "%s", e.msg);
}

/* A 4 x 2 BMP of 1 bit a pixel with a palette of ncol entries (black, then
 * white), pixel offset right after it; rows bottom-up, 4 bytes each. */
static size_t fm_bmp1(unsigned char *b, int ncol, unsigned char row0, unsigned char row1)
{
    size_t off = 14 + 40 + 4 * (size_t)ncol, n = off + 8;
    memset(b, 0, n);
    b[0] = 'B', b[1] = 'M', b[2] = (unsigned char)n;
    b[10] = (unsigned char)off;
    b[14] = 40, b[18] = 4, b[22] = 2, b[26] = 1, b[28] = 1; /* BITMAPINFOHEADER, 4 x 2, 1 plane, 1 bit */
    for (int c = 0; c < ncol; c++) memset(b + 54 + 4 * c, c ? 255 : 0, 3);
    b[off] = row0, b[off + 4] = row1;
    return n;
}

Test(image_formats, a_bmp_pixel_past_its_palette_is_refused)
{
    /* Found by the fuzzer under MemorySanitizer: stb_image looks a pixel's
     * index up in a palette table it never filled past the file's entries. */
    unsigned char b[80];
    dl_gray *g = NULL;
    dl_err e;
    size_t n = fm_bmp1(b, 1, 0x00, 0x40);          /* one colour; pixel (1, 1) uses colour 1 */
    cr_assert_eq(dl_image_decode(b, n, "short.bmp", &g, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "short.bmp: damaged BMP: pixel 1 of stored row 1 uses colour 1 of a 1-colour palette"), "%s", e.msg);
    cr_assert_null(g);
    n = fm_bmp1(b, 1, 0x00, 0x00);                 /* one colour, every pixel in it: decodes */
    cr_assert_eq(dl_image_decode(b, n, "one.bmp", &g, &e), DL_OK, "%s", e.msg);
    dl_gray_free(g);
    g = NULL;
    n = fm_bmp1(b, 2, 0xF0, 0x0F);                 /* the full palette */
    cr_assert_eq(dl_image_decode(b, n, "two.bmp", &g, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(g->w, 4);
    dl_gray_free(g);
    g = NULL;
    n = fm_bmp1(b, 2, 0, 0);
    b[10] = 0;                                     /* pixel offset 0: a negative palette for stb_image */
    cr_assert_eq(dl_image_decode(b, n, "nopal.bmp", &g, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "nopal.bmp: damaged BMP: 1-bit pixels but no palette before them"), "%s", e.msg);
}
