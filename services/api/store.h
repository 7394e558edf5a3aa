/* store.h — the api's seam to persistence: a table of operations plus the
 * backend's own state (the idea of services/persistence/kv.h). store_http.c
 * speaks persistence's HTTP interface; the unit tests use an in-memory
 * double. The api knows nothing of Redis or PostgreSQL.
 *
 * Errors: NB_OK; NB_ERR_NOT_FOUND (reads: nothing stored); a refusal —
 * persistence answered 4xx: NB_ERR_INVALID, NB_ERR_CONFLICT, NB_ERR_TOO_LARGE,
 * ... — is permanent (api_store_err_transient() false: never retry it); a failure
 * — NB_ERR_UNAVAILABLE, NB_ERR_TIMEOUT, NB_ERR_UPSTREAM (a 5xx or an answer
 * that makes no sense), NB_ERR_RATE_LIMITED (429) — is transient. err (may be
 * NULL) receives a reason for logs.
 *
 * Threads: every operation may be called from any thread at the same time;
 * each blocks for at most timeout_ms (0: the store's default). */
#ifndef API_STORE_H
#define API_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "nimbus/bucket.h"
#include "nimbus/err.h"
#include "nimbus/record.h"

typedef struct store store;

#define STORE_ETAG_MAX 32 /* persistence's validators: a quoted version in ms */

/* What persistence said about a read besides its body (RFC 9111). */
typedef struct store_meta {
    char source[16];           /* X-Store: "cache", "database" */
    char etag[STORE_ETAG_MAX]; /* ETag: the stored version's validator, "" if none */
    long max_age_s;            /* Cache-Control: max-age; -1 when absent (reuse nothing) */
    bool unchanged;            /* 304: the version asked with If-None-Match is still stored */
} store_meta;

/* What a PUT did. */
typedef struct store_put_result {
    bool applied;              /* false: persistence already held something at least as new */
    bool cache_written;        /* persistence's cache has it too ("cache": "written") */
    char etag[STORE_ETAG_MAX]; /* when applied: the validator of the version now stored */
    char event[40];            /* id of the outbox event the write created, "" for none */
} store_put_result;

/* An outbox event as claimed (proto/outbox-claim.schema.json). */
typedef struct outbox_event {
    char id[40];
    char key[NB_KEY_MAX];
    char *json; /* the event object, compact JSON (owned) */
    size_t len;
} outbox_event;

typedef struct outbox_stats {
    long pending;        /* events not yet marked sent */
    double oldest_age_s; /* age of the oldest of them, 0 when none */
} outbox_stats;

/* Renewal leases (proto/lease-*.schema.json): who fetches a key. */
typedef enum store_lease_kind { STORE_LEASE_RECORD, STORE_LEASE_GEOCODE } store_lease_kind;

typedef enum store_lease_state {
    STORE_LEASE_GRANTED, /* this caller holds it: token */
    STORE_LEASE_HELD,    /* another replica fetches; ttl_ms left */
    STORE_LEASE_NEWER,   /* a version newer than the caller's is stored: version_ms */
    STORE_LEASE_FAILED,  /* the last holder failed: retry_after_s, reason; kept ttl_ms */
} store_lease_state;

typedef struct store_lease {
    store_lease_state state;
    char token[40];
    long ttl_ms;
    int64_t version_ms;
    int retry_after_s;
    char reason[160];
} store_lease;

/* The shared upstream budget's answer (proto/budget-take-result.schema.json). */
typedef struct store_budget {
    bool granted;
    long retry_after_ms; /* refused */
    long window_s;       /* refused: the window that waits longest */
    double left[NB_BUCKET_WINDOWS_MAX];
} store_budget;
/* persistence's own answer to a call whose answer the api passes on (the
 * subscription routes: their statuses and reasons are the client's). */
typedef struct store_reply {
    long status;          /* the HTTP status */
    char *body;           /* the body, NUL-terminated (owned: api_store_reply_release) */
    size_t len;           /* its length */
    char retry_after[16]; /* its Retry-After, "" when none */
} store_reply;

