/* upstream.h — the api's seam to the weather upstream (Open-Meteo's forecast
 * and geocoding): a table of operations plus the backend's state.
 * upstream_http.c is the real client; the unit tests use an in-memory double.
 *
 * Errors (err receives the reason and, for outages and pacing, Retry-After):
 * NB_ERR_RATE_LIMITED (budget spent, or the upstream said 429), NB_ERR_UPSTREAM
 * (an error status, a malformed or oversized answer), NB_ERR_TIMEOUT /
 * NB_ERR_UNAVAILABLE (no answer, or cancelled).
 * Threads: calls block (up to attempts × timeout): make them from fetch
 * threads only; any number at once. */
#ifndef API_UPSTREAM_H
#define API_UPSTREAM_H

#include <stdbool.h>

#include "nimbus/err.h"
#include "nimbus/record.h"

typedef struct upstream upstream;

typedef struct upstream_ops {
    const char *name; /* "http", "mem" */
    /* The record for a location key (fetched_at stamped now). */
    nb_err (*forecast)(upstream *u, const char *key, nb_record *out, nb_error *err);
    /* Resolves a normalised place query: NB_OK with *found telling whether it exists. */
    nb_err (*geocode)(upstream *u, const char *query, nb_place *out, bool *found, nb_error *err);
    /* Shutdown: calls in progress end at once (or within a second) and later
     * ones fail, NB_ERR_UNAVAILABLE. Any thread. */
    void (*cancel)(upstream *u);
    void (*free)(upstream *u);
} upstream_ops;

/* Every backend embeds this as its first member. */
struct upstream {
    const upstream_ops *ops;
};

static inline nb_err api_upstream_forecast(upstream *u, const char *key, nb_record *out,
                                           nb_error *err)
{
    return u->ops->forecast(u, key, out, err);
}
static inline nb_err api_upstream_geocode(upstream *u, const char *query, nb_place *out,
                                          bool *found, nb_error *err)
{
    return u->ops->geocode(u, query, out, found, err);
}
static inline void api_upstream_cancel(upstream *u)
{
    u->ops->cancel(u);
}
static inline void api_upstream_free(upstream *u)
{
    if (u) u->ops->free(u);
}

#endif
