/*
 * parallel.c — fork/join and the write queue (see parallel.h).
 */
#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digitlens/fileio.h"
#include "contract.h"

int dl_parallel_threads(int threads, size_t items)
{
    if (threads > DL_PARALLEL_MAX) threads = DL_PARALLEL_MAX;
    if (items >= 1 && (size_t)threads > items) threads = (int)items;
    return threads < 1 ? 1 : threads;
}

typedef struct part {
    void (*fn)(void *ctx, int t, int n);
    void *ctx;
    int t, n;
} part;

static void *part_thread(void *arg)
{
    part *p = arg;
    p->fn(p->ctx, p->t, p->n);
    return NULL;
}

void dl_parallel_run(int n, void (*fn)(void *ctx, int t, int n), void *ctx)
{
    if (n < 1) n = 1;
    if (n > DL_PARALLEL_MAX) n = DL_PARALLEL_MAX;
    part parts[DL_PARALLEL_MAX];
    pthread_t tid[DL_PARALLEL_MAX];
    int started[DL_PARALLEL_MAX] = {0};
    DL_ASSERT(fn != NULL);
    for (int t = 0; t < n; t++) parts[t] = (part){fn, ctx, t, n};
    for (int t = 1; t < n; t++) started[t] = pthread_create(&tid[t], NULL, part_thread, &parts[t]) == 0;
    fn(ctx, 0, n);
    for (int t = 1; t < n; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else fn(ctx, t, n); /* no thread: do its share here */
    }
}

/* ---- the write queue ---------------------------------------------------- */

struct dl_writeq_file {
    char *path;
    void *data;
    size_t len;
    dl_writeq_file *next;
};

static void file_free(dl_writeq_file *f)
{
    free(f->path);
    free(f->data);
    free(f);
}

static void *writer_thread(void *arg)
{
    dl_writeq *w = arg;
    dl_err e;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->closing) pthread_cond_wait(&w->cv, &w->lock);
        dl_writeq_file *f = w->head;
        if (f) {
            w->head = f->next;
            if (!w->head) w->tail = NULL;
        }
        int skip = w->failed;
        pthread_mutex_unlock(&w->lock);
        if (!f) break; /* closing and nothing left */
        dl_status st = skip ? DL_OK : dl_file_write_atomic(f->path, f->data, f->len, &e);
        pthread_mutex_lock(&w->lock);
        if (st != DL_OK && !w->failed) {
            w->failed = 1;
            w->err = e;
        } else if (st == DL_OK && !skip) {
            w->files++;
            w->bytes += f->len;
        }
        pthread_mutex_unlock(&w->lock);
        file_free(f);
    }
    return NULL;
}

void dl_writeq_start(dl_writeq *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cv, NULL);
    dl_signals_hold(&w->held); /* until dl_writeq_finish has joined the writers */
    for (int t = 0; t < DL_WRITEQ_THREADS; t++)
        if (pthread_create(&w->tid[w->nthreads], NULL, writer_thread, w) == 0) w->nthreads++;
}

dl_status dl_writeq_put(dl_writeq *w, const char *dir, const char *name, void *data, size_t len, dl_err *e)
{
    dl_writeq_file *f = malloc(sizeof *f);
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (!f || !path) {
        free(f);
        free(path);
        free(data);
        return dl_err_set(e, DL_ENOMEM, "out of memory");
    }
    size_t dn = strlen(dir);
    while (dn > 1 && dir[dn - 1] == '/') dn--; /* "report/" + "img/x.png": no double slash */
    snprintf(path, n, "%.*s/%s", (int)dn, dir, name);
    *f = (dl_writeq_file){path, data, len, NULL};
    pthread_mutex_lock(&w->lock);
    if (w->nthreads) {
        if (w->tail) w->tail->next = f;
        else w->head = f;
        w->tail = f;
        pthread_cond_signal(&w->cv);
        f = NULL;
    }
    int failed = w->failed;
    dl_err err = w->err;
    pthread_mutex_unlock(&w->lock);
    if (f) { /* no writer thread: write it now */
        dl_status st = dl_file_write_atomic(f->path, f->data, f->len, e);
        pthread_mutex_lock(&w->lock);
        if (st == DL_OK) {
            w->files++;
            w->bytes += f->len;
        }
        pthread_mutex_unlock(&w->lock);
        file_free(f);
        return st;
    }
    if (failed) {
        if (e) *e = err;
        return err.code;
    }
    return DL_OK;
}

dl_status dl_writeq_finish(dl_writeq *w, dl_err *e)
{
    pthread_mutex_lock(&w->lock);
    w->closing = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->lock);
    for (int t = 0; t < w->nthreads; t++) pthread_join(w->tid[t], NULL);
    w->nthreads = 0;
    dl_signals_release(&w->held);
    for (dl_writeq_file *f = w->head, *next; f; f = next) { /* only when a thread could not be joined */
        next = f->next;
        file_free(f);
    }
    w->head = w->tail = NULL;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->lock);
    if (w->failed) {
        if (e) *e = w->err;
        return w->err.code;
    }
    return DL_OK;
}
