/* writer.c — one thread writing pending jobs to persistence, each id with its
 * own retry time (a heap of due times), newest write per id wins. */
#include "writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/backoff.h"
#include "nimbus/clock.h"
#include "nimbus/heap.h"
#include "nimbus/log.h"
#include "nimbus/map.h"
#include "nimbus/metrics.h"

typedef struct payload {
    char *path, *body;
    size_t len;
    writer_done_fn done;
    void *arg;
} payload;

typedef struct wjob {
    payload cur;  /* what is (or will be) sent */
    payload next; /* a newer write that arrived while cur was being sent */
    int attempt;  /* failures of cur so far */
    bool busy;    /* cur is being sent (not in the heap) */
    nb_heap_node due;
    char id[];
} wjob;

struct writer {
    store *st;
    writer_opts o;
    pthread_t thread;
    bool thread_started, joined;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC */
    nb_map jobs;         /* id -> wjob */
    nb_heap due;
    long pending;
    bool stopping;
    int64_t deadline_ms;
    nb_counter *stored, *refused, *lost, *superseded, *retries;
};

/* A finished payload whose callback runs once the lock is dropped. */
typedef struct report {
    payload p;
    writer_outcome outcome;
} report;

static void payload_free(payload *p)
{
    free(p->path);
    free(p->body);
    *p = (payload){0};
}

static void run_report(report *r, const store_put_result *res)
{
    if (r->p.done) r->p.done(r->p.arg, r->outcome, r->outcome == WR_STORED ? res : NULL);
    payload_free(&r->p);
}

static void wait_until(writer *w, int64_t at)
{
    struct timespec ts;
    int64_t ms = at - nb_mono_ms();
    if (ms <= 0) return;
    nb_mono_timespec_in(ms, &ts);
    pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

/* Under the lock: j is done with cur (stored or refused). The newer write,
 * if any, becomes cur and is due at once; otherwise j goes. */
static void job_advance(writer *w, wjob *j)
{
    j->cur = (payload){0};
    j->attempt = 0;
    if (j->next.path) {
        j->cur = j->next;
        j->next = (payload){0};
        if (nb_heap_push(&w->due, &j->due, nb_mono_ms()) == NB_OK) return;
        nb_error("out of memory: write of %s lost", j->id);
        nb_counter_inc(w->lost);
        payload_free(&j->cur); /* its callback: not worth a path of its own */
    }
    nb_map_remove(&w->jobs, j->id);
    w->pending--;
    free(j);
}

/* Sends one due job; called with the lock held, drops it while sending. */
static void send_one(writer *w, wjob *j)
{
    j->busy = true;
    payload p = j->cur;
    long timeout = 0;
    if (w->stopping) {
        timeout = (long)(w->deadline_ms - nb_mono_ms());
        if (timeout < 50) timeout = 50;
    }
    pthread_mutex_unlock(&w->lock);

    store_put_result res;
    nb_error err = {0};
    nb_err e = api_store_put(w->st, p.path, p.body, p.len, timeout, &res, &err);

    pthread_mutex_lock(&w->lock);
    j->busy = false;
    report done = {.p = p};
    bool finished = true;
    if (e == NB_OK) {
        done.outcome = WR_STORED;
        nb_counter_inc(w->stored);
    } else if (!api_store_err_transient(e)) {
        done.outcome = WR_REFUSED;
        nb_counter_inc(w->refused);
        nb_error("persistence refused the write of %s (dropped): %s", j->id, err.msg);
    } else {
        finished = false;
        long ms = nb_backoff_ms(j->attempt, w->o.base_backoff_ms, w->o.max_backoff_ms);
        j->attempt++;
        nb_counter_inc(w->retries);
        nb_warn("write of %s failed (%s); retry %d in %ld ms", j->id, err.msg, j->attempt, ms);
        if (j->next.path) { /* a newer one waits: it replaces this one, same backoff */
            done.outcome = WR_SUPERSEDED;
            nb_counter_inc(w->superseded);
            j->cur = j->next;
            j->next = (payload){0};
        } else {
            done.p = (payload){0};
        }
        if (nb_heap_push(&w->due, &j->due, nb_mono_ms() + ms) != NB_OK) {
            nb_error("out of memory: write of %s lost", j->id);
            nb_counter_inc(w->lost);
            payload_free(&j->cur);
            finished = true;
        }
    }
    if (finished) job_advance(w, j);
    pthread_mutex_unlock(&w->lock);
    if (done.p.path) run_report(&done, &res);
    if (e == NB_OK && res.event[0] && w->o.on_event) w->o.on_event(w->o.on_event_ctx);
    pthread_mutex_lock(&w->lock);
}

static bool report_lost(const char *key, void *value, void *arg)
{
    wjob *j = value;
    long *n = arg;
    report r = {.p = j->cur, .outcome = WR_LOST};
    run_report(&r, NULL);
    if (j->next.path) {
        report r2 = {.p = j->next, .outcome = WR_LOST};
        run_report(&r2, NULL);
        (*n)++;
    }
    (*n)++;
    free(j);
    return true;
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        int64_t now = nb_mono_ms();
        if (w->stopping && now >= w->deadline_ms) break;
        nb_heap_node *n = nb_heap_peek(&w->due);
        if (!n) {
            if (w->stopping) break; /* everything written */
            pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        if (n->key > now) {
            wait_until(w, w->stopping && w->deadline_ms < n->key ? w->deadline_ms : n->key);
            continue;
        }
        nb_heap_pop(&w->due);
        send_one(w, NB_CONTAINER_OF(n, wjob, due));
    }
    /* Shutdown: what could not be written in time is lost (said once). */
    long lost = 0;
    nb_heap_release(&w->due);
    nb_map_sweep(&w->jobs, report_lost, &lost);
    w->pending = 0;
    pthread_mutex_unlock(&w->lock);
    if (lost) {
        nb_counter_add(w->lost, (uint64_t)lost);
        nb_error("shutdown: %ld writes to persistence could not be made in time and are lost "
                 "(the records are fetched again when asked for)",
                 lost);
    }
    return NULL;
}

static int64_t depth_metric(void *arg)
{
    return api_writer_depth(arg);
}

writer *api_writer_new(store *st, const writer_opts *o)
{
    writer *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->st = st;
    w->o = *o;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    nb_map_init(&w->jobs);
    nb_heap_init(&w->due);
    const char *help = "Writes to persistence by result";
    w->stored = nb_counter_new("nimbus_store_writes_total", "result=\"stored\"", help);
    w->refused = nb_counter_new("nimbus_store_writes_total", "result=\"refused\"", help);
    w->lost = nb_counter_new("nimbus_store_writes_total", "result=\"lost\"", help);
    w->superseded = nb_counter_new("nimbus_store_writes_total", "result=\"superseded\"", help);
    w->retries = nb_counter_new("nimbus_store_write_retries_total", NULL,
                                "Writes to persistence retried after a transient failure");
    nb_gauge_fn_new("nimbus_store_write_queue_depth", NULL,
                    "Keys with a write to persistence waiting or in progress", depth_metric, w);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        api_writer_free(w);
        return NULL;
    }
    w->thread_started = true;
    return w;
}

