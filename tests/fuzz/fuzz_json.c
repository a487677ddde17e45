/*
 * fuzz_json.c — libFuzzer harness for the JSON parser (src/json.c) and the
 * network2.py schema behind it (dl_nielsen_decode), the way `digitlens
 * import` reads a file.
 *
 * The first input byte picks the image shape asked for (0 x 0: the
 * default, or 1 x n and an impossible one), the rest is the text.  A file
 * that decodes must give a consistent model that encodes to JSON which
 * decodes again to the very same parameters (9 significant digits bring
 * a float32 back exactly); one that does not must leave no model and one
 * printable line of message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/network2.h"

#include "fuzz_message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int rows = 0, cols = 0;
    switch (data[0] % 4) {
    case 1: rows = 1, cols = 0; break; /* 1 x n is the default's other shape; 1 x 0 is refused */
    case 2: rows = 3, cols = 5; break;
    default: break;
    }
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    dl_model *m = NULL;
    dl_err e;
    dl_status st = dl_nielsen_decode(text, len, "fuzz.json", rows, cols, &m, &e);
    if (st != DL_OK) {
        if (m || bad_message(&e, st)) abort();
        return 0;
    }
    if (!m || m->rows * m->cols != m->net->sizes[0] || m->nclasses != m->net->sizes[m->net->nlayers - 1]) abort();
    char *out = NULL;
    size_t n = 0;
    st = dl_nielsen_encode(m, &out, &n, &e);
    if (st == DL_OK) {
        dl_model *again = NULL;
        if (dl_nielsen_decode(out, n, "again.json", m->rows, m->cols, &again, &e) != DL_OK) abort();
        if (again->net->nparams != m->net->nparams ||
            memcmp(again->net->params, m->net->params, m->net->nparams * sizeof(float)) != 0)
            abort();
        dl_model_free(again);
        free(out);
    } else if (st != DL_EINVAL) { /* a parameter JSON cannot hold (a huge number read as inf) */
        abort();
    }
    dl_model_free(m);
    return 0;
}
