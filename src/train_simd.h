/*
 * train_simd.h — dl_train and dl_evaluate with the fast kernels' variant
 * given rather than chosen (dl_simd_choose): for the tests and the
 * benchmark, which run every variant the CPU has.  Private to the library.
 */
#ifndef DIGITLENS_TRAIN_SIMD_H
#define DIGITLENS_TRAIN_SIMD_H

#include "digitlens/simd.h"
#include "digitlens/train.h"

/* v must be supported (dl_simd_supported). */
dl_status dl_train_simd(dl_simd v, dl_net *net, const dl_dataset *train, const dl_dataset *eval,
                        const dl_train_opts *o, dl_train_state *s, dl_epoch_stat *hist,
                        dl_progress_fn progress, void *ctx, dl_err *e);
dl_status dl_evaluate_simd(dl_simd v, const dl_net *net, const dl_dataset *d, dl_cost cost,
                           int threads, dl_eval *out, dl_err *e);

#endif
