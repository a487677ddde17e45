/*
 * fast/lanes.c — the layers after the first with the chunk's examples in
 * the lanes of a 16-lane vector (AVX-512 only): the output layer's
 * forward pass, its δ and the cost of a 3-layer net with sigmoid outputs,
 * for chunks of at most 16 examples (the book's network and batch 10).
 * Included by every variant after fast/train.c (add_cost, which mid shares,
 * in all of them; the rest in the avx512 variant only); mid
 * (fast/train_step.c) calls it where lanes_fit says it applies and does
 * the rest itself.
 *
 * Why: example by example (mid's loop) the output layer is ten dot
 * products of 100, each ending in a horizontal sum, then ten lanes of one
 * masked σ, a scalar δ and a call for the cost: short chains, one after
 * the other.  With the examples in the lanes each output's sum is a run of
 * full-width multiply-adds, and σ, δ and the cost are ten vector
 * operations each; the transposes in (seven 16 x 16) cost less than the
 * horizontal sums saved.  On the Xeon of README's speed section mid took
 * 9,900 and 9,100 time-stamp cycles a chunk of 10 on the two threads of a
 * 2-thread epoch before, 8,000 and 8,100 after (7,900 and 6,400 on one
 * thread), and mid is the part of a step that both threads do.
 *
 * The arithmetic is mid's, lane for lane, so the bytes are the same as
 * avx2's and as this variant's own per-example path (the unit tests
 * compare them): dense_forward's dot product is 8 partial sums, partial p
 * over the inputs k ≡ p (mod 8) in increasing k, combined as v8_hsum does,
 *     ((p0 + p4) + (p2 + p6)) + ((p1 + p5) + (p3 + p7)),
 * then b[o] + that sum and σ; here lane i holds example i's partial p in
 * a vector of its own.  δ is dl_net_output_delta's for sigmoid outputs,
 * ((a − y)·a)·(1 − a) for the quadratic cost and a − y for cross-entropy;
 * the quadratic cost is dl_cost_value's sum, in double, output by output.
 */
/* y [n] = the one-hot target of `label`. */
static void one_hot(float *y, int n, int label)
{
    memset(y, 0, (size_t)n * sizeof(float));
    y[label] = 1.0f;
}

/* Adds the cost of one example (outputs out [nout]) to r->cost, with
 * dl_cost_value's arithmetic, against the target one_hot has put in r->y:
 * mid's example loop and lanes_forward's cross-entropy both call this. */
static void add_cost(const fast_ctx *k, rank_mem *r, const float *out)
{
    r->cost += dl_cost_value(k->cost_kind, out, r->y, k->nout);
}

#if DL_SIMD_LEVEL == 2

/* dst[16 x 16] (row c, lane i) = src[i * ss + c] for i < n, 0 for i >= n:
 * 16 columns of n <= 16 rows, transposed in four rounds of shuffles. */
static void transpose16_f32(const float *src, size_t ss, int n, float *dst)
{
    __m512 r[16], t[16], u[16];
    for (int i = 0; i < 16; i++) r[i] = i < n ? _mm512_loadu_ps(src + (size_t)i * ss) : _mm512_setzero_ps();
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0xDD);
        t[8 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0xDD);
    }
    for (int i = 0; i < 8; i++) {
        _mm512_store_ps(dst + 16 * i, _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88));
        _mm512_store_ps(dst + 16 * (8 + i), _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD));
    }
}

/* Outputs o0 .. o0+no (no <= 3, a constant: 3 x 8 partial sums fill 24 of
 * the 32 registers) for every lane:
 *     a[o][i] = σ(b[o] + Σ_k W[o][k] · xt[k][i])   (sums as dense_forward's)
 * W [nout x nin] row-major, xt [nin x 16], a [nout x 16]. */
DL_INLINE void outputs_in_lanes(const int no, const float *w, const float *b, int nin, const float *xt, int o0,
                                float *a)
{
    __m512 acc[3][8];
#pragma GCC unroll 3
    for (int q = 0; q < 3; q++)
#pragma GCC unroll 8
        for (int p = 0; p < 8; p++) acc[q][p] = _mm512_setzero_ps();
    int full = nin / 8 * 8;
    for (int k = 0; k < full; k += 8) {
#pragma GCC unroll 8
        for (int p = 0; p < 8; p++) {
            __m512 x = _mm512_load_ps(xt + (size_t)(k + p) * 16);
#pragma GCC unroll 3
            for (int q = 0; q < 3; q++)
                if (q < no) acc[q][p] = _mm512_fmadd_ps(_mm512_set1_ps(w[(size_t)(o0 + q) * nin + k + p]), x, acc[q][p]);
        }
    }
    /* dense_forward's tail: the last nin % 8 inputs into partials 0, 1, ... */
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++) {
        if (full + p >= nin) break;
        __m512 x = _mm512_load_ps(xt + (size_t)(full + p) * 16);
#pragma GCC unroll 3
        for (int q = 0; q < 3; q++)
            if (q < no)
                acc[q][p] = _mm512_fmadd_ps(_mm512_set1_ps(w[(size_t)(o0 + q) * nin + full + p]), x, acc[q][p]);
    }
