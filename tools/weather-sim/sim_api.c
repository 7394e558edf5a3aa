/* sim_api.c — /v1/forecast and /v1/search rendered like Open-Meteo.
 * See sim_api.h. */
#include "sim_api.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"
#include "nimbus/tz.h"
#include "sim_fmt.h"
#include "sim_gazetteer.h"
#include "sim_tz.h"
#include "sim_weather.h"

enum {
    MAX_LOCATIONS = 100,
    MAX_VARS = 32,
    MAX_DAYS = 16,
    MAX_PAST_DAYS = 92,
    AUTO_TZ_MAX_KM = 1500,
};

/* ------------------------------------------------------------------ variables */

typedef enum qty {
    Q_TEMP,
    Q_PCT,
    Q_MM,
    Q_CM,
    Q_WMO,
    Q_HPA,
    Q_WIND,
    Q_DEG,
    Q_NONE,
    Q_UV,
    Q_TIME
} qty;

typedef enum field {
    F_TEMP,
    F_RH,
    F_APPARENT,
    F_PRECIP,
    F_RAIN,
    F_SHOWERS,
    F_SNOW,
    F_CODE,
    F_CLOUD,
    F_PRESSURE,
    F_WIND,
    F_WIND_DIR,
    F_GUSTS,
    F_IS_DAY,
    F_PROB,
    D_CODE,
    D_TMAX,
    D_TMIN,
    D_PRECIP_SUM,
    D_PROB,
    D_SUNRISE,
    D_SUNSET,
    D_WIND_MAX,
    D_UV,
} field;

typedef struct var_desc {
    const char *name;
    field f;
    qty q;
} var_desc;

static const var_desc obs_vars[] = {
    {"temperature_2m", F_TEMP, Q_TEMP},
    {"relative_humidity_2m", F_RH, Q_PCT},
    {"apparent_temperature", F_APPARENT, Q_TEMP},
    {"precipitation", F_PRECIP, Q_MM},
    {"rain", F_RAIN, Q_MM},
    {"showers", F_SHOWERS, Q_MM},
    {"snowfall", F_SNOW, Q_CM},
    {"weather_code", F_CODE, Q_WMO},
    {"cloud_cover", F_CLOUD, Q_PCT},
    {"pressure_msl", F_PRESSURE, Q_HPA},
    {"wind_speed_10m", F_WIND, Q_WIND},
    {"wind_direction_10m", F_WIND_DIR, Q_DEG},
    {"wind_gusts_10m", F_GUSTS, Q_WIND},
    {"is_day", F_IS_DAY, Q_NONE},
    {"precipitation_probability", F_PROB, Q_PCT},
};

static const var_desc day_vars[] = {
    {"weather_code", D_CODE, Q_WMO},
    {"temperature_2m_max", D_TMAX, Q_TEMP},
    {"temperature_2m_min", D_TMIN, Q_TEMP},
    {"precipitation_sum", D_PRECIP_SUM, Q_MM},
    {"precipitation_probability_max", D_PROB, Q_PCT},
    {"sunrise", D_SUNRISE, Q_TIME},
    {"sunset", D_SUNSET, Q_TIME},
    {"wind_speed_10m_max", D_WIND_MAX, Q_WIND},
    {"uv_index_max", D_UV, Q_UV},
};

typedef enum wind_unit { W_KMH, W_MS, W_MPH, W_KN } wind_unit;

typedef struct units {
    bool fahrenheit, inch, unixtime;
    wind_unit wind;
} units;

static const char *unit_text(const units *u, qty q)
{
    static const char *wind[] = {"km/h", "m/s", "mp/h", "kn"};
    switch (q) {
    case Q_TEMP:
        return u->fahrenheit ? "°F" : "°C";
    case Q_PCT:
        return "%";
    case Q_MM:
        return u->inch ? "inch" : "mm";
    case Q_CM:
        return u->inch ? "inch" : "cm";
    case Q_WMO:
        return "wmo code";
    case Q_HPA:
        return "hPa";
    case Q_WIND:
        return wind[u->wind];
    case Q_DEG:
        return "°";
    case Q_NONE:
        return "";
    case Q_UV:
        return "";
    case Q_TIME:
        return u->unixtime ? "unixtime" : "iso8601";
    }
    return "";
}

