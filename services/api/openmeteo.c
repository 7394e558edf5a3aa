/* openmeteo.c — Open-Meteo URLs and answer parsing into nimbus records. */
#include "openmeteo.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/http_client.h"

static const char current_vars[] =
    "temperature_2m,relative_humidity_2m,apparent_temperature,precipitation,weather_code,"
    "cloud_cover,pressure_msl,wind_speed_10m,wind_direction_10m,wind_gusts_10m,is_day";
static const char daily_vars[] =
    "weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,"
    "precipitation_probability_max,sunrise,sunset,wind_speed_10m_max,uv_index_max";

nb_err om_forecast_url(nb_buf *out, const char *base, double lat, double lon, int days,
                       const char *timezone)
{
    return nb_buf_addf(out,
                       "%s?latitude=%.2f&longitude=%.2f&current=%s&daily=%s&timezone=%s"
                       "&forecast_days=%d&temperature_unit=celsius&wind_speed_unit=kmh"
                       "&precipitation_unit=mm&timeformat=iso8601",
                       base, lat, lon, current_vars, daily_vars, timezone, days);
}

nb_err om_geocoding_url(nb_buf *out, const char *base, const char *query)
{
    char *q = nb_url_escape(query);
    if (!q) return NB_ERR_NOMEM;
    nb_err e = nb_buf_addf(out, "%s?name=%s&count=1&language=en&format=json", base, q);
    free(q);
    return e;
}

/* A number or null (NAN); false for any other type. */
static bool num_at(json_t *v, double *out)
{
    if (!v || json_is_null(v)) return (*out = NAN), true;
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

static bool copy_str(json_t *v, char *out, size_t outlen)
{
    if (!v || json_is_null(v)) return (out[0] = '\0'), true;
    if (!json_is_string(v) || json_string_length(v) >= outlen) return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        *why = (msg);                                                                              \
        goto out;                                                                                  \
    } while (0)

nb_err om_parse_forecast(const char *body, size_t len, const char *key, int64_t fetched_at_ms,
                         nb_record *r, const char **why)
{
    nb_err e = NB_ERR_UPSTREAM;
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr), *v;
    memset(r, 0, sizeof(*r));
    if (!o || !json_is_object(o)) FAIL("forecast answer is not a JSON object");
    if (!nb_location_key_valid(key, &r->latitude, &r->longitude)) {
        e = NB_ERR_INVALID;
        FAIL("bad location key");
    }
    snprintf(r->key, sizeof(r->key), "%s", key);
    r->fetched_at_ms = fetched_at_ms;
    if (!copy_str(json_object_get(o, "timezone"), r->timezone, sizeof(r->timezone)) ||
        !r->timezone[0])
        FAIL("forecast answer has no timezone");
    if (!copy_str(json_object_get(o, "timezone_abbreviation"), r->timezone_abbreviation,
                  sizeof(r->timezone_abbreviation)))
        r->timezone_abbreviation[0] = '\0';
    v = json_object_get(o, "utc_offset_seconds");
    if (!json_is_integer(v) || json_integer_value(v) < -64800 || json_integer_value(v) > 64800)
        FAIL("forecast answer has no valid utc_offset_seconds");
    r->utc_offset_seconds = (int)json_integer_value(v);
    if (!num_at(json_object_get(o, "elevation"), &r->elevation)) r->elevation = NAN;

    json_t *c = json_object_get(o, "current");
    if (!json_is_object(c)) FAIL("forecast answer has no current conditions");
    nb_current *cu = &r->current;
    v = json_object_get(c, "time");
    if (!json_is_string(v) || json_string_length(v) != 16)
        FAIL("forecast answer has no current.time");
    memcpy(cu->time, json_string_value(v), 17);
    static const struct {
        const char *name;
        size_t off;
    } cur_fields[] = {
        {"temperature_2m", offsetof(nb_current, temperature)},
        {"apparent_temperature", offsetof(nb_current, apparent_temperature)},
        {"relative_humidity_2m", offsetof(nb_current, relative_humidity)},
        {"weather_code", offsetof(nb_current, weather_code)},
        {"wind_speed_10m", offsetof(nb_current, wind_speed)},
        {"wind_direction_10m", offsetof(nb_current, wind_direction)},
        {"wind_gusts_10m", offsetof(nb_current, wind_gusts)},
        {"precipitation", offsetof(nb_current, precipitation)},
        {"cloud_cover", offsetof(nb_current, cloud_cover)},
        {"pressure_msl", offsetof(nb_current, pressure_msl)},
        {"is_day", offsetof(nb_current, is_day)},
    };
    for (size_t i = 0; i < sizeof(cur_fields) / sizeof(cur_fields[0]); i++)
        if (!num_at(json_object_get(c, cur_fields[i].name),
                    (double *)((char *)cu + cur_fields[i].off)))
            FAIL("forecast answer has a non-numeric current value");
    if (!isnan(cu->weather_code) && (cu->weather_code < 0 || cu->weather_code > 99))
        FAIL("forecast answer has an invalid weather code");

    json_t *d = json_object_get(o, "daily");
    json_t *dates = d ? json_object_get(d, "time") : NULL;
    if (!json_is_object(d) || !json_is_array(dates)) FAIL("forecast answer has no daily section");
    size_t n = json_array_size(dates);
    if (n > NB_MAX_DAYS) n = NB_MAX_DAYS;
    static const struct {
        const char *name;
        size_t off;
    } day_fields[] = {
        {"weather_code", offsetof(nb_day, weather_code)},
        {"temperature_2m_max", offsetof(nb_day, temperature_max)},
        {"temperature_2m_min", offsetof(nb_day, temperature_min)},
        {"precipitation_sum", offsetof(nb_day, precipitation_sum)},
        {"precipitation_probability_max", offsetof(nb_day, precipitation_probability_max)},
        {"wind_speed_10m_max", offsetof(nb_day, wind_speed_max)},
        {"uv_index_max", offsetof(nb_day, uv_index_max)},
    };
    for (size_t i = 0; i < n; i++) {
        nb_day *x = &r->daily[i];
        if (!copy_str(json_array_get(dates, i), x->date, sizeof(x->date)) || strlen(x->date) != 10)
            FAIL("forecast answer has an invalid daily date");
        for (size_t f = 0; f < sizeof(day_fields) / sizeof(day_fields[0]); f++) {
            json_t *arr = json_object_get(d, day_fields[f].name);
            double *dst = (double *)((char *)x + day_fields[f].off);
            if (!arr)
                *dst = NAN;
            else if (!json_is_array(arr) || !num_at(json_array_get(arr, i), dst))
                FAIL("forecast answer has a non-numeric daily value");
        }
        if (!isnan(x->weather_code) && (x->weather_code < 0 || x->weather_code > 99))
            FAIL("forecast answer has an invalid daily weather code");
        json_t *sr = json_object_get(d, "sunrise"), *ss = json_object_get(d, "sunset");
        if (!copy_str(sr ? json_array_get(sr, i) : NULL, x->sunrise, sizeof(x->sunrise)) ||
            !copy_str(ss ? json_array_get(ss, i) : NULL, x->sunset, sizeof(x->sunset)))
            FAIL("forecast answer has an invalid sunrise/sunset");
        if ((x->sunrise[0] && strlen(x->sunrise) != 16) ||
            (x->sunset[0] && strlen(x->sunset) != 16))
            x->sunrise[0] = x->sunset[0] = '\0'; /* unix-time or odd formats: drop */
    }
    if (n == 0) FAIL("forecast answer has no days");
    r->ndays = (int)n;
    /* Round-trip through the record codec: what we store must validate. */
    char *s = nb_record_dump(r, NULL);
    nb_record check;
    const char *why2 = NULL;
    nb_err ce = s ? nb_record_parse(s, strlen(s), &check, &why2) : NB_ERR_NOMEM;
    free(s);
    if (ce) FAIL("forecast answer does not make a valid record");
    e = NB_OK;
out:
    json_decref(o);
    return e;
}

