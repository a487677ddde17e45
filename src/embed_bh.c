/*
 * embed_bh.c — t-SNE's gradient (embed.h, dl_tsne_gradient): the attractive
 * forces exactly over the sparse P, the repulsive forces and the normaliser
 * Z through a Barnes–Hut quadtree (van der Maaten 2014, section 4.2).
 *
 * For a point y_i and the Student-t kernel w_ij = 1 / (1 + |y_i − y_j|²):
 *     ∂KL/∂y_i = 4·(F_attr,i − F_rep,i / Z)
 *     F_attr,i = Σ_j P_ij·w_ij·(y_i − y_j)      (P's non-zeros only)
 *     F_rep,i  = Σ_{j≠i} w_ij²·(y_i − y_j),   Z = Σ_{k≠l} w_kl
 * A quadtree cell of side s whose centre of mass is at distance r from y_i
 * stands for all its N_cell points at once when s < θ·r: it adds
 * N_cell·w·(..) with w taken at the centre.  s is the cell's full side (as
 * scikit-learn measures it; the 2014 code uses half of it), so θ = 0.5
 * here is at least as accurate as theirs.
 *
 * The tree is rebuilt every iteration, flat: the points are sorted along a
 * Morton (Z-order) curve of their 16-bit quantised coordinates, so that a
 * cell's points are one contiguous range of the sorted order, and the cells
 * are stored depth-first, each knowing where its subtree ends ("skip"), so
 * a walk is a loop over an array with no stack: open a cell by stepping to
 * the next entry, summarise or finish it by jumping to its skip.  Cells of
 * at most LEAF points (or at the deepest level) are leaves.
 *
 * The tree is walked once per group (the largest cells of at most GROUP
 * points), not once per point: a cell goes into the group's interaction
 * list as one body when it is far enough from every point of the group (its
 * centre more than side/θ from the group's bounding box), a near leaf as
 * its points.  Each of the group's points then sums the list in vector
 * registers, a branch-free loop, and its own group's points exactly.  A body
 * that passes for the whole group passes for each of its points, so this is
 * at least as accurate as a walk per point; a point never repels itself.
 *
 * Determinism: each point's forces and its share of Z are computed by one
 * thread, in an order fixed by the tree, and stored; Z is then summed over
 * points in index order.  The thread that did a point does not matter.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast") /* fused multiply-adds, as clang does by default */
#endif

#include "contract.h"
#include "embed_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { LEAF = 8, MAXDEPTH = 16 };

typedef struct bh_node {
    float cx, cy;      /* centre of mass */
    float wt;          /* side² / θ²: summarise when r² > wt */
    float count;       /* points inside */
    uint32_t lo, hi;   /* its points: sorted positions [lo, hi) */
    uint32_t skip;     /* the entry after its subtree */
    uint32_t leaf;     /* 1 when it has no child entries */
} bh_node;

typedef struct bh_tree {
    size_t n, nnodes;
    bh_node *node;          /* fewer than 2n (see embed_bh_new) */
    uint32_t *key, *key2;   /* Morton keys, radix-sort scratch */
    uint32_t *perm, *perm2; /* sorted position -> point index */
    float *sx, *sy;         /* coordinates in sorted order */
    double inv_theta2;
} bh_tree;

/* Spreads the 16 bits of v to the even bit positions. */
static uint32_t spread(uint32_t v)
{
    v &= 0xffff;
    v = (v | (v << 8)) & 0x00ff00ff;
    v = (v | (v << 4)) & 0x0f0f0f0f;
    v = (v | (v << 2)) & 0x33333333;
    v = (v | (v << 1)) & 0x55555555;
    return v;
}

static void radix_sort(bh_tree *T)
{
    size_t n = T->n;
    uint32_t *k = T->key, *k2 = T->key2, *p = T->perm, *p2 = T->perm2;
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) count[((k[i] >> shift) & 255) + 1]++;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++) {
            size_t at = count[(k[i] >> shift) & 255]++;
            k2[at] = k[i];
            p2[at] = p[i];
        }
        uint32_t *t = k; k = k2; k2 = t;
        t = p; p = p2; p2 = t;
    }
    /* Four passes: the sorted data are back in the original arrays. */
}

/* Builds the subtree of sorted positions [lo, hi) whose cell (of side
 * `side`, at `depth`) has already been chosen; returns its entry. */
