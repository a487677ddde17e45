/*
 * cli.h — what every subcommand shares: a table-driven option parser that
 * also prints --help (every option with its default), the one place that
 * prints errors, exit codes, and locating data files.
 *
 * Only src/cli/ prints for the user or decides exit statuses.
 */
#ifndef DIGITLENS_CLI_H
#define DIGITLENS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "digitlens/canvas.h"
#include "digitlens/err.h"
#include "digitlens/idx.h"
#include "digitlens/model.h"

/* digitlens --version, and the producer_version of the ONNX files it writes. */
#define DIGITLENS_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

typedef enum { OPT_FLAG, OPT_INT, OPT_FLOAT, OPT_STR, OPT_LIST } cli_kind;

typedef struct cli_opt {
    const char *name;     /* without the leading "--" */
    cli_kind kind;
    void *dst;            /* int*, double*, const char**, int* (flag), const char** (list) */
    double min, max;      /* accepted range for OPT_INT / OPT_FLOAT */
    const char *metavar;  /* "N", "DIR", ... */
    const char *help;     /* one line; the default is appended from *dst */
    int seen;             /* set by the parser */
} cli_opt;

typedef struct cli_cmd {
    const char *name;     /* "train" */
    const char *args;     /* positional summary, e.g. "[IMAGE...]" or "" */
    const char *summary;  /* one line */
    const char *example;  /* one or more example lines */
    int max_positional;   /* how many positional arguments are accepted */
} cli_cmd;

/* Parses argv[1..] (argv[0] is the subcommand).  Returns EXIT_OK with the
 * positional arguments in pos[0..*npos), EXIT_USAGE after printing an error,
 * or -1 after printing --help (the caller exits 0).  --help=man prints the
 * command's manual page and --help=options its options for the completion
 * script, both from the same table (manpage.c). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_opt *opts, char **pos, int *npos);
void cli_print_help(const cli_cmd *cmd, const cli_opt *opts);
/* The options in names ("model,out") that were not given: 0 when there
 * are none, else EXIT_USAGE after "CMD: --out DIR is required" (or "--a A
 * and --b B are required"), naming only the missing ones. */
int cli_require(const cli_cmd *cmd, const cli_opt *opts, const char *names);

/* For an option naming a directory to create (--out DIR): EXIT_USAGE
 * (printed) when dir does not exist yet and its name ends like a file's
 * (.png, .html, .json, ...), which would otherwise become a directory of
 * that name; else 0. */
int cli_out_dir(const cli_cmd *cmd, const char *flag, const char *dir);

/* The edit distance between a and b, ignoring case (insertions, deletions,
 * substitutions and swaps of neighbours), capped at 9: how "did you mean"
 * picks its suggestion. */
int cli_distance(const char *a, const char *b);

/* An option's help text as --help shows it, with its default and range
 * (from *dst before parsing): the manual pages print the same words. */
void cli_option_help(const cli_opt *o, char *text, size_t cap);

/* manpage.c.  The completion offers, for an option's value: names for a
 * NAME or METHOD option (its help lists them as "a, b or c"), directories
 * for DIR, .dlm files for --model and MODEL, IDX files for options named
 * *images or *labels, pictures for --baseline and positional IMAGEs. */
void cli_print_man(const cli_cmd *cmd, const cli_opt *opts);
void cli_print_options(const cli_cmd *cmd, const cli_opt *opts);
/* main.c's one-line summary of a command, or NULL. */
const char *cli_command_summary(const char *name);
/* digitlens(1): the commands (NULL-terminated lists). */
void cli_print_man_overview(const char *const *names, const char *const *summaries);

/* Whether the option writing to dst was given on the command line. */
int cli_seen(const cli_opt *opts, const void *dst);

