/*
 * idx.c — IDX files to and from dl_dataset (see idx.h; the data set itself
 * is dataset.c's).
 *
 * The header is read and checked field by field before any allocation;
 * pixel data then arrives in chunks into a buffer that grows only as data
 * actually arrives, so a hostile header cannot make us reserve memory the
 * file does not back.  After the declared data, the stream must end: extra
 * bytes (or a gzip member inflating further) are refused.
 */
#include "digitlens/idx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "digitlens/fileio.h"

#include "bytes.h"

/* Reads the magic and dimensions; checks dtype (0x08 = unsigned byte) and
 * the dimension count against what the caller expects. */
static dl_status read_header(dl_reader *r, unsigned ndims_want, const char *kind,
                             uint32_t *dims, dl_err *e)
{
    const char *path = dl_reader_path(r);
    unsigned char h[16];
    size_t got = 0;
    dl_status st = dl_reader_read(r, h, 4, &got, e);
    if (st != DL_OK) return st;
    if (got == 0) return dl_err_set(e, DL_EFORMAT, "%s: empty file (expected an IDX %s file)", path, kind);
    if (got < 4)
        return dl_err_set(e, DL_EFORMAT, "%s: truncated IDX header (%zu of 4 magic bytes)", path, got);
    if (h[0] != 0 || h[1] != 0)
        return dl_err_set(e, DL_EFORMAT,
                          "%s: not an IDX file (magic %02x%02x%02x%02x; expected 0x0000080%u for %s)",
                          path, h[0], h[1], h[2], h[3], ndims_want, kind);
    if (h[2] != 0x08)
        return dl_err_set(e, DL_EFORMAT,
                          "%s: IDX data type 0x%02x is not supported (expected 0x08, unsigned byte)",
                          path, h[2]);
    if (h[3] != ndims_want)
        return dl_err_set(e, DL_EFORMAT,
                          "%s: IDX file has %u dimensions; %s files have %u (magic %u)", path, h[3],
                          kind, ndims_want, ndims_want == 1 ? DL_IDX_MAGIC_LABELS : DL_IDX_MAGIC_IMAGES);
    st = dl_reader_read(r, h, 4 * ndims_want, &got, e);
    if (st != DL_OK) return st;
    if (got < 4 * ndims_want)
        return dl_err_set(e, DL_EFORMAT, "%s: truncated IDX header (%zu of %u dimension bytes)", path,
                          got, 4 * ndims_want);
    for (unsigned i = 0; i < ndims_want; i++) dims[i] = dl_get_be32(h + 4 * i);
    return DL_OK;
}

/* Reads exactly n bytes into a buffer grown in steps; then, when `whole`,
 * insists on EOF.  promised is what the header declares (n when whole),
 * for the message when the data ends early. */
