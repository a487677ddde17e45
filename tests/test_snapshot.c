/* test_snapshot.c — the snapshot file: round trip, damage and truncation,
 * torn tails, appending on a full disk, continuing a resumed run. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include "../src/crc32.h"
#include "digitlens/snapshot.h"
#include "support/support.h"

TestSuite(snapshot);

static dl_snapshot_header sample_header(void)
{
    dl_snapshot_header h;
    memset(&h, 0, sizeof h);
    h.nlayers = 3;
    h.sizes[0] = 6;
    h.sizes[1] = 4;
    h.sizes[2] = 3;
    h.rows = 2;
    h.cols = 3;
    h.unit = DL_SNAP_BATCHES;
    h.every = 2;
    h.batch = 3;
    h.ntrain = 10; /* 4 mini-batches per epoch */
    h.eval_n = 7;
    h.init = 1;
    h.seed = 0x123456789abcull;
    h.data_fingerprint = 0xdeadbeef;
    return h;
}

/* Parameters of snapshot k: distinct per k and per index. */
static void fill(float *p, size_t n, size_t k)
{
    for (size_t i = 0; i < n; i++) p[i] = (float)k + 0.001f * (float)i - 0.5f;
}

static dl_snapshot_meta meta_at(uint64_t step)
{
    uint32_t correct = (uint32_t)(step % 8 > 7 ? 7 : step % 8);
    dl_snapshot_meta m = {step, (uint32_t)(step / 4), (uint32_t)((step % 4) * 3), correct, 7,
                          step ? 0.25f / (float)step : NAN};
    return m;
}

/* The parts of an append (snapshot.h), run on threads of their own as
 * training runs them beside its scoring. */
static void *write_params_thread(void *w)
{
    dl_snapshot_write_params(w);
    return NULL;
}

static void *checksum_params_thread(void *w)
{
    dl_snapshot_checksum_params(w);
    return NULL;
}

/* How write_file_as appends: whole, or in parts (the parameters written and
 * checksummed on two threads; by the end itself; or the same after a
 * begun append of other parameters was cancelled). */
enum { WHOLE, PARTS_THREADS, PARTS_AT_END, PARTS_AFTER_CANCEL };

/* Writes snapshots at steps[0..n) (steps[0] must be 0) to path, each
 * append made as `how` says. */
static void write_file_as(const char *path, const uint64_t *steps, size_t n, int how)
{
    dl_snapshot_header h = sample_header();
    size_t P = dl_snapshot_nparams(&h);
    float *p = malloc(P * sizeof *p);
    dl_err e;
    fill(p, P, 0);
    dl_snapshot_meta m0 = meta_at(0);
    dl_snapshot_writer *w = dl_snapshot_create(path, &h, &m0, p, &e);
    cr_assert_not_null(w, "%s", e.msg);
    for (size_t k = 1; k < n; k++) {
        if (how == PARTS_AFTER_CANCEL) {
            /* A scoring that failed: the begun record goes again. */
            fill(p, P, 99);
            dl_snapshot_append_begin(w, p);
            dl_snapshot_write_params(w);
            dl_snapshot_append_cancel(w);
            cr_assert_eq(dl_snapshot_count(w), k);
        }
        fill(p, P, k);
        dl_snapshot_meta m = meta_at(steps[k]);
        if (how == WHOLE) {
            cr_assert_eq(dl_snapshot_append(w, &m, p, &e), DL_OK, "%s", e.msg);
            continue;
        }
        dl_snapshot_append_begin(w, p);
        if (how == PARTS_THREADS) {
            pthread_t t, u;
            cr_assert_eq(pthread_create(&t, NULL, write_params_thread, w), 0);
            cr_assert_eq(pthread_create(&u, NULL, checksum_params_thread, w), 0);
            pthread_join(t, NULL);
            pthread_join(u, NULL);
        }
        cr_assert_eq(dl_snapshot_append_end(w, &m, &e), DL_OK, "%s", e.msg);
    }
    cr_assert_eq(dl_snapshot_count(w), n);
    cr_assert_eq(dl_snapshot_close(w, &e), DL_OK, "%s", e.msg);
    free(p);
}

