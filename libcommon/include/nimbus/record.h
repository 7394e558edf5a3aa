/* record.h — the weather record and geocoding entry models, and their JSON
 * codecs; shared by api (producer) and persistence (validator/store).
 *
 * The wire form is defined by proto/record.schema.json and
 * proto/geocode.schema.json. Units are fixed: °C, km/h, mm, %, degrees.
 * A missing value (JSON null) is NAN in the structs; values lie within
 * ±NB_NUM_MAX.
 * Location keys are coordinates rounded to 2 decimals: "52.52,13.41".
 * All functions are pure and thread-safe. */
#ifndef NIMBUS_RECORD_H
#define NIMBUS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus/err.h"

#define NB_KEY_MAX 24
#define NB_MAX_DAYS 16
#define NB_MAX_HOURS (NB_MAX_DAYS * 24) /* 384 */
#define NB_QUERY_MAX 200                /* geocoding query, bytes */
/* Bound of every measured value (temperature, elevation, ...): no weather
 * value comes near it, larger ones are a broken source, and it keeps the
 * codecs' 10 significant digits from overflowing near DBL_MAX. */
#define NB_NUM_MAX 1e6

typedef struct nb_current {
    char time[20]; /* local "YYYY-MM-DDTHH:MM": the observation */
    double temperature, apparent_temperature, relative_humidity, weather_code;
    double wind_speed, wind_direction, wind_gusts, precipitation, cloud_cover, pressure_msl;
    double is_day; /* 1, 0 or NAN */
} nb_current;

typedef struct nb_day {
    char date[11]; /* "YYYY-MM-DD" */
    double weather_code, temperature_max, temperature_min, precipitation_sum;
    double precipitation_probability_max, wind_speed_max, uv_index_max;
    char sunrise[20], sunset[20]; /* local "YYYY-MM-DDTHH:MM" or "" */
} nb_day;

/* The hourly forecast, one array per variable (NAN = missing), entry i for
 * the hour that starts at start_ms + i hours (UTC). Open-Meteo's values for
 * that hour: temperatures, wind speed and is_day at its start, precipitation
 * the sum over the hour before it, gusts the strongest in it. Read the entry
 * of instant t with nb_hourly_index(). n == 0: no hourly data (a record
 * stored before nimbus kept it). Floats keep a record small (12 KiB for 16
 * days); every value has at most 2 decimals and lies within ±1e5. */
typedef struct nb_hourly {
    int n;            /* entries, 0..NB_MAX_HOURS */
    int64_t start_ms; /* UTC instant entry 0 starts, a whole minute */
    float temperature[NB_MAX_HOURS];
    float apparent_temperature[NB_MAX_HOURS];
    float precipitation_probability[NB_MAX_HOURS]; /* % */
    float precipitation[NB_MAX_HOURS];             /* mm */
    float weather_code[NB_MAX_HOURS];
    float wind_speed[NB_MAX_HOURS];
    float wind_gusts[NB_MAX_HOURS];
    float is_day[NB_MAX_HOURS]; /* 1, 0 or NAN */
} nb_hourly;

typedef struct nb_record {
    char key[NB_KEY_MAX];
    double latitude, longitude; /* the key's grid point, not the upstream's */
    int64_t fetched_at_ms;      /* when nimbus fetched it from the upstream */
    char timezone[64];
    char timezone_abbreviation[16];
    int utc_offset_seconds;
    double elevation;
    nb_current current;
    int ndays;
    nb_day daily[NB_MAX_DAYS];
    nb_hourly hourly;
} nb_record;

typedef struct nb_place {
    int64_t id;
    char name[128];
    double latitude, longitude, elevation; /* as the geocoder gave them */
    char country[64];
    char country_code[4];
    char admin1[128];
    char timezone[64];
    int64_t population; /* 0 = unknown */
} nb_place;

typedef struct nb_geo_entry {
    char query[NB_QUERY_MAX + 1]; /* normalised query (nb_geo_normalise) */
    bool found;
    int64_t resolved_at_ms;
    int64_t expires_at_ms; /* 0 = never */
    nb_place place;        /* valid when found */
} nb_geo_entry;

/* Key for coordinates; NB_ERR_INVALID when out of range or not finite. */
nb_err nb_location_key(double lat, double lon, char out[NB_KEY_MAX]);
/* True when key is canonical ("-?D{1,2}.DD,-?D{1,3}.DD", in range, no -0.00);
 * fills lat/lon when not NULL. */
bool nb_location_key_valid(const char *key, double *lat, double *lon);

/* Normalise a place query: trim, collapse spaces, ASCII-lowercase. Fails with
 * NB_ERR_INVALID and a reason when empty, over NB_QUERY_MAX bytes, not UTF-8,
 * or holding control characters. */
nb_err nb_geo_normalise(const char *in, char out[NB_QUERY_MAX + 1], const char **why);

/* Index of the hourly entry whose hour contains t_ms; -1 when t_ms is
 * before the first entry, h->n when at or after the end. */
int nb_hourly_index(const nb_hourly *h, int64_t t_ms);

/* Decoders validate shape, types and ranges; on failure *why (static string)
 * says what is wrong. */
nb_err nb_record_parse(const char *json, size_t len, nb_record *out, const char **why);
/* Encoders return a malloc'd compact JSON string (caller frees) or NULL. */
char *nb_record_dump(const nb_record *r, size_t *len);
nb_err nb_geo_parse(const char *json, size_t len, nb_geo_entry *out, const char **why);
char *nb_geo_dump(const nb_geo_entry *g, size_t *len);

#endif
