/* relay.c — the outbox relay thread (see relay.h). */
#include "relay.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nimbus/backoff.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/metrics.h"

enum { SLOT_WAITING, SLOT_DELIVERED, SLOT_FAILED };

struct relay {
    store *st;
    broker *br;
    relay_opts o;
    char owner[65];
    pthread_t thread;
    bool started, joined;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    bool woken, stopping;
    int64_t flush_deadline_ms;
    long release_timeout_ms;
    /* The batch in flight (under lock): reports find their slot by index,
     * and only while gen matches (a late report of an old batch is ignored). */
    uint32_t gen;
    unsigned char *slots;
    size_t nslots;
    long outstanding;
    bool unsafe_to_free; /* reports still expected when the relay stopped */
    atomic_long in_flight;
    atomic_long outbox_pending;
    atomic_llong oldest_age_ms;
    int64_t last_error_log_ms;
    nb_counter *claimed, *published, *acked, *failed, *released;
};

static void on_report(void *ctx, void *msg, nb_err result, const char *reason)
{
    relay *r = ctx;
    uintptr_t v = (uintptr_t)msg;
    uint32_t gen = (uint32_t)(v >> 16);
    size_t i = (size_t)(v & 0xffff);
    if (result != NB_OK) nb_debug("event not delivered: %s (stays in the outbox)", reason);
    /* Everything under the lock: once outstanding reaches 0 the relay may
     * finish, stop and be freed. */
    pthread_mutex_lock(&r->lock);
    nb_counter_inc(result == NB_OK ? r->published : r->failed);
    if (gen == r->gen && i < r->nslots && r->slots[i] == SLOT_WAITING) {
        r->slots[i] = result == NB_OK ? SLOT_DELIVERED : SLOT_FAILED;
        r->outstanding--;
        pthread_cond_broadcast(&r->cond);
    }
    pthread_mutex_unlock(&r->lock);
}

/* Logs a failure at most every 10 s (an outage repeats it every poll). */
static void log_failure(relay *r, const char *what, const char *msg)
{
    int64_t now = nb_mono_ms();
    if (now - r->last_error_log_ms < 10000) return;
    r->last_error_log_ms = now;
    nb_warn("outbox relay: %s: %s (events stay in the outbox)", what, msg);
}

/* Waits (lock held) until at, a wake-up or stop. */
static void wait_until(relay *r, int64_t at)
{
    while (!r->stopping && !r->woken && nb_mono_ms() < at) {
        struct timespec ts;
        nb_mono_timespec_in(at - nb_mono_ms(), &ts);
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    }
}

static void refresh_stats(relay *r)
{
    outbox_stats s;
    nb_error err = {0};
    if (api_store_stats(r->st, &s, &err) != NB_OK) return;
    atomic_store(&r->outbox_pending, s.pending);
    atomic_store(&r->oldest_age_ms, (long long)(s.oldest_age_s * 1000));
}

/* Acks ids until it works or until deadline (monotonic; a stop shortens it),
 * backing off. */
static bool ack_until(relay *r, const char **ids, size_t n, int64_t deadline)
{
    for (int attempt = 0;; attempt++) {
        pthread_mutex_lock(&r->lock);
        if (r->stopping && r->flush_deadline_ms + r->release_timeout_ms < deadline)
            deadline = r->flush_deadline_ms + r->release_timeout_ms;
        pthread_mutex_unlock(&r->lock);
        long count = 0;
        nb_error err = {0};
        long timeout = (long)(deadline - nb_mono_ms());
        if (timeout < 100) timeout = 100;
        if (api_store_ack(r->st, ids, n, timeout, &count, &err) == NB_OK) {
            nb_counter_add(r->acked, (uint64_t)n);
            return true;
        }
        log_failure(r, "ack", err.msg);
        long ms = nb_backoff_ms(attempt, 200, 2000);
        if (nb_mono_ms() + ms >= deadline) return false;
        pthread_mutex_lock(&r->lock);
        wait_until(r, nb_mono_ms() + ms); /* a stop ends the wait: one more try */
        pthread_mutex_unlock(&r->lock);
    }
}

static void release(relay *r, const char **ids, size_t n, long timeout_ms, bool stopping)
{
    if (!n) return;
    long count = 0;
    nb_error err = {0};
    if (api_store_release(r->st, r->owner, ids, n, timeout_ms, &count, &err) == NB_OK) {
        nb_counter_add(r->released, (uint64_t)count);
        if (stopping)
            nb_info("outbox relay stopping: %ld undelivered events released for the next relay",
                    count);
    } else if (stopping) {
        nb_warn("outbox relay stopping: %zu undelivered events could not be released (%s); "
                "they are relayed again when their claims end",
                n, err.msg);
    } else {
        log_failure(r, "release", err.msg); /* the lease ends by itself */
    }
}

