/* lease.h — the fetch step's share of the work between api replicas.
 *
 * Before fetching a key from the upstream, this process's one fetch of it
 * (coalescing in flight.c) asks persistence for the key's renewal lease
 * (store.h lease_acquire). Only the holder fetches; every other replica waits,
 * bounded, for the holder's value through a long poll on persistence
 * (store.h wait_record / wait_geo) — or learns that the holder failed and
 * answers with that failure — and never fetches itself:
 *
 *   granted  → LEASE_FETCH with the token (the PUT of the value releases it,
 *              api_store_with_lease; a failed fetch: api_lease_fail)
 *   newer    → someone renewed it since it was read: LEASE_GOT, read now
 *   held     → long poll until a newer version, no renewal, or the lease's
 *              TTL: LEASE_GOT, or ask again (the holder may have died: its
 *              lease ended, and this process may now hold it)
 *   failed   → LEASE_FAILED with the holder's failure (kept briefly)
 *
 * When persistence cannot answer the lease question (down, Redis down) the
 * process fetches alone (LEASE_FETCH, token ""): coalescing within the
 * process still holds, and a duplicate call beats no answer. A wait that
 * outlives the deadline, or a stop, is LEASE_FAILED.
 *
 * Metrics: nimbus_lease_outcomes_total{outcome="fetch|alone|got|failed|timeout"}.
 * Threads: blocking (up to the deadline): fetch threads only; any number at once. */
#ifndef API_LEASE_H
#define API_LEASE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "nimbus/err.h"
#include "nimbus/record.h"
#include "store.h"

typedef enum lease_verdict {
    LEASE_FETCH,  /* fetch it: token holds the lease, or "" when none could be had */
    LEASE_GOT,    /* another replica's value is stored: the out parameter has it */
    LEASE_FAILED, /* the holder failed, or waiting ended (deadline, stop): err */
} lease_verdict;

typedef struct lease_opts {
    bool alone;              /* never ask (--coordinate=false): always LEASE_FETCH, token "" */
    long ttl_ms;             /* a lease's life (--lease-ms) */
    long poll_ms;            /* the longest single long poll: a stop is seen between two */
    const atomic_bool *stop; /* true: give up (shutdown); may be NULL */
} lease_opts;

typedef struct leases leases;

/* st is borrowed (it outlives the leases); registers the metrics. NULL on no memory. */
leases *api_leases_new(store *st, const lease_opts *o);
void api_leases_free(leases *l);

/* For the weather record of key. seen_ms: the version this process holds (a
 * stale record's fetched_at), 0 for none. deadline_ms: monotonic. On
 * LEASE_GOT, *rec and source are filled. */
lease_verdict api_lease_record(leases *l, const char *key, int64_t seen_ms, int64_t deadline_ms,
                               char token[40], nb_record *rec, char source[16], nb_error *err);
/* For the geocoding entry of a normalised query; on LEASE_GOT *geo is filled. */
lease_verdict api_lease_geo(leases *l, const char *query, int64_t deadline_ms, char token[40],
                            nb_geo_entry *geo, nb_error *err);
/* The holder's fetch failed: the lease is kept hold_ms as that failure, so the
 * replicas waiting answer with it instead of all fetching again. Best effort. */
void api_lease_fail(leases *l, store_lease_kind kind, const char *key, const char *token,
                    long hold_ms, const nb_error *why);

#endif
