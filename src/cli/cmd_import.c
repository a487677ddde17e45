/*
 * cmd_import.c — `digitlens import`: a network trained with Nielsen's
 * network2.py (its Network.save JSON) as a digitlens model, so it can be
 * tested, drawn, explained and reported on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "digitlens/network2.h"
#include "digitlens/npy.h"

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
    const char *json = NULL, *out = NULL, *shape = NULL;
    int quiet = 0;
    cli_opt opts[] = {
        {"nielsen", OPT_STR, &json, 0, 0, "FILE", "the JSON network2.py's Network.save wrote (required)", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "where to write the digitlens model (.dlm) (required)", 0},
        {"shape", OPT_STR, &shape, 0, 0, "RxC", "input image shape (default: 28x28 for 784 inputs, else 1xN)", 0},
        {"quiet", OPT_FLAG, &quiet, 0, 0, NULL, "print nothing but errors", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "import", "",
        "Read a network saved by Nielsen's network2.py ({\"sizes\", \"weights\", \"biases\", \"cost\"})\n"
        "into a digitlens model.  The JSON keeps no training history or initial weights, so the\n"
        "model has none.",
        "  digitlens import --nielsen net.json --out net.dlm\n"
        "  digitlens import --nielsen small.json --shape 4x4 --out small.dlm", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    if ((rc = cli_require(&cmd, opts, "nielsen,out"))) return rc;
    int rows = 0, cols = 0;
    if (shape && !parse_shape(shape, &rows, &cols))
        return cli_fail(EXIT_USAGE, "import: --shape '%s' is not ROWSxCOLS (e.g. 28x28; each 1..%d)", shape,
                        DL_MAX_WIDTH);

    dl_err e = {0};
    dl_model *m = NULL;
    int code = EXIT_OK;
    if (dl_nielsen_load(json, rows, cols, &m, &e) != DL_OK || dl_model_save(m, out, &e) != DL_OK) {
        code = cli_fail_err(&e);
        goto done;
    }
    if (!quiet) {
        printf("imported %s: ", json);
        for (int l = 0; l < m->net->nlayers; l++) printf("%s%d", l ? "," : "", m->net->sizes[l]);
        printf(" (%s cost, input %dx%d) into %s\n", dl_cost_name(m->cost), m->rows, m->cols, out);
    }
done:
    dl_model_free(m);
    return code;
}
