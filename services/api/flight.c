/* flight.c — the coalescing table: a hash map of entries, two timer heaps
 * (waiter deadlines, DONE-entry expiries) and one timer thread serving both. */
#include "flight.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/map.h"
#include "nimbus/metrics.h"

struct fl_entry {
    bool running;
    fl_result *res;      /* DONE: the kept result (a reference) */
    nb_heap_node expiry; /* DONE: in f->expiries */
    fl_waiter *waiters;  /* RUNNING: attached waiters (doubly linked) */
    char id[];
};

struct flights {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC: the timer's next due time moved, or stop */
    nb_map entries;      /* id -> fl_entry */
    nb_heap deadlines;   /* fl_waiter.timer */
    nb_heap expiries;    /* fl_entry.expiry */
    long max_entries, max_waiters;
    long nrunning, ndone, nwaiters;
    bool stopped;
    bool timer_started;
    pthread_t timer;
    nb_counter *deadline_hits, *refused, *expired, *evicted;
};

/* ---- results -------------------------------------------------------- */

/* The header rounded up so that any payload after it is aligned. */
#define HEADER_SIZE                                                                                \
    ((sizeof(fl_result) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) *                     \
     _Alignof(max_align_t))

fl_result *api_fl_result_new(fl_kind kind)
{
    size_t payload = kind == FL_RECORD  ? sizeof(fl_record)
                     : kind == FL_PLACE ? sizeof(fl_place)
                                        : 0;
    char *mem = calloc(1, HEADER_SIZE + payload);
    if (!mem) return NULL;
    fl_result *r = (fl_result *)(void *)mem;
    atomic_init(&r->refs, 1);
    r->kind = kind;
    if (kind == FL_RECORD) r->rec = (fl_record *)(void *)(mem + HEADER_SIZE);
    if (kind == FL_PLACE) r->geo = (fl_place *)(void *)(mem + HEADER_SIZE);
    return r;
}

/* The answer when there is no memory for an answer: shared, never freed
 * (its count starts so high that references never bring it to 0). */
static fl_result oom_result = {.refs = (long)1 << 60,
                               .kind = FL_ERROR,
                               .err = NB_ERR_NOMEM,
                               .retry_after_s = 5,
                               .reason = "out of memory"};

fl_result *api_fl_result_error(nb_err err, int retry_after_s, const char *reason)
{
    fl_result *r = api_fl_result_new(FL_ERROR);
    if (!r) return api_fl_result_ref(&oom_result);
    r->err = err;
    r->retry_after_s = retry_after_s;
    size_t n = strlen(reason);
    if (n >= sizeof(r->reason)) n = sizeof(r->reason) - 1;
    memcpy(r->reason, reason, n);
    return r;
}

fl_result *api_fl_result_ref(fl_result *r)
{
    atomic_fetch_add(&r->refs, 1);
    return r;
}

void api_fl_result_unref(fl_result *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) free(r);
}

/* ---- entries (all under f->lock) ------------------------------------- */

static void entry_drop(flights *f, fl_entry *e)
{
    nb_map_remove(&f->entries, e->id);
    if (e->running) {
        f->nrunning--;
    } else {
        f->ndone--;
        nb_heap_remove(&f->expiries, &e->expiry);
    }
    api_fl_result_unref(e->res);
    free(e);
}

static fl_entry *entry_new(flights *f, const char *id)
{
    if (f->nrunning + f->ndone >= f->max_entries) {
        /* Full: a kept result is only a shortcut — the one due first makes room. */
        nb_heap_node *n = nb_heap_peek(&f->expiries);
        if (!n) return NULL; /* every entry is a fetch or read under way */
        entry_drop(f, NB_CONTAINER_OF(n, fl_entry, expiry));
        nb_counter_inc(f->evicted);
    }
    size_t n = strlen(id) + 1;
    fl_entry *e = calloc(1, sizeof(*e) + n);
    if (!e) return NULL;
    memcpy(e->id, id, n);
    if (nb_map_put(&f->entries, e->id, e, NULL) != NB_OK) {
        free(e);
        return NULL;
    }
    return e;
}

/* Makes e DONE with res kept keep_ms; drops it when keep_ms <= 0 or the
 * timer heap cannot take it. */
static void entry_keep(flights *f, fl_entry *e, fl_result *res, int64_t keep_ms)
{
    api_fl_result_unref(e->res);
    e->res = api_fl_result_ref(res);
    int64_t at = nb_mono_ms() + keep_ms;
    nb_heap_remove(&f->expiries, &e->expiry);
    if (keep_ms <= 0 || nb_heap_push(&f->expiries, &e->expiry, at) != NB_OK) {
        entry_drop(f, e);
        return;
    }
    if (nb_heap_peek(&f->expiries) == &e->expiry) pthread_cond_signal(&f->wake);
}