typedef struct store_ops {
    const char *name; /* "http", "mem" */
    /* The record for key and what persistence said of it (meta). With
     * if_none_match (may be NULL) naming the stored version: NB_OK,
     * meta->unchanged, out untouched. */
    nb_err (*get_record)(store *s, const char *key, const char *if_none_match, nb_record *out,
                         store_meta *meta, nb_error *err);
    /* The geocoding entry for a normalised query (expired ones never), and
     * what persistence said of it (meta: source, etag, max_age_s). */
    nb_err (*get_geo)(store *s, const char *query, nb_geo_entry *out, store_meta *meta,
                      nb_error *err);
    /* PUT a JSON body to a path made by api_store_record_path / api_store_geo_path. */
    nb_err (*put)(store *s, const char *path, const char *body, size_t len, long timeout_ms,
                  store_put_result *res, nb_error *err);
    /* Claims up to limit unsent events for owner until now + lease_ms, oldest
     * first: *out is a malloc'd array of *n events (free with api_outbox_events_free). */
    nb_err (*claim)(store *s, const char *owner, int limit, long lease_ms, long timeout_ms,
                    outbox_event **out, size_t *n, nb_error *err);
    /* Marks events sent; *count: how many were not sent before. */
    nb_err (*ack)(store *s, const char *const *ids, size_t n, long timeout_ms, long *count,
                  nb_error *err);
    /* Drops owner's claims on unsent events (another relay may take them at once). */
    nb_err (*release)(store *s, const char *owner, const char *const *ids, size_t n,
                      long timeout_ms, long *count, nb_error *err);
    nb_err (*stats)(store *s, outbox_stats *out, nb_error *err);
    /* The renewal lease of a key (seen_ms: the version the caller holds, 0 none). */
    nb_err (*lease_acquire)(store *s, store_lease_kind kind, const char *key, int64_t seen_ms,
                            long ttl_ms, store_lease *out, nb_error *err);
    /* Ends token's lease; with hold_ms > 0 the failure (retry_after_s, reason)
     * is kept that long for others to learn. */
    nb_err (*lease_release)(store *s, store_lease_kind kind, const char *key, const char *token,
                            long hold_ms, int retry_after_s, const char *reason, nb_error *err);
    /* A long poll: waits up to wait_ms until a record newer than newer_than_ms
     * is stored for key (or nobody renews it), then answers as get_record:
     * NB_OK with the record (its version may be no newer: compare), or
     * NB_ERR_NOT_FOUND. */
    nb_err (*wait_record)(store *s, const char *key, int64_t newer_than_ms, long wait_ms,
                          nb_record *out, char source[16], nb_error *err);
    /* The same for a geocoding entry (newer_than_ms 0: any). */
    nb_err (*wait_geo)(store *s, const char *query, int64_t newer_than_ms, long wait_ms,
                       nb_geo_entry *out, nb_error *err);
    /* Takes cost from the budget every replica shares (nw windows). */
    nb_err (*budget_take)(store *s, double cost, const nb_window *w, size_t nw, store_budget *out,
                          nb_error *err);
    /* POSTs a JSON body to one of persistence's subscription routes
     * ("/v1/subscriptions", "/v1/subscriptions/confirm", ...): NB_OK with
     * *out filled whatever the status (a 4xx or 5xx is the caller's to pass
     * on); an error only when no answer came. */
    nb_err (*subscriptions)(store *s, const char *path, const char *body, size_t len,
                            store_reply *out, nb_error *err);
    /* true when persistence answers. */
    bool (*ping)(store *s);
    void (*free)(store *s);
} store_ops;

/* Every backend embeds this as its first member. */
struct store {
    const store_ops *ops;
};

