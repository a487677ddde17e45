/*
 * cmd_import.c — `digitlens import`: a network trained with Nielsen's
 * network2.py (its Network.save JSON) or exported to ONNX (PyTorch's
 * torch.onnx.export, digitlens's own export) as a digitlens model, so it
 * can be tested, drawn, explained and reported on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "digitlens/network2.h"
#include "digitlens/npy.h"
#include "digitlens/onnx.h"

/* "28x28" → rows, cols (each 1..65536). */
static int parse_shape(const char *s, int *rows, int *cols)
{
    char *end;
    errno = 0;
    long r = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X') || errno || r < 1 || r > DL_MAX_WIDTH) return 0;
    const char *p = end + 1;
    long c = strtol(p, &end, 10);
    if (end == p || *end || errno || c < 1 || c > DL_MAX_WIDTH) return 0;
    *rows = (int)r;
    *cols = (int)c;
    return 1;
}

int cmd_import(int argc, char **argv)
{
    const char *json = NULL, *onnx = NULL, *out = NULL, *shape = NULL;
    int quiet = 0;
    cli_opt opts[] = {
        {"nielsen", OPT_STR, &json, 0, 0, "FILE", "the JSON network2.py's Network.save wrote (required, or --onnx)", 0},
        {"onnx", OPT_STR, &onnx, 0, 0, "FILE", "an ONNX MLP: torch.onnx.export of nn.Sequential of Linear and ReLU, Sigmoid or Tanh, maybe a final Softmax (required, or --nielsen)", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "where to write the digitlens model (.dlm) (required)", 0},
        {"shape", OPT_STR, &shape, 0, 0, "RxC", "input image shape (default: the ONNX file's, else 28x28 for 784 inputs, else 1xN)", 0},
        {"quiet", OPT_FLAG, &quiet, 0, 0, NULL, "print nothing but errors", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "import", "",
        "Read a network saved by Nielsen's network2.py ({\"sizes\", \"weights\", \"biases\", \"cost\"})\n"
        "or an MLP in ONNX into a digitlens model.  ONNX: Gemm (or MatMul + Add) and Sigmoid, Tanh or\n"
        "Relu per layer, an optional final Softmax (a last layer without activation gives logits and\n"
        "is read as softmax), Flatten or Reshape at the input, Identity; anything else is refused\n"
        "naming the node.  Neither format keeps training history or initial weights, so the model\n"
        "has none.",
        "  digitlens import --nielsen net.json --out net.dlm\n"
        "  digitlens import --nielsen small.json --shape 4x4 --out small.dlm\n"
        "  digitlens import --onnx mlp.onnx --out mlp.dlm", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_require(&cmd, opts, "out"))) return rc;
    if (!!json + !!onnx != 1)
        return cli_fail(EXIT_USAGE, "import: exactly one of --nielsen FILE or --onnx FILE is required");
    int rows = 0, cols = 0;
    if (shape && !parse_shape(shape, &rows, &cols))
        return cli_fail(EXIT_USAGE, "import: --shape '%s' is not ROWSxCOLS (e.g. 28x28; each 1..%d)", shape,
                        DL_MAX_WIDTH);

    dl_err e = {0};
    dl_model *m = NULL;
    int code = EXIT_OK;
    dl_onnx_info info = {0};
    dl_status st = json ? dl_nielsen_load(json, rows, cols, &m, &e) : dl_onnx_load(onnx, rows, cols, &m, &info, &e);
    if (st != DL_OK || dl_model_save(m, out, &e) != DL_OK) {
        code = cli_fail_err(&e);
        goto done;
    }
    if (!quiet) {
        const dl_net *n = m->net;
        if (json) printf("imported %s: ", json);
        else printf("imported %s (%s, opset %d): ", onnx, info.producer, info.opset);
        for (int l = 0; l < n->nlayers; l++) printf("%s%d", l ? "," : "", n->sizes[l]);
        for (int l = 0; onnx && l + 1 < n->nlayers; l++) printf("%s%s", l ? "/" : " ", dl_act_name(n->act[l]));
        printf(" (%s cost, input %dx%d) into %s\n", dl_cost_name(m->cost), m->rows, m->cols, out);
        if (info.logits)
            printf("note: the last layer has no activation (logits, as for CrossEntropyLoss); digitlens reads it as "
                   "softmax, whose argmax is the same\n");
    }
done:
    dl_model_free(m);
    return code;
}
