/*
 * image.c — picture files to grayscale (stb_image), and grayscale to an
 * MNIST-style digit (see image.h for the contract).
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
 * Nothing here prints or keeps state between calls.  stb_image and
 * stb_image_resize come from libstb (-lstb); this file only includes their
 * declarations.
 */
#include "digitlens/image.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <zlib.h>

#include "digitlens/fileio.h"
#include "image_formats.h"

/* ---- pictures ---------------------------------------------------------- */

/* Sizes are checked in unsigned long so that a PNG header's 32-bit width
 * can be reported as declared, not as a wrapped int. */
static dl_status check_size(const char *nm, unsigned long w, unsigned long h, dl_err *e)
{
    if (w < 1 || h < 1)
        return dl_err_set(e, DL_EFORMAT, "%s: picture has no pixels (%lu x %lu)", nm, w, h);
    if (w > DL_IMAGE_MAX_SIDE || h > DL_IMAGE_MAX_SIDE ||
        (uint64_t)w * h > (uint64_t)DL_IMAGE_MAX_PIXELS)
        return dl_err_set(e, DL_ELIMIT,
                          "%s: picture is %lu x %lu pixels, beyond the limit of %d per side "
                          "and %zu pixels in all (scale it down first)",
                          nm, w, h, DL_IMAGE_MAX_SIDE, (size_t)DL_IMAGE_MAX_PIXELS);
    return DL_OK;
}

dl_gray *dl_gray_new(int w, int h, dl_err *e)
{
    if (w < 1 || h < 1) {
        dl_err_set(e, DL_EINVAL, "picture size %d x %d is impossible (both sides must be at least 1)", w, h);
        return NULL;
    }
    if (check_size("picture", (unsigned long)w, (unsigned long)h, e) != DL_OK) return NULL;
    /* One block holds the struct and its pixels, so one free releases both;
     * sizeof(dl_gray) is a multiple of the pointer alignment, enough for float. */
    size_t n = (size_t)w * (size_t)h;
    dl_gray *g = calloc(1, sizeof *g + n * sizeof(float));
    if (!g) {
        dl_err_set(e, DL_ENOMEM, "picture: out of memory for %d x %d pixels", w, h);
        return NULL;
    }
    g->w = w;
    g->h = h;
    g->px = (float *)(g + 1);
    return g;
}

void dl_gray_free(dl_gray *g)
{
    free(g);
}

/* ---- border statistics ------------------------------------------------- */

/* The border is every pixel in the outermost rows and columns, each once.
 * For pictures 2 or fewer pixels thick every pixel is on it. */
static size_t border_count(int w, int h)
{
    if (w <= 2 || h <= 2) return (size_t)w * (size_t)h;
    return 2 * (size_t)w + 2 * (size_t)(h - 2);
}

/* Index into px[] of the k-th border pixel, 0 <= k < border_count(w, h). */
static size_t border_index(int w, int h, size_t k)
{
    if (w <= 2 || h <= 2) return k;
    size_t uw = (size_t)w;
    if (k < uw) return k;                              /* top row */
    if (k < 2 * uw) return (size_t)(h - 1) * uw + (k - uw); /* bottom row */
    size_t r = k - 2 * uw;                             /* left, right columns */
    size_t y = 1 + r / 2;
    return y * uw + ((r & 1) ? uw - 1 : 0);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n), n >= 1; sorts v. */
static float median(float *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_float);
    if (n & 1) return v[n / 2];
    return 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

dl_status dl_image_check_size(const char *nm, unsigned long w, unsigned long h, dl_err *e)
{
    return check_size(nm, w, h, e);
}

/* ---- decoding ---------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* stbi_info refuses a PNG whose header promises more than about 1 GB and
 * then only says "unknown image type"; reading the IHDR ourselves lets us
 * name the size instead. */
static int png_declared_size(const unsigned char *d, size_t n, unsigned long *w, unsigned long *h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 24 || memcmp(d, sig, 8) != 0 || memcmp(d + 12, "IHDR", 4) != 0) return 0;
    *w = be32(d + 16);
    *h = be32(d + 20);
    return 1;
}

/* Bytes of filtered scanlines a w x h PNG of c channels at `depth` bits
 * holds once inflated: a filter byte per row, per Adam7 pass if interlaced. */
static uint64_t png_raw_size(uint64_t w, uint64_t h, unsigned c, unsigned depth, int interlace)
{
    static const unsigned X0[7] = {0, 4, 0, 2, 0, 1, 0}, Y0[7] = {0, 0, 4, 0, 2, 0, 1};
    static const unsigned DX[7] = {8, 8, 4, 4, 2, 2, 1}, DY[7] = {8, 8, 8, 4, 4, 2, 2};
    if (!interlace) return h * (1 + (w * c * depth + 7) / 8);
    uint64_t total = 0;
    for (int p = 0; p < 7; p++) {
        uint64_t pw = w > X0[p] ? (w - X0[p] + DX[p] - 1) / DX[p] : 0;
        uint64_t ph = h > Y0[p] ? (h - Y0[p] + DY[p] - 1) / DY[p] : 0;
        if (pw && ph) total += ph * (1 + (pw * c * depth + 7) / 8);
    }
    return total;
}

/* Under MemorySanitizer (the fuzz build), bytes that zlib, which is not
 * instrumented, wrote into our buffer look uninitialised: say they are not. */
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
#include <sanitizer/msan_interface.h>
#define ZLIB_WROTE(p, n) __msan_unpoison((p), (n))
#endif
#endif
#ifndef ZLIB_WROTE
#define ZLIB_WROTE(p, n) ((void)0)
#endif

/* stb_image trusts two things in a PNG that the file controls: an IDAT
 * chunk's length (it reserves that much before reading the chunk), and how
 * far the image data inflates (it grows its buffer up to 4 GB, whatever the
 * header says: a 1 MB file could take 1 GB).  So a PNG is walked first:
 * every chunk must fit in the file, and the image data is inflated once
 * into a small scratch buffer, only counting, and refused when it holds
 * more than the header's pixels need (64 KiB of slack for sloppy writers),
 * or when zlib finds it damaged. */
