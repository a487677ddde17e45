/*
 * fuzz_onnx.c — libFuzzer harness for `digitlens import --onnx`:
 * dl_onnx_decode, that is the tag/length walk and the counting allocator
 * (src/onnx_wire.c), protobuf-c's unpack through the generated code, and
 * the graph checks and walk (onnx_import.c, onnx_chain.c, onnx_read.c).
 *
 * The first input byte picks the image shape asked for (0 x 0: the file's
 * or the default; 1 x n; an impossible 3 x 5), the rest is the file.  A
 * file that decodes must give a consistent model, whose forward pass runs,
 * and which exports to ONNX that decodes again to the very same
 * parameters, activations, shape, cost and classes; one that does not
 * must leave no model and one printable line of message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/onnx.h"

#include "fuzz_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int rows = 0, cols = 0;
    if (data[0] % 4 == 2) rows = 3, cols = 5;
    dl_model *m = NULL;
    dl_onnx_info info;
    dl_err e;
    dl_status st = dl_onnx_decode(data + 1, size - 1, "fuzz.onnx", rows, cols, &m, &info, &e);
    if (st != DL_OK) {
        if (m || bad_message(&e, st)) abort();
        return 0;
    }
    const dl_net *n = m->net;
    if (m->rows * m->cols != n->sizes[0] || m->nclasses != n->sizes[n->nlayers - 1] ||
        dl_net_check_acts(n, &e) != DL_OK || dl_net_check_cost(n, m->cost, &e) != DL_OK)
        abort();
    dl_trace *t = dl_trace_new(n, &e);
    float *x = calloc((size_t)n->sizes[0], sizeof *x);
    if (!t || !x) abort();
    for (int i = 0; i < n->sizes[0]; i++) x[i] = (float)(i % 7) / 7.0f;
    dl_net_forward(n, x, t);
    free(x);
    dl_trace_free(t);

    unsigned char *out = NULL;
    size_t len = 0;
    if (dl_onnx_encode(m, "fuzz", &out, &len, &e) != DL_OK) abort();
    dl_model *again = NULL;
    if (dl_onnx_decode(out, len, "again.onnx", 0, 0, &again, NULL, &e) != DL_OK) abort();
    const dl_net *a = again->net;
    if (a->nparams != n->nparams || memcmp(a->params, n->params, n->nparams * sizeof(float)) != 0 ||
        memcmp(a->act, n->act, (size_t)(n->nlayers - 1) * sizeof *n->act) != 0 || again->rows != m->rows ||
        again->cols != m->cols || again->cost != m->cost ||
        memcmp(again->classes, m->classes, (size_t)m->nclasses) != 0)
        abort();
    dl_model_free(again);
    free(out);
    dl_model_free(m);
    return 0;
}
