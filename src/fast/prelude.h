/*
 * fast/prelude.h — every system header the fast kernels' code uses, for
 * the variant files to include before they open a target pragma (with
 * Clang the pragma would otherwise apply to the headers' own functions
 * too, which carry target attributes of their own).
 */
#ifndef DIGITLENS_FAST_PRELUDE_H
#define DIGITLENS_FAST_PRELUDE_H

#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if DL_SIMD_LEVEL >= 1
#include <immintrin.h>
#endif

#include "../fpmode.h"
#include "../train_fast_eval.h"
#include "../train_fast_layers.h"
#include "../train_fast_pool.h"
#include "../train_fast_variants.h"

#endif