static inline nb_err api_store_get_record(store *s, const char *key, const char *if_none_match,
                                          nb_record *out, store_meta *meta, nb_error *err)
{
    return s->ops->get_record(s, key, if_none_match, out, meta, err);
}
static inline nb_err api_store_get_geo(store *s, const char *query, nb_geo_entry *out,
                                       store_meta *meta, nb_error *err)
{
    return s->ops->get_geo(s, query, out, meta, err);
}
static inline nb_err api_store_put(store *s, const char *path, const char *body, size_t len,
                                   long timeout_ms, store_put_result *res, nb_error *err)
{
    return s->ops->put(s, path, body, len, timeout_ms, res, err);
}
static inline nb_err api_store_claim(store *s, const char *owner, int limit, long lease_ms,
                                     long timeout_ms, outbox_event **out, size_t *n, nb_error *err)
{
    return s->ops->claim(s, owner, limit, lease_ms, timeout_ms, out, n, err);
}
static inline nb_err api_store_ack(store *s, const char *const *ids, size_t n, long timeout_ms,
                                   long *count, nb_error *err)
{
    return s->ops->ack(s, ids, n, timeout_ms, count, err);
}
static inline nb_err api_store_release(store *s, const char *owner, const char *const *ids,
                                       size_t n, long timeout_ms, long *count, nb_error *err)
{
    return s->ops->release(s, owner, ids, n, timeout_ms, count, err);
}
static inline nb_err api_store_stats(store *s, outbox_stats *out, nb_error *err)
{
    return s->ops->stats(s, out, err);
}
static inline nb_err api_store_lease_acquire(store *s, store_lease_kind kind, const char *key,
                                             int64_t seen_ms, long ttl_ms, store_lease *out,
                                             nb_error *err)
{
    return s->ops->lease_acquire(s, kind, key, seen_ms, ttl_ms, out, err);
}
static inline nb_err api_store_lease_release(store *s, store_lease_kind kind, const char *key,
                                             const char *token, long hold_ms, int retry_after_s,
                                             const char *reason, nb_error *err)
{
    return s->ops->lease_release(s, kind, key, token, hold_ms, retry_after_s, reason, err);
}
static inline nb_err api_store_wait_record(store *s, const char *key, int64_t newer_than_ms,
                                           long wait_ms, nb_record *out, char source[16],
                                           nb_error *err)
{
    return s->ops->wait_record(s, key, newer_than_ms, wait_ms, out, source, err);
}
static inline nb_err api_store_wait_geo(store *s, const char *query, int64_t newer_than_ms,
                                        long wait_ms, nb_geo_entry *out, nb_error *err)
{
    return s->ops->wait_geo(s, query, newer_than_ms, wait_ms, out, err);
}
static inline nb_err api_store_budget_take(store *s, double cost, const nb_window *w, size_t nw,
                                           store_budget *out, nb_error *err)
{
    return s->ops->budget_take(s, cost, w, nw, out, err);
}
static inline nb_err api_store_subscriptions(store *s, const char *path, const char *body,
                                             size_t len, store_reply *out, nb_error *err)
{
    return s->ops->subscriptions(s, path, body, len, out, err);
}
static inline bool api_store_ping(store *s)
{
    return s->ops->ping(s);
}
static inline void api_store_free(store *s)
{
    if (s) s->ops->free(s);
}

/* False for a refusal (4xx: retrying cannot help), true for a failure. */
bool api_store_err_transient(nb_err e);

/* Persistence's resources. Caller frees; NULL on no memory.
 * name (may be NULL): the place name for the event (?name=). */
char *api_store_record_path(const char *key, const char *name);
char *api_store_geo_path(const char *query);
/* path (taken over; may be NULL) with ?lease=token (or &lease=): a PUT that
 * releases the writer's renewal lease once stored. token NULL or "": path as
 * it is. NULL on no memory (path freed). */
char *api_store_with_lease(char *path, const char *token);
/* Frees what a reply holds (NULL and a zeroed reply are fine). */
void api_store_reply_release(store_reply *r);
/* Frees an array from claim. */
void api_outbox_events_free(outbox_event *evs, size_t n);

#endif
