/* test_model.c — .dlm save/load: exact round trip, damage detection. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "digitlens/model.h"
#include "digitlens/train.h"
#include "support/support.h"

TestSuite(model);

static dl_model *sample_model(void)
{
    int sizes[] = {6, 4, 3};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 2, 3, &e);
    cr_assert_not_null(m, "%s", e.msg);
    dl_dataset *d = dl_dataset_new(5, 2, 3, &e);
    for (int i = 0; i < 30; i++) d->pixels[i] = (uint8_t)(i * 9);
    cr_assert_eq(dl_model_start(m, DL_INIT_NORMAL, 99, d, &e), DL_OK);
    dl_dataset_free(d);
    for (size_t i = 0; i < m->net->nparams; i++) m->net->params[i] += 0.25f * (float)i;
    m->cost = DL_COST_CROSS_ENTROPY;
    m->eta = 0.5f;
    m->lambda = 5.0f;
    m->batch = 7;
    m->epochs_planned = 4;
    m->classes[0] = 3;
    m->classes[1] = 8;
    m->classes[2] = 9;
    dl_model_reserve_history(m, 4, &e);
    m->nhistory = 2;
    m->history[0] = (dl_epoch_stat){10, 20, 0.5f, 0, 0.5f};
    m->history[1] = (dl_epoch_stat){15, 20, 0.25f, 0, 0.5f};
    m->state.epoch = 2;
    m->state.pos = 3;
    uint32_t order[5] = {4, 0, 3, 1, 2};
    memcpy(m->state.order, order, sizeof order);
    return m;
}

Test(model, save_then_load_round_trips_every_field_exactly)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.dlm");
    dl_model *m = sample_model();
    dl_err e;
    cr_assert_eq(dl_model_save(m, path, &e), DL_OK, "%s", e.msg);
    dl_model *l = NULL;
    cr_assert_eq(dl_model_load(path, &l, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(l->net->nlayers, 3);
    cr_assert_eq(l->net->sizes[1], 4);
    cr_assert_eq(l->rows, 2);
    cr_assert_eq(l->cols, 3);
    cr_assert(memcmp(l->net->params, m->net->params, m->net->nparams * sizeof(float)) == 0);
    cr_assert(memcmp(l->init_params, m->init_params, m->net->nparams * sizeof(float)) == 0);
    cr_assert_eq(l->cost, DL_COST_CROSS_ENTROPY);
    cr_assert_eq(l->init, DL_INIT_NORMAL);
    cr_assert_eq(l->eta, 0.5f);
    cr_assert_eq(l->lambda, 5.0f);
    cr_assert_eq(l->batch, 7);
    cr_assert_eq(l->seed, 99);
    cr_assert_eq(l->classes[1], 8);
    cr_assert_eq(l->data_fingerprint, m->data_fingerprint);
    cr_assert_eq(l->nhistory, 2);
    cr_assert_eq(l->history[1].correct, 15);
    cr_assert_eq(l->history[1].cost, 0.25f);
    cr_assert_eq(l->state.epoch, 2);
    cr_assert_eq(l->state.pos, 3);
    cr_assert(memcmp(l->state.order, m->state.order, 5 * sizeof(uint32_t)) == 0);
    cr_assert(memcmp(l->state.rng.s, m->state.rng.s, sizeof m->state.rng.s) == 0);
    cr_assert_float_eq(dl_model_last_accuracy(l), 0.75, 1e-9);
    /* Encoding the loaded model gives the same bytes again. */
    unsigned char *a, *b;
    size_t na, nb;
    dl_model_encode(m, &a, &na, &e);
    dl_model_encode(l, &b, &nb, &e);
    cr_assert_eq(na, nb);
    cr_assert(memcmp(a, b, na) == 0);
    free(a);
    free(b);
    dl_model_free(l);
    dl_model_free(m);
    unlink(path);
    rmdir(dir);
    free(path);
    free(dir);
}

