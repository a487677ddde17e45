/*
 * digit_parts.c — the pieces of ink and the digit among them (see
 * digit_parts.h and, for the whole recipe, digit.c).
 */
#include "digit_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Runs of pixels of d at or above t into *r (grown as needed, *cap its
 * size) and first[0..h]: row y's runs are (*r)[first[y]] ..
 * (*r)[first[y + 1] - 1].  Returns the number of runs, or SIZE_MAX when out
 * of memory.  There are at most (w + 1) / 2 runs per row, so the count fits
 * int32 for pictures within DL_IMAGE_MAX_PIXELS. */
static size_t find_runs(const float *d, int w, int h, float t, ink_run **r, size_t *cap, uint32_t *first)
{
    size_t n = 0;
    for (int y = 0; y < h; y++) {
        const float *row = d + (size_t)y * (size_t)w;
        first[y] = (uint32_t)n;
        for (int x = 0; x < w; x++) {
            if (row[x] < t) continue;
            const int x0 = x;
            while (x + 1 < w && row[x + 1] >= t) x++;
            if (n == *cap) {
                size_t more = *cap ? 2 * *cap : 1024;
                ink_run *nr = realloc(*r, more * sizeof *nr);
                if (!nr) return SIZE_MAX;
                *r = nr;
                *cap = more;
            }
            (*r)[n] = (ink_run){x0, x + 1, y, (int32_t)n};
            n++;
        }
    }
    first[h] = (uint32_t)n;
    return n;
}

/* The root of run i's tree, halving the path on the way (each link then
 * skips one run, and still never points to a later run). */
static int32_t run_root(ink_run *r, int32_t i)
{
    while (r[i].parent != i) {
        r[i].parent = r[r[i].parent].parent;
        i = r[i].parent;
    }
    return i;
}

/* Joins runs that touch, corners included, into parts, and renumbers
 * them: returns the number of parts; r[i].parent = -(part + 1).  The
 * earlier run of two always becomes the root, so one pass in order can
 * read each run's part from its (earlier, already renumbered) parent. */
static int32_t join_runs(ink_run *r, const uint32_t *first, int h)
{
    for (int y = 1; y < h; y++) {
        uint32_t p = first[y - 1];
        const uint32_t pe = first[y];
        for (uint32_t c = first[y]; c < first[y + 1]; c++) {
            while (p < pe && r[p].x1 < r[c].x0) p++;
            for (uint32_t q = p; q < pe && r[q].x0 <= r[c].x1; q++) {
                int32_t a = run_root(r, (int32_t)q), b = run_root(r, (int32_t)c);
                if (a < b) r[b].parent = a;
                else if (b < a) r[a].parent = b;
            }
        }
    }
    int32_t parts = 0;
    for (int32_t i = 0; i < (int32_t)first[h]; i++) {
        int32_t p = r[i].parent;
        r[i].parent = p == i ? -(++parts) : r[p].parent;
    }
    return parts;
}

/* Ink along a border or a long thin stroke from edge to edge is not
 * handwriting: a table edge, a shadow, the rim of a page, a ruled or
 * margin line. */
int dl_digit_part_is_clutter(const ink_part *p, int w, int h)
{
    const int bw = p->x1 - p->x0 + 1, bh = p->y1 - p->y0 + 1;
    const double cw = EDGE_CONTACT * w, ch = EDGE_CONTACT * h;
    if (p->side[0] > 1 && p->side[0] >= ch) return 1;
    if (p->side[1] > 1 && p->side[1] >= ch) return 1;
    if (p->side[2] > 1 && p->side[2] >= cw) return 1;
    if (p->side[3] > 1 && p->side[3] >= cw) return 1;
    if (p->side[0] && p->side[1] && bh * THIN_RATIO <= bw) return 1; /* across */
    if (p->side[2] && p->side[3] && bw * THIN_RATIO <= bh) return 1; /* down */
    return 0;
}