/* Converts a base-unit value and appends it rounded the way Open-Meteo does. */
static nb_err add_value(nb_buf *b, const units *u, qty q, double v)
{
    switch (q) {
    case Q_TEMP:
        return ws_fmt_num(b, u->fahrenheit ? v * 9.0 / 5.0 + 32.0 : v, 1);
    case Q_PCT:
    case Q_WMO:
    case Q_DEG:
    case Q_NONE:
        return ws_fmt_num(b, v, 0);
    case Q_MM:
        return u->inch ? ws_fmt_num(b, v / 25.4, 3) : ws_fmt_num(b, v, 2);
    case Q_CM:
        return u->inch ? ws_fmt_num(b, v / 2.54, 3) : ws_fmt_num(b, v, 2);
    case Q_HPA:
        return ws_fmt_num(b, v, 1);
    case Q_WIND: {
        static const double div[] = {1.0, 3.6, 1.609344, 1.852};
        return ws_fmt_num(b, v / div[u->wind], 1);
    }
    case Q_UV:
        return ws_fmt_num(b, v, 2);
    case Q_TIME:
        return ws_fmt_num(b, v, 0);
    }
    return NB_OK;
}

static double obs_get(const ws_obs *o, field f)
{
    switch (f) {
    case F_TEMP:
        return o->temperature_2m;
    case F_RH:
        return o->relative_humidity_2m;
    case F_APPARENT:
        return o->apparent_temperature;
    case F_PRECIP:
        return o->precipitation;
    case F_RAIN:
        return o->rain;
    case F_SHOWERS:
        return o->showers;
    case F_SNOW:
        return o->snowfall;
    case F_CODE:
        return o->weather_code;
    case F_CLOUD:
        return o->cloud_cover;
    case F_PRESSURE:
        return o->pressure_msl;
    case F_WIND:
        return o->wind_speed_10m;
    case F_WIND_DIR:
        return o->wind_direction_10m;
    case F_GUSTS:
        return o->wind_gusts_10m;
    case F_IS_DAY:
        return o->is_day;
    case F_PROB:
        return o->precipitation_probability;
    default:
        return NAN;
    }
}

static double day_get(const ws_day *d, field f)
{
    switch (f) {
    case D_CODE:
        return d->weather_code;
    case D_TMAX:
        return d->temperature_2m_max;
    case D_TMIN:
        return d->temperature_2m_min;
    case D_PRECIP_SUM:
        return d->precipitation_sum;
    case D_PROB:
        return d->precipitation_probability_max;
    case D_WIND_MAX:
        return d->wind_speed_10m_max;
    case D_UV:
        return d->uv_index_max;
    default:
        return NAN;
    }
}

/* ------------------------------------------------------------------ errors */

/* Validation errors come out as the real server writes them: reason first. */
static int bad_request(nb_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_request(nb_buf *out, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    nb_buf_reset(out);
    nb_buf_adds(out, "{\"reason\":");
    nb_buf_add_json_str(out, reason);
    nb_buf_adds(out, ",\"error\":true}");
    return 400;
}

void ws_api_error_body(nb_buf *out, const char *reason)
{
    nb_buf_reset(out);
    nb_buf_adds(out, "{\"error\":true,\"reason\":");
    nb_buf_add_json_str(out, reason);
    nb_buf_adds(out, "}");
}

/* ------------------------------------------------------------------ parsing */

/* Splits a comma list into trimmed, non-empty items (copied into store). */
static int split_list(const char *s, char *store, size_t storelen, const char **items, int max)
{
    int n = 0;
    size_t used = 0;
    if (!s) return 0;
    while (*s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *a = s, *z = s + len;
        while (a < z && isspace((unsigned char)*a))
            a++;
        while (z > a && isspace((unsigned char)z[-1]))
            z--;
        if (z > a) {
            if (n >= max || used + (size_t)(z - a) + 1 > storelen) return -1;
            memcpy(store + used, a, (size_t)(z - a));
            store[used + (size_t)(z - a)] = '\0';
            items[n++] = store + used;
            used += (size_t)(z - a) + 1;
        }
        if (!end) break;
        s = end + 1;
    }
    return n;
}

static bool parse_double(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    while (*end && isspace((unsigned char)*end))
        end++;
    return end != s && *end == '\0' && errno == 0 && isfinite(*v);
}

static bool parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return end != s && *end == '\0' && errno == 0;
}

