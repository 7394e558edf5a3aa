/* kv.h — the key/value seam both stores implement (Redis's ConnectionType idea).
 *
 * A kv instance is a table of operations plus the backend's own state. The
 * store logic (store.c) is written against this interface only; kv_redis.c
 * and kv_pg.c are the real backends, kv_mem.c is an in-memory one for unit
 * tests.
 *
 * Values are opaque bytes with a version in milliseconds (a record's
 * fetched_at, a geocoding entry's resolved_at) and an optional absolute
 * expiry. put_if_newer() is monotonic: it never replaces a value whose
 * version is >= the new one, even with concurrent writers.
 *
 * A cache backend that runs atomic scripts (Redis) also offers what replicas
 * coordinate with (kv_coord_ops, reached through ps_kv_coord()): renewal leases
 * per key, the shared upstream budget, and the state a long poll watches.
 *
 * A database backend also offers the transactional outbox (kv_outbox_ops,
 * reached through ps_kv_outbox()): a record write that stores, in the same
 * transaction, the event of a new observation, and the claim/ack/release
 * operations of the relay that publishes those events. Caches have none.
 *
 * Errors: NB_OK; NB_ERR_NOT_FOUND (get: absent or expired);
 * NB_ERR_UNAVAILABLE / NB_ERR_TIMEOUT (the backend is unreachable or did not
 * answer within its deadline; the caller should treat it as down);
 * NB_ERR_INTERNAL (the backend answered with an error); NB_ERR_NOMEM.
 *
 * Threads: every operation may be called from any thread at the same time.
 * Backends that hold connections keep one per calling thread (never shared),
 * created lazily; ps_kv_free() must only be called once no thread uses it. */
#ifndef NIMBUS_PERSISTENCE_KV_H
#define NIMBUS_PERSISTENCE_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/err.h"

/* Namespaces: one per kind of stored value. */
typedef enum kv_ns { KV_NS_RECORD = 0, KV_NS_GEOCODE = 1, KV_NS_COUNT } kv_ns;

/* A value read from a store. data is malloc'd and owned by the value:
 * ps_kv_value_release() frees it; NUL-terminated for convenience. */
typedef struct kv_value {
    char *data;
    size_t len;
    int64_t version_ms;
    int64_t expires_at_ms; /* 0 = never */
} kv_value;

typedef struct kv_put_result {
    bool applied;       /* the new value was stored */
    int64_t stored_ms;  /* version now stored (the new one when applied) */
    bool event_created; /* outbox put_record only: the event was stored */
} kv_put_result;

typedef struct kv kv;

/* --- the outbox (database backends only) ----------------------------------- */

#define KV_UUID_LEN 36 /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */

/* The event of an observation, offered with a record write. Borrowed. */
typedef struct kv_event {
    const char *id;       /* UUID text, lowercase */
    const char *observed; /* the record's current.time: what "new" is judged on */
    const char *data;     /* the event JSON */
    size_t len;
} kv_event;

/* One claimed event; data is malloc'd (kv_outbox_events_free). */
typedef struct kv_outbox_event {
    char id[KV_UUID_LEN + 1];
    char key[32];
    char *data; /* the event JSON, NUL-terminated */
    size_t len;
} kv_outbox_event;

typedef struct kv_outbox_stats {
    int64_t pending;     /* events not marked sent */
    double oldest_age_s; /* age of the oldest of them (0 when none) */
} kv_outbox_stats;

