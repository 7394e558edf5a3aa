/* upstream.h — the Open-Meteo client: paced, bounded retries with jitter on
 * 5xx and timeouts (never on 4xx), a response size cap, and the
 * "Invalid timezone" fallback from timezone=auto to GMT.
 * Thread-safe: each calling thread uses its own curl handle (http_client.h).
 * Calls block (up to attempts × timeout): call them from fetch threads only. */
#ifndef API_UPSTREAM_H
#define API_UPSTREAM_H

#include <stdbool.h>

#include "api_config.h"
#include "nimbus/err.h"
#include "nimbus/record.h"

typedef struct upstream upstream;

typedef struct up_error {
    int retry_after_s; /* for NB_ERR_RATE_LIMITED and outages */
    char reason[256];
} up_error;

/* cfg is borrowed and must outlive the client. */
upstream *upstream_new(const api_config *cfg);
void upstream_free(upstream *u);

/* NB_OK with *out filled; NB_ERR_RATE_LIMITED (pace spent or upstream 429),
 * NB_ERR_UPSTREAM (error status, malformed or oversized answer),
 * NB_ERR_TIMEOUT / NB_ERR_UNAVAILABLE (no answer) with err filled. */
nb_err upstream_forecast(upstream *u, const char *key, nb_record *out, up_error *err);
/* NB_OK with *found telling whether the place exists. */
nb_err upstream_geocode(upstream *u, const char *query, nb_place *out, bool *found, up_error *err);
/* Tokens left in the pace bucket (for /readyz). */
double upstream_pace_available(upstream *u);

#endif
