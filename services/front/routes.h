/* routes.h — front's HTTP routes and content negotiation.
 *
 *   GET /static/<asset>      embedded app.js / style.css (inline, never blocks)
 *   GET /                    search page, or the place in ?city= / ?lat=&lon=
 *   GET /<place>             a place name ("/Berlin") or "lat,lon"
 *
 * A place answer is HTML (browsers), text (curl/, Wget/, HTTPie/ user agents,
 * Accept: text/plain, ?format=text) or the api's JSON passed through with its
 * caching headers (Accept: application/json, ?format=json). Place routes run
 * on the server's worker threads: they block on the api.
 *
 * Ownership: fr_routes holds borrowed settings and lives as long as the
 * server. Handlers are called from the server's threads, concurrently. */
#ifndef FRONT_ROUTES_H
#define FRONT_ROUTES_H

#include <stdbool.h>

#include "api_client.h"
#include "nimbus/buf.h"
#include "nimbus/http_server.h"
#include "nimbus/metrics.h"

typedef enum fr_format { FR_FMT_HTML, FR_FMT_TEXT, FR_FMT_JSON } fr_format;

typedef struct fr_routes {
    fr_api api;
    const char *public_url;   /* front's public URL, no trailing slash (borrowed) */
    nb_counter *api_failures; /* no usable answer from the api */
    nb_counter *renders[3];   /* pages rendered per format */
} fr_routes;

/* Registers the metrics and the routes on s (before nb_server_start). */
nb_err fr_routes_register(fr_routes *rt, nb_server *s);

/* The /readyz callback: ready when the api's /healthz answers. */
bool fr_routes_ready(void *rt, nb_buf *out);

/* Answers an HTML page (body handed over; NULL answers 500) with front's
 * security headers (CSP, nosniff, no referrer, no framing) and cache_control. */
void fr_respond_html(nb_req *r, int status, char *body, size_t len, const char *cache_control);

/* Content negotiation, exposed for tests: format query value (may be NULL),
 * Accept and User-Agent headers (may be NULL). */
fr_format fr_negotiate(const char *format, const char *accept, const char *user_agent);

/* True when s is "lat,lon" (two decimal numbers); fills lat/lon with copies
 * of the two parts (each < 32 bytes). */
bool fr_parse_coords(const char *s, char lat[32], char lon[32]);

#endif
