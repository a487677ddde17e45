/*
 * colormap.c — the diverging and sequential ramps (see colormap.h).
 *
 * Both ramps are piecewise-linear interpolations between published anchor
 * colours.  Interpolating in sRGB rather than a perceptual space is good
 * enough here because the anchors are dense and were themselves chosen to be
 * perceptually even; it keeps the code to a table and a lerp.
 */
#include "digitlens/colormap.h"

#include <math.h>

static unsigned char to_byte(float x)
{
    if (!(x > 0.0f)) return 0; /* also catches NaN */
    if (x >= 255.0f) return 255;
    return (unsigned char)lrintf(x);
}

dl_rgb dl_rgb_lerp(dl_rgb a, dl_rgb b, float t)
{
    if (!(t > 0.0f)) return a;
    if (t >= 1.0f) return b;
    dl_rgb o;
    o.r = to_byte((float)a.r + ((float)b.r - (float)a.r) * t);
    o.g = to_byte((float)a.g + ((float)b.g - (float)a.g) * t);
    o.b = to_byte((float)a.b + ((float)b.b - (float)a.b) * t);
    return o;
}

/* ColorBrewer RdBu (11 classes), split at its centre.  Index 0 is pure white
 * rather than RdBu's #f7f7f7 so that zero is exactly the paper colour; the
 * rest are evenly spaced in |v| / limit.  Both halves reach the same CIE L*
 * at each anchor within about 4 units, which is what makes +v and −v look
 * equally strong.  Every channel decreases along each half, so darkness
 * grows monotonically with |v|. */
static const unsigned char rdbu_red[6][3] = {
    { 255, 255, 255 }, { 253, 219, 199 }, { 244, 165, 130 },
    { 214, 96, 77 },   { 178, 24, 43 },   { 103, 0, 31 },
};
static const unsigned char rdbu_blue[6][3] = {
    { 255, 255, 255 }, { 209, 229, 240 }, { 146, 197, 222 },
    { 67, 147, 195 },  { 33, 102, 172 },  { 5, 48, 97 },
};

static dl_rgb ramp6(const unsigned char tab[6][3], float a)
{
    /* a in [0, 1] over five equal segments. */
    float pos = a * 5.0f;
    int k = (int)pos;
    if (k >= 5) return DL_RGB(tab[5][0], tab[5][1], tab[5][2]);
    float f = pos - (float)k;
    dl_rgb o;
    o.r = to_byte((float)tab[k][0] + ((float)tab[k + 1][0] - (float)tab[k][0]) * f);
    o.g = to_byte((float)tab[k][1] + ((float)tab[k + 1][1] - (float)tab[k][1]) * f);
    o.b = to_byte((float)tab[k][2] + ((float)tab[k + 1][2] - (float)tab[k][2]) * f);
    return o;
}

dl_rgb dl_cmap_diverging(float v, float limit)
{
    if (isnan(v)) return DL_RGB_NAN;
    if (!(limit > 0.0f) || v == 0.0f) return DL_RGB(255, 255, 255);
    float a = fabsf(v) / limit; /* inf / finite saturates, as it should */
    if (!(a <= 1.0f)) a = 1.0f; /* and so does inf / inf (NaN), which a hostile model can hold */
    if (v > 0.0f) {
        dl_rgb o = ramp6(rdbu_red, a);
        /* Near zero the lerp rounds back to white; keep the hue promise
         * (r strictly largest) with the smallest possible step. */
        if (o.g >= o.r) o.g = (unsigned char)(o.r - 1);
        if (o.b >= o.r) o.b = (unsigned char)(o.r - 1);
        return o;
    }
    dl_rgb o = ramp6(rdbu_blue, a);
    if (o.r >= o.b) o.r = (unsigned char)(o.b - 1);
    if (o.g >= o.b) o.g = (unsigned char)(o.b - 1);
    return o;
}

/* Rows of matplotlib's 256-entry _viridis_data (the published float
 * values), so an anchor sits at t = row / 255.  Every 16th row keeps linear
 * interpolation within a level or two of the full table, except near the
 * yellow end, where blue dips to a minimum at row 244 and needs anchors
 * every 4 to 8 rows. */
