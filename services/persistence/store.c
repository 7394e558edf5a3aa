/* store.c — read-through / write-through / monotonic logic (see store.h).
 *
 * Shared state and who touches it:
 * - backend[].up: atomic; request threads clear it (mark_down), only the fill
 *   thread sets it again after a successful probe.
 * - backend[].next_probe_ms / failures / next_health_ms, next_outbox_ms,
 *   next_purge_ms: fill thread only.
 * - the fill queue and the reader queue: nb_queue (their own locks); the
 *   fill thread waits on its queue, and whoever changes what it must look
 *   at (a backend marked down, a key made dirty) wakes it (nb_queue_wake).
 * - the dirty set (an nb_map): under s->mu.
 * - dirty_epoch: atomic, bumped whenever a key becomes dirty; a fill carries
 *   the epoch seen before its database read and is dropped if it changed, so
 *   a value read before an invalidation can never be written back after it. */
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/backoff.h"
#include "nimbus/clock.h"
#include "nimbus/log.h"
#include "nimbus/map.h"
#include "nimbus/metrics.h"
#include "nimbus/queue.h"

/* Cache reads waiting for the reader thread; past it a GET is read on a
 * worker instead (store_get_cached_async returns false). */
#define READ_QUEUE_CAP 16384

typedef struct fill_item {
    kv_ns ns;
    char *key;
    kv_value value;
    uint64_t epoch;
} fill_item;

typedef struct read_item {
    kv_ns ns;
    store_get_cb cb;
    void *arg;
    char key[]; /* NUL-terminated */
} read_item;

/* A value of the dirty map, whose key is dirty_map_key(ns, key). */
typedef struct dirty_key {
    kv_ns ns;
    char key[]; /* NUL-terminated */
} dirty_key;

typedef struct backend {
    kv *k;
    const char *role; /* "cache" / "database" */
    atomic_bool up;
    int64_t next_probe_ms;
    int failures; /* probes failed since marked down: the backoff's attempt */
    int64_t next_health_ms;
    nb_counter *hits, *misses, *errors, *reconnects;
    nb_gauge *up_gauge;
} backend;

struct store {
    store_opts o;
    backend be[2];

    nb_queue fillq; /* fill_item *, bounded by o.fill_queue_cap */
    atomic_bool running;
    bool started;
    pthread_t thread;

    pthread_mutex_t mu; /* the dirty set */
    nb_map dirty;       /* dirty_map_key → dirty_key * */
    atomic_size_t dirty_count;
    atomic_uint_fast64_t dirty_epoch;

    nb_counter *fills, *fill_dropped, *invalidations, *dirty_dropped;

    /* outbox upkeep (fill thread) and its metrics */
    int64_t next_outbox_ms, next_purge_ms;
    nb_gauge *outbox_pending, *outbox_oldest_age;
    nb_counter *outbox_created, *outbox_purged;

    /* batched cache reads (the reader thread) */
    nb_queue readq; /* read_item *, bounded by READ_QUEUE_CAP */
    atomic_bool rstarted;
    pthread_t reader;
};

static void *reader_thread(void *arg);

/* --- breaker -------------------------------------------------------------- */

static void mark_down(store *s, store_backend b, nb_err why)
{
    backend *be = &s->be[b];
    nb_counter_inc(be->errors);
    if (!ps_kv_err_is_down(why)) return;
    bool was_up = true;
    if (!atomic_compare_exchange_strong(&be->up, &was_up, false)) return;
    nb_gauge_set(be->up_gauge, 0);
    nb_warn("%s (%s) is down (%s); serving without it until it answers again", be->role,
            ps_kv_name(be->k), why == NB_ERR_TIMEOUT ? "timeout" : "unreachable");
    ps_kv_reset(be->k);
    nb_queue_wake(&s->fillq); /* start probing it */
}

/* Fill thread: the next probe of a backend seen down, after `failures`
 * failed ones (jittered exponential backoff from probe_min to probe_max). */
static void schedule_probe(store *s, backend *be, int64_t now)
{
    be->next_probe_ms = now + nb_backoff_ms(be->failures, s->o.probe_min_ms, s->o.probe_max_ms);
}

