/* test_idx.c — IDX loading, validation and dataset helpers. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digitlens/idx.h"
#include "support/support.h"

static char *dir;

static void setup(void) { dir = ts_tempdir(); }
static void teardown(void) { free(dir); }

TestSuite(idx, .init = setup, .fini = teardown);

/* Five 3x2 images with distinct pixels and labels 0..4. */
static void fixture(uint8_t px[30], uint8_t lab[5])
{
    for (int i = 0; i < 30; i++) px[i] = (uint8_t)(i * 7 + 1);
    for (int i = 0; i < 5; i++) lab[i] = (uint8_t)i;
}

static void write_pair(const char *img, const char *lab, int gz)
{
    uint8_t px[30], lb[5];
    fixture(px, lb);
    size_t n1, n2;
    unsigned char *a = ts_idx_images(DL_IDX_MAGIC_IMAGES, 5, 3, 2, px, &n1);
    unsigned char *b = ts_idx_labels(DL_IDX_MAGIC_LABELS, 5, lb, &n2);
    ts_write(img, a, n1, gz);
    ts_write(lab, b, n2, gz);
    free(a);
    free(b);
}

/* Loads path as images paired with a good label file; returns the status. */
static dl_status load_images_bytes(const unsigned char *bytes, size_t n, int gz, dl_err *e)
{
    char *img = ts_path(dir, "img"), *lab = ts_path(dir, "lab");
    uint8_t px[30], lb[5];
    fixture(px, lb);
    size_t nl;
    unsigned char *b = ts_idx_labels(DL_IDX_MAGIC_LABELS, 5, lb, &nl);
    ts_write(lab, b, nl, 0);
    ts_write(img, bytes, n, gz);
    dl_dataset *d = NULL;
    dl_status st = dl_idx_load(img, lab, &d, e);
    dl_dataset_free(d);
    free(b);
    free(img);
    free(lab);
    return st;
}

