/* subscriptions.h — the api's email subscription routes.
 *
 *   POST   /v1/subscriptions          {"email", "city" | "lat"+"lon", "rules"?,
 *                                      "quiet_hours"?} → 202 {"id", "status":
 *                                      "pending", ...}: a confirmation mail is queued
 *   GET    /v1/subscriptions?token=T  the subscription a token from a mail opens
 *   DELETE /v1/subscriptions?token=T  unsubscribe
 *   POST   /v1/subscriptions/confirm  {"token"} (or ?token=): confirm (double opt-in)
 *
 * The place is resolved as GET /v1/weather resolves it, through a resolver
 * function (the only thing this module needs of the weather flows); the
 * subscription itself lives in persistence (its HTTP interface, as ever).
 * Confirmation mails are capped per address and per client per hour; the
 * client is the peer address, or — when the peer is one of
 * --trusted-proxies — the nearest untrusted address in X-Forwarded-For.
 * Tokens travel in query strings and bodies, never in paths (paths are
 * logged). Handlers run on worker threads (they block on persistence and
 * maybe the geocoder). */
#ifndef API_SUBSCRIPTIONS_H
#define API_SUBSCRIPTIONS_H

#include <stdbool.h>

#include "api_config.h"
#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "nimbus/record.h"

/* Resolves a normalised place name (blocking); NB_ERR_NOT_FOUND for an
 * unknown place, other errors with err filled. */
typedef nb_err (*sub_resolve_fn)(void *ctx, const char *query, nb_place *out, nb_error *err);

typedef struct subscriptions subscriptions;

/* cfg and resolve_ctx are borrowed and outlive the service. NULL on no
 * memory or an unreadable --trusted-proxies (logged). */
subscriptions *subscriptions_new(const api_config *cfg, sub_resolve_fn resolve, void *resolve_ctx);
void subscriptions_free(subscriptions *s);
/* Registers the four routes (ctx = s). */
nb_err subscriptions_register(subscriptions *s, nb_server *srv);

/* The client a request speaks for: peer, or — when peer is inside one of
 * the trusted networks — the rightmost address of xff (may be NULL) that is
 * not, walking leftwards. out >= 64 bytes. Exposed for tests. */
void sub_client_address(const char *peer, const char *xff, const char *trusted, char *out,
                        size_t outlen);

#endif
