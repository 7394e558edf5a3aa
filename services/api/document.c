/* document.c — rendering the weather document and its caching headers. */
#include "document.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"
#include "nimbus/etag.h"
#include "nimbus/json.h"
#include "nimbus/map.h"
#include "nimbus/tz.h"
#include "nimbus/wmo.h"

static int64_t answer_now(const answer *a)
{
    return a->now_ms ? a->now_ms : nb_now_ms();
}

static int64_t age_s(const nb_record *rec, int64_t now_ms)
{
    int64_t a = (now_ms - rec->fetched_at_ms) / 1000;
    return a < 0 ? 0 : a;
}

/* The first hourly entry shown: the one of the current hour (0 when the
 * series starts later, n when it ended before now). */
static int first_hour(const answer *a)
{
    int i = nb_hourly_index(&a->rec->hourly, answer_now(a));
    return i < 0 ? 0 : i;
}

void api_doc_variant(const answer *a, char out[DOC_VARIANT_MAX])
{
    snprintf(out, DOC_VARIANT_MAX, "%d|%d|%d|%d|%s|%s", a->days, a->hours, (int)a->units,
             first_hour(a), a->place ? a->place->name : "", a->place ? a->place->country_code : "");
}

/* The place's wall clock at Unix time t_s: "YYYY-MM-DDTHH:MM". The zone's
 * rules give the offset at that instant (so labels are right on both sides
 * of a DST change); the record's one offset when the zone is unknown here. */
static void wall_clock(const nb_record *r, int64_t t_s, char out[17])
{
    int off;
    if (!nb_tz_offset(r->timezone, t_s, &off)) off = r->utc_offset_seconds;
    time_t local = (time_t)(t_s + off);
    struct tm tm;
    if (!gmtime_r(&local, &tm) || strftime(out, 17, "%Y-%m-%dT%H:%M", &tm) == 0) out[0] = '\0';
}

/* A label Open-Meteo wrote with the record's one utc_offset_seconds
 * (sunrise, sunset) as the place's true wall clock; "" stays "". */
static json_t *relabel(const nb_record *r, const char *label)
{
    char iso[32], out[17];
    int64_t ms;
    if (!label[0]) return json_null();
    snprintf(iso, sizeof(iso), "%s:00Z", label);
    if (!nb_time_parse_rfc3339(iso, &ms)) return json_string(label);
    wall_clock(r, ms / 1000 - r->utc_offset_seconds, out);
    return json_string(out[0] ? out : label);
}

/* A metric value in the answer's units; hourly floats are first rounded to
 * the decimals the upstream sent. */
static json_t *conv(const answer *a, nb_qty q, double v)
{
    return nb_json_num(nb_units_convert(a->units, q, v));
}

static double dec(float v, double f)
{
    return isnan(v) ? NAN : round((double)v * f) / f;
}

static json_t *hourly_entries(const answer *a)
{
    const nb_hourly *h = &a->rec->hourly;
    json_t *list = json_array();
    int from = first_hour(a), to = from + a->hours < h->n ? from + a->hours : h->n;
    for (int i = from; list && i < to; i++) {
        char t[17];
        wall_clock(a->rec, h->start_ms / 1000 + (int64_t)i * 3600, t);
        double code = dec(h->weather_code[i], 1);
        json_array_append_new(
            list,
            json_pack(
                "{s:s, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o}", "time", t, "temperature",
                conv(a, NB_QTY_TEMPERATURE, dec(h->temperature[i], 10)), "apparent_temperature",
                conv(a, NB_QTY_TEMPERATURE, dec(h->apparent_temperature[i], 10)),
                "precipitation_probability", nb_json_int(dec(h->precipitation_probability[i], 1)),
                "precipitation", conv(a, NB_QTY_PRECIPITATION, dec(h->precipitation[i], 100)),
                "weather_code", nb_json_int(code), "condition", nb_wmo_condition_of(code),
                "wind_speed", conv(a, NB_QTY_SPEED, dec(h->wind_speed[i], 10)), "wind_gusts",
                conv(a, NB_QTY_SPEED, dec(h->wind_gusts[i], 10)), "is_day",
                nb_json_bool(h->is_day[i])));
    }
    return list;
}

