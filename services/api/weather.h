/* weather.h — GET /v1/weather: the five flows with stale-while-revalidate.
 *
 * A request is resolved (place name → geocoding entry, or coordinates) to a
 * location key, then answered from what persistence holds: fresh → at once;
 * stale → at once with SWR headers and a background renewal; nothing → the
 * request waits (bounded) for one coalesced upstream fetch. Revalidation
 * requests (Cache-Control: no-cache / max-age=0, If-None-Match) on stale data
 * wait (bounded) for the renewal instead. Fetches run on the pool; new
 * records go to persistence through the writer and out as events.
 * The handler runs on the HTTP server's worker threads (it calls persistence). */
#ifndef API_WEATHER_H
#define API_WEATHER_H

#include <stdbool.h>

#include "api_config.h"
#include "events.h"
#include "flight.h"
#include "memo.h"
#include "nimbus/buf.h"
#include "nimbus/http_server.h"
#include "pool.h"
#include "store_client.h"
#include "upstream.h"
#include "writer.h"

/* Everything the flows use; all borrowed, all outliving the service. */
typedef struct weather_deps {
    const api_config *cfg;
    store_client *store;
    upstream *up;
    writer *wr;
    events *ev;
    flights *fl;
    pool *fetchers;
    memo *memo;
} weather_deps;

typedef struct weather weather;

weather *weather_new(const weather_deps *deps);
void weather_free(weather *w);

/* Route handler for GET /v1/weather (ctx = weather *). */
void weather_handle(nb_req *r, void *ctx);
/* Resolves a normalised place name (nb_geo_normalise) as GET /v1/weather
 * does — remembered, stored in persistence, or one coalesced geocoding fetch —
 * blocking the calling worker thread up to --miss-deadline-ms. NB_OK with
 * *out; NB_ERR_NOT_FOUND for an unknown place; otherwise the upstream's
 * failure, with err filled (reason, Retry-After). */
nb_err weather_resolve(weather *w, const char *query, nb_place *out, nb_error *err);

/* /readyz callback (ctx = weather *): ready when persistence answers. */
bool weather_ready(void *ctx, nb_buf *out);

#endif
