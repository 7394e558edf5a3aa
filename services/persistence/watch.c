/* watch.c — long polls held until a newer version, no renewal, or their time
 * (see watch.h).
 *
 * Shared state: the held waiters (an array of pointers), running/stopping,
 * under mu. The watch thread snapshots the distinct keys under mu, reads their
 * state from the store without it, then lets go (under mu: off the array;
 * then, without it: to a worker) every waiter whose condition holds. */
#include "watch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/map.h"
#include "nimbus/metrics.h"
#include "nimbus/record.h"

#define OUTCOMES 5 /* WATCH_NEWER .. WATCH_STOPPING */

typedef struct waiter {
    nb_req *r;
    kv_ns ns;
    char key[NB_QUERY_MAX + 1];
    int64_t newer_than_ms, deadline_ms;
    watch_done_fn done;
    void *arg;
    watch_outcome why;
} waiter;

struct watch {
    watch_opts o;
    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC: a waiter came, or stop */
    waiter **held;
    size_t n;
    bool running, started;
    pthread_t thread;
    nb_counter *outcomes[OUTCOMES];
};

static const char *const outcome_names[] = {"newer",       "no-renewal", "timeout",
                                            "unavailable", "stopping",   "full"};

const char *ps_watch_outcome_name(watch_outcome o)
{
    return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o]
                                                                          : "unknown";
}

static int64_t waiters_metric(void *arg)
{
    watch *w = arg;
    pthread_mutex_lock(&w->mu);
    int64_t n = (int64_t)w->n;
    pthread_mutex_unlock(&w->mu);
    return n;
}

watch *ps_watch_new(const watch_opts *o)
{
    watch *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->o = *o;
    if (w->o.interval_ms <= 0) w->o.interval_ms = 25;
    if (w->o.max_waiters <= 0) w->o.max_waiters = 10000;
    w->held = calloc((size_t)w->o.max_waiters, sizeof(*w->held));
    if (!w->held) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < OUTCOMES; i++) {
        char labels[48];
        snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome_names[i]);
        w->outcomes[i] = nb_counter_new("nimbus_watch_total", labels,
                                        "Long polls let go, by why (newer version, no renewal, "
                                        "timeout, cache unavailable, stopping)");
    }
    nb_gauge_fn_new("nimbus_watch_waiters", NULL, "GETs held waiting for a newer version",
                    waiters_metric, w);
    return w;
}

store *ps_watch_store(watch *w)
{
    return w->o.st;
}

/* Runs on a worker: the owner's done. */
static void let_go_on_worker(nb_req *r, void *ctx)
{
    waiter *x = ctx;
    x->done(r, x->arg, x->why);
    free(x);
}

/* Hands the waiters in out[0..n) to workers; without mu. */
static void let_go(watch *w, waiter **out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nb_counter_inc(w->outcomes[out[i]->why]);
        nb_req_to_worker(out[i]->r, let_go_on_worker, out[i]);
    }
}

bool ps_watch_add(watch *w, nb_req *r, kv_ns ns, const char *key, int64_t newer_than_ms,
                  int64_t deadline_ms, watch_done_fn done, void *arg)
{
    waiter *x = malloc(sizeof(*x));
    if (!x) return false;
    *x = (waiter){.r = r,
                  .ns = ns,
                  .newer_than_ms = newer_than_ms,
                  .deadline_ms = deadline_ms,
                  .done = done,
                  .arg = arg};
    snprintf(x->key, sizeof(x->key), "%s", key);
    pthread_mutex_lock(&w->mu);
    bool ok = w->running && w->n < (size_t)w->o.max_waiters;
    if (ok) {
        w->held[w->n++] = x;
        pthread_cond_signal(&w->cond);
    }
    pthread_mutex_unlock(&w->mu);
    if (!ok) free(x);
    return ok;
}

/* Sleeps until the next read is due: interval_ms, or the earliest deadline
 * when sooner, or until a waiter comes while none is held. Under mu. */
static void nap(watch *w)
{
    if (w->n == 0) {
        pthread_cond_wait(&w->cond, &w->mu);
        return;
    }
    int64_t now = nb_mono_ms(), until = now + w->o.interval_ms;
    for (size_t i = 0; i < w->n; i++)
        if (w->held[i]->deadline_ms < until) until = w->held[i]->deadline_ms;
    if (until <= now) return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (until - now) * 1000000LL;
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    pthread_cond_timedwait(&w->cond, &w->mu, &ts);
}