static void write_file(const char *path, const uint64_t *steps, size_t n) { write_file_as(path, steps, n, WHOLE); }

static const uint64_t STEPS[] = {0, 2, 4, 6, 7};

/* The file's checksum is zlib's CRC-32 whichever way it is computed
 * (carry-less multiplies from 256 bytes on, where the CPU has them):
 * every length around the fold's block sizes, at every alignment, from
 * any starting CRC, whole and in pieces, and a record of 784-100-10. */
Test(snapshot, the_fast_crc_is_zlibs_crc32_for_every_length_alignment_and_start)
{
    size_t n = 318080 + 64;
    unsigned char *b = malloc(n);
    cr_assert_not_null(b);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (unsigned char)(x >> 23);
    }
    for (size_t len = 0; len <= 1100; len++)
        for (size_t off = 0; off < 16; off += 5) {
            uint32_t c0 = (uint32_t)(len * 2654435761u);
            cr_assert_eq(dl_crc32(c0, b + off, len), (uint32_t)crc32_z(c0, b + off, len), "length %zu at +%zu",
                         len, off);
        }
    uint32_t whole = dl_crc32(0, b, 318080);
    cr_assert_eq(whole, (uint32_t)crc32_z(0, b, 318080));
    cr_assert_eq(dl_crc32(dl_crc32(dl_crc32(0, b, 36), b + 36, 318040), b + 318076, 4), whole);
    free(b);
}

Test(snapshot, write_then_load_round_trips_every_record_exactly)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.snapshots");
    write_file(path, STEPS, 5);
    dl_snapshots *s = NULL;
    dl_err e;
    cr_assert_eq(dl_snapshots_load(path, &s, &e), DL_OK, "%s", e.msg);
    dl_snapshot_header h = sample_header();
    cr_assert_eq(s->count, 5);
    cr_assert_eq(s->torn, 0);
    cr_assert_eq(s->nparams, dl_snapshot_nparams(&h));
    cr_assert_eq(s->h.seed, h.seed);
    cr_assert_eq(s->h.data_fingerprint, h.data_fingerprint);
    cr_assert_eq(s->h.every, 2);
    cr_assert_eq(s->h.init, 1);
    float *p = malloc(s->nparams * sizeof *p), *want = malloc(s->nparams * sizeof *want);
    for (size_t k = 0; k < 5; k++) {
        dl_snapshot_meta m = meta_at(STEPS[k]);
        cr_assert_eq(s->meta[k].step, STEPS[k]);
        cr_assert_eq(s->meta[k].epoch, m.epoch);
        cr_assert_eq(s->meta[k].pos, m.pos);
        cr_assert_eq(s->meta[k].correct, m.correct);
        cr_assert_eq(s->meta[k].total, 7);
        if (k == 0) cr_assert(isnan(s->meta[k].cost));
        else cr_assert_eq(s->meta[k].cost, m.cost);
        dl_snapshots_params(s, k, p);
        fill(want, s->nparams, k);
        cr_assert(memcmp(p, want, s->nparams * sizeof *p) == 0, "snapshot %zu", k);
    }
    size_t len = 0;
    unsigned char *raw = ts_read(path, &len);
    cr_assert_eq(len, dl_snapshot_header_bytes(&h) + 5 * dl_snapshot_record_bytes(&h));
    free(raw);
    free(p);
    free(want);
    dl_snapshots_free(s);
    free(path);
    free(dir);
}