Test(model, every_flipped_byte_is_caught)
{
    dl_model *m = sample_model();
    unsigned char *buf;
    size_t n;
    dl_err e;
    cr_assert_eq(dl_model_encode(m, &buf, &n, &e), DL_OK);
    for (size_t i = 0; i < n; i++) {
        buf[i] ^= 0x10;
        dl_model *l = NULL;
        dl_status st = dl_model_decode(buf, n, "m.dlm", &l, &e);
        cr_assert_neq(st, DL_OK, "flipping byte %zu went unnoticed", i);
        cr_assert_null(l);
        buf[i] ^= 0x10;
    }
    /* A flip inside the parameters names the checksum. */
    buf[n - 20] ^= 1;
    dl_model *l = NULL;
    dl_model_decode(buf, n, "m.dlm", &l, &e);
    cr_expect(strstr(e.msg, "checksum mismatch"), "%s", e.msg);
    free(buf);
    dl_model_free(m);
}

Test(model, every_truncation_is_refused)
{
    dl_model *m = sample_model();
    unsigned char *buf;
    size_t n;
    dl_err e;
    dl_model_encode(m, &buf, &n, &e);
    for (size_t len = 0; len < n; len++) {
        dl_model *l = NULL;
        cr_assert_eq(dl_model_decode(buf, len, "m.dlm", &l, &e), DL_EFORMAT, "length %zu accepted", len);
    }
    free(buf);
    dl_model_free(m);
}

Test(model, a_newer_version_and_a_foreign_file_get_specific_messages)
{
    dl_model *m = sample_model();
    unsigned char *buf;
    size_t n;
    dl_err e;
    dl_model_encode(m, &buf, &n, &e);
    buf[8] = DL_MODEL_VERSION + 1;
    dl_model *l = NULL;
    cr_assert_eq(dl_model_decode(buf, n, "m.dlm", &l, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "version 3 is newer"), "%s", e.msg);
    buf[0] = 'X';
    cr_assert_eq(dl_model_decode(buf, n, "m.dlm", &l, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "not a digitlens model"), "%s", e.msg);
    free(buf);
    dl_model_free(m);
}

Test(model, saving_into_a_missing_directory_fails_and_leaves_nothing)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "no/such/m.dlm");
    dl_model *m = sample_model();
    dl_err e;
    cr_assert_eq(dl_model_save(m, path, &e), DL_EIO);
    cr_expect(strstr(e.msg, path), "%s", e.msg);
    cr_assert_eq(rmdir(dir), 0, "directory not empty after a failed save");
    dl_model_free(m);
    free(path);
    free(dir);
}

Test(model, a_failed_save_keeps_the_previous_file)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.dlm");
    dl_model *m = sample_model();
    dl_err e;
    cr_assert_eq(dl_model_save(m, path, &e), DL_OK);
    size_t n0;
    unsigned char *before = ts_read(path, &n0);
    /* A read-only directory makes the temporary file impossible. */
    chmod(dir, 0555);
    m->net->params[0] = 123.0f;
    dl_status st = dl_model_save(m, path, &e);
    chmod(dir, 0755);
    if (geteuid() != 0) cr_assert_eq(st, DL_EIO); /* root ignores directory permissions */
    if (st != DL_OK) {
        size_t n1;
        unsigned char *after = ts_read(path, &n1);
        cr_assert_eq(n0, n1);
        cr_assert(memcmp(before, after, n0) == 0);
        free(after);
    }
    free(before);
    unlink(path);
    rmdir(dir);
    dl_model_free(m);
    free(path);
    free(dir);
}

/* One impossible training state: a mutation of the sample model and the
 * words its refusal must contain.  A hostile writer fixes up the CRC, so
 * each one is encoded properly (dl_model_encode writes any field). */
typedef struct state_case {
    const char *what;
    void (*mutate)(dl_model *m);
    const char *msg;
} state_case;