Test(idx, gz_and_raw_idx_load_identically)
{
    char *ri = ts_path(dir, "r-img"), *rl = ts_path(dir, "r-lab");
    char *gi = ts_path(dir, "g-img.gz"), *gl = ts_path(dir, "g-lab.gz");
    write_pair(ri, rl, 0);
    write_pair(gi, gl, 1);
    dl_dataset *a = NULL, *b = NULL;
    dl_err e;
    cr_assert_eq(dl_idx_load(ri, rl, &a, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_idx_load(gi, gl, &b, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(a->n, 5);
    cr_assert_eq(a->rows, 3);
    cr_assert_eq(a->cols, 2);
    cr_assert_eq(b->n, a->n);
    cr_assert(memcmp(a->pixels, b->pixels, 30) == 0);
    cr_assert(memcmp(a->labels, b->labels, 5) == 0);
    uint8_t px[30], lb[5];
    fixture(px, lb);
    cr_assert(memcmp(a->pixels, px, 30) == 0);
    cr_assert_eq(dl_dataset_fingerprint(a), dl_dataset_fingerprint(b));
    dl_dataset_free(a);
    dl_dataset_free(b);
    free(ri); free(rl); free(gi); free(gl);
}

Test(idx, written_files_read_back_exactly)
{
    uint8_t px[30], lb[5];
    fixture(px, lb);
    for (int gz = 0; gz <= 1; gz++) {
        char *img = ts_path(dir, gz ? "w-img.gz" : "w-img"), *lab = ts_path(dir, gz ? "w-lab.gz" : "w-lab");
        dl_err e;
        cr_assert_eq(dl_idx_write_images(img, px, 5, 3, 2, gz, &e), DL_OK, "%s", e.msg);
        cr_assert_eq(dl_idx_write_labels(lab, lb, 5, gz, &e), DL_OK, "%s", e.msg);
        dl_dataset *d = NULL;
        cr_assert_eq(dl_idx_load(img, lab, &d, &e), DL_OK, "%s", e.msg);
        cr_assert(memcmp(d->pixels, px, 30) == 0 && memcmp(d->labels, lb, 5) == 0);
        dl_dataset_free(d);
        free(img);
        free(lab);
    }
}

/* Each malformed header field, one at a time, is refused with a format error. */
Test(idx, every_malformed_header_field_is_refused)
{
    uint8_t px[30], lb[5];
    fixture(px, lb);
    struct { uint32_t magic, n, rows, cols; dl_status want; const char *needle; } cases[] = {
        {0x01000803u, 5, 3, 2, DL_EFORMAT, "not an IDX file"},
        {0x00000903u, 5, 3, 2, DL_EFORMAT, "data type 0x09"},
        {0x00000802u, 5, 3, 2, DL_EFORMAT, "2 dimensions"},
        {DL_IDX_MAGIC_LABELS, 5, 3, 2, DL_EFORMAT, "1 dimensions"},
        {DL_IDX_MAGIC_IMAGES, 5, 0, 2, DL_EFORMAT, "image size 0x2"},
        {DL_IDX_MAGIC_IMAGES, 5, 3, 5000, DL_EFORMAT, "image size 3x5000"},
        {DL_IDX_MAGIC_IMAGES, 20000000u, 3, 2, DL_ELIMIT, "beyond the limit"},
        {DL_IDX_MAGIC_IMAGES, 9000000u, 28, 28, DL_ELIMIT, "exceed the limit"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        unsigned char *b = ts_idx_images(cases[i].magic, cases[i].n, cases[i].rows, cases[i].cols, NULL, &n);
        /* Append the real pixels so only the header is wrong. */
        unsigned char *full = malloc(n + 30);
        memcpy(full, b, n);
        memcpy(full + n, px, 30);
        dl_err e;
        dl_status st = load_images_bytes(full, n + 30, 0, &e);
        cr_expect_eq(st, cases[i].want, "case %zu: status %d (%s)", i, st, e.msg);
        cr_expect(strstr(e.msg, cases[i].needle) != NULL, "case %zu: message '%s' lacks '%s'", i, e.msg,
                  cases[i].needle);
        free(b);
        free(full);
    }
}

Test(idx, truncated_header_and_data_are_refused_with_the_numbers)
{
    uint8_t px[30], lb[5];
    fixture(px, lb);
    size_t n;
    unsigned char *b = ts_idx_images(DL_IDX_MAGIC_IMAGES, 5, 3, 2, px, &n);
    dl_err e;
    cr_assert_eq(load_images_bytes(b, 10, 0, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "truncated IDX header"), "%s", e.msg);
    cr_assert_eq(load_images_bytes(b, 2, 0, &e), DL_EFORMAT);
    cr_assert_eq(load_images_bytes(b, n - 1, 0, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "promises 30 bytes") && strstr(e.msg, "holds 29"), "%s", e.msg);
    cr_assert_eq(load_images_bytes(b, n - 1, 1, &e), DL_EFORMAT, "gzip: %s", e.msg);
    cr_assert_eq(load_images_bytes(b, 0, 0, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "empty file"), "%s", e.msg);
    free(b);
}

Test(idx, a_header_promising_millions_of_images_fails_without_allocating_them)
{
    /* 600,000 images of 28x28 is under the byte limit, so only the data check
     * stops it (loaded alone: beside a label file of another count, the
     * mismatch stops it even before that). */
    size_t n;
    unsigned char *b = ts_idx_images(DL_IDX_MAGIC_IMAGES, 600000, 28, 28, NULL, &n);
    char *img = ts_path(dir, "img");
    ts_write(img, b, n, 0);
    dl_dataset *d = NULL;
    dl_err e;
    cr_assert_eq(dl_idx_load_images(img, &d, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "holds 0"), "%s", e.msg);
    cr_expect_null(d);
    cr_assert_eq(load_images_bytes(b, n, 0, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "600000 images but") && strstr(e.msg, "has 5 labels"), "%s", e.msg);
    free(img);
    free(b);
}

Test(idx, trailing_bytes_after_the_declared_data_are_refused)
{
    uint8_t px[31] = {0};
    size_t n;
    unsigned char *b = ts_idx_images(DL_IDX_MAGIC_IMAGES, 5, 3, 2, px, &n);
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 9;
    dl_err e;
    cr_assert_eq(load_images_bytes(longer, n + 1, 0, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "more data than the header declares"), "%s", e.msg);
    free(b);
    free(longer);
}

Test(idx, corrupt_gzip_is_refused)
{
    uint8_t px[30], lb[5];
    fixture(px, lb);
    char *p = ts_path(dir, "c.gz");
    size_t n;
    unsigned char *b = ts_idx_images(DL_IDX_MAGIC_IMAGES, 5, 3, 2, px, &n);
    ts_write(p, b, n, 1);
    size_t zl;
    unsigned char *z = ts_read(p, &zl);
    /* Break the CRC-32 in the gzip trailer and, separately, the deflate data. */
    z[zl - 6] ^= 0xff;
    dl_err e;
    cr_assert_neq(load_images_bytes(z, zl, 0, &e), DL_OK);
    z[zl - 6] ^= 0xff;
    z[12] ^= 0x55;
    z[13] ^= 0xaa;
    cr_assert_neq(load_images_bytes(z, zl, 0, &e), DL_OK);
    free(z);
    free(b);
    free(p);
}

Test(idx, image_and_label_counts_must_agree)
{
    uint8_t px[30], lb[5];
    fixture(px, lb);
    char *img = ts_path(dir, "i"), *lab = ts_path(dir, "l");
    size_t n1, n2;
    unsigned char *a = ts_idx_images(DL_IDX_MAGIC_IMAGES, 5, 3, 2, px, &n1);
    unsigned char *b = ts_idx_labels(DL_IDX_MAGIC_LABELS, 4, lb, &n2);
    ts_write(img, a, n1, 0);
    ts_write(lab, b, n2, 0);
    dl_dataset *d = NULL;
    dl_err e;
    cr_assert_eq(dl_idx_load(img, lab, &d, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "5 images but") && strstr(e.msg, "4 labels"), "%s", e.msg);
    cr_assert_null(d);
    free(a); free(b); free(img); free(lab);
}

Test(idx, missing_file_and_directory_are_io_errors_naming_the_path)
{
    char *missing = ts_path(dir, "nope");
    dl_dataset *d = NULL;
    dl_err e;
    cr_assert_eq(dl_idx_load_images(missing, &d, &e), DL_EIO);
    cr_expect(strstr(e.msg, missing), "%s", e.msg);
    cr_assert_eq(dl_idx_load_images(dir, &d, &e), DL_EIO);
    cr_expect(strstr(e.msg, "directory"), "%s", e.msg);
    free(missing);
}

Test(idx, select_keeps_listed_classes_and_relabels_them_in_order)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(6, 1, 2, &e);
    uint8_t labels[6] = {3, 1, 0, 1, 7, 0};
    memcpy(d->labels, labels, 6);
    for (int i = 0; i < 12; i++) d->pixels[i] = (uint8_t)i;
    int classes[2] = {1, 0};
    dl_dataset *s = dl_dataset_select(d, classes, 2, &e);
    cr_assert_eq(s->n, 4);
    uint8_t want[4] = {0, 1, 0, 1}; /* 1→0, 0→1 */
    cr_assert(memcmp(s->labels, want, 4) == 0);
    cr_assert_eq(s->pixels[0], 2); /* example 1 of d */
    cr_assert_eq(s->pixels[2], 4); /* example 2 of d */
    cr_assert_eq(dl_dataset_nclasses(d), 8);
    dl_dataset *sl = dl_dataset_slice(d, 4, 2, &e);
    cr_assert_eq(sl->labels[0], 7);
    cr_assert_null(dl_dataset_slice(d, 5, 2, &e));
    dl_dataset_free(s);
    dl_dataset_free(sl);
    dl_dataset_free(d);
}

Test(idx, real_mnist_files_load_with_the_documented_shapes)
{
    const char *m = ts_mnist_dir();
    if (!m) cr_skip_test("real MNIST not found (../shared/data/mnist): skipped");
    char *img = ts_path(m, "t10k-images-idx3-ubyte.gz"), *lab = ts_path(m, "t10k-labels-idx1-ubyte.gz");
    dl_dataset *d = NULL;
    dl_err e;
    cr_assert_eq(dl_idx_load(img, lab, &d, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(d->n, 10000);
    cr_assert_eq(d->rows, 28);
    cr_assert_eq(d->labels[0], 7); /* the famous first test digit */
    size_t zeros = 0;
    for (size_t i = 0; i < d->n * d->npix; i++) zeros += d->pixels[i] == 0;
    double frac = (double)zeros / (double)(d->n * d->npix);
    cr_expect(frac > 0.75 && frac < 0.85, "zero fraction %.3f", frac);
    dl_dataset_free(d);
    free(img);
    free(lab);
}

Test(idx, split_and_truncate_keep_every_example_in_order)
{
    /* Both ways round: a small tail (copied out) and a large tail (the head
     * copied out, d's memory handed to the tail). */
    for (size_t keep = 0; keep <= 7; keep++) {
        dl_err e;
        dl_dataset *d = dl_dataset_new(7, 2, 2, &e);
        cr_assert_not_null(d);
        for (size_t i = 0; i < 7; i++) {
            d->labels[i] = (uint8_t)(10 + i);
            for (int k = 0; k < 4; k++) d->pixels[i * 4 + k] = (uint8_t)(i * 4 + k);
        }
        dl_dataset *t = dl_dataset_split(d, keep, &e);
        cr_assert_not_null(t, "%s", e.msg);
        cr_assert_eq(d->n, keep);
        cr_assert_eq(t->n, 7 - keep);
        for (size_t i = 0; i < 7; i++) {
            const dl_dataset *s = i < keep ? d : t;
            size_t j = i < keep ? i : i - keep;
            cr_assert_eq(s->labels[j], 10 + i, "example %zu after a split at %zu", i, keep);
            for (int k = 0; k < 4; k++) cr_assert_eq(s->pixels[j * 4 + (size_t)k], i * 4 + (size_t)k);
        }
        dl_dataset_truncate(t, t->n > 1 ? 1 : t->n);
        cr_assert_leq(t->n, 1);
        if (t->n) cr_assert_eq(t->labels[0], 10 + keep);
        dl_dataset_free(t);
        dl_dataset_free(d);
    }
}

/* dl_idx_load_head (classify --index): the first images, the header's
 * count, and the same refusals as a whole load for files that do not state
 * the length their header implies; a long file is read no further than
 * asked (damage after the images taken goes unseen, by design). */
Test(idx, loading_the_head_reads_the_first_images_and_refuses_what_a_full_load_refuses)
{
    for (int gz = 0; gz <= 1; gz++) {
        char *img = ts_path(dir, gz ? "h-img.gz" : "h-img"), *lab = ts_path(dir, gz ? "h-lab.gz" : "h-lab");
        write_pair(img, lab, gz);
        dl_dataset *d = NULL;
        dl_err e;
        size_t total = 0;
        cr_assert_eq(dl_idx_load_head(img, lab, 2, &d, &total, &e), DL_OK, "%s", e.msg);
        uint8_t px[30], lb[5];
        fixture(px, lb);
        cr_expect_eq(d->n, 2);
        cr_expect_eq(total, 5);
        cr_expect(memcmp(d->pixels, px, 12) == 0 && memcmp(d->labels, lb, 2) == 0);
        dl_dataset_free(d);
        cr_assert_eq(dl_idx_load_head(img, NULL, 9, &d, &total, &e), DL_OK, "%s", e.msg);
        cr_expect_eq(d->n, 5);
        cr_expect(memcmp(d->pixels, px, 30) == 0);
        dl_dataset_free(d);
        free(img);
        free(lab);
    }
    /* Cut short, or longer than declared: refused even for the first image. */
    uint8_t px[30], lb[5];
    fixture(px, lb);
    size_t n;
    unsigned char *a = ts_idx_images(DL_IDX_MAGIC_IMAGES, 5, 3, 2, px, &n);
    unsigned char *longer = malloc(n + 7);
    memcpy(longer, a, n);
    memset(longer + n, 9, 7);
    char *img = ts_path(dir, "bad-img");
    for (int gz = 0; gz <= 1; gz++) {
        dl_dataset *d = NULL;
        dl_err e;
        ts_write(img, a, n - 5, gz);
        cr_expect_eq(dl_idx_load_head(img, NULL, 1, &d, NULL, &e), DL_EFORMAT);
        cr_expect(strstr(e.msg, "truncated"), "%s", e.msg);
        ts_write(img, longer, n + 7, gz);
        cr_expect_eq(dl_idx_load_head(img, NULL, 1, &d, NULL, &e), DL_EFORMAT);
        cr_expect(strstr(e.msg, "more data than the header declares"), "%s", e.msg);
    }
    /* A big gzip file damaged in its last image but with its trailer
     * intact: the first image loads (the damage is not reached), and a
     * whole load refuses the file. */
    enum { N = 400000 }; /* 2.4 MB that does not compress: well past zlib's buffers */
    uint8_t *big = malloc((size_t)N * 6);
    for (size_t i = 0; i < (size_t)N * 6; i++) big[i] = (uint8_t)(i * 2654435761u >> 13);
    unsigned char *bb = ts_idx_images(DL_IDX_MAGIC_IMAGES, N, 3, 2, big, &n);
    char *gzp = ts_path(dir, "big.gz");
    ts_write(gzp, bb, n, 1);
    struct stat st;
    cr_assert_eq(stat(gzp, &st), 0);
    FILE *f = fopen(gzp, "r+b");
    cr_assert(f);
    fseek(f, (long)st.st_size - 40, SEEK_SET);
    fwrite("\x55\xaa\x55\xaa\x55\xaa\x55\xaa", 1, 8, f);
    fclose(f);
    dl_dataset *d = NULL;
    dl_err e;
    size_t total = 0;
    cr_expect_eq(dl_idx_load_head(gzp, NULL, 1, &d, &total, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(total, N);
    cr_expect(d && memcmp(d->pixels, big, 6) == 0);
    dl_dataset_free(d);
    cr_expect_neq(dl_idx_load_images(gzp, &d, &e), DL_OK);
    free(big);
    free(bb);
    free(gzp);
    free(a);
    free(longer);
    free(img);
}

/* fuzz_idx found it: a gzip file whose last four bytes do not state the
 * data's length is read and checked whole, and then handed back all its
 * images although the caller asked for the first 0 (or 1). */
Test(idx, loading_the_head_of_a_file_read_whole_still_gives_only_the_head)
{
    static const unsigned char file[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x4d, 0x88, 0x31, 0x0e, 0x00, 0x20, 0x08, 0xc4, 0x0a, 0x26, 0xc6, 0x5f, 0xf3, 0xf4, 0x03, 0xc5, 0x81, 0xa6, 0x5d, 0x0a, 0x67, 0x01, 0x5e, 0xed, 0xdf, 0xc5, 0xa5, 0x5a, 0x1a, 0xf6, 0x99, 0x58, 0x84, 0x41, 0x0c, 0xfb, 0x3c, 0x12, 0x9f, 0xa0, 0x01, 0x9a, 0x58, 0x00, 0x00, 0x00, 0x5b};
    char *p = ts_path(dir, "whole.gz");
    ts_write(p, file, sizeof file, 0);
    for (size_t count = 0; count < 3; count++) {
        dl_dataset *d = NULL;
        dl_err e;
        size_t total = 0;
        cr_assert_eq(dl_idx_load_head(p, NULL, count, &d, &total, &e), DL_OK, "%s", e.msg);
        cr_expect_eq(total, 2);
        cr_expect_eq(d->n, count < total ? count : total, "asked for %zu, got %zu", count, d->n);
        dl_dataset_free(d);
    }
    free(p);
}
