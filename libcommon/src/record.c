/* record.c — weather record / geocoding entry models and their JSON codecs.
 * The wire form is proto/record.schema.json and proto/geocode.schema.json. */
#include "nimbus/record.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/clock.h"
#include "nimbus/json.h"
#include "nimbus/text.h"

/* ---- keys ------------------------------------------------------------ */

nb_err nb_location_key(double lat, double lon, char out[NB_KEY_MAX])
{
    if (!isfinite(lat) || !isfinite(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180)
        return NB_ERR_INVALID;
    double rl = round(lat * 100) / 100, ro = round(lon * 100) / 100;
    if (rl == 0) rl = 0; /* no "-0.00" */
    if (ro == 0) ro = 0;
    snprintf(out, NB_KEY_MAX, "%.2f,%.2f", rl, ro);
    return NB_OK;
}

bool nb_location_key_valid(const char *key, double *lat, double *lon)
{
    size_t n = strlen(key);
    if (n < 9 || n >= NB_KEY_MAX) return false;
    double a, b;
    int used = 0;
    if (sscanf(key, "%lf,%lf%n", &a, &b, &used) != 2 || (size_t)used != n) return false;
    char canon[NB_KEY_MAX];
    if (nb_location_key(a, b, canon) != NB_OK || strcmp(canon, key) != 0) return false;
    if (lat) *lat = a;
    if (lon) *lon = b;
    return true;
}

/* ---- text ------------------------------------------------------------ */

nb_err nb_geo_normalise(const char *in, char out[NB_QUERY_MAX + 1], const char **why)
{
    size_t n = strlen(in);
    if (!nb_utf8_valid(in, n)) return (*why = "place name is not valid UTF-8"), NB_ERR_INVALID;
    size_t j = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        unsigned char c = *p;
        if (c < 0x20 || c == 0x7f)
            return (*why = "place name contains control characters"), NB_ERR_INVALID;
        if (c == ' ' || c == '\t') {
            space = j > 0;
            continue;
        }
        if (space) {
            if (j >= NB_QUERY_MAX) goto too_long;
            out[j++] = ' ';
            space = false;
        }
        if (j >= NB_QUERY_MAX) goto too_long;
        out[j++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
    }
    out[j] = '\0';
    if (j == 0) return (*why = "place name is empty"), NB_ERR_INVALID;
    return NB_OK;
too_long:
    *why = "place name is longer than 200 bytes";
    return NB_ERR_INVALID;
}

/* ---- JSON helpers ---------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return *s ? json_string(s) : json_null();
}

/* Reads an optional number; null/absent → NAN. false when of a wrong type
 * or beyond ±NB_NUM_MAX. */
static bool get_num(json_t *o, const char *k, double *out)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) return (*out = NAN), true;
    if (json_is_boolean(v)) return (*out = json_is_true(v) ? 1 : 0), true;
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return fabs(*out) <= NB_NUM_MAX;
}

static bool get_str(json_t *o, const char *k, char *out, size_t outlen, bool required)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v)) {
        out[0] = '\0';
        return !required;
    }
    if (!json_is_string(v) || json_string_length(v) >= outlen) return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