static uint32_t build(bh_tree *T, uint32_t lo, uint32_t hi, int depth, double side)
{
    /* A cell whose points all fall in one quadrant is that quadrant: skip
     * the empty levels so the cell's side is as tight as the tree allows. */
    while (hi - lo > LEAF && depth < MAXDEPTH) {
        int shift = 2 * (MAXDEPTH - 1 - depth);
        if (((T->key[lo] ^ T->key[hi - 1]) >> shift) != 0) break;
        depth++;
        side *= 0.5;
    }
    DL_ASSERT(T->nnodes < 2 * T->n + 1); /* the bound embed_bh_new allocates for */
    uint32_t u = (uint32_t)T->nnodes++;
    bh_node *nd = &T->node[u];
    nd->lo = lo;
    nd->hi = hi;
    nd->count = (float)(hi - lo);
    nd->wt = (float)(side * side * T->inv_theta2);
    if (hi - lo <= LEAF || depth >= MAXDEPTH) {
        double sx = 0.0, sy = 0.0;
        for (uint32_t j = lo; j < hi; j++) {
            sx += T->sx[j];
            sy += T->sy[j];
        }
        nd->cx = (float)(sx / (hi - lo));
        nd->cy = (float)(sy / (hi - lo));
        nd->leaf = 1;
        nd->skip = u + 1;
        return u;
    }
    int shift = 2 * (MAXDEPTH - 1 - depth);
    double sx = 0.0, sy = 0.0;
    uint32_t a = lo;
    for (uint32_t q = 0; q < 4 && a < hi; q++) {
        uint32_t b = a;
        while (b < hi && ((T->key[b] >> shift) & 3) == q) b++;
        if (b > a) {
            uint32_t c = build(T, a, b, depth + 1, side * 0.5);
            sx += (double)T->node[c].cx * (b - a);
            sy += (double)T->node[c].cy * (b - a);
        }
        a = b;
    }
    nd = &T->node[u]; /* entries are in one array that does not move */
    nd->cx = (float)(sx / (hi - lo));
    nd->cy = (float)(sy / (hi - lo));
    nd->leaf = 0;
    nd->skip = (uint32_t)T->nnodes;
    return u;
}

/* The points in Morton order of their quantised coordinates: T->perm
 * (sorted position -> point) and T->key; returns the root cell's side. */
static double morton_sort(bh_tree *T, const float *Y)
{
    size_t n = T->n;
    float x0 = Y[0], x1 = Y[0], y0 = Y[1], y1 = Y[1];
    for (size_t i = 1; i < n; i++) {
        float x = Y[2 * i], y = Y[2 * i + 1];
        x0 = x < x0 ? x : x0;
        x1 = x > x1 ? x : x1;
        y0 = y < y0 ? y : y0;
        y1 = y > y1 ? y : y1;
    }
    double side = (double)(x1 - x0) > (double)(y1 - y0) ? (double)(x1 - x0) : (double)(y1 - y0);
    if (!(side > 0.0)) side = 1.0; /* all points in one place */
    double scale = 65536.0 / (side * (1.0 + 1e-6));
    for (size_t i = 0; i < n; i++) {
        double qx = ((double)Y[2 * i] - x0) * scale, qy = ((double)Y[2 * i + 1] - y0) * scale;
        uint32_t ix = qx >= 65535.0 ? 65535u : (uint32_t)qx, iy = qy >= 65535.0 ? 65535u : (uint32_t)qy;
        T->key[i] = spread(ix) | (spread(iy) << 1);
        T->perm[i] = (uint32_t)i;
    }
    radix_sort(T);
    return side;
}

static void tree_build(bh_tree *T, const float *Y, double theta)
{
    size_t n = T->n;
    double side = morton_sort(T, Y);
    for (size_t p = 0; p < n; p++) {
        uint32_t i = T->perm[p];
        T->sx[p] = Y[2 * i];
        T->sy[p] = Y[2 * i + 1];
    }
    T->inv_theta2 = theta > 0.0 ? 1.0 / (theta * theta) : INFINITY;
    T->nnodes = 0;
    build(T, 0, (uint32_t)n, 0, side);
}

/* ---- the walk ------------------------------------------------------------------ */

typedef float vf8 __attribute__((vector_size(32)));
typedef float vf8u __attribute__((vector_size(32), aligned(4), may_alias));
#define LD(p) (*(const vf8u *)(const void *)(p))
typedef float vf2 __attribute__((vector_size(8)));
typedef float vf2u __attribute__((vector_size(8), aligned(4), may_alias));
#define LD2(p) (*(const vf2u *)(const void *)(p))
#define ST2(p, v) (*(vf2u *)(void *)(p) = (v))

/* One thread's interaction list: bodies (a summarised cell or a single
 * point) as coordinates and masses, padded to whole vectors. */