static dl_status png_check(const unsigned char *d, size_t n, const char *nm, dl_err *e)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 8 || memcmp(d, sig, 8) != 0) return DL_OK;
    uint64_t limit = 0;
    unsigned long iw = 0, ih = 0;
    unsigned depth = 0, ctype = 0, npal = 0;
    int cgbi = 0, zinit = 0, zdone = 0, interlace = 0, pal = 0;
    dl_png_index idx;
    uint64_t out = 0;
    unsigned char scratch[16384];
    z_stream z;
    memset(&z, 0, sizeof z);
    dl_status st = DL_OK;
    size_t p = 8;
    while (p + 12 <= n) {
        size_t len = be32(d + p);
        const unsigned char *type = d + p + 4, *body = d + p + 8;
        if (len > n - p - 12) {
            st = dl_err_set(e, DL_EFORMAT, "%s: a PNG chunk runs past the end of the file (the file is truncated or corrupt)",
                            nm);
            break;
        }
        if (memcmp(type, "CgBI", 4) == 0) cgbi = 1; /* Apple's: raw deflate, no zlib header */
        if (memcmp(type, "IHDR", 4) == 0 && len == 13) {
            static const unsigned char chans[7] = {1, 0, 3, 1, 2, 0, 4};
            depth = body[8];
            ctype = body[9];
            interlace = body[12] != 0;
            unsigned c = ctype < 7 ? chans[ctype] : 0;
            if (c == 0 || depth == 0 || depth > 16) break; /* stb_image refuses these itself */
            iw = be32(body);
            ih = be32(body + 4);
            limit = png_raw_size(iw, ih, c, depth, interlace) + 65536;
        }
        if (memcmp(type, "PLTE", 4) == 0) npal = (unsigned)(len / 3);
        if (memcmp(type, "IDAT", 4) == 0 && limit && !zdone) {
            if (!zinit) {
                if (inflateInit2(&z, cgbi ? -15 : 15) != Z_OK) break;
                zinit = 1;
                /* Palette indices are checked as the data inflates (image_formats.h). */
                if (ctype == 3 && depth <= 8 && npal > 0 && npal < (1u << depth) && iw >= 1 && ih >= 1 &&
                    iw <= DL_IMAGE_MAX_SIDE && ih <= DL_IMAGE_MAX_SIDE) {
                    if ((st = dl_png_index_init(&idx, iw, ih, depth, interlace, npal, nm, e)) != DL_OK) break;
                    pal = 1;
                }
            }
            z.next_in = (Bytef *)body;
            z.avail_in = (uInt)len;
            while (z.avail_in > 0 && !zdone) {
                z.next_out = scratch;
                z.avail_out = sizeof scratch;
                int r = inflate(&z, Z_NO_FLUSH);
                ZLIB_WROTE(scratch, sizeof scratch - z.avail_out);
                out += sizeof scratch - z.avail_out;
                if (pal && out <= limit &&
                    (st = dl_png_index_feed(&idx, scratch, sizeof scratch - z.avail_out, nm, e)) != DL_OK) {
                    zdone = 1;
                } else if (out > limit) {
                    st = dl_err_set(e, DL_EFORMAT, "%s: PNG image data inflates to more than its %lu x %lu "
                                    "pixels need (a decompression bomb or a corrupt file)",
                                    nm, iw, ih);
                    zdone = 1;
                } else if (r == Z_BUF_ERROR) {
                    break; /* no progress possible: wait for the next chunk */
                } else if (r == Z_STREAM_END) {
                    zdone = 1;
                } else if (r != Z_OK) {
                    /* Refused here rather than left to stb_image's own
                     * inflater, which takes some invalid codes (distance
                     * codes 30 and 31) for a copy of bytes not yet written:
                     * uninitialised memory (found by MemorySanitizer). */
                    st = dl_err_set(e, DL_EFORMAT, "%s: damaged PNG image data (%s; the file is corrupt)", nm,
                                    r == Z_MEM_ERROR ? "out of memory" : z.msg ? z.msg : "invalid deflate data");
                    zdone = 1;
                }
            }
        }
        if (st != DL_OK || memcmp(type, "IEND", 4) == 0) break;
        p += 12 + len;
    }
    if (zinit) inflateEnd(&z);
    if (pal) dl_png_index_free(&idx);
    return st;
}

/* Names formats people commonly try that stb_image cannot read, so the
 * message can say what to convert to. */
static const char *unsupported_format(const unsigned char *d, size_t n)
{
    if (n >= 3 && d[0] == 'P' && d[1] == '7' && d[2] == '\n')
        return "PAM (P7) is not supported (convert it to PGM, PPM or PNG)";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return "WebP is not supported (convert it to PNG)";
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return "TIFF is not supported (convert it to PNG)";
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0)
        return "HEIC/AVIF/MP4 is not supported (convert it to PNG or JPEG)";
    size_t i = 0;
    while (i < n && i < 256 && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) i++;
    if (n - i >= 5 && (memcmp(d + i, "<?xml", 5) == 0 || memcmp(d + i, "<svg", 4) == 0))
        return "SVG is not supported (render it to PNG first)";
    return NULL;
}

/* The format a file's first bytes claim, for saying "a damaged PNG"
 * rather than "not a picture" when stb_image cannot read the header. */
static const char *claimed_format(const unsigned char *d, size_t n)
{
    if (n >= 4 && memcmp(d, "\x89PNG", 4) == 0) return "PNG";
    if (n >= 2 && d[0] == 0xFF && d[1] == 0xD8) return "JPEG";
    if (n >= 4 && memcmp(d, "GIF8", 4) == 0) return "GIF";
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return "BMP";
    return NULL;
}

/* Luminance of one decoded pixel with c channels (1 gray, 2 gray+alpha,
 * 3 RGB, 4 RGBA), on the sRGB-encoded values as most tools do. */
static float luma(const unsigned char *p, int c)
{
    if (c <= 2) return p[0] / 255.0f;
    return (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) / 255.0f;
}

/* The shade to flatten transparency onto.  A picture with an opaque border
 * has its paper there.  A sheet whose border is transparent (a stroke drawn
 * on a transparent canvas) has no paper: its colour is undefined (often
 * black, whatever the ink), so we pick the opposite of the ink, which keeps
 * the ink visible.  scratch holds border_count floats. */
static float alpha_background(const unsigned char *pix, int w, int h, int c, float *scratch)
{
    size_t nb = border_count(w, h), nop = 0;
    for (size_t k = 0; k < nb; k++) {
        const unsigned char *p = pix + border_index(w, h, k) * (size_t)c;
        if (p[c - 1] >= 128) scratch[nop++] = luma(p, c);
    }
    if (nop > 0 && 2 * nop >= nb) return median(scratch, nop);

    double sa = 0, sal = 0;
    size_t n = (size_t)w * (size_t)h;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = pix + i * (size_t)c;
        double a = p[c - 1] / 255.0;
        sa += a;
        sal += a * luma(p, c);
    }
    if (sa <= 0) return 1.0f; /* nothing visible at all; later found blank */
    return (sal / sa < 0.5) ? 1.0f : 0.0f;
}