#pragma GCC unroll 3
    for (int q = 0; q < 3; q++) {
        if (q >= no) break;
        __m512 s0 = _mm512_add_ps(acc[q][0], acc[q][4]), s1 = _mm512_add_ps(acc[q][1], acc[q][5]);
        __m512 s2 = _mm512_add_ps(acc[q][2], acc[q][6]), s3 = _mm512_add_ps(acc[q][3], acc[q][7]);
        __m512 h = _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3));
        _mm512_store_ps(a + 16 * (o0 + q), vf_sigmoid(_mm512_add_ps(_mm512_set1_ps(b[o0 + q]), h)));
    }
}

/* 1 when lanes_forward applies to chunks of cm examples: a 3-layer net
 * (one hidden layer) with sigmoid outputs, at most 16 of them, trained
 * with the quadratic or cross-entropy cost and no dropout. */
static int lanes_fit(const fast_ctx *k, int cm)
{
    return k->L == 3 && k->pdrop == 0.0f && k->net->act[1] == DL_ACT_SIGMOID && k->nout <= 16 && cm <= 16 &&
           (k->cost_kind == DL_COST_QUADRATIC || k->cost_kind == DL_COST_CROSS_ENTROPY);
}

/* From the chunk's hidden activations (r->a1, [cm x lda]): the output
 * deltas into d2 [cm x nout] (mid's deep_d layout) and, on rank 0, the
 * examples' costs added to r->cost in example order.  W1 [nout x nh], b1
 * [nout] are this rank's second-layer parameters. */
static void lanes_forward(const fast_ctx *k, rank_mem *r, int rank, const chunk *ch, int par, const float *w1,
                          const float *b1, float *d2)
{
    int cm = ch->cm, nh = k->nh, nout = k->nout;
    float *xt = r->lanes, *a2 = xt + k->lda * 16, *dl = a2 + 16 * 16;
    for (int c = 0; c < nh; c += 16) transpose16_f32(r->a1 + c, k->lda, cm, xt + (size_t)c * 16);
    for (int o0 = 0; o0 < nout; o0 += 3) {
        int no = nout - o0;
        if (no >= 3) outputs_in_lanes(3, w1, b1, nh, xt, o0, a2);
        else if (no == 2) outputs_in_lanes(2, w1, b1, nh, xt, o0, a2);
        else outputs_in_lanes(1, w1, b1, nh, xt, o0, a2);
    }
    /* The one-hot targets: lane i is 1 in output lab[i].  Lanes from cm
     * on hold label 0 and zero inputs; nothing reads them. */
    uint8_t lab8[16] = {0};
    memcpy(lab8, r->lab[par], (size_t)cm);
    __m512i lab = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)lab8));
    int quad = k->cost_kind == DL_COST_QUADRATIC, sum_cost = rank == 0 && quad;
    __m512d c_lo = _mm512_setzero_pd(), c_hi = _mm512_setzero_pd(), half = _mm512_set1_pd(0.5);
    for (int o = 0; o < nout; o++) {
        __m512 a = _mm512_load_ps(a2 + 16 * o);
        __m512 y = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(lab, _mm512_set1_epi32(o)), _mm512_set1_ps(1.0f));
        __m512 d = _mm512_sub_ps(a, y);
        if (quad) d = _mm512_mul_ps(_mm512_mul_ps(d, a), _mm512_sub_ps(_mm512_set1_ps(1.0f), a));
        _mm512_store_ps(dl + 16 * o, d);
        if (sum_cost) {
            /* 0.5·(a − y)·(a − y) in double, as dl_cost_value writes it. */
            __m512d e_lo = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a)),
                                         _mm512_cvtps_pd(_mm512_castps512_ps256(y)));
            __m512d e_hi = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1)),
                                         _mm512_cvtps_pd(_mm512_extractf32x8_ps(y, 1)));
            c_lo = _mm512_add_pd(c_lo, _mm512_mul_pd(_mm512_mul_pd(half, e_lo), e_lo));
            c_hi = _mm512_add_pd(c_hi, _mm512_mul_pd(_mm512_mul_pd(half, e_hi), e_hi));
        }
    }
    for (int i = 0; i < cm; i++)
        for (int o = 0; o < nout; o++) d2[(size_t)i * nout + o] = dl[16 * o + i];
    if (rank != 0) return;
    if (sum_cost) {
        double c[16];
        _mm512_storeu_pd(c, c_lo);
        _mm512_storeu_pd(c + 8, c_hi);
        for (int i = 0; i < cm; i++) r->cost += c[i];
        return;
    }
    /* Cross-entropy's logarithms: dl_cost_value's own, example by example. */
    for (int i = 0; i < cm; i++) {
        float a[16];
        for (int o = 0; o < nout; o++) a[o] = a2[16 * o + i];
        one_hot(r->y, nout, r->lab[par][i]);
        add_cost(k, r, a);
    }
}

#endif
