/* flight.c — the coalescing table: a chained hash of entries, a timer thread
 * for waiter deadlines and for dropping expired results. */
#include "flight.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"

#define NBUCKETS 4096

typedef struct entry {
    struct entry *next;          /* hash chain */
    struct entry *rnext, *rprev; /* running list (RUNNING entries only) */
    bool running;
    int64_t keep_until_ms;
    fl_waiter *waiters;
    fl_result res;
    char id[];
} entry;

struct flights {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    entry *buckets[NBUCKETS];
    entry *running;
    long nrunning;
    bool stopping;
    pthread_t timer;
};

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

static entry **find(flights *f, const char *id)
{
    entry **pp = &f->buckets[hash(id)];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void running_add(flights *f, entry *e)
{
    e->running = true;
    e->rprev = NULL;
    e->rnext = f->running;
    if (f->running) f->running->rprev = e;
    f->running = e;
    f->nrunning++;
}

static void running_remove(flights *f, entry *e)
{
    if (e->rprev)
        e->rprev->rnext = e->rnext;
    else
        f->running = e->rnext;
    if (e->rnext) e->rnext->rprev = e->rprev;
    e->running = false;
    f->nrunning--;
}

/* Calls done on a detached list of waiters. */
static void answer_all(fl_waiter *w, const fl_result *res)
{
    while (w) {
        fl_waiter *next = w->next;
        w->next = NULL;
        w->done(w, res);
        w = next;
    }
}

fl_state flights_join(flights *f, const char *id, fl_waiter *w, bool start, fl_result *res)
{
    pthread_mutex_lock(&f->lock);
    entry **pp = find(f, id), *e = *pp;
    if (e && !e->running && e->keep_until_ms <= nb_mono_ms()) { /* expired result */
        *pp = e->next;
        free(e);
        e = NULL;
    }
    fl_state st;
    if (e && e->running) {
        if (w) {
            w->next = e->waiters;
            e->waiters = w;
        }
        st = FL_RUNNING;
    } else if (e) {
        if (res) *res = e->res;
        st = FL_DONE;
    } else if (start) {
        size_t n = strlen(id) + 1;
        e = calloc(1, sizeof(*e) + n);
        if (!e) {
            pthread_mutex_unlock(&f->lock);
            return FL_NONE;
        }
        memcpy(e->id, id, n);
        e->next = *pp;
        *pp = e;
        running_add(f, e);
        if (w) {
            w->next = NULL;
            e->waiters = w;
        }
        st = FL_STARTED;
    } else {
        st = FL_NONE;
    }
    pthread_mutex_unlock(&f->lock);
    return st;
}

void flights_complete(flights *f, const char *id, const fl_result *res, int64_t keep_until_ms)
{
    pthread_mutex_lock(&f->lock);
    entry **pp = find(f, id), *e = *pp;
    if (!e || !e->running) {
        pthread_mutex_unlock(&f->lock);
        return;
    }
    running_remove(f, e);
    fl_waiter *waiters = e->waiters;
    e->waiters = NULL;
    e->res = *res;
    e->keep_until_ms = keep_until_ms;
    if (keep_until_ms <= nb_mono_ms()) { /* nothing to keep: the waiters get a copy */
        *pp = e->next;
        pthread_mutex_unlock(&f->lock);
        answer_all(waiters, &e->res);
        free(e);
        return;
    }
    fl_result *copy = malloc(sizeof(*copy)); /* the entry may be forgotten meanwhile */
    if (copy) *copy = e->res;
    pthread_mutex_unlock(&f->lock);
    answer_all(waiters, copy ? copy : res);
    free(copy);
}

void flights_put(flights *f, const char *id, const fl_result *res, int64_t keep_until_ms)
{
    pthread_mutex_lock(&f->lock);
    entry **pp = find(f, id), *e = *pp;
    if (!e) {
        size_t n = strlen(id) + 1;
        e = calloc(1, sizeof(*e) + n);
        if (e) {
            memcpy(e->id, id, n);
            e->next = *pp;
            *pp = e;
        }
    }
    if (e && !e->running) {
        e->res = *res;
        e->keep_until_ms = keep_until_ms;
    }
    pthread_mutex_unlock(&f->lock);
}

void flights_forget(flights *f, const char *id, int64_t fetched_at_ms)
{
    pthread_mutex_lock(&f->lock);
    entry **pp = find(f, id), *e = *pp;
    if (e && !e->running && e->res.rec.fetched_at_ms == fetched_at_ms) {
        *pp = e->next;
        free(e);
    }
    pthread_mutex_unlock(&f->lock);
}

long flights_running(flights *f)
{
    pthread_mutex_lock(&f->lock);
    long n = f->nrunning;
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* Detaches the waiters of running entries whose deadline has passed. */
static fl_waiter *take_expired_waiters(flights *f, int64_t now)
{
    fl_waiter *out = NULL;
    for (entry *e = f->running; e; e = e->rnext) {
        for (fl_waiter **wp = &e->waiters; *wp;) {
            fl_waiter *w = *wp;
            if (w->deadline_ms && w->deadline_ms <= now) {
                *wp = w->next;
                w->next = out;
                out = w;
            } else {
                wp = &w->next;
            }
        }
    }
    return out;
}

static void sweep_results(flights *f, int64_t now)
{
    for (int i = 0; i < NBUCKETS; i++) {
        for (entry **pp = &f->buckets[i]; *pp;) {
            entry *e = *pp;
            if (!e->running && e->keep_until_ms <= now) {
                *pp = e->next;
                free(e);
            } else {
                pp = &e->next;
            }
        }
    }
}

static void *timer_main(void *arg)
{
    flights *f = arg;
    int64_t next_sweep = nb_mono_ms() + 30000;
    pthread_mutex_lock(&f->lock);
    while (!f->stopping) {
        struct timespec ts;
        nb_timespec_in(20, &ts);
        pthread_cond_timedwait(&f->cond, &f->lock, &ts);
        int64_t now = nb_mono_ms();
        fl_waiter *late = take_expired_waiters(f, now);
        if (now >= next_sweep) {
            sweep_results(f, now);
            next_sweep = now + 30000;
        }
        if (late) {
            pthread_mutex_unlock(&f->lock);
            answer_all(late, NULL);
            pthread_mutex_lock(&f->lock);
        }
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

flights *flights_new(void)
{
    flights *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    if (pthread_create(&f->timer, NULL, timer_main, f) != 0) {
        free(f);
        return NULL;
    }
    return f;
}

void flights_free(flights *f)
{
    if (!f) return;
    pthread_mutex_lock(&f->lock);
    f->stopping = true;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->timer, NULL);
    fl_waiter *left = NULL;
    for (entry *e = f->running; e; e = e->rnext) {
        while (e->waiters) {
            fl_waiter *w = e->waiters;
            e->waiters = w->next;
            w->next = left;
            left = w;
        }
    }
    answer_all(left, NULL);
    for (int i = 0; i < NBUCKETS; i++) {
        for (entry *e = f->buckets[i], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    }
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    free(f);
}
