/* weather.h — GET /v1/weather: the five flows with stale-while-revalidate.
 *
 * A request is resolved (place name → geocoding entry, or coordinates) to a
 * location key, then answered from what persistence holds: fresh → at once;
 * stale → at once with SWR headers and a background renewal; nothing → the
 * request waits (bounded) for one coalesced upstream fetch. Revalidation
 * requests (Cache-Control: no-cache / max-age=0, If-None-Match) on stale data
 * wait (bounded) for the renewal instead.
 *
 * What persistence holds is read through the near-cache (near_cache.h), an
 * HTTP cache of persistence's answers: a copy is reused for as long as
 * persistence's Cache-Control: max-age allows, then revalidated with
 * If-None-Match; a client's Cache-Control: no-cache always reaches
 * persistence. Freshness, Age and the SWR headers are computed from the
 * record's fetched_at for every answer.
 *
 * One owner per request: a request's state (wx) lives in one place and
 * advances on one thread at a time. It starts on the server's polling thread
 * (an inline route), which answers it when no blocking step is needed (a
 * fresh copy in the near-cache, a record just fetched); a persistence read
 * is handed to a worker. When it must wait — for a persistence read another
 * request is making, or for an upstream fetch — it is attached to that
 * flight; the completion or its deadline (exactly one) hands it back to a
 * worker with nb_req_to_worker. Fetch threads only fetch: no persistence
 * call, no other request's work runs on them. Reads of one key by many
 * requests at once are one read ("r:<key>", "q:<query>" flights).
 *
 * The place step also serves other routes (api_weather_resolve).
 *
 * Two steps are single functions so that later work can replace them: the
 * record read (read_record_from_store, with serve_copy in front of it) and
 * the upstream fetch (fetch job).
 * The fetch step shares its work with the other api replicas (lease.h): the
 * one fetch of a key in this process asks persistence for the key's renewal
 * lease first; the holder fetches (spending the shared upstream budget,
 * budget.h) and its PUT releases the lease, every other replica waits for
 * that record (or the holder's failure) instead of fetching.
 * Threads: api_weather_handle runs on the server's polling threads (never
 * blocks); api_weather_stop from the owner. */
#ifndef API_WEATHER_H
#define API_WEATHER_H

#include <stdbool.h>

#include "api_config.h"
#include "flight.h"
#include "near_cache.h"
#include "nimbus/buf.h"
#include "nimbus/http_server.h"
#include "pool.h"
#include "store.h"
#include "upstream.h"
#include "writer.h"

/* Everything the flows use; all borrowed, all outliving the service. */
typedef struct weather_deps {
    const api_config *cfg;
    store *st;
    upstream *up;
    writer *wr;
    flights *fl;
    pool *fetchers;
    near_cache *nc;
} weather_deps;

typedef struct weather weather;

weather *api_weather_new(const weather_deps *deps);
/* Shutdown, first step: fetches that have not started are dropped (their
 * waiters get 503) and no new step starts; requests still waiting are
 * answered as their flights complete. */
void api_weather_stop(weather *w);
void api_weather_free(weather *w);

/* Route handler for GET /v1/weather (ctx = weather *); a NB_ROUTE_INLINE route. */
void api_weather_handle(nb_req *r, void *ctx);
/* The place step of a request by name, for another route's request r
 * (POST /v1/subscriptions): the same step GET /v1/weather?city= takes, with
 * its coalescing, its memory of recent answers (not found too, for
 * negative-ttl-s), its bounds and its deadline (miss-deadline-ms from now).
 * In order: a geocoding fetch in flight or just done ("g:<query>"), the
 * entry persistence stores (one read for every request asking at once,
 * "q:<query>"), one geocoder fetch on the fetch pool. Nothing waits on a
 * worker: while the step waits, r is attached to the flight, and the
 * completion or the deadline hands it back to a worker.
 *
 * then(r, arg, place, err) runs exactly once, on a server worker (maybe
 * before api_weather_resolve returns), with r not answered: place (borrowed for
 * the call) when found; otherwise NULL and err says why — NB_ERR_NOT_FOUND
 * (the geocoder knows no such place), NB_ERR_UPSTREAM (it answered wrong),
 * or what may pass (NB_ERR_TIMEOUT, NB_ERR_UNAVAILABLE: busy or shutting
 * down, NB_ERR_RATE_LIMITED, NB_ERR_NOMEM), with a Retry-After.
 * name: normalised (nb_geo_normalise). Threads: a server worker. */
typedef void (*weather_place_fn)(nb_req *r, void *arg, const nb_place *place, const nb_error *err);
void api_weather_resolve(weather *w, nb_req *r, const char *name, weather_place_fn then, void *arg);

/* JSON fields (no braces) for /readyz: "fetch_queue", "waiting". */
void api_weather_status(weather *w, nb_buf *out);

#endif
