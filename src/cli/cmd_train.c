/*
 * cmd_train.c — `digitlens train`: load data, build or resume a network,
 * run SGD with progress on stderr, save the model atomically.  Ctrl-C stops
 * after the current mini-batch and saves what was trained, marked partial.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "digitlens/fileio.h"
#include "digitlens/train.h"
#include "train_snap.h"

static volatile sig_atomic_t g_stop; /* the one signal-to-loop channel; set only by the handler */

static void on_signal(int sig)
{
    g_stop = 1;
    /* A second Ctrl-C kills at once, as users expect. */
    signal(sig, SIG_DFL);
}

typedef struct progress_ctx {
    int tty, quiet, show_eta;
    const char *evalname;
    double total_seconds;
} progress_ctx;

/* "12 ms" below a second, "3.4 s" above: short epochs do not read "0.0 s". */
static const char *duration(char *buf, size_t cap, double s)
{
    if (s < 1.0) snprintf(buf, cap, "%.0f ms", 1000.0 * s);
    else snprintf(buf, cap, "%.1f s", s);
    return buf;
}

static void on_progress(const dl_progress *p, void *vctx)
{
    progress_ctx *c = vctx;
    if (c->quiet) return;
    if (p->stat) {
        c->total_seconds += p->stat->seconds;
        if (c->tty) fputs("\r\033[K", stderr);
        fprintf(stderr, "epoch %d/%d", p->epoch, p->epochs);
        if (p->stat->total)
            fprintf(stderr, "  %s %u/%u (%.2f%%)", c->evalname, p->stat->correct, p->stat->total,
                    100.0 * p->stat->correct / p->stat->total);
        if (c->show_eta) fprintf(stderr, "  eta %g", (double)p->stat->eta);
        /* The mean cost of the epoch's mini-batches as it trained (on the
         * training images, not the scored ones); short epochs in ms. */
        char t[32];
        fprintf(stderr, "  training cost %.4f  %s\n", p->stat->cost, duration(t, sizeof t, p->stat->seconds));
        return;
    }
    if (!c->tty) return;
    double rate = p->seconds > 0 ? p->done / p->seconds : 0.0;
    double eta = rate > 0 ? (p->total - p->done) / rate : 0.0;
    int width = 30, fill = (int)(width * (double)p->done / (double)p->total);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %3.0f%%  %.0f img/s  ETA %.1f s", p->epoch, p->epochs,
            bar, 100.0 * p->done / p->total, rate, eta);
    fflush(stderr);
}

/* "784,100,10" from a network's sizes. */
static void format_sizes(const dl_net *n, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int l = 0; l < n->nlayers && k < cap; l++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%d", l ? "," : "", n->sizes[l]);
}

static const cli_opt *find_opt(const cli_opt *opts, const char *name)
{
    for (const cli_opt *o = opts; o->name; o++)
        if (strcmp(o->name, name) == 0) return o;
    return NULL;
}

/* Chapter 3's settings as the command line asks for them. */
typedef struct ch3_opts {
    dl_act hidden, output;
    double momentum, dropout;
    int early_stop, halve_after;
} ch3_opts;

/* --resume continues with the model's settings so that the run ends as an
 * uninterrupted one would.  A flag given with another value would be
 * ignored: refuse it instead, saying what the model has.  Returns 0 or the
 * exit code (printed). */