/* Resolves the requested variable names against a table. Returns the index of
 * the first unknown name as -(i+1), or the count. */
static int resolve_vars(const char **names, int n, const var_desc *table, size_t tn,
                        const var_desc **out)
{
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        for (size_t k = 0; k < tn; k++)
            if (strcmp(names[i], table[k].name) == 0) out[i] = &table[k];
        if (!out[i]) return -(i + 1);
    }
    return n;
}

static const char *param(const ws_params *q, const char *key)
{
    return q->get(q->ctx, key);
}

bool ws_api_timezone_is_gmt(const ws_params *q)
{
    const char *tz = param(q, "timezone");
    return !tz || !tz[0] || strcmp(tz, "GMT") == 0 || strcmp(tz, "UTC") == 0;
}

/* ------------------------------------------------------------------ forecast */

typedef struct request {
    int nloc;
    double lat[MAX_LOCATIONS], lon[MAX_LOCATIONS];
    const char *tz[MAX_LOCATIONS]; /* per location, borrowed from tzstore */
    int ncur, nhour, nday;
    bool has_current, has_hourly, has_daily;
    const var_desc *cur[MAX_VARS], *hour[MAX_VARS], *day[MAX_VARS];
    long forecast_days, past_days;
    units u;
    char latstore[4096], lonstore[4096], tzstore[2048], varstore[3][1024];
} request;

static void add_time(nb_buf *b, const units *u, int64_t t, int offset, bool date_only)
{
    char s[32];
    struct tm tm;
    time_t local = (time_t)(t + offset);
    if (u->unixtime) {
        nb_buf_addf(b, "%lld", (long long)t);
        return;
    }
    gmtime_r(&local, &tm);
    strftime(s, sizeof(s), date_only ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M", &tm);
    nb_buf_addf(b, "\"%s\"", s);
}

static int parse_unit(const ws_params *q, const char *key, const char *const *allowed, int n,
                      const char *type, int *which, nb_buf *out)
{
    const char *v = param(q, key);
    *which = 0;
    if (!v || !v[0]) return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(v, allowed[i]) == 0) {
            *which = i;
            return 0;
        }
    return bad_request(out, "Cannot initialize %s from invalid String value %s for key %s", type, v,
                       key);
}