#define VIRIDIS_N 20
static const float viridis_rows[VIRIDIS_N] = {
    0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 232, 240, 244, 248, 255,
};
static const float viridis_tab[VIRIDIS_N][3] = {
    { 0.267004f, 0.004874f, 0.329415f }, { 0.282327f, 0.094955f, 0.417331f },
    { 0.278826f, 0.175490f, 0.483397f }, { 0.258965f, 0.251537f, 0.524736f },
    { 0.229739f, 0.322361f, 0.545706f }, { 0.199430f, 0.387607f, 0.554642f },
    { 0.172719f, 0.448791f, 0.557885f }, { 0.149039f, 0.508051f, 0.557250f },
    { 0.127568f, 0.566949f, 0.550556f }, { 0.120638f, 0.625828f, 0.533488f },
    { 0.157851f, 0.683765f, 0.501686f }, { 0.246070f, 0.738910f, 0.452024f },
    { 0.369214f, 0.788888f, 0.382914f }, { 0.515992f, 0.831158f, 0.294279f },
    { 0.678489f, 0.863742f, 0.189503f }, { 0.762373f, 0.876424f, 0.137064f },
    { 0.845561f, 0.887322f, 0.099702f }, { 0.886271f, 0.892374f, 0.095374f },
    { 0.926106f, 0.897330f, 0.104071f }, { 0.993248f, 0.906157f, 0.143936f },
};

dl_rgb dl_cmap_viridis(float t)
{
    if (isnan(t)) return DL_RGB_NAN;
    if (t < 0.0f) t = 0.0f;
    if (t > 1.0f) t = 1.0f;
    float row = t * 255.0f;
    int k = 0;
    while (k < VIRIDIS_N - 2 && row > viridis_rows[k + 1]) k++;
    float f = (row - viridis_rows[k]) / (viridis_rows[k + 1] - viridis_rows[k]);
    if (f < 0.0f) f = 0.0f;
    if (f > 1.0f) f = 1.0f;
    dl_rgb o;
    o.r = to_byte(255.0f * (viridis_tab[k][0] + (viridis_tab[k + 1][0] - viridis_tab[k][0]) * f));
    o.g = to_byte(255.0f * (viridis_tab[k][1] + (viridis_tab[k + 1][1] - viridis_tab[k][1]) * f));
    o.b = to_byte(255.0f * (viridis_tab[k][2] + (viridis_tab[k + 1][2] - viridis_tab[k][2]) * f));
    return o;
}

dl_rgb dl_cmap_gray(float t)
{
    if (isnan(t)) return DL_RGB_NAN;
    unsigned char y = to_byte(t * 255.0f);
    return DL_RGB(y, y, y);
}

dl_rgb dl_cmap_ink(float t)
{
    if (isnan(t)) return DL_RGB_NAN;
    unsigned char y = to_byte((1.0f - t) * 255.0f);
    return DL_RGB(y, y, y);
}

dl_colorscale dl_scale_diverging(float limit)
{
    float l = fabsf(limit);
    dl_colorscale s = { DL_CMAP_DIVERGING, -l, l };
    return s;
}

dl_colorscale dl_scale_sequential(dl_cmap kind, float lo, float hi)
{
    dl_colorscale s = { kind, lo, hi };
    return s;
}

dl_colorscale dl_scale_fit(dl_cmap kind, const float *v, size_t n)
{
    float lo = 0.0f, hi = 0.0f, amax = 0.0f;
    int any = 0;
    for (size_t i = 0; v && i < n; i++) {
        float x = v[i];
        if (!isfinite(x)) continue;
        if (!any || x < lo) lo = x;
        if (!any || x > hi) hi = x;
        if (fabsf(x) > amax) amax = fabsf(x);
        any = 1;
    }
    if (kind == DL_CMAP_DIVERGING)
        return dl_scale_diverging(amax > 0.0f ? amax : 1.0f);
    if (!any) return dl_scale_sequential(kind, 0.0f, 1.0f);
    if (!(hi > lo)) hi = lo + 1.0f;
    return dl_scale_sequential(kind, lo, hi);
}

dl_rgb dl_scale_color(dl_colorscale s, float v)
{
    if (s.kind == DL_CMAP_DIVERGING) {
        float limit = fmaxf(fabsf(s.lo), fabsf(s.hi));
        return dl_cmap_diverging(v, limit);
    }
    if (isnan(v)) return DL_RGB_NAN;
    float span = s.hi - s.lo;
    float t = (span != 0.0f && isfinite(span)) ? (v - s.lo) / span : 0.0f;
    switch (s.kind) {
    case DL_CMAP_GRAY: return dl_cmap_gray(t);
    case DL_CMAP_INK: return dl_cmap_ink(t);
    case DL_CMAP_VIRIDIS:
    case DL_CMAP_DIVERGING: break;
    }
    return dl_cmap_viridis(t);
}
