/*
 * train_state.c — a fresh training state and its release (see
 * train_state.h).
 */
#include "digitlens/train_state.h"

#include <stdlib.h>
#include <string.h>

dl_status dl_train_state_init(dl_train_state *s, uint32_t n, const dl_rng *rng, dl_err *e)
{
    memset(s, 0, sizeof *s);
    s->order = malloc((n ? n : 1) * sizeof(uint32_t));
    if (!s->order) return dl_err_set(e, DL_ENOMEM, "out of memory for %u indices", n);
    for (uint32_t i = 0; i < n; i++) s->order[i] = i;
    s->n = n;
    s->rng = *rng;
    return DL_OK;
}

dl_status dl_train_state_set_n(dl_train_state *s, uint32_t n, dl_err *e)
{
    uint32_t *o = realloc(s->order, (n ? n : 1) * sizeof(uint32_t));
    if (!o) return dl_err_set(e, DL_ENOMEM, "out of memory for %u indices", n);
    for (uint32_t i = 0; i < n; i++) o[i] = i;
    s->order = o;
    s->n = n;
    return DL_OK;
}

dl_status dl_train_state_array(dl_train_state *s, float **which, size_t nparams, dl_err *e)
{
    if (*which) return DL_OK;
    *which = calloc(nparams ? nparams : 1, sizeof(float));
    if (!*which) return dl_err_set(e, DL_ENOMEM, "out of memory for %zu parameters of training state", nparams);
    s->nparams = nparams;
    return DL_OK;
}

void dl_train_state_free(dl_train_state *s)
{
    if (!s) return;
    free(s->order);
    free(s->velocity);
    free(s->kept);
    s->order = NULL;
    s->velocity = NULL;
    s->kept = NULL;
}