/* Fill thread only. */
static void probe(store *s, store_backend b, int64_t now)
{
    backend *be = &s->be[b];
    if (atomic_load(&be->up)) {
        if (now < be->next_health_ms) return;
        be->next_health_ms = now + s->o.health_interval_ms;
        nb_err rc = ps_kv_ping(be->k);
        if (rc != NB_OK) {
            mark_down(s, b, ps_kv_err_is_down(rc) ? rc : NB_ERR_UNAVAILABLE);
            be->failures = 0;
            schedule_probe(s, be, nb_mono_ms());
        }
        return;
    }
    if (be->next_probe_ms == 0) { /* marked down by a request thread */
        be->failures = 0;
        schedule_probe(s, be, now);
        return;
    }
    if (now < be->next_probe_ms) return;
    nb_err rc = ps_kv_ping(be->k);
    if (rc == NB_OK) {
        be->next_probe_ms = 0;
        be->next_health_ms = nb_mono_ms() + s->o.health_interval_ms;
        nb_counter_inc(be->reconnects);
        nb_gauge_set(be->up_gauge, 1);
        atomic_store(&be->up, true);
        nb_info("%s (%s) is back", be->role, ps_kv_name(be->k));
        return;
    }
    be->failures++;
    schedule_probe(s, be, nb_mono_ms());
}

bool ps_store_backend_up(const store *s, store_backend b)
{
    return atomic_load(&((store *)s)->be[b].up);
}

/* --- dirty set (keys the cache may hold stale) ---------------------------- */

/* The dirty map's key: the namespace's number, a colon, the key; in buf when
 * it fits, else on the heap (NULL when out of memory). */
static char *dirty_map_key(kv_ns ns, const char *key, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%d:%s", (int)ns, key);
    if (n >= 0 && (size_t)n < cap) return buf;
    char *heap = malloc((size_t)n + 1);
    if (heap) snprintf(heap, (size_t)n + 1, "%d:%s", (int)ns, key);
    return heap;
}

static void dirty_map_key_free(char *k, char *buf)
{
    if (k != buf) free(k);
}

static void dirty_add(store *s, kv_ns ns, const char *key)
{
    char buf[320];
    atomic_fetch_add(&s->dirty_epoch, 1);
    size_t klen = strlen(key);
    char *mk = dirty_map_key(ns, key, buf, sizeof(buf));
    dirty_key *d = malloc(sizeof(*d) + klen + 1);
    if (!mk || !d) goto out_dropped;
    d->ns = ns;
    memcpy(d->key, key, klen + 1);
    pthread_mutex_lock(&s->mu);
    if (nb_map_get(&s->dirty, mk)) goto out_unlock; /* already dirty */
    if (nb_map_len(&s->dirty) >= s->o.dirty_cap) {
        pthread_mutex_unlock(&s->mu);
        nb_error(
            "too many keys to invalidate in the cache; %s:%s may be served stale until its TTL",
            ps_kv_ns_name(ns), key);
        goto out_dropped;
    }
    if (nb_map_put(&s->dirty, mk, d, NULL) != NB_OK) {
        pthread_mutex_unlock(&s->mu);
        goto out_dropped;
    }
    d = NULL; /* the map's now */
    atomic_fetch_add(&s->dirty_count, 1);
    pthread_mutex_unlock(&s->mu);
    nb_queue_wake(&s->fillq); /* drain it */
    goto out_free;
out_unlock:
    pthread_mutex_unlock(&s->mu);
    goto out_free;
out_dropped:
    nb_counter_inc(s->dirty_dropped);
out_free:
    free(d);
    if (mk) dirty_map_key_free(mk, buf);
}

static bool dirty_contains(store *s, kv_ns ns, const char *key)
{
    if (atomic_load(&s->dirty_count) == 0) return false;
    char buf[320];
    char *mk = dirty_map_key(ns, key, buf, sizeof(buf));
    if (!mk) return true; /* cannot tell: do not trust the cache */
    pthread_mutex_lock(&s->mu);
    bool found = nb_map_get(&s->dirty, mk) != NULL;
    pthread_mutex_unlock(&s->mu);
    dirty_map_key_free(mk, buf);
    return found;
}

