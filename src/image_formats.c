/*
 * image_formats.c — netpbm decoding and "is this picture whole?" checks
 * for JPEG, BMP and GIF (see image_formats.h for why they exist).
 *
 * Everything here reads untrusted bytes: every offset is compared with the
 * bytes left before it is used, sizes go through dl_image_check_size before
 * any arithmetic that could overflow, and nothing is allocated until the
 * file is known to hold the data its header promises (for the plain
 * formats: at least one character per sample).
 */
#include "image_formats.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- netpbm ------------------------------------------------------------- */

static int pnm_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int dl_pnm_claims(const unsigned char *d, size_t n)
{
    return n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' && pnm_space(d[2]);
}

/* Skips whitespace and comments ("#" to the end of the line). */
static void pnm_skip(const unsigned char *d, size_t n, size_t *p)
{
    while (*p < n) {
        if (pnm_space(d[*p])) {
            (*p)++;
        } else if (d[*p] == '#') {
            while (*p < n && d[*p] != '\n' && d[*p] != '\r') (*p)++;
        } else {
            return;
        }
    }
}

/* A decimal number after optional whitespace and comments.  Returns 1 and
 * sets *v, 0 at the end of the data or when no digit follows, -1 when the
 * number exceeds max (then *v = max + 1). */
static int pnm_number(const unsigned char *d, size_t n, size_t *p, unsigned long max, unsigned long *v)
{
    pnm_skip(d, n, p);
    if (*p >= n || d[*p] < '0' || d[*p] > '9') return 0;
    unsigned long x = 0;
    while (*p < n && d[*p] >= '0' && d[*p] <= '9') {
        x = x * 10 + (unsigned long)(d[*p] - '0');
        (*p)++;
        if (x > max) {
            while (*p < n && d[*p] >= '0' && d[*p] <= '9') (*p)++;
            *v = max + 1;
            return -1;
        }
    }
    *v = x;
    return 1;
}

/* Gray level of one pixel from its c samples (1 or 3), maxval m; the same
 * Rec. 601 weights and float arithmetic as image.c's luma, so an 8-bit file
 * reads exactly as it did through stb_image. */
static float pnm_gray(const unsigned long *s, int c, float m)
{
    if (c == 1) return (float)s[0] / m;
    float v = (0.299f * (float)s[0] + 0.587f * (float)s[1] + 0.114f * (float)s[2]) / m;
    return v < 1.0f ? v : 1.0f; /* the weights' rounding can pass 1 for some maxvals */
}

