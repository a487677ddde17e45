/* test_report.c — the report's batched neuron statistics against the
 * explain module's one-neuron-at-a-time definition, and the report folder:
 * every page, image and link present, nothing external, same bytes
 * whatever the thread count. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digitlens/explain.h"
#include "digitlens/report.h"
#include "support/support.h"

TestSuite(report);

/* A trained-looking random network: weights N(0, 1) scaled per layer. */
static dl_model *random_model(int nl, const int *sizes, int rows, int cols, uint64_t seed)
{
    dl_err e;
    dl_model *m = dl_model_new(nl, sizes, rows, cols, &e);
    cr_assert_not_null(m, "%s", e.msg);
    dl_rng r;
    dl_rng_seed(&r, seed);
    dl_net_init(m->net, DL_INIT_NORMAL, &r);
    memcpy(m->init_params, m->net->params, m->net->nparams * sizeof(float));
    for (size_t i = 0; i < m->net->nparams; i++) m->net->params[i] *= 1.5f; /* "trained" */
    return m;
}

/* n examples, mostly black pixels (so the sparse pass is exercised), a few
 * saturated ones, labels 0..K-1. */
static dl_dataset *random_data(size_t n, int rows, int cols, int K, uint64_t seed)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(n, rows, cols, &e);
    cr_assert_not_null(d, "%s", e.msg);
    dl_rng r;
    dl_rng_seed(&r, seed);
    for (size_t i = 0; i < n * d->npix; i++) {
        double u = dl_rng_uniform(&r);
        d->pixels[i] = u < 0.6 ? 0 : u < 0.8 ? 255 : (uint8_t)dl_rng_below(&r, 256);
    }
    for (size_t i = 0; i < n; i++) d->labels[i] = (uint8_t)dl_rng_below(&r, (uint64_t)K);
    return d;
}

static void check_layer(const dl_net *n, const dl_dataset *d, int layer, int k, int threads)
{
    int H = n->sizes[layer];
    dl_neuron_stats *batch = calloc((size_t)H, sizeof *batch);
    dl_err e;
    cr_assert_eq(dl_neuron_stats_layer(n, d, layer, k, threads, batch, &e), DL_OK, "%s", e.msg);
    double tol = 2.0 / (double)d->n; /* ablated accuracies: two near-tied examples may differ */
    for (int j = 0; j < H; j++) {
        dl_neuron_stats one;
        cr_assert_eq(dl_neuron_stats_compute(n, d, layer, j, k, &one, &e), DL_OK, "%s", e.msg);
        const dl_neuron_stats *b = &batch[j];
        cr_assert(b->layer == layer && b->neuron == j && b->n == one.n && b->k == one.k);
        cr_assert(b->nclasses == one.nclasses && b->nout == one.nout);
        for (int t = 0; t < one.k; t++) {
            cr_assert_eq(b->top[t], one.top[t], "layer %d neuron %d top[%d]", layer, j, t);
            cr_assert_eq(b->top_act[t], one.top_act[t]);
            cr_assert_eq(b->bottom[t], one.bottom[t], "layer %d neuron %d bottom[%d]", layer, j, t);
            cr_assert_eq(b->bottom_act[t], one.bottom_act[t]);
        }
        for (int c = 0; c < one.nclasses; c++) {
            cr_assert_eq(b->class_count[c], one.class_count[c]);
            cr_assert(b->class_mean[c] == one.class_mean[c] || (isnan(b->class_mean[c]) && isnan(one.class_mean[c])),
                      "neuron %d class %d mean %g vs %g", j, c, b->class_mean[c], one.class_mean[c]);
        }
        for (int c = 0; c < one.nout; c++) cr_assert_eq(b->out_weights[c], one.out_weights[c]);
        cr_assert_eq(b->mean, one.mean, "neuron %d mean %.9g vs %.9g", j, b->mean, one.mean);
        cr_assert_eq(b->saturated, one.saturated);
        cr_assert_eq(b->saturated_high, one.saturated_high);
        cr_assert_eq(b->saturated_low, one.saturated_low);
        cr_assert_eq(b->accuracy, one.accuracy);
        cr_assert(fabs(b->ablated_accuracy - one.ablated_accuracy) <= tol, "neuron %d ablated %g vs %g", j,
                  b->ablated_accuracy, one.ablated_accuracy);
        cr_assert(fabs(b->mean_ablated_accuracy - one.mean_ablated_accuracy) <= tol, "neuron %d at mean %g vs %g", j,
                  b->mean_ablated_accuracy, one.mean_ablated_accuracy);
        dl_neuron_stats_free(&one);
    }
    for (int j = 0; j < H; j++) dl_neuron_stats_free(&batch[j]);
    free(batch);
}

Test(report, layer_stats_match_the_one_neuron_definition)
{
    int sizes[] = {16, 6, 3};
    dl_model *m = random_model(3, sizes, 4, 4, 1);
    dl_dataset *d = random_data(400, 4, 4, 3, 2);
    check_layer(m->net, d, 1, 7, 1);
    check_layer(m->net, d, 1, 7, 2);
    dl_dataset_free(d);
    dl_model_free(m);
}