static void dirty_remove(store *s, kv_ns ns, const char *key)
{
    char buf[320];
    char *mk = dirty_map_key(ns, key, buf, sizeof(buf));
    if (!mk) return; /* stays dirty: read from the database, deleted again later */
    pthread_mutex_lock(&s->mu);
    dirty_key *d = nb_map_remove(&s->dirty, mk);
    if (d) atomic_fetch_sub(&s->dirty_count, 1);
    pthread_mutex_unlock(&s->mu);
    free(d);
    dirty_map_key_free(mk, buf);
}

/* Fill thread: deletes a dirty key from the cache. True when the cache no
 * longer holds it. */
static bool invalidate(store *s, kv_ns ns, const char *key)
{
    nb_err rc = ps_kv_del(s->be[STORE_CACHE].k, ns, key);
    if (rc != NB_OK) {
        mark_down(s, STORE_CACHE, rc);
        return false;
    }
    nb_counter_inc(s->invalidations);
    dirty_remove(s, ns, key);
    return true;
}

typedef struct dirty_snapshot {
    dirty_key **keys;
    size_t n, cap;
} dirty_snapshot;

/* nb_map_sweep visitor: copies each dirty key (the map keeps its own). */
static bool dirty_copy(const char *mk, void *value, void *arg)
{
    (void)mk;
    dirty_snapshot *snap = arg;
    const dirty_key *d = value;
    if (snap->n == snap->cap) return false;
    size_t klen = strlen(d->key);
    dirty_key *c = malloc(sizeof(*c) + klen + 1);
    if (!c) return false;
    c->ns = d->ns;
    memcpy(c->key, d->key, klen + 1);
    snap->keys[snap->n++] = c;
    return false;
}

/* Fill thread: invalidate every dirty key while the cache answers. The keys
 * are copied under the lock and deleted without it; keys made dirty meanwhile
 * wait for the next round. */
static void dirty_drain(store *s)
{
    if (!atomic_load(&s->be[STORE_CACHE].up) || atomic_load(&s->dirty_count) == 0) return;
    dirty_snapshot snap = {0};
    pthread_mutex_lock(&s->mu);
    snap.cap = nb_map_len(&s->dirty);
    snap.keys = malloc(snap.cap * sizeof(*snap.keys));
    if (snap.keys) nb_map_sweep(&s->dirty, dirty_copy, &snap);
    pthread_mutex_unlock(&s->mu);
    size_t i = 0;
    for (; i < snap.n; i++) {
        dirty_key *d = snap.keys[i];
        if (!atomic_load(&s->be[STORE_CACHE].up) || !invalidate(s, d->ns, d->key)) break;
        free(d);
    }
    for (; i < snap.n; i++)
        free(snap.keys[i]);
    free(snap.keys);
}

/* --- fill queue ----------------------------------------------------------- */

static void fill_item_free(fill_item *it)
{
    if (!it) return;
    free(it->key);
    ps_kv_value_release(&it->value);
    free(it);
}

/* Takes ownership of *v on success (leaves *v empty) and on drop (frees it).
 * Dropped (counted) when the queue is full or closed. */
static void fill_enqueue(store *s, kv_ns ns, const char *key, kv_value *v, uint64_t epoch)
{
    fill_item *it = malloc(sizeof(*it));
    if (!it) {
        ps_kv_value_release(v);
        goto out_drop;
    }
    *it = (fill_item){.ns = ns, .key = strdup(key), .value = *v, .epoch = epoch};
    *v = (kv_value){0};
    if (it->key && nb_queue_push(&s->fillq, it)) return;
out_drop:
    nb_counter_inc(s->fill_dropped);
    fill_item_free(it);
}

/* Fill thread: write one database value back to the cache, never over a
 * newer one, never after the key was invalidated meanwhile. */
static void fill_one(store *s, fill_item *it)
{
    if (!atomic_load(&s->be[STORE_CACHE].up) || atomic_load(&s->dirty_epoch) != it->epoch ||
        dirty_contains(s, it->ns, it->key)) {
        nb_counter_inc(s->fill_dropped);
        return;
    }
    kv_put_result r;
    nb_err rc = ps_kv_put_if_newer(s->be[STORE_CACHE].k, it->ns, it->key, it->value.version_ms,
                                   it->value.expires_at_ms, it->value.data, it->value.len, &r);
    if (rc != NB_OK) {
        mark_down(s, STORE_CACHE, rc);
        nb_counter_inc(s->fill_dropped);
        return;
    }
    nb_counter_inc(s->fills);
}

