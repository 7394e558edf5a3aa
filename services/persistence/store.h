/* store.h — read-through / write-through logic over two kv instances.
 *
 * The cache (Redis) answers first; the database (PostgreSQL) is the truth.
 * - get: cache, then database. A database hit is answered at once and queued
 *   (bounded; dropped with a counter when full) for the store's own fill
 *   thread, which writes it back to the cache with the monotonic put.
 * - put: database first (failure = nothing acknowledged), then the cache. A
 *   cache write that fails marks the key "dirty": it is read from the
 *   database, never the cache, until the fill thread has deleted it there
 *   (once the cache is reachable), so the cache never serves a value older
 *   than the database's. Request threads never delete: the polling thread
 *   that queues cache reads must not wait on the cache.
 * - A version (fetched_at / resolved_at) more than max_skew_ms in the future
 *   is refused (NB_ERR_INVALID): such a value would win every later write.
 * - Records may carry their event: the database stores it in its outbox in
 *   the same transaction when the write advances the observation (kv.h); the
 *   outbox routes claim/ack/release go through the database's breaker.
 * - Replicas coordinate through the cache (kv_coord_ops: renewal leases, the
 *   shared upstream budget, the state long polls watch), behind its breaker.
 * - Each backend has a breaker: an unreachable backend is marked down and not
 *   called on the request path; the fill thread probes it with jittered
 *   backoff from probe_min_ms to probe_max_ms (and
 *   health-pings live backends) and marks it up again, counting a reconnect.
 *   The fill thread also refreshes the outbox gauges (every health interval)
 *   and deletes sent events older than outbox_retention_ms.
 *
 * Metrics (registered by ps_store_new): nimbus_store_hits_total{store},
 * nimbus_store_misses_total{store}, nimbus_backend_errors_total{backend},
 * nimbus_backend_reconnects_total{backend}, nimbus_backend_up{backend},
 * nimbus_store_cache_fills_total, nimbus_store_cache_fill_dropped_total,
 * nimbus_store_cache_invalidations_total, nimbus_store_dirty_dropped_total,
 * nimbus_outbox_pending, nimbus_outbox_oldest_pending_age_seconds,
 * nimbus_outbox_events_created_total, nimbus_outbox_events_purged_total.
 *
 * Ownership: the store borrows both kv instances (they must outlive it).
 * Threads: ps_store_get, ps_store_put, store_outbox_... and ps_store_backend_up may be called
 * from any thread between ps_store_start and ps_store_stop; ps_store_get_cached_async
 * never blocks (the polling thread calls it); new/start/stop/free from one
 * controlling thread. */
#ifndef NIMBUS_PERSISTENCE_STORE_H
#define NIMBUS_PERSISTENCE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv.h"
#include "nimbus/err.h"

typedef enum store_backend { STORE_CACHE = 0, STORE_DB = 1 } store_backend;

typedef struct store_opts {
    kv *cache;                   /* borrowed */
    kv *db;                      /* borrowed */
    size_t fill_queue_cap;       /* write-back queue bound (0 = 1024) */
    size_t dirty_cap;            /* keys remembered for invalidation (0 = 65536) */
    int probe_min_ms;            /* first reconnect probe delay (0 = 50) */
    int probe_max_ms;            /* backoff ceiling (0 = 2000) */
    int health_interval_ms;      /* ping of live backends, outbox gauges (0 = 1000) */
    int64_t max_skew_ms;         /* versions allowed in the future (0 = 60000) */
    int64_t outbox_retention_ms; /* sent events kept this long (0 = 1 day) */
} store_opts;

typedef struct store_put_result {
    bool applied;      /* the database took the new value */
    int64_t stored_ms; /* version the database now holds */
    bool cache_written;
    bool event_created; /* ps_store_put_record: the outbox took the event */
} store_put_result;

typedef struct store store;

/* Returns NULL on no memory. Backends start as "up". */
store *ps_store_new(const store_opts *opts);
/* Starts the fill/probe thread. */
nb_err ps_store_start(store *s);
/* Stops and joins the thread; queued fills are dropped. Idempotent. */
void ps_store_stop(store *s);
void ps_store_free(store *s);

