/* test_explore.c — the explorer page carries the parameters bit for bit
 * (little-endian float32 in base64), the test digits with the mistakes
 * first, nothing from the network, the pad as its first canvas; it
 * refuses networks it cannot show; written beside a report, it fills the
 * report's slot with its link.  (The page's script is tested in Chromium:
 * tests/browser/check-explore.js.) */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/explore.h"
#include "support/support.h"

TestSuite(explore);

static dl_model *random_model(int nl, const int *sizes, uint64_t seed)
{
    dl_err e;
    dl_model *m = dl_model_new(nl, sizes, 28, 28, &e);
    cr_assert_not_null(m, "%s", e.msg);
    dl_net *r = ts_random_net(nl, sizes, DL_INIT_NORMAL, seed);
    memcpy(m->net->params, r->params, r->nparams * sizeof(float));
    dl_net_free(r);
    return m;
}

static char *page(const dl_model *m, const dl_explore_opts *o, dl_explore_summary *s)
{
    dl_err e;
    char *html = NULL;
    size_t len = 0;
    cr_assert_eq(dl_explore_page(m, o, &html, &len, s, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(strlen(html), len);
    return html;
}

/* The text of <script ... id="ID">...</script> (a new string). */
static char *block(const char *html, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "id=\"%s\">", id);
    const char *a = strstr(html, key);
    cr_assert_not_null(a, "no block %s", id);
    a += strlen(key);
    const char *b = strstr(a, "</script>");
    cr_assert_not_null(b);
    return strndup(a, (size_t)(b - a));
}

/* A file's text, NUL-terminated. */
static char *read_text(const char *path, size_t *n)
{
    unsigned char *b = ts_read(path, n);
    cr_assert_not_null(b, "cannot read %s", path);
    char *t = realloc(b, *n + 1);
    cr_assert_not_null(t);
    t[*n] = '\0';
    return t;
}

static unsigned char *unbase64(const char *s, size_t *n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(s);
    cr_assert_eq(len % 4, 0, "base64 length %zu", len);
    unsigned char *out = malloc(len / 4 * 3 + 1);
    size_t k = 0;
    for (size_t i = 0; i < len; i += 4) {
        unsigned v = 0;
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            const char *p = strchr(A, s[i + j]);
            if (s[i + j] == '=') pad++;
            else cr_assert(p && *p, "bad base64 character %c", s[i + j]);
            v = v << 6 | (s[i + j] == '=' ? 0u : (unsigned)(p - A));
        }
        out[k++] = (unsigned char)(v >> 16);
        if (pad < 2) out[k++] = (unsigned char)(v >> 8);
        if (pad < 1) out[k++] = (unsigned char)v;
    }
    *n = k;
    return out;
}