typedef struct bh_list {
    float *x, *y, *m;
    size_t len;
    float *d;         /* scratch for one row of P: [n x 2] */
} bh_list;

static void push(bh_list *L, float x, float y, float m)
{
    L->x[L->len] = x;
    L->y[L->len] = y;
    L->m[L->len] = m;
    L->len++;
}

/* The interaction list of group g (the cell T->node[g]): every cell that
 * is far enough from ALL the group's points (its centre more than side/θ
 * from the group's bounding box) as one body, and the points of every
 * near leaf one by one.  The group's own points are not in the list.  A
 * body that passes for the whole group passes for each of its points, so
 * this is at least as accurate as walking the tree for each point. */
static void group_list(const bh_tree *T, uint32_t g, bh_list *L)
{
    const bh_node *node = T->node, *G = &node[g];
    uint32_t lo = G->lo, hi = G->hi, nn = (uint32_t)T->nnodes;
    float bx0 = T->sx[lo], bx1 = bx0, by0 = T->sy[lo], by1 = by0;
    for (uint32_t j = lo + 1; j < hi; j++) {
        bx0 = T->sx[j] < bx0 ? T->sx[j] : bx0;
        bx1 = T->sx[j] > bx1 ? T->sx[j] : bx1;
        by0 = T->sy[j] < by0 ? T->sy[j] : by0;
        by1 = T->sy[j] > by1 ? T->sy[j] : by1;
    }
    L->len = 0;
    uint32_t u = 0;
    while (u < nn) {
        const bh_node *c = &node[u];
        if (c->lo < hi && lo < c->hi) {
            /* The group's ancestors are opened; the group itself (and
             * anything inside it) is done point by point by the caller. */
            u = c->lo >= lo && c->hi <= hi ? c->skip : u + 1;
            continue;
        }
        float dx = c->cx < bx0 ? bx0 - c->cx : c->cx > bx1 ? c->cx - bx1 : 0.0f;
        float dy = c->cy < by0 ? by0 - c->cy : c->cy > by1 ? c->cy - by1 : 0.0f;
        if (dx * dx + dy * dy > c->wt) {
            push(L, c->cx, c->cy, c->count);
            u = c->skip;
        } else if (c->leaf) {
            for (uint32_t j = c->lo; j < c->hi; j++) push(L, T->sx[j], T->sy[j], 1.0f);
            u = c->skip;
        } else {
            u++;
        }
    }
    /* Pad to whole vectors with massless bodies. */
    while (L->len % 8) push(L, 0.0f, 0.0f, 0.0f);
}

/* F_rep and the share of Z of the point (x, y) against a list: eight lanes
 * summed in a fixed order. */
static float repulse_list(const bh_list *L, float x, float y, float *f)
{
    vf8 fx = {0}, fy = {0}, z = {0}, one = {1, 1, 1, 1, 1, 1, 1, 1};
    vf8 px = {x, x, x, x, x, x, x, x}, py = {y, y, y, y, y, y, y, y};
    for (size_t q = 0; q < L->len; q += 8) {
        vf8 dx = px - LD(L->x + q), dy = py - LD(L->y + q), m = LD(L->m + q);
        vf8 w = one / (one + dx * dx + dy * dy), mw = m * w;
        z += mw;
        mw *= w;
        fx += mw * dx;
        fy += mw * dy;
    }
    float sx = 0.0f, sy = 0.0f, sz = 0.0f;
    for (int l = 0; l < 8; l++) {
        sx += fx[l];
        sy += fy[l];
        sz += z[l];
    }
    f[0] = sx;
    f[1] = sy;
    return sz;
}

/* ln(1 + v) for v >= 0 (finite), to float precision: 1 + v = m·2^e with m
 * in [√½, √2), then ln m = 2·atanh(t), t = (m − 1)/(m + 1), |t| <= 0.172,
 * by its series to t⁹ (the next term is below 1e-9 relative).  For v
 * below 2^-24, 1 + v rounds to 1 and the answer is 0 instead of v: a
 * neighbour that close contributes P·v to the KL sum, which is nothing. */
static float ln_1p_fast(float v)
{
    float x = 1.0f + v, m;
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    int ex = (int)(b >> 23) - 127;
    b = (b & 0x007fffffu) | 0x3f800000u;
    memcpy(&m, &b, sizeof m);
    int big = m > 1.41421356f;
    m = big ? 0.5f * m : m;
    ex += big;
    float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
    float p = t * (2.0f + t2 * (2.0f / 3.0f + t2 * (2.0f / 5.0f + t2 * (2.0f / 7.0f + t2 * (2.0f / 9.0f)))));
    return p + (float)ex * 0.693147181f;
}