static int parse_request(const ws_params *q, request *r, nb_buf *out)
{
    const char *items[MAX_LOCATIONS + 1];
    const char *lat_s = param(q, "latitude"), *lon_s = param(q, "longitude");
    int nlat, nlon, rc, which;

    memset(r, 0, sizeof(*r));
    if (!lat_s) return bad_request(out, "Value of type 'Float' required for key 'latitude'.");
    if (!lon_s) return bad_request(out, "Value of type 'Float' required for key 'longitude'.");
    nlat = split_list(lat_s, r->latstore, sizeof(r->latstore), items, MAX_LOCATIONS + 1);
    if (nlat < 0 || nlat > MAX_LOCATIONS)
        return bad_request(out, "Only up to %d locations can be requested at once", MAX_LOCATIONS);
    for (int i = 0; i < nlat; i++)
        if (!parse_double(items[i], &r->lat[i]))
            return bad_request(out, "Value of type 'Float' required for key 'latitude'.");
    nlon = split_list(lon_s, r->lonstore, sizeof(r->lonstore), items, MAX_LOCATIONS + 1);
    if (nlon < 0 || nlon > MAX_LOCATIONS)
        return bad_request(out, "Only up to %d locations can be requested at once", MAX_LOCATIONS);
    for (int i = 0; i < nlon; i++)
        if (!parse_double(items[i], &r->lon[i]))
            return bad_request(out, "Value of type 'Float' required for key 'longitude'.");
    if (nlat != nlon || nlat == 0)
        return bad_request(
            out, "Parameter 'latitude' and 'longitude' must have the same number of elements");
    r->nloc = nlat;
    for (int i = 0; i < r->nloc; i++) {
        char given[48];
        if (r->lat[i] < -90 || r->lat[i] > 90) {
            ws_fmt_f32_text((float)r->lat[i], given, sizeof(given));
            return bad_request(out, "Latitude must be in range of -90 to 90°. Given: %s.", given);
        }
        if (r->lon[i] < -180 || r->lon[i] > 180) {
            ws_fmt_f32_text((float)r->lon[i], given, sizeof(given));
            return bad_request(out, "Longitude must be in range of -180 to 180°. Given: %s.",
                               given);
        }
    }

    /* variables */
    {
        static const char *keys[3] = {"current", "hourly", "daily"};
        for (int s = 0; s < 3; s++) {
            const char *names[MAX_VARS];
            const char *v = param(q, keys[s]);
            int n = split_list(v, r->varstore[s], sizeof(r->varstore[s]), names, MAX_VARS);
            if (n < 0) return bad_request(out, "Too many variables for key %s", keys[s]);
            const var_desc **dst = s == 0 ? r->cur : s == 1 ? r->hour : r->day;
            const var_desc *table = s == 2 ? day_vars : obs_vars;
            size_t tn = s == 2 ? sizeof(day_vars) / sizeof(day_vars[0])
                               : sizeof(obs_vars) / sizeof(obs_vars[0]);
            int got = resolve_vars(names, n, table, tn, dst);
            if (got < 0)
                return bad_request(out,
                                   "Cannot initialize %s from invalid String value %s for key %s",
                                   s == 2 ? "ForecastVariableDaily" : "ForecastSurfaceVariable",
                                   names[-got - 1], keys[s]);
            if (s == 0) {
                r->ncur = got;
                r->has_current = v != NULL && n > 0;
            }
            if (s == 1) {
                r->nhour = got;
                r->has_hourly = v != NULL && n > 0;
            }
            if (s == 2) {
                r->nday = got;
                r->has_daily = v != NULL && n > 0;
            }
        }
    }

    /* days */
    {
        const char *fd = param(q, "forecast_days"), *pd = param(q, "past_days");
        r->forecast_days = 7;
        if (fd && fd[0]) {
            if (!parse_long(fd, &r->forecast_days))
                return bad_request(out, "Value of type 'Int' required for key 'forecast_days'.");
            if (r->forecast_days < 0 || r->forecast_days > MAX_DAYS)
                return bad_request(out,
                                   "Forecast days is invalid. Allowed range 0 to %d. Given %ld.",
                                   MAX_DAYS, r->forecast_days);
        }
        if (pd && pd[0]) {
            if (!parse_long(pd, &r->past_days))
                return bad_request(out, "Value of type 'Int' required for key 'past_days'.");
            if (r->past_days < 0 || r->past_days > MAX_PAST_DAYS)
                return bad_request(out, "Past days is invalid. Allowed range 0 to %d. Given %ld.",
                                   MAX_PAST_DAYS, r->past_days);
        }
    }

    /* units */
    {
        static const char *const temp[] = {"celsius", "fahrenheit"};
        static const char *const wind[] = {"kmh", "ms", "mph", "kn"};
        static const char *const prec[] = {"mm", "inch"};
        static const char *const tf[] = {"iso8601", "unixtime"};
        static const char *const cell[] = {"land", "sea", "nearest"};
        if ((rc = parse_unit(q, "temperature_unit", temp, 2, "TemperatureUnit", &which, out)))
            return rc;
        r->u.fahrenheit = which == 1;
        if ((rc = parse_unit(q, "wind_speed_unit", wind, 4, "WindspeedUnit", &which, out)))
            return rc;
        r->u.wind = (wind_unit)which;
        if ((rc = parse_unit(q, "windspeed_unit", wind, 4, "WindspeedUnit", &which, out)))
            return rc;
        if (param(q, "windspeed_unit")) r->u.wind = (wind_unit)which;
        if ((rc = parse_unit(q, "precipitation_unit", prec, 2, "PrecipitationUnit", &which, out)))
            return rc;
        r->u.inch = which == 1;
        if ((rc = parse_unit(q, "timeformat", tf, 2, "Timeformat", &which, out))) return rc;
        r->u.unixtime = which == 1;
        if ((rc = parse_unit(q, "cell_selection", cell, 3, "GridSelectionMode", &which, out)))
            return rc;
    }

    /* time zones: one for all, or one per location */
    {
        const char *tzs[MAX_LOCATIONS + 1];
        const char *v = param(q, "timezone");
        int n = split_list(v, r->tzstore, sizeof(r->tzstore), tzs, MAX_LOCATIONS + 1);
        if (n < 0) return bad_request(out, "Too many time zones");
        for (int i = 0; i < r->nloc; i++)
            r->tz[i] = n == 0 ? "GMT" : tzs[i < n ? i : n - 1];
    }
    return 0;
}