/* n decimal digits at s, as a number (-1 if any is not a digit). */
static int num_at(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD" at s (s has at least 10 bytes or a NUL before). */
static bool date_at(const char *s)
{
    int mo, d;
    return num_at(s, 4) >= 0 && s[4] == '-' && (mo = num_at(s + 5, 2)) >= 1 && mo <= 12 &&
           s[7] == '-' && (d = num_at(s + 8, 2)) >= 1 && d <= 31;
}

static bool date_valid(const char *s)
{
    return strlen(s) == 10 && date_at(s);
}

/* Local "YYYY-MM-DDTHH:MM"; "" allowed when allow_empty. */
static bool localtime_valid(const char *s, bool allow_empty)
{
    if (!*s) return allow_empty;
    int h, mi;
    return strlen(s) == 16 && date_at(s) && s[10] == 'T' && (h = num_at(s + 11, 2)) >= 0 &&
           h <= 23 && s[13] == ':' && (mi = num_at(s + 14, 2)) >= 0 && mi <= 59;
}

static bool wmo_valid(double v)
{
    return isnan(v) || (v >= 0 && v <= 99 && v == floor(v));
}

/* ---- hourly ---------------------------------------------------------- */

int nb_hourly_index(const nb_hourly *h, int64_t t_ms)
{
    if (h->n == 0 || t_ms < h->start_ms) return h->n == 0 ? 0 : -1;
    int64_t i = (t_ms - h->start_ms) / 3600000;
    return i >= h->n ? h->n : (int)i;
}

/* Bound of hourly values: a float then still carries 2 decimals exactly
 * (below 2^17), so an encoded record decodes to the same figures. */
#define NB_HOURLY_MAX 1e5

/* The hourly variables: wire name, column, decimals kept (Open-Meteo's
 * rounding; 0 = integer). */
static const struct {
    const char *name;
    size_t off;
    int decimals;
} hourly_vars[] = {
    {"temperature", offsetof(nb_hourly, temperature), 1},
    {"apparent_temperature", offsetof(nb_hourly, apparent_temperature), 1},
    {"precipitation_probability", offsetof(nb_hourly, precipitation_probability), 0},
    {"precipitation", offsetof(nb_hourly, precipitation), 2},
    {"weather_code", offsetof(nb_hourly, weather_code), 0},
    {"wind_speed", offsetof(nb_hourly, wind_speed), 1},
    {"wind_gusts", offsetof(nb_hourly, wind_gusts), 1},
    {"is_day", offsetof(nb_hourly, is_day), 0},
};
#define NHOURLY (sizeof(hourly_vars) / sizeof(hourly_vars[0]))

static float *hourly_col(nb_hourly *h, size_t var)
{
    return (float *)((char *)h + hourly_vars[var].off);
}

static const float *hourly_col_c(const nb_hourly *h, size_t var)
{
    return (const float *)((const char *)h + hourly_vars[var].off);
}

/* Reads the optional "hourly" object of a record into h; NULL or a static
 * reason. */
static const char *parse_hourly(json_t *o, nb_hourly *h)
{
    json_t *hv = json_object_get(o, "hourly");
    h->n = 0;
    if (!hv || json_is_null(hv)) return NULL;
    if (!json_is_object(hv)) return "hourly must be an object";
    char ts[40];
    if (!get_str(hv, "start", ts, sizeof(ts), true) || !nb_time_parse_rfc3339(ts, &h->start_ms) ||
        h->start_ms % 60000 != 0)
        return "hourly.start must be an RFC 3339 date-time on a whole minute";
    size_t n = 0;
    for (size_t k = 0; k < NHOURLY; k++) {
        json_t *arr = json_object_get(hv, hourly_vars[k].name);
        if (!json_is_array(arr)) return "hourly needs an array for every variable";
        if (k == 0) n = json_array_size(arr);
        if (json_array_size(arr) != n) return "hourly arrays must all have the same length";
        if (n > NB_MAX_HOURS) return "hourly has more than 384 entries";
        float *col = hourly_col(h, k);
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(arr, i);
            double d;
            if (json_is_null(v))
                d = NAN;
            else if (json_is_number(v) && fabs(d = json_number_value(v)) <= NB_HOURLY_MAX)
                ;
            else
                return "hourly values must be numbers within ±1e5 or null";
            if (col == h->weather_code && !wmo_valid(d))
                return "hourly.weather_code values must be WMO codes 0..99";
            if (col == h->is_day && !isnan(d) && d != 0 && d != 1)
                return "hourly.is_day values must be 0, 1 or null";
            col[i] = (float)d;
        }
    }
    h->n = (int)n;
    return NULL;
}

/* v (a float column's value) as JSON with the variable's decimals; whole
 * numbers without ".0" (most hours have 0 mm: two bytes each). */
static json_t *hourly_value(float v, int decimals)
{
    if (isnan(v)) return json_null();
    double f = decimals == 0 ? 1.0 : decimals == 1 ? 10.0 : 100.0;
    double r = round((double)v * f) / f;
    return r == floor(r) ? json_integer((json_int_t)r) : json_real(r);
}

