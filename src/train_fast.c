/*
 * train_fast.c — the fast training kernel.  Until the sparse, threaded
 * kernel lands (issue "Train fast"), the default path runs the reference
 * arithmetic so both kernels always exist and agree.
 */
#include "train_kernels.h"

const dl_kernel_ops *dl_kernel_fast(void) { return dl_kernel_reference(); }