typedef struct location {
    ws_cell cell;
    double elevation;
    char tz[64];
    int offset;
    char abbr[16];
} location;

/* Resolves the time zone of location i; false (with the body set) if invalid. */
static bool resolve_timezone(const request *r, int i, int64_t now, location *l, nb_buf *out)
{
    const char *name = r->tz[i];
    if (strcmp(name, "auto") == 0) {
        double km;
        const ws_place *p = ws_gaz_nearest(r->lat[i], r->lon[i], &km);
        if (km > AUTO_TZ_MAX_KM) {
            ws_api_error_body(out, "Invalid timezone");
            return false;
        }
        name = p->timezone;
    } else if (strcmp(name, "UTC") == 0) {
        name = "GMT";
    }
    /* The offset valid now, for every time in the answer: Open-Meteo applies
     * no DST change inside a series (open-meteo issues #261, #488, #1255). */
    if (!nb_tz_offset(name, now, &l->offset)) {
        ws_api_error_body(out, "Invalid timezone");
        return false;
    }
    snprintf(l->tz, sizeof(l->tz), "%s", name);
    ws_tz_abbrev(l->offset, l->abbr, sizeof(l->abbr));
    return true;
}

static void add_units(nb_buf *b, const units *u, const char *section, const var_desc *const *vars,
                      int n, bool with_interval)
{
    nb_buf_addf(b, ",\"%s_units\":{\"time\":\"%s\"", section, unit_text(u, Q_TIME));
    if (with_interval) nb_buf_adds(b, ",\"interval\":\"seconds\"");
    for (int i = 0; i < n; i++)
        nb_buf_addf(b, ",\"%s\":\"%s\"", vars[i]->name, unit_text(u, vars[i]->q));
}

