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
 * or -1 after printing --help (the caller exits 0). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_opt *opts, char **pos, int *npos);
void cli_print_help(const cli_cmd *cmd, const cli_opt *opts);

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

/* Picks a file in dir: name, else name + ".gz"; NULL-safe explicit override. */
const char *cli_data_file(const char *dir, const char *name, const char *override, char *buf,
                          size_t cap);


/* The number of online processors (at least 1). */
int cli_ncores(void);

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
