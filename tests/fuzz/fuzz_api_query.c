/* fuzz_api_query — the api's reading of GET /v1/weather (services/api/query.c):
 * fields city, lat, lon, days, Cache-Control, Pragma, If-None-Match, hours,
 * units (see fz_fields for the input layout). Accepted queries name a valid
 * place, a day and an hour count in range and a unit system; every refusal
 * says why. */
#include "fuzz.h"
#include "query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f[9];
    char *store = fz_fields(data, size, f, 9);
    query_args in = {.city = f[0],
                     .lat = f[1],
                     .lon = f[2],
                     .days = f[3],
                     .cache_control = f[4],
                     .pragma = f[5],
                     .if_none_match = f[6],
                     .hours = f[7],
                     .units = f[8]};
    query q;
    char why[256] = "";
    if (api_query_parse(&in, &q, why, sizeof(why)) == NB_OK) {
        FZ_CHECK(q.days >= 1 && q.days <= NB_MAX_DAYS);
        FZ_CHECK(q.hours >= 1 && q.hours <= NB_MAX_HOURS);
        FZ_CHECK(q.units == NB_UNITS_METRIC || q.units == NB_UNITS_IMPERIAL);
        if (!in.hours) FZ_CHECK(q.hours == QUERY_DEFAULT_HOURS);
        if (!in.units) FZ_CHECK(q.units == NB_UNITS_METRIC);
        if (q.by_name) {
            char again[NB_QUERY_MAX + 1];
            const char *reason;
            FZ_CHECK(in.city && nb_geo_normalise(q.name, again, &reason) == NB_OK);
            FZ_CHECK(strcmp(again, q.name) == 0);
        } else {
            FZ_CHECK(nb_location_key_valid(q.key, NULL, NULL));
        }
        if (in.if_none_match) FZ_CHECK(q.revalidate);
        if (!in.cache_control && !in.pragma && !in.if_none_match) FZ_CHECK(!q.revalidate);
    } else {
        FZ_CHECK(why[0]);
    }
    free(store);
    return 0;
}