static void render_location(const request *r, int i, const location *l, int64_t now, nb_buf *b)
{
    double t0 = nb_mono_s();
    nb_buf tail;
    const units *u = &r->u;
    int64_t step = now - (now % 900);
    /* local midnight of the first day, as a unix time */
    int64_t local_now = now + l->offset;
    int64_t day0 = local_now - (((local_now % 86400) + 86400) % 86400) - l->offset -
                   (int64_t)r->past_days * 86400;
    int ndays = (int)(r->past_days + r->forecast_days);
    (void)i;

    nb_buf_init(&tail, b->cap);
    if (r->has_current) {
        ws_obs o, hour;
        ws_wx_observe(&l->cell, l->elevation, step, &o);
        /* the chance of precipitation is an hourly figure: the running hour's */
        ws_wx_hourly(&l->cell, l->elevation, step - (((step % 3600) + 3600) % 3600), 1, &hour);
        o.precipitation_probability = hour.precipitation_probability;
        add_units(&tail, u, "current", r->cur, r->ncur, true);
        nb_buf_adds(&tail, "},\"current\":{\"time\":");
        add_time(&tail, u, step, l->offset, false);
        nb_buf_adds(&tail, ",\"interval\":900");
        for (int k = 0; k < r->ncur; k++) {
            const var_desc *v = r->cur[k];
            nb_buf_addf(&tail, ",\"%s\":", v->name);
            add_value(&tail, u, v->q, ws_wx_missing(&l->cell, v->name) ? NAN : obs_get(&o, v->f));
        }
        nb_buf_adds(&tail, "}");
    }
    if (r->has_hourly) {
        int nh = ndays * 24;
        ws_obs *obs = calloc((size_t)(nh ? nh : 1), sizeof(*obs));
        add_units(&tail, u, "hourly", r->hour, r->nhour, false);
        nb_buf_adds(&tail, "},\"hourly\":{\"time\":[");
        for (int h = 0; h < nh; h++) {
            if (h) nb_buf_adds(&tail, ",");
            add_time(&tail, u, day0 + (int64_t)h * 3600, l->offset, false);
        }
        if (obs) ws_wx_hourly(&l->cell, l->elevation, day0, nh, obs);
        nb_buf_adds(&tail, "]");
        for (int k = 0; k < r->nhour && obs; k++) {
            const var_desc *v = r->hour[k];
            bool missing = ws_wx_missing(&l->cell, v->name);
            nb_buf_addf(&tail, ",\"%s\":[", v->name);
            for (int h = 0; h < nh; h++) {
                if (h) nb_buf_adds(&tail, ",");
                add_value(&tail, u, v->q, missing ? NAN : obs_get(&obs[h], v->f));
            }
            nb_buf_adds(&tail, "]");
        }
        nb_buf_adds(&tail, "}");
        free(obs);
    }
    if (r->has_daily) {
        ws_day days[MAX_DAYS + MAX_PAST_DAYS];
        add_units(&tail, u, "daily", r->day, r->nday, false);
        nb_buf_adds(&tail, "},\"daily\":{\"time\":[");
        for (int d = 0; d < ndays; d++) {
            int64_t start = day0 + (int64_t)d * 86400;
            if (d) nb_buf_adds(&tail, ",");
            add_time(&tail, u, start, l->offset, true);
            ws_wx_day(&l->cell, l->elevation, start, l->offset, &days[d]);
        }
        nb_buf_adds(&tail, "]");
        for (int k = 0; k < r->nday; k++) {
            const var_desc *v = r->day[k];
            bool missing = ws_wx_missing(&l->cell, v->name);
            nb_buf_addf(&tail, ",\"%s\":[", v->name);
            for (int d = 0; d < ndays; d++) {
                if (d) nb_buf_adds(&tail, ",");
                if (missing)
                    nb_buf_adds(&tail, "null");
                else if (v->f == D_SUNRISE || v->f == D_SUNSET)
                    add_time(&tail, u, v->f == D_SUNRISE ? days[d].sunrise : days[d].sunset,
                             l->offset, false);
                else
                    add_value(&tail, u, v->q, day_get(&days[d], v->f));
            }
            nb_buf_adds(&tail, "]");
        }
        nb_buf_adds(&tail, "}");
    }

    {
        char gt[48];
        double ms = (nb_mono_s() - t0) * 1000.0;
        snprintf(gt, sizeof(gt), "%.17g", (double)(float)ms);
        nb_buf_adds(b, "{\"latitude\":");
        ws_fmt_f32(b, l->cell.latitude);
        nb_buf_adds(b, ",\"longitude\":");
        ws_fmt_f32(b, l->cell.longitude);
        nb_buf_addf(b, ",\"generationtime_ms\":%s,\"utc_offset_seconds\":%d,\"timezone\":", gt,
                    l->offset);
        nb_buf_add_json_str(b, l->tz);
        nb_buf_adds(b, ",\"timezone_abbreviation\":");
        nb_buf_add_json_str(b, l->abbr);
        nb_buf_adds(b, ",\"elevation\":");
        ws_fmt_num(b, l->elevation, 1);
        nb_buf_add(b, tail.data ? tail.data : "", tail.len);
        nb_buf_adds(b, "}");
    }
    nb_buf_release(&tail);
}

int ws_api_forecast(const ws_params *q, int64_t now_s, nb_buf *out)
{
    request *r = malloc(sizeof(*r));
    location *locs = NULL;
    int status = 200;

    nb_buf_reset(out);
    if (!r) {
        ws_api_error_body(out, "Internal Server Error");
        return 500;
    }
    status = parse_request(q, r, out);
    if (status) goto out_free;
    status = 200;
    locs = calloc((size_t)r->nloc, sizeof(*locs));
    if (!locs) {
        ws_api_error_body(out, "Internal Server Error");
        status = 500;
        goto out_free;
    }
    for (int i = 0; i < r->nloc; i++) {
        ws_wx_snap(r->lat[i], r->lon[i], &locs[i].cell);
        locs[i].elevation = ws_wx_elevation(&locs[i].cell);
        if (!resolve_timezone(r, i, now_s, &locs[i], out)) {
            status = 400;
            goto out_free;
        }
    }
    if (r->nloc > 1) nb_buf_adds(out, "[");
    for (int i = 0; i < r->nloc; i++) {
        if (i) nb_buf_adds(out, ",");
        render_location(r, i, &locs[i], now_s, out);
    }
    if (r->nloc > 1) nb_buf_adds(out, "]");
out_free:
    free(locs);
    free(r);
    return status;
}