/* NB_OK with *out filled (caller releases with ps_kv_value_release) and *from
 * set; NB_ERR_NOT_FOUND when neither store has it; NB_ERR_UNAVAILABLE when
 * the cache missed and the database cannot be asked. */
nb_err ps_store_get(store *s, kv_ns ns, const char *key, kv_value *out, store_backend *from);
/* The database half of ps_store_get(): NB_OK (and the value is put back into the
 * cache off the request path), NB_ERR_NOT_FOUND or NB_ERR_UNAVAILABLE. */
nb_err ps_store_get_db(store *s, kv_ns ns, const char *key, kv_value *out);

/* A cache read answered later: rc NB_OK with *v (the callee owns it now), or
 * NB_ERR_NOT_FOUND when the cache did not have it or failed — then read the
 * database with ps_store_get_db(). Runs on the store's reader thread: must not
 * block. */
typedef void (*store_get_cb)(void *arg, nb_err rc, kv_value *v);
/* Queues a cache read for the reader thread, which answers many keys per Redis
 * round trip (pipelined) instead of one blocking worker per read. false when
 * the cache cannot answer now (down, or the key may be stale there), when
 * 16384 reads wait already, or after ps_store_stop_reads(): use ps_store_get() on a
 * thread that may block instead. */
bool ps_store_get_cached_async(store *s, kv_ns ns, const char *key, store_get_cb cb, void *arg);
/* Stops the reader thread (pending reads get NB_ERR_NOT_FOUND). Idempotent;
 * ps_store_stop() calls it too. */
void ps_store_stop_reads(store *s);

/* NB_OK with *res filled; NB_ERR_INVALID when version_ms is more than the
 * allowed skew in the future; NB_ERR_UNAVAILABLE when the database did not
 * take it (nothing was acknowledged, the cache was not touched). */
nb_err ps_store_put(store *s, kv_ns ns, const char *key, int64_t version_ms, int64_t expires_at_ms,
                    const char *data, size_t len, store_put_result *res);
/* ps_store_put of a record with its event (NULL: none): the database stores ev in
 * its outbox, in the same transaction, when the write advances the
 * observation (res->event_created). NB_ERR_INTERNAL when ev is given and the
 * database has no outbox. */
nb_err ps_store_put_record(store *s, const char *key, int64_t version_ms, const char *data,
                           size_t len, const kv_event *ev, store_put_result *res);
/* The allowed skew (opts.max_skew_ms after defaults), for error messages. */
int64_t ps_store_max_skew_ms(const store *s);

/* The outbox (kv_outbox_ops) through the database's breaker: NB_ERR_UNAVAILABLE
 * when the database is down or failed (it is then marked down);
 * NB_ERR_INTERNAL when it has no outbox. */
nb_err ps_store_outbox_claim(store *s, const char *owner, int limit, int lease_ms,
                             kv_outbox_event **out, size_t *n);
nb_err ps_store_outbox_ack(store *s, size_t n, const char *const *ids, size_t *done);
nb_err ps_store_outbox_release(store *s, const char *owner, size_t n, const char *const *ids,
                               size_t *done);
nb_err ps_store_outbox_stats(store *s, kv_outbox_stats *out);

/* Coordination between replicas (kv_coord_ops), through the cache's breaker:
 * NB_ERR_UNAVAILABLE when the cache is down or failed (it is then marked
 * down), NB_ERR_INTERNAL when it cannot coordinate (no kv_coord_ops). */
nb_err ps_store_lease_acquire(store *s, kv_ns ns, const char *key, const char *token,
                              int64_t ttl_ms, int64_t seen_ms, kv_lease *out);
nb_err ps_store_lease_release(store *s, kv_ns ns, const char *key, const char *token,
                              int64_t hold_ms, const char *failure, bool *released);
nb_err ps_store_budget_take(store *s, const char *name, double cost, const kv_window *w, size_t nw,
                            kv_budget *out);
nb_err ps_store_watch(store *s, size_t n, const kv_ns *ns, const char *const *keys, kv_watch *out);

bool ps_store_backend_up(const store *s, store_backend b);
/* Keys waiting to be invalidated in the cache. */
size_t ps_store_dirty_count(store *s);

#endif
