/*
 * fuzz_idx.c — libFuzzer harness for the IDX reader: idx.c through
 * fileio.c's raw-or-gzip reader, exactly as the command line reaches it
 * (dl_idx_load, dl_idx_load_images and, for classify, dl_idx_load_head on
 * files).
 *
 * Input layout: byte 0 chooses the mode, the rest is file content.
 *   bit 0  gzip the content before writing it, so mutations reach the IDX
 *          parser behind zlib (content that itself starts 1f 8b is read as
 *          gzip anyway, which fuzzes zlib on damaged streams);
 *   bit 1  two files: bytes 1-2 (little-endian) say how many content
 *          bytes form the label file, the rest is the image file, and both
 *          go through dl_idx_load; otherwise dl_idx_load_images;
 *   bit 2  dl_idx_load_head instead, for the first (byte 0 >> 3) images.
 * The files live in one private directory (under /dev/shm when there is
 * one, so the harness does not wear a disk), made once per process.
 *
 * On success the dataset must be self-consistent (shape within the
 * documented limits, pixels and labels all readable), and slicing,
 * selecting and fingerprinting it must work.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "digitlens/idx.h"

#include "fuzz_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv);

static char g_dir[256], g_images[300], g_labels[300];

static void cleanup(void)
{
    unlink(g_images);
    unlink(g_labels);
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/digitlens-fuzz-idx-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(g_dir)) abort();
    snprintf(g_images, sizeof g_images, "%s/images", g_dir);
    snprintf(g_labels, sizeof g_labels, "%s/labels", g_dir);
    atexit(cleanup);
    return 0;
}

static void put_file(const char *path, const uint8_t *p, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb1");
        if (!f) abort();
        if (n && gzwrite(f, p, (unsigned)n) != (int)n) abort();
        if (gzclose(f) != Z_OK) abort();
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(p, 1, n, f) != n) abort();
    if (fclose(f) != 0) abort();
}

static void check(const dl_dataset *d)
{
    if (d->rows < 1 || d->cols < 1 || (unsigned)d->rows > DL_IDX_MAX_DIM ||
        (unsigned)d->cols > DL_IDX_MAX_DIM || d->n > DL_IDX_MAX_ITEMS ||
        d->npix != (size_t)d->rows * (size_t)d->cols || d->n * d->npix > DL_IDX_MAX_BYTES)
        abort();
    /* Touch every byte so ASan sees any buffer shorter than promised. */
    unsigned sum = 0;
    for (size_t i = 0; i < d->n * d->npix; i++) sum += d->pixels[i];
    for (size_t i = 0; i < d->n; i++) sum += d->labels[i];
    (void)dl_dataset_fingerprint(d);
    int k = dl_dataset_nclasses(d);
    if (k < 1 || k > 256 || sum == 0xFFFFFFFFu) abort();
    dl_err e;
    dl_dataset *s = dl_dataset_slice(d, d->n / 2, d->n - d->n / 2, &e);
    if (!s) abort();
    dl_dataset_free(s);
    int classes[2] = {1, 0};
    s = dl_dataset_select(d, classes, 2, &e);
    if (!s) abort();
    dl_dataset_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned mode = data[0];
    data++;
    size--;
    int gz = mode & 1, pair = (mode >> 1) & 1;
    size_t head = mode & 4 ? mode >> 3 : SIZE_MAX, total = 0;
    dl_err e;
    dl_dataset *d = NULL;
    dl_status st;
    if (pair) {
        if (size < 2) return 0;
        size_t split = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (split > size) split = size;
        put_file(g_labels, data, split, gz);
        put_file(g_images, data + split, size - split, gz);
        st = head != SIZE_MAX ? dl_idx_load_head(g_images, g_labels, head, &d, &total, &e)
                              : dl_idx_load(g_images, g_labels, &d, &e);
    } else {
        put_file(g_images, data, size, gz);
        st = head != SIZE_MAX ? dl_idx_load_head(g_images, NULL, head, &d, &total, &e)
                              : dl_idx_load_images(g_images, &d, &e);
    }
    if (st == DL_OK) {
        if (!d) abort();
        if (head != SIZE_MAX && (d->n > head || d->n > total || (d->n < head && d->n != total))) abort();
        check(d);
        dl_dataset_free(d);
    } else {
        /* Errors are one sentence naming the file, never an empty message. */
        if (d || bad_message(&e, st)) abort();
    }
    return 0;
}