static int resume_conflicts(const cli_opt *opts, const dl_model *m, const char *model, const int *sizes,
                            int nl, dl_cost cost, dl_init init, double eta, double lambda, int batch,
                            int seed, const ch3_opts *x)
{
    char have[160] = "", want[160] = "";
    const char *flag = NULL;
    const dl_net *n = m->net;
    if (find_opt(opts, "layers")->seen) {
        int same = nl == n->nlayers;
        for (int l = 0; same && l < nl; l++) same = sizes[l] == n->sizes[l];
        if (!same) {
            flag = "layers";
            format_sizes(n, have, sizeof have);
            for (int l = 0, k = 0; l < nl && k < (int)sizeof want; l++)
                k += snprintf(want + k, sizeof want - (size_t)k, "%s%d", l ? "," : "", sizes[l]);
        }
    }
    if (!flag && find_opt(opts, "eta")->seen && (float)eta != m->eta) {
        flag = "eta";
        snprintf(have, sizeof have, "%g", (double)m->eta);
        snprintf(want, sizeof want, "%g", eta);
    }
    if (!flag && find_opt(opts, "lambda")->seen && (float)lambda != m->lambda) {
        flag = "lambda";
        snprintf(have, sizeof have, "%g", (double)m->lambda);
        snprintf(want, sizeof want, "%g", lambda);
    }
    if (!flag && find_opt(opts, "batch")->seen && (uint32_t)batch != m->batch) {
        flag = "batch";
        snprintf(have, sizeof have, "%u", m->batch);
        snprintf(want, sizeof want, "%d", batch);
    }
    if (!flag && find_opt(opts, "cost")->seen && cost != m->cost) {
        flag = "cost";
        snprintf(have, sizeof have, "%s", dl_cost_name(m->cost));
        snprintf(want, sizeof want, "%s", dl_cost_name(cost));
    }
    if (!flag && find_opt(opts, "init")->seen && init != m->init) {
        flag = "init";
        snprintf(have, sizeof have, "%s", dl_init_name(m->init));
        snprintf(want, sizeof want, "%s", dl_init_name(init));
    }
    if (!flag && find_opt(opts, "seed")->seen && (uint64_t)seed != m->seed) {
        flag = "seed";
        snprintf(have, sizeof have, "%llu", (unsigned long long)m->seed);
        snprintf(want, sizeof want, "%d", seed);
    }
    if (!flag && find_opt(opts, "activation")->seen && n->nlayers > 2 && x->hidden != n->act[0]) {
        flag = "activation";
        snprintf(have, sizeof have, "%s", dl_act_name(n->act[0]));
        snprintf(want, sizeof want, "%s", dl_act_name(x->hidden));
    }
    if (!flag && find_opt(opts, "output")->seen && x->output != n->act[n->nlayers - 2]) {
        flag = "output";
        snprintf(have, sizeof have, "%s", dl_act_name(n->act[n->nlayers - 2]));
        snprintf(want, sizeof want, "%s", dl_act_name(x->output));
    }
    if (!flag && find_opt(opts, "momentum")->seen && (float)x->momentum != m->momentum) {
        flag = "momentum";
        snprintf(have, sizeof have, "%g", (double)m->momentum);
        snprintf(want, sizeof want, "%g", x->momentum);
    }
    if (!flag && find_opt(opts, "dropout")->seen && (float)x->dropout != m->dropout) {
        flag = "dropout";
        snprintf(have, sizeof have, "%g", (double)m->dropout);
        snprintf(want, sizeof want, "%g", x->dropout);
    }
    if (!flag && find_opt(opts, "early-stop")->seen && (uint32_t)x->early_stop != m->early_stop) {
        flag = "early-stop";
        snprintf(have, sizeof have, "%u", m->early_stop);
        snprintf(want, sizeof want, "%d", x->early_stop);
    }
    if (!flag && find_opt(opts, "eta-schedule")->seen && (uint32_t)x->halve_after != m->halve_after) {
        flag = "eta-schedule";
        if (m->halve_after) snprintf(have, sizeof have, "halve:%u", m->halve_after);
        else snprintf(have, sizeof have, "constant eta");
        snprintf(want, sizeof want, "halve:%d", x->halve_after);
    }
    if (!flag) return 0;
    return cli_fail(EXIT_USAGE, "train: --%s %s differs from %s's %s (a resumed run keeps the model's "
                    "settings, so it ends as the uninterrupted run would; drop --%s, or train a new model)",
                    flag, want, model, have, flag);
}

/* When a data set's labels cannot be the classes of `outputs` outputs
 * because the data is wrong rather than --layers: labels all alike, or a
 * value beyond the outputs among labels with gaps (0..9 and a 255 is a bad
 * file; 0..12 all present is a network with too few outputs, which the
 * caller reports as a usage error).  Prints which file, item and value and
 * returns EXIT_DATA, or returns 0. */
static int label_problem(const dl_dataset *d, const char *file, int outputs)
{
    size_t count[256] = {0};
    for (size_t i = 0; i < d->n; i++) count[d->labels[i]]++;
    int distinct = 0, max = 0;
    for (int v = 0; v < 256; v++)
        if (count[v]) distinct++, max = v;
    if (d->n > 0 && distinct == 1)
        return cli_fail(EXIT_DATA, "%s: all %zu label%s are %d: a classifier needs at least two classes (with "
                        "--digits, two or more of them)", file, d->n, cli_s((long long)d->n), max);
    if (distinct == max + 1) return 0; /* 0..max, every one present */
    for (size_t i = 0; i < d->n; i++)
        if (d->labels[i] >= outputs)
            return cli_fail(EXIT_DATA, "%s: item %zu has label %d, beyond the %d classes (0..%d) of the network's "
                            "outputs (the labels leave gaps, so the file looks damaged; --digits picks classes)",
                            file, i, d->labels[i], outputs, outputs - 1);
    return 0;
}

