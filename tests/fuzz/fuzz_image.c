/*
 * fuzz_image.c — libFuzzer harness for picture files: dl_image_decode
 * (header checks, stb_image, alpha flattening, EXIF orientation) and then
 * dl_image_to_mnist_ex (paper, ink, crop, scale, centre of mass).
 *
 * The input is the file itself, so seeds are ordinary picture files.  A
 * decoded picture (up to 4 Mpx) is preprocessed to 28 x 28, and to a second output
 * size derived from the input length (1..40 per side), so odd shapes are
 * covered too.  Results must be in range: every output value in [0, 1],
 * the ink box inside the picture, the paste inside the output.
 *
 * The fuzz build links stb_image compiled from source with the sanitizers
 * (tests/fuzz/stb_impl.c), so a fault inside the decoder is seen where it
 * happens rather than as a later crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/digit.h"
#include "digitlens/image.h"

#include <stb_image.h>

#include "fuzz_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void prepare(const dl_gray *g, int rows, int cols)
{
    float *out = malloc((size_t)rows * (size_t)cols * sizeof *out);
    if (!out) abort();
    dl_mnist_prep p;
    dl_err e;
    dl_status st = dl_image_to_mnist_ex(g, rows, cols, out, &p, &e);
    if (st == DL_OK) {
        for (int i = 0; i < rows * cols; i++)
            if (!(out[i] >= 0.0f && out[i] <= 1.0f)) abort();
        if (p.box_x < 0 || p.box_y < 0 || p.box_w < 1 || p.box_h < 1 || p.box_x + p.box_w > g->w ||
            p.box_y + p.box_h > g->h)
            abort();
        if (p.off_x < 0 || p.off_y < 0 || p.off_x + p.scaled_w > cols || p.off_y + p.scaled_h > rows)
            abort();
        if (!(p.background >= 0.0f && p.background <= 1.0f)) abort();
    } else if (st != DL_EFORMAT || e.msg[0] == '\0') {
        abort();
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A few bytes of GIF or BMP header can declare a canvas of up to 16 Mpx
     * that decodes from almost nothing: right, and under a second in a
     * release build, but tens of seconds under the sanitizers, where it would
     * stop the fuzzer as a "timeout".  Pictures from 4 to 16 Mpx are left
     * out (the tests decode them); larger ones are refused cheaply and kept. */
    int w = 0, h = 0, comp = 0;
    if (size <= INT32_MAX && stbi_info_from_memory(data, (int)size, &w, &h, &comp) && w > 0 && h > 0) {
        size_t px = (size_t)w * (size_t)h;
        if (px > ((size_t)1 << 22) && px <= DL_IMAGE_MAX_PIXELS && w <= DL_IMAGE_MAX_SIDE && h <= DL_IMAGE_MAX_SIDE)
            return 0;
    }
    dl_gray *g = NULL;
    dl_err e;
    dl_status st = dl_image_decode(data, size, "fuzz.png", &g, &e);
    if (st != DL_OK) {
        if (g || bad_message(&e, st)) abort();
        return 0;
    }
    if (!g || g->w < 1 || g->h < 1 || g->w > DL_IMAGE_MAX_SIDE || g->h > DL_IMAGE_MAX_SIDE ||
        (size_t)g->w * (size_t)g->h > DL_IMAGE_MAX_PIXELS)
        abort();
    for (size_t i = 0; i < (size_t)g->w * (size_t)g->h; i++)
        if (!(g->px[i] >= 0.0f && g->px[i] <= 1.0f)) abort();
    /* A few bytes can decode to millions of pixels (a TGA with run-length
     * encoding and no data, say); preprocessing those is right but takes
     * seconds under the sanitizers, and a fuzzer stuck on slow inputs finds
     * nothing.  They are decoded above; only up to 4 Mpx are preprocessed. */
    if ((size_t)g->w * (size_t)g->h <= ((size_t)1 << 22)) {
        prepare(g, 28, 28);
        prepare(g, 1 + (int)(size % 40), 1 + (int)(size / 40 % 40));
    }
    dl_gray_free(g);
    return 0;
}
