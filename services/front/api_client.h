/* api_client.h — front's client of the api (GET /v1/weather, /healthz), on
 * libcommon's http_client (one reused curl handle per thread, timeouts, body
 * cap, X-Request-Id from the thread's log request id). It keeps the caching
 * headers front's cache (cache.h) keeps and passes on to scripts.
 *
 * Threads: any thread may call. Call nb_httpc_global_init() from main() first. */
#ifndef FRONT_API_CLIENT_H
#define FRONT_API_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "nimbus/buf.h"
#include "nimbus/err.h"

typedef struct fr_api {
    const char *base_url; /* "http://127.0.0.1:8080" (borrowed) */
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_body;
} fr_api;

typedef struct fr_api_query {
    const char *city;      /* a place name, or NULL */
    const char *lat, *lon; /* coordinates as text, or NULL */
    const char *days;      /* 1..16 as text, or NULL */
    const char *hours;     /* 1..384 as text, or NULL */
    const char *units;     /* "metric" / "imperial", or NULL */
} fr_api_query;

typedef struct fr_api_resp {
    long status; /* 0 when no HTTP answer arrived */
    nb_buf body; /* owned; fr_api_resp_release() */
    char content_type[128];
    char cache_control[160];
    char age[24];
    char etag[160];
    char last_modified[48];
    char cache_status[200];
    char x_cache[24];
    char x_source[24];
    char retry_after[32];
    char errmsg[256]; /* transport error when status == 0 */
} fr_api_resp;

/* The request target of q: "/v1/weather?city=Berlin&units=imperial" (the
 * parameters percent-encoded, in one order: one target per answer), malloc'd
 * (caller frees); NULL when out of memory. */
char *fr_api_target(const fr_api_query *q);

/* GET {base}{target} with Accept: application/json, If-None-Match when
 * if_none_match is not NULL and Cache-Control: no-cache when no_cache.
 * cancel (may be NULL): when it becomes true the call ends within about a
 * second. Returns NB_OK when an HTTP answer arrived (any status);
 * NB_ERR_UNAVAILABLE (could not connect, cancelled), NB_ERR_TIMEOUT,
 * NB_ERR_TOO_LARGE or NB_ERR_UPSTREAM otherwise, with resp->errmsg set.
 * resp is initialised here in every case; release it. */
nb_err fr_api_get(const fr_api *api, const char *target, const char *if_none_match, bool no_cache,
                  const atomic_bool *cancel, fr_api_resp *resp);

/* fr_api_get with the api as a void pointer: the cache's fetch function
 * (cache.h's fr_fetch_fn). */
nb_err fr_api_fetch(void *api, const char *target, const char *if_none_match, bool no_cache,
                    const atomic_bool *cancel, fr_api_resp *resp);

/* True when GET {base}/healthz answers 200 within min(timeout, 1 s). */
bool fr_api_healthy(const fr_api *api);

void fr_api_resp_release(fr_api_resp *resp);

/* Reads max-age and stale-while-revalidate from a Cache-Control value;
 * -1 for a directive that is absent. */
void fr_cache_control_parse(const char *cc, long *max_age, long *swr);
/* True when a Cache-Control value lists the directive name ("no-store"). */
bool fr_cache_control_has(const char *cc, const char *name);

#endif