static void st_epoch_huge(dl_model *m) { m->state.epoch = 0xffffffffu; }
static void st_epoch_vs_history(dl_model *m) { m->state.epoch = 3; }
static void st_epoch_vs_planned(dl_model *m) { m->epochs_planned = 1; }
static void st_pos_past_end(dl_model *m) { m->state.pos = 5; }
static void st_order_repeats(dl_model *m) { m->state.order[0] = m->state.order[1]; }
static void st_order_out_of_range(dl_model *m) { m->state.order[2] = 5; }
static void st_ntrain_vs_order(dl_model *m) { m->ntrain = 6; }
static void st_rng_dead(dl_model *m) { memset(m->state.rng.s, 0, sizeof m->state.rng.s); }
static void st_cost_nan(dl_model *m) { m->state.cost_sum = NAN; }
static void st_eta_nan(dl_model *m) { m->eta = NAN; }
static void st_lambda_negative(dl_model *m) { m->lambda = -1.0f; }
static void st_batch_zero(dl_model *m) { m->batch = 0; }
static void st_batch_huge(dl_model *m) { m->batch = 0xffffffffu; }
static void st_ntrain_huge(dl_model *m) { m->ntrain = 0xfffffff0u; }
static void st_history_score(dl_model *m) { m->history[0].correct = 21; }
static void st_classes_twice(dl_model *m) { m->classes[2] = 3; }
/* Version 2's fields: momentum's velocity and early stopping's kept
 * parameters feed the next epoch, so they must be finite and belong. */
static float *st_array(dl_model *m, float **which)
{
    dl_err e;
    if (dl_train_state_array(&m->state, which, m->net->nparams, &e) != DL_OK) abort();
    return *which;
}
static void st_velocity_nan(dl_model *m)
{
    m->momentum = 0.5f;
    st_array(m, &m->state.velocity)[3] = NAN;
}
static void st_velocity_without_momentum(dl_model *m) { st_array(m, &m->state.velocity); }
static void st_kept_infinite(dl_model *m)
{
    m->early_stop = 2;
    m->state.best_epoch = 1;
    m->state.best_correct = m->history[0].correct;
    st_array(m, &m->state.kept)[0] = INFINITY;
}
static void st_best_epoch_beyond(dl_model *m)
{
    m->early_stop = 2;
    m->state.best_epoch = 5;
}