static void waiter_attach(flights *f, fl_entry *e, fl_waiter *w)
{
    w->res = NULL;
    w->entry = e;
    w->prev = NULL;
    w->next = e->waiters;
    if (e->waiters) e->waiters->prev = w;
    e->waiters = w;
    f->nwaiters++;
    if (nb_heap_peek(&f->deadlines) == &w->timer) pthread_cond_signal(&f->wake);
}

/* Takes w off its entry and the deadline heap; w->next links the caller's
 * list of waiters to resume. */
static void waiter_detach(flights *f, fl_waiter *w)
{
    fl_entry *e = w->entry;
    if (w->prev)
        w->prev->next = w->next;
    else
        e->waiters = w->next;
    if (w->next) w->next->prev = w->prev;
    nb_heap_remove(&f->deadlines, &w->timer);
    w->entry = NULL;
    w->prev = w->next = NULL;
    f->nwaiters--;
}

/* Resumes a list of detached waiters (linked by next), without the lock.
 * Each gets its own reference to res (NULL: none). */
static void resume_all(fl_waiter *list, fl_result *res)
{
    while (list) {
        fl_waiter *next = list->next; /* list may be freed once resumed */
        list->next = NULL;
        list->res = res ? api_fl_result_ref(res) : NULL;
        list->resume(list);
        list = next;
    }
}

/* ---- API ------------------------------------------------------------ */

fl_state api_fl_join(flights *f, const char *id, fl_waiter *w, bool start, fl_result **res)
{
    pthread_mutex_lock(&f->lock);
    fl_entry *e = nb_map_get(&f->entries, id);
    if (e && !e->running && e->expiry.key <= nb_mono_ms()) { /* due: the timer is late */
        entry_drop(f, e);
        e = NULL;
    }
    fl_state st;
    if (e && e->running) {
        st = FL_RUNNING;
        if (w) {
            if (f->stopped || f->nwaiters >= f->max_waiters ||
                nb_heap_push(&f->deadlines, &w->timer, w->deadline_ms) != NB_OK)
                st = FL_FULL;
            else
                waiter_attach(f, e, w);
        }
    } else if (e) {
        if (res) *res = api_fl_result_ref(e->res);
        st = FL_DONE;
    } else if (!start) {
        st = FL_NONE;
    } else if (f->stopped || !(e = entry_new(f, id))) {
        st = FL_FULL;
    } else {
        e->running = true;
        f->nrunning++;
        st = FL_STARTED;
    }
    if (st == FL_FULL) nb_counter_inc(f->refused);
    pthread_mutex_unlock(&f->lock);
    return st;
}

void api_fl_complete(flights *f, const char *id, fl_result *res, int64_t keep_ms)
{
    pthread_mutex_lock(&f->lock);
    fl_entry *e = nb_map_get(&f->entries, id);
    if (!e || !e->running) {
        pthread_mutex_unlock(&f->lock);
        return;
    }
    fl_waiter *list = NULL, *tail = NULL;
    while (e->waiters) {
        fl_waiter *w = e->waiters;
        waiter_detach(f, w);
        if (tail)
            tail->next = w;
        else
            list = w;
        tail = w;
    }
    e->running = false;
    f->nrunning--;
    f->ndone++;
    entry_keep(f, e, res, keep_ms);
    pthread_mutex_unlock(&f->lock);
    resume_all(list, res);
}

void api_fl_put(flights *f, const char *id, fl_result *res, int64_t keep_ms)
{
    pthread_mutex_lock(&f->lock);
    fl_entry *e = nb_map_get(&f->entries, id);
    if (!e && !f->stopped && keep_ms > 0 && (e = entry_new(f, id))) f->ndone++;
    if (e && !e->running) entry_keep(f, e, res, keep_ms);
    pthread_mutex_unlock(&f->lock);
}

void api_fl_forget(flights *f, const char *id, int64_t fetched_at_ms)
{
    pthread_mutex_lock(&f->lock);
    fl_entry *e = nb_map_get(&f->entries, id);
    if (e && !e->running && e->res->kind == FL_RECORD && e->res->err == NB_OK &&
        e->res->rec->rec.fetched_at_ms == fetched_at_ms)
        entry_drop(f, e);
    pthread_mutex_unlock(&f->lock);
}

void api_fl_drop(flights *f, const char *id)
{
    pthread_mutex_lock(&f->lock);
    fl_entry *e = nb_map_get(&f->entries, id);
    if (e && !e->running) entry_drop(f, e);
    pthread_mutex_unlock(&f->lock);
}

static long read_count(flights *f, const long *v)
{
    pthread_mutex_lock(&f->lock);
    long n = *v;
    pthread_mutex_unlock(&f->lock);
    return n;
}