/* Fills g from c-channel 8-bit pixels, compositing alpha onto the
 * background: shown = a * colour + (1 - a) * background. */
static dl_status flatten(const unsigned char *pix, int c, dl_gray *g, const char *nm, dl_err *e)
{
    size_t n = (size_t)g->w * (size_t)g->h;
    if (c == 1 || c == 3) {
        for (size_t i = 0; i < n; i++) g->px[i] = luma(pix + i * (size_t)c, c);
        return DL_OK;
    }
    float *scratch = malloc(border_count(g->w, g->h) * sizeof *scratch);
    if (!scratch) return dl_err_set(e, DL_ENOMEM, "%s: out of memory", nm);
    float bg = alpha_background(pix, g->w, g->h, c, scratch);
    free(scratch);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = pix + i * (size_t)c;
        float a = p[c - 1] / 255.0f;
        g->px[i] = a * luma(p, c) + (1.0f - a) * bg;
    }
    return DL_OK;
}

/* ---- JPEG orientation --------------------------------------------------- */

/* Phones store a photo as the sensor saw it and record how to turn it in
 * the EXIF Orientation tag; stb_image ignores that, and a digit lying on
 * its side is a different digit.  Returns the tag (1..8), or 1 when there
 * is none.  Every offset is checked: the bytes may be anything. */
static unsigned exif_orientation(const unsigned char *d, size_t n)
{
    if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return 1;
    size_t p = 2;
    while (p + 4 <= n) {
        if (d[p] != 0xFF) return 1;
        unsigned m = d[p + 1];
        if (m == 0xFF) { p++; continue; }                 /* fill byte */
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) { p += 2; continue; }
        if (m == 0xDA || m == 0xD9) return 1;              /* pixel data: no EXIF before it */
        size_t len = (size_t)d[p + 2] << 8 | d[p + 3];
        if (len < 2 || p + 2 + len > n) return 1;
        const unsigned char *seg = d + p + 4;
        size_t slen = len - 2;
        if (m == 0xE1 && slen >= 6 + 8 && memcmp(seg, "Exif\0\0", 6) == 0) {
            const unsigned char *t = seg + 6;
            size_t tlen = slen - 6;
            int le;
            if (memcmp(t, "II*\0", 4) == 0) le = 1;
            else if (memcmp(t, "MM\0*", 4) == 0) le = 0;
            else return 1;
#define EXIF16(q) (le ? (unsigned)(q)[0] | (unsigned)(q)[1] << 8 : (unsigned)(q)[0] << 8 | (unsigned)(q)[1])
#define EXIF32(q) (le ? (uint32_t)EXIF16(q) | (uint32_t)EXIF16((q) + 2) << 16 \
                      : (uint32_t)EXIF16(q) << 16 | (uint32_t)EXIF16((q) + 2))
            uint32_t ifd = EXIF32(t + 4);
            if (ifd > tlen || tlen - ifd < 2) return 1;
            unsigned count = EXIF16(t + ifd);
            for (unsigned i = 0; i < count; i++) {
                size_t e = (size_t)ifd + 2 + (size_t)i * 12;
                if (e + 12 > tlen) return 1;
                /* Orientation: tag 0x0112, type SHORT (3), count 1. */
                if (EXIF16(t + e) == 0x0112 && EXIF16(t + e + 2) == 3 && EXIF32(t + e + 4) == 1) {
                    unsigned o = EXIF16(t + e + 8);
                    return (o >= 1 && o <= 8) ? o : 1;
                }
            }
#undef EXIF16
#undef EXIF32
            return 1;
        }
        p += 2 + len;
    }
    return 1;
}

/* A new picture showing g the way EXIF orientation o says it is meant to
 * be seen.  Orientations 5-8 swap width and height. */
static dl_gray *reorient(const dl_gray *g, unsigned o, dl_err *e)
{
    const int w = g->w, h = g->h, swap = o >= 5;
    dl_gray *r = dl_gray_new(swap ? h : w, swap ? w : h, e);
    if (!r) return NULL;
    for (int y = 0; y < r->h; y++)
        for (int x = 0; x < r->w; x++) {
            int sx, sy; /* the stored pixel shown at (x, y) */
            switch (o) {
            case 2: sx = w - 1 - x; sy = y; break;             /* mirrored */
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;     /* upside down */
            case 4: sx = x; sy = h - 1 - y; break;             /* flipped */
            case 5: sx = y; sy = x; break;                     /* transposed */
            case 6: sx = y; sy = h - 1 - x; break;             /* turn 90 clockwise */
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;     /* transversed */
            case 8: sx = w - 1 - y; sy = x; break;             /* turn 90 anticlockwise */
            default: sx = x; sy = y; break;
            }
            r->px[(size_t)y * (size_t)r->w + (size_t)x] = g->px[(size_t)sy * (size_t)w + (size_t)sx];
        }
    return r;
}