Test(snapshot, a_run_costs_what_the_plan_says)
{
    dl_snapshot_header h = sample_header();
    uint64_t n = 0;
    /* 7 steps on a grid of 2: 0, 2, 4, 6 and the final 7. */
    uint64_t bytes = dl_snapshot_plan_bytes(&h, 7, &n);
    cr_assert_eq(n, 5);
    cr_assert_eq(bytes, dl_snapshot_header_bytes(&h) + 5 * dl_snapshot_record_bytes(&h));
    h.unit = DL_SNAP_EPOCHS;
    h.every = 1; /* every 4 steps: 0, 4, 8 */
    dl_snapshot_plan_bytes(&h, 8, &n);
    cr_assert_eq(n, 3);
    /* 784-100-10 in float32 is 318 KB a snapshot, as the issue says. */
    dl_snapshot_header big = sample_header();
    big.sizes[0] = 784;
    big.sizes[1] = 100;
    big.sizes[2] = 10;
    big.rows = big.cols = 28;
    cr_assert_eq(dl_snapshot_record_bytes(&big), 40 + 4 * 79510);
}

Test(snapshot, every_flipped_byte_before_the_last_record_is_refused)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.snapshots");
    write_file(path, STEPS, 5);
    size_t len = 0;
    unsigned char *raw = ts_read(path, &len);
    dl_snapshot_header h = sample_header();
    size_t last = dl_snapshot_header_bytes(&h) + 4 * dl_snapshot_record_bytes(&h);
    for (size_t i = 0; i < last; i++) {
        raw[i] ^= 0x10;
        dl_snapshots *s = NULL;
        dl_err e;
        dl_status st = dl_snapshots_decode(raw, len, "m.snapshots", &s, &e);
        cr_assert_neq(st, DL_OK, "flipping byte %zu went unnoticed", i);
        cr_assert_null(s);
        cr_assert(strstr(e.msg, "m.snapshots:") == e.msg, "%s", e.msg);
        raw[i] ^= 0x10;
    }
    free(raw);
    free(path);
    free(dir);
}

Test(snapshot, damage_in_the_last_record_or_a_partial_one_is_a_torn_tail)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.snapshots");
    write_file(path, STEPS, 5);
    size_t len = 0;
    unsigned char *raw = ts_read(path, &len);
    dl_snapshot_header h = sample_header();
    size_t rlen = dl_snapshot_record_bytes(&h);
    dl_err e;
    /* Every truncation inside the records keeps the complete ones. */
    for (size_t cut = dl_snapshot_header_bytes(&h) + rlen; cut < len; cut += 7) {
        dl_snapshots *s = NULL;
        cr_assert_eq(dl_snapshots_decode(raw, cut, "m", &s, &e), DL_OK, "cut at %zu: %s", cut, e.msg);
        size_t whole = (cut - dl_snapshot_header_bytes(&h)) / rlen;
        cr_assert_eq(s->count, whole);
        cr_assert_eq(s->torn, (cut - dl_snapshot_header_bytes(&h)) % rlen != 0);
        dl_snapshots_free(s);
    }
    /* A truncation inside the header or before the first record is an error. */
    for (size_t cut = 0; cut < dl_snapshot_header_bytes(&h) + rlen; cut += 5) {
        dl_snapshots *s = NULL;
        cr_assert_neq(dl_snapshots_decode(raw, cut, "m", &s, &e), DL_OK, "cut at %zu", cut);
        cr_assert(strstr(e.msg, "truncated") || strstr(e.msg, "magic"), "%s", e.msg);
    }
    raw[len - 9] ^= 1;
    dl_snapshots *s = NULL;
    cr_assert_eq(dl_snapshots_decode(raw, len, "m", &s, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(s->count, 4);
    cr_assert_eq(s->torn, 1);
    dl_snapshots_free(s);
    free(raw);
    free(path);
    free(dir);
}

Test(snapshot, a_newer_version_and_a_foreign_file_get_specific_messages)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.snapshots");
    write_file(path, STEPS, 2);
    size_t len = 0;
    unsigned char *raw = ts_read(path, &len);
    dl_err e;
    dl_snapshots *s = NULL;
    raw[8] = 9;
    cr_assert_eq(dl_snapshots_decode(raw, len, "m", &s, &e), DL_EFORMAT);
    cr_assert(strstr(e.msg, "upgrade digitlens"), "%s", e.msg);
    memcpy(raw, "DLMODEL", 8);
    cr_assert_eq(dl_snapshots_decode(raw, len, "m", &s, &e), DL_EFORMAT);
    cr_assert(strstr(e.msg, "not a digitlens snapshot file"), "%s", e.msg);
    free(raw);
    free(path);
    free(dir);
}