/* "relu hidden, softmax output, " or "" for the book's all-sigmoid network. */
static const char *describe_acts(const dl_net *n, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (dl_net_all_sigmoid(n)) return buf;
    if (n->nlayers > 2)
        snprintf(buf, cap, "%s hidden, %s output, ", dl_act_name(n->act[0]), dl_act_name(n->act[n->nlayers - 2]));
    else
        snprintf(buf, cap, "%s output, ", dl_act_name(n->act[0]));
    return buf;
}

/* ", momentum 0.9, dropout 0.5, early stop 10, eta halve:10" for what is on. */
static void describe_extras(const dl_model *m, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    if (m->momentum > 0) k += (size_t)snprintf(buf + k, cap - k, ", momentum %g", (double)m->momentum);
    if (m->dropout > 0 && k < cap) k += (size_t)snprintf(buf + k, cap - k, ", dropout %g", (double)m->dropout);
    if (m->early_stop && k < cap) k += (size_t)snprintf(buf + k, cap - k, ", early stop %u", m->early_stop);
    if (m->halve_after && k < cap) snprintf(buf + k, cap - k, ", eta halve:%u", m->halve_after);
}

/* Options that mean nothing together are usage errors that say why. */
static int check_architecture(int nl, dl_act hidden, dl_act output, dl_cost cost, double dropout, const cli_opt *opts)
{
    if (nl == 2 && (find_opt(opts, "activation")->seen || dropout > 0))
        return cli_fail(EXIT_USAGE, "train: --%s applies to hidden layers, and --layers has none",
                        dropout > 0 ? "dropout" : "activation");
    int sizes[DL_MAX_LAYERS] = {1, 1, 1, 1, 1, 1, 1, 1};
    dl_net *n = dl_net_new(nl, sizes, NULL);
    if (!n) return cli_fail(EXIT_DATA, "out of memory");
    for (int l = 0; l + 2 < nl; l++) n->act[l] = hidden;
    n->act[nl - 2] = output;
    dl_err e;
    int code = EXIT_OK;
    if (dl_net_check_cost(n, cost, &e) != DL_OK)
        code = cli_fail(EXIT_USAGE, "train: --cost %s with --output %s: %s", dl_cost_name(cost), dl_act_name(output),
                        e.msg);
    dl_net_free(n);
    return code;
}

/* Everything train needs from the data options. */
typedef struct data_opts {
    const char *dir, *train_images, *train_labels, *test_images, *test_labels;
} data_opts;