static json_t *dump_hourly(const nb_hourly *h)
{
    char ts[40];
    nb_time_rfc3339(h->start_ms, ts, sizeof(ts));
    json_t *o = json_pack("{s:s}", "start", ts);
    for (size_t k = 0; o && k < NHOURLY; k++) {
        json_t *arr = json_array();
        const float *col = hourly_col_c(h, k);
        for (int i = 0; arr && i < h->n; i++)
            json_array_append_new(arr, hourly_value(col[i], hourly_vars[k].decimals));
        json_object_set_new(o, hourly_vars[k].name, arr);
    }
    return o;
}

/* ---- record ---------------------------------------------------------- */

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        *why = (msg);                                                                              \
        goto out;                                                                                  \
    } while (0)

nb_err nb_record_parse(const char *json, size_t len, nb_record *r, const char **why)
{
    nb_err e = NB_ERR_INVALID;
    json_error_t jerr;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    memset(r, 0, sizeof(*r));
    if (!o) FAIL("body is not valid JSON");
    if (!json_is_object(o)) FAIL("record must be a JSON object");
    if (!get_str(o, "key", r->key, sizeof(r->key), true) ||
        !nb_location_key_valid(r->key, NULL, NULL))
        FAIL("key must be canonical 'lat,lon' with 2 decimals");
    json_t *v;
    if (!json_is_number(v = json_object_get(o, "latitude")) ||
        fabs((r->latitude = json_number_value(v))) > 90)
        FAIL("latitude must be a number in [-90, 90]");
    if (!json_is_number(v = json_object_get(o, "longitude")) ||
        fabs((r->longitude = json_number_value(v))) > 180)
        FAIL("longitude must be a number in [-180, 180]");
    char ts[40];
    if (!get_str(o, "fetched_at", ts, sizeof(ts), true) ||
        !nb_time_parse_rfc3339(ts, &r->fetched_at_ms))
        FAIL("fetched_at must be an RFC 3339 date-time");
    if (!get_str(o, "timezone", r->timezone, sizeof(r->timezone), true) || !r->timezone[0])
        FAIL("timezone must be a non-empty string of at most 63 bytes");
    if (!get_str(o, "timezone_abbreviation", r->timezone_abbreviation,
                 sizeof(r->timezone_abbreviation), false))
        FAIL("timezone_abbreviation must be a string of at most 15 bytes");
    if (!json_is_integer(v = json_object_get(o, "utc_offset_seconds")) ||
        json_integer_value(v) < -64800 || json_integer_value(v) > 64800)
        FAIL("utc_offset_seconds must be an integer in [-64800, 64800]");
    r->utc_offset_seconds = (int)json_integer_value(v);
    if (!get_num(o, "elevation", &r->elevation))
        FAIL("elevation must be a number within ±1e6 or null");

    json_t *c = json_object_get(o, "current");
    if (!json_is_object(c)) FAIL("current must be an object");
    nb_current *cu = &r->current;
    if (!get_str(c, "time", cu->time, sizeof(cu->time), true) || !localtime_valid(cu->time, false))
        FAIL("current.time must be local time YYYY-MM-DDTHH:MM");
    if (!get_num(c, "temperature", &cu->temperature) ||
        !get_num(c, "apparent_temperature", &cu->apparent_temperature) ||
        !get_num(c, "relative_humidity", &cu->relative_humidity) ||
        !get_num(c, "weather_code", &cu->weather_code) ||
        !get_num(c, "wind_speed", &cu->wind_speed) ||
        !get_num(c, "wind_direction", &cu->wind_direction) ||
        !get_num(c, "wind_gusts", &cu->wind_gusts) ||
        !get_num(c, "precipitation", &cu->precipitation) ||
        !get_num(c, "cloud_cover", &cu->cloud_cover) ||
        !get_num(c, "pressure_msl", &cu->pressure_msl) || !get_num(c, "is_day", &cu->is_day))
        FAIL("current values must be numbers within ±1e6 or null");
    if (!wmo_valid(cu->weather_code)) FAIL("current.weather_code must be a WMO code 0..99");

    json_t *d = json_object_get(o, "daily");
    if (!json_is_array(d)) FAIL("daily must be an array");
    if (json_array_size(d) > NB_MAX_DAYS) FAIL("daily has more than 16 days");
    size_t i;
    json_t *day;
    json_array_foreach(d, i, day)
    {
        nb_day *x = &r->daily[i];
        if (!json_is_object(day)) FAIL("daily entries must be objects");
        if (!get_str(day, "date", x->date, sizeof(x->date), true) || !date_valid(x->date))
            FAIL("daily[].date must be YYYY-MM-DD");
        if (!get_num(day, "weather_code", &x->weather_code) ||
            !get_num(day, "temperature_max", &x->temperature_max) ||
            !get_num(day, "temperature_min", &x->temperature_min) ||
            !get_num(day, "precipitation_sum", &x->precipitation_sum) ||
            !get_num(day, "precipitation_probability_max", &x->precipitation_probability_max) ||
            !get_num(day, "wind_speed_max", &x->wind_speed_max) ||
            !get_num(day, "uv_index_max", &x->uv_index_max))
            FAIL("daily values must be numbers within ±1e6 or null");
        if (!wmo_valid(x->weather_code)) FAIL("daily[].weather_code must be a WMO code 0..99");
        if (!get_str(day, "sunrise", x->sunrise, sizeof(x->sunrise), false) ||
            !localtime_valid(x->sunrise, true) ||
            !get_str(day, "sunset", x->sunset, sizeof(x->sunset), false) ||
            !localtime_valid(x->sunset, true))
            FAIL("daily[].sunrise/sunset must be local time YYYY-MM-DDTHH:MM or null");
        r->ndays = (int)i + 1;
    }
    const char *hwhy = parse_hourly(o, &r->hourly);
    if (hwhy) FAIL(hwhy);
    e = NB_OK;
out:
    json_decref(o);
    return e;
}

