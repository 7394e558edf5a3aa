/* writer.c — one thread PUTting queued records to persistence, with retry. */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/backoff.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"

typedef struct job {
    struct job *next;
    char *path, *body;
    size_t len;
    writer_done_fn done;
    void *arg;
} job;

struct writer {
    store_client *store;
    long max_queue;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job *head, **tail;
    long depth;
    bool stopping;
    int64_t stop_deadline_ms;
    nb_counter *stored, *refused, *retries, *lost;
};

static void job_free(job *j)
{
    free(j->path);
    free(j->body);
    free(j);
}

static int64_t writer_depth_metric(void *arg)
{
    return writer_depth(arg);
}

/* Waits ms before a retry (less when stopping: never past the drain
 * deadline); false when the deadline has passed and the writer must give up. */
static bool wait_backoff(writer *w, long ms)
{
    pthread_mutex_lock(&w->lock);
    if (w->stopping) {
        int64_t left = w->stop_deadline_ms - nb_mono_ms();
        if (left < ms) ms = left > 0 ? (long)left : 0;
    }
    struct timespec ts;
    nb_timespec_in(ms, &ts);
    if (ms > 0) pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    bool give_up = w->stopping && nb_mono_ms() >= w->stop_deadline_ms;
    pthread_mutex_unlock(&w->lock);
    return !give_up;
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->stopping)
            pthread_cond_wait(&w->cond, &w->lock);
        job *j = w->head;
        pthread_mutex_unlock(&w->lock);
        if (!j) return NULL; /* stopping and drained */

        bool stored = false, done = false;
        for (int attempt = 0; !done; attempt++) {
            bool retryable;
            char err[300];
            nb_err e = store_put(w->store, j->path, j->body, j->len, &retryable, err, sizeof(err));
            if (e == NB_OK) {
                stored = done = true;
            } else if (!retryable) {
                nb_error("persistence refused %s: %s", j->path, err);
                done = true;
            } else {
                long ms = nb_backoff_ms(attempt, 100, 6400);
                nb_warn("write of %s failed (%s); retry %d in %ld ms", j->path, err, attempt + 1,
                        ms);
                nb_counter_inc(w->retries);
                if (!wait_backoff(w, ms)) {
                    pthread_mutex_lock(&w->lock);
                    long left = w->depth;
                    pthread_mutex_unlock(&w->lock);
                    nb_error("shutdown: %ld writes to persistence could not be made and are lost",
                             left);
                    nb_counter_add(w->lost, (uint64_t)left);
                    return NULL;
                }
            }
        }
        if (j->done) j->done(j->arg, stored);
        nb_counter_inc(stored ? w->stored : w->refused); /* after done: tests wait on it */
        pthread_mutex_lock(&w->lock);
        w->head = j->next;
        if (!w->head) w->tail = &w->head;
        w->depth--;
        pthread_mutex_unlock(&w->lock);
        job_free(j);
    }
}

writer *writer_new(store_client *store, long max_queue)
{
    writer *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->store = store;
    w->max_queue = max_queue;
    w->tail = &w->head;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->stored = nb_counter_new("nimbus_store_writes_total", "result=\"stored\"",
                               "Writes to persistence by result");
    w->refused = nb_counter_new("nimbus_store_writes_total", "result=\"refused\"",
                                "Writes to persistence by result");
    w->lost = nb_counter_new("nimbus_store_writes_total", "result=\"lost\"",
                             "Writes to persistence by result");
    w->retries = nb_counter_new("nimbus_store_write_retries_total", NULL,
                                "Writes to persistence retried after a transient failure");
    nb_gauge_fn_new("nimbus_store_write_queue_depth", NULL,
                    "Writes to persistence waiting or in progress", writer_depth_metric, w);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        free(w);
        return NULL;
    }
    return w;
}

nb_err writer_put(writer *w, char *path, char *body, size_t len, writer_done_fn done, void *arg)
{
    job *j = calloc(1, sizeof(*j));
    if (!j || !path || !body) {
        nb_error("out of memory queueing a write: lost");
        nb_counter_inc(w->lost);
        free(j), free(path), free(body);
        return NB_ERR_NOMEM;
    }
    *j = (job){.path = path, .body = body, .len = len, .done = done, .arg = arg};
    pthread_mutex_lock(&w->lock);
    if (w->depth >= w->max_queue || w->stopping) {
        pthread_mutex_unlock(&w->lock);
        nb_error("write queue full (%ld): write of %s lost", w->max_queue, path);
        nb_counter_inc(w->lost);
        job_free(j);
        return NB_ERR_UNAVAILABLE;
    }
    *w->tail = j;
    w->tail = &j->next;
    w->depth++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return NB_OK;
}

long writer_depth(writer *w)
{
    pthread_mutex_lock(&w->lock);
    long d = w->depth;
    pthread_mutex_unlock(&w->lock);
    return d;
}

void writer_free(writer *w, long grace_ms)
{
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    w->stop_deadline_ms = nb_mono_ms() + grace_ms;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    for (job *j = w->head, *n; j; j = n) {
        n = j->next;
        if (j->done) j->done(j->arg, false);
        job_free(j);
    }
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
