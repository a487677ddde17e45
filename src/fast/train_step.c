/*
 * fast/train_step.c — one chunk's arithmetic in the fast training kernel
 * (fast/train.c says why it is split this way): the layers after the
 * first, on every thread (mid), and a unit's first-layer update fused with
 * the next chunk's forward pass (unit_pass).  Compiled once per SIMD
 * variant, after fast/train.c.
 */

/* ---- deltas ------------------------------------------------------------------ */

/* One example's part in hidden_delta_tile: its output deltas d_out
 * [nout], f(z) of the hidden layer in a, dropout's mask keep (NULL: none),
 * and where its deltas go, d. */
typedef struct hd_ex {
    const float *d_out, *a, *keep;
    float *d;
} hd_ex;

/* Deltas of the first hidden layer for one example e[0], or two (two: e[0]
 * and e[1], sharing each load of W), tile of nv vectors (1..7 or 13, a
 * constant: hidden_delta_tile_n) from unit j0:
 *     d[j] = (Σ_o W[o][j] d_out[o]) · (f'(z_j) · keep[j])
 * with f'(z) from f(z) in a (vf_slope: a(1 − a) for σ), W [nout x nin]
 * row-major, nin units existing (the rest, padding, get 0).  Sums over the
 * outputs in order, as dl_net_backprop does; an example's sums are the
 * same alone or in a pair.  In a pair, each example's ten-deep chains of
 * multiply-adds overlap the other's and a row is loaded once for both
 * (mid's lanes path, where the examples come in a block): on the Xeon of
 * README's speed section a chunk's hidden deltas took 1,720 time-stamp
 * cycles one example at a time, 1,130 in pairs (three at a time: no
 * faster than pairs). */