dl_status dl_image_decode(const unsigned char *data, size_t n, const char *name,
                          dl_gray **out, dl_err *e)
{
    const char *nm = name ? name : "picture";
    if (!out) return dl_err_set(e, DL_EINVAL, "%s: no place for the decoded picture (out is NULL)", nm);
    *out = NULL;
    if (!data && n) return dl_err_set(e, DL_EINVAL, "%s: no data (data is NULL)", nm);
    if (n == 0) return dl_err_set(e, DL_EFORMAT, "%s: empty file (not a picture)", nm);
    if (n > DL_IMAGE_MAX_BYTES)
        return dl_err_set(e, DL_ELIMIT, "%s: larger than %zu bytes (not a picture digitlens reads)",
                          nm, (size_t)DL_IMAGE_MAX_BYTES);

    /* Netpbm is ours entirely (image_formats.c). */
    if (dl_pnm_claims(data, n)) return dl_pnm_decode(data, n, nm, out, e);

    /* Only the formats we promise reach stb_image: it also reads TGA, PSD,
     * HDR and PIC, and TGA has no magic, so random bytes (27 of them, seen
     * by the fuzzer) could decode to a 10-megapixel picture. */
    if (!claimed_format(data, n)) {
        const char *why = unsupported_format(data, n);
        if (why) return dl_err_set(e, DL_EFORMAT, "%s: %s", nm, why);
        return dl_err_set(e, DL_EFORMAT,
                          "%s: not a picture digitlens can read (expected PNG, JPEG, BMP, GIF "
                          "or netpbm PBM/PGM/PPM)", nm);
    }

    /* The header first: nothing is allocated for pixels until the declared
     * size is known to be sane.  n fits an int because of the check above. */
    int w = 0, h = 0, comp = 0;
    if (!stbi_info_from_memory(data, (int)n, &w, &h, &comp)) {
        unsigned long pw, ph;
        if (png_declared_size(data, n, &pw, &ph)) {
            dl_status st = check_size(nm, pw, ph, e);
            if (st != DL_OK) return st;
        }
        return dl_err_set(e, DL_EFORMAT, "%s: damaged %s header (the file is truncated or corrupt)",
                          nm, claimed_format(data, n));
    }
    dl_status st = check_size(nm, (unsigned long)(w < 0 ? 0 : w), (unsigned long)(h < 0 ? 0 : h), e);
    if (st != DL_OK) return st;
    if ((st = png_check(data, n, nm, e)) != DL_OK) return st;
    /* stb_image reads past the end as zeros (and fills a JPEG with grey). */
    if ((st = dl_picture_check_whole(data, n, nm, e)) != DL_OK) return st;

    int dw = 0, dh = 0, dc = 0;
    unsigned char *pix = stbi_load_from_memory(data, (int)n, &dw, &dh, &dc, 0);
    if (!pix) {
        const char *reason = stbi_failure_reason();
        if (reason && strcmp(reason, "outofmem") == 0)
            return dl_err_set(e, DL_ENOMEM, "%s: out of memory while decoding", nm);
        /* stb_image copies a PNG's unknown chunk name into its reason: bytes
         * from the file, possibly a newline or a terminal escape.  Only
         * printable ASCII goes into our one-line message.  The reason is
         * stb's last one: "bad png sig" is left over from probing for PNG
         * when the decoder of another format failed without saying why. */
        if (reason && strcmp(reason, "bad png sig") == 0 && strcmp(claimed_format(data, n), "PNG") != 0)
            reason = NULL;
        char why[64] = "";
        for (size_t i = 0; reason && reason[i] && i + 1 < sizeof why; i++) {
            unsigned char c = (unsigned char)reason[i];
            why[i] = (char)(c >= 0x20 && c < 0x7f ? c : '?');
            why[i + 1] = '\0';
        }
        return dl_err_set(e, DL_EFORMAT, "%s: cannot decode the picture (%s%sthe file may be truncated or corrupt)",
                          nm, why, *why ? "; " : "");
    }
    /* The decoder re-reads the header; a disagreement means a corrupt file
     * and, worse, a buffer of a size we did not check. */
    if (dw != w || dh != h || dc < 1 || dc > 4) {
        stbi_image_free(pix);
        return dl_err_set(e, DL_EFORMAT, "%s: header and pixel data disagree (the file is corrupt)", nm);
    }
    dl_gray *g = dl_gray_new(w, h, e);
    if (!g) {
        stbi_image_free(pix);
        return e ? e->code : DL_ENOMEM;
    }
    st = flatten(pix, dc, g, nm, e);
    stbi_image_free(pix);
    if (st != DL_OK) {
        dl_gray_free(g);
        return st;
    }
    unsigned o = exif_orientation(data, n);
    if (o > 1) {
        dl_gray *r = reorient(g, o, e);
        dl_gray_free(g);
        if (!r) return e ? e->code : DL_ENOMEM;
        g = r;
    }
    *out = g;
    return DL_OK;
}

dl_status dl_image_load(const char *path, dl_gray **out, dl_err *e)
{
    if (!out) return dl_err_set(e, DL_EINVAL, "no place for the decoded picture (out is NULL)");
    *out = NULL;
    if (!path) return dl_err_set(e, DL_EINVAL, "no picture file named (path is NULL)");
    unsigned char *buf = NULL;
    size_t len = 0;
    dl_status st = dl_file_read_all(path, DL_IMAGE_MAX_BYTES, &buf, &len, e);
    if (st != DL_OK) return st;
    st = dl_image_decode(buf, len, path, out, e);
    free(buf);
    return st;
}

/* ---- MNIST preprocessing: the paper ------------------------------------ */

/* Tuning constants, all fractions unless marked.  They were chosen on the
 * synthetic tests in tests/test_image.c and on the pictures of
 * scripts/make-handwriting-set.sh, and checked against all 10,000 real MNIST
 * test digits (which must come back as they were). */
enum {
    PAPER_GRID = 16,     /* blocks along the longer side: lighting varies slowly */
    PAPER_MIN_BLOCK = 4, /* px: fewer pixels make a poor percentile */
    PAPER_OPEN = 2,      /* blocks: ink patches up to 2 * PAPER_OPEN blocks wide are not paper */
    PAPER_BINS = 256     /* histogram bins for the percentile (8-bit pictures need no more) */
};
#define STROKE_CORE 0.40f     /* of the digit's strongest ink: what certainly is a stroke */
#define SPECK_MASS 0.03       /* of the digit's main part: smaller parts are specks */
#define NEAR_GAP 0.50         /* of the main part's longer side: farther parts are strays */
#define EDGE_CONTACT 0.25     /* of a side: ink running this far along it is a table edge */
#define THIN_RATIO 5          /* a line is this many times longer than it is thick */
#define RULE_COVER 0.75       /* of a row or column: ink this long is a straight line */
#define RULE_END (1.0 / 32)   /* of a row or column: such a line reaches this close to both ends */
#define RULE_MIN_LENGTH 16    /* px: shorter rows and columns hold no lines */

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

/* ---- MNIST preprocessing: the parts of the digit ----------------------- */

/* A horizontal run of ink pixels [x0, x1) on row y.  While labelling,
 * parent is a union-find link that never points to a later run; then it
 * becomes -(part number + 1); dl_image_to_mnist_ex finally stores there
 * whether the part was kept. */
typedef struct ink_run {
    int32_t x0, x1, y, parent;
} ink_run;

/* What one connected part of the ink looks like.  Small on purpose: a
 * picture of pure noise has a part per four pixels.  Sides are at most
 * DL_IMAGE_MAX_SIDE (2^14), so coordinates fit 16 bits. */
