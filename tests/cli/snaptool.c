/*
 * snaptool.c — looks inside snapshot files and GIFs for the command-line
 * tests (and for people checking a film frame by frame):
 *     snaptool check MODEL SNAPSHOTS
 *         prints "count N steps S0..SN first=initial|differs last=final|differs";
 *         exits 1 unless the first snapshot holds the model's initial
 *         parameters and the last its final ones
 *     snaptool gif FILE [OUTDIR]
 *         decodes FILE with giflib and prints "frames F size WxH colors C
 *         delay D last E loop L" (E: the last frame's delay); with OUTDIR also writes each frame as
 *         OUTDIR/frame-NNNN.png
 */
#include <gif_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/model.h"
#include "digitlens/png.h"
#include "digitlens/snapshot.h"

static int check(const char *model, const char *snaps)
{
    dl_err e;
    dl_model *m = NULL;
    dl_snapshots *s = NULL;
    if (dl_model_load(model, &m, &e) != DL_OK || dl_snapshots_load(snaps, &s, &e) != DL_OK) {
        fprintf(stderr, "snaptool: %s\n", e.msg);
        dl_model_free(m);
        return 2;
    }
    size_t P = m->net->nparams;
    float *p = malloc(P * sizeof *p);
    if (!p || s->nparams != P) return fprintf(stderr, "snaptool: sizes differ\n"), 2;
    dl_snapshots_params(s, 0, p);
    int first = memcmp(p, m->init_params, P * sizeof *p) == 0;
    dl_snapshots_params(s, s->count - 1, p);
    int last = memcmp(p, m->net->params, P * sizeof *p) == 0;
    printf("count %zu steps", s->count);
    for (size_t i = 0; i < s->count; i++) printf("%s%llu", i ? "," : " ", (unsigned long long)s->meta[i].step);
    printf(" first=%s last=%s torn=%d eval=%u\n", first ? "initial" : "differs", last ? "final" : "differs", s->torn,
           s->h.eval_n);
    free(p);
    dl_snapshots_free(s);
    dl_model_free(m);
    return first && last ? 0 : 1;
}

static int gif(const char *file, const char *outdir)
{
    int err = 0;
    GifFileType *g = DGifOpenFileName(file, &err);
    if (!g) return fprintf(stderr, "snaptool: %s: %s\n", file, GifErrorString(err)), 2;
    if (DGifSlurp(g) != GIF_OK) {
        fprintf(stderr, "snaptool: %s: %s\n", file, GifErrorString(g->Error));
        DGifCloseFile(g, &err);
        return 2;
    }
    int delay = -1, last = -1, loop = 0;
    GraphicsControlBlock gcb;
    if (g->ImageCount > 0 && DGifSavedExtensionToGCB(g, 0, &gcb) == GIF_OK) delay = gcb.DelayTime;
    if (g->ImageCount > 0 && DGifSavedExtensionToGCB(g, g->ImageCount - 1, &gcb) == GIF_OK) last = gcb.DelayTime;
    for (int i = 0; i < g->ExtensionBlockCount; i++)
        if (g->ExtensionBlocks[i].Function == APPLICATION_EXT_FUNC_CODE && g->ExtensionBlocks[i].ByteCount == 11 &&
            memcmp(g->ExtensionBlocks[i].Bytes, "NETSCAPE2.0", 11) == 0)
            loop = 1;
    for (int k = 0; k < g->ImageCount && !loop; k++)
        for (int i = 0; i < g->SavedImages[k].ExtensionBlockCount; i++)
            if (g->SavedImages[k].ExtensionBlocks[i].ByteCount == 11 &&
                memcmp(g->SavedImages[k].ExtensionBlocks[i].Bytes, "NETSCAPE2.0", 11) == 0)
                loop = 1;
    ColorMapObject *map = g->SColorMap;
    printf("frames %d size %dx%d colors %d delay %d last %d loop %d\n", g->ImageCount, g->SWidth, g->SHeight,
           map ? map->ColorCount : 0, delay, last, loop);
    int rc = 0;
    for (int k = 0; outdir && map && k < g->ImageCount && !rc; k++) {
        const SavedImage *im = &g->SavedImages[k];
        dl_err e;
        dl_canvas *c = dl_canvas_new(g->SWidth, g->SHeight, DL_RGB(0, 0, 0), &e);
        if (!c) return 2;
        for (int y = 0; y < im->ImageDesc.Height; y++)
            for (int x = 0; x < im->ImageDesc.Width; x++) {
                GifColorType col = map->Colors[im->RasterBits[(size_t)y * im->ImageDesc.Width + x] % map->ColorCount];
                dl_canvas_put(c, im->ImageDesc.Left + x, im->ImageDesc.Top + y, DL_RGB(col.Red, col.Green, col.Blue));
            }
        char path[4096];
        snprintf(path, sizeof path, "%s/frame-%04d.png", outdir, k);
        if (dl_png_write(path, c, &e) != DL_OK) rc = fprintf(stderr, "snaptool: %s\n", e.msg) > 0 ? 2 : 2;
        dl_canvas_free(c);
    }
    DGifCloseFile(g, &err);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "check") == 0) return check(argv[2], argv[3]);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "gif") == 0) return gif(argv[2], argc == 4 ? argv[3] : NULL);
    fprintf(stderr, "usage: snaptool check MODEL SNAPSHOTS | snaptool gif FILE [OUTDIR]\n");
    return 2;
}
