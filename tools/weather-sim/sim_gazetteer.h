/* sim_gazetteer.h — the simulator's built-in place table and geocoding search.
 *
 * A static table of real places (GeoNames ids, coordinates, IANA zones,
 * populations) that answers name searches the way Open-Meteo's geocoding API
 * does (diacritics folded, case-insensitive, 2-character names exact only,
 * 3+ characters fuzzy/prefix, "name, admin-or-country" filters, postcodes) and
 * nearest-place look-ups for timezone=auto and elevations.
 * Everything returned points into static, read-only data: callers never free.
 * Thread-safe: no mutable state. */
#ifndef WS_GAZETTEER_H
#define WS_GAZETTEER_H

#include <stddef.h>

typedef struct ws_place {
    long id;             /* GeoNames id */
    const char *name;    /* UTF-8, as GeoNames spells it in English */
    const char *aliases; /* '|'-separated other names, or NULL */
    double latitude, longitude;
    double elevation;         /* metres */
    const char *feature_code; /* PPLC, PPLA, ... */
    const char *country_code; /* ISO 3166-1 alpha-2 */
    const char *admin1;       /* may be NULL */
    long admin1_id;           /* 0 when unknown */
    const char *timezone;     /* IANA name */
    long population;          /* 0 when unknown */
    const char *postcodes;    /* '|'-separated, or NULL */
} ws_place;

/* Number of places in the table, and the i-th one (borrowed). */
size_t ws_gaz_count(void);
const ws_place *ws_gaz_at(size_t i);

/* Country name and GeoNames id for an ISO alpha-2 code (NULL / 0 if unknown). */
const char *ws_gaz_country_name(const char *code);
long ws_gaz_country_id(const char *code);

/* Folds UTF-8 text for matching: Latin diacritics removed (São -> sao,
 * ß -> ss, Ł -> l), ASCII lower-cased, runs of spaces collapsed, ends trimmed.
 * Other characters are copied as they are. Writes at most outlen bytes
 * including the NUL; returns the folded length. */
size_t ws_gaz_fold(const char *in, char *out, size_t outlen);

/* Searches by name with Open-Meteo's rules; country_code (may be NULL or "")
 * restricts by country. Fills out[0..max) best first; returns how many. */
size_t ws_gaz_search(const char *query, const char *country_code, const ws_place **out, size_t max);

/* The nearest place to a point, and its great-circle distance in km. */
const ws_place *ws_gaz_nearest(double lat, double lon, double *dist_km);

/* Great-circle distance in km. */
double ws_gaz_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