typedef struct ink_part {
    float mass;             /* sum of the ink */
    float peak;             /* its strongest pixel */
    int16_t x0, y0, x1, y1; /* bounding box, inclusive */
    uint16_t side[4];       /* pixels on the left, right, top, bottom border */
    int32_t keep;
} ink_part;

/* Runs of pixels of d at or above t into *r (grown as needed, *cap its
 * size) and first[0..h]: row y's runs are (*r)[first[y]] ..
 * (*r)[first[y + 1] - 1].  Returns the number of runs, or SIZE_MAX when out
 * of memory.  There are at most (w + 1) / 2 runs per row, so the count fits
 * int32 for pictures within DL_IMAGE_MAX_PIXELS. */
static size_t find_runs(const float *d, int w, int h, float t, ink_run **r, size_t *cap, uint32_t *first)
{
    size_t n = 0;
    for (int y = 0; y < h; y++) {
        const float *row = d + (size_t)y * (size_t)w;
        first[y] = (uint32_t)n;
        for (int x = 0; x < w; x++) {
            if (row[x] < t) continue;
            const int x0 = x;
            while (x + 1 < w && row[x + 1] >= t) x++;
            if (n == *cap) {
                size_t more = *cap ? 2 * *cap : 1024;
                ink_run *nr = realloc(*r, more * sizeof *nr);
                if (!nr) return SIZE_MAX;
                *r = nr;
                *cap = more;
            }
            (*r)[n] = (ink_run){x0, x + 1, y, (int32_t)n};
            n++;
        }
    }
    first[h] = (uint32_t)n;
    return n;
}

/* The root of run i's tree, halving the path on the way (each link then
 * skips one run, and still never points to a later run). */
static int32_t run_root(ink_run *r, int32_t i)
{
    while (r[i].parent != i) {
        r[i].parent = r[r[i].parent].parent;
        i = r[i].parent;
    }
    return i;
}

/* Joins runs that touch, corners included, into parts, and renumbers
 * them: returns the number of parts; r[i].parent = -(part + 1).  The
 * earlier run of two always becomes the root, so one pass in order can
 * read each run's part from its (earlier, already renumbered) parent. */
static int32_t join_runs(ink_run *r, const uint32_t *first, int h)
{
    for (int y = 1; y < h; y++) {
        uint32_t p = first[y - 1];
        const uint32_t pe = first[y];
        for (uint32_t c = first[y]; c < first[y + 1]; c++) {
            while (p < pe && r[p].x1 < r[c].x0) p++;
            for (uint32_t q = p; q < pe && r[q].x0 <= r[c].x1; q++) {
                int32_t a = run_root(r, (int32_t)q), b = run_root(r, (int32_t)c);
                if (a < b) r[b].parent = a;
                else if (b < a) r[a].parent = b;
            }
        }
    }
    int32_t parts = 0;
    for (int32_t i = 0; i < (int32_t)first[h]; i++) {
        int32_t p = r[i].parent;
        r[i].parent = p == i ? -(++parts) : r[p].parent;
    }
    return parts;
}

static int32_t run_part(const ink_run *r)
{
    return -r->parent - 1;
}

/* Ink along a border or a long thin stroke from edge to edge is not
 * handwriting: a table edge, a shadow, the rim of a page, a ruled or
 * margin line. */
static int part_is_clutter(const ink_part *p, int w, int h)
{
    const int bw = p->x1 - p->x0 + 1, bh = p->y1 - p->y0 + 1;
    const double cw = EDGE_CONTACT * w, ch = EDGE_CONTACT * h;
    if (p->side[0] > 1 && p->side[0] >= ch) return 1;
    if (p->side[1] > 1 && p->side[1] >= ch) return 1;
    if (p->side[2] > 1 && p->side[2] >= cw) return 1;
    if (p->side[3] > 1 && p->side[3] >= cw) return 1;
    if (p->side[0] && p->side[1] && bh * THIN_RATIO <= bw) return 1; /* across */
    if (p->side[2] && p->side[3] && bw * THIN_RATIO <= bh) return 1; /* down */
    return 0;
}

/* Chooses the digit among n parts (cores of strokes) and sets their keep.
 * In a picture with camera noise: the heaviest part that is not clutter,
 * and the parts near it that are neither specks nor clutter.  Nearness is
 * judged against the box of what is kept so far, for up to three rounds,
 * so a digit broken into a chain of pieces stays whole without the search
 * ever becoming quadratic.  In a noise-free picture (drawn, or MNIST's own)
 * a speck is a deliberate mark: every part but clutter is kept, as MNIST
 * kept them.  When all is clutter, it is kept all the same (the heaviest
 * piece of it, with noise): a guess is better than nothing. */
static void choose_parts(ink_part *p, int32_t n, int w, int h, int clean)
{
    if (n < 1) return;
    int32_t lead = -1, heaviest = 0;
    for (int32_t k = 0; k < n; k++) {
        if (p[k].mass > p[heaviest].mass) heaviest = k;
        if (!part_is_clutter(&p[k], w, h) && (lead < 0 || p[k].mass > p[lead].mass)) lead = k;
    }
    if (clean) {
        for (int32_t k = 0; k < n; k++) p[k].keep = lead < 0 || !part_is_clutter(&p[k], w, h);
        return;
    }
    if (lead < 0) {
        p[heaviest].keep = 1;
        return;
    }
    p[lead].keep = 1;
    int bx0 = p[lead].x0, by0 = p[lead].y0, bx1 = p[lead].x1, by1 = p[lead].y1;
    const int side = (bx1 - bx0 > by1 - by0 ? bx1 - bx0 : by1 - by0) + 1;
    const double gap = NEAR_GAP * side, speck = SPECK_MASS * p[lead].mass;
    for (int round = 0, grew = 1; round < 3 && grew; round++) {
        grew = 0;
        for (int32_t k = 0; k < n; k++) {
            ink_part *q = &p[k];
            if (q->keep || q->mass < speck || part_is_clutter(q, w, h)) continue;
            const int dx = q->x0 > bx1 ? q->x0 - bx1 : bx0 > q->x1 ? bx0 - q->x1 : 0;
            const int dy = q->y0 > by1 ? q->y0 - by1 : by0 > q->y1 ? by0 - q->y1 : 0;
            if ((dx > dy ? dx : dy) > gap) continue;
            q->keep = grew = 1;
            bx0 = q->x0 < bx0 ? q->x0 : bx0;
            by0 = q->y0 < by0 ? q->y0 : by0;
            bx1 = q->x1 > bx1 ? q->x1 : bx1;
            by1 = q->y1 > by1 ? q->y1 : by1;
        }
    }
}