static int64_t next_wakeup(store *s, int64_t now)
{
    int64_t next = now + s->o.health_interval_ms;
    for (int b = 0; b < 2; b++) {
        backend *be = &s->be[b];
        int64_t t = atomic_load(&be->up) ? be->next_health_ms
                                         : (be->next_probe_ms ? be->next_probe_ms : now);
        if (t < next) next = t;
    }
    if (atomic_load(&s->dirty_count) > 0 && atomic_load(&s->be[STORE_CACHE].up) && next > now + 100)
        next = now + 100;
    if (ps_kv_outbox(s->be[STORE_DB].k) && atomic_load(&s->be[STORE_DB].up) &&
        s->next_outbox_ms < next)
        next = s->next_outbox_ms;
    return next;
}

/* Fill thread: refreshes the outbox gauges every health interval and deletes
 * sent events past their retention (at most every minute). */
static void outbox_upkeep(store *s, int64_t now)
{
    backend *db = &s->be[STORE_DB];
    const kv_outbox_ops *ob = ps_kv_outbox(db->k);
    if (!ob || !atomic_load(&db->up) || now < s->next_outbox_ms) return;
    s->next_outbox_ms = now + s->o.health_interval_ms;
    kv_outbox_stats st;
    nb_err rc = ob->stats(db->k, &st);
    if (rc != NB_OK) {
        mark_down(s, STORE_DB, rc);
        return;
    }
    nb_gauge_set(s->outbox_pending, st.pending);
    nb_gauge_set(s->outbox_oldest_age, (int64_t)st.oldest_age_s);
    if (now < s->next_purge_ms) return;
    int64_t every = s->o.outbox_retention_ms < 60000 ? s->o.outbox_retention_ms : 60000;
    s->next_purge_ms = now + every;
    size_t done = 0;
    rc = ob->purge(db->k, s->o.outbox_retention_ms, &done);
    if (rc != NB_OK) {
        mark_down(s, STORE_DB, rc);
        return;
    }
    if (done) {
        nb_counter_add(s->outbox_purged, done);
        nb_debug("outbox: deleted %zu sent events past their retention", done);
    }
}

static void *fill_thread(void *arg)
{
    store *s = arg;
    while (atomic_load(&s->running)) {
        int64_t now = nb_mono_ms();
        int64_t wake = next_wakeup(s, now);
        /* Wakes for a fill, at the next probe/health/outbox time, or when
         * nb_queue_wake says a backend went down or a key became dirty. */
        fill_item *it = nb_queue_pop(&s->fillq, wake > now ? wake - now : 0);
        while (it && atomic_load(&s->running)) {
            fill_one(s, it);
            fill_item_free(it);
            it = nb_queue_try_pop(&s->fillq);
        }
        if (it) { /* stopping: not written back (store_stop counts the rest) */
            nb_counter_inc(s->fill_dropped);
            fill_item_free(it);
            break;
        }
        now = nb_mono_ms();
        probe(s, STORE_CACHE, now);
        probe(s, STORE_DB, now);
        dirty_drain(s);
        outbox_upkeep(s, nb_mono_ms());
    }
    return NULL;
}

/* --- lifecycle ------------------------------------------------------------ */

static void backend_init(backend *be, kv *k, const char *role)
{
    char labels[96];
    be->k = k;
    be->role = role;
    atomic_init(&be->up, true);
    snprintf(labels, sizeof(labels), "store=\"%s\"", role);
    be->hits = nb_counter_new("nimbus_store_hits_total", labels, "Reads answered by this store");
    be->misses =
        nb_counter_new("nimbus_store_misses_total", labels, "Reads this store did not have");
    snprintf(labels, sizeof(labels), "backend=\"%s\"", ps_kv_name(k));
    be->errors = nb_counter_new("nimbus_backend_errors_total", labels,
                                "Failed backend operations (unreachable, timeout or error reply)");
    be->reconnects = nb_counter_new("nimbus_backend_reconnects_total", labels,
                                    "Times a backend seen down answered again");
    be->up_gauge = nb_gauge_new("nimbus_backend_up", labels, "1 when the backend answers");
    nb_gauge_set(be->up_gauge, 1);
}