int cmd_train(int argc, char **argv)
{
    data_opts d = {"data/mnist", NULL, NULL, NULL, NULL};
    const char *layers_s = "784,100,10", *digits_s = NULL, *cost_s = NULL, *init_s = "scaled";
    const char *out = "mnist.dlm", *resume = NULL, *kernel_s = "fast", *snap_s = NULL;
    const char *act_s = "sigmoid", *output_s = "sigmoid", *schedule_s = NULL;
    int epochs = 30, batch = 10, seed = 1, limit = 0, validation = 0, quiet = 0, threads = cli_ncores();
    int checkpoint = 0, early_stop = 0, snap_eval = TRAIN_SNAP_EVAL;
    double eta = 3.0, lambda = 0.0, momentum = 0.0, dropout = 0.0;
    cli_opt opts[] = {
        {"data", OPT_STR, &d.dir, 0, 0, "DIR", "directory with the four standard MNIST files (.gz or raw)", 0},
        {"train-images", OPT_STR, &d.train_images, 0, 0, "FILE", "training images (default: train-images-idx3-ubyte[.gz] in --data)", 0},
        {"train-labels", OPT_STR, &d.train_labels, 0, 0, "FILE", "training labels (default: train-labels-idx1-ubyte[.gz] in --data)", 0},
        {"test-images", OPT_STR, &d.test_images, 0, 0, "FILE", "test images (default: t10k-images-idx3-ubyte[.gz] in --data)", 0},
        {"test-labels", OPT_STR, &d.test_labels, 0, 0, "FILE", "test labels (default: t10k-labels-idx1-ubyte[.gz] in --data)", 0},
        {"layers", OPT_LIST, &layers_s, 0, 0, "N,N,...", "layer sizes, input first, output last", 0},
        {"epochs", OPT_INT, &epochs, 1, 100000, "N", "epochs to train", 0},
        {"batch", OPT_INT, &batch, 1, 100000, "N", "mini-batch size", 0},
        {"eta", OPT_FLOAT, &eta, 1e-9, 1e6, "X", "learning rate", 0},
        {"lambda", OPT_FLOAT, &lambda, 0, 1e6, "X", "L2 regularisation strength (chapter 3)", 0},
        {"activation", OPT_STR, &act_s, 0, 0, "NAME", "the hidden layers' activation: sigmoid, tanh or relu", 0},
        {"output", OPT_STR, &output_s, 0, 0, "NAME", "the output layer: sigmoid, or softmax (outputs that sum to 1)", 0},
        {"cost", OPT_STR, &cost_s, 0, 0, "NAME", "quadratic, cross-entropy (sigmoid outputs) or log-likelihood "
         "(softmax) (default: quadratic; log-likelihood with --output softmax)", 0},
        {"momentum", OPT_FLOAT, &momentum, 0, 0.999, "MU", "classical momentum: v = MU*v - eta*grad, w = w + v "
         "(default: 0, plain SGD)", 0},
        {"dropout", OPT_FLOAT, &dropout, 0, 0.99, "P", "drop each hidden unit with probability P while training "
         "(inverted dropout) (default: 0, none)", 0},
        {"early-stop", OPT_INT, &early_stop, 0, 1000000, "N", "stop when the evaluation accuracy has not improved "
         "for N epochs and keep the best epoch's parameters (default: 0, never)", 0},
        {"eta-schedule", OPT_STR, &schedule_s, 0, 0, "halve:N", "halve eta after N epochs without improvement and "
         "stop at eta/128, as network2.py (default: eta stays constant)", 0},
        {"init", OPT_STR, &init_s, 0, 0, "NAME", "scaled (weights N(0,1/n_in)) or normal (network.py: N(0,1))", 0},
        {"seed", OPT_INT, &seed, 0, 2147483647, "N", "random seed (initial weights, shuffles)", 0},
        {"digits", OPT_LIST, &digits_s, 0, 0, "D,D,...", "train on these classes only, as outputs 0..k-1 (default: every class in the data)", 0},
        {"limit", OPT_INT, &limit, 0, 10000000, "N", "use only the first N training images (0 = all)", 0},
        {"validation", OPT_INT, &validation, 0, 10000000, "N", "hold out the last N training images and score on them each epoch", 0},
        {"threads", OPT_INT, &threads, 1, 64, "N", "worker threads (default: the number of cores here)", 0},
        {"kernel", OPT_STR, &kernel_s, 0, 0, "NAME", "fast or reference (plain loops)", 0},
        {"checkpoint-every", OPT_INT, &checkpoint, 0, 100000, "N", "save the model every N epochs (0 = only at the end)", 0},
        {"snapshot-every", OPT_STR, &snap_s, 0, 0, "K", "save the parameters every K mini-batches (Ke: every K epochs) "
         "to MODEL.snapshots, for 'digitlens evolve' (default: no snapshots; --resume continues a file that is there)", 0},
        {"snapshot-eval", OPT_INT, &snap_eval, 0, 100000, "N", "score each snapshot on the first N test (or validation) images", 0},
        {"resume", OPT_STR, &resume, 0, 0, "MODEL", "continue training a saved model to --epochs (default: start afresh)", 0},
        {"out", OPT_STR, &out, 0, 0, "FILE", "where to write the model", 0},
        {"quiet", OPT_FLAG, &quiet, 0, 0, NULL, "print nothing but errors", 0},
        {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
    };
    static const cli_cmd cmd = {
        "train", "", "Train a fully connected network with mini-batch SGD and backprop (Nielsen, ch. 1 and 3:\n"
        "sigmoid layers, or tanh/ReLU hidden layers under a softmax output; momentum, dropout,\n"
        "early stopping, an eta schedule) and save it as a .dlm model.  Early stopping and the\n"
        "schedule judge epochs by the evaluation set: --validation's images, else the test set.",
        "  digitlens train --data data/mnist --layers 784,100,10 --epochs 30 --batch 10 --eta 3.0 --out mnist.dlm\n"
        "  digitlens train --activation relu --output softmax --eta 0.1 --momentum 0.9 --validation 1000 \\\n"
        "      --early-stop 5 --out relu.dlm\n"
        "  digitlens train --layers 784,1,2 --digits 0,1 --out zero-one.dlm\n"
        "  digitlens train --epochs 5 --snapshot-every 100 --out mnist.dlm   (then: digitlens evolve --model mnist.dlm --out films/)", 0};
    char *pos[1];
    int npos = 0, rc = cli_parse(&cmd, argc, argv, opts, pos, &npos);
    if (rc) return rc < 0 ? EXIT_OK : rc;
    threads = cli_threads("train", threads, quiet);
    if ((rc = cli_data_pair(&cmd, opts, "train-images", "train-labels")) ||
        (rc = cli_data_pair(&cmd, opts, "test-images", "test-labels")))
        return rc;

    dl_act hidden_act = DL_ACT_SIGMOID, output_act = DL_ACT_SIGMOID;
    if (dl_act_parse(act_s, &hidden_act) || hidden_act == DL_ACT_SOFTMAX)
        return cli_fail(EXIT_USAGE, "train: --activation '%s' is not known (sigmoid, tanh, relu%s)", act_s,
                        hidden_act == DL_ACT_SOFTMAX ? "; softmax is for the output: --output softmax" : "");
    if (dl_act_parse(output_s, &output_act) || (output_act != DL_ACT_SIGMOID && output_act != DL_ACT_SOFTMAX))
        return cli_fail(EXIT_USAGE, "train: --output '%s' is not known (sigmoid, softmax)", output_s);
    dl_cost cost = output_act == DL_ACT_SOFTMAX ? DL_COST_LOG_LIKELIHOOD : DL_COST_QUADRATIC;
    if (cost_s && dl_cost_parse(cost_s, &cost))
        return cli_fail(EXIT_USAGE, "train: --cost '%s' is not known (quadratic, cross-entropy, log-likelihood)", cost_s);
    int halve_after = 0;
    if (schedule_s) {
        char *end = NULL;
        long n = strncmp(schedule_s, "halve:", 6) == 0 ? strtol(schedule_s + 6, &end, 10) : 0;
        if (!end || end == schedule_s + 6 || *end || n < 1 || n > 1000000)
            return cli_fail(EXIT_USAGE, "train: --eta-schedule '%s' is not known (halve:N, N = 1..1000000 epochs)",
                            schedule_s);
        halve_after = (int)n;
    }
    dl_init init;
    if (strcmp(init_s, "scaled") == 0) init = DL_INIT_SCALED;
    else if (strcmp(init_s, "normal") == 0) init = DL_INIT_NORMAL;
    else return cli_fail(EXIT_USAGE, "train: --init '%s' is not known (scaled, normal)", init_s);
    dl_kernel kernel;
    if (strcmp(kernel_s, "fast") == 0) kernel = DL_KERNEL_FAST;
    else if (strcmp(kernel_s, "reference") == 0) kernel = DL_KERNEL_REFERENCE;
    else return cli_fail(EXIT_USAGE, "train: --kernel '%s' is not known (fast, reference)", kernel_s);
    int sizes[DL_MAX_LAYERS], nl = 0;
    if (cli_parse_int_list("layers", layers_s, sizes, DL_MAX_LAYERS, &nl, 1, DL_MAX_WIDTH)) return EXIT_USAGE;
    if (nl < 2) return cli_fail(EXIT_USAGE, "train: --layers needs at least an input and an output size");
    dl_snap_unit snap_unit = DL_SNAP_BATCHES;
    uint32_t snap_every = 0;
    if (snap_s && train_snap_parse(snap_s, &snap_unit, &snap_every)) return EXIT_USAGE;
    if (!resume && (rc = check_architecture(nl, hidden_act, output_act, cost, dropout, opts)) != EXIT_OK) return rc;
    int digits[256], nd = 0;
    if (digits_s) {
        if (cli_parse_int_list("digits", digits_s, digits, 256, &nd, 0, 255)) return EXIT_USAGE;
        for (int i = 0; i < nd; i++)
            for (int j = 0; j < i; j++)
                if (digits[i] == digits[j])
                    return cli_fail(EXIT_USAGE, "train: --digits lists %d twice", digits[i]);
        if (nd < 2) return cli_fail(EXIT_USAGE, "train: --digits needs at least two classes");
    }

    /* --- data --- */
    char b1[4096], b2[4096], b3[4096], b4[4096];
    const char *tri = cli_data_file(d.dir, "train-images-idx3-ubyte", d.train_images, b1, sizeof b1);
    const char *trl = cli_data_file(d.dir, "train-labels-idx1-ubyte", d.train_labels, b2, sizeof b2);
    const char *tei = cli_data_file(d.dir, "t10k-images-idx3-ubyte", d.test_images, b3, sizeof b3);
    const char *tel = cli_data_file(d.dir, "t10k-labels-idx1-ubyte", d.test_labels, b4, sizeof b4);
    dl_err e = {0};
    dl_dataset *train = NULL, *eval = NULL;
    dl_model *m = NULL;
    train_snap snap;
    memset(&snap, 0, sizeof snap);
    int code = EXIT_OK, snapping = 0;
    if (dl_idx_load(tri, trl, &train, &e) != DL_OK) goto fail;
    if (digits_s) {
        dl_dataset *s = dl_dataset_select(train, digits, nd, &e);
        if (!s) goto fail;
        dl_dataset_free(train);
        train = s;
    }
    if (limit > 0 && (size_t)limit < train->n) dl_dataset_truncate(train, (size_t)limit);
    const char *evalname = "test";
    int own_train = d.train_images != NULL;
    /* Why there is no test set, said with the start-up line (not before a
     * refusal of the data, which should be the only line then). */
    int no_test = 0;
    if (validation > 0) {
        if ((size_t)validation >= train->n) {
            code = cli_fail(EXIT_USAGE, "train: --validation %d leaves no training images (%zu in all)",
                            validation, train->n);
            goto done;
        }
        /* Split in place: only the held-out part is copied. */
        if (!(eval = dl_dataset_split(train, train->n - (size_t)validation, &e))) goto fail;
        evalname = "validation";
    } else if (!d.test_images && own_train && !find_opt(opts, "data")->seen) {
        /* Training files named on the command line do not borrow the
         * default directory's test set: it belongs to other data. */
        no_test = 1;
    } else if (d.test_images || (dl_file_exists(tei) && dl_file_exists(tel))) {
        if (dl_idx_load(tei, tel, &eval, &e) != DL_OK) goto fail;
        if (digits_s) {
            dl_dataset *s = dl_dataset_select(eval, digits, nd, &e);
            if (!s) goto fail;
            dl_dataset_free(eval);
            eval = s;
        }
    } else {
        no_test = 2;
    }
    if (train->n == 0) {
        code = cli_fail(EXIT_DATA, "%s: no training images%s", tri, digits_s ? " of the chosen --digits" : "");
        goto done;
    }
    if ((early_stop || halve_after) && !eval) {
        code = cli_fail(EXIT_USAGE, "train: --%s judges each epoch by its accuracy, and there is no evaluation set "
                        "(hold out images with --validation N, or give a test set)",
                        early_stop ? "early-stop" : "eta-schedule");
        goto done;
    }
    if ((early_stop || halve_after) && !resume && !quiet && validation == 0)
        fprintf(stderr, "digitlens: note: --%s judges epochs by the test set, which then no longer measures the "
                "model unseen; --validation N holds out training images for it instead\n",
                early_stop ? "early-stop" : "eta-schedule");
    int nclasses = digits_s ? nd : dl_dataset_nclasses(train);
    if (eval && !digits_s && dl_dataset_nclasses(eval) > nclasses) nclasses = dl_dataset_nclasses(eval);

    /* --- model: new or resumed --- */
    if (resume) {
        if (dl_model_load(resume, &m, &e) != DL_OK) goto fail;
        if (m->data_fingerprint != dl_dataset_fingerprint(train)) {
            code = cli_fail(EXIT_DATA, "%s: was trained on different data (fingerprint %08x, these "
                            "options give %08x; use the same --data/--digits/--limit/--validation)",
                            resume, m->data_fingerprint, dl_dataset_fingerprint(train));
            goto done;
        }
        if (m->ntrain != train->n || (m->state.pos > 0 && m->state.n != train->n)) {
            code = cli_fail(EXIT_DATA, "%s: was trained on %u images, these options give %zu", resume,
                            m->ntrain, train->n);
            goto done;
        }
        if (m->state.stopped) {
            code = cli_fail(EXIT_USAGE, "train: %s has finished: %s after epoch %u (nothing to resume)", resume,
                            m->state.stopped == DL_STOP_EARLY ? "early stopping ended it" : "the eta schedule ended it",
                            m->state.epoch);
            goto done;
        }
        if (m->batch == 0) {
            code = cli_fail(EXIT_DATA, "%s: has no training settings to resume (an imported model; train "
                            "a new one instead)", resume);
            goto done;
        }
        /* Hyper-parameters come from the model so the run continues
         * identically; a flag asking for something else is refused rather
         * than silently ignored. */
        ch3_opts x = {hidden_act, output_act, momentum, dropout, early_stop, halve_after};
        if ((code = resume_conflicts(opts, m, resume, sizes, nl, cost, init, eta, lambda, batch, seed, &x)))
            goto done;
        cost = m->cost;
        eta = m->eta;
        lambda = m->lambda;
        batch = (int)m->batch;
        momentum = m->momentum;
        dropout = m->dropout;
        early_stop = (int)m->early_stop;
        halve_after = (int)m->halve_after;
        if (m->state.pos == 0 && dl_train_state_set_n(&m->state, (uint32_t)train->n, &e) != DL_OK) goto fail;
        if ((int)m->state.epoch >= epochs) {
            code = cli_fail(EXIT_USAGE, "train: %s has already trained %u epoch%s; ask for more with --epochs",
                            resume, m->state.epoch, cli_s(m->state.epoch));
            goto done;
        }
    } else {
        if ((size_t)sizes[0] != train->npix) {
            code = cli_fail(EXIT_USAGE, "train: --layers starts with %d inputs but the images are %dx%d = %zu pixels",
                            sizes[0], train->rows, train->cols, train->npix);
            goto done;
        }
        if (!digits_s && ((code = label_problem(train, trl, sizes[nl - 1])) ||
                          (eval && validation == 0 && (code = label_problem(eval, tel, sizes[nl - 1])))))
            goto done;
        if (sizes[nl - 1] != nclasses) {
            code = cli_fail(EXIT_USAGE, "train: --layers ends with %d outputs but the data has %d %s%s",
                            sizes[nl - 1], nclasses, nclasses == 1 ? "class" : "classes",
                            digits_s ? " (from --digits)" : " (use --digits to pick some)");
            goto done;
        }
        m = dl_model_new(nl, sizes, train->rows, train->cols, &e);
        if (!m) goto fail;
        if (dl_model_start(m, init, (uint64_t)seed, train, &e) != DL_OK) goto fail;
        m->cost = cost;
        m->eta = (float)eta;
        m->lambda = (float)lambda;
        m->batch = (uint32_t)batch;
        m->momentum = (float)momentum;
        m->dropout = (float)dropout;
        m->early_stop = (uint32_t)early_stop;
        m->halve_after = (uint32_t)halve_after;
        for (int l = 0; l + 2 < nl; l++) m->net->act[l] = hidden_act;
        m->net->act[nl - 2] = output_act;
        if (digits_s) {
            for (int k = 0; k < nd; k++) m->classes[k] = (uint8_t)digits[k];
            m->flags |= DL_MODEL_SUBSET;
        }
    }
    m->epochs_planned = (uint32_t)epochs;
    if (dl_model_reserve_history(m, (uint32_t)epochs, &e) != DL_OK) goto fail;

    /* Chapter 3's L2 multiplies each weight by 1 - eta*lambda/n every
     * mini-batch: at or below 0 it flips or zeroes them all. */
    double decay = 1.0 - (double)(float)eta * (double)(float)lambda / (double)train->n;
    if (!(decay > 0.0) || !(1.0f - (float)eta * (float)lambda / (float)train->n > 0.0f)) {
        code = cli_fail(EXIT_USAGE, "train: --eta %g with --lambda %g on %zu images gives an L2 decay factor 1 - "
                        "eta*lambda/n = %.3g, which must be above 0 (use a smaller --lambda or --eta)",
                        eta, lambda, train->n, decay);
        goto done;
    }

    /* --- snapshots: a new file, or the one there continued --- */
    code = train_snap_open(&snap, m, out, resume != NULL, snap_unit, snap_every, epochs, eval, (size_t)snap_eval, threads,
                           quiet, &snapping);
    if (code != EXIT_OK) goto done;

    /* --- train, in checkpoint-sized legs --- */
    progress_ctx pc = {isatty(STDERR_FILENO), quiet, halve_after > 0, evalname, 0.0};
    dl_train_opts to = {.epochs = epochs, .batch = batch, .eta = (float)eta, .lambda = (float)lambda, .cost = cost,
                        .threads = threads, .kernel = kernel, .stop = &g_stop, .momentum = (float)momentum,
                        .dropout = (float)dropout, .early_stop = early_stop, .halve_after = halve_after};
    dl_step_hook hook = {train_snap_step, &snap, snapping ? dl_snapshot_grid(&snap.h) : 1, &snap.seconds};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!quiet) {
        if (no_test == 1)
            fprintf(stderr, "digitlens: note: no test set (--train-images names the training data; give "
                            "--test-images and --test-labels to score each epoch)\n");
        else if (no_test == 2)
            fprintf(stderr, "digitlens: note: no test set in %s; training without per-epoch scores\n", d.dir);
        /* The model's own settings: on --resume they are what runs. */
        char lay[DL_MAX_LAYERS * 8];
        format_sizes(m->net, lay, sizeof lay);
        char l2[48] = "";
        if (lambda > 0) snprintf(l2, sizeof l2, ", L2 lambda %g", lambda);
        char extra[256], acts[96];
        describe_extras(m, extra, sizeof extra);
        fprintf(stderr, "%s %s on %zu image%s (%s%s, %s init, batch %d, eta %g%s%s), %d epoch%s\n",
                resume ? "resuming" : "training", lay, train->n, cli_s((long long)train->n),
                describe_acts(m->net, acts, sizeof acts), dl_cost_name(cost), dl_init_name(m->init), batch, eta, l2,
                extra, epochs, cli_s(epochs));
        if (resume) fprintf(stderr, "  (from %s: %u epoch%s done%s)\n", resume, m->state.epoch,
                            cli_s(m->state.epoch), m->state.pos ? ", mid-epoch" : "");
    }
    dl_status st = DL_OK;
    while ((int)m->state.epoch < epochs && !m->state.stopped) {
        to.epochs = checkpoint > 0 ? (int)m->state.epoch + checkpoint : epochs;
        if (to.epochs > epochs) to.epochs = epochs;
        st = dl_train_hooked(m->net, train, eval, &to, snapping ? &hook : NULL, &m->state, m->history, on_progress, &pc,
                             &e);
        m->nhistory = m->state.epoch;
        if (st != DL_OK) break;
        if (checkpoint > 0 && (int)m->state.epoch < epochs && !m->state.stopped) {
            if (train_snap_sync(&snap, &e) != DL_OK || dl_model_save(m, out, &e) != DL_OK) goto fail;
            if (!quiet) fprintf(stderr, "checkpoint: %s (epoch %u)\n", out, m->state.epoch);
        }
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (st == DL_EINTR || (st != DL_OK && snap.failed)) {
        if (pc.tty && !quiet) fputs("\r\033[K", stderr);
        m->flags |= DL_MODEL_PARTIAL;
        dl_err e2;
        if (train_snap_sync(&snap, &e2) != DL_OK || dl_model_save(m, out, &e2) != DL_OK) {
            code = cli_fail_err(&e2);
            goto done;
        }
        if (st != DL_EINTR) {
            /* The snapshots could not grow (a full disk): keep what was trained. */
            code = cli_fail(EXIT_DATA, "%s; saved the partial model to %s (make room and continue with --resume %s)",
                            e.msg, out, out);
            goto done;
        }
        fprintf(stderr, "digitlens: interrupted: %s; saved the partial model to %s "
                "(continue with --resume %s)\n", e.msg, out, out);
        code = EXIT_INTERRUPTED;
        goto done;
    }
    if (st == DL_ENUMERIC) {
        /* dl_train went back to the last finite parameters: keep those. */
        if (pc.tty && !quiet) fputs("\r\033[K", stderr);
        m->flags |= DL_MODEL_PARTIAL;
        m->nhistory = m->state.epoch;
        dl_err e2;
        if (dl_model_save(m, out, &e2) != DL_OK) {
            code = cli_fail_err(&e2);
            goto done;
        }
        if (m->state.epoch > 0)
            code = cli_fail(EXIT_DATA, "%s; saved the model as it was after epoch %u to %s", e.msg, m->state.epoch, out);
        else
            code = cli_fail(EXIT_DATA, "%s; saved the untrained model to %s", e.msg, out);
        goto done;
    }
    if (st != DL_OK) goto fail;
    m->flags &= ~DL_MODEL_PARTIAL;
    if (snapping && train_snap_finish(&snap, m, &e) != DL_OK) {
        /* The model is whole; only its final snapshot is missing. */
        dl_err e2;
        if (dl_model_save(m, out, &e2) != DL_OK) e = e2;
        code = cli_fail(EXIT_DATA, "%s (the model %s was saved)", e.msg, out);
        goto done;
    }
    if (dl_model_save(m, out, &e) != DL_OK) goto fail;
    if (!quiet) {
        const dl_train_state *s = &m->state;
        if (s->stopped == DL_STOP_EARLY)
            fprintf(stderr, "stopped early after epoch %u: no better %s accuracy for %d epochs\n", s->epoch, evalname,
                    early_stop);
        else if (s->stopped == DL_STOP_SCHEDULE)
            fprintf(stderr, "stopped after epoch %u: the schedule halved eta to %g, 1/128 of %g\n", s->epoch,
                    (double)s->eta, eta);
        double acc = dl_model_last_accuracy(m);
        char which[64] = "", t[32];
        if (s->kept_is_last && s->best_epoch != s->epoch)
            snprintf(which, sizeof which, "epoch %u's parameters, the best: ", s->best_epoch);
        if (acc >= 0)
            fprintf(stderr, "saved %s (%s%s accuracy %.2f%%, %s training)\n", out, which, evalname, 100 * acc,
                    duration(t, sizeof t, pc.total_seconds));
        else
            fprintf(stderr, "saved %s (%s training)\n", out, duration(t, sizeof t, pc.total_seconds));
        if (snapping) train_snap_report(&snap, pc.total_seconds);
    }
    goto done;
fail:
    code = cli_fail_err(&e);
done:
    train_snap_close(&snap);
    dl_model_free(m);
    dl_dataset_free(train);
    dl_dataset_free(eval);
    return code;
}
