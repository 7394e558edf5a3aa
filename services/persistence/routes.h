/* routes.h — persistence's HTTP interface over the store.
 *
 *   GET/PUT /v1/records/{key}     weather records (proto/record.schema.json)
 *   GET/PUT /v1/geocode/{query}   geocoding entries (proto/geocode.schema.json)
 *   /readyz                       {"status":..,"redis":"up|down","postgres":"up|down"}
 * PUT answers follow proto/put-result.schema.json, errors proto/error.schema.json.
 * All routes run on the server's worker threads (they block on backends).
 * Ownership: routes borrow the store; it must outlive the server.
 * Threads: routes_register and routes_ready before/while serving as the
 * server calls them. */
#ifndef NIMBUS_PERSISTENCE_ROUTES_H
#define NIMBUS_PERSISTENCE_ROUTES_H

#include <stdbool.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "store.h"

/* Registers every route on s (before nb_server_start). */
nb_err routes_register(nb_server *s, store *st);
/* The /readyz callback (ctx = the store): ready while the database answers. */
bool routes_ready(void *ctx, nb_buf *out);

#endif
