/*
 * cmd_export.c — `digitlens export`: a model's weights and biases for
 * Python: NumPy .npy files shaped as network.py keeps them, the JSON
 * network2.py's Network.load reads, and/or an ONNX model.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "digitlens/fileio.h"
#include "digitlens/network2.h"
#include "digitlens/npy.h"
#include "digitlens/onnx.h"

int cmd_export(int argc, char **argv)
{
    const char *model = NULL, *npy = NULL, *json = NULL, *onnx = NULL;
    int quiet = 0;
    cli_opt opts[] = {
        {"model", OPT_STR, &model, 0, 0, "FILE", "the model to export (required)", 0},
        {"npy", OPT_STR, &npy, 0, 0, "DIR", "write weights<l>.npy (out x in) and biases<l>.npy (out x 1) here (default: no .npy files)", 0},
        {"json", OPT_STR, &json, 0, 0, "FILE", "write network2.py's JSON (sizes, weights, biases, cost) here (default: no JSON)", 0},
        {"onnx", OPT_STR, &onnx, 0, 0, "FILE", "write the network as an ONNX model (opset 13: Gemm and activation per layer, input x [N, inputs], output y) here (default: no ONNX)", 0},
        {"quiet", OPT_FLAG, &quiet, 0, 0, NULL, "print nothing but errors", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "export", "",
        "Export a model's parameters for NumPy: weights<l>.npy has shape (sizes[l+1], sizes[l]) and\n"
        "biases<l>.npy (sizes[l+1], 1), float32, exactly the arrays network.py keeps in weights[l]\n"
        "and biases[l].  --json writes the file network2.py's load() reads.  --onnx writes an ONNX\n"
        "model for onnxruntime, PyTorch or Netron; `digitlens import --onnx` reads it back.",
        "  digitlens export --model mnist.dlm --npy weights/\n"
        "  python3 -c \"import numpy as np; w = np.load('weights/weights0.npy'); print(w.shape)\"\n"
        "  digitlens export --model mnist.dlm --json mnist.json\n"
        "  digitlens export --model mnist.dlm --onnx mnist.onnx", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_out_dir(&cmd, "npy", npy))) return rc;
    if (!model) return cli_fail(EXIT_USAGE, "export: --model FILE is required");
    if (!npy && !json && !onnx)
        return cli_fail(EXIT_USAGE, "export: say where to: --npy DIR, --json FILE and/or --onnx FILE");

    dl_err e = {0};
    dl_model *m = NULL;
    int code = EXIT_OK;
    if (dl_model_load(model, &m, &e) != DL_OK) goto fail;
    const dl_net *n = m->net;
    if (npy) {
        int files = 0;
        if (dl_mkdir_p(npy, &e) != DL_OK || dl_model_export_npy(m, npy, &files, &e) != DL_OK) goto fail;
        if (!quiet) {
            char path[4200], dir[4200];
            for (int l = 0; l + 1 < n->nlayers; l++) {
                cli_path(path, sizeof path, npy, "weights%d.npy", l);
                printf("wrote %s (%d, %d) and biases%d.npy (%d, 1), float32\n", path, n->sizes[l + 1], n->sizes[l], l,
                       n->sizes[l + 1]);
            }
            /* The hint must run as printed, whatever the directory's name holds. */
            cli_path(dir, sizeof dir, npy, "%s", "");
            fputs("in Python: weights = [np.load('", stdout);
            cli_python_escape(dir, 1);
            printf("weights%%d.npy' %% l) for l in range(%d)]\n", n->nlayers - 1);
        }
    }
    if (json) {
        if (dl_nielsen_save(m, json, &e) != DL_OK) goto fail;
        if (!quiet) {
            printf("wrote %s (network2.py format: network2.load('", json);
            cli_python_escape(json, 0);
            printf("'))\n");
        }
    }
    if (onnx) {
        if (dl_onnx_save(m, DIGITLENS_VERSION, onnx, &e) != DL_OK) goto fail;
        if (!quiet)
            printf("wrote %s (ONNX opset %d, input x [N, %d], output y [N, %d]; check it: python3 -c \"import onnx; "
                   "onnx.checker.check_model('%s')\")\n", onnx, DL_ONNX_OPSET, n->sizes[0], n->sizes[n->nlayers - 1],
                   onnx);
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    dl_model_free(m);
    return code;
}
