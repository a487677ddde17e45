/*
 * colormap.h — turning numbers into colours.
 *
 * Two families, for two kinds of quantity.  Signed quantities (weights,
 * input×weight contributions, attributions) use a diverging ramp: blue below
 * zero, exactly white at zero, red above, the same lightness at +v and −v, and
 * saturated at ±limit, so "no effect" reads as blank paper and the sign reads
 * as hue.  Unsigned quantities (activations, probabilities) use matplotlib's
 * viridis, which stays ordered in lightness and survives colour blindness and
 * grey-scale printing.  Gray and ink show images as images.
 *
 * A dl_colorscale bundles a ramp with the data range it spans, so the code
 * that paints a map and the code that draws its legend read the same value and
 * cannot disagree.  Everything here is pure: no allocation, no state.
 */
#ifndef DIGITLENS_COLORMAP_H
#define DIGITLENS_COLORMAP_H

#include <stddef.h>

typedef struct dl_rgb {
    unsigned char r, g, b;
} dl_rgb;

/* A colour literal: DL_RGB(255, 255, 255). */
#define DL_RGB(r, g, b) ((dl_rgb){ (unsigned char)(r), (unsigned char)(g), (unsigned char)(b) })

/* The colour every ramp gives to NaN: a neutral mid grey that no ramp
 * produces for a real number near it by accident of hue. */
#define DL_RGB_NAN DL_RGB(128, 128, 128)

/* Blue (v < 0) .. white (v == 0, exactly 255,255,255) .. red (v > 0), after
 * ColorBrewer's RdBu.  |v| >= limit saturates at the darkest colour; each
 * channel falls monotonically as |v| grows; every v > 0 gives r > g and
 * r > b, every v < 0 gives b > r and b > g, however small |v| is.
 * limit <= 0 (or NaN) gives white; v NaN gives DL_RGB_NAN. */
dl_rgb dl_cmap_diverging(float v, float limit);

/* matplotlib's viridis: t = 0 is #440154 (dark violet), t = 1 is #fde725
 * (yellow); t is clamped to [0, 1]; NaN gives DL_RGB_NAN. */
dl_rgb dl_cmap_viridis(float t);

/* 0 black .. 1 white (MNIST's own convention: white ink on black). */
dl_rgb dl_cmap_gray(float t);

/* 0 white .. 1 black: digits as dark ink on paper, for pages with a white
 * background. */
dl_rgb dl_cmap_ink(float t);

/* Linear blend a + (b - a)·t per channel, t clamped to [0, 1]. */
dl_rgb dl_rgb_lerp(dl_rgb a, dl_rgb b, float t);

typedef enum dl_cmap {
    DL_CMAP_DIVERGING, /* symmetric about 0: limit = max(|lo|, |hi|) */
    DL_CMAP_VIRIDIS,   /* lo .. hi mapped onto t = 0 .. 1 */
    DL_CMAP_GRAY,
    DL_CMAP_INK
} dl_cmap;

/* A ramp and the value range it spans.  For DL_CMAP_DIVERGING, 0 is always
 * white and the colours saturate at ±max(|lo|, |hi|); a legend for it shows
 * lo .. hi.  For the sequential ramps, lo maps to t = 0 and hi to t = 1 (hi <
 * lo reverses the ramp; hi == lo maps everything to t = 0). */
typedef struct dl_colorscale {
    dl_cmap kind;
    float lo, hi;
} dl_colorscale;

/* −limit .. +limit (limit taken as |limit|). */
dl_colorscale dl_scale_diverging(float limit);

/* kind over lo .. hi. */
dl_colorscale dl_scale_sequential(dl_cmap kind, float lo, float hi);

/* A scale that spans the finite values of v[0..n): for DL_CMAP_DIVERGING,
 * ±max|v|; otherwise min(v) .. max(v).  NaN and infinities are ignored.  A
 * range that would be empty (no finite value, all zeros for diverging, all
 * values equal to c for sequential) becomes −1 .. 1, or c .. c + 1 (0 .. 1
 * with no finite value), so a blank map still gets a sensible legend. */
dl_colorscale dl_scale_fit(dl_cmap kind, const float *v, size_t n);

/* The colour of value v under scale s. */
dl_rgb dl_scale_color(dl_colorscale s, float v);

#endif