/* Chooses the digit among n parts (cores of strokes) and sets their keep.
 * In a picture with camera noise: the heaviest part that is not clutter,
 * and the parts near it that are neither specks nor clutter.  Nearness is
 * judged against the box of what is kept so far, for up to three rounds,
 * so a digit broken into a chain of pieces stays whole without the search
 * ever becoming quadratic.  In a noise-free picture (drawn, or MNIST's own)
 * a speck is a deliberate mark: every part but clutter is kept, as MNIST
 * kept them.  When all is clutter, it is kept all the same (the heaviest
 * piece of it, with noise): a guess is better than nothing. */
void dl_digit_choose_parts(ink_part *p, int32_t n, int w, int h, int clean)
{
    if (n < 1) return;
    int32_t lead = -1, heaviest = 0;
    for (int32_t k = 0; k < n; k++) {
        if (p[k].mass > p[heaviest].mass) heaviest = k;
        if (!dl_digit_part_is_clutter(&p[k], w, h) && (lead < 0 || p[k].mass > p[lead].mass)) lead = k;
    }
    if (clean) {
        for (int32_t k = 0; k < n; k++) p[k].keep = lead < 0 || !dl_digit_part_is_clutter(&p[k], w, h);
        return;
    }
    if (lead < 0) {
        p[heaviest].keep = 1;
        return;
    }
    p[lead].keep = 1;
    int bx0 = p[lead].x0, by0 = p[lead].y0, bx1 = p[lead].x1, by1 = p[lead].y1;
    const int side = (bx1 - bx0 > by1 - by0 ? bx1 - bx0 : by1 - by0) + 1;
    const double gap = NEAR_GAP * side, speck = SPECK_MASS * p[lead].mass;
    for (int round = 0, grew = 1; round < 3 && grew; round++) {
        grew = 0;
        for (int32_t k = 0; k < n; k++) {
            ink_part *q = &p[k];
            if (q->keep || q->mass < speck || dl_digit_part_is_clutter(q, w, h)) continue;
            const int dx = q->x0 > bx1 ? q->x0 - bx1 : bx0 > q->x1 ? bx0 - q->x1 : 0;
            const int dy = q->y0 > by1 ? q->y0 - by1 : by0 > q->y1 ? by0 - q->y1 : 0;
            if ((dx > dy ? dx : dy) > gap) continue;
            q->keep = grew = 1;
            bx0 = q->x0 < bx0 ? q->x0 : bx0;
            by0 = q->y0 < by0 ? q->y0 : by0;
            bx1 = q->x1 > bx1 ? q->x1 : bx1;
            by1 = q->y1 > by1 ? q->y1 : by1;
        }
    }
}

/* Straight lines of ink from edge to edge: rows (columns) where at least
 * RULE_COVER of the pixels are at or above t, the first and the last
 * within RULE_END of the picture's edges.  They are ruled or margin lines,
 * or the rim of a table edge or a shadow, and a digit touching one would
 * otherwise be joined to it: they are set to 0, unless nothing else would
 * be left: no pixel at or above t when digit is NULL, else no pixel of the
 * n runs of digit whose parent is 1 (the digit's cores).  Scratch: cnt,
 * lo, hi of w ints, rule of h bytes. */
