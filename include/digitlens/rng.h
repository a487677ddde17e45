/*
 * rng.h — the seeded, portable random number generator.
 *
 * xoshiro256** (Blackman & Vigna) seeded through splitmix64: the same seed
 * gives the same stream on every platform and compiler.  Normal deviates
 * come from the Marsaglia polar method (only +, *, log, sqrt), so a seed's
 * initial weights are the same wherever digitlens runs.  The generator is a
 * plain value the caller owns and passes; there is no global state.
 */
#ifndef DIGITLENS_RNG_H
#define DIGITLENS_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct dl_rng {
    uint64_t s[4];
    double spare;     /* the polar method yields normals in pairs */
    int has_spare;
} dl_rng;

void dl_rng_seed(dl_rng *r, uint64_t seed);
uint64_t dl_rng_u64(dl_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double dl_rng_uniform(dl_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t dl_rng_below(dl_rng *r, uint64_t n);
/* Standard normal N(0, 1). */
double dl_rng_normal(dl_rng *r);
/* Fisher–Yates shuffle of idx[0..n). */
void dl_rng_shuffle(dl_rng *r, uint32_t *idx, size_t n);
/* Number i of splitmix64's stream from seed, computed directly: random
 * bits that depend only on (seed, i), not on the order they are asked for
 * (dropout masks, which two kernels and a resumed run must agree on). */
uint64_t dl_rng_at(uint64_t seed, uint64_t i);

#endif
