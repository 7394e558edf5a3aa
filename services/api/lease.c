/* lease.c — ask for the lease, wait for the holder's value (see lease.h). */
#include "lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/backoff.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"

enum { O_FETCH, O_ALONE, O_GOT, O_FAILED, O_TIMEOUT, O_N };
static const char *const outcome_names[O_N] = {"fetch", "alone", "got", "failed", "timeout"};

struct leases {
    store *st;
    lease_opts o;
    nb_counter *outcomes[O_N];
};

leases *api_leases_new(store *st, const lease_opts *o)
{
    leases *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->st = st;
    l->o = *o;
    if (l->o.poll_ms <= 0) l->o.poll_ms = 2000;
    for (int i = 0; i < O_N; i++) {
        char labels[32];
        snprintf(labels, sizeof(labels), "outcome=\"%s\"", outcome_names[i]);
        l->outcomes[i] =
            nb_counter_new("nimbus_lease_outcomes_total", labels,
                           "Fetches asked of the renewal lease: fetched here (fetch; alone: no "
                           "lease could be had), another replica's value (got), its failure "
                           "(failed), or waited too long (timeout)");
    }
    return l;
}

void api_leases_free(leases *l)
{
    free(l);
}

/* One key's lease loop; exactly one of rec / geo is set. */
typedef struct want {
    store_lease_kind kind;
    const char *key;
    int64_t seen_ms;
    nb_record *rec;
    char *source;
    nb_geo_entry *geo;
} want;

/* Reads (waiting up to wait_ms) the value newer than seen; true when it is there. */
static bool newer_value(store *st, const want *w, long wait_ms, nb_error *err)
{
    nb_err e;
    if (w->rec) {
        e = api_store_wait_record(st, w->key, w->seen_ms, wait_ms, w->rec, w->source, err);
        return e == NB_OK && w->rec->fetched_at_ms > w->seen_ms;
    }
    e = api_store_wait_geo(st, w->key, w->seen_ms, wait_ms, w->geo, err);
    return e == NB_OK && w->geo->resolved_at_ms > w->seen_ms;
}

static bool stopped(const lease_opts *o)
{
    return o->stop && atomic_load(o->stop);
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static lease_verdict run(leases *ls, const want *w, int64_t deadline_ms, char token[40],
                         nb_error *err)
{
    store *st = ls->st;
    const lease_opts *o = &ls->o;
    token[0] = '\0';
    if (o->alone) return LEASE_FETCH;
    for (int round = 0;; round++) {
        int64_t now = nb_mono_ms();
        if (stopped(o) || now >= deadline_ms) {
            nb_counter_inc(ls->outcomes[O_TIMEOUT]);
            nb_error_set(err, stopped(o) ? NB_ERR_UNAVAILABLE : NB_ERR_TIMEOUT, 2,
                         stopped(o) ? "server shutting down"
                                    : "another replica's fetch of %s did not finish in time",
                         w->key);
            return LEASE_FAILED;
        }
        store_lease l;
        nb_error lerr = {0};
        int64_t t0 = now;
        if (api_store_lease_acquire(st, w->kind, w->key, w->seen_ms, o->ttl_ms, &l, &lerr) !=
            NB_OK) {
            nb_counter_inc(ls->outcomes[O_ALONE]);
            nb_warn("no renewal lease for %s (%s): fetching it without one", w->key, lerr.msg);
            return LEASE_FETCH;
        }
        switch (l.state) {
        case STORE_LEASE_GRANTED:
            snprintf(token, 40, "%s", l.token);
            nb_counter_inc(ls->outcomes[O_FETCH]);
            return LEASE_FETCH;
        case STORE_LEASE_FAILED:
            nb_counter_inc(ls->outcomes[O_FAILED]);
            nb_error_set(err, NB_ERR_UNAVAILABLE, l.retry_after_s > 0 ? l.retry_after_s : 1,
                         "another replica's fetch of %s failed: %s", w->key, l.reason);
            return LEASE_FAILED;
        case STORE_LEASE_NEWER:
            if (newer_value(st, w, 0, &lerr)) {
                nb_counter_inc(ls->outcomes[O_GOT]);
                return LEASE_GOT;
            }
            break; /* gone meanwhile (expired): ask again */
        case STORE_LEASE_HELD: {
            long wait = l.ttl_ms + 50;
            if (wait > o->poll_ms) wait = o->poll_ms;
            if (wait > deadline_ms - now) wait = (long)(deadline_ms - now);
            if (newer_value(st, w, wait, &lerr)) {
                nb_counter_inc(ls->outcomes[O_GOT]);
                return LEASE_GOT;
            }
            break; /* no renewal (the holder released or died), or the poll ended: ask again */
        }
        }
        /* Asking again at once is right after a long wait; a round that came
         * back at once (a release racing the ask) backs off a little. */
        if (nb_mono_ms() - t0 < 20 && round > 0) {
            long nap = nb_backoff_ms(round, 10, 200);
            if (nap > deadline_ms - nb_mono_ms()) nap = (long)(deadline_ms - nb_mono_ms());
            if (nap > 0) pause_ms(nap);
        }
    }
}

lease_verdict api_lease_record(leases *l, const char *key, int64_t seen_ms, int64_t deadline_ms,
                               char token[40], nb_record *rec, char source[16], nb_error *err)
{
    want w = {
        .kind = STORE_LEASE_RECORD, .key = key, .seen_ms = seen_ms, .rec = rec, .source = source};
    return run(l, &w, deadline_ms, token, err);
}

lease_verdict api_lease_geo(leases *l, const char *query, int64_t deadline_ms, char token[40],
                            nb_geo_entry *geo, nb_error *err)
{
    want w = {.kind = STORE_LEASE_GEOCODE, .key = query, .geo = geo};
    return run(l, &w, deadline_ms, token, err);
}

void api_lease_fail(leases *l, store_lease_kind kind, const char *key, const char *token,
                    long hold_ms, const nb_error *why)
{
    if (!token || !token[0]) return;
    nb_error err = {0};
    if (api_store_lease_release(l->st, kind, key, token, hold_ms, why->retry_after_s, why->msg,
                                &err) != NB_OK)
        nb_info("could not release the lease of %s (%s): it ends with its TTL", key, err.msg);
}
