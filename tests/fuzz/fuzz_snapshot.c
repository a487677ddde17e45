/*
 * fuzz_snapshot.c — libFuzzer harness for the snapshot file parser, and
 * for what `digitlens evolve` does with snapshots once they have loaded.
 *
 * Every input is parsed twice: as it is, and with the header's CRC and
 * every complete record's CRC made right, so that mutations reach the
 * checks behind the checksums (a hostile file can carry valid CRCs).
 * Snapshots that parse must survive: reading every record's parameters, a
 * film frame of each layer (when small enough to be quick), the histograms
 * and their SVG, with whatever floats the file holds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "digitlens/evolve.h"
#include "digitlens/snapshot.h"

#include "fuzz_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const dl_snapshots *s)
{
    if (s->count == 0 || s->nparams != dl_snapshot_nparams(&s->h)) abort();
    float *p = malloc(s->nparams * sizeof *p);
    if (!p) abort();
    for (size_t i = 0; i < s->count; i++) dl_snapshots_params(s, i, p);
    free(p);
    if (s->nparams > 20000 || s->h.rows > 64 || s->h.cols > 64) return;
    size_t idx[4];
    size_t n = dl_film_pick(s, 4, idx);
    dl_err e;
    for (int l = 1; l < s->h.nlayers && s->h.sizes[l] <= 64; l++) {
        dl_film_opts o = {l, l % 2, NULL, 0, 2, NULL};
        dl_film f;
        if (dl_film_init(&f, s, &o, idx, n, &e) != DL_OK) abort();
        dl_canvas_free(dl_film_frame(&f, n - 1, 0, &e));
        dl_film_free(&f);
    }
    dl_histograms h;
    if (dl_histograms_compute(s, idx, n, NULL, 8, &h, &e) == DL_OK) {
        size_t len = 0;
        free(dl_histograms_svg(&h, &len, &e));
        dl_canvas_free(dl_histograms_picture(&h, NULL, &e));
        dl_histograms_free(&h);
    }
}

static void one(const uint8_t *data, size_t size)
{
    dl_snapshots *s = NULL;
    dl_err e;
    dl_status st = dl_snapshots_decode(data, size, "fuzz.snapshots", &s, &e);
    if (st == DL_OK) {
        if (!s) abort();
        exercise(s);
        dl_snapshots_free(s);
    } else if (s || bad_message(&e, st)) {
        abort();
    }
}

static void put_crc(uint8_t *p, size_t n)
{
    uint32_t crc = (uint32_t)crc32_z(0L, p, n);
    for (int k = 0; k < 4; k++) p[n + k] = (uint8_t)(crc >> (8 * k));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    if (size < 16) return 0;
    uint32_t nl = (uint32_t)data[12] | (uint32_t)data[13] << 8 | (uint32_t)data[14] << 16 | (uint32_t)data[15] << 24;
    if (nl < 2 || nl > DL_MAX_LAYERS) return 0;
    dl_snapshot_header h;
    memset(&h, 0, sizeof h);
    h.nlayers = (int)nl;
    size_t hlen = dl_snapshot_header_bytes(&h);
    if (size < hlen) return 0;
    uint8_t *copy = malloc(size);
    if (!copy) abort();
    memcpy(copy, data, size);
    put_crc(copy, hlen - 4);
    /* The record size follows from the (now trusted) layer sizes. */
    uint64_t P = 0;
    for (uint32_t l = 1; l < nl; l++) {
        uint64_t a = 0, b = 0;
        for (int k = 0; k < 4; k++) {
            a |= (uint64_t)copy[16 + 4 * l + k] << (8 * k);
            b |= (uint64_t)copy[16 + 4 * (l - 1) + k] << (8 * k);
        }
        P += a * b + a;
    }
    uint64_t rlen = 40 + 4 * P;
    if (P < (1u << 26))
        for (uint64_t off = hlen; off + rlen <= size; off += rlen) put_crc(copy + off, (size_t)rlen - 4);
    if (memcmp(copy, data, size) != 0) one(copy, size);
    free(copy);
    return 0;
}