typedef struct kv_outbox_ops {
    /* put_if_newer for a record (no expiry) that, in the same transaction,
     * stores ev when the write advances the observation: nothing was stored
     * for key, or the stored observation differs from ev->observed and
     * version_ms is newer than the stored version. The decision is taken by
     * the backend with the previous value locked, so concurrent writers of a
     * key make one event per new observation. res->event_created tells. */
    nb_err (*put_record)(kv *k, const char *key, int64_t version_ms, const char *data, size_t len,
                         const kv_event *ev, kv_put_result *res);
    /* Up to limit unsent events no one holds a live claim on, oldest first,
     * now claimed by owner for lease_ms. *out is malloc'd (NULL when *n is 0). */
    nb_err (*claim)(kv *k, const char *owner, int limit, int lease_ms, kv_outbox_event **out,
                    size_t *n);
    /* Marks those events sent; *done counts the ones not sent before. */
    nb_err (*ack)(kv *k, size_t n, const char *const *ids, size_t *done);
    /* Drops owner's claim on those unsent events; *done counts them. */
    nb_err (*release)(kv *k, const char *owner, size_t n, const char *const *ids, size_t *done);
    nb_err (*stats)(kv *k, kv_outbox_stats *out);
    /* Deletes events sent more than older_than_ms ago; *done counts them. */
    nb_err (*purge)(kv *k, int64_t older_than_ms, size_t *done);
} kv_outbox_ops;

/* --- coordination between replicas (cache backends: Redis) ---------------- */

/* A renewal lease per key: who may fetch it from the upstream. Leases live in
 * the cache beside the values (Redis: "nimbus:lease:<ns>:<key>"), with a TTL,
 * so a holder that dies loses its lease when the TTL ends. */
typedef enum kv_lease_state {
    KV_LEASE_GRANTED, /* the caller holds it now, for ttl_ms */
    KV_LEASE_HELD,    /* another holder has it; ttl_left_ms */
    KV_LEASE_NEWER,   /* the stored version is newer than the caller's: version_ms */
    KV_LEASE_FAILED,  /* the last holder failed: retry_after_s, reason; ttl_left_ms */
} kv_lease_state;

typedef struct kv_lease {
    kv_lease_state state;
    int64_t ttl_left_ms;
    int64_t version_ms;
    int retry_after_s;
    char reason[160];
} kv_lease;

#define KV_BUDGET_WINDOWS_MAX 4 /* = NB_BUCKET_WINDOWS_MAX */

/* A budget window: at most limit calls in any interval of seconds (bucket.h). */
typedef struct kv_window {
    int64_t seconds;
    double limit;
} kv_window;

typedef struct kv_budget {
    bool granted;
    int64_t retry_after_ms;             /* refused: until every window holds enough */
    int64_t window_s;                   /* refused: the window that waits longest */
    double left[KV_BUDGET_WINDOWS_MAX]; /* tokens per window after the take */
} kv_budget;

/* What a watcher needs to know about a key, read in one round trip. */
typedef struct kv_watch {
    int64_t version_ms; /* 0: nothing stored */
    bool lease_held;    /* someone holds a live lease (a failure marker is not one) */
} kv_watch;

typedef struct kv_coord_ops {
    /* Grants the lease of (ns, key) to token for ttl_ms unless it is held, or
     * a version newer than seen_ms is already stored (read that instead). */
    nb_err (*lease_acquire)(kv *k, kv_ns ns, const char *key, const char *token, int64_t ttl_ms,
                            int64_t seen_ms, kv_lease *out);
    /* Ends token's lease (compare and delete: *released false when token does
     * not hold it). hold_ms > 0: the key stays leased that long to nobody,
     * with `failure` ("<retry_after_s> <reason>") told to who asks. */
    nb_err (*lease_release)(kv *k, kv_ns ns, const char *key, const char *token, int64_t hold_ms,
                            const char *failure, bool *released);
    /* Takes cost from the budget `name` (every window, atomically; bucket.h
     * rules, timed by the backend's own clock). */
    nb_err (*budget_take)(kv *k, const char *name, double cost, const kv_window *w, size_t nw,
                          kv_budget *out);
    /* The version and lease state of n keys, in one round trip. */
    nb_err (*watch)(kv *k, size_t n, const kv_ns *ns, const char *const *keys, kv_watch *out);
} kv_coord_ops;