/* Straight lines of ink from edge to edge: rows (columns) where at least
 * RULE_COVER of the pixels are at or above t, the first and the last
 * within RULE_END of the picture's edges.  They are ruled or margin lines,
 * or the rim of a table edge or a shadow, and a digit touching one would
 * otherwise be joined to it: they are set to 0, unless nothing else would
 * be left: no pixel at or above t when digit is NULL, else no pixel of the
 * n runs of digit whose parent is 1 (the digit's cores).  Scratch: cnt,
 * lo, hi of w ints, rule of h bytes. */
static void erase_rules(float *d, int w, int h, float t, const ink_run *digit, size_t n, int *cnt, int *lo,
                        int *hi, unsigned char *rule)
{
    const int rows_may = w >= RULE_MIN_LENGTH, cols_may = h >= RULE_MIN_LENGTH;
    const int end_x = (int)(RULE_END * w), end_y = (int)(RULE_END * h);
    int rules = 0;
    for (int x = 0; x < w; x++) {
        cnt[x] = 0;
        lo[x] = h;
        hi[x] = -1;
    }
    for (int y = 0; y < h; y++) {
        const float *row = d + (size_t)y * (size_t)w;
        int k = 0, first = w, last = -1;
        for (int x = 0; x < w; x++)
            if (row[x] >= t) {
                k++;
                first = first < x ? first : x;
                last = x;
                cnt[x]++;
                lo[x] = lo[x] < y ? lo[x] : y;
                hi[x] = y;
            }
        rule[y] = rows_may && k >= RULE_COVER * w && first <= end_x && last >= w - 1 - end_x;
        rules += rule[y];
    }
    for (int x = 0; x < w; x++) {
        cnt[x] = cols_may && cnt[x] >= RULE_COVER * h && lo[x] <= end_y && hi[x] >= h - 1 - end_y;
        rules += cnt[x];
    }
    if (!rules) return;
    int rest = 0;
    if (digit) {
        for (size_t i = 0; i < n && !rest; i++)
            if (digit[i].parent == 1 && !rule[digit[i].y])
                for (int x = digit[i].x0; x < digit[i].x1 && !rest; x++) rest = !cnt[x];
    } else {
        for (int y = 0; y < h && !rest; y++) {
            const float *row = d + (size_t)y * (size_t)w;
            for (int x = 0; x < w && !rule[y] && !rest; x++) rest = row[x] >= t && !cnt[x];
        }
    }
    if (!rest) return;
    for (int y = 0; y < h; y++) {
        float *row = d + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            if (rule[y] || cnt[x]) row[x] = 0.0f;
    }
}

/* ---- MNIST preprocessing ----------------------------------------------- */

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

/* The strong parts of d (at or above t), measured: *parts_out gets a new
 * array (the caller frees it) and *n its length; *runs_out and *first_out
 * the runs they are made of. */
