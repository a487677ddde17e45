/*
 * image.c — picture files to grayscale (stb_image; see image.h for the
 * contract).  Finding the digit in the picture is digit.c's.
 *
 * Nothing here prints or keeps state between calls.  stb_image comes
 * from libstb (-lstb); this file only includes its declarations.
 */
#include "digitlens/image.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <zlib.h>

#include "digitlens/fileio.h"
#include "image_formats.h"

#include "bytes.h"
#include "image_border.h"

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


dl_status dl_image_check_size(const char *nm, unsigned long w, unsigned long h, dl_err *e)
{
    return check_size(nm, w, h, e);
}

/* ---- decoding ---------------------------------------------------------- */

/* stbi_info refuses a PNG whose header promises more than about 1 GB and
 * then only says "unknown image type"; reading the IHDR ourselves lets us
 * name the size instead. */
static int png_declared_size(const unsigned char *d, size_t n, unsigned long *w, unsigned long *h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 24 || memcmp(d, sig, 8) != 0 || memcmp(d + 12, "IHDR", 4) != 0) return 0;
    *w = dl_get_be32(d + 16);
    *h = dl_get_be32(d + 20);
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
        size_t len = dl_get_be32(d + p);
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
            iw = dl_get_be32(body);
            ih = dl_get_be32(body + 4);
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
    /* Walked off the end without an IEND chunk: the image data may all be
     * there (stb_image would decode it), but the file was cut short. */
    if (st == DL_OK && p + 12 > n)
        st = dl_err_set(e, DL_EFORMAT, "%s: truncated PNG (the file ends before its IEND chunk; it was cut short)", nm);
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
    size_t nb = dl_border_count(w, h), nop = 0;
    for (size_t k = 0; k < nb; k++) {
        const unsigned char *p = pix + dl_border_index(w, h, k) * (size_t)c;
        if (p[c - 1] >= 128) scratch[nop++] = luma(p, c);
    }
    if (nop > 0 && 2 * nop >= nb) return dl_median(scratch, nop);

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
    float *scratch = malloc(dl_border_count(g->w, g->h) * sizeof *scratch);
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

