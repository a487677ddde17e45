/*
 * support.h — helpers shared by the unit tests: temporary directories,
 * small IDX fixtures written byte by byte, and the location of the real
 * MNIST files (which may be absent: tests then skip, never fail).
 */
#ifndef DIGITLENS_TEST_SUPPORT_H
#define DIGITLENS_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/net.h"

/* Creates a fresh directory under $TMPDIR (or /tmp); returns a static-free
 * malloc'd path the caller frees.  Aborts the test on failure. */
char *ts_tempdir(void);

/* Joins dir and name into a malloc'd path. */
char *ts_path(const char *dir, const char *name);

/* Writes bytes to a file (raw) or gzip-compressed (gz != 0). */
void ts_write(const char *path, const void *data, size_t n, int gz);

/* Builds an IDX header + body in a malloc'd buffer. magic is written as is. */
unsigned char *ts_idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                             const uint8_t *px, size_t *len);
unsigned char *ts_idx_labels(uint32_t magic, uint32_t n, const uint8_t *labels, size_t *len);

/* The real MNIST directory, or NULL when it is not there. */
const char *ts_mnist_dir(void);

/* 1 when slow tests should be skipped (sanitizer builds set DIGITLENS_FAST_TESTS). */
int ts_skip_slow(void);

/* Reads a whole file (raw) into a malloc'd buffer; returns NULL if missing. */
unsigned char *ts_read(const char *path, size_t *len);

/* A network of the given sizes with parameters drawn from seed (aborts
 * when it cannot be made), and an input of n uniform [0, 1) pixels. */
dl_net *ts_random_net(int nlayers, const int *sizes, dl_init init, uint64_t seed);
void ts_random_input(float *x, int n, uint64_t seed);

#endif