nb_err om_parse_geocoding(const char *body, size_t len, nb_place *p, bool *found, const char **why)
{
    nb_err e = NB_ERR_UPSTREAM;
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr), *v;
    memset(p, 0, sizeof(*p));
    *found = false;
    if (!o || !json_is_object(o)) FAIL("geocoding answer is not a JSON object");
    json_t *res = json_object_get(o, "results");
    if (!res || json_is_null(res) || (json_is_array(res) && json_array_size(res) == 0)) {
        e = NB_OK; /* nothing matched: "results" is absent */
        goto out;
    }
    json_t *first = json_is_array(res) ? json_array_get(res, 0) : NULL;
    if (!json_is_object(first)) FAIL("geocoding results are not objects");
    v = json_object_get(first, "id");
    p->id = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!copy_str(json_object_get(first, "name"), p->name, sizeof(p->name)) || !p->name[0])
        FAIL("geocoding result has no name");
    if (!json_is_number(v = json_object_get(first, "latitude")) ||
        fabs(p->latitude = json_number_value(v)) > 90)
        FAIL("geocoding result has no valid latitude");
    if (!json_is_number(v = json_object_get(first, "longitude")) ||
        fabs(p->longitude = json_number_value(v)) > 180)
        FAIL("geocoding result has no valid longitude");
    if (!num_at(json_object_get(first, "elevation"), &p->elevation) ||
        fabs(p->elevation) > NB_NUM_MAX)
        p->elevation = NAN; /* not worth refusing the place for */
    if (!copy_str(json_object_get(first, "timezone"), p->timezone, sizeof(p->timezone)) ||
        !p->timezone[0])
        snprintf(p->timezone, sizeof(p->timezone), "GMT");
    if (!copy_str(json_object_get(first, "country"), p->country, sizeof(p->country)))
        p->country[0] = '\0';
    if (!copy_str(json_object_get(first, "country_code"), p->country_code, sizeof(p->country_code)))
        p->country_code[0] = '\0';
    if (!copy_str(json_object_get(first, "admin1"), p->admin1, sizeof(p->admin1)))
        p->admin1[0] = '\0';
    v = json_object_get(first, "population");
    p->population = json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
    *found = true;
    e = NB_OK;
out:
    json_decref(o);
    return e;
}

void om_error_reason(const char *body, size_t len, char *out, size_t outlen)
{
    out[0] = '\0';
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr);
    json_t *reason = o ? json_object_get(o, "reason") : NULL;
    if (json_is_string(reason)) snprintf(out, outlen, "%s", json_string_value(reason));
    json_decref(o);
}