nb_err api_writer_put(writer *w, const char *id, char *path, char *body, size_t len,
                      writer_done_fn done, void *arg)
{
    report lost = {.p = {.path = path, .body = body, .len = len, .done = done, .arg = arg},
                   .outcome = WR_LOST};
    report replaced = {.outcome = WR_SUPERSEDED};
    if (!path || !body) {
        nb_error("out of memory queueing the write of %s: lost", id);
        nb_counter_inc(w->lost);
        run_report(&lost, NULL);
        return NB_ERR_UNAVAILABLE;
    }
    pthread_mutex_lock(&w->lock);
    const char *why = NULL;
    wjob *j = w->stopping ? NULL : nb_map_get(&w->jobs, id);
    if (w->stopping) {
        why = "shutting down";
    } else if (j) {
        payload *slot = j->busy ? &j->next : &j->cur;
        replaced.p = *slot;
        *slot = lost.p;
        lost.p = (payload){0};
    } else if (w->pending >= w->o.max_pending) {
        why = "too many writes pending";
    } else {
        size_t n = strlen(id) + 1;
        j = calloc(1, sizeof(*j) + n);
        if (j) memcpy(j->id, id, n);
        if (!j || nb_map_put(&w->jobs, j->id, j, NULL) != NB_OK) {
            free(j);
            why = "out of memory";
        } else if (nb_heap_push(&w->due, &j->due, nb_mono_ms()) != NB_OK) {
            nb_map_remove(&w->jobs, j->id);
            free(j);
            why = "out of memory";
        } else {
            j->cur = lost.p;
            lost.p = (payload){0};
            w->pending++;
            pthread_cond_signal(&w->wake);
        }
    }
    pthread_mutex_unlock(&w->lock);
    if (replaced.p.path) {
        nb_counter_inc(w->superseded);
        run_report(&replaced, NULL);
    }
    if (!lost.p.path) return NB_OK;
    nb_counter_inc(w->lost);
    nb_error("write of %s lost: %s", id, why);
    run_report(&lost, NULL);
    return NB_ERR_UNAVAILABLE;
}

long api_writer_depth(writer *w)
{
    pthread_mutex_lock(&w->lock);
    long d = w->pending;
    pthread_mutex_unlock(&w->lock);
    return d;
}

void api_writer_stop(writer *w, int64_t deadline_ms)
{
    pthread_mutex_lock(&w->lock);
    bool join = w->thread_started && !w->joined;
    w->joined = true;
    if (!w->stopping) {
        w->stopping = true;
        w->deadline_ms = deadline_ms;
        /* One last attempt for every id, backoff or not: all due now. */
        int64_t now = nb_mono_ms();
        for (size_t i = 0; i < w->due.len; i++)
            w->due.a[i]->key = now;
    }
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->lock);
    if (join) pthread_join(w->thread, NULL);
}

static void free_job(void *v)
{
    wjob *j = v;
    payload_free(&j->cur);
    payload_free(&j->next);
    free(j);
}

void api_writer_free(writer *w)
{
    if (!w) return;
    api_writer_stop(w, nb_mono_ms());
    nb_heap_release(&w->due);
    nb_map_release(&w->jobs, free_job);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}