Test(snapshot, a_header_with_a_valid_checksum_but_impossible_counts_is_refused)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.snapshots");
    write_file(path, STEPS, 5);
    size_t len = 0;
    unsigned char *raw = ts_read(path, &len);
    dl_snapshot_header h = sample_header();
    size_t hlen = dl_snapshot_header_bytes(&h);
    /* The layer sizes, made enormous, with the header's CRC made to match. */
    size_t offs[] = {16, 20, 28, 36, 44}; /* sizes, rows, unit, batch */
    for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
        unsigned char *c = malloc(len);
        memcpy(c, raw, len);
        c[offs[k] + 3] = 0x7f;
        uLong crc = crc32_z(0L, c, hlen - 4);
        c[hlen - 4] = (unsigned char)crc;
        c[hlen - 3] = (unsigned char)(crc >> 8);
        c[hlen - 2] = (unsigned char)(crc >> 16);
        c[hlen - 1] = (unsigned char)(crc >> 24);
        dl_snapshots *s = NULL;
        dl_err e;
        cr_assert_neq(dl_snapshots_decode(c, len, "m", &s, &e), DL_OK, "offset %zu", offs[k]);
        cr_assert_null(s);
        free(c);
    }
    free(raw);
    free(path);
    free(dir);
}

/* Pieces checksummed apart combine into the whole message's CRC. */
Test(snapshot, crcs_of_two_pieces_combine_into_the_whole_ones)
{
    enum { N = 5000 };
    unsigned char *b = malloc(N);
    for (size_t i = 0; i < N; i++) b[i] = (unsigned char)(i * 131u + (i >> 7));
    uint32_t whole = (uint32_t)crc32_z(0, b, N);
    static const size_t cuts[] = {0, 1, 36, 255, 256, 2500, 4999, 5000};
    for (size_t q = 0; q < sizeof cuts / sizeof cuts[0]; q++) {
        size_t a = cuts[q];
        cr_expect_eq(dl_crc32_combine(dl_crc32(0, b, a), dl_crc32(0, b + a, N - a), N - a), whole, "cut at %zu", a);
    }
    free(b);
}

/* Appending in parts gives dl_snapshot_append's bytes, however the parts
 * are run. */
Test(snapshot, appending_in_parts_writes_the_same_bytes)
{
    char *dir = ts_tempdir(), *want = ts_path(dir, "want.snapshots"), *got = ts_path(dir, "got.snapshots");
    write_file(want, STEPS, 5);
    size_t la = 0;
    unsigned char *a = ts_read(want, &la);
    for (int how = PARTS_THREADS; how <= PARTS_AFTER_CANCEL; how++) {
        write_file_as(got, STEPS, 5, how);
        size_t lb = 0;
        unsigned char *b = ts_read(got, &lb);
        cr_expect(la == lb && memcmp(a, b, la) == 0, "way %d: %zu bytes against %zu, or other bytes", how, lb, la);
        free(b);
    }
    free(a);
    free(want);
    free(got);
    free(dir);
}

/* A full disk: the failing append (whole, or in parts with the parameters
 * written by another thread, as training does) reports it, and the file
 * ends at the record boundary before it. */
