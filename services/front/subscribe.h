/* subscribe.h — front's pages for email alerts, all usable without script:
 *
 *   POST /subscribe                      the "Get alerts by email" form of a place page
 *   GET  /subscriptions/confirm?token=   what is being confirmed, and a Confirm button
 *   POST /subscriptions/confirm?token=   confirms (a GET never does: mail scanners follow links)
 *   GET  /subscriptions/manage?token=    the subscription, and an Unsubscribe button
 *   GET  /subscriptions/unsubscribe?token=  an Unsubscribe button
 *   POST /subscriptions/unsubscribe?token=  unsubscribes; also the RFC 8058 one-click
 *                                        target (body List-Unsubscribe=One-Click)
 *
 * Each calls the api (/v1/subscriptions...) and renders a notice page. The
 * form's POST must come from front's own pages (its Origin, when the browser
 * sends one, must be --public-url's); the token pages need no such check:
 * the token is the authority, and one-click POSTs come from mail providers.
 * Token pages are never cached (Cache-Control: no-store) and carry
 * X-Robots-Tag: noindex. Routes run on workers (they block on the api). */
#ifndef FRONT_SUBSCRIBE_H
#define FRONT_SUBSCRIBE_H

#include "nimbus/err.h"
#include "nimbus/http_server.h"
#include "routes.h"

/* Registers the routes (before front's catch-all place route). */
nb_err fr_subscribe_register(fr_routes *rt, nb_server *s);

/* The rules JSON array for the alert form's fields (body: the urlencoded
 * form). NULL with *why when a field is unusable or nothing is chosen.
 * New reference. Exposed for tests. */
struct json_t;
struct json_t *fr_form_rules(const char *body, size_t len, struct json_t **quiet, const char **why);

#endif