void dl_digit_erase_rules(float *d, int w, int h, float t, const ink_run *digit, size_t n, int *cnt, int *lo,
                        int *hi, unsigned char *rule)
{
    const int rows_may = w >= RULE_MIN_LENGTH, cols_may = h >= RULE_MIN_LENGTH;
    const int end_x = (int)(RULE_END * w), end_y = (int)(RULE_END * h);
    int rules = 0;
    for (int x = 0; x < w; x++) {
        cnt[x] = 0;
        lo[x] = h;
        hi[x] = -1;
    }
    for (int y = 0; y < h; y++) {
        const float *row = d + (size_t)y * (size_t)w;
        int k = 0, first = w, last = -1;
        for (int x = 0; x < w; x++)
            if (row[x] >= t) {
                k++;
                first = first < x ? first : x;
                last = x;
                cnt[x]++;
                lo[x] = lo[x] < y ? lo[x] : y;
                hi[x] = y;
            }
        rule[y] = rows_may && k >= RULE_COVER * w && first <= end_x && last >= w - 1 - end_x;
        rules += rule[y];
    }
    for (int x = 0; x < w; x++) {
        cnt[x] = cols_may && cnt[x] >= RULE_COVER * h && lo[x] <= end_y && hi[x] >= h - 1 - end_y;
        rules += cnt[x];
    }
    if (!rules) return;
    int rest = 0;
    if (digit) {
        for (size_t i = 0; i < n && !rest; i++)
            if (digit[i].parent == 1 && !rule[digit[i].y])
                for (int x = digit[i].x0; x < digit[i].x1 && !rest; x++) rest = !cnt[x];
    } else {
        for (int y = 0; y < h && !rest; y++) {
            const float *row = d + (size_t)y * (size_t)w;
            for (int x = 0; x < w && !rule[y] && !rest; x++) rest = row[x] >= t && !cnt[x];
        }
    }
    if (!rest) return;
    for (int y = 0; y < h; y++) {
        float *row = d + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            if (rule[y] || cnt[x]) row[x] = 0.0f;
    }
}

/* The strong parts of d (at or above t), measured: *parts_out gets a new
 * array (the caller frees it) and *n its length; *runs_out and *first_out
 * the runs they are made of. */
dl_status dl_digit_label_parts(const float *d, int w, int h, float t, ink_run **runs_out,
                             uint32_t **first_out, ink_part **parts_out, int32_t *n, dl_err *e)
{
    *runs_out = NULL;
    *first_out = NULL;
    *parts_out = NULL;
    *n = 0;
    ink_run *r = NULL;
    size_t cap = 0, nr = SIZE_MAX;
    uint32_t *first = malloc(((size_t)h + 1) * sizeof *first);
    if (first) nr = find_runs(d, w, h, t, &r, &cap, first);
    if (nr == SIZE_MAX) {
        free(r);
        free(first);
        return dl_err_set(e, DL_ENOMEM, "picture: out of memory while labelling the ink of %d x %d pixels", w, h);
    }
    const int32_t np = join_runs(r, first, h);
    ink_part *p = calloc(np ? (size_t)np : 1, sizeof *p);
    if (!p) {
        free(r);
        free(first);
        return dl_err_set(e, DL_ENOMEM, "picture: out of memory for %ld ink parts", (long)np);
    }
    for (int32_t k = 0; k < np; k++) {
        p[k].x0 = (int16_t)(w - 1);
        p[k].y0 = (int16_t)(h - 1);
    }
    for (size_t i = 0; i < nr; i++) {
        ink_part *q = &p[run_part(&r[i])];
        const int y = r[i].y, x0 = r[i].x0, x1 = r[i].x1;
        const float *row = d + (size_t)y * (size_t)w;
        for (int x = x0; x < x1; x++) {
            q->mass += row[x];
            if (row[x] > q->peak) q->peak = row[x];
        }
        if (x0 < q->x0) q->x0 = (int16_t)x0;
        if (x1 - 1 > q->x1) q->x1 = (int16_t)(x1 - 1);
        if (y < q->y0) q->y0 = (int16_t)y;
        if (y > q->y1) q->y1 = (int16_t)y;
        q->side[0] = (uint16_t)(q->side[0] + (x0 == 0));
        q->side[1] = (uint16_t)(q->side[1] + (x1 == w));
        if (y == 0) q->side[2] = (uint16_t)(q->side[2] + (x1 - x0));
        if (y == h - 1) q->side[3] = (uint16_t)(q->side[3] + (x1 - x0));
    }
    *runs_out = r;
    *first_out = first;
    *parts_out = p;
    *n = np;
    return DL_OK;
}
