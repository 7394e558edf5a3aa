/* subscriptions.h — the api's email subscription routes.
 *
 *   POST   /v1/subscriptions          {"email", "city" | "lat"+"lon", "rules"?,
 *                                      "quiet_hours"?} → 202 {"id", "status":
 *                                      "pending", ...}: a confirmation mail is queued
 *   GET    /v1/subscriptions?token=T  the subscription a token from a mail opens
 *   DELETE /v1/subscriptions?token=T  unsubscribe
 *   POST   /v1/subscriptions/confirm  {"token"} (or ?token=): confirm (double opt-in)
 *
 * Bodies are read by sub_request.c. A place given by name is resolved
 * through a resolver function — the only thing this module needs of the
 * weather flows (app.c hands it api_weather_resolve: the step GET /v1/weather
 * takes, coalesced, remembered, bounded) — which never blocks a worker: the
 * request continues on a worker once the place is known. The subscription
 * itself lives in persistence (store.h, its HTTP interface as ever), whose
 * answer — the subscription, or a refusal with its reason and Retry-After —
 * is passed on.
 * Confirmation mails are capped per address and per client per hour; the
 * client is the peer address, or — when the peer is one of
 * --trusted-proxies — the nearest untrusted address in X-Forwarded-For.
 * Tokens travel in query strings and bodies, never in paths (paths are
 * logged). Handlers run on the server's workers (they call persistence). */
#ifndef API_SUBSCRIPTIONS_H
#define API_SUBSCRIPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "api_config.h"
#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "nimbus/record.h"
#include "store.h"

/* The outcome of a resolution: place (borrowed for the call) when found,
 * else NULL and err says why (NB_ERR_NOT_FOUND: no such place;
 * NB_ERR_UPSTREAM: the geocoder answered wrong; else it may pass, with a
 * Retry-After). Runs on a server worker with r not answered. */
typedef void (*sub_resolved_fn)(nb_req *r, void *arg, const nb_place *place, const nb_error *err);
/* Resolves a normalised place name for r without blocking; calls done(r,
 * arg, ...) exactly once (maybe before it returns). */
typedef void (*sub_resolve_fn)(void *ctx, nb_req *r, const char *query, sub_resolved_fn done,
                               void *arg);

/* All borrowed; they outlive the service. */
typedef struct sub_deps {
    const api_config *cfg;
    store *st;
    sub_resolve_fn resolve;
    void *resolve_ctx;
} sub_deps;

typedef struct subscriptions subscriptions;

/* NULL on no memory or an unreadable --trusted-proxies (logged). */
subscriptions *api_subscriptions_new(const sub_deps *deps);
void api_subscriptions_free(subscriptions *s);
/* Registers the four routes (ctx = s). */
nb_err api_subscriptions_register(subscriptions *s, nb_server *srv);

/* The client a request speaks for: peer, or — when peer is inside one of
 * the trusted networks — the rightmost address of xff (may be NULL) that is
 * not, walking leftwards. out >= 64 bytes. Exposed for tests. */
void api_sub_client_address(const char *peer, const char *xff, const char *trusted, char *out,
                            size_t outlen);

#endif