dl_status dl_pnm_decode(const unsigned char *d, size_t n, const char *nm, dl_gray **out, dl_err *e)
{
    static const char *const kind[7] = {"", "PBM (P1)", "PGM (P2)", "PPM (P3)", "PBM (P4)", "PGM (P5)", "PPM (P6)"};
    *out = NULL;
    if (!dl_pnm_claims(d, n)) return dl_err_set(e, DL_EFORMAT, "%s: not a netpbm picture", nm);
    const int type = d[1] - '0', plain = type <= 3, bits = type == 1 || type == 4;
    const int c = (type == 3 || type == 6) ? 3 : 1;
    const char *k = kind[type];
    size_t p = 2;
    unsigned long w = 0, h = 0, maxval = 1;
    int r;
    if ((r = pnm_number(d, n, &p, 1ul << 30, &w)) <= 0 || (r = pnm_number(d, n, &p, 1ul << 30, &h)) <= 0)
        return r < 0 ? dl_err_set(e, DL_ELIMIT, "%s: %s size beyond any picture digitlens reads", nm, k)
                     : dl_err_set(e, DL_EFORMAT, "%s: damaged %s header (the width and height are missing; "
                                  "the file is truncated or corrupt)", nm, k);
    if (!bits) {
        r = pnm_number(d, n, &p, 65535, &maxval);
        if (r == 0)
            return dl_err_set(e, DL_EFORMAT, "%s: damaged %s header (the maxval is missing; the file is "
                              "truncated or corrupt)", nm, k);
        if (r < 0 || maxval == 0)
            return dl_err_set(e, DL_EFORMAT, "%s: %s maxval %s is not allowed (1..65535)", nm, k,
                              r < 0 ? "above 65535" : "0");
    }
    dl_status st = dl_image_check_size(nm, w, h, e);
    if (st != DL_OK) return st;
    /* The binary formats' raster starts after exactly one whitespace byte. */
    if (!plain) {
        if (p >= n || !pnm_space(d[p]))
            return dl_err_set(e, DL_EFORMAT, "%s: damaged %s header (no whitespace before the pixel data)", nm, k);
        p++;
    }
    const size_t npx = (size_t)w * h, nsamp = npx * (size_t)c, left = n - p;
    const size_t bps = maxval > 255 ? 2 : 1, row = ((size_t)w + 7) / 8;
    /* Bytes the raster needs at least: exactly, for the binary formats; one
     * character per sample and a separator between samples for the plain. */
    size_t need = type == 4 ? row * h : !plain ? nsamp * bps : type == 1 ? npx : 2 * nsamp - 1;
    if (left < need) {
        if (!plain)
            return dl_err_set(e, DL_EFORMAT, "%s: truncated %s: %lu x %lu pixels need %zu bytes of data, the "
                              "file holds %zu (it was cut short)", nm, k, w, h, need, left);
        return dl_err_set(e, DL_EFORMAT, "%s: truncated %s: %lu x %lu pixels need at least %zu characters "
                          "of data, the file holds %zu (it was cut short)", nm, k, w, h, need, left);
    }
    dl_gray *g = dl_gray_new((int)w, (int)h, e);
    if (!g) return e ? e->code : DL_ENOMEM;
    const float m = (float)maxval;
    const unsigned char *q = d + p;
    for (size_t i = 0; i < npx; i++) {
        unsigned long s[3] = {0, 0, 0};
        if (type == 4) {
            size_t y = i / w, x = i % w;
            s[0] = !((q[y * row + x / 8] >> (7 - x % 8)) & 1); /* 1 is black */
        } else if (type == 1) {
            pnm_skip(d, n, &p);
            if (p >= n || (d[p] != '0' && d[p] != '1')) {
                st = p >= n ? dl_err_set(e, DL_EFORMAT, "%s: truncated %s: the file ends after %zu of %zu "
                                         "pixels (it was cut short)", nm, k, i, npx)
                            : dl_err_set(e, DL_EFORMAT, "%s: %s pixel %zu is not 0 or 1 (the file is corrupt)",
                                         nm, k, i);
                break;
            }
            s[0] = d[p++] == '0'; /* single digits, whitespace optional */
        } else if (plain) {
            for (int j = 0; j < c && st == DL_OK; j++) {
                r = pnm_number(d, n, &p, maxval, &s[j]);
                if (r == 0)
                    st = p >= n ? dl_err_set(e, DL_EFORMAT, "%s: truncated %s: the file ends after %zu of %zu "
                                             "pixels (it was cut short)", nm, k, i, npx)
                                : dl_err_set(e, DL_EFORMAT, "%s: %s pixel %zu is not a number (the file is "
                                             "corrupt)", nm, k, i);
                else if (r < 0)
                    st = dl_err_set(e, DL_EFORMAT, "%s: %s pixel %zu is above the maxval %lu (the file is "
                                    "corrupt)", nm, k, i, maxval);
                /* A number must end at whitespace, a comment or the end. */
                else if (p < n && !pnm_space(d[p]) && d[p] != '#')
                    st = dl_err_set(e, DL_EFORMAT, "%s: %s pixel %zu is not a number (the file is corrupt)",
                                    nm, k, i);
            }
            if (st != DL_OK) break;
        } else {
            for (int j = 0; j < c; j++) {
                const unsigned char *b = q + (i * (size_t)c + (size_t)j) * bps;
                s[j] = bps == 2 ? (unsigned long)b[0] << 8 | b[1] : b[0];
                if (s[j] > maxval) s[j] = maxval; /* tolerated, as netpbm's own readers do */
            }
        }
        g->px[i] = bits ? (float)s[0] : pnm_gray(s, c, m);
    }
    if (st != DL_OK) {
        dl_gray_free(g);
        return st;
    }
    *out = g;
    return DL_OK;
}

/* ---- is the picture whole? ------------------------------------------------ */

static unsigned le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }
static uint32_t le32(const unsigned char *p) { return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16; }