typedef struct kv_ops {
    const char *name; /* "redis", "postgres", "mem" */
    nb_err (*get)(kv *k, kv_ns ns, const char *key, kv_value *out);
    /* Optional: n gets in one round trip (pipelined). NB_OK when the batch ran,
     * with each key's own result in rcs[i] (out[i] filled when NB_OK); an
     * error when the connection failed (nothing in out to release). */
    nb_err (*get_many)(kv *k, size_t n, const kv_ns *ns, const char *const *keys, kv_value *out,
                       nb_err *rcs);
    /* expires_at_ms: absolute wall-clock expiry (nb_now_ms), 0 = never. */
    nb_err (*put_if_newer)(kv *k, kv_ns ns, const char *key, int64_t version_ms,
                           int64_t expires_at_ms, const char *data, size_t len, kv_put_result *res);
    nb_err (*del)(kv *k, kv_ns ns, const char *key);
    /* Cheap liveness check; (re)connects if needed. */
    nb_err (*ping)(kv *k);
    /* Drop every connection (they are re-created lazily); called when the
     * backend was seen failing so no thread keeps a dead connection. */
    void (*reset)(kv *k);
    void (*free)(kv *k);
    const kv_outbox_ops *outbox; /* NULL: the backend keeps no outbox */
    const kv_coord_ops *coord;   /* NULL: the backend cannot coordinate replicas */
} kv_ops;

/* Every backend embeds this as its first member. */
struct kv {
    const kv_ops *ops;
    const char *name; /* label in logs and metrics: "redis", "postgres", ... */
};

static inline const char *ps_kv_name(const kv *k)
{
    return k->name;
}
static inline nb_err ps_kv_get(kv *k, kv_ns ns, const char *key, kv_value *out)
{
    return k->ops->get(k, ns, key, out);
}
/* n gets; one round trip where the backend can pipeline, else one by one. */
static inline nb_err ps_kv_get_many(kv *k, size_t n, const kv_ns *ns, const char *const *keys,
                                    kv_value *out, nb_err *rcs)
{
    if (k->ops->get_many) return k->ops->get_many(k, n, ns, keys, out, rcs);
    for (size_t i = 0; i < n; i++) {
        out[i] = (kv_value){0};
        rcs[i] = k->ops->get(k, ns[i], keys[i], &out[i]);
    }
    return NB_OK;
}

static inline nb_err ps_kv_put_if_newer(kv *k, kv_ns ns, const char *key, int64_t version_ms,
                                        int64_t expires_at_ms, const char *data, size_t len,
                                        kv_put_result *res)
{
    return k->ops->put_if_newer(k, ns, key, version_ms, expires_at_ms, data, len, res);
}
static inline nb_err ps_kv_del(kv *k, kv_ns ns, const char *key)
{
    return k->ops->del(k, ns, key);
}
static inline nb_err ps_kv_ping(kv *k)
{
    return k->ops->ping(k);
}
static inline void ps_kv_reset(kv *k)
{
    k->ops->reset(k);
}
static inline void ps_kv_free(kv *k)
{
    if (k) k->ops->free(k);
}

/* The backend's outbox operations, or NULL when it has none. */
static inline const kv_outbox_ops *ps_kv_outbox(const kv *k)
{
    return k->ops->outbox;
}

/* The backend's coordination operations, or NULL when it has none. */
static inline const kv_coord_ops *ps_kv_coord(const kv *k)
{
    return k->ops->coord;
}

static inline bool ps_kv_err_is_down(nb_err e)
{
    return e == NB_ERR_UNAVAILABLE || e == NB_ERR_TIMEOUT;
}

void ps_kv_value_release(kv_value *v);
void ps_kv_outbox_events_free(kv_outbox_event *evs, size_t n);
/* Short prefix of a namespace, e.g. "rec" / "geo". */
const char *ps_kv_ns_name(kv_ns ns);

#endif