static dl_status read_body(dl_reader *r, size_t n, size_t promised, int whole, const char *what,
                           uint8_t **out, dl_err *e)
{
    const char *path = dl_reader_path(r);
    size_t cap = 0, have = 0;
    uint8_t *buf = NULL;
    while (have < n) {
        if (have == cap) {
            size_t ncap = cap ? cap * 2 : (1u << 20);
            if (ncap > n) ncap = n;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return dl_err_set(e, DL_ENOMEM, "%s: out of memory reading %zu bytes", path, n);
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - have, got = 0;
        dl_status st = dl_reader_read(r, buf + have, want, &got, e);
        have += got;
        if (st != DL_OK) {
            free(buf);
            return st;
        }
        if (got < want) {
            free(buf);
            return dl_err_set(e, DL_EFORMAT,
                              "%s: truncated: header promises %zu bytes of %s, file holds %zu", path,
                              promised, what, have);
        }
    }
    int end = whole ? dl_reader_at_end(r) : 1;
    if (end != 1) {
        free(buf);
        if (end < 0)
            return dl_err_set(e, DL_EFORMAT, "%s: corrupt gzip data after the %s", path, what);
        return dl_err_set(e, DL_EFORMAT,
                          "%s: more data than the header declares (%zu bytes of %s expected)", path, n,
                          what);
    }
    if (!buf) buf = malloc(1); /* n == 0: still hand back an owned pointer */
    if (!buf) return dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
    *out = buf;
    return DL_OK;
}

/* Up to this many images are read through a small buffer (dl_reader_small). */
#define SMALL_HEAD 100

/* labels_path non-NULL: the image count must equal want (that file's label
 * count), checked before any pixel is read, so a mismatched pair costs no
 * more than its headers.  Reads the first `upto` images only when the file
 * has more (then *n = upto and the rest of the file is not read), else all
 * of them and checks the file ends there; *total is the header's count. */
static dl_status load_images(const char *path, const char *labels_path, size_t want, size_t upto,
                             size_t *n, size_t *total, int *rows, int *cols, uint8_t **px, dl_err *e)
{
    dl_reader *r = dl_reader_open(path, e);
    if (!r) return e ? e->code : DL_EIO;
    if (upto <= SMALL_HEAD) dl_reader_small(r);
    uint32_t d[3] = {0, 0, 0};
    dl_status st = read_header(r, 3, "image", d, e);
    if (st == DL_OK) {
        if (d[0] > DL_IDX_MAX_ITEMS)
            st = dl_err_set(e, DL_ELIMIT, "%s: %u images is beyond the limit of %u", path, d[0],
                            DL_IDX_MAX_ITEMS);
        else if (d[1] == 0 || d[2] == 0 || d[1] > DL_IDX_MAX_DIM || d[2] > DL_IDX_MAX_DIM)
            st = dl_err_set(e, DL_EFORMAT, "%s: image size %ux%u is not allowed (1..%u per side)", path,
                            d[1], d[2], DL_IDX_MAX_DIM);
        else {
            /* Sides are <= 4096, so rows*cols fits in 32 bits; the product
             * with the count is checked against the byte limit by division. */
            size_t npix = (size_t)d[1] * d[2];
            if (d[0] != 0 && npix > DL_IDX_MAX_BYTES / d[0])
                st = dl_err_set(e, DL_ELIMIT,
                                "%s: %u images of %ux%u exceed the limit of %u MiB of pixels", path, d[0],
                                d[1], d[2], DL_IDX_MAX_BYTES >> 20);
            else if (labels_path && d[0] != want)
                st = dl_err_set(e, DL_EFORMAT, "%s: %u images but %s has %zu labels (files do not pair up)",
                                path, d[0], labels_path, want);
            else {
                /* Reading only the first images skips the checks that the
                 * data ends where the header says.  So only when the file
                 * states the length the header implies (its size, or its
                 * gzip trailer); any other file is read and checked whole,
                 * and refused as a full load would refuse it. */
                size_t take = upto < d[0] ? upto : d[0];
                uint32_t stated = 0;
                if (take < d[0] && !(dl_reader_stated_size(r, &stated) &&
                                     stated == (uint32_t)(16 + (uint64_t)d[0] * npix)))
                    take = d[0];
                st = read_body(r, take * npix, (size_t)d[0] * npix, take == d[0], "pixels", px, e);
                /* Read whole or not, the caller gets the first `upto`
                 * images only, as promised (found by fuzz_idx: a gzip file
                 * without a matching trailer handed back all of them). */
                *n = take < upto ? take : upto;
            }
        }
    }
    dl_reader_close(r);
    if (st != DL_OK) return st;
    *total = d[0];
    *rows = (int)d[1];
    *cols = (int)d[2];
    return DL_OK;
}

static dl_status load_labels(const char *path, size_t *n, uint8_t **labels, dl_err *e)
{
    dl_reader *r = dl_reader_open(path, e);
    if (!r) return e ? e->code : DL_EIO;
    uint32_t d[1] = {0};
    dl_status st = read_header(r, 1, "label", d, e);
    if (st == DL_OK) {
        if (d[0] > DL_IDX_MAX_ITEMS)
            st = dl_err_set(e, DL_ELIMIT, "%s: %u labels is beyond the limit of %u", path, d[0],
                            DL_IDX_MAX_ITEMS);
        else
            st = read_body(r, d[0], d[0], 1, "labels", labels, e);
    }
    dl_reader_close(r);
    if (st != DL_OK) return st;
    *n = d[0];
    return DL_OK;
}

dl_status dl_idx_load_head(const char *images_path, const char *labels_path, size_t count,
                           dl_dataset **out, size_t *total, dl_err *e)
{
    *out = NULL;
    size_t ni = 0, nl = 0, all = 0;
    int rows = 0, cols = 0;
    uint8_t *px = NULL, *labels = NULL;
    /* Labels first: small, and a wrong pairing is caught before 47 MB of pixels load. */
    if (labels_path) {
        dl_status st = load_labels(labels_path, &nl, &labels, e);
        if (st != DL_OK) return st;
    }
    dl_status st = load_images(images_path, labels_path, nl, count, &ni, &all, &rows, &cols, &px, e);
    if (st == DL_OK && !labels && !(labels = calloc(ni ? ni : 1, 1)))
        st = dl_err_set(e, DL_ENOMEM, "%s: out of memory", images_path);
    if (st != DL_OK) {
        free(px);
        free(labels);
        return st;
    }
    if (total) *total = all;
    *out = dl_dataset_wrap(ni, rows, cols, px, labels, e);
    return *out ? DL_OK : DL_ENOMEM;
}

dl_status dl_idx_load(const char *images_path, const char *labels_path, dl_dataset **out,
                      dl_err *e)
{
    return dl_idx_load_head(images_path, labels_path, SIZE_MAX, out, NULL, e);
}

dl_status dl_idx_load_images(const char *images_path, dl_dataset **out, dl_err *e)
{
    return dl_idx_load_head(images_path, NULL, SIZE_MAX, out, NULL, e);
}

/* Writes header + body, gzip-compressed in memory when asked, atomically. */
static dl_status write_idx(const char *path, const unsigned char *hdr, size_t hlen,
                           const uint8_t *body, size_t blen, int gz, dl_err *e)
{
    if (!gz) {
        dl_writer *w = dl_writer_open(path, e);
        if (!w) return e ? e->code : DL_EIO;
        dl_status st = dl_writer_write(w, hdr, hlen, e);
        if (st == DL_OK) st = dl_writer_write(w, body, blen, e);
        if (st != DL_OK) {
            dl_writer_abort(w);
            return st;
        }
        return dl_writer_commit(w, e);
    }
    /* A gzip member: deflate with windowBits 31; header mtime 0 so output is reproducible. */
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return dl_err_set(e, DL_ENOMEM, "%s: cannot start gzip compression", path);
    size_t cap = deflateBound(&z, (uLong)(hlen + blen)) + 64;
    unsigned char *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return dl_err_set(e, DL_ENOMEM, "%s: out of memory", path);
    }
    z.next_out = out;
    z.avail_out = (uInt)cap;
    z.next_in = (Bytef *)hdr;
    z.avail_in = (uInt)hlen;
    int zr = deflate(&z, Z_NO_FLUSH);
    size_t off = 0;
    while (zr == Z_OK && off < blen) {
        size_t chunk = blen - off > (1u << 30) ? (1u << 30) : blen - off;
        z.next_in = (Bytef *)(body + off);
        z.avail_in = (uInt)chunk;
        zr = deflate(&z, Z_NO_FLUSH);
        off += chunk - z.avail_in;
    }
    if (zr == Z_OK) zr = deflate(&z, Z_FINISH);
    size_t outlen = z.total_out;
    deflateEnd(&z);
    dl_status st = zr == Z_STREAM_END ? dl_file_write_atomic(path, out, outlen, e)
                                      : dl_err_set(e, DL_EIO, "%s: gzip compression failed", path);
    free(out);
    return st;
}