DL_INLINE void hidden_delta_tile(const int nv, const int two, const float *w, int nin, int nout, int j0,
                                 dl_act f, const hd_ex *e)
{
#define ZERO(c) dl_vf s##c = vf_zero(), t##c = vf_zero();
    DL_REP13(ZERO)
#undef ZERO
    for (int o = 0; o < nout; o++) {
        dl_vf dv = vf_bcast(e[0].d_out + o), dt = two ? vf_bcast(e[1].d_out + o) : dv;
        const float *row = w + (size_t)o * nin;
#define FMA(c)                                                                    \
    if (c < nv) {                                                                 \
        int j = j0 + c * DL_VW, n = nin - j;                                      \
        dl_vf wv = n >= DL_VW ? vf_load(row + j) : vf_load_n(row + j, n > 0 ? n : 0); \
        s##c = vf_fmadd(wv, dv, s##c);                                            \
        if (two) t##c = vf_fmadd(wv, dt, t##c);                                   \
    }
        DL_REP13(FMA)
#undef FMA
    }
#define OUT1(c, x, s)                                                      \
    {                                                                      \
        int j = j0 + c * DL_VW, n = nin - j;                               \
        dl_vf sl = vf_slope(f, vf_load(e[x].a + j));                       \
        if (e[x].keep) sl = vf_mul(sl, vf_load(e[x].keep + j));            \
        dl_vf dv = vf_mul(s, sl);                                          \
        if (n < DL_VW) dv = vf_keep_n(dv, n > 0 ? n : 0);                  \
        vf_store(e[x].d + j, dv);                                          \
    }
#define OUT(c)                         \
    if (c < nv) {                      \
        OUT1(c, 0, s##c)               \
        if (two) OUT1(c, 1, t##c)      \
    }
    DL_REP13(OUT)
#undef OUT
#undef OUT1
}

/* hidden_delta_tile for a tile of nv vectors known only at run time
 * (tile_count): with a constant count the compiler drops the tests on it,
 * which cost as much as the arithmetic of this short loop (the per-example
 * part of mid took 5.1 us per chunk of 10 with them, 3.6 without). */
static void hidden_delta_tile_n(int nv, int two, const float *w, int nin, int nout, int j0, dl_act f,
                                const hd_ex *e)
{
    switch (nv) {
#define CASE(N)                                                  \
    case N:                                                      \
        if (two)                                                 \
            hidden_delta_tile(N, 1, w, nin, nout, j0, f, e);     \
        else                                                     \
            hidden_delta_tile(N, 0, w, nin, nout, j0, f, e);     \
        break;
        DL_TILE_WIDTHS(CASE)
#undef CASE
    default: break;
    }
}

/* hidden_delta_tile over all `width` units (a whole number of vectors),
 * for e[0] or (two) e[0] and e[1]. */
static void hidden_delta(const float *w, int nin, int nout, int width, dl_act f, const hd_ex *e, int two)
{
    int nvec = width / DL_VW, nt = tile_count(nvec);
    for (int t = 0; t < nt; t++) {
        int v0 = tile_first(nvec, nt, t);
        hidden_delta_tile_n(tile_first(nvec, nt, t + 1) - v0, two, w, nin, nout, v0 * DL_VW, f, e);
    }
}

/* Scalar version for the small dense layers (any widths): f'(z) from
 * f(z) in a_in, dropout's mask keep (NULL: none), as dl_net_backprop. */
static void hidden_delta_scalar(const float *w, int nin, int nout, const float *d_out, dl_act f,
                                const float *a_in, const float *keep, float *d_in)
{
    for (int k = 0; k < nin; k++) d_in[k] = 0.0f;
    for (int o = 0; o < nout; o++) {
        const float *row = w + (size_t)o * nin;
        for (int k = 0; k < nin; k++) d_in[k] += row[k] * d_out[o];
    }
    if (keep)
        for (int k = 0; k < nin; k++) d_in[k] *= dl_act_slope(f, a_in[k]) * keep[k];
    else
        for (int k = 0; k < nin; k++) d_in[k] *= dl_act_slope(f, a_in[k]);
}

/* A rank's activations and deltas of layer l >= 2 for example i. */
static float *deep_a(const fast_ctx *k, const rank_mem *r, int l, int i)
{
    return r->deep + k->deep_off[l] + (size_t)i * k->net->sizes[l];
}

static float *deep_d(const fast_ctx *k, const rank_mem *r, int l, int i)
{
    return r->deep + k->deep_off[l] + (size_t)(CHUNK + i) * k->net->sizes[l];
}

/* ---- the layers after the first (every thread, the same numbers) ------------- */

/* W[1]'s gradient, outputs o and o+1 (when two), tile of nv vectors of
 * inputs (at most DL_PAIR_TILE; a run-time count) from column c0:
 * g[o][c] += Σ_i d_i[o] · a1_i[c], examples in order.  The two outputs
 * share each load of a1. */
static void grad1_tile(int nv, const fast_ctx *k, const rank_mem *r, int cm, float *gw, int o,
                       int two, int c0)
{
    int nin = k->nh, nout = k->net->sizes[2];
    float *g0 = gw + (size_t)o * nin, *g1 = g0 + (two ? nin : 0);
#define LOAD(c)                                                                            \
    int n##c = nin - (c0 + c * DL_VW);                                                     \
    dl_vf s##c = c < nv ? vf_load_n(g0 + c0 + c * DL_VW, n##c < DL_VW ? n##c : DL_VW) : vf_zero(); \
    dl_vf t##c = c < nv && two ? vf_load_n(g1 + c0 + c * DL_VW, n##c < DL_VW ? n##c : DL_VW) : vf_zero();
    DL_REP13(LOAD)
#undef LOAD
    for (int i = 0; i < cm; i++) {
        const float *a = r->a1 + (size_t)i * k->lda + c0, *dd = r->deep + k->deep_off[2] + (size_t)(CHUNK + i) * nout;
        dl_vf da = vf_bcast(dd + o), db = vf_bcast(dd + o + (two ? 1 : 0));
#define FMA(c)                                        \
    if (c < nv) {                                     \
        dl_vf av = vf_load_r(a + c * DL_VW, DL_KEEP_MASK); \
        s##c = vf_fmadd(da, av, s##c);                \
        t##c = vf_fmadd(db, av, t##c);                \
    }
        DL_REP13(FMA)
#undef FMA
    }
#define STORE(c)                                                                 \
    if (c < nv) {                                                                \
        int m = n##c < DL_VW ? n##c : DL_VW;                                     \
        vf_store_n(g0 + c0 + c * DL_VW, s##c, m);                                \
        if (two) vf_store_n(g1 + c0 + c * DL_VW, t##c, m);                       \
    }
    DL_REP13(STORE)
#undef STORE
}

/* Adds the chunk's gradients of layers >= 1 to G (laid out like the
 * parameters from b[0] on), example by example in order, as the
 * reference sums them. */
static void accumulate_rest(const fast_ctx *k, const rank_mem *r, int cm, float *G)
{
    const dl_net *net = k->net;
    for (int l = 1; l + 1 < k->L; l++) {
        int nin = net->sizes[l], nout = net->sizes[l + 1];
        float *gw = G + (dl_net_woff(net, l) - k->small_off);
        float *gb = G + (dl_net_boff(net, l) - k->small_off);
        if (l == 1) {
            /* The big one: outputs two at a time, inputs in register tiles. */
            int nvec = (nin + DL_VW - 1) / DL_VW, nt = (nvec + DL_PAIR_TILE - 1) / DL_PAIR_TILE;
            for (int o = 0; o < nout; o += 2)
                for (int t = 0; t < nt; t++) {
                    int v0 = (int)((int64_t)nvec * t / nt), v1 = (int)((int64_t)nvec * (t + 1) / nt);
                    grad1_tile(v1 - v0, k, r, cm, gw, o, o + 1 < nout, v0 * DL_VW);
                }
        } else {
            for (int o = 0; o < nout; o++) {
                float *g = gw + (size_t)o * nin;
                for (int c = 0; c < nin; c += DL_VW) {
                    int n = nin - c < DL_VW ? nin - c : DL_VW;
                    dl_vf s0 = n == DL_VW ? vf_load(g + c) : vf_load_n(g + c, n);
                    for (int i = 0; i < cm; i++) {
                        const float *a = deep_a(k, r, l, i);
                        dl_vf av = n == DL_VW ? vf_load(a + c) : vf_load_n(a + c, n);
                        s0 = vf_fmadd(vf_bcast(deep_d(k, r, l + 1, i) + o), av, s0);
                    }
                    if (n == DL_VW) vf_store(g + c, s0);
                    else vf_store_n(g + c, s0, n);
                }
            }
        }
        for (int o = 0; o < nout; o++) {
            float sb = gb[o];
            for (int i = 0; i < cm; i++) sb += deep_d(k, r, l + 1, i)[o];
            gb[o] = sb;
        }
    }
}

/* Dropout's mask of hidden layer l for the chunk's example i (train.c's,
 * by the example's position in the epoch) into keep [n]. */
static void drop_mask(const fast_ctx *k, const chunk *ch, int i, int l, int n, float *keep)
{
    dl_dropout_mask(k->dseed, k->run_pos + ch->off + (uint32_t)i, l, k->pdrop, n, keep);
}

/* a ⊙= keep over n units, after saving f(z) (a itself) in f. */
static void drop_apply(float *a, const float *keep, int n, float *f)
{
    memcpy(f, a, (size_t)n * sizeof(float));
    for (int j = 0; j < n; j++) a[j] *= keep[j];
}

/* The update of n parameters p from their gradient sums g at rate rr, as
 * ref_step writes it: p ← decay·p − rr·g (decay 1 for biases), or with
 * momentum v ← μv − rr·g − l2·p, p ← p + v (l2 0 for biases).
 *
 * One difference, for speed: a velocity below FLT_MIN in magnitude
 * becomes 0.  Without a gradient a velocity decays by μ each step, and
 * after some 800 steps (μ = 0.9) it is subnormal, where x86 arithmetic is
 * about a hundred times slower: with momentum most of the first layer's
 * rows are such (a pixel lit by few digits), and 10 epochs of the 10,000
 * digits took 4.1 s of CPU instead of 0.7 s.  A weight w moves by such a v only
 * when |w| < 2^-102 (w + v rounds to w otherwise), so the weights are the
 * reference's; only the stored velocities differ, by less than 1.2e-38. */
static void update_small(float *p, float *v, const float *g, size_t n, float rr, float decay, float mu,
                         float l2)
{
    if (!v) {
        if (decay == 1.0f)
            for (size_t q = 0; q < n; q++) p[q] -= rr * g[q];
        else
            for (size_t q = 0; q < n; q++) p[q] = decay * p[q] - rr * g[q];
        return;
    }
    for (size_t q = 0; q < n; q++) {
        float x = mu * v[q] - rr * g[q];
        if (l2 != 0.0f) x -= l2 * p[q];
        v[q] = fabsf(x) >= FLT_MIN ? x : 0.0f;
        p[q] += v[q];
    }
}

/* f(b[0] + s) for the units j .. j + DL_VW (bias b[0] [nh]; past nh, 0):
 * one vector of hidden_activations below; for a softmax, b[0] + s. */
DL_INLINE dl_vf activation(dl_act f1, const float *bias, int nh, int j, dl_vf s)
{
    int n = nh - j;
    dl_vf b = n >= DL_VW ? vf_load(bias + j) : vf_load_n(bias + j, n > 0 ? n : 0);
    return f1 == DL_ACT_SOFTMAX ? vf_add(b, s) : vf_act(f1, vf_add(b, s));
}

/* The chunk's first-layer activations from the units' partial sums,
 *     a1 = f(b[0] + (S_0 + S_1))
 * (for a softmax, a 2-layer net's output, b[0] + (S_0 + S_1): mid couples
 * the units).  In a team (apart) the other class's sums come from another
 * core: first every S_0 + S_1 into a1, a loop of loads and adds whose
 * reads are all in flight at once, then f in place; in one loop, f's
 * exponential and division held those reads back (2 threads on the Xeon
 * of README's speed section: this step 3,900 time-stamp cycles a chunk of
 * 10 in one loop, 3,300 in two).  Alone, one loop: the sums are in this
 * core's cache, and a second pass costs more than it saves.  The same
 * operations either way, so the same bytes. */
static void hidden_activations(const fast_ctx *k, rank_mem *r, const chunk *ch, int par, int apart)
{
    const float *P = r->small;
    int cm = ch->cm, nh = k->nh;
    dl_act f1 = k->net->act[0];
    apart = apart && k->nwords > 1 && f1 != DL_ACT_SOFTMAX;
    for (int h = 0; h < k->H; h++) {
        const unit *u0 = &k->units[NCLASS * h], *u1 = &k->units[NCLASS * h + 1];
        for (int i = 0; i < cm; i++) {
            const float *s0 = u0->s[par] + (size_t)i * u0->ld, *s1 = u1->s[par] + (size_t)i * u1->ld;
            float *a = r->a1 + (size_t)i * k->lda;
            for (int v = 0; v < u0->nvec; v++) {
                int j = u0->j0 + v * DL_VW;
                dl_vf s = vf_load(s0 + v * DL_VW);
                /* One class only when the image is at most 64 pixels. */
                if (k->nwords > 1) s = vf_add(s, vf_load(s1 + v * DL_VW));
                vf_store(a + j, apart ? s : activation(f1, P, nh, j, s));
            }
        }
    }
    if (!apart) return;
    for (int h = 0; h < k->H; h++) {
        const unit *u0 = &k->units[NCLASS * h];
        for (int i = 0; i < cm; i++) {
            float *a = r->a1 + (size_t)i * k->lda;
            for (int v = 0; v < u0->nvec; v++) {
                int j = u0->j0 + v * DL_VW;
                vf_store(a + j, activation(f1, P, nh, j, vf_load(a + j)));
            }
        }
    }
}

/* The chunk's first-layer activations (hidden_activations; apart: this
 * rank is one of a team), times dropout's mask,
 * its deltas d1 through the later layers (with this rank's parameters P),
 * the gradients of b[0] and of the later layers, and, at the batch's last
 * chunk, their update.  Rank 0 also adds the costs. */
static void mid(fast_ctx *k, rank_mem *r, int rank, int apart, const chunk *ch, int par)
{
    const dl_net *net = k->net;
    float *P = r->small, *G = r->gsmall;
    int cm = ch->cm, nh = k->nh, L = k->L;
    dl_act f1 = net->act[0];
    size_t width = dl_vround((size_t)nh);
    if (ch->first) memset(G, 0, k->nsmall * sizeof(float));
    hidden_activations(k, r, ch, par, apart);
    float *w[DL_MAX_LAYERS], *b[DL_MAX_LAYERS];
    for (int l = 1; l + 1 < L; l++) {
        w[l] = P + (dl_net_woff(net, l) - k->small_off);
        b[l] = P + (dl_net_boff(net, l) - k->small_off);
    }
    int drop = k->pdrop > 0.0f;
#if DL_SIMD_LEVEL == 2
    if (lanes_fit(k, cm)) {
        /* The book's network: its output layer with the examples in the
         * lanes (fast/lanes.c), the same numbers as the loop below. */
        lanes_forward(k, r, rank, ch, par, w[1], b[1], deep_d(k, r, 2, 0));
        /* The hidden deltas two examples at a time (hidden_delta_tile). */
        for (int i = 0; i < cm; i += 2) {
            hd_ex e[2];
            for (int x = 0; x < 2 && i + x < cm; x++)
                e[x] = (hd_ex){deep_d(k, r, 2, i + x), r->a1 + (size_t)(i + x) * k->lda, NULL,
                               r->d1 + (size_t)(i + x) * k->lda};
            hidden_delta(w[1], nh, k->nout, (int)width, f1, e, i + 1 < cm);
        }
    } else
#endif
    for (int i = 0; i < cm; i++) {
        float *a1 = r->a1 + (size_t)i * k->lda;
        const float *out = a1;
        float *d1 = r->d1 + (size_t)i * k->lda;
        /* The target, for the output δ (dl_net_output_delta, the
         * reference's own) and the cost. */
        one_hot(r->y, k->nout, r->lab[par][i]);
        if (L == 2) {
            if (f1 == DL_ACT_SOFTMAX) dl_act_apply(f1, a1, a1, nh);
            dl_net_output_delta(f1, k->cost_kind, a1, r->y, nh, d1);
            for (size_t j = (size_t)nh; j < width; j++) d1[j] = 0.0f;
        } else {
            /* Dropout: a1 keeps f(z)·keep for the layers above and the
             * gradients; f(z) itself (f1) gives the slope. */
            const float *fz1 = a1, *keep1 = NULL;
            if (drop) {
                drop_mask(k, ch, i, 1, nh, r->keep1);
                drop_apply(a1, r->keep1, nh, r->f1);
                fz1 = r->f1;
                keep1 = r->keep1;
            }
            for (int l = 1; l + 1 < L; l++) {
                float *o = deep_a(k, r, l + 1, i);
                int no = net->sizes[l + 1];
                dense_forward(w[l], b[l], net->sizes[l], no, net->act[l], out, o);
                if (drop && l + 2 < L) {
                    float *kp = r->keepd + k->hid_off[l + 1];
                    drop_mask(k, ch, i, l + 1, no, kp);
                    drop_apply(o, kp, no, r->fdeep + k->hid_off[l + 1]);
                }
                out = o;
            }
            dl_net_output_delta(net->act[L - 2], k->cost_kind, out, r->y, k->nout, deep_d(k, r, L - 1, i));
            for (int l = L - 2; l >= 2; l--) {
                const float *fz = drop ? r->fdeep + k->hid_off[l] : deep_a(k, r, l, i);
                hidden_delta_scalar(w[l], net->sizes[l], net->sizes[l + 1], deep_d(k, r, l + 1, i), net->act[l - 1],
                                    fz, drop ? r->keepd + k->hid_off[l] : NULL, deep_d(k, r, l, i));
            }
            hd_ex e = {deep_d(k, r, 2, i), fz1, keep1, d1};
            hidden_delta(w[1], nh, net->sizes[2], (int)width, f1, &e, 0);
        }
        if (rank == 0) {
            /* Costs in example order, as ref_step adds them. */
            add_cost(k, r, out);
        }
    }
    if (rank == 0 && ch->last) {
        /* Σ over the batch, then into the caller's sum, as ref_step's
         * return value is added: the same bits however calls are split. */
        *k->cost_out += r->cost;
        r->cost = 0.0;
    }
    if (L > 2) accumulate_rest(k, r, cm, G);
    /* b[0]'s gradient: Σ_i d1_i in example order. */
    for (int j = 0; j < nh; j += DL_VW) {
        int n = nh - j < DL_VW ? nh - j : DL_VW;
        dl_vf s = vf_load_n(G + j, n);
        for (int i = 0; i < cm; i++) s = vf_add(s, vf_load_n(r->d1 + (size_t)i * k->lda + j, n));
        vf_store_n(G + j, s, n);
    }
    if (!ch->last) return;
    /* The batch's update of everything but W[0], as ref_step writes it. */
    float rr = ch->r, *V = r->vsmall;
    update_small(P, V, G, (size_t)nh, rr, 1.0f, k->mu, 0.0f);
    for (int l = 1; l + 1 < L; l++) {
        size_t wo = dl_net_woff(net, l) - k->small_off, bo = dl_net_boff(net, l) - k->small_off;
        update_small(P + wo, V ? V + wo : NULL, G + wo, (size_t)net->sizes[l + 1] * net->sizes[l], rr, k->decay,
                     k->mu, k->l2);
        update_small(P + bo, V ? V + bo : NULL, G + bo, (size_t)net->sizes[l + 1], rr, 1.0f, k->mu, 0.0f);
    }
}

/* ---- the first layer, one unit at a time --------------------------------------- */

/* One register tile (nv vectors from vector v0) of a unit, mask word w:
 * first the update of chunk cu (when non-NULL) on the touched rows,
 *     acc = (carried g) + Σ_i x_ip δ_i   (the chunk's examples in order),
 *     WT[p] ← decay·WT[p] − r·acc on the batch's last chunk, else g[p] ← acc
 * (with momentum, on the last chunk: V[p] ← μ·V[p] − r·acc − l2·WT[p],
 * WT[p] ← WT[p] + V[p]);
 * then, on the same rows while they are in cache, the forward pass of
 * chunk cf (when non-NULL) into the unit's partial sums.
 *
 * The update takes the touched pixels g at a time (DL_UPDATE_GROUP), which
 * share the loads of δ, over the examples that light any of them (a pixel
 * the example does not light adds 0·δ = 0, which changes nothing), from a
 * 16-bit map (r->who; a longer chunk runs over all its examples).  Much
 * of a group's cost is fixed: the exit from that loop, whose trip count no
 * branch predictor knows, the wait for its first δ, the rows' update.  Four
 * pixels a group (AVX-512, tiles of up to 7 vectors) pay it half as often
 * as two did, for 12% more multiply-adds on Fashion-MNIST: training 4 to 6%
 * faster on an Intel Xeon.  Where 512-bit operations run as two halves
 * (AMD Zen 4) the multiply-adds are the limit, and two pixels a group are
 * the faster (k->group, dl_simd_update_group).  A tile's last vector runs
 * as a half when its upper lanes are padding (ht: half_tail).  x_ip comes from the chunk's pixels transposed
 * (r->xt): a pixel's examples are one short row, so no load waits for
 * another. */
#define PIX4(X, c) X(0, c) X(1, c) X(2, c) X(3, c)
DL_INLINE void word_tile(const int nv, const int g, const int ht, const fast_ctx *k, const rank_mem *r,
                         const unit *un, int w, int v0, const chunk *cu, uint64_t touch,
                         uint64_t pend, const chunk *cf, int pf)
{
    size_t ld = un->ld, col = (size_t)v0 * DL_VW, lda = k->lda;
    if (cu) {
        const float *d1 = r->d1 + un->j0 + col, *tab = DL_PIXEL_TABLE;
        int cm = cu->cm;
        dl_vf rv = vf_set1(cu->r), dec = vf_set1(k->decay), mu = vf_set1(k->mu), l2 = vf_set1(k->l2);
        int nodecay = k->decay == 1.0f, nol2 = k->l2 == 0.0f;
        while (touch) {
            /* The group's pixels q[0..g); when the word has fewer left, the
             * last one again: such a slot's sums are its twin's to the bit,
             * and every row is read before any is written (below), so the
             * twin's update is written twice, the same both times. */
            int q[4];
            for (int j = 0; j < g; j++) {
                q[j] = touch ? __builtin_ctzll(touch) : q[j > 0 ? j - 1 : 0];
                touch &= touch - 1;
            }
            /* Row p of WT, its velocity or its carried sum, from column col. */
#define ROW(a, j) ((a) + ((size_t)64 * w + (size_t)q[j]) * ld + col)
            const uint8_t *xj[4];
            uint32_t ex = 0;
            for (int j = 0; j < g; j++) {
                xj[j] = r->xt + ((size_t)64 * w + (size_t)q[j]) * r->xs;
                if (cm <= 16) ex |= r->who[64 * w + q[j]];
            }
#define ZERO(j, c) dl_vf acc##j##_##c = vf_zero();
#define ZERO_C(c) PIX4(ZERO, c)
            DL_REP13(ZERO_C)
#undef ZERO_C
#undef ZERO
            if (pend) {
                /* The carried partial sums of a long batch's earlier chunks
                 * (apart, so that the usual case is not a maze of tests). */
#define LOAD(j, c) \
    if (j < g && c < nv && (pend >> q[j] & 1)) acc##j##_##c = vf_load(ROW(un->g, j) + DL_VW * c);
#define LOAD_C(c) PIX4(LOAD, c)
                DL_REP13(LOAD_C)
#undef LOAD_C
#undef LOAD
            }
            /* The half vector's sums (ht), in variables of their own type
             * (as full vectors' low halves, the compiler moves them at
             * every step). */
            dl_vh h0 = vh_zero(), h1 = vh_zero(), h2 = vh_zero(), h3 = vh_zero();
#define FROM(j, c) \
    if (j < g && ht && c == nv - 1) h##j = vh_from(acc##j##_##c);
#define FROM_C(c) PIX4(FROM, c)
            DL_REP13(FROM_C)
#undef FROM_C
#undef FROM
            /* The examples that light any of the pixels (in order), or all
             * of a long chunk's: two loops, so that neither tests which it is. */
#define FMA(j, c) \
    if (j < g) acc##j##_##c = vf_fmadd(x##j, dv, acc##j##_##c);
#define FMA_H(j, c) \
    if (j < g) h##j = vh_fmadd(x##j, dh, h##j);
#define FMA_C(c)                                                                            \
    if (c < nv && ht && c == nv - 1) {                                                      \
        dl_vh dh = g > 1 ? vh_load_r(d + DL_VW * c, DL_KEEP_MASK) : vh_load(d + DL_VW * c); \
        PIX4(FMA_H, c)                                                                      \
    } else if (c < nv) {                                                                    \
        dl_vf dv = g > 1 ? vf_load_r(d + DL_VW * c, DL_KEEP_MASK) : vf_load(d + DL_VW * c); \
        PIX4(FMA, c)                                                                        \
    }
#define EXAMPLE(i)                                                                            \
    {                                                                                         \
        const float *d = d1 + (size_t)(i) * lda;                                              \
        dl_vf x0 = vf_bcast(tab + xj[0][i]);                                                  \
        dl_vf x1 = g > 1 ? vf_bcast(tab + xj[1][i]) : x0, x2 = g > 2 ? vf_bcast(tab + xj[2][i]) : x0; \
        dl_vf x3 = g > 3 ? vf_bcast(tab + xj[3][i]) : x0;                                     \
        DL_REP13(FMA_C)                                                                       \
    }
            if (cm <= 16)
                while (ex) {
                    int i = __builtin_ctz(ex);
                    ex &= ex - 1;
                    EXAMPLE(i)
                }
            else
                for (int i = 0; i < cm; i++) EXAMPLE(i)
#undef EXAMPLE
#undef FMA_C
#undef FMA
#define TO(j, c) \
    if (j < g && ht && c == nv - 1) acc##j##_##c = vh_to(h##j);
#define TO_C(c) PIX4(TO, c)
            DL_REP13(TO_C)
#undef TO_C
#undef TO
            /* The rows' update, or (not the batch's last chunk) the sums
             * kept for the next: each vector of the g rows read, then written. */
            float *wj[4], *mj[4], *gj[4];
            for (int j = 0; j < g; j++) {
                wj[j] = ROW(un->wt, j);
                mj[j] = k->vel ? ROW(un->vt, j) : NULL;
                gj[j] = ROW(un->g, j);
            }
#undef ROW
#define MOMENTUM_NEW(j, c)                                                             \
    dl_vf nw##j = vf_zero(), nvel##j = vf_zero();                                      \
    if (j < g) {                                                                       \
        dl_vf wv = vf_load(wj[j] + DL_VW * c);                                         \
        nvel##j = vf_fnmadd(rv, acc##j##_##c, vf_mul(mu, vf_load(mj[j] + DL_VW * c))); \
        if (!nol2) nvel##j = vf_fnmadd(l2, wv, nvel##j);                               \
        nvel##j = vf_flush_tiny(nvel##j);                                              \
        nw##j = vf_add(wv, nvel##j);                                                   \
    }
#define MOMENTUM_PUT(j, c)                                                             \
    if (j < g) {                                                                       \
        vf_store(mj[j] + DL_VW * c, nvel##j);                                          \
        vf_store(wj[j] + DL_VW * c, nw##j);                                            \
    }
#define PLAIN_NEW(j, c) \
    dl_vf nw##j = j < g ? vf_fnmadd(rv, acc##j##_##c, vf_load(wj[j] + DL_VW * c)) : vf_zero();
#define DECAY_NEW(j, c) \
    dl_vf nw##j = j < g ? vf_fnmadd(rv, acc##j##_##c, vf_mul(dec, vf_load(wj[j] + DL_VW * c))) : vf_zero();
#define PUT(j, c) \
    if (j < g) vf_store(wj[j] + DL_VW * c, nw##j);
#define KEEP(j, c) \
    if (j < g) vf_store(gj[j] + DL_VW * c, acc##j##_##c);
#define MOMENTUM_C(c) if (c < nv) { PIX4(MOMENTUM_NEW, c) PIX4(MOMENTUM_PUT, c) }
#define PLAIN_C(c) if (c < nv) { PIX4(PLAIN_NEW, c) PIX4(PUT, c) }
#define DECAY_C(c) if (c < nv) { PIX4(DECAY_NEW, c) PIX4(PUT, c) }
#define KEEP_C(c) if (c < nv) { PIX4(KEEP, c) }
            if (cu->last && k->vel) {
                DL_REP13(MOMENTUM_C)
            } else if (cu->last && nodecay) {
                /* decay·w is w exactly when decay is 1 (no L2): skip it. */
                DL_REP13(PLAIN_C)
            } else if (cu->last) {
                DL_REP13(DECAY_C)
            } else {
                DL_REP13(KEEP_C)
            }
#undef MOMENTUM_C
#undef PLAIN_C
#undef DECAY_C
#undef KEEP_C
#undef MOMENTUM_NEW
#undef MOMENTUM_PUT
#undef PLAIN_NEW
#undef DECAY_NEW
#undef PUT
#undef KEEP
        }
    }
    if (cf)
        fwd_word_n(nv, ht, un->wt, ld, col, w, r->px[pf], DL_PIXEL_TABLE, r->mask[pf], k->nwords, cf->cm,
                   w == un->cls ? k->zeros : NULL, un->s[pf], ld);
}

/* word_tile for a tile of nv vectors known only at run time, the last a
 * half when ht, its pixels in groups of k->group where the registers hold
 * as many (DL_UPDATE_GROUP), else of two or one. */
static void word_tile_n(int nv, int ht, const fast_ctx *k, const rank_mem *r, const unit *un, int w,
                        int v0, const chunk *cu, uint64_t touch, uint64_t pend, const chunk *cf, int pf)
{
#define TILE(N, G)                                                          \
    do {                                                                    \
        if (DL_HALF_TAIL && ht)                                             \
            word_tile(N, G, 1, k, r, un, w, v0, cu, touch, pend, cf, pf);   \
        else                                                                \
            word_tile(N, G, 0, k, r, un, w, v0, cu, touch, pend, cf, pf);   \
    } while (0)
    switch (nv) {
#define CASE(N)                                                             \
    case N:                                                                 \
        if (DL_UPDATE_GROUP(N) > 2 && k->group > 2)                         \
            TILE(N, DL_UPDATE_GROUP(N));                                    \
        else                                                                \
            TILE(N, DL_UPDATE_GROUP(N) > 2 ? 2 : DL_UPDATE_GROUP(N));       \
        break;
        DL_TILE_WIDTHS(CASE)
#undef CASE
#undef TILE
    default: break;
    }
}

/* A unit's part of a step: the update of chunk cu (whose pixels light_maps
 * has laid out) and the forward pass of chunk cf (buffers of parity pf),
 * either may be NULL, word by word over the unit's class. */
static void unit_pass(const fast_ctx *k, const rank_mem *r, unit *un, const chunk *cu,
                      const chunk *cf, int pf)
{
    int nt = tile_count(un->nvec), half = half_tail(un->nvec, un->nvalid);
    for (int w = un->cls; w < k->nwords; w += NCLASS) {
        uint64_t pend = un->pend[w], touch = 0;
        if (cu) {
            /* L2: every weight moves.  Momentum: every row whose velocity
             * is not zero, too. */
            int all = cu->last && (k->vel ? k->l2 != 0.0f : k->decay != 1.0f);
            uint64_t moving = k->vel ? un->moving[w] : 0;
            touch = all ? word_pixels(k, w) : r->lit[w] | (cu->last ? pend | moving : 0);
            if (k->vel && cu->last) un->moving[w] = moving | touch;
        }
        for (int t = 0; t < nt; t++) {
            int v0 = tile_first(un->nvec, nt, t);
            word_tile_n(tile_first(un->nvec, nt, t + 1) - v0, half && t == nt - 1, k, r, un, w, v0, cu, touch,
                        pend, cf, pf);
        }
        if (cu) un->pend[w] = cu->last ? 0 : pend | r->lit[w];
        /* The chunk after next's pixels of this word (fast/run: run_rank). */
        size_t lo = 64 * (size_t)w, hi = lo + 63 < k->d->npix ? lo + 63 : k->d->npix - 1;
        for (int i = 0; i < r->nfar; i++) {
            __builtin_prefetch(r->far[i] + lo);
            __builtin_prefetch(r->far[i] + hi);
        }
    }
}