long api_fl_running(flights *f)
{
    return read_count(f, &f->nrunning);
}

long api_fl_done(flights *f)
{
    return read_count(f, &f->ndone);
}

long api_fl_waiters(flights *f)
{
    return read_count(f, &f->nwaiters);
}

/* ---- the timer ------------------------------------------------------ */

static void *timer_main(void *arg)
{
    flights *f = arg;
    pthread_mutex_lock(&f->lock);
    while (!f->stopped) {
        int64_t now = nb_mono_ms();
        fl_waiter *late = NULL;
        for (nb_heap_node *n; (n = nb_heap_peek(&f->deadlines)) && n->key <= now;) {
            fl_waiter *w = NB_CONTAINER_OF(n, fl_waiter, timer);
            waiter_detach(f, w);
            w->next = late;
            late = w;
            nb_counter_inc(f->deadline_hits);
        }
        for (nb_heap_node *n; (n = nb_heap_peek(&f->expiries)) && n->key <= now;) {
            entry_drop(f, NB_CONTAINER_OF(n, fl_entry, expiry));
            nb_counter_inc(f->expired);
        }
        if (late) {
            pthread_mutex_unlock(&f->lock);
            resume_all(late, NULL);
            pthread_mutex_lock(&f->lock);
            continue;
        }
        int64_t next = now + 60000;
        nb_heap_node *d = nb_heap_peek(&f->deadlines), *x = nb_heap_peek(&f->expiries);
        if (d && d->key < next) next = d->key;
        if (x && x->key < next) next = x->key;
        struct timespec ts;
        nb_mono_timespec_in(next - now, &ts);
        pthread_cond_timedwait(&f->wake, &f->lock, &ts);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

static int64_t running_metric(void *arg)
{
    return api_fl_running(arg);
}

static int64_t done_metric(void *arg)
{
    return api_fl_done(arg);
}

static int64_t waiters_metric(void *arg)
{
    return api_fl_waiters(arg);
}

flights *api_fl_new(long max_entries, long max_waiters)
{
    flights *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    pthread_mutex_init(&f->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->wake, &ca);
    pthread_condattr_destroy(&ca);
    nb_map_init(&f->entries);
    nb_heap_init(&f->deadlines);
    nb_heap_init(&f->expiries);
    f->max_entries = max_entries;
    f->max_waiters = max_waiters;
    const char *help = "Coalescing entries (fetches and reads) by state";
    nb_gauge_fn_new("nimbus_flight_entries", "state=\"running\"", help, running_metric, f);
    nb_gauge_fn_new("nimbus_flight_entries", "state=\"done\"", help, done_metric, f);
    nb_gauge_fn_new("nimbus_flight_waiters", NULL, "Requests waiting for a fetch or read",
                    waiters_metric, f);
    f->deadline_hits = nb_counter_new("nimbus_flight_deadlines_total", NULL,
                                      "Waiting requests resumed by their deadline");
    f->refused = nb_counter_new("nimbus_flight_refused_total", NULL,
                                "Joins refused: too many entries or waiters, or stopping");
    f->expired = nb_counter_new("nimbus_flight_expired_total", NULL,
                                "Kept results dropped at their keep time");
    f->evicted = nb_counter_new("nimbus_flight_evicted_total", NULL,
                                "Kept results dropped early to make room (table full)");
    if (pthread_create(&f->timer, NULL, timer_main, f) != 0) {
        api_fl_free(f);
        return NULL;
    }
    f->timer_started = true;
    return f;
}

void api_fl_stop(flights *f)
{
    pthread_mutex_lock(&f->lock);
    bool was = f->stopped;
    f->stopped = true;
    pthread_cond_broadcast(&f->wake);
    pthread_mutex_unlock(&f->lock);
    if (was) return;
    if (f->timer_started) pthread_join(f->timer, NULL);
    /* Every waiter still attached is resumed with nothing. */
    pthread_mutex_lock(&f->lock);
    fl_waiter *left = NULL;
    for (nb_heap_node *n; (n = nb_heap_peek(&f->deadlines));) {
        fl_waiter *w = NB_CONTAINER_OF(n, fl_waiter, timer);
        waiter_detach(f, w);
        w->next = left;
        left = w;
    }
    pthread_mutex_unlock(&f->lock);
    if (left) nb_info("shutdown: requests still waiting for a fetch are answered");
    resume_all(left, NULL);
}

static void free_entry(void *v)
{
    fl_entry *e = v;
    api_fl_result_unref(e->res);
    free(e);
}

void api_fl_free(flights *f)
{
    if (!f) return;
    api_fl_stop(f);
    nb_heap_release(&f->expiries);
    nb_heap_release(&f->deadlines);
    nb_map_release(&f->entries, free_entry);
    pthread_cond_destroy(&f->wake);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