char *api_doc_render_head(const api_config *cfg, const answer *a, size_t *len)
{
    const nb_record *r = a->rec;
    const nb_current *c = &r->current;
    json_t *loc =
        json_pack("{s:s, s:f, s:f, s:o, s:s, s:s, s:i}", "key", r->key, "latitude", r->latitude,
                  "longitude", r->longitude, "elevation", nb_json_num(r->elevation), "timezone",
                  r->timezone, "timezone_abbreviation", r->timezone_abbreviation,
                  "utc_offset_seconds", r->utc_offset_seconds);
    if (a->place) {
        json_object_set_new(loc, "name", json_string(a->place->name));
        if (a->place->country[0])
            json_object_set_new(loc, "country", json_string(a->place->country));
        if (a->place->country_code[0])
            json_object_set_new(loc, "country_code", json_string(a->place->country_code));
        if (a->place->admin1[0]) json_object_set_new(loc, "admin1", json_string(a->place->admin1));
    }
    json_t *cur = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "time", c->time,
        "temperature", conv(a, NB_QTY_TEMPERATURE, c->temperature), "apparent_temperature",
        conv(a, NB_QTY_TEMPERATURE, c->apparent_temperature), "relative_humidity",
        nb_json_num(c->relative_humidity), "weather_code", nb_json_int(c->weather_code),
        "condition", nb_wmo_condition_of(c->weather_code), "wind_speed",
        conv(a, NB_QTY_SPEED, c->wind_speed), "wind_direction", nb_json_num(c->wind_direction),
        "wind_gusts", conv(a, NB_QTY_SPEED, c->wind_gusts), "precipitation",
        conv(a, NB_QTY_PRECIPITATION, c->precipitation), "cloud_cover", nb_json_num(c->cloud_cover),
        "pressure_msl", nb_json_num(c->pressure_msl), "is_day", nb_json_bool(c->is_day));
    json_t *days = json_array();
    int nd = a->days < r->ndays ? a->days : r->ndays;
    for (int i = 0; i < nd; i++) {
        const nb_day *d = &r->daily[i];
        json_array_append_new(
            days, json_pack("{s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "date",
                            d->date, "weather_code", nb_json_int(d->weather_code), "condition",
                            nb_wmo_condition_of(d->weather_code), "temperature_max",
                            conv(a, NB_QTY_TEMPERATURE, d->temperature_max), "temperature_min",
                            conv(a, NB_QTY_TEMPERATURE, d->temperature_min), "precipitation_sum",
                            conv(a, NB_QTY_PRECIPITATION, d->precipitation_sum),
                            "precipitation_probability_max",
                            nb_json_num(d->precipitation_probability_max), "wind_speed_max",
                            conv(a, NB_QTY_SPEED, d->wind_speed_max), "uv_index_max",
                            nb_json_num(d->uv_index_max), "sunrise", relabel(r, d->sunrise),
                            "sunset", relabel(r, d->sunset)));
    }
    char fetched[40];
    nb_time_rfc3339(r->fetched_at_ms, fetched, sizeof(fetched));
    nb_units u = a->units;
    json_t *doc = json_pack(
        "{s:o, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s}, s:o, s:o, s:o, s:s, s:s}", "location", loc,
        "units", "system", nb_units_name(u), "temperature", nb_units_symbol(u, NB_QTY_TEMPERATURE),
        "wind_speed", nb_units_symbol(u, NB_QTY_SPEED), "precipitation",
        nb_units_symbol(u, NB_QTY_PRECIPITATION), "relative_humidity", "%", "wind_direction", "°",
        "pressure", "hPa", "current", cur, "hourly", hourly_entries(a), "daily", days, "fetched_at",
        fetched, "attribution", "Weather data by Open-Meteo.com");
    char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(doc);
    if (!s) return NULL;
    size_t n = strlen(s);
    s[--n] = '\0'; /* the closing brace: api_doc_respond adds freshness, then closes */
    if (len) *len = n;
    return s;
}

/* Appends the per-request part: freshness, then the closing brace. */
static nb_err add_tail(nb_buf *b, const api_config *cfg, const answer *a, int64_t now_ms)
{
    int64_t age = age_s(a->rec, now_ms);
    return nb_buf_addf(b,
                       ",\"freshness\":{\"state\":\"%s\",\"age_s\":%lld,\"fresh_ttl_s\":%ld,"
                       "\"source\":\"%s\"}}",
                       age < cfg->fresh_ttl_s ? "fresh" : "stale", (long long)age, cfg->fresh_ttl_s,
                       a->source);
}