Test(report, layer_stats_match_in_every_hidden_layer_of_a_deeper_network)
{
    int sizes[] = {16, 5, 4, 3};
    dl_model *m = random_model(4, sizes, 4, 4, 3);
    dl_dataset *d = random_data(300, 4, 4, 3, 4);
    check_layer(m->net, d, 1, 5, 2);
    check_layer(m->net, d, 2, 300, 1); /* k as large as the data: the whole ranking */
    dl_dataset_free(d);
    dl_model_free(m);
}

Test(report, layer_stats_refuse_what_the_explain_module_refuses)
{
    int sizes[] = {16, 6, 3};
    dl_model *m = random_model(3, sizes, 4, 4, 1);
    dl_dataset *d = random_data(10, 4, 4, 3, 2);
    dl_neuron_stats s[6];
    dl_err e;
    cr_assert_eq(dl_neuron_stats_layer(m->net, d, 2, 3, 1, s, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "layer 2 is not a hidden layer"), "%s", e.msg);
    d->labels[4] = 3;
    cr_assert_eq(dl_neuron_stats_layer(m->net, d, 1, 3, 1, s, &e), DL_EFORMAT);
    cr_assert(strstr(e.msg, "label 3 at example 4"), "%s", e.msg);
    dl_dataset_free(d);
    dl_model_free(m);
}

/* ---- the folder --------------------------------------------------------- */

static char *slurp(const char *dir, const char *name)
{
    char *p = ts_path(dir, name);
    size_t n;
    unsigned char *b = ts_read(p, &n);
    cr_assert_not_null(b, "%s is missing", p);
    char *s = malloc(n + 1);
    memcpy(s, b, n);
    s[n] = '\0';
    free(b);
    free(p);
    return s;
}

/* Every src="img/..." names a PNG in dir; returns how many there were. */
static int check_images(const char *dir, const char *html)
{
    int count = 0;
    for (const char *p = html; (p = strstr(p, "src=\"img/")); p++) {
        const char *q = strchr(p + 5, '"');
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(q - p - 5), p + 5);
        char *path = ts_path(dir, name);
        size_t n;
        unsigned char *b = ts_read(path, &n);
        cr_assert(b && n > 8 && memcmp(b, "\x89PNG", 4) == 0, "%s is missing or not a PNG", path);
        free(b);
        free(path);
        count++;
    }
    return count;
}

/* Every href="neurons.html#ID" has id="ID" in cards; returns how many. */
static int check_card_links(const char *html, const char *cards)
{
    int count = 0;
    for (const char *p = html; (p = strstr(p, "href=\"neurons.html#")); p++) {
        const char *id = p + 19, *q = strchr(id, '"');
        char want[96];
        snprintf(want, sizeof want, "id=\"%.*s\"", (int)(q - id), id);
        cr_assert(strstr(cards, want), "neurons.html has no %s", want);
        count++;
    }
    return count;
}

static void check_self_contained(const char *html)
{
    cr_assert_null(strstr(html, "<script"), "the page has a script");
    cr_assert_null(strstr(html, "src=\"http"), "the page loads something from the network");
    cr_assert_null(strstr(html, "href=\"http"), "the page links to the network");
    cr_assert_null(strstr(html, "@import"), "the page imports a style sheet");
}

static dl_report_opts small_opts(const dl_dataset *d, int threads)
{
    dl_report_opts o = dl_report_opts_defaults();
    o.title = "small <model> & co";
    o.test = d;
    o.threads = threads;
    o.misclassified = 5;
    o.top_k = 4;
    return o;
}

