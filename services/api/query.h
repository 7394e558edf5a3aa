/* query.h — what a GET /v1/weather request asks for: the query arguments
 * city, lat, lon, days, hours and units and the revalidation headers, read
 * into a place (normalised name or location key), a day count, an hour
 * count, a unit system and whether the client revalidates.
 *
 * Pure: no I/O, inputs borrowed, outputs in caller memory. Thread-safe. */
#ifndef API_QUERY_H
#define API_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "nimbus/err.h"
#include "nimbus/record.h"
#include "nimbus/units.h"

#define QUERY_DEFAULT_DAYS 7
#define QUERY_DEFAULT_HOURS 48

/* The request's raw input; every field NULL when absent. */
typedef struct query_args {
    const char *city, *lat, *lon, *days, *hours, *units; /* query arguments, percent-decoded */
    const char *cache_control, *pragma, *if_none_match;  /* request headers */
} query_args;

typedef struct query {
    int days;        /* 1..16 */
    int hours;       /* 1..384: entries of hourly from the current hour */
    nb_units units;  /* metric (default) or imperial */
    bool by_name;    /* true: name holds the place; false: key does */
    bool revalidate; /* Cache-Control: no-cache / max-age=0, Pragma: no-cache, If-None-Match */
    bool no_cache;   /* of those, the ones every cache must pass on (not If-None-Match) */
    char name[NB_QUERY_MAX + 1]; /* normalised place name (nb_geo_normalise) */
    char key[NB_KEY_MAX];        /* location key of lat/lon */
} query;

/* Reads in into q. NB_OK, or NB_ERR_INVALID with the reason (the text of the
 * 400 answer, e.g. "days must be a whole number from 1 to 16") in why. */
nb_err api_query_parse(const query_args *in, query *q, char *why, size_t whylen);

#endif
