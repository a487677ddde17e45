/*
 * fast/variant.h — the body of each variant file (train_fast_<v>.c): the
 * kernels' code, compiled under the target pragma the variant file has
 * opened, and the variant's table of entry points (train_fast_variants.h).
 * The includer defines DL_SIMD_LEVEL and includes fast/prelude.h first.
 */
#include "../train_fast_simd.h"

#include "layers.c"
#include "eval.c"
#include "train.c"
#include "lanes.c"
#include "train_step.c"
#include "train_run.c"