/* The tables a JPEG has defined so far, and what its frame's components
 * use.  stb_image does not check that a scan's tables were ever defined: it
 * then decodes with whatever its freshly allocated tables hold
 * (uninitialised memory; MemorySanitizer found it). */
typedef struct jpeg_tables {
    unsigned char quant[4], huff[2][4]; /* defined: [DC, AC][id] */
    int ncomp, progressive;
    unsigned char comp_id[4], comp_tq[4];
    unsigned char scanned[4], dc_first[4]; /* per frame component: in a scan; in a first DC scan */
} jpeg_tables;

/* Records the tables a DQT or DHT segment (body s, len bytes) defines and a
 * frame's components; checks a scan (SOS) against them.  1 when fine. */
static int jpeg_segment(jpeg_tables *t, unsigned m, const unsigned char *s, size_t len)
{
    size_t q = 0;
    if (m == 0xDB) { /* DQT: Pq/Tq, then 64 or 128 bytes */
        while (q < len) {
            t->quant[s[q] & 3] = 1;
            q += 1 + ((s[q] >> 4) ? 128 : 64);
        }
    } else if (m == 0xC4) { /* DHT: Tc/Th, 16 counts, the values */
        while (q + 17 <= len) {
            size_t sum = 0;
            for (int i = 1; i <= 16; i++) sum += s[q + i];
            t->huff[(s[q] >> 4) & 1][s[q] & 3] = 1;
            q += 17 + sum;
        }
    } else if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) { /* SOF */
        if (len < 6) return 1;
        t->ncomp = 0;
        t->progressive = m == 0xC2;
        for (size_t i = 0; i < s[5] && 6 + 3 * i + 2 < len && t->ncomp < 4; i++) {
            t->comp_id[t->ncomp] = s[6 + 3 * i];
            t->comp_tq[t->ncomp++] = s[6 + 3 * i + 2] & 3;
        }
    } else if (m == 0xDA) { /* SOS: Ns, (Cs, Td/Ta) x Ns, Ss, Se, Ah/Al */
        if (len < 1 || len < 1 + 2 * (size_t)s[0] + 3) return 1;
        size_t ns = s[0];
        unsigned ss = s[1 + 2 * ns], se = s[2 + 2 * ns], ah = s[3 + 2 * ns] >> 4;
        for (int k = 0; k < t->ncomp; k++)
            if (!t->quant[t->comp_tq[k]]) return 0;
        for (size_t i = 0; i < ns; i++) {
            unsigned td = s[2 + 2 * i] >> 4, ta = s[2 + 2 * i] & 15;
            for (int k = 0; k < t->ncomp; k++)
                if (t->comp_id[k] == s[1 + 2 * i]) {
                    t->scanned[k] = 1;
                    if (ss == 0 && ah == 0) t->dc_first[k] = 1;
                }
            /* A sequential (non-progressive) scan is decoded whole whatever
             * its Ss and Se say: stb_image uses both of its tables (a fuzzer
             * found an AC table never defined behind Se = 0). */
            int dc = !t->progressive || (ss == 0 && ah == 0), ac = !t->progressive || se > 0;
            if (dc && !t->huff[0][td & 3]) return 0;
            if (ac && !t->huff[1][ta & 3]) return 0;
        }
    }
    return 1;
}

/* JPEG: every marker segment must fit the file, the tables a scan uses must
 * have been defined, and the scan data must be followed by an end-of-image
 * marker.  Inside the entropy-coded data an 0xFF byte is followed by 0x00
 * (stuffing) or a restart marker; any other marker ends the scan (a
 * progressive file has several scans and tables between them).  An EXIF
 * thumbnail's own markers sit inside an APP1 segment and are stepped over
 * with it. */