static dl_status label_parts(const float *d, int w, int h, float t, ink_run **runs_out,
                             uint32_t **first_out, ink_part **parts_out, int32_t *n, dl_err *e)
{
    *runs_out = NULL;
    *first_out = NULL;
    *parts_out = NULL;
    *n = 0;
    ink_run *r = NULL;
    size_t cap = 0, nr = SIZE_MAX;
    uint32_t *first = malloc(((size_t)h + 1) * sizeof *first);
    if (first) nr = find_runs(d, w, h, t, &r, &cap, first);
    if (nr == SIZE_MAX) {
        free(r);
        free(first);
        return dl_err_set(e, DL_ENOMEM, "picture: out of memory while labelling the ink of %d x %d pixels", w, h);
    }
    const int32_t np = join_runs(r, first, h);
    ink_part *p = calloc(np ? (size_t)np : 1, sizeof *p);
    if (!p) {
        free(r);
        free(first);
        return dl_err_set(e, DL_ENOMEM, "picture: out of memory for %ld ink parts", (long)np);
    }
    for (int32_t k = 0; k < np; k++) {
        p[k].x0 = (int16_t)(w - 1);
        p[k].y0 = (int16_t)(h - 1);
    }
    for (size_t i = 0; i < nr; i++) {
        ink_part *q = &p[run_part(&r[i])];
        const int y = r[i].y, x0 = r[i].x0, x1 = r[i].x1;
        const float *row = d + (size_t)y * (size_t)w;
        for (int x = x0; x < x1; x++) {
            q->mass += row[x];
            if (row[x] > q->peak) q->peak = row[x];
        }
        if (x0 < q->x0) q->x0 = (int16_t)x0;
        if (x1 - 1 > q->x1) q->x1 = (int16_t)(x1 - 1);
        if (y < q->y0) q->y0 = (int16_t)y;
        if (y > q->y1) q->y1 = (int16_t)y;
        q->side[0] = (uint16_t)(q->side[0] + (x0 == 0));
        q->side[1] = (uint16_t)(q->side[1] + (x1 == w));
        if (y == 0) q->side[2] = (uint16_t)(q->side[2] + (x1 - x0));
        if (y == h - 1) q->side[3] = (uint16_t)(q->side[3] + (x1 - x0));
    }
    *runs_out = r;
    *first_out = first;
    *parts_out = p;
    *n = np;
    return DL_OK;
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

    const int w = in->w, h = in->h;
    const size_t npx = (size_t)w * (size_t)h, nb = border_count(w, h);
    /* One block: the ink map, the border scratch, and per column where it
     * falls on the paper grid. */
    float *ink = malloc(npx * sizeof *ink + nb * sizeof(float) + (size_t)w * (2 * sizeof(float) + 3 * sizeof(int)) +
                        (size_t)h);
    if (!ink) return dl_err_set(e, DL_ENOMEM, "picture: out of memory for %d x %d pixels", w, h);
    float *scratch = ink + npx, *col_t = scratch + nb, *line = col_t + w;
    int *col_i = (int *)(line + w), *col_lo = col_i + w, *col_hi = col_lo + w;
    unsigned char *row_rule = (unsigned char *)(col_hi + w);

    /* 1. The picture, clamped, and whether it is noise-free: when most
     * pixels are exactly the shade the border mostly shows, nothing was
     * photographed (it was drawn, or is MNIST's own): see choose_parts. */
    for (size_t k = 0; k < nb; k++) scratch[k] = clamp01(in->px[border_index(w, h, k)]);
    const float border = median(scratch, nb);
    size_t flat = 0;
    for (size_t i = 0; i < npx; i++) {
        const float v = clamp01(in->px[i]);
        flat += v == border;
        ink[i] = v;
    }
    const int clean = 2 * flat >= npx;

    /* 2. Levels on a grid of blocks (about 1/16 of the longer side): light
     * falls unevenly on a photographed page, so one paper level would call
     * its darker side ink. */
    const int longer = w > h ? w : h;
    const int block = clampi((longer + PAPER_GRID - 1) / PAPER_GRID, PAPER_MIN_BLOCK, longer);
    const int gx = clampi((int)floor((double)w / block + 0.5), 1, PAPER_GRID);
    const int gy = clampi((int)floor((double)h / block + 0.5), 1, PAPER_GRID);
    float q25[PAPER_GRID * PAPER_GRID], q50[PAPER_GRID * PAPER_GRID], q75[PAPER_GRID * PAPER_GRID];
    float *lv = q25, *qs[3] = {q25, q50, q75};
    size_t hist[PAPER_BINS];
    block_levels(ink, w, h, gx, gy, qs, hist);

    /* Which way round: the typical paper is the median of the blocks'
     * medians, and ink lies far from it: when the darkest and the lightest
     * 0.5% of the picture are clearly unequally far from that paper, the
     * farther side is the ink (black ink on grey paper, or behind a shadow
     * on the border); otherwise (little ink, or far on both sides) light
     * paper means dark ink. */
    float typical;
    {
        float sorted[PAPER_GRID * PAPER_GRID];
        memcpy(sorted, q50, (size_t)(gx * gy) * sizeof *sorted);
        typical = median(sorted, (size_t)(gx * gy));
    }
    int lo_bin = 0, hi_bin = PAPER_BINS - 1;
    for (size_t seen = 0; lo_bin < PAPER_BINS - 1 && (seen += hist[lo_bin]) <= npx / 200; lo_bin++) {}
    for (size_t seen = 0; hi_bin > 0 && (seen += hist[hi_bin]) <= npx / 200; hi_bin--) {}
    const float to_dark = typical - (lo_bin + 0.5f) / PAPER_BINS;
    const float to_light = (hi_bin + 0.5f) / PAPER_BINS - typical;
    const int inverted = to_dark > 2 * to_light ? 1 : to_light > 2 * to_dark ? 0 : typical >= 0.5f;

    /* From here on u = "ink-up": 0 towards paper, 1 towards ink, and the
     * paper of a block is its quartile on the paper's side.  An opening of
     * the grid (min, then max, over 5 x 5 blocks) removes blocks that ink
     * mostly fills, yet keeps any gradient, which min-then-max returns
     * exactly; pixels then interpolate bilinearly. */
    for (int k = 0; k < gx * gy; k++) lv[k] = inverted ? 1.0f - q75[k] : q25[k];
    grid_rank(lv, q50, gx, gy, PAPER_OPEN, 0);
    grid_rank(lv, q50, gx, gy, PAPER_OPEN, 1);
    float lv_min = 1.0f;
    for (int k = 0; k < gx * gy; k++) lv_min = lv[k] < lv_min ? lv[k] : lv_min;
    for (int x = 0; x < w; x++) grid_pos(w, gx, x, &col_i[x], &col_t[x]);

    /* 3. Ink is the distance from the local paper.  Dark ink is measured as
     * a fraction of the paper's brightness there: light multiplies, so
     * ink / paper stays the same from the bright to the shaded side.  Light
     * ink on dark ground is plain distance (the ground is near 0). */
    const float dim = 0.5f * (1.0f - lv_min); /* shadowed paper divides by at least this */
    float contrast = 0.0f, top = 0.0f;
    for (int y = 0; y < h; y++) {
        grid_line(lv, gx, gy, h, y, col_i, col_t, w, line);
        float *row = ink + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++) {
            float d = (inverted ? 1.0f - row[x] : row[x]) - line[x];
            if (d > contrast) contrast = d;
            if (inverted && d > 0.0f) {
                const float bright = 1.0f - line[x];
                d /= bright > dim ? bright : dim;
            }
            d = d < 0.0f ? 0.0f : d > 1.0f ? 1.0f : d;
            row[x] = d;
            if (d > top) top = d;
        }
    }
    if (contrast < DL_IMAGE_MIN_CONTRAST) {
        free(ink);
        return dl_err_set(e, DL_EFORMAT,
                          "no ink found (the picture is blank or nearly uniform; it needs a digit "
                          "clearly darker or lighter than its background)");
    }

    /* 4. The digit's parts: connected pieces of stroke cores (at least
     * STROKE_CORE of the strongest ink), once straight lines from edge to
     * edge are gone, chosen by choose_parts.  When the strongest ink was
     * left out (a black table edge beside a pencil digit) the cores are
     * found again relative to the digit's own ink. */
    ink_run *runs = NULL;
    uint32_t *first = NULL;
    ink_part *parts = NULL;
    int32_t nparts = 0;
    float strongest = top;
    for (int round = 0; round < 2; round++) {
        free(runs);
        free(first);
        free(parts);
        erase_rules(ink, w, h, STROKE_CORE * strongest, NULL, 0, col_i, col_lo, col_hi, row_rule);
        dl_status st = label_parts(ink, w, h, STROKE_CORE * strongest, &runs, &first, &parts, &nparts, e);
        if (st != DL_OK) {
            free(ink);
            return st;
        }
        choose_parts(parts, nparts, w, h, clean);
        float peak = 0.0f;
        for (int32_t k = 0; k < nparts; k++)
            if (parts[k].keep && parts[k].peak > peak) peak = parts[k].peak;
        if (peak >= 0.8f * strongest || peak <= 0.0f) break;
        strongest = peak;
    }
    /* The box of the kept cores, with a margin for their soft rims.  Each
     * run remembers in parent whether its part was kept (1) or not (2), so
     * the parts can go before the faint ink is labelled. */
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
    const int dropped = (int)nparts - kept;
    for (uint32_t c = 0; c < first[h]; c++) runs[c].parent = parts[run_part(&runs[c])].keep ? 1 : 2;
    free(parts);
    {
        const int margin = 2 + ((kx1 - kx0 > ky1 - ky0 ? kx1 - kx0 : ky1 - ky0) + 1) / 50;
        kx0 = clampi(kx0 - margin, 0, w - 1);
        ky0 = clampi(ky0 - margin, 0, h - 1);
        kx1 = clampi(kx1 + margin, 0, w - 1);
        ky1 = clampi(ky1 + margin, 0, h - 1);
    }

    /* 5. Faint ink, down to DL_IMAGE_INK_THRESHOLD of the digit's strongest,
     * in pieces of its own (wr, wparts), again without straight lines.  A
     * piece's keep first collects the cores inside it (1: a kept one, 2: a
     * left-out one), then says what of it counts: pieces holding only
     * left-out cores go (0); in a noise-free picture a piece without cores
     * that is not clutter counts whole (3), like a faint speck or tail of an
     * MNIST digit; otherwise faint ink counts inside the cores' box (1): the
     * soft rim of a stroke, but not noise or a ruled line dragging the box
     * to the edge of the page. */
    const float faint = DL_IMAGE_INK_THRESHOLD * strongest;
    ink_run *wr = NULL;
    uint32_t *wfirst = NULL;
    ink_part *wparts = NULL;
    int32_t nw_parts = 0;
    erase_rules(ink, w, h, faint, runs, first[h], col_i, col_lo, col_hi, row_rule);
    dl_status st = label_parts(ink, w, h, faint, &wr, &wfirst, &wparts, &nw_parts, e);
    if (st != DL_OK) {
        free(runs);
        free(first);
        free(ink);
        return st;
    }
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
    free(runs);
    free(first);
    for (int32_t k = 0; k < nw_parts; k++) {
        ink_part *q = &wparts[k];
        q->keep = q->keep == 2 ? 0 : clean && q->keep == 0 && !part_is_clutter(q, w, h) ? 3 : 1;
    }
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++) {
        float *row = ink + (size_t)y * (size_t)w;
        const int row_in = y >= ky0 && y <= ky1;
        int x = 0;
        for (uint32_t c = wfirst[y]; c < wfirst[y + 1]; c++) {
            for (; x < wr[c].x0; x++) row[x] = 0.0f;
            const int how = wparts[run_part(&wr[c])].keep;
            for (; x < wr[c].x1; x++) {
                if (how == 0 || (how == 1 && (!row_in || x < kx0 || x > kx1))) {
                    row[x] = 0.0f;
                    continue;
                }
                const float v = row[x] / strongest;
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
    if (x1 < 0) { /* only when lines along the edges were all the ink there was */
        free(ink);
        return dl_err_set(e, DL_EFORMAT,
                          "no ink found apart from straight lines along the edges (ruled lines or a "
                          "shadow; the digit needs to be clearly darker or lighter than its paper)");
    }
    const int bw = x1 - x0 + 1, bh = y1 - y0 + 1;

    /* 6. Scale the box, aspect kept, so its longer side fills the 20/28 box. */
    const int box_c = fit_box(cols), box_r = fit_box(rows);
    double s = (double)box_c / bw;
    if ((double)box_r / bh < s) s = (double)box_r / bh;
    int nw = clampi((int)floor(bw * s + 0.5), 1, box_c);
    int nh = clampi((int)floor(bh * s + 0.5), 1, box_r);
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
    if (!patch) {
        free(ink);
        return dl_err_set(e, DL_ENOMEM, "picture: out of memory");
    }
    const float *src = ink + (size_t)y0 * (size_t)w + (size_t)x0;
    if (nw == bw && nh == bh) {
        for (int y = 0; y < nh; y++)
            memcpy(patch + (size_t)y * (size_t)nw, src + (size_t)y * (size_t)w, (size_t)nw * sizeof *patch);
    } else {
        /* Box filter when shrinking is an area average, what MNIST's
         * anti-aliasing did; bilinear when growing a tiny scribble (a box
         * would make blocks).  Outside the crop is paper, hence EDGE_ZERO. */
        stbir_filter fh = nw < bw ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
        stbir_filter fv = nh < bh ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
        int ok = stbir_resize(src, bw, bh, (int)((size_t)w * sizeof *ink),
                              patch, nw, nh, 0, STBIR_TYPE_FLOAT, 1, STBIR_ALPHA_CHANNEL_NONE, 0,
                              STBIR_EDGE_ZERO, STBIR_EDGE_ZERO, fh, fv, STBIR_COLORSPACE_LINEAR, NULL);
        if (!ok) {
            free(patch);
            free(ink);
            return dl_err_set(e, DL_ENOMEM, "picture: out of memory while scaling");
        }
    }
    free(ink);

    /* 7. Centre of mass of the scaled ink, in patch pixel coordinates. */
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
    /* Whole-pixel shifts keep the scaled ink as it is (no second blur);
     * clamping keeps a lopsided digit inside the field. */
    const int ox = clampi((int)floor(cols / 2.0 - cx + 0.5), 0, cols - nw);
    const int oy = clampi((int)floor(rows / 2.0 - cy + 0.5), 0, rows - nh);
    memset(out, 0, (size_t)rows * (size_t)cols * sizeof *out);
    for (int y = 0; y < nh; y++)
        memcpy(out + (size_t)(oy + y) * (size_t)cols + (size_t)ox, patch + (size_t)y * (size_t)nw,
               (size_t)nw * sizeof *out);
    free(patch);

    if (prep) {
        /* The paper behind the middle of the digit, in the input's shades. */
        int i0, j0;
        float tx, ty;
        grid_pos(w, gx, x0 + bw / 2, &i0, &tx);
        grid_pos(h, gy, y0 + bh / 2, &j0, &ty);
        const int i1 = i0 + 1 < gx ? i0 + 1 : i0, j1 = j0 + 1 < gy ? j0 + 1 : j0;
        const float top_l = lv[j0 * gx + i0] + tx * (lv[j0 * gx + i1] - lv[j0 * gx + i0]);
        const float bot_l = lv[j1 * gx + i0] + tx * (lv[j1 * gx + i1] - lv[j1 * gx + i0]);
        const float paper = top_l + ty * (bot_l - top_l);
        prep->background = inverted ? 1.0f - paper : paper;
        prep->ink = inverted ? (1.0f - paper) * (1.0f - strongest) : paper + strongest;
        prep->inverted = inverted;
        prep->box_x = x0;
        prep->box_y = y0;
        prep->box_w = bw;
        prep->box_h = bh;
        prep->scaled_w = nw;
        prep->scaled_h = nh;
        prep->off_x = ox;
        prep->off_y = oy;
        prep->parts = kept;
        prep->dropped = dropped;
    }
    return DL_OK;
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