static void check_full_disk(int in_parts)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.snapshots");
    dl_snapshot_header h = sample_header();
    h.sizes[1] = 400; /* records of about 12 KB */
    size_t P = dl_snapshot_nparams(&h), rlen = dl_snapshot_record_bytes(&h);
    float *p = calloc(P, sizeof *p);
    dl_err e;
    dl_snapshot_meta m0 = meta_at(0);
    dl_snapshot_writer *w = dl_snapshot_create(path, &h, &m0, p, &e);
    cr_assert_not_null(w, "%s", e.msg);
    /* A file-size limit two and a half records on stands in for a full disk. */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = dl_snapshot_header_bytes(&h) + rlen * 5 / 2;
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    dl_snapshot_meta m = meta_at(2);
    cr_assert_eq(dl_snapshot_append(w, &m, p, &e), DL_OK, "%s", e.msg);
    m = meta_at(4);
    dl_status st;
    if (in_parts) {
        dl_snapshot_append_begin(w, p);
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, write_params_thread, w), 0);
        pthread_join(t, NULL);
        st = dl_snapshot_append_end(w, &m, &e);
    } else {
        st = dl_snapshot_append(w, &m, p, &e);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    cr_assert_eq(st, DL_EIO);
    cr_assert(strstr(e.msg, "the 2 before it are kept"), "%s", e.msg);
    cr_assert_eq(dl_snapshot_count(w), 2);
    cr_assert_eq(dl_snapshot_close(w, &e), DL_OK, "%s", e.msg);
    size_t len = 0;
    unsigned char *raw = ts_read(path, &len);
    cr_assert_eq(len, dl_snapshot_header_bytes(&h) + 2 * rlen);
    dl_snapshots *s = NULL;
    cr_assert_eq(dl_snapshots_decode(raw, len, "m", &s, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(s->count, 2);
    cr_assert_eq(s->torn, 0);
    dl_snapshots_free(s);
    free(raw);
    free(p);
    free(path);
    free(dir);
}

Test(snapshot, a_failed_append_leaves_the_file_at_a_record_boundary) { check_full_disk(0); }

Test(snapshot, a_failed_append_in_parts_leaves_the_file_at_a_record_boundary) { check_full_disk(1); }

Test(snapshot, continuing_cuts_off_what_came_after_the_model_and_refuses_another_run)
{
    char *dir = ts_tempdir(), *path = ts_path(dir, "m.snapshots");
    write_file(path, STEPS, 5); /* 0 2 4 6 7 */
    dl_snapshot_header h = sample_header();
    size_t P = dl_snapshot_nparams(&h), count = 0;
    float *p0 = malloc(P * sizeof *p0);
    fill(p0, P, 0);
    dl_err e;
    /* The model stopped at step 5: the records at 6 and 7 go. */
    dl_snapshot_writer *w = dl_snapshot_continue(path, &h, p0, 5, &count, &e);
    cr_assert_not_null(w, "%s", e.msg);
    cr_assert_eq(count, 3);
    cr_assert_eq(dl_snapshot_close(w, &e), DL_OK);
    write_file(path, STEPS, 5);
    /* A finished run at step 7 continued: its off-grid final record goes too. */
    w = dl_snapshot_continue(path, &h, p0, 7, &count, &e);
    cr_assert_not_null(w, "%s", e.msg);
    cr_assert_eq(count, 4);
    cr_assert_eq(dl_snapshot_close(w, &e), DL_OK);
    /* Another seed, another interval, other initial parameters: refused. */
    dl_snapshot_header other = h;
    other.seed++;
    cr_assert_null(dl_snapshot_continue(path, &other, p0, 7, &count, &e));
    cr_assert(strstr(e.msg, "another training run"), "%s", e.msg);
    other = h;
    other.every = 3;
    cr_assert_null(dl_snapshot_continue(path, &other, p0, 7, &count, &e));
    cr_assert(strstr(e.msg, "--snapshot-every"), "%s", e.msg);
    p0[3] += 1.0f;
    cr_assert_null(dl_snapshot_continue(path, &h, p0, 7, &count, &e));
    cr_assert(strstr(e.msg, "initial parameters"), "%s", e.msg);
    free(p0);
    free(path);
    free(dir);
}