/* F_attr of point i (P's row i) into f[2]; with plogw, also Σ_j P_ij·ln w_ij.
 * Two passes: the neighbours' differences are gathered pairwise (one 8-byte
 * load each) into d [len x 2], then the kernel runs over d as contiguous
 * vectors, split into x and y lanes by shuffles.  (One loop would have the
 * compiler gather coordinates lane by lane, several times slower.) */
static void attract(const dl_sparse *P, const float *Y, uint32_t i, float *d, float *f, double *plogw)
{
    size_t q0 = P->rowptr[i], len = P->rowptr[i + 1] - q0;
    const uint32_t *col = P->col + q0;
    const float *val = P->val + q0;
    vf2 yi = LD2(Y + 2 * (size_t)i);
    for (size_t q = 0; q < len; q++) ST2(d + 2 * q, yi - LD2(Y + 2 * (size_t)col[q]));
    size_t full = len / 8 * 8;
    vf8 ax = {0}, ay = {0}, one = {1, 1, 1, 1, 1, 1, 1, 1};
    for (size_t q = 0; q < full; q += 8) {
        vf8 a = LD(d + 2 * q), b = LD(d + 2 * q + 8);
        vf8 x = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
        vf8 y = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
        vf8 m = LD(val + q) / (one + x * x + y * y);
        ax += m * x;
        ay += m * y;
    }
    float sx = 0.0f, sy = 0.0f;
    for (int l = 0; l < 8; l++) {
        sx += ax[l];
        sy += ay[l];
    }
    for (size_t q = full; q < len; q++) {
        float x = d[2 * q], y = d[2 * q + 1], m = val[q] / (1.0f + x * x + y * y);
        sx += m * x;
        sy += m * y;
    }
    f[0] = sx;
    f[1] = sy;
    if (plogw) {
        /* ln w = −ln(1 + r²): needed only every kl_every iterations, but a
         * libm log per non-zero of P costs several gradients, so ln_1p_fast. */
        double lw = 0.0;
        for (size_t q = 0; q < len; q++) {
            float x = d[2 * q], y = d[2 * q + 1];
            lw -= (double)(val[q] * ln_1p_fast(x * x + y * y));
        }
        *plogw = lw;
    }
}

/* ---- the gradient ---------------------------------------------------------- */

enum { GROUP = 32 };

struct embed_bh {
    bh_tree T;
    float *attr, *rep, *zsum;
    double *plogw;
    uint32_t *group;      /* cells walked as groups, in tree order */
    size_t ngroups;
    int threads;
    bh_list list[64];
};

typedef struct grad_job {
    const dl_sparse *P;
    const float *Y;
    embed_bh *w;
    int kl;
    _Atomic size_t next;
} grad_job;

static void grad_task(void *v, int tid, int nthreads)
{
    (void)nthreads;
    grad_job *J = v;
    const dl_sparse *P = J->P;
    const float *Y = J->Y;
    embed_bh *W = J->w;
    const bh_tree *T = &W->T;
    bh_list *L = &W->list[tid];
    for (;;) {
        size_t g = J->next++;
        if (g >= W->ngroups) break;
        const bh_node *G = &T->node[W->group[g]];
        group_list(T, W->group[g], L);
        for (uint32_t p = G->lo; p < G->hi; p++) {
            uint32_t i = T->perm[p];
            float yx = Y[2 * i], yy = Y[2 * i + 1];
            attract(P, Y, i, L->d, W->attr + 2 * i, J->kl ? &W->plogw[i] : NULL);
            float f[2], z = repulse_list(L, yx, yy, f);
            /* The group's other points, exactly. */
            for (uint32_t j = G->lo; j < G->hi; j++) {
                if (j == p) continue;
                float dx = yx - T->sx[j], dy = yy - T->sy[j];
                float w = 1.0f / (1.0f + dx * dx + dy * dy);
                z += w;
                f[0] += w * w * dx;
                f[1] += w * w * dy;
            }
            W->rep[2 * i] = f[0];
            W->rep[2 * i + 1] = f[1];
            W->zsum[i] = z;
        }
    }
}

