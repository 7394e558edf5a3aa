/* openmeteo.c — Open-Meteo URLs and answer parsing into nimbus records. */
#include "openmeteo.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/clock.h"
#include "nimbus/http_client.h"

static const char current_vars[] =
    "temperature_2m,relative_humidity_2m,apparent_temperature,precipitation,weather_code,"
    "cloud_cover,pressure_msl,wind_speed_10m,wind_direction_10m,wind_gusts_10m,is_day";
static const char hourly_vars[] =
    "temperature_2m,apparent_temperature,precipitation_probability,precipitation,weather_code,"
    "wind_speed_10m,wind_gusts_10m,is_day";
static const char daily_vars[] =
    "weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,"
    "precipitation_probability_max,sunrise,sunset,wind_speed_10m_max,uv_index_max";

nb_err api_om_forecast_url(nb_buf *out, const char *base, double lat, double lon, int days,
                           const char *timezone)
{
    return nb_buf_addf(out,
                       "%s?latitude=%.2f&longitude=%.2f&current=%s&hourly=%s&daily=%s"
                       "&timezone=%s&forecast_days=%d&temperature_unit=celsius"
                       "&wind_speed_unit=kmh&precipitation_unit=mm&timeformat=iso8601",
                       base, lat, lon, current_vars, hourly_vars, daily_vars, timezone, days);
}

double api_om_url_cost(const char *url)
{
    const char *q = strchr(url, '?');
    if (!q || !strstr(url, "latitude=")) return 1.0;
    long vars = 0, days = 7, past = 0;
    for (const char *p = q + 1; *p;) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        if (eq) {
            size_t name = (size_t)(eq - p), vlen = n - name - 1;
            const char *v = eq + 1;
            if ((name == 7 && strncmp(p, "current", 7) == 0) ||
                (name == 6 && strncmp(p, "hourly", 6) == 0) ||
                (name == 5 && strncmp(p, "daily", 5) == 0) ||
                (name == 11 && strncmp(p, "minutely_15", 11) == 0)) {
                if (vlen > 0) vars++;
                for (size_t i = 0; i < vlen; i++)
                    vars += v[i] == ',';
            } else if (name == 13 && strncmp(p, "forecast_days", 13) == 0) {
                days = strtol(v, NULL, 10);
            } else if (name == 9 && strncmp(p, "past_days", 9) == 0) {
                past = strtol(v, NULL, 10);
            }
        }
        p += n + (p[n] == '&');
    }
    double by_vars = vars > 10 ? (double)vars / 10.0 : 1.0;
    double by_days = days + past > 14 ? (double)(days + past) / 14.0 : 1.0;
    return by_vars * by_days;
}

nb_err api_om_geocoding_url(nb_buf *out, const char *base, const char *query)
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

/* A local "YYYY-MM-DDTHH:MM" label as milliseconds, read as if it were UTC. */
static bool label_ms(json_t *v, int64_t *ms)
{
    char iso[32];
    if (!json_is_string(v) || json_string_length(v) != 16) return false;
    snprintf(iso, sizeof(iso), "%s:00Z", json_string_value(v));
    return nb_time_parse_rfc3339(iso, ms);
}

/* Reads the "hourly" section (absent: no hourly data). Its times are local
 * labels in the answer's one utc_offset_seconds (Open-Meteo applies the
 * offset valid now to the whole series, DST changes or not), so entry i is
 * the UTC instant label - offset. The series is kept up to the first label
 * that is not one hour after the one before. NULL or what is wrong. */
static const char *parse_hourly(json_t *o, nb_hourly *h, int utc_offset_s)
{
    static const struct {
        const char *name;
        size_t off;
    } vars[] = {
        {"temperature_2m", offsetof(nb_hourly, temperature)},
        {"apparent_temperature", offsetof(nb_hourly, apparent_temperature)},
        {"precipitation_probability", offsetof(nb_hourly, precipitation_probability)},
        {"precipitation", offsetof(nb_hourly, precipitation)},
        {"weather_code", offsetof(nb_hourly, weather_code)},
        {"wind_speed_10m", offsetof(nb_hourly, wind_speed)},
        {"wind_gusts_10m", offsetof(nb_hourly, wind_gusts)},
        {"is_day", offsetof(nb_hourly, is_day)},
    };
    json_t *hs = json_object_get(o, "hourly");
    json_t *times = json_is_object(hs) ? json_object_get(hs, "time") : NULL;
    int64_t first, t;
    h->n = 0;
    if (!hs || json_is_null(hs)) return NULL;
    if (!json_is_array(times)) return "forecast answer has an hourly section without times";
    size_t n = json_array_size(times);
    if (n > NB_MAX_HOURS) n = NB_MAX_HOURS;
    if (n == 0) return NULL;
    if (!label_ms(json_array_get(times, 0), &first) || first % 60000 != 0)
        return "forecast answer has an invalid hourly time";
    for (size_t i = 1; i < n; i++)
        if (!label_ms(json_array_get(times, i), &t) || t != first + (int64_t)i * 3600000) {
            n = i;
            break;
        }
    for (size_t k = 0; k < sizeof(vars) / sizeof(vars[0]); k++) {
        json_t *arr = json_object_get(hs, vars[k].name);
        float *col = (float *)((char *)h + vars[k].off);
        if (arr && !json_is_array(arr))
            return "forecast answer has an hourly variable that is no array";
        for (size_t i = 0; i < n; i++) {
            double v = NAN;
            if (arr && !num_at(json_array_get(arr, i), &v))
                return "forecast answer has a non-numeric hourly value";
            if (fabs(v) > 1e5) return "forecast answer has an absurd hourly value";
            col[i] = (float)v;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!isnan(h->weather_code[i]) && (h->weather_code[i] < 0 || h->weather_code[i] > 99))
            return "forecast answer has an invalid hourly weather code";
    h->start_ms = first - (int64_t)utc_offset_s * 1000;
    h->n = (int)n;
    return NULL;
}

#define FAIL(msg)                                                                                  \
    do {                                                                                           \
        *why = (msg);                                                                              \
        goto out;                                                                                  \
    } while (0)

nb_err api_om_parse_forecast(const char *body, size_t len, const char *key, int64_t fetched_at_ms,
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
    const char *hwhy = parse_hourly(o, &r->hourly, r->utc_offset_seconds);
    if (hwhy) FAIL(hwhy);
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

nb_err api_om_parse_geocoding(const char *body, size_t len, nb_place *p, bool *found,
                              const char **why)
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

void api_om_error_reason(const char *body, size_t len, char *out, size_t outlen)
{
    out[0] = '\0';
    json_error_t jerr;
    json_t *o = json_loadb(body, len, 0, &jerr);
    json_t *reason = o ? json_object_get(o, "reason") : NULL;
    if (json_is_string(reason)) snprintf(out, outlen, "%s", json_string_value(reason));
    json_decref(o);
}