dl_status dl_idx_write_images(const char *path, const uint8_t *pixels, size_t n, int rows,
                              int cols, int gz, dl_err *e)
{
    if (n > DL_IDX_MAX_ITEMS || rows < 1 || cols < 1 || (unsigned)rows > DL_IDX_MAX_DIM ||
        (unsigned)cols > DL_IDX_MAX_DIM)
        return dl_err_set(e, DL_EINVAL, "%s: cannot write %zu images of %dx%d", path, n, rows, cols);
    unsigned char h[16];
    dl_put_be32(h, DL_IDX_MAGIC_IMAGES);
    dl_put_be32(h + 4, (uint32_t)n);
    dl_put_be32(h + 8, (uint32_t)rows);
    dl_put_be32(h + 12, (uint32_t)cols);
    return write_idx(path, h, 16, pixels, n * (size_t)rows * (size_t)cols, gz, e);
}

dl_status dl_idx_write_labels(const char *path, const uint8_t *labels, size_t n, int gz, dl_err *e)
{
    if (n > DL_IDX_MAX_ITEMS) return dl_err_set(e, DL_EINVAL, "%s: cannot write %zu labels", path, n);
    unsigned char h[8];
    dl_put_be32(h, DL_IDX_MAGIC_LABELS);
    dl_put_be32(h + 4, (uint32_t)n);
    return write_idx(path, h, 8, labels, n, gz, e);
}
