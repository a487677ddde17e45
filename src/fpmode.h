/*
 * fpmode.h — subnormal floats flushed to zero in the calling thread, for
 * the fast training kernel's threads while they train (private to src/).
 *
 * Why: a sigmoid network that saturates makes subnormal activations and
 * deltas (below 1.2e-38), and x86 cores take a microcode assist of some
 * hundred cycles for every vector operation that reads or makes one.  On
 * Fashion-MNIST with Nielsen's settings (batch 10, eta 3, quadratic cost)
 * that slowed the 60,000-image epoch from 0.093 s to 1.3 s by epoch 30
 * on an Intel Xeon.  With FTZ (results) and DAZ (inputs) set in MXCSR such
 * values are 0: every product they feed is below 1.2e-38 · 255 · eta, far
 * under half an ulp of any weight it is added to, so the weights come out
 * the same unless a weight is itself that small.
 *
 * The mode is per thread: dl_fpmode_flush returns the caller's mode and
 * dl_fpmode_restore puts it back, so no code outside a training run (the
 * reference kernel, evaluation, libm for the caller) ever runs flushed.
 * Elsewhere than x86 both are no-ops and subnormals keep IEEE arithmetic.
 */
#ifndef DIGITLENS_FPMODE_H
#define DIGITLENS_FPMODE_H

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>

typedef unsigned dl_fpmode;

/* MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6). */
#define DL_MXCSR_FTZ_DAZ 0x8040u

static inline dl_fpmode dl_fpmode_flush(void)
{
    dl_fpmode old = _mm_getcsr();
    _mm_setcsr(old | DL_MXCSR_FTZ_DAZ);
    return old;
}

static inline void dl_fpmode_restore(dl_fpmode old) { _mm_setcsr(old); }
#else
typedef int dl_fpmode;
static inline dl_fpmode dl_fpmode_flush(void) { return 0; }
static inline void dl_fpmode_restore(dl_fpmode old) { (void)old; }
#endif

#endif
