/* subs_routes.h — persistence's HTTP interface to subscriptions and mails.
 *
 *   For the api (subscription requests and the token pages):
 *   POST /v1/subscriptions                  create (pending) + queue its confirmation
 *   POST /v1/subscriptions/lookup           {"token"} → the subscription it opens
 *   POST /v1/subscriptions/confirm          {"token"} (a confirm token) → active
 *   POST /v1/subscriptions/unsubscribe      {"token"} → unsubscribed
 *   For the notifier:
 *   GET  /v1/places/{key}/subscriptions     active subscriptions of a place, paged
 *   POST /v1/evaluations                    rule states + alerts of one event
 *   POST /v1/mails/claim | /sent | /failed  the mail queue
 *   GET  /v1/mails/stats                    pending mails, oldest age
 * Bodies: proto/subscription*.schema.json, proto/evaluations.schema.json,
 * proto/mail*.schema.json; errors proto/error.schema.json. Tokens travel in
 * bodies, never in paths (paths are logged). Every route runs on a worker
 * (they block on PostgreSQL). The routes borrow s; it outlives the server. */
#ifndef NIMBUS_PERSISTENCE_SUBS_ROUTES_H
#define NIMBUS_PERSISTENCE_SUBS_ROUTES_H

#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "subs.h"

nb_err ps_subs_routes_register(nb_server *srv, subs *s);

#endif
