/* query.c — reading a weather request's input (see query.h). */
#include "query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/cache_control.h"

static bool parse_coord(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !errno && *end == '\0' && isfinite(*out) && *out >= lo && *out <= hi;
}

static nb_err invalid(char *why, size_t whylen, const char *reason, const char *detail)
{
    snprintf(why, whylen, "%s%s", reason, detail ? detail : "");
    return NB_ERR_INVALID;
}

/* A whole number lo..hi written in plain decimal digits. */
static bool parse_count(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') return false;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

nb_err api_query_parse(const query_args *in, query *q, char *why, size_t whylen)
{
    memset(q, 0, sizeof(*q));
    q->days = QUERY_DEFAULT_DAYS;
    q->hours = QUERY_DEFAULT_HOURS;
    q->units = NB_UNITS_METRIC;
    q->no_cache = nb_cc_wants_revalidation(in->cache_control, in->pragma);
    q->revalidate = q->no_cache || in->if_none_match;
    if (in->days && !parse_count(in->days, 1, NB_MAX_DAYS, &q->days))
        return invalid(why, whylen, "days must be a whole number from 1 to 16", NULL);
    if (in->hours && !parse_count(in->hours, 1, NB_MAX_HOURS, &q->hours))
        return invalid(why, whylen, "hours must be a whole number from 1 to 384", NULL);
    if (in->units && !nb_units_parse(in->units, &q->units))
        return invalid(why, whylen, "units must be metric or imperial", NULL);
    if (in->city && (in->lat || in->lon))
        return invalid(why, whylen, "give either city or lat and lon, not both", NULL);
    if (in->city) {
        const char *reason;
        if (nb_geo_normalise(in->city, q->name, &reason) != NB_OK)
            return invalid(why, whylen, "city: ", reason);
        q->by_name = true;
        return NB_OK;
    }
    if (!in->lat && !in->lon) return invalid(why, whylen, "missing city, or lat and lon", NULL);
    if (!in->lat || !in->lon)
        return invalid(why, whylen, "lat and lon must be given together", NULL);
    double la, lo;
    if (!parse_coord(in->lat, -90, 90, &la))
        return invalid(why, whylen, "lat must be a number from -90 to 90", NULL);
    if (!parse_coord(in->lon, -180, 180, &lo))
        return invalid(why, whylen, "lon must be a number from -180 to 180", NULL);
    return nb_location_key(la, lo, q->key);
}