/* ------------------------------------------------------------------ search */

static void add_place(nb_buf *b, const ws_place *p)
{
    const char *country = ws_gaz_country_name(p->country_code);
    long country_id = ws_gaz_country_id(p->country_code);

    nb_buf_addf(b, "{\"id\":%ld,\"name\":", p->id);
    nb_buf_add_json_str(b, p->name);
    nb_buf_adds(b, ",\"latitude\":");
    ws_fmt_num(b, p->latitude, 5);
    nb_buf_adds(b, ",\"longitude\":");
    ws_fmt_num(b, p->longitude, 5);
    if (p->elevation != 0) {
        nb_buf_adds(b, ",\"elevation\":");
        ws_fmt_num(b, p->elevation, 1);
    }
    nb_buf_addf(b, ",\"feature_code\":\"%s\",\"country_code\":\"%s\"", p->feature_code,
                p->country_code);
    if (p->admin1_id) nb_buf_addf(b, ",\"admin1_id\":%ld", p->admin1_id);
    nb_buf_adds(b, ",\"timezone\":");
    nb_buf_add_json_str(b, p->timezone);
    if (p->population) nb_buf_addf(b, ",\"population\":%ld", p->population);
    if (p->postcodes) {
        const char *a = p->postcodes;
        nb_buf_adds(b, ",\"postcodes\":[");
        while (*a) {
            const char *bar = strchr(a, '|');
            size_t len = bar ? (size_t)(bar - a) : strlen(a);
            nb_buf_adds(b, "\"");
            nb_buf_add(b, a, len);
            nb_buf_adds(b, bar ? "\"," : "\"");
            a += len + (bar ? 1 : 0);
        }
        nb_buf_adds(b, "]");
    }
    if (country_id) nb_buf_addf(b, ",\"country_id\":%ld", country_id);
    if (country) {
        nb_buf_adds(b, ",\"country\":");
        nb_buf_add_json_str(b, country);
    }
    if (p->admin1) {
        nb_buf_adds(b, ",\"admin1\":");
        nb_buf_add_json_str(b, p->admin1);
    }
    nb_buf_adds(b, "}");
}

int ws_api_search(const ws_params *q, nb_buf *out)
{
    double t0 = nb_mono_s();
    const char *name = param(q, "name"), *count_s = param(q, "count");
    const char *format = param(q, "format"), *cc = param(q, "countryCode");
    const ws_place *found[100];
    long count = 10;
    size_t n;
    char gt[48];

    nb_buf_reset(out);
    if (count_s && count_s[0] && (!parse_long(count_s, &count) || count < 1 || count > 100))
        return bad_request(out, "Parameter count must be between 1 and 100.");
    if (format && format[0] && strcmp(format, "json") != 0)
        return bad_request(out,
                           "Cannot initialize OutputFormat from invalid String value %s for "
                           "key format (the simulator speaks json only)",
                           format);
    if (!name) return bad_request(out, "Value of type 'String' required for key 'name'.");
    n = ws_gaz_search(name, cc, found, (size_t)count);
    snprintf(gt, sizeof(gt), "%.17g", (double)(float)((nb_mono_s() - t0) * 1000.0));
    if (n == 0) {
        nb_buf_addf(out, "{\"generationtime_ms\":%s}", gt);
        return 200;
    }
    nb_buf_adds(out, "{\"results\":[");
    for (size_t i = 0; i < n; i++) {
        if (i) nb_buf_adds(out, ",");
        add_place(out, found[i]);
    }
    nb_buf_addf(out, "],\"generationtime_ms\":%s}", gt);
    return 200;
}