Test(report, writes_both_pages_and_every_image_and_card_they_name)
{
    int sizes[] = {16, 6, 3};
    dl_model *m = random_model(3, sizes, 4, 4, 5);
    dl_dataset *d = random_data(200, 4, 4, 3, 6);
    dl_err e;
    cr_assert_eq(dl_model_reserve_history(m, 3, &e), DL_OK);
    for (uint32_t i = 0; i < 3; i++) m->history[i] = (dl_epoch_stat){100 + 20 * i, 200, 0.5f / (float)(i + 1), 0, 0};
    m->nhistory = 3;
    char *dir = ts_tempdir();
    dl_report_opts o = small_opts(d, 2);
    dl_report_summary s;
    cr_assert_eq(dl_report_write(m, dir, &o, &s, &e), DL_OK, "%s", e.msg);
    char *index = slurp(dir, "index.html"), *cards = slurp(dir, "neurons.html");
    cr_assert_eq(s.cards, 6);
    cr_assert_eq(s.gallery, 5, "a random network gets more than 5 of 200 wrong");
    cr_assert_eq(s.test_n, 200);
    int imgs = check_images(dir, index) + check_images(dir, cards);
    cr_assert_eq(imgs, 5 + 2 + 1 + 6 + 1, "gallery, templates, maximising inputs, the maps, cards and the pruning curve: %d", imgs);
    cr_assert_eq(s.files, imgs + 1 + 2, "every file is an image, the maps' SVG or a page: %d files", s.files);
    /* The data seen through the hidden layer: the maps and a row of numbers per space. */
    const char *sec = strstr(index, "<section id=\"embedding\"><h2>What the hidden layer does to the data</h2>");
    cr_assert(sec, "no section on what the hidden layer does to the data");
    cr_assert(strstr(sec, "src=\"img/embed.png\"") && strstr(sec, "href=\"img/embed.svg\""));
    cr_assert(strstr(sec, "<tr><td>pixels (16 dims)</td>") && strstr(sec, "<tr><td>hidden layer 1 (6 units)</td>"));
    char *svg = ts_path(dir, "img/embed.svg");
    size_t svg_n = 0;
    unsigned char *svg_b = ts_read(svg, &svg_n);
    cr_assert(svg_b && svg_n > 200 * 4 && !memcmp(svg_b, "<?xml", 5), "img/embed.svg is not an SVG document");
    free(svg_b);
    free(svg);
    /* Every card link resolves: one per neuron in the grid, and each mistake's top votes link theirs. */
    int votes = 0;
    for (const char *p = index; (p = strstr(p, "<span class=\"votes\"")); p++) votes++;
    cr_assert_eq(votes, 5, "each of the 5 mistakes lists its top votes: %d", votes);
    cr_assert_gt(check_card_links(index, cards), 6 + 5);
    cr_assert(strstr(index, "<title>small &lt;model&gt; &amp; co</title>"), "the title is not escaped");
    cr_assert(strstr(index, "id=\"confusion\"") && strstr(index, "id=\"mistakes\""));
    cr_assert(strstr(index, "<title>epoch 3: 70.00</title>"), "the accuracy chart lacks epoch 3's point");
    check_self_contained(index);
    check_self_contained(cards);
    free(index);
    free(cards);
    free(dir);
    dl_dataset_free(d);
    dl_model_free(m);
}

Test(report, without_a_test_set_every_neuron_still_has_a_card)
{
    int sizes[] = {16, 5, 4, 3};
    dl_model *m = random_model(4, sizes, 4, 4, 7);
    char *dir = ts_tempdir();
    dl_report_opts o = small_opts(NULL, 1);
    dl_report_summary s;
    dl_err e;
    cr_assert_eq(dl_report_write(m, dir, &o, &s, &e), DL_OK, "%s", e.msg);
    char *index = slurp(dir, "index.html"), *cards = slurp(dir, "neurons.html");
    cr_assert_eq(s.cards, 9);
    cr_assert_eq(s.gallery, 0);
    cr_assert(s.accuracy < 0);
    cr_assert_eq(check_card_links(index, cards), 9);
    cr_assert_eq(check_images(dir, cards), 9);
    cr_assert_null(strstr(index, "id=\"confusion\""));
    cr_assert_null(strstr(index, "id=\"embedding\""), "maps without a test set");
    free(index);
    free(cards);
    free(dir);
    dl_model_free(m);
}

Test(report, the_same_bytes_whatever_the_thread_count)
{
    int sizes[] = {16, 6, 3};
    dl_model *m = random_model(3, sizes, 4, 4, 8);
    dl_dataset *d = random_data(150, 4, 4, 3, 9);
    char *d1 = ts_tempdir(), *d2 = ts_tempdir();
    dl_err e;
    dl_report_opts o1 = small_opts(d, 1), o2 = small_opts(d, 3);
    cr_assert_eq(dl_report_write(m, d1, &o1, NULL, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_report_write(m, d2, &o2, NULL, &e), DL_OK, "%s", e.msg);
    const char *names[] = {"index.html",           "neurons.html",  "img/templates.png", "img/maximize.png",
                           "img/neuron-l1-003.png", "img/embed.png", "img/embed.svg"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *a = ts_path(d1, names[i]), *b = ts_path(d2, names[i]);
        size_t na, nb;
        unsigned char *pa = ts_read(a, &na), *pb = ts_read(b, &nb);
        cr_assert(pa && pb && na == nb && memcmp(pa, pb, na) == 0, "%s differs between 1 and 3 threads", names[i]);
        free(pa);
        free(pb);
        free(a);
        free(b);
    }
    free(d1);
    free(d2);
    dl_dataset_free(d);
    dl_model_free(m);
}

Test(report, refuses_impossible_options_before_writing)
{
    int sizes[] = {16, 6, 3};
    dl_model *m = random_model(3, sizes, 4, 4, 1);
    char *dir = ts_tempdir(), *sub = ts_path(dir, "r");
    dl_report_opts o = small_opts(NULL, 1);
    dl_err e;
    o.misclassified = 1001;
    cr_assert_eq(dl_report_write(m, sub, &o, NULL, &e), DL_EINVAL);
    cr_assert(strstr(e.msg, "1001 misclassified images is out of range"), "%s", e.msg);
    o.misclassified = 5;
    o.top_k = 0;
    cr_assert_eq(dl_report_write(m, sub, &o, NULL, &e), DL_EINVAL);
    struct stat sb;
    cr_assert(stat(sub, &sb) != 0, "the report folder was created before the options were checked");
    free(sub);
    free(dir);
    dl_model_free(m);
}