/* Produces a claimed batch, waits for its reports, acks the delivered and
 * releases the rest. Returns how many were not delivered. */
static size_t run_batch(relay *r, outbox_event *evs, size_t n)
{
    int64_t claimed_at = nb_mono_ms();
    int64_t margin = r->o.lease_ms / 4 < 2000 ? r->o.lease_ms / 4 : 2000;
    int64_t lease_end = claimed_at + r->o.lease_ms - margin;
    unsigned char *slots = calloc(n, 1);
    if (!slots) return n; /* the claims run out; they are claimed again then */
    pthread_mutex_lock(&r->lock);
    r->gen++;
    r->slots = slots;
    r->nslots = n;
    r->outstanding = (long)n;
    uint32_t gen = r->gen;
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        void *msg = (void *)(((uintptr_t)gen << 16) | i);
        if (api_broker_produce(r->br, evs[i].key, evs[i].json, evs[i].len, msg) != NB_OK) {
            pthread_mutex_lock(&r->lock);
            slots[i] = SLOT_FAILED;
            r->outstanding--;
            pthread_mutex_unlock(&r->lock);
            nb_counter_inc(r->failed);
        }
    }
    int64_t stats_due = nb_mono_ms() + r->o.poll_ms;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        int64_t until =
            r->stopping && r->flush_deadline_ms < lease_end ? r->flush_deadline_ms : lease_end;
        if (r->outstanding == 0 || nb_mono_ms() >= until) break;
        if (nb_mono_ms() >= stats_due) { /* a long wait (Kafka down): keep the gauges true */
            pthread_mutex_unlock(&r->lock);
            refresh_stats(r);
            stats_due = nb_mono_ms() + r->o.poll_ms;
            pthread_mutex_lock(&r->lock);
            continue;
        }
        if (stats_due < until) until = stats_due;
        struct timespec ts;
        nb_mono_timespec_in(until - nb_mono_ms(), &ts);
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    }
    bool purge = r->outstanding > 0;
    pthread_mutex_unlock(&r->lock);
    if (purge) api_broker_purge(r->br); /* reports for the rest come now, as failures */

    pthread_mutex_lock(&r->lock);
    if (r->outstanding > 0) r->unsafe_to_free = true;
    r->gen++; /* from here on, late reports are ignored */
    r->slots = NULL;
    r->nslots = 0;
    r->outstanding = 0;
    bool stopping = r->stopping;
    pthread_mutex_unlock(&r->lock);

    const char **ok = calloc(n, sizeof(*ok)), **rest = calloc(n, sizeof(*rest));
    size_t nok = 0, nrest = 0;
    for (size_t i = 0; ok && rest && i < n; i++) {
        if (slots[i] == SLOT_DELIVERED)
            ok[nok++] = evs[i].id;
        else
            rest[nrest++] = evs[i].id;
    }
    if (nok) {
        int64_t deadline = stopping ? nb_mono_ms() + r->release_timeout_ms : lease_end;
        if (!ack_until(r, ok, nok, deadline))
            nb_warn("outbox relay: %zu delivered events could not be marked sent; they will be "
                    "delivered again when their claims end (consumers deduplicate on the id)",
                    nok);
    }
    release(r, rest, nrest, stopping ? r->release_timeout_ms : 0, stopping);
    atomic_store(&r->in_flight, 0);
    free(ok);
    free(rest);
    free(slots);
    return nrest;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    int attempt = 0;
    int64_t next = 0, stats_due = 0;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        wait_until(r, next);
        r->woken = false;
        if (r->stopping) break;
        pthread_mutex_unlock(&r->lock);

        int64_t now = nb_mono_ms();
        if (now >= stats_due) {
            refresh_stats(r);
            stats_due = now + r->o.poll_ms;
        }
        outbox_event *evs = NULL;
        size_t n = 0;
        nb_error err = {0};
        nb_err e =
            api_store_claim(r->st, r->owner, (int)r->o.batch, r->o.lease_ms, 0, &evs, &n, &err);
        if (e) {
            log_failure(r, "claim", err.msg);
            next = nb_mono_ms() + nb_backoff_ms(attempt++, 200, 5000);
        } else if (n == 0) {
            attempt = 0;
            next = nb_mono_ms() + r->o.poll_ms;
        } else {
            nb_counter_add(r->claimed, n);
            atomic_store(&r->in_flight, (long)n);
            pthread_mutex_lock(&r->lock);
            bool stopping = r->stopping;
            pthread_mutex_unlock(&r->lock);
            size_t failed = n;
            if (stopping) { /* claimed as the stop came: give them back */
                const char **ids = calloc(n, sizeof(*ids));
                for (size_t i = 0; ids && i < n; i++)
                    ids[i] = evs[i].id;
                release(r, ids, ids ? n : 0, r->release_timeout_ms, true);
                atomic_store(&r->in_flight, 0);
                free(ids);
            } else {
                failed = run_batch(r, evs, n);
            }
            if (failed) { /* Kafka (or memory) trouble: back off */
                log_failure(r, "publish", "events not delivered to Kafka");
                next = nb_mono_ms() + nb_backoff_ms(attempt++, 500, 5000);
            } else {
                attempt = 0;
                next = 0; /* more may be waiting: claim again at once */
                stats_due = 0;
            }
        }
        api_outbox_events_free(evs, n);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static int64_t in_flight_metric(void *arg)
{
    return atomic_load(&((relay *)arg)->in_flight);
}

