/* routes.h — persistence's HTTP interface over the store.
 *
 *   GET/PUT /v1/records/{key}     weather records (proto/record.schema.json);
 *                                 PUT ?name= names the event's place
 *   GET/PUT /v1/geocode/{query}   geocoding entries (proto/geocode.schema.json)
 *                                 GET ?newer_than=&wait_ms=: a long poll (watch.h);
 *                                 PUT ?lease=: the writer's renewal lease, released
 *                                 once the value is stored
 *   POST /v1/leases/acquire|release, POST /v1/budget/take
 *                                 replicas' coordination (coord_routes.h)
 *   POST /v1/outbox/claim|ack|release, GET /v1/outbox/stats
 *                                 the outbox (proto/outbox-*.schema.json)
 *   /readyz                       {"status":..,"redis":"up|down","postgres":"up|down"}
 * GET answers carry ETag (the stored version) and Cache-Control: max-age (see
 * routes_deps); an applied PUT answers the new version's ETag.
 * PUT answers follow proto/put-result.schema.json, errors proto/error.schema.json.
 * GETs of records and entries run on the polling thread and never block
 * (the cache read is queued for the store's reader, the rest goes to a
 * worker); every other route runs on the server's worker threads.
 * Ownership: routes borrow the store; it must outlive the server.
 * Threads: ps_routes_register and ps_routes_ready before/while serving as the
 * server calls them. */
#ifndef NIMBUS_PERSISTENCE_ROUTES_H
#define NIMBUS_PERSISTENCE_ROUTES_H

#include <stdbool.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "store.h"
#include "watch.h"

/* What the routes use: the store, the watch that holds long polls, and what
 * GET answers of records and geocoding entries say about reusing them
 * (Cache-Control: max-age, RFC 9111): a client such as the api keeps an
 * answer that long, then revalidates it with If-None-Match (304). */
typedef struct routes_deps {
    store *st;              /* borrowed */
    watch *w;               /* borrowed: GETs wait through it (long polls) */
    long record_max_age_s;  /* records; 0: ask every time */
    long geocode_max_age_s; /* geocoding entries, at most until the entry expires */
} routes_deps;

/* Registers every route on s (before nb_server_start), the coordination
 * routes (coord_routes.h) too. d is borrowed and must outlive the server. */
nb_err ps_routes_register(nb_server *s, const routes_deps *d);
/* The request body when it is application/json (maybe empty: ""); NULL
 * after answering 415 otherwise. Borrowed from r. */
const char *ps_routes_json_body(nb_req *r, size_t *len);
/* The request body as a JSON object with no fields beyond `fields`
 * (NULL-terminated); answers 415 or 400 (with the reason) and returns NULL
 * otherwise. New reference. For every route with a JSON body. */
struct json_t;
struct json_t *ps_routes_json_object(nb_req *r, const char *const *fields);
/* The /readyz callback (ctx = the store): ready while the database answers. */
bool ps_routes_ready(void *ctx, nb_buf *out);

#endif