Test(model, every_impossible_training_state_is_refused_at_load)
{
    static const state_case cases[] = {
        {"epoch 2^32-1 (wrote past the history on --resume)", st_epoch_huge, "4294967295 epochs done but 2 in the history"},
        {"epochs done != history", st_epoch_vs_history, "3 epochs done but 2 in the history"},
        {"more epochs done than planned", st_epoch_vs_planned, "2 epochs done of 1 planned"},
        {"position at the end of the shuffle", st_pos_past_end, "position 5 in an epoch of 5 images"},
        {"an image twice in the shuffle", st_order_repeats, "appears twice in the shuffle"},
        {"a shuffle entry beyond the data", st_order_out_of_range, "shuffle entry 2 is image 5 of 5"},
        {"a shuffle of another size", st_ntrain_vs_order, "a shuffle of 5 images for 6 training images"},
        {"an all-zero generator", st_rng_dead, "random generator"},
        {"a NaN summed cost", st_cost_nan, "summed cost nan"},
        {"a NaN learning rate", st_eta_nan, "learning rate nan"},
        {"a negative L2 strength", st_lambda_negative, "L2 strength -1"},
        {"a trained model with batch 0", st_batch_zero, "mini-batch of 0 in a trained model"},
        {"batch 2^32-1", st_batch_huge, "mini-batch of 4294967295"},
        {"2^32-16 training images", st_ntrain_huge, "4294967280 training images"},
        {"more correct than scored", st_history_score, "epoch 1 scored 21 of 20"},
        {"a NaN velocity", st_velocity_nan, "velocity value 3 is NaN"},
        {"a velocity without momentum", st_velocity_without_momentum, "velocity of "},
        {"an infinite kept parameter", st_kept_infinite, "kept parameters value 0 is infinite"},
        {"a best epoch beyond the history", st_best_epoch_beyond, "best epoch 5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dl_model *m = sample_model();
        cases[i].mutate(m);
        unsigned char *buf;
        size_t n;
        dl_err e;
        cr_assert_eq(dl_model_encode(m, &buf, &n, &e), DL_OK);
        dl_model *l = NULL;
        cr_expect_eq(dl_model_decode(buf, n, "m.dlm", &l, &e), DL_EFORMAT, "%s: accepted", cases[i].what);
        cr_expect_null(l);
        cr_expect(strstr(e.msg, cases[i].msg) && strstr(e.msg, "m.dlm: impossible training state ("),
                  "%s: message '%s'", cases[i].what, e.msg);
        dl_model_free(l);
        free(buf);
        dl_model_free(m);
    }
    /* Two outputs standing for one label would make subsets ambiguous. */
    dl_model *m = sample_model();
    st_classes_twice(m);
    unsigned char *buf;
    size_t n;
    dl_err e;
    dl_model_encode(m, &buf, &n, &e);
    dl_model *l = NULL;
    cr_expect_eq(dl_model_decode(buf, n, "m.dlm", &l, &e), DL_EFORMAT);
    cr_expect(strstr(e.msg, "outputs 0 and 2 both stand for label 3"), "%s", e.msg);
    free(buf);
    dl_model_free(m);
}

Test(model, a_training_state_out_of_range_is_refused_by_train_itself)
{
    /* The library's own guard, for callers that build a state by hand:
     * nothing is written to the history. */
    dl_model *m = sample_model();
    dl_err e;
    dl_dataset *d = dl_dataset_new(5, 2, 3, &e);
    cr_assert_not_null(d);
    memset(d->labels, 0, 5);
    dl_epoch_stat hist[4] = {{0}};
    dl_train_opts o = {.epochs = 4, .batch = 2, .eta = 0.5f, .cost = DL_COST_QUADRATIC, .threads = 1, .kernel = DL_KERNEL_REFERENCE};
    m->state.epoch = 0xffffffffu;
    cr_assert_eq(dl_train(m->net, d, NULL, &o, &m->state, hist, NULL, NULL, &e), DL_EINVAL);
    cr_expect(strstr(e.msg, "training state out of range"), "%s", e.msg);
    m->state.epoch = 0;
    m->state.pos = 5;
    cr_assert_eq(dl_train(m->net, d, NULL, &o, &m->state, hist, NULL, NULL, &e), DL_EINVAL);
    dl_dataset_free(d);
    dl_model_free(m);
}

/* ---- dl_model_fit_data ---------------------------------------------------- */

static dl_dataset *labelled(const uint8_t *labels, size_t n, int rows, int cols)
{
    dl_err e;
    dl_dataset *d = dl_dataset_new(n, rows, cols, &e);
    cr_assert_not_null(d, "%s", e.msg);
    for (size_t i = 0; i < n; i++) {
        d->labels[i] = labels[i];
        d->pixels[i * d->npix] = (uint8_t)(i + 1); /* which example it was */
    }
    return d;
}

Test(model, fit_data_keeps_every_example_of_a_model_over_all_labels_and_refuses_a_label_beyond)
{
    int sizes[] = {6, 4, 3};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 2, 3, &e);
    const uint8_t ok[] = {0, 2, 1, 2}, bad[] = {0, 1, 3};
    dl_dataset *d = labelled(ok, 4, 2, 3), *keep = d;
    cr_assert_eq(dl_model_fit_data(m, "m.dlm", "img", "lab", &d, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(d, keep, "a model over all labels must not replace the data");
    cr_assert_eq(d->n, 4);
    dl_dataset_free(d);
    d = labelled(bad, 3, 2, 3);
    cr_assert_eq(dl_model_fit_data(m, "m.dlm", "img", "lab", &d, &e), DL_EFORMAT);
    cr_assert_str_eq(e.msg, "lab: label 3 at example 2, but the network has only 3 outputs (m.dlm knows labels 0..2)");
    dl_dataset_free(d);
    dl_model_free(m);
}

Test(model, fit_data_keeps_only_a_subset_models_classes_as_its_outputs)
{
    int sizes[] = {6, 4, 2};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 2, 3, &e);
    m->classes[0] = 7;
    m->classes[1] = 2;
    m->flags |= DL_MODEL_SUBSET;
    const uint8_t labels[] = {2, 5, 7, 7, 0, 2};
    dl_dataset *d = labelled(labels, 6, 2, 3);
    cr_assert_eq(dl_model_fit_data(m, "m.dlm", "img", "lab", &d, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(d->n, 4);
    const uint8_t want_label[] = {1, 0, 0, 1}, want_first[] = {1, 3, 4, 6};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_eq(d->labels[i], want_label[i], "example %zu", i);
        cr_expect_eq(d->pixels[i * d->npix], want_first[i], "example %zu", i);
    }
    dl_dataset_free(d);
    /* --digits 0,1 looks like labels 0..1, yet other labels are skipped, not refused. */
    m->classes[0] = 0;
    m->classes[1] = 1;
    d = labelled(labels, 6, 2, 3);
    cr_assert_eq(dl_model_fit_data(m, "m.dlm", "img", "lab", &d, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(d->n, 1);
    dl_dataset_free(d);
    dl_model_free(m);
}

Test(model, fit_data_refuses_images_of_another_shape)
{
    int sizes[] = {6, 4, 3};
    dl_err e;
    dl_model *m = dl_model_new(3, sizes, 2, 3, &e);
    const uint8_t labels[] = {0};
    dl_dataset *d = labelled(labels, 1, 3, 2);
    cr_assert_eq(dl_model_fit_data(m, "m.dlm", "img", "lab", &d, &e), DL_EFORMAT);
    cr_assert_str_eq(e.msg, "img: images are 3x2 but m.dlm expects 2x3");
    dl_dataset_free(d);
    dl_model_free(m);
}

/* ---- version 2: activations, chapter 3's options, their training state --- */

/* sample_model with everything version 2 adds set to something other than
 * its default: ReLU under a softmax, log-likelihood, momentum (and its
 * velocity), dropout, early stopping (with a kept set, in the net's place)
 * and the schedule (having halved η). */
static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static dl_model *sample_v2(void)
{
    dl_model *m = sample_model();
    dl_err e;
    m->net->act[0] = DL_ACT_RELU;
    m->net->act[1] = DL_ACT_SOFTMAX;
    m->cost = DL_COST_LOG_LIKELIHOOD;
    m->momentum = 0.9f;
    m->dropout = 0.25f;
    m->early_stop = 4;
    m->halve_after = 3;
    m->history[1].eta = 0.25f;
    dl_train_state *s = &m->state;
    s->pos = 0;
    s->eta = 0.125f;
    s->best_epoch = 2;
    s->best_correct = 15;
    s->stale = 1;
    s->stopped = DL_STOP_EARLY;
    s->dropout_seed = 0x1234567890abcdefULL;
    s->kept_is_last = 1;
    cr_assert_eq(dl_train_state_array(s, &s->velocity, m->net->nparams, &e), DL_OK);
    cr_assert_eq(dl_train_state_array(s, &s->kept, m->net->nparams, &e), DL_OK);
    for (size_t i = 0; i < m->net->nparams; i++) {
        s->velocity[i] = -0.5f * (float)i;
        s->kept[i] = 3.0f + (float)i;
    }
    return m;
}

Test(model, version_2_round_trips_activations_options_and_training_state)
{
    dl_model *m = sample_v2();
    unsigned char *a, *b;
    size_t na, nb;
    dl_err e;
    cr_assert_eq(dl_model_encode(m, &a, &na, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(get32(a + 8), 2);
    dl_model *l = NULL;
    cr_assert_eq(dl_model_decode(a, na, "m.dlm", &l, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(l->net->act[0], DL_ACT_RELU);
    cr_expect_eq(l->net->act[1], DL_ACT_SOFTMAX);
    cr_expect_eq(l->cost, DL_COST_LOG_LIKELIHOOD);
    cr_expect_eq(l->momentum, 0.9f);
    cr_expect_eq(l->dropout, 0.25f);
    cr_expect_eq(l->early_stop, 4);
    cr_expect_eq(l->halve_after, 3);
    cr_expect_eq(l->history[0].eta, 0.5f);
    cr_expect_eq(l->history[1].eta, 0.25f);
    const dl_train_state *s = &l->state;
    cr_expect_eq(s->eta, 0.125f);
    cr_expect(s->best_epoch == 2 && s->best_correct == 15 && s->stale == 1 && s->stopped == DL_STOP_EARLY);
    cr_expect_eq(s->dropout_seed, 0x1234567890abcdefULL);
    cr_expect_eq(s->kept_is_last, 1);
    cr_assert(s->velocity && s->kept);
    cr_expect(memcmp(s->velocity, m->state.velocity, m->net->nparams * sizeof(float)) == 0);
    cr_expect(memcmp(s->kept, m->state.kept, m->net->nparams * sizeof(float)) == 0);
    cr_expect_eq(dl_model_params_epoch(l), 2);
    cr_assert_eq(dl_model_encode(l, &b, &nb, &e), DL_OK);
    cr_assert(na == nb && memcmp(a, b, na) == 0, "encoding the loaded model changes its bytes");
    free(a);
    free(b);
    dl_model_free(l);
    dl_model_free(m);
}

/* A file of version 1 (what digitlens wrote before) still loads, as the
 * sigmoid network with none of the extras that it is, and writes back as
 * version 2 with the same meaning. */
Test(model, a_version_1_file_still_loads)
{
    dl_model *m = sample_model();
    unsigned char *v1, *v2;
    size_t n1, n2;
    dl_err e;
    cr_assert_eq(dl_model_encode_version(m, 1, &v1, &n1, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(get32(v1 + 8), 1);
    dl_model *l = NULL;
    cr_assert_eq(dl_model_decode(v1, n1, "old.dlm", &l, &e), DL_OK, "%s", e.msg);
    cr_expect(dl_net_all_sigmoid(l->net));
    cr_expect(l->momentum == 0.0f && l->dropout == 0.0f && l->early_stop == 0 && l->halve_after == 0);
    cr_expect(!l->state.velocity && !l->state.kept && l->state.best_epoch == 0 && l->state.eta == 0.0f);
    cr_expect_eq(l->history[1].eta, 0.5f, "version 1 trained at the model's one eta");
    cr_expect(memcmp(l->net->params, m->net->params, m->net->nparams * sizeof(float)) == 0);
    cr_expect(memcmp(l->state.order, m->state.order, 5 * sizeof(uint32_t)) == 0);
    /* Version 2 of it reads back as the same model. */
    cr_assert_eq(dl_model_encode(l, &v2, &n2, &e), DL_OK);
    dl_model *l2 = NULL;
    cr_assert_eq(dl_model_decode(v2, n2, "new.dlm", &l2, &e), DL_OK, "%s", e.msg);
    cr_expect_eq(n2, n1 + 4 * 2 + 16 + 2 * 4 + 40, "the version 2 fields of this model");
    cr_expect(memcmp(l2->net->params, m->net->params, m->net->nparams * sizeof(float)) == 0);
    free(v1);
    free(v2);
    dl_model_free(l);
    dl_model_free(l2);
    dl_model_free(m);
}

Test(model, version_1_cannot_hold_what_version_2_added)
{
    dl_model *m = sample_v2();
    unsigned char *p = NULL;
    size_t n = 0;
    dl_err e;
    cr_expect_eq(dl_model_encode_version(m, 1, &p, &n, &e), DL_EINVAL);
    cr_expect_null(p);
    cr_expect(strstr(e.msg, "version 1 cannot hold activations"), "%s", e.msg);
    cr_expect_eq(dl_model_encode_version(m, 3, &p, &n, &e), DL_EINVAL);
    dl_model_free(m);
}

/* Offsets of version 2's fields in sample_v2's file. */
typedef struct v2_layout {
    size_t act, momentum, dropout, early_stop, halve, hist_eta, eta_now, best_epoch, best_correct, stale, stopped,
        kept_is_last, nvelocity, nkept;
} v2_layout;

static v2_layout layout_of(const dl_model *m)
{
    v2_layout o;
    int nl = m->net->nlayers;
    o.act = 8 + 4 + 4 + 4 + 4 * (size_t)nl + 8 + 4 + 4 + 4 + 4 + 4 + 8 + 4 + 4 + (size_t)m->nclasses + 4 + 4;
    o.momentum = o.act + 4 * (size_t)(nl - 1);
    o.dropout = o.momentum + 4;
    o.early_stop = o.dropout + 4;
    o.halve = o.early_stop + 4;
    o.hist_eta = o.halve + 4 + 4 + 12; /* nhistory, then epoch 1's eta */
    size_t state = o.halve + 4 + 4 + 16 * (size_t)m->nhistory;
    size_t norder = m->state.pos ? m->state.n : 0;
    o.eta_now = state + 4 + 4 + 8 + 4 + 4 * norder + 32 + 8 + 4;
    o.best_epoch = o.eta_now + 4;
    o.best_correct = o.best_epoch + 4;
    o.stale = o.best_correct + 4;
    o.stopped = o.stale + 4;
    o.kept_is_last = o.stopped + 4 + 8;
    o.nvelocity = o.kept_is_last + 4;
    o.nkept = o.nvelocity + 4 + 4 * m->net->nparams;
    return o;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void putf(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put32(p, v);
}

/* The file with one u32 (or f32) changed and its CRC made right again. */
static dl_status decode_patched(const unsigned char *buf, size_t n, size_t off, uint32_t v, int is_float, float f,
                                dl_err *e)
{
    unsigned char *c = malloc(n);
    memcpy(c, buf, n);
    if (is_float) putf(c + off, f);
    else put32(c + off, v);
    put32(c + n - 4, (uint32_t)crc32_z(0L, c, n - 4));
    dl_model *l = NULL;
    dl_status st = dl_model_decode(c, n, "m.dlm", &l, e);
    dl_model_free(l);
    free(c);
    return st;
}

/* Each field version 2 adds is checked against what could have been
 * written, with a valid checksum (a hostile file can carry one). */
Test(model, every_version_2_field_is_validated)
{
    dl_model *m = sample_v2();
    unsigned char *buf;
    size_t n;
    dl_err e;
    cr_assert_eq(dl_model_encode(m, &buf, &n, &e), DL_OK);
    v2_layout o = layout_of(m);
    cr_assert_eq(decode_patched(buf, n, o.act, DL_ACT_RELU, 0, 0, &e), DL_OK, "the layout: %s", e.msg);
    struct {
        size_t off;
        uint32_t v;
        int is_float;
        float f;
        const char *msg;
    } cases[] = {
        {o.act, 9, 0, 0, "unknown activation"},
        {o.act, DL_ACT_SOFTMAX, 0, 0, "hidden layer"},
        {o.act + 4, DL_ACT_SIGMOID, 0, 0, "needs a softmax output"}, /* log-likelihood on sigmoid */
        {o.momentum, 0, 1, 1.0f, "momentum"},
        {o.momentum, 0, 1, NAN, "momentum"},
        {o.dropout, 0, 1, -0.5f, "dropout"},
        {o.early_stop, 2000000, 0, 0, "patience"},
        {o.halve, 0, 0, 0, "learning rate"}, /* η halved without a schedule */
        {o.hist_eta, 0, 1, INFINITY, "learning rate"},
        {o.eta_now, 0, 1, 0.75f, "learning rate"}, /* above the model's 0.5 */
        {o.best_epoch, 3, 0, 0, "best epoch"},
        {o.best_correct, 14, 0, 0, "best epoch"},
        {o.stale, 9, 0, 0, "best epoch"},
        {o.stopped, 7, 0, 0, "stopped"},
        {o.early_stop, 0, 0, 0, "stopped"}, /* stopped early without early stopping */
        {o.kept_is_last, 2, 0, 0, "kept"},
        {o.nvelocity, 5, 0, 0, "velocity"},
        {o.momentum, 0, 1, 0.0f, "velocity"}, /* a velocity without momentum */
        {o.nkept, 3, 0, 0, "kept"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dl_status st = decode_patched(buf, n, cases[i].off, cases[i].v, cases[i].is_float, cases[i].f, &e);
        cr_expect_eq(st, DL_EFORMAT, "case %zu accepted", i);
        cr_expect(strstr(e.msg, cases[i].msg), "case %zu: %s", i, e.msg);
    }
    free(buf);
    dl_model_free(m);
}