embed_bh *embed_bh_new(size_t n, int threads)
{
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    /* Every internal cell has at least two non-empty children (build skips
     * single-child levels) and every leaf at least one point, so there are
     * fewer than 2n cells whatever the data; a list holds at most every
     * cell and every point once, plus padding. */
    size_t cap = 2 * n + 1, lcap = cap + n + 8;
    size_t bytes = sizeof(embed_bh) + cap * sizeof(bh_node) + n * sizeof(double) + 5 * n * sizeof(uint32_t) +
                   7 * n * sizeof(float) + (size_t)threads * (3 * lcap + 2 * n) * sizeof(float);
    char *m = malloc(bytes);
    if (!m) return NULL;
    embed_bh *w = (embed_bh *)(void *)m;
    memset(w, 0, sizeof *w);
    m += sizeof(embed_bh);
    w->threads = threads;
    w->T.n = n;
    w->T.node = (bh_node *)(void *)m;
    m += cap * sizeof(bh_node);
    w->plogw = (double *)(void *)m;
    m += n * sizeof(double);
    w->T.key = (uint32_t *)(void *)m;
    w->T.key2 = w->T.key + n;
    w->T.perm = w->T.key2 + n;
    w->T.perm2 = w->T.perm + n;
    w->group = w->T.perm2 + n;
    w->T.sx = (float *)(void *)(w->group + n);
    w->T.sy = w->T.sx + n;
    w->attr = w->T.sy + n;
    w->rep = w->attr + 2 * n;
    w->zsum = w->rep + 2 * n;
    float *lm = w->zsum + n;
    for (int t = 0; t < threads; t++, lm += 3 * lcap + 2 * n)
        w->list[t] = (bh_list){lm, lm + lcap, lm + 2 * lcap, 0, lm + 3 * lcap};
    return w;
}

void embed_bh_free(embed_bh *w) { free(w); }

void embed_bh_order(embed_bh *w, const float *Y, uint32_t *perm)
{
    morton_sort(&w->T, Y);
    memcpy(perm, w->T.perm, w->T.n * sizeof(uint32_t));
}

double embed_bh_gradient(embed_bh *w, const dl_sparse *P, const float *Y, double theta, double exaggeration,
                         int threads, float *grad, double plogp, double *kl)
{
    size_t n = P->n;
    tree_build(&w->T, Y, theta);
    /* Groups: the largest cells of at most GROUP points (or leaves). */
    w->ngroups = 0;
    for (uint32_t u = 0; u < w->T.nnodes;) {
        const bh_node *c = &w->T.node[u];
        if (c->leaf || c->hi - c->lo <= GROUP) {
            w->group[w->ngroups++] = u;
            u = c->skip;
        } else {
            u++;
        }
    }
    grad_job J = {.P = P, .Y = Y, .w = w, .kl = kl != NULL};
    J.next = 0;
    dl_parallel_run(threads < w->threads ? threads : w->threads, grad_task, &J);
    double Z = 0.0;
    for (size_t i = 0; i < n; i++) Z += w->zsum[i];
    if (!(Z > 0.0)) Z = 1e-300;
    float ex = (float)exaggeration, iz = (float)(1.0 / Z);
    for (size_t i = 0; i < 2 * n; i++) grad[i] = 4.0f * (ex * w->attr[i] - w->rep[i] * iz);
    if (kl) {
        /* KL = Σ P ln P − Σ P ln w + ln Z, since Σ P = 1. */
        double plogw = 0.0;
        for (size_t i = 0; i < n; i++) plogw += w->plogw[i];
        *kl = plogp - plogw + log(Z);
    }
    return Z;
}

double embed_plogp(const dl_sparse *P)
{
    double s = 0.0;
    for (size_t q = 0; q < P->nnz; q++)
        if (P->val[q] > 0.0f) s += (double)P->val[q] * log((double)P->val[q]);
    return s;
}

dl_status dl_tsne_gradient(const dl_sparse *P, const float *Y, double theta, double exaggeration, int threads,
                           float *grad, double *kl, dl_err *e)
{
    if (!P || !Y || !grad || P->n < 2) return dl_err_set(e, DL_EINVAL, "t-SNE gradient: no data");
    if (!(theta >= 0.0) || theta > 1.0) return dl_err_set(e, DL_EINVAL, "t-SNE gradient: theta %g is outside 0..1", theta);
    for (size_t i = 0; i < 2 * P->n; i++)
        if (!isfinite(Y[i])) return dl_err_set(e, DL_EINVAL, "t-SNE gradient: point %zu is not finite", i / 2);
    embed_bh *w = embed_bh_new(P->n, threads);
    if (!w) return dl_err_set(e, DL_ENOMEM, "t-SNE gradient: out of memory for %zu points", P->n);
    embed_bh_gradient(w, P, Y, theta, exaggeration, threads < 1 ? 1 : threads, grad, kl ? embed_plogp(P) : 0.0, kl);
    embed_bh_free(w);
    return DL_OK;
}
