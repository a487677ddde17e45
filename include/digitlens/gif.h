/*
 * gif.h — canvases out as an animated GIF (GIF89a, looping), encoded with
 * Debian's giflib.
 *
 * Every frame shares one global palette of at most 256 colours, chosen by
 * the caller before the first frame: a film then means the same colour the
 * same in every frame, and a pixel whose colour is in the palette is
 * stored exactly.  Other colours (antialiased text, blends) go to the
 * nearest palette entry in RGB distance.  dl_gif_palette_pictures gives the
 * palette digitlens's pictures are made of: white, black and the greys of
 * text and separators, the diverging ramp in 201 steps and viridis in 32.
 * Frames are LZW-encoded as they arrive (memory grows with the compressed
 * film, not with its frames); dl_gif_finish writes the file atomically.
 */
#ifndef DIGITLENS_GIF_H
#define DIGITLENS_GIF_H

#include "digitlens/canvas.h"
#include "digitlens/colormap.h"
#include "digitlens/err.h"

#define DL_GIF_MAX_FRAMES 100000

typedef struct dl_gif dl_gif;

/* The palette above into pal[256]; returns how many entries it uses. */
int dl_gif_palette_pictures(dl_rgb pal[256]);

/* A film of w x h frames, each shown for delay_cs hundredths of a second,
 * over palette pal[npal] (1..256 colours). */
dl_gif *dl_gif_new(int w, int h, const dl_rgb *pal, int npal, int delay_cs, dl_err *e);

/* Encodes c as the next frame; c must be w x h (DL_EINVAL otherwise). */
dl_status dl_gif_add(dl_gif *g, const dl_canvas *c, dl_err *e);

/* The same, shown for delay_cs (0..65535) instead of the film's delay: a
 * frame to dwell on costs one frame, not many. */
dl_status dl_gif_add_for(dl_gif *g, const dl_canvas *c, int delay_cs, dl_err *e);

/* Frames added so far. */
int dl_gif_frames(const dl_gif *g);

/* Ends the film and hands its bytes to the caller (*data, *len; free()
 * them); frees g in every case. */
dl_status dl_gif_take(dl_gif *g, unsigned char **data, size_t *len, dl_err *e);

/* Ends the film, writes it to path atomically and frees g (in every case). */
dl_status dl_gif_finish(dl_gif *g, const char *path, dl_err *e);

/* Frees an unfinished film without writing anything (NULL is fine). */
void dl_gif_free(dl_gif *g);

#endif
