/*
 * main.c — digitlens's entry point: dispatches to a subcommand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/simd.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, "train a network with mini-batch SGD and save it (.dlm)"},
    {"test", cmd_test, "accuracy, per-class accuracy and confusion matrix on a test set"},
    {"classify", cmd_classify, "classify digit images (PNG, JPEG, ...) or IDX entries"},
    {"weights", cmd_weights, "draw every neuron's incoming weights (PNG per neuron + grid)"},
    {"heatmap", cmd_heatmap, "input x weights: what one hidden neuron sees in an input"},
    {"activations", cmd_activations, "the hidden layer's outputs for one input, as a grid"},
    {"templates", cmd_templates, "what each output class responds to in input space"},
    {"contributions", cmd_contributions, "which hidden neurons voted for this answer, and how much (one input)"},
    {"explain", cmd_explain, "attribution maps: which pixels made an output (gradient, IG, LRP, ...)"},
    {"neuron", cmd_neuron, "what one hidden neuron is looking for: a card over the test set"},
    {"maximize", cmd_maximize, "the input that drives a neuron or an output highest"},
    {"report", cmd_report, "an HTML report of a model: history, confusion, every neuron, mistakes"},
    {"explore", cmd_explore, "an offline page: draw a digit and watch every neuron respond, live"},
    {"export", cmd_export, "weights and biases as NumPy .npy files (or network2.py JSON)"},
    {"evolve", cmd_evolve, "films and plots of training from its snapshots: weights.gif, histograms"},
    {"neurons", cmd_neurons, "dead and duplicate hidden neurons, and a pruning curve"},
    {"import", cmd_import, "a network saved by network2.py (JSON) as a digitlens model"},
    {"embed", cmd_embed, "the data set mapped to 2-D (PCA, t-SNE) in pixel and hidden-layer space"},
    {NULL, NULL, NULL},
};

static void usage(void)
{
    FILE *f = stdout;
    fprintf(f, "usage: digitlens COMMAND [options]   (digitlens COMMAND --help for its options)\n\n"
               "commands:\n");
    for (const command *c = COMMANDS; c->name; c++) fprintf(f, "  %-14s %s\n", c->name, c->summary);
    fprintf(f, "  %-14s %s\n\nlayers are numbered from the input: layer L (1 = the first hidden layer) holds\n"
               "network.py's weights[L-1] and biases[L-1].\n\nexample:\n"
               "  digitlens train --data data/mnist --epochs 30 --out mnist.dlm\n"
               "  digitlens test --model mnist.dlm\n",
            "help", "this overview (help COMMAND: that command's options)");
}

const char *cli_command_summary(const char *name)
{
    for (const command *c = COMMANDS; c->name; c++)
        if (strcmp(c->name, name) == 0) return c->summary;
    return NULL;
}

/* `help --man`: digitlens(1); `help --commands`: the command names, one a
 * line (for scripts/gen-docs.sh). */
static int help_generated(int man)
{
    enum { N = sizeof COMMANDS / sizeof COMMANDS[0] };
    const char *names[N], *summaries[N];
    for (size_t i = 0; i < N; i++) {
        names[i] = COMMANDS[i].name;
        summaries[i] = COMMANDS[i].summary;
        if (!man && names[i]) printf("%s\n", names[i]);
    }
    if (man) cli_print_man_overview(names, summaries);
    return EXIT_OK;
}

/* The version, and which of the fast kernels' variants runs here and why
 * (simd.h), and for avx512 its update's pixel groups g: the first thing to
 * ask for in a bug report about speed. */
static void version(dl_simd v, int g)
{
    printf("digitlens %s\n", DIGITLENS_VERSION);
    printf("kernels: %s (%s; %s)\n", dl_simd_name(v), dl_simd_needs(v),
           dl_simd_env("DIGITLENS_SIMD") ? "chosen by DIGITLENS_SIMD" : "the fastest this CPU runs");
    printf("this CPU runs:");
    for (int q = DL_SIMD_COUNT - 1; q >= 0; q--)
        if (dl_simd_supported((dl_simd)q)) printf(" %s", dl_simd_name((dl_simd)q));
    printf("\n");
    if (v == DL_SIMD_AVX512)
        printf("avx512 update: pixels in groups of %d (%s)\n", g,
               dl_simd_env("DIGITLENS_UPDATE_GROUP") ? "chosen by DIGITLENS_UPDATE_GROUP"
               : dl_simd_halves512()                 ? "this CPU runs 512-bit operations as two 256-bit halves"
                                                     : "this CPU runs 512-bit operations whole");
}

int main(int argc, char **argv)
{
    if (argc < 2) return cli_fail(EXIT_USAGE, "no command given (try 'digitlens help')");
    const char *name = argv[1];
    /* A DIGITLENS_SIMD this CPU cannot honour is refused up front, for
     * every command, rather than by whichever one first needs a kernel. */
    dl_simd simd;
    dl_err e;
    if (dl_simd_choose(&simd, &e) != DL_OK) return cli_fail(EXIT_USAGE, "%s", e.msg);
    int group;
    if (dl_simd_update_group(&group, &e) != DL_OK) return cli_fail(EXIT_USAGE, "%s", e.msg);
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "version") == 0) {
        version(simd, group);
        return EXIT_OK;
    }
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2 && (strcmp(argv[2], "--man") == 0 || strcmp(argv[2], "--commands") == 0))
            return help_generated(argv[2][2] == 'm');
        /* "help --help" and "help help" ask about help itself: the overview. */
        if (argc > 2 && strcmp(argv[2], "--help") != 0 && strcmp(argv[2], "-h") != 0 && strcmp(argv[2], "help") != 0) {
            for (const command *c = COMMANDS; c->name; c++)
                if (strcmp(c->name, argv[2]) == 0) {
                    char *sub[] = {argv[2], (char *)"--help", NULL};
                    return c->run(2, sub);
                }
            return cli_fail(EXIT_USAGE, "help: unknown command '%s'", argv[2]);
        }
        usage();
        return EXIT_OK;
    }
    for (const command *c = COMMANDS; c->name; c++)
        if (strcmp(c->name, name) == 0) return c->run(argc - 1, argv + 1);
    /* Train -> train, tset -> test. */
    const command *best = NULL;
    int bd = 3;
    for (const command *c = COMMANDS; c->name; c++) {
        int d = cli_distance(name, c->name);
        if (d < bd) bd = d, best = c;
    }
    if (best && bd <= (strlen(name) > 4 ? 2 : 1))
        return cli_fail(EXIT_USAGE, "unknown command '%s' (did you mean '%s'? see 'digitlens help')", name, best->name);
    return cli_fail(EXIT_USAGE, "unknown command '%s' (see 'digitlens help')", name);
}