store *ps_store_new(const store_opts *opts)
{
    store *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->o = *opts;
    if (!s->o.fill_queue_cap) s->o.fill_queue_cap = 1024;
    if (!s->o.dirty_cap) s->o.dirty_cap = 65536;
    if (s->o.probe_min_ms <= 0) s->o.probe_min_ms = 50;
    if (s->o.probe_max_ms < s->o.probe_min_ms)
        s->o.probe_max_ms = s->o.probe_min_ms > 2000 ? s->o.probe_min_ms : 2000;
    if (s->o.health_interval_ms <= 0) s->o.health_interval_ms = 1000;
    if (s->o.max_skew_ms <= 0) s->o.max_skew_ms = 60000;
    if (s->o.outbox_retention_ms <= 0) s->o.outbox_retention_ms = 86400000;
    if (nb_queue_init(&s->fillq, s->o.fill_queue_cap) != NB_OK) goto out_free;
    if (nb_queue_init(&s->readq, READ_QUEUE_CAP) != NB_OK) goto out_fillq;
    pthread_mutex_init(&s->mu, NULL);
    nb_map_init(&s->dirty);
    atomic_init(&s->running, false);
    atomic_init(&s->rstarted, false);
    atomic_init(&s->dirty_count, 0);
    atomic_init(&s->dirty_epoch, 0);
    backend_init(&s->be[STORE_CACHE], opts->cache, "cache");
    backend_init(&s->be[STORE_DB], opts->db, "database");
    s->fills = nb_counter_new("nimbus_store_cache_fills_total", NULL,
                              "Database hits written back to the cache");
    s->fill_dropped = nb_counter_new("nimbus_store_cache_fill_dropped_total", NULL,
                                     "Write-backs dropped (queue full, cache down or superseded)");
    s->invalidations = nb_counter_new("nimbus_store_cache_invalidations_total", NULL,
                                      "Keys deleted from the cache after a failed cache write");
    s->dirty_dropped = nb_counter_new("nimbus_store_dirty_dropped_total", NULL,
                                      "Keys that could not be remembered for invalidation");
    s->outbox_pending =
        nb_gauge_new("nimbus_outbox_pending", NULL, "Outbox events not yet marked sent");
    s->outbox_oldest_age = nb_gauge_new("nimbus_outbox_oldest_pending_age_seconds", NULL,
                                        "Age of the oldest outbox event not yet marked sent");
    s->outbox_created = nb_counter_new("nimbus_outbox_events_created_total", NULL,
                                       "Events stored in the outbox with a new observation");
    s->outbox_purged = nb_counter_new("nimbus_outbox_events_purged_total", NULL,
                                      "Sent events deleted after their retention");
    return s;
out_fillq:
    nb_queue_release(&s->fillq);
out_free:
    free(s);
    return NULL;
}

nb_err ps_store_start(store *s)
{
    int64_t now = nb_mono_ms();
    for (int b = 0; b < 2; b++)
        s->be[b].next_health_ms = now; /* first health check at once */
    atomic_store(&s->running, true);
    if (pthread_create(&s->thread, NULL, fill_thread, s) != 0) {
        atomic_store(&s->running, false);
        return NB_ERR_INTERNAL;
    }
    s->started = true;
    if (pthread_create(&s->reader, NULL, reader_thread, s) != 0) return NB_ERR_INTERNAL;
    atomic_store(&s->rstarted, true);
    return NB_OK;
}

void ps_store_stop_reads(store *s)
{
    if (!s || !atomic_load(&s->rstarted)) return;
    nb_queue_close(&s->readq); /* refuses new reads; the reader hands back the rest */
    pthread_join(s->reader, NULL);
    atomic_store(&s->rstarted, false);
}

void ps_store_stop(store *s)
{
    ps_store_stop_reads(s);
    if (!s || !s->started) return;
    atomic_store(&s->running, false);
    nb_queue_close(&s->fillq);
    pthread_join(s->thread, NULL);
    s->started = false;
    size_t dropped = 0;
    for (fill_item *it; (it = nb_queue_try_pop(&s->fillq)) != NULL; dropped++)
        fill_item_free(it);
    if (dropped) nb_counter_add(s->fill_dropped, dropped);
}

