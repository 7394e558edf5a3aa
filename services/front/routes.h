/* routes.h — front's HTTP routes and content negotiation.
 *
 *   GET /static/<asset>      embedded app.js / style.css (inline, never blocks)
 *   GET /                    search page, or the place in ?city= / ?lat=&lon=
 *   GET /<place>             a place name ("/Berlin") or "lat,lon"
 *
 * A place answer is HTML (browsers), text (curl/, Wget/, HTTPie/ user agents,
 * Accept: text/plain, ?format=text), one wttr.in-style line (?format=1..4 or
 * a %-format) or the api's JSON passed through with its caching headers
 * (Accept: application/json, ?format=json); view.h reads what was asked.
 * Place answers come from front's cache of the api's answers and of the
 * pages rendered from them (cache.h): what it holds fresh — or stale, while
 * it is revalidated in the background — and rendered is answered on the
 * polling thread; a request that must ask the api (nothing kept, kept too
 * long, the client's no-cache) or render goes to a worker thread.
 *
 * Ownership: fr_routes holds borrowed settings and the cache and lives as
 * long as the server. Handlers are called from the server's threads,
 * concurrently. */
#ifndef FRONT_ROUTES_H
#define FRONT_ROUTES_H

#include <stdbool.h>

#include "api_client.h"
#include "cache.h"
#include "nimbus/buf.h"
#include "nimbus/http_server.h"
#include "nimbus/metrics.h"
#include "view.h"

typedef struct fr_routes {
    fr_api api;
    fr_cache *cache;                 /* borrowed */
    const char *public_url;          /* front's public URL, no trailing slash (borrowed) */
    nb_counter *api_failures;        /* no usable answer from the api */
    nb_counter *renders[FR_FORMATS]; /* pages, reports and lines rendered (not JSON) */
} fr_routes;

/* Registers the metrics and the routes on s (before nb_server_start). */
nb_err fr_routes_register(fr_routes *rt, nb_server *s);

/* The /readyz callback: ready when the api's /healthz answers. */
bool fr_routes_ready(void *rt, nb_buf *out);

/* Answers an HTML page (body handed over; NULL answers 500) with front's
 * security headers (CSP, nosniff, no referrer, no framing) and cache_control. */
void fr_respond_html(nb_req *r, int status, char *body, size_t len, const char *cache_control);

/* True when s is "lat,lon" (two decimal numbers); fills lat/lon with copies
 * of the two parts (each < 32 bytes). */
bool fr_parse_coords(const char *s, char lat[32], char lon[32]);

#define FR_PLACE_MAX 200 /* bytes of a place name front forwards */

typedef enum fr_place_kind {
    FR_PLACE_NONE,    /* no place asked for: the search page (usage text) */
    FR_PLACE_NAME,    /* a place name: name */
    FR_PLACE_COORDS,  /* coordinates: lat, lon */
    FR_PLACE_IGNORED, /* what browsers ask for on their own (favicon.ico, ...) */
    FR_PLACE_BAD,     /* refused: reason says why */
} fr_place_kind;

/* The place a request names. name and shown may point into the struct
 * (trimmed) or into the inputs: don't copy it, keep the inputs alive. */
typedef struct fr_place {
    fr_place_kind kind;
    const char *name;   /* FR_PLACE_NAME */
    const char *shown;  /* what the search box shows again, or NULL */
    const char *reason; /* FR_PLACE_BAD: a static sentence for the reader */
    char lat[32], lon[32];
    char trimmed[FR_PLACE_MAX + 2];
} fr_place;

/* Reads the place from the path after "/" (tail, percent-decoded: "Berlin",
 * "Berlin/", "52.52,13.41") or, when the path is "/", from the query's city,
 * or lat and lon (each NULL when absent). */
void fr_place_parse(const char *tail, const char *city, const char *lat, const char *lon,
                    fr_place *p);

/* The path of the place's data below front ("/S%C3%A3o%20Paulo",
 * "/52.52,13.41"), malloc'd (caller frees); NULL when out of memory or p is
 * not a name or coordinates. */
char *fr_place_path(const fr_place *p);

#endif
