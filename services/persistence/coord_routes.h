/* coord_routes.h — what api replicas coordinate through, behind persistence's
 * HTTP interface (the api never sees Redis):
 *
 *   POST /v1/leases/acquire   a renewal lease per location key or geocoding
 *                             query: granted (with a token), held by another,
 *                             newer (a newer version is stored: read it), or
 *                             failed (the last holder's failure, kept briefly)
 *                             proto/lease-acquire*.schema.json
 *   POST /v1/leases/release   by its holder only (compare and delete), or kept
 *                             hold_ms as a failure others are told
 *                             proto/lease-release*.schema.json
 *   POST /v1/budget/take      the upstream budget every replica shares: one
 *                             token bucket per window (libcommon bucket.h)
 *                             proto/budget-take*.schema.json
 * and PUT /v1/records/{key}?lease=<token> (and geocode): the writer's lease is
 * released once the value is stored (coord_release_after_put).
 *
 * They live in the cache (Redis), behind its breaker: when it is down they
 * answer 503 with Retry-After, and the api falls back (docs/architecture.md).
 * Metrics: nimbus_leases_total{result}, nimbus_lease_releases_total{result},
 * nimbus_budget_takes_total{result}.
 * Threads: the routes run on the server's workers; the helpers on any thread. */
#ifndef NIMBUS_PERSISTENCE_COORD_ROUTES_H
#define NIMBUS_PERSISTENCE_COORD_ROUTES_H

#include <stdbool.h>

#include "kv.h"
#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "store.h"

nb_err ps_coord_routes_register(nb_server *s, store *st);

/* A ?lease= query value: absent, or a lease token (a UUID). Answers 400 and
 * returns false otherwise. */
bool ps_coord_lease_param_ok(nb_req *r, const char *token);
/* After a PUT that stored (rc NB_OK) with ?lease=token: releases the lease.
 * Returns what the put result says of it ("released", "not_held",
 * "unavailable"), or NULL when no lease was named or nothing was stored. */
const char *ps_coord_release_after_put(store *st, kv_ns ns, const char *key, const char *token,
                                       nb_err rc);

#endif