char *nb_record_dump(const nb_record *r, size_t *len)
{
    char ts[40];
    nb_time_rfc3339(r->fetched_at_ms, ts, sizeof(ts));
    const nb_current *c = &r->current;
    json_t *cur = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "time", c->time,
        "temperature", nb_json_num(c->temperature), "apparent_temperature",
        nb_json_num(c->apparent_temperature), "relative_humidity",
        nb_json_num(c->relative_humidity), "weather_code", nb_json_int(c->weather_code),
        "wind_speed", nb_json_num(c->wind_speed), "wind_direction", nb_json_num(c->wind_direction),
        "wind_gusts", nb_json_num(c->wind_gusts), "precipitation", nb_json_num(c->precipitation),
        "cloud_cover", nb_json_num(c->cloud_cover), "pressure_msl", nb_json_num(c->pressure_msl),
        "is_day", nb_json_bool(c->is_day));
    json_t *days = json_array();
    for (int i = 0; i < r->ndays; i++) {
        const nb_day *d = &r->daily[i];
        json_array_append_new(
            days,
            json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "date", d->date,
                      "weather_code", nb_json_int(d->weather_code), "temperature_max",
                      nb_json_num(d->temperature_max), "temperature_min",
                      nb_json_num(d->temperature_min), "precipitation_sum",
                      nb_json_num(d->precipitation_sum), "precipitation_probability_max",
                      nb_json_num(d->precipitation_probability_max), "wind_speed_max",
                      nb_json_num(d->wind_speed_max), "uv_index_max", nb_json_num(d->uv_index_max),
                      "sunrise", str_or_null(d->sunrise), "sunset", str_or_null(d->sunset)));
    }
    json_t *o = json_pack("{s:s, s:f, s:f, s:s, s:s, s:s, s:i, s:o, s:o, s:o}", "key", r->key,
                          "latitude", r->latitude, "longitude", r->longitude, "fetched_at", ts,
                          "timezone", r->timezone, "timezone_abbreviation",
                          r->timezone_abbreviation, "utc_offset_seconds", r->utc_offset_seconds,
                          "elevation", nb_json_num(r->elevation), "current", cur, "daily", days);
    if (o && r->hourly.n > 0) json_object_set_new(o, "hourly", dump_hourly(&r->hourly));
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(o);
    if (s && len) *len = strlen(s);
    return s;
}

/* ---- geocoding entries ----------------------------------------------- */