/* The integers of "NAME":[...] in the meta block, into v (returns the count). */
static int meta_ints(const char *meta, const char *name, long *v, int cap)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s\":[", name);
    const char *p = strstr(meta, key);
    if (!p) return -1;
    p += strlen(key);
    int n = 0;
    while (*p && *p != ']') {
        char *end;
        long x = strtol(p, &end, 10);
        cr_assert(end != p, "not a number at %.20s", p);
        if (n < cap) v[n] = x;
        n++;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

Test(explore, page_carries_the_parameters_bit_for_bit_as_little_endian_float32)
{
    const int sizes[] = {784, 7, 5, 3};
    dl_model *m = random_model(4, sizes, 11);
    char *html = page(m, NULL, NULL), *b64 = block(html, "dl-params");
    size_t n = 0;
    unsigned char *bytes = unbase64(b64, &n);
    cr_assert_eq(n, m->net->nparams * 4);
    for (size_t i = 0; i < m->net->nparams; i++) {
        uint32_t u = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 | (uint32_t)bytes[4 * i + 2] << 16 |
                     (uint32_t)bytes[4 * i + 3] << 24, want;
        memcpy(&want, &m->net->params[i], 4);
        cr_assert_eq(u, want, "parameter %zu", i);
    }
    char *meta = block(html, "dl-meta");
    long v[8];
    cr_assert_eq(meta_ints(meta, "sizes", v, 8), 4);
    cr_assert(v[0] == 784 && v[1] == 7 && v[2] == 5 && v[3] == 3);
    cr_assert_not_null(strstr(meta, "\"activations\":[\"sigmoid\",\"sigmoid\",\"sigmoid\"]"));
    free(meta);
    free(bytes);
    free(b64);
    free(html);
    dl_model_free(m);
}

Test(explore, page_is_self_contained_and_its_first_canvas_is_the_pad)
{
    const int sizes[] = {784, 9, 10};
    dl_model *m = random_model(3, sizes, 3);
    char *html = page(m, NULL, NULL);
    cr_assert_null(strstr(html, "http://"));
    cr_assert_null(strstr(html, "https://"));
    cr_assert_null(strstr(html, "<link"));
    cr_assert_null(strstr(html, " src="));
    const char *c = strstr(html, "<canvas");
    cr_assert_not_null(c);
    cr_assert_eq(strncmp(c, "<canvas id=\"pad\"", 16), 0, "first canvas: %.40s", c);
    cr_assert_not_null(strstr(html, "window.digitlens"));
    /* The head declares its encoding and a phone's viewport, each whole. */
    cr_assert_not_null(strstr(html, "<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\""), "%.200s", html);
    cr_assert_not_null(strstr(html, "</html>"));
    free(html);
    dl_model_free(m);
}

Test(explore, test_digits_come_mistakes_first_then_right_answers_in_test_set_order)
{
    const int sizes[] = {784, 6, 4};
    dl_model *m = random_model(3, sizes, 5);
    dl_err e;
    const size_t N = 60;
    dl_dataset *d = dl_dataset_new(N, 28, 28, &e);
    cr_assert_not_null(d, "%s", e.msg);
    dl_trace *t = dl_trace_new(m->net, &e);
    float x[784];
    int pred[60];
    for (size_t i = 0; i < N; i++) {
        ts_random_input(x, 784, 100 + i);
        for (int k = 0; k < 784; k++) d->pixels[i * 784 + k] = (uint8_t)(x[k] * 255.0f + 0.5f);
        dl_dataset_image(d, i, x);
        pred[i] = dl_argmax(dl_net_forward(m->net, x, t), 4);
        /* every third image labelled wrongly */
        d->labels[i] = (uint8_t)(i % 3 == 0 ? (pred[i] + 1) % 4 : pred[i]);
    }
    dl_explore_opts o = dl_explore_opts_defaults();
    o.test = d;
    o.samples = 16;
    dl_explore_summary s;
    char *html = page(m, &o, &s), *meta = block(html, "dl-meta");
    cr_assert_eq(s.samples, 16);
    cr_assert_eq(s.misclassified, 8, "at most half are mistakes: %d", s.misclassified);
    long idx[32], lab[32], got[32];
    cr_assert_eq(meta_ints(meta, "index", idx, 32), 16);
    cr_assert_eq(meta_ints(meta, "labels", lab, 32), 16);
    cr_assert_eq(meta_ints(meta, "predicted", got, 32), 16);
    for (int i = 0; i < 8; i++) cr_assert_eq(idx[i], 3 * i, "mistake %d is test image %ld", i, idx[i]);
    for (int i = 8, want = 1; i < 16; i++, want += want % 3 == 1 ? 1 : 2) cr_assert_eq(idx[i], want);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(lab[i], d->labels[idx[i]]);
        cr_assert_eq(got[i], pred[idx[i]]);
    }
    char *b64 = block(html, "dl-samples");
    size_t n = 0;
    unsigned char *px = unbase64(b64, &n);
    cr_assert_eq(n, 16 * 784);
    for (int i = 0; i < 16; i++) cr_assert_eq(memcmp(px + i * 784, d->pixels + idx[i] * 784, 784), 0);
    free(px);
    free(b64);
    free(meta);
    free(html);
    dl_trace_free(t);
    dl_dataset_free(d);
    dl_model_free(m);
}

Test(explore, refuses_networks_it_cannot_show_and_bad_options)
{
    dl_err e;
    char *html = NULL;
    size_t len;
    const int flat[] = {784, 10};
    dl_model *m = random_model(2, flat, 1);
    cr_assert_eq(dl_explore_page(m, NULL, &html, &len, NULL, &e), DL_EINVAL);
    cr_assert_not_null(strstr(e.msg, "no hidden layer"), "%s", e.msg);
    dl_model_free(m);
    const int ok[] = {784, 4, 2};
    m = random_model(3, ok, 2);
    dl_explore_opts o = dl_explore_opts_defaults();
    o.samples = DL_EXPLORE_MAX_SAMPLES + 1;
    cr_assert_eq(dl_explore_page(m, &o, &html, &len, NULL, &e), DL_EINVAL);
    cr_assert_null(html);
    dl_model_free(m);
}

Test(explore, written_beside_a_report_it_fills_the_reports_slot_with_its_link)
{
    char *dir = ts_tempdir(), *index = ts_path(dir, DL_EXPLORE_REPORT), *pagef = ts_path(dir, DL_EXPLORE_FILE);
    const char report[] = "<nav><a href=\"neurons.html\">cards</a>" DL_EXPLORE_SLOT "</nav>";
    ts_write(index, report, sizeof report - 1, 0);
    const int sizes[] = {784, 4, 2};
    dl_model *m = random_model(3, sizes, 9);
    dl_err e;
    dl_explore_summary s;
    cr_assert_eq(dl_explore_write(m, dir, NULL, &s, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(s.report, 1);
    size_t n;
    char *p = read_text(pagef, &n), *r = read_text(index, &n);
    const char want[] = "<nav><a href=\"neurons.html\">cards</a>" DL_EXPLORE_LINK "</nav>";
    cr_assert(n == sizeof want - 1 && memcmp(r, want, n) == 0, "report now: %s", r);
    cr_assert_not_null(strstr(p, "\"report\":true"));
    /* Again: the link is there already, nothing changes in the report. */
    cr_assert_eq(dl_explore_write(m, dir, NULL, &s, &e), DL_OK, "%s", e.msg);
    free(r);
    r = read_text(index, &n);
    cr_assert(n == sizeof want - 1 && memcmp(r, want, n) == 0);
    cr_assert_eq(s.report, 1);
    free(r);
    free(p);
    free(index);
    free(pagef);
    free(dir);
    dl_model_free(m);
}