static int64_t pending_metric(void *arg)
{
    return atomic_load(&((relay *)arg)->outbox_pending);
}

static int64_t age_metric(void *arg)
{
    return atomic_load(&((relay *)arg)->oldest_age_ms) / 1000;
}

relay *api_relay_new(store *st, broker *br, const relay_opts *o)
{
    relay *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->st = st;
    r->br = br;
    r->o = *o;
    if (o->owner) {
        snprintf(r->owner, sizeof(r->owner), "%s", o->owner);
    } else {
        char host[40] = "api";
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        snprintf(r->owner, sizeof(r->owner), "%s:%d:%04x", host, (int)getpid(),
                 (unsigned)(nb_random_u64() & 0xffff));
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    const char *help = "Outbox events by what the relay did with them";
    r->claimed = nb_counter_new("nimbus_events_total", "result=\"claimed\"", help);
    r->published = nb_counter_new("nimbus_events_total", "result=\"published\"", help);
    r->acked = nb_counter_new("nimbus_events_total", "result=\"acked\"", help);
    r->failed = nb_counter_new("nimbus_events_total", "result=\"failed\"", help);
    r->released = nb_counter_new("nimbus_events_total", "result=\"released\"", help);
    nb_gauge_fn_new("nimbus_events_pending", NULL,
                    "Events claimed by this relay and not yet acked or released", in_flight_metric,
                    r);
    nb_gauge_fn_new("nimbus_relay_outbox_pending", NULL,
                    "Events not yet sent in persistence's outbox (all relays; from its stats)",
                    pending_metric, r);
    nb_gauge_fn_new("nimbus_relay_outbox_oldest_age_seconds", NULL,
                    "Age of the oldest event not yet sent (from persistence's stats)", age_metric,
                    r);
    if (!br) {
        nb_warn("no kafka-brokers set: events stay in persistence's outbox, not relayed");
        return r;
    }
    api_broker_on_report(br, on_report, r);
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        api_relay_free(r);
        return NULL;
    }
    r->started = true;
    nb_info("outbox relay started as %s (lease %ld ms, batch %ld)", r->owner, r->o.lease_ms,
            r->o.batch);
    return r;
}

void api_relay_wake(void *arg)
{
    relay *r = arg;
    pthread_mutex_lock(&r->lock);
    r->woken = true;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void api_relay_stop(relay *r, int64_t flush_deadline_ms, long release_timeout_ms)
{
    pthread_mutex_lock(&r->lock);
    if (!r->stopping) {
        r->stopping = true;
        r->flush_deadline_ms = flush_deadline_ms;
        r->release_timeout_ms = release_timeout_ms;
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

void api_relay_join(relay *r)
{
    if (!r->started || r->joined) return;
    r->joined = true;
    pthread_join(r->thread, NULL);
}

void api_relay_free(relay *r)
{
    if (!r) return;
    api_relay_stop(r, nb_mono_ms(), 500);
    api_relay_join(r);
    if (r->unsafe_to_free) { /* the broker may still report into it: keep it */
        nb_warn("outbox relay: delivery reports still outstanding at exit");
        return;
    }
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void api_relay_status(relay *r, nb_buf *out)
{
    nb_buf_addf(out, "\"outbox_pending\":%ld,\"outbox_oldest_age_s\":%.1f,\"events_in_flight\":%ld",
                atomic_load(&r->outbox_pending), atomic_load(&r->oldest_age_ms) / 1000.0,
                atomic_load(&r->in_flight));
}