nb_err nb_geo_parse(const char *json, size_t len, nb_geo_entry *g, const char **why)
{
    nb_err e = NB_ERR_INVALID;
    json_error_t jerr;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr), *v;
    memset(g, 0, sizeof(*g));
    if (!o) FAIL("body is not valid JSON");
    if (!json_is_object(o)) FAIL("entry must be a JSON object");
    if (!get_str(o, "query", g->query, sizeof(g->query), true) || !g->query[0])
        FAIL("query must be a non-empty string of at most 200 bytes");
    if (!json_is_boolean(v = json_object_get(o, "found"))) FAIL("found must be a boolean");
    g->found = json_is_true(v);
    char ts[40];
    if (!get_str(o, "resolved_at", ts, sizeof(ts), true) ||
        !nb_time_parse_rfc3339(ts, &g->resolved_at_ms))
        FAIL("resolved_at must be an RFC 3339 date-time");
    if (!get_str(o, "expires_at", ts, sizeof(ts), false) ||
        (ts[0] && !nb_time_parse_rfc3339(ts, &g->expires_at_ms)))
        FAIL("expires_at must be an RFC 3339 date-time or null");
    json_t *p = json_object_get(o, "place");
    if (g->found) {
        nb_place *pl = &g->place;
        if (!json_is_object(p)) FAIL("a found entry needs a place object");
        json_t *id = json_object_get(p, "id");
        if (id && !json_is_integer(id)) FAIL("place.id must be an integer");
        pl->id = id ? json_integer_value(id) : 0;
        if (!get_str(p, "name", pl->name, sizeof(pl->name), true) || !pl->name[0])
            FAIL("place.name must be a non-empty string");
        if (!json_is_number(v = json_object_get(p, "latitude")) ||
            fabs(pl->latitude = json_number_value(v)) > 90)
            FAIL("place.latitude must be a number in [-90, 90]");
        if (!json_is_number(v = json_object_get(p, "longitude")) ||
            fabs(pl->longitude = json_number_value(v)) > 180)
            FAIL("place.longitude must be a number in [-180, 180]");
        if (!get_num(p, "elevation", &pl->elevation))
            FAIL("place.elevation must be a number within ±1e6");
        if (!get_str(p, "country", pl->country, sizeof(pl->country), false) ||
            !get_str(p, "country_code", pl->country_code, sizeof(pl->country_code), false) ||
            !get_str(p, "admin1", pl->admin1, sizeof(pl->admin1), false))
            FAIL("place.country/country_code/admin1 must be short strings");
        if (!get_str(p, "timezone", pl->timezone, sizeof(pl->timezone), true) || !pl->timezone[0])
            FAIL("place.timezone must be a non-empty string");
        json_t *pop = json_object_get(p, "population");
        if (pop && (!json_is_integer(pop) || json_integer_value(pop) < 0))
            FAIL("place.population must be a non-negative integer");
        pl->population = pop ? json_integer_value(pop) : 0;
    } else if (p && !json_is_null(p)) {
        FAIL("a not-found entry has no place");
    }
    e = NB_OK;
out:
    json_decref(o);
    return e;
}

char *nb_geo_dump(const nb_geo_entry *g, size_t *len)
{
    char rt[40], et[40];
    nb_time_rfc3339(g->resolved_at_ms, rt, sizeof(rt));
    json_t *o =
        json_pack("{s:s, s:b, s:s}", "query", g->query, "found", g->found, "resolved_at", rt);
    if (!o) return NULL;
    if (g->expires_at_ms) {
        nb_time_rfc3339(g->expires_at_ms, et, sizeof(et));
        json_object_set_new(o, "expires_at", json_string(et));
    }
    if (g->found) {
        const nb_place *p = &g->place;
        json_t *pl = json_pack("{s:s, s:f, s:f, s:s}", "name", p->name, "latitude", p->latitude,
                               "longitude", p->longitude, "timezone", p->timezone);
        if (p->id) json_object_set_new(pl, "id", json_integer(p->id));
        if (!isnan(p->elevation)) json_object_set_new(pl, "elevation", json_real(p->elevation));
        if (p->country[0]) json_object_set_new(pl, "country", json_string(p->country));
        if (p->country_code[0])
            json_object_set_new(pl, "country_code", json_string(p->country_code));
        if (p->admin1[0]) json_object_set_new(pl, "admin1", json_string(p->admin1));
        if (p->population) json_object_set_new(pl, "population", json_integer(p->population));
        json_object_set_new(o, "place", pl);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (s && len) *len = strlen(s);
    return s;
}