static dl_status jpeg_whole(const unsigned char *d, size_t n, const char *nm, dl_err *e)
{
    jpeg_tables t;
    memset(&t, 0, sizeof t);
    size_t p = 2;
    for (;;) {
        if (p + 2 > n) break;
        if (d[p] != 0xFF) { p++; continue; } /* stb_image skips bytes between segments too */
        unsigned m = d[p + 1];
        if (m == 0xFF) { p++; continue; }
        if (m == 0xD9) {
            /* stb_image decodes into buffers it does not clear: a component
             * no scan covers (or, progressive, no first DC scan, which
             * clears each block) would be uninitialised memory. */
            for (int k = 0; k < t.ncomp; k++)
                if (!t.scanned[k] || (t.progressive && !t.dc_first[k]))
                    return dl_err_set(e, DL_EFORMAT, "%s: damaged JPEG (a colour component has no image data; the "
                                      "file is corrupt)", nm);
            return DL_OK;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { p += 2; continue; }
        if (p + 4 > n) break;
        size_t len = (size_t)d[p + 2] << 8 | d[p + 3];
        if (len < 2) return DL_OK;
        if (len > n - p - 2)
            return dl_err_set(e, DL_EFORMAT, "%s: truncated JPEG (a marker segment runs past the end of the "
                              "file; it was cut short)", nm);
        if (!jpeg_segment(&t, m, d + p + 4, len - 2))
            return dl_err_set(e, DL_EFORMAT, "%s: damaged JPEG (a scan uses a quantisation or Huffman table "
                              "the file never defines)", nm);
        p += 2 + len;
        if (m != 0xDA) continue;
        /* Entropy-coded data up to the next marker that is not a restart. */
        while (p + 1 < n && !(d[p] == 0xFF && d[p + 1] != 0x00 && d[p + 1] != 0xFF &&
                              !(d[p + 1] >= 0xD0 && d[p + 1] <= 0xD7)))
            p++;
        if (p + 1 >= n) break;
    }
    return dl_err_set(e, DL_EFORMAT, "%s: truncated JPEG (the file ends before the image's end marker; it "
                      "was cut short)", nm);
}

/* BMP of 1, 4 or 8 bits: stb_image reads as many palette entries as fit
 * between the header and the pixel offset, into a 256-entry table on its
 * stack that it does not clear, and then looks every pixel's index up in
 * it: an index past the palette gave uninitialised bytes (found by the
 * fuzzer under MemorySanitizer).  So each index must name an entry the file
 * holds; the rows are known to be in the file (bytes past its end read as
 * index 0).  w, h: pixels; row: bytes per padded row. */
static dl_status bmp_palette(const unsigned char *d, size_t n, const char *nm, uint32_t off, uint32_t hsz,
                             int64_t w, int64_t h, unsigned bpp, uint64_t row, dl_err *e)
{
    if (bpp != 1 && bpp != 4 && bpp != 8) return DL_OK; /* stb_image refuses 2; 16+ have no palette */
    /* stb_image's own count (ints; 14 is the file header it has read). */
    int64_t psize = hsz == 12 ? ((int64_t)(int32_t)off - 14 - 24) / 3 : ((int64_t)(int32_t)off - 14 - (int32_t)hsz) / 4;
    if (psize > 256) return DL_OK; /* refused by stb_image */
    if (psize < 1)
        return dl_err_set(e, DL_EFORMAT, "%s: damaged BMP: %u-bit pixels but no palette before them", nm, bpp);
    if (psize >= (1 << bpp)) return DL_OK;
    for (int64_t y = 0; y < h; y++) {
        const unsigned char *r = d + off + (uint64_t)y * row;
        for (int64_t x = 0; x < w; x++) {
            uint64_t bit = (uint64_t)x * bpp;
            if (off + (uint64_t)y * row + bit / 8 >= n) break;
            unsigned v = (r[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
            if (v >= psize)
                return dl_err_set(e, DL_EFORMAT, "%s: damaged BMP: pixel %lld of stored row %lld uses colour %u "
                                  "of a %lld-colour palette", nm, (long long)x, (long long)y, v, (long long)psize);
        }
    }
    return DL_OK;
}

/* BMP: the rows, uncompressed, must fit between the pixel offset and the
 * end of the file (the last row's padding may be missing).  RLE and other
 * compressions are left to stb_image, which refuses them. */
static dl_status bmp_whole(const unsigned char *d, size_t n, const char *nm, dl_err *e)
{
    if (n < 26) return DL_OK; /* stbi_info has already refused such a header */
    uint32_t off = le32(d + 10), hsz = le32(d + 14);
    int64_t w, h;
    unsigned bpp, comp = 0;
    if (hsz == 12) {
        w = le16(d + 18);
        h = le16(d + 20);
        bpp = le16(d + 24);
    } else if (hsz >= 40 && n >= 34) {
        w = (int32_t)le32(d + 18);
        h = (int32_t)le32(d + 22);
        bpp = le16(d + 28);
        comp = le32(d + 30);
    } else {
        return DL_OK;
    }
    if (h < 0) h = -h; /* top-down rows */
    if (w < 1 || h < 1 || w > DL_IMAGE_MAX_SIDE || h > DL_IMAGE_MAX_SIDE || bpp == 0 || bpp > 32) return DL_OK;
    /* stb_image reads the compression as an int and refuses 1, 2 and >= 4:
     * anything else, a negative value included (found by the fuzzer), it
     * decodes as uncompressed rows, so those must be in the file. */
    int32_t cm = (int32_t)comp;
    if (cm == 1 || cm == 2 || cm >= 4) return DL_OK;
    uint64_t bits = (uint64_t)w * bpp, row = (bits + 31) / 32 * 4;
    uint64_t need = (uint64_t)off + row * (uint64_t)(h - 1) + (bits + 7) / 8;
    if (need > n)
        return dl_err_set(e, DL_EFORMAT, "%s: truncated BMP: %lld x %lld pixels of %u bits need %llu bytes, the "
                          "file holds %zu (it was cut short)", nm, (long long)w, (long long)h, bpp,
                          (unsigned long long)need, n);
    return bmp_palette(d, n, nm, off, hsz, w, h, bpp, row, e);
}

/* Steps over GIF data sub-blocks (a length byte, that many bytes, ...,
 * a zero length); 0 when the file ends first. */
static int gif_blocks(const unsigned char *d, size_t n, size_t *p)
{
    while (*p < n) {
        size_t len = d[*p];
        (*p)++;
        if (len == 0) return 1;
        if (len > n - *p) return 0;
        *p += len;
    }
    return 0;
}

/* GIF: every block up to the trailer must be in the file.  digitlens reads
 * only the first image, but a file that ends before its trailer byte was
 * cut short, whichever frame the cut fell in. */
static dl_status gif_whole(const unsigned char *d, size_t n, const char *nm, dl_err *e)
{
    size_t p = 13;
    int images = 0;
    if (n < p) return DL_OK; /* stbi_info has already refused it */
    if (d[10] & 0x80) p += 3u << ((d[10] & 7) + 1); /* global colour table */
    while (p < n) {
        unsigned char b = d[p++];
        if (b == 0x21) { /* extension: a label, then sub-blocks */
            if (p >= n) break;
            p++;
            if (!gif_blocks(d, n, &p)) break;
        } else if (b == 0x2C) { /* image: descriptor, local colour table, LZW size, data */
            if (n - p < 9) break;
            unsigned flags = d[p + 8];
            p += 9;
            if (flags & 0x80) p += 3u << ((flags & 7) + 1);
            if (p >= n) break;
            p++;
            if (!gif_blocks(d, n, &p)) break;
            images++;
        } else {
            return DL_OK; /* the trailer (0x3B), or damage: stb_image reports that */
        }
    }
    if (images > 0)
        return dl_err_set(e, DL_EFORMAT, "%s: truncated GIF (the file ends before its trailer byte; it was cut "
                          "short)", nm);
    return dl_err_set(e, DL_EFORMAT, "%s: truncated GIF (the file ends inside the first image or before it; "
                      "it was cut short)", nm);
}

dl_status dl_picture_check_whole(const unsigned char *d, size_t n, const char *nm, dl_err *e)
{
    if (n >= 2 && d[0] == 0xFF && d[1] == 0xD8) return jpeg_whole(d, n, nm, e);
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return bmp_whole(d, n, nm, e);
    if (n >= 6 && memcmp(d, "GIF8", 4) == 0) return gif_whole(d, n, nm, e);
    return DL_OK;
}

/* ---- palette indices of a PNG ------------------------------------------- */

static const unsigned A7_X0[7] = {0, 4, 0, 2, 0, 1, 0}, A7_Y0[7] = {0, 0, 4, 0, 2, 0, 1};
static const unsigned A7_DX[7] = {8, 8, 4, 4, 2, 2, 1}, A7_DY[7] = {8, 8, 8, 4, 4, 2, 2};

/* Moves to the next pass that has pixels (Adam7 passes can be empty). */
static void png_index_next_pass(dl_png_index *c)
{
    for (;;) {
        c->pass++;
        if (c->pass >= (c->interlace ? 7 : 1)) {
            c->done = 1;
            return;
        }
        unsigned long pw = c->w, ph = c->h;
        if (c->interlace) {
            int p = c->pass;
            pw = c->w > A7_X0[p] ? (c->w - A7_X0[p] + A7_DX[p] - 1) / A7_DX[p] : 0;
            ph = c->h > A7_Y0[p] ? (c->h - A7_Y0[p] + A7_DY[p] - 1) / A7_DY[p] : 0;
        }
        if (pw == 0 || ph == 0) continue;
        c->width = pw;
        c->rows = ph;
        c->row = 0;
        c->got = 0;
        c->rowbytes = (pw * c->depth + 7) / 8;
        memset(c->prev, 0, c->rowbytes); /* the row above the first is zeros */
        return;
    }
}

dl_status dl_png_index_init(dl_png_index *c, unsigned long w, unsigned long h, unsigned depth, int interlace,
                            unsigned npal, const char *nm, dl_err *e)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->h = h;
    c->depth = depth;
    c->npal = npal;
    c->interlace = interlace;
    c->pass = -1;
    size_t rb = (w * depth + 7) / 8; /* w was checked against the limits */
    c->prev = malloc(rb);
    c->cur = malloc(rb);
    if (!c->prev || !c->cur) {
        dl_png_index_free(c);
        return dl_err_set(e, DL_ENOMEM, "%s: out of memory", nm);
    }
    png_index_next_pass(c);
    return DL_OK;
}

static unsigned paeth(unsigned a, unsigned b, unsigned c)
{
    int p = (int)a + (int)b - (int)c, pa = abs(p - (int)a), pb = abs(p - (int)b), pc = abs(p - (int)c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undoes the row's filter (the unit is one byte at these depths) and
 * checks its indices; then the row becomes the one above. */
static dl_status png_index_row(dl_png_index *c, const char *nm, dl_err *e)
{
    unsigned char *r = c->cur, *u = c->prev;
    for (size_t i = 0; i < c->rowbytes; i++) {
        unsigned a = i ? r[i - 1] : 0, b = u[i], d = i ? u[i - 1] : 0;
        unsigned add = c->filter == 1 ? a : c->filter == 2 ? b : c->filter == 3 ? (a + b) / 2
                     : c->filter == 4 ? paeth(a, b, d) : 0;
        r[i] = (unsigned char)(r[i] + add);
    }
    for (unsigned long x = 0; x < c->width; x++) {
        unsigned long bit = x * c->depth;
        unsigned v = (r[bit / 8] >> (8 - c->depth - bit % 8)) & ((1u << c->depth) - 1);
        if (v >= c->npal)
            return dl_err_set(e, DL_EFORMAT, "%s: a PNG pixel uses palette entry %u, but the palette has only %u "
                              "(the file is corrupt)", nm, v, c->npal);
    }
    c->cur = u;
    c->prev = r;
    if (++c->row == c->rows) png_index_next_pass(c);
    return DL_OK;
}

dl_status dl_png_index_feed(dl_png_index *c, const unsigned char *p, size_t n, const char *nm, dl_err *e)
{
    while (n > 0 && !c->done) {
        if (c->got == 0) { /* the filter byte */
            c->filter = *p++;
            n--;
            c->got = 1;
            if (c->filter > 4) {
                c->done = 1;
                break;
            }
            if (c->rowbytes > 0) continue;
        }
        size_t want = c->rowbytes - (c->got - 1), k = n < want ? n : want;
        memcpy(c->cur + (c->got - 1), p, k);
        p += k;
        n -= k;
        c->got += k;
        if (c->got - 1 == c->rowbytes) {
            c->got = 0;
            dl_status st = png_index_row(c, nm, e);
            if (st != DL_OK) return st;
        }
    }
    return DL_OK;
}

void dl_png_index_free(dl_png_index *c)
{
    free(c->prev);
    free(c->cur);
    c->prev = c->cur = NULL;
}