/* The keys held now, each once: map "<ns>|<key>" → index + 1. Under mu. */
static size_t snapshot(watch *w, nb_map *index, kv_ns *ns, char (*keys)[NB_QUERY_MAX + 1])
{
    size_t nk = 0;
    for (size_t i = 0; i < w->n; i++) {
        char id[NB_QUERY_MAX + 8];
        snprintf(id, sizeof(id), "%d|%s", (int)w->held[i]->ns, w->held[i]->key);
        if (nb_map_get(index, id)) continue;
        if (nb_map_put(index, id, (void *)(uintptr_t)(nk + 1), NULL) != NB_OK) continue;
        ns[nk] = w->held[i]->ns;
        memcpy(keys[nk], w->held[i]->key, sizeof(keys[nk]));
        nk++;
    }
    return nk;
}

/* One read of every held key, then the waiters whose condition holds go. */
static void tick(watch *w)
{
    size_t cap = w->n;
    kv_ns *ns = malloc(cap * sizeof(*ns));
    char(*keys)[NB_QUERY_MAX + 1] = malloc(cap * sizeof(*keys));
    const char **kp = malloc(cap * sizeof(*kp));
    kv_watch *st = calloc(cap, sizeof(*st));
    waiter **out = malloc(cap * sizeof(*out) + sizeof(*out));
    nb_map index;
    nb_map_init(&index);
    if (!ns || !keys || !kp || !st || !out) goto out_free; /* try again next tick */
    size_t nk = snapshot(w, &index, ns, keys);
    for (size_t i = 0; i < nk; i++)
        kp[i] = keys[i];
    pthread_mutex_unlock(&w->mu);
    nb_err rc = nk ? ps_store_watch(w->o.st, nk, ns, kp, st) : NB_OK;
    pthread_mutex_lock(&w->mu);
    int64_t now = nb_mono_ms();
    size_t nout = 0;
    for (size_t i = w->n; i-- > 0;) {
        waiter *x = w->held[i];
        char id[NB_QUERY_MAX + 8];
        snprintf(id, sizeof(id), "%d|%s", (int)x->ns, x->key);
        uintptr_t at = (uintptr_t)nb_map_get(&index, id);
        bool go = true;
        if (at && rc != NB_OK)
            x->why = WATCH_UNAVAILABLE;
        else if (at && st[at - 1].version_ms > x->newer_than_ms)
            x->why = WATCH_NEWER;
        else if (at && !st[at - 1].lease_held)
            x->why = WATCH_NO_RENEWAL;
        else if (x->deadline_ms <= now)
            x->why = WATCH_TIMEOUT;
        else
            go = false;
        if (!go || nout == cap) continue;
        out[nout++] = x;
        w->held[i] = w->held[--w->n];
    }
    pthread_mutex_unlock(&w->mu);
    let_go(w, out, nout);
    pthread_mutex_lock(&w->mu);
out_free:
    nb_map_release(&index, NULL);
    free(out);
    free(st);
    free(kp);
    free(keys);
    free(ns);
}

static void *watch_thread(void *arg)
{
    watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (w->running) {
        nap(w);
        if (w->running && w->n > 0) tick(w);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

nb_err ps_watch_start(watch *w)
{
    pthread_mutex_lock(&w->mu);
    w->running = true;
    pthread_mutex_unlock(&w->mu);
    if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
        w->running = false;
        return NB_ERR_INTERNAL;
    }
    w->started = true;
    return NB_OK;
}

void ps_watch_stop(watch *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->running = false;
    pthread_cond_signal(&w->cond);
    size_t n = w->n;
    waiter **out = n ? malloc(n * sizeof(*out)) : NULL;
    if (out) {
        memcpy(out, w->held, n * sizeof(*out));
        w->n = 0;
    }
    pthread_mutex_unlock(&w->mu);
    if (w->started) pthread_join(w->thread, NULL);
    w->started = false;
    if (n && !out) { /* no memory for the copy: let them go one by one */
        pthread_mutex_lock(&w->mu);
        while (w->n > 0) {
            waiter *x = w->held[--w->n];
            pthread_mutex_unlock(&w->mu);
            x->why = WATCH_STOPPING;
            let_go(w, &x, 1);
            pthread_mutex_lock(&w->mu);
        }
        pthread_mutex_unlock(&w->mu);
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i]->why = WATCH_STOPPING;
    let_go(w, out, n);
    free(out);
}

void ps_watch_free(watch *w)
{
    if (!w) return;
    ps_watch_stop(w);
    free(w->held);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