char *api_doc_render(const api_config *cfg, const answer *a, size_t *len)
{
    int64_t now_ms = answer_now(a);
    size_t hl;
    char *head = api_doc_render_head(cfg, a, &hl);
    if (!head) return NULL;
    nb_buf b;
    nb_buf_init(&b, hl + 256);
    nb_err e = nb_buf_add(&b, head, hl);
    if (!e) e = add_tail(&b, cfg, a, now_ms);
    free(head);
    if (e) {
        nb_buf_release(&b);
        return NULL;
    }
    return nb_buf_detach(&b, len);
}

/* The representation's validator: same data and variant (days, hours,
 * units, place, first hour) → same ETag. */
static void make_etag(const answer *a, char out[40])
{
    char seed[256], variant[DOC_VARIANT_MAX];
    api_doc_variant(a, variant);
    int n = snprintf(seed, sizeof(seed), "%s|%lld|%s", a->rec->key,
                     (long long)a->rec->fetched_at_ms, variant);
    uint64_t h = nb_hash_stable(seed, n > 0 && (size_t)n < sizeof(seed) ? (size_t)n : strlen(seed));
    snprintf(out, 40, "W/\"%016llx\"", (unsigned long long)h);
}

void api_doc_respond(nb_req *r, const api_config *cfg, const answer *a, const char *head,
                     size_t head_len)
{
    int64_t now = answer_now(a);
    int64_t age = age_s(a->rec, now);
    int64_t ttl_left = cfg->fresh_ttl_s - age;
    bool fresh = ttl_left > 0;
    char v[256];

    if (fresh)
        snprintf(v, sizeof(v), "public, max-age=%lld, stale-while-revalidate=%ld",
                 (long long)ttl_left, cfg->swr_fresh_s);
    else
        snprintf(v, sizeof(v), "public, max-age=0, stale-while-revalidate=%ld", cfg->swr_stale_s);
    nb_req_add_header(r, "Cache-Control", v);
    snprintf(v, sizeof(v), "%lld", (long long)age);
    nb_req_add_header(r, "Age", v);
    nb_time_http(a->rec->fetched_at_ms, v, sizeof(v));
    nb_req_add_header(r, "Last-Modified", v);
    char etag[40];
    make_etag(a, etag);
    nb_req_add_header(r, "ETag", etag);
    switch (a->kind) {
    case ANS_HIT:
        snprintf(v, sizeof(v), "nimbus; hit; ttl=%lld", (long long)ttl_left);
        nb_req_add_header(r, "X-Cache", "HIT");
        break;
    case ANS_STALE:
        snprintf(v, sizeof(v), "nimbus; hit; ttl=%lld; fwd=stale", (long long)ttl_left);
        nb_req_add_header(r, "X-Cache", "STALE");
        break;
    case ANS_MISS:
        snprintf(v, sizeof(v), "nimbus; fwd=uri-miss; fwd-status=200; stored; ttl=%lld",
                 (long long)ttl_left);
        nb_req_add_header(r, "X-Cache", "MISS");
        break;
    case ANS_REVALIDATED:
        snprintf(v, sizeof(v), "nimbus; fwd=stale; fwd-status=200; stored; ttl=%lld",
                 (long long)ttl_left);
        nb_req_add_header(r, "X-Cache", "MISS");
        break;
    }
    nb_req_add_header(r, "Cache-Status", v);
    nb_req_add_header(r, "X-Source", a->source);

    if (nb_etag_none_match(nb_req_header(r, "If-None-Match"), etag)) {
        nb_respond(r, 304, "application/json", "", 0);
        return;
    }
    nb_buf b;
    nb_buf_init(&b, head_len + 256);
    if (nb_buf_add(&b, head, head_len) || add_tail(&b, cfg, a, now)) {
        nb_buf_release(&b);
        nb_respond_error(r, NB_ERR_NOMEM, "could not render the weather document");
        return;
    }
    size_t len;
    char *body = nb_buf_detach(&b, &len);
    nb_respond_take(r, 200, "application/json; charset=utf-8", body, len);
}
