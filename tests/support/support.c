/* support.c — test helpers (see support.h). */
#include "support/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

char *ts_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    if (!p) abort();
    snprintf(p, 4096, "%s/digitlens-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(p)) abort();
    return p;
}

char *ts_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) abort();
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void ts_write(const char *path, const void *data, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f) abort();
        if (n && gzwrite(f, data, (unsigned)n) != (int)n) abort();
        gzclose(f);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

unsigned char *ts_idx_images(uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                             const uint8_t *px, size_t *len)
{
    size_t body = px ? (size_t)n * rows * cols : 0;
    unsigned char *b = malloc(16 + body + 1);
    if (!b) abort();
    be32(b, magic);
    be32(b + 4, n);
    be32(b + 8, rows);
    be32(b + 12, cols);
    if (body) memcpy(b + 16, px, body);
    *len = 16 + body;
    return b;
}

unsigned char *ts_idx_labels(uint32_t magic, uint32_t n, const uint8_t *labels, size_t *len)
{
    size_t body = labels ? n : 0;
    unsigned char *b = malloc(8 + body + 1);
    if (!b) abort();
    be32(b, magic);
    be32(b + 4, n);
    if (body) memcpy(b + 8, labels, body);
    *len = 8 + body;
    return b;
}

const char *ts_mnist_dir(void)
{
    const char *env = getenv("DIGITLENS_SHARED_MNIST");
    const char *dir = env && *env ? env : "../shared/data/mnist";
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/t10k-labels-idx1-ubyte.gz", dir);
    return access(probe, R_OK) == 0 ? dir : NULL;
}

int ts_skip_slow(void)
{
    const char *v = getenv("DIGITLENS_FAST_TESTS");
    return v && *v && strcmp(v, "0") != 0;
}

unsigned char *ts_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b) abort();
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

dl_net *ts_random_net(int nlayers, const int *sizes, dl_init init, uint64_t seed)
{
    dl_net *n = dl_net_new(nlayers, sizes, NULL);
    if (!n) abort();
    dl_rng r;
    dl_rng_seed(&r, seed);
    dl_net_init(n, init, &r);
    return n;
}

void ts_random_input(float *x, int n, uint64_t seed)
{
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) x[i] = (float)dl_rng_uniform(&r);
}