/* Prints "digitlens: <msg>" on stderr; returns code for `return cli_fail(...)`. */
int cli_fail(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints the error's message and maps its status to an exit code. */
int cli_fail_err(const dl_err *e);

/* The end of a picture command: frees what it held (any may be NULL) and
 * returns code. */
int cli_done(int code, dl_model *m, dl_canvas *c, dl_font *font);

/* Parses "784,100,10" into out[0..*n); EXIT_USAGE (printed) naming flag on error. */
int cli_parse_int_list(const char *flag, const char *s, int *out, int max, int *n, int lo, int hi);

/* dir + "/" + the formatted name into buf, without doubling a slash that
 * dir already ends with ("weights/" + "grid.png" is "weights/grid.png"). */
void cli_path(char *buf, size_t cap, const char *dir, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* s escaped for the inside of a '...' Python string literal (\\, \' and
 * newlines), for the hints digitlens prints; `percent` doubles % for use
 * with Python's % operator. */
void cli_python_escape(const char *s, int percent);

/* An images file and its labels come as a pair: 0 when both options or
 * neither were given, else EXIT_USAGE after "CMD: --images FILE was given
 * without --labels FILE ...".  A file named on the command line is never
 * paired with a default directory's file (it would score one data set
 * against another's labels). */
int cli_data_pair(const cli_cmd *cmd, const cli_opt *opts, const char *images, const char *labels);

/* Picks a file in dir: name, else name + ".gz"; NULL-safe explicit override. */
const char *cli_data_file(const char *dir, const char *name, const char *override, char *buf,
                          size_t cap);


/* "s" unless n is 1: "%d epoch%s", n, cli_s(n). */
static inline const char *cli_s(long long n) { return n == 1 ? "" : "s"; }

/* The output of model m that stands for label cls (given as --FLAG), in
 * *out; otherwise prints "CMD: --FLAG C is not one of this model's classes
 * (0, 1, ...)" and returns EXIT_USAGE. */
int cli_class_output(const dl_model *m, const char *cmd, const char *flag, int cls, int *out);

/* Whether --layer `layer` names a hidden layer of model m (1..nlayers-2):
 * EXIT_OK, else EXIT_USAGE after "CMD: --layer L is out of range (hidden
 * layers are 1..H)", or, when m has none, "CMD: this network has no hidden
 * layer" followed by none_hint (NULL for nothing, e.g. " (use --class)"). */
int cli_hidden_layer(const dl_model *m, const char *cmd, int layer, const char *none_hint);

/* Whether --layer `layer` names a layer of m with incoming weights, hidden
 * or output (1..nlayers-1): EXIT_OK, else EXIT_USAGE after "CMD: --layer L
 * is out of range (hidden layers are 1..H, the output layer is O)", worded
 * like cli_hidden_layer's. */
int cli_weight_layer(const dl_model *m, const char *cmd, int layer);

/* Whether `neuron` (given as --FLAG) is a neuron of layer `layer` of m (a
 * layer already checked): EXIT_OK, else EXIT_USAGE after "CMD: --FLAG N is
 * out of range (layer L has neurons 0..M)"; an entry of a list names the
 * list too (list: the option's text, e.g. "CMD: --neurons '3,42': 42 is out
 * of range (...)"), NULL for a single value. */
int cli_layer_neuron(const dl_model *m, const char *cmd, const char *flag, const char *list, int layer, int neuron);

/* The number of online processors (at least 1, at most 64). */
int cli_ncores(void);

/* A --threads value capped at cli_ncores() (with a note on stderr unless
 * quiet): more threads than cores only slow the work down. */
int cli_threads(const char *cmd, int threads, int quiet);

/* Prints s as a JSON string literal (quoted, escaped). */
void cli_json_string(const char *s);

/* Prints a float array as a JSON array with %.6g. */
void cli_json_floats(const float *v, int n);

/* The font pictures are labelled with: $DIGITLENS_FONT, else DejaVu Sans,
 * else NULL (the canvas's built-in pixel font).  Free with dl_font_free. */
struct dl_font *cli_font(void);

/* The input a picture command works on, as a new malloc'd float array
 * [rows*cols] for model m (*x; the caller frees it): an image file
 * (preprocessed like MNIST) when image is non-NULL, else image `index` of
 * the IDX file `images`.  desc receives a short name. */
dl_status cli_load_input(const dl_model *m, const char *image, const char *images, int index,
                         float **x, char *desc, size_t desc_cap, dl_err *e);

/* The file-name part of a path ("dir/x.png" -> "x.png"), for captions. */
const char *cli_base_name(const char *path);

/* The output of m that stands for digit (m->classes), or -1 when m has none. */
int cli_output_of(const dl_model *m, int digit);

/* The output m's network gives input x [sizes[0]] (its largest); -1 with
 * *e when out of memory. */
int cli_predict(const dl_model *m, const float *x, dl_err *e);

/* The subcommands: each takes argv[0] = its own name, returns an exit code. */
int cmd_train(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_weights(int argc, char **argv);
int cmd_heatmap(int argc, char **argv);
int cmd_activations(int argc, char **argv);
int cmd_templates(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_neuron(int argc, char **argv);
int cmd_maximize(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_contributions(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_evolve(int argc, char **argv);
int cmd_neurons(int argc, char **argv);

#endif