void ps_store_free(store *s)
{
    if (!s) return;
    ps_store_stop(s);
    nb_map_release(&s->dirty, free);
    nb_queue_release(&s->fillq);
    nb_queue_release(&s->readq);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

size_t ps_store_dirty_count(store *s)
{
    return atomic_load(&s->dirty_count);
}

/* --- request path --------------------------------------------------------- */

nb_err ps_store_get_db(store *s, kv_ns ns, const char *key, kv_value *out)
{
    backend *cache = &s->be[STORE_CACHE], *db = &s->be[STORE_DB];
    *out = (kv_value){0};
    if (!atomic_load(&db->up)) return NB_ERR_UNAVAILABLE;
    uint64_t epoch = atomic_load(&s->dirty_epoch);
    nb_err rc = ps_kv_get(db->k, ns, key, out);
    if (rc == NB_ERR_NOT_FOUND) {
        nb_counter_inc(db->misses);
        return NB_ERR_NOT_FOUND;
    }
    if (rc != NB_OK) {
        mark_down(s, STORE_DB, rc);
        return NB_ERR_UNAVAILABLE;
    }
    nb_counter_inc(db->hits);
    if (atomic_load(&cache->up)) {
        kv_value copy = {.len = out->len,
                         .version_ms = out->version_ms,
                         .expires_at_ms = out->expires_at_ms,
                         .data = malloc(out->len + 1)};
        if (copy.data) {
            memcpy(copy.data, out->data, out->len + 1);
            fill_enqueue(s, ns, key, &copy, epoch);
        } else {
            nb_counter_inc(s->fill_dropped);
        }
    }
    return NB_OK;
}

/* Counts a cache read's outcome; a failure marks the cache down. */
static void cache_outcome(store *s, nb_err rc)
{
    backend *cache = &s->be[STORE_CACHE];
    if (rc == NB_OK)
        nb_counter_inc(cache->hits);
    else if (rc == NB_ERR_NOT_FOUND)
        nb_counter_inc(cache->misses);
    else
        mark_down(s, STORE_CACHE, rc);
}

/* True when the cache may answer for key now: it is up, and the key is not
 * dirty (the cache may hold an older value than the database until the fill
 * thread has deleted it there). Never calls the cache: the polling thread
 * asks this for every GET. */
static bool cache_usable(store *s, kv_ns ns, const char *key)
{
    return atomic_load(&s->be[STORE_CACHE].up) && !dirty_contains(s, ns, key);
}

nb_err ps_store_get(store *s, kv_ns ns, const char *key, kv_value *out, store_backend *from)
{
    *out = (kv_value){0};
    if (cache_usable(s, ns, key)) {
        nb_err rc = ps_kv_get(s->be[STORE_CACHE].k, ns, key, out);
        cache_outcome(s, rc);
        if (rc == NB_OK) {
            *from = STORE_CACHE;
            return NB_OK;
        }
    }
    nb_err rc = ps_store_get_db(s, ns, key, out);
    if (rc == NB_OK) *from = STORE_DB;
    return rc;
}

/* --- batched cache reads ---------------------------------------------------- */

#define READ_BATCH 64

bool ps_store_get_cached_async(store *s, kv_ns ns, const char *key, store_get_cb cb, void *arg)
{
    if (!atomic_load(&s->rstarted) || !cache_usable(s, ns, key)) return false;
    size_t n = strlen(key) + 1;
    read_item *it = malloc(sizeof(*it) + n);
    if (!it) return false;
    it->ns = ns;
    it->cb = cb;
    it->arg = arg;
    memcpy(it->key, key, n);
    if (nb_queue_push(&s->readq, it)) return true;
    free(it); /* full, or stopping: the caller reads on a worker */
    return false;
}

/* Answers a batch: one pipelined round trip for all of its keys. A batch
 * queued before the cache was marked down (say, behind one that waited out
 * the deadline on a frozen Redis) is handed back at once: no read waits for
 * more than one deadline. */
static void read_batch(store *s, read_item **items, size_t n)
{
    kv_ns ns[READ_BATCH];
    const char *keys[READ_BATCH];
    kv_value vals[READ_BATCH];
    nb_err rcs[READ_BATCH];

    if (!atomic_load(&s->be[STORE_CACHE].up)) {
        for (size_t i = 0; i < n; i++) {
            items[i]->cb(items[i]->arg, NB_ERR_NOT_FOUND, NULL);
            free(items[i]);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ns[i] = items[i]->ns;
        keys[i] = items[i]->key;
    }
    nb_err err = ps_kv_get_many(s->be[STORE_CACHE].k, n, ns, keys, vals, rcs);
    for (size_t i = 0; i < n; i++) {
        nb_err rc = err ? err : rcs[i];
        cache_outcome(s, rc);
        if (rc == NB_OK)
            items[i]->cb(items[i]->arg, NB_OK, &vals[i]);
        else
            items[i]->cb(items[i]->arg, NB_ERR_NOT_FOUND, NULL);
        free(items[i]);
    }
}

static void *reader_thread(void *arg)
{
    store *s = arg;
    void *popped[READ_BATCH];
    read_item *batch[READ_BATCH];
    for (;;) {
        size_t n = nb_queue_pop_many(&s->readq, popped, READ_BATCH, -1);
        if (n == 0) return NULL; /* closed and drained */
        for (size_t i = 0; i < n; i++)
            batch[i] = popped[i];
        if (nb_queue_closed(&s->readq)) { /* stopping: no more cache reads, hand them back */
            for (size_t i = 0; i < n; i++) {
                batch[i]->cb(batch[i]->arg, NB_ERR_NOT_FOUND, NULL);
                free(batch[i]);
            }
            continue;
        }
        read_batch(s, batch, n);
    }
}

/* The write path of ps_store_put and ps_store_put_record. */
static nb_err put_value(store *s, kv_ns ns, const char *key, int64_t version_ms,
                        int64_t expires_at_ms, const char *data, size_t len, const kv_event *ev,
                        store_put_result *res)
{
    backend *cache = &s->be[STORE_CACHE], *db = &s->be[STORE_DB];
    kv_put_result r = {0};
    nb_err rc;

    *res = (store_put_result){0};
    if (version_ms > nb_now_ms() + s->o.max_skew_ms) return NB_ERR_INVALID;
    if (ev && !ps_kv_outbox(db->k)) return NB_ERR_INTERNAL;
    if (!atomic_load(&db->up)) return NB_ERR_UNAVAILABLE;
    if (ev)
        rc = ps_kv_outbox(db->k)->put_record(db->k, key, version_ms, data, len, ev, &r);
    else
        rc = ps_kv_put_if_newer(db->k, ns, key, version_ms, expires_at_ms, data, len, &r);
    if (rc != NB_OK) {
        mark_down(s, STORE_DB, rc);
        return NB_ERR_UNAVAILABLE;
    }
    res->applied = r.applied;
    res->stored_ms = r.stored_ms;
    res->event_created = r.event_created;
    if (r.event_created) nb_counter_inc(s->outbox_created);
    if (!r.applied) return NB_OK; /* the database holds something newer; nothing to cache */
    if (atomic_load(&cache->up)) {
        kv_put_result cr;
        rc = ps_kv_put_if_newer(cache->k, ns, key, version_ms, expires_at_ms, data, len, &cr);
        if (rc == NB_OK) {
            res->cache_written = true;
            return NB_OK;
        }
        mark_down(s, STORE_CACHE, rc);
    }
    dirty_add(s, ns, key);
    return NB_OK;
}

nb_err ps_store_put(store *s, kv_ns ns, const char *key, int64_t version_ms, int64_t expires_at_ms,
                    const char *data, size_t len, store_put_result *res)
{
    return put_value(s, ns, key, version_ms, expires_at_ms, data, len, NULL, res);
}

nb_err ps_store_put_record(store *s, const char *key, int64_t version_ms, const char *data,
                           size_t len, const kv_event *ev, store_put_result *res)
{
    return put_value(s, KV_NS_RECORD, key, version_ms, 0, data, len, ev, res);
}

int64_t ps_store_max_skew_ms(const store *s)
{
    return s->o.max_skew_ms;
}

/* --- the outbox ------------------------------------------------------------ */

/* The database's outbox if it may be called now; else NULL and *rc says why. */
static const kv_outbox_ops *outbox_of(store *s, nb_err *rc)
{
    backend *db = &s->be[STORE_DB];
    const kv_outbox_ops *ob = ps_kv_outbox(db->k);
    *rc = !ob ? NB_ERR_INTERNAL : !atomic_load(&db->up) ? NB_ERR_UNAVAILABLE : NB_OK;
    return *rc == NB_OK ? ob : NULL;
}

/* Maps a database outbox failure: marks the database down, NB_ERR_UNAVAILABLE. */
static nb_err outbox_failed(store *s, nb_err rc)
{
    if (rc == NB_OK) return NB_OK;
    mark_down(s, STORE_DB, rc);
    return NB_ERR_UNAVAILABLE;
}

nb_err ps_store_outbox_claim(store *s, const char *owner, int limit, int lease_ms,
                             kv_outbox_event **out, size_t *n)
{
    nb_err rc;
    *out = NULL;
    *n = 0;
    const kv_outbox_ops *ob = outbox_of(s, &rc);
    if (!ob) return rc;
    return outbox_failed(s, ob->claim(s->be[STORE_DB].k, owner, limit, lease_ms, out, n));
}

nb_err ps_store_outbox_ack(store *s, size_t n, const char *const *ids, size_t *done)
{
    nb_err rc;
    *done = 0;
    const kv_outbox_ops *ob = outbox_of(s, &rc);
    if (!ob) return rc;
    return outbox_failed(s, ob->ack(s->be[STORE_DB].k, n, ids, done));
}

nb_err ps_store_outbox_release(store *s, const char *owner, size_t n, const char *const *ids,
                               size_t *done)
{
    nb_err rc;
    *done = 0;
    const kv_outbox_ops *ob = outbox_of(s, &rc);
    if (!ob) return rc;
    return outbox_failed(s, ob->release(s->be[STORE_DB].k, owner, n, ids, done));
}

nb_err ps_store_outbox_stats(store *s, kv_outbox_stats *out)
{
    nb_err rc;
    *out = (kv_outbox_stats){0};
    const kv_outbox_ops *ob = outbox_of(s, &rc);
    if (!ob) return rc;
    return outbox_failed(s, ob->stats(s->be[STORE_DB].k, out));
}

/* --- coordination between replicas ---------------------------------------- */

/* The cache's coordination operations if they may be called now; else NULL
 * and *rc says why. */
static const kv_coord_ops *coord_of(store *s, nb_err *rc)
{
    backend *cache = &s->be[STORE_CACHE];
    const kv_coord_ops *co = ps_kv_coord(cache->k);
    *rc = !co ? NB_ERR_INTERNAL : !atomic_load(&cache->up) ? NB_ERR_UNAVAILABLE : NB_OK;
    return *rc == NB_OK ? co : NULL;
}

/* Maps a cache failure: marks the cache down, NB_ERR_UNAVAILABLE. */
static nb_err coord_failed(store *s, nb_err rc)
{
    if (rc == NB_OK || rc == NB_ERR_INVALID || rc == NB_ERR_NOMEM) return rc;
    mark_down(s, STORE_CACHE, rc);
    return NB_ERR_UNAVAILABLE;
}

nb_err ps_store_lease_acquire(store *s, kv_ns ns, const char *key, const char *token,
                              int64_t ttl_ms, int64_t seen_ms, kv_lease *out)
{
    nb_err rc;
    const kv_coord_ops *co = coord_of(s, &rc);
    if (!co) return rc;
    return coord_failed(
        s, co->lease_acquire(s->be[STORE_CACHE].k, ns, key, token, ttl_ms, seen_ms, out));
}

nb_err ps_store_lease_release(store *s, kv_ns ns, const char *key, const char *token,
                              int64_t hold_ms, const char *failure, bool *released)
{
    nb_err rc;
    *released = false;
    const kv_coord_ops *co = coord_of(s, &rc);
    if (!co) return rc;
    return coord_failed(
        s, co->lease_release(s->be[STORE_CACHE].k, ns, key, token, hold_ms, failure, released));
}

nb_err ps_store_budget_take(store *s, const char *name, double cost, const kv_window *w, size_t nw,
                            kv_budget *out)
{
    nb_err rc;
    const kv_coord_ops *co = coord_of(s, &rc);
    if (!co) return rc;
    return coord_failed(s, co->budget_take(s->be[STORE_CACHE].k, name, cost, w, nw, out));
}

nb_err ps_store_watch(store *s, size_t n, const kv_ns *ns, const char *const *keys, kv_watch *out)
{
    nb_err rc;
    const kv_coord_ops *co = coord_of(s, &rc);
    if (!co) return rc;
    return coord_failed(s, co->watch(s->be[STORE_CACHE].k, n, ns, keys, out));
}
