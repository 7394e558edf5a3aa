/* sim_weather.c — the deterministic weather model. See sim_weather.h. */
#include "sim_weather.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "sim_gazetteer.h"

#define GRID_LAT0 43.18f
#define GRID_LON0 -3.94f
#define GRID_STEP 0.02f
#define STEP_S 900

void ws_wx_snap(double lat, double lon, ws_cell *c)
{
    if (lat > 90) lat = 90;
    if (lat < -90) lat = -90;
    c->iy = lround((lat - (double)GRID_LAT0) / (double)GRID_STEP);
    c->ix = lround((lon - (double)GRID_LON0) / (double)GRID_STEP);
    /* float32 arithmetic on purpose: this is where 13.419998 comes from */
    c->latitude = GRID_LAT0 + (float)c->iy * GRID_STEP;
    c->longitude = GRID_LON0 + (float)c->ix * GRID_STEP;
}

/* ------------------------------------------------------------------ noise */

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t hash3(uint64_t seed, int64_t a, int64_t b, int64_t c)
{
    uint64_t h = mix(seed);
    h = mix(h ^ (uint64_t)a);
    h = mix(h ^ (uint64_t)b);
    return mix(h ^ (uint64_t)c);
}

/* Uniform in [-1, 1]. */
static double hsigned(uint64_t h)
{
    return (double)(h >> 11) / (double)(1ull << 52) - 1.0;
}

static double smooth(double f)
{
    return f * f * (3 - 2 * f);
}

/* Trilinear value noise in [-1, 1] over (x, y, t) lattice units. */
static double noise3(uint64_t seed, double x, double y, double t)
{
    double fx = floor(x), fy = floor(y), ft = floor(t);
    int64_t ix = (int64_t)fx, iy = (int64_t)fy, it = (int64_t)ft;
    double ux = smooth(x - fx), uy = smooth(y - fy), ut = smooth(t - ft);
    double acc = 0;
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 2; j++)
            for (int i = 0; i < 2; i++) {
                double w = (i ? ux : 1 - ux) * (j ? uy : 1 - uy) * (k ? ut : 1 - ut);
                uint64_t h = hash3(seed, ix + i, iy + j, it + k);
                acc += w * hsigned(h);
            }
    return acc;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* ------------------------------------------------------------------ sun */

static double day_of_year(int64_t t)
{
    /* days since 2000-01-01 modulo the tropical year, shifted to Jan 1 = 0 */
    double days = (double)(t - 946684800) / 86400.0;
    double y = fmod(days, 365.2422);
    return y < 0 ? y + 365.2422 : y;
}

static double declination_rad(double doy)
{
    return 23.44 * M_PI / 180.0 * sin(2 * M_PI * (284.0 + doy) / 365.2422);
}

static double eot_minutes(double doy)
{
    double b = 2 * M_PI * (doy - 81.0) / 364.0;
    return 9.87 * sin(2 * b) - 7.53 * cos(b) - 1.5 * sin(b);
}

/* Sun altitude in degrees at unix time t. */
static double sun_altitude(double lat, double lon, int64_t t)
{
    double doy = day_of_year(t);
    double utc_h = fmod((double)(t % 86400 + 86400) / 3600.0, 24.0);
    double solar_h = utc_h + lon / 15.0 + eot_minutes(doy) / 60.0;
    double ha = (solar_h - 12.0) * 15.0 * M_PI / 180.0;
    double phi = lat * M_PI / 180.0, d = declination_rad(doy);
    double s = sin(phi) * sin(d) + cos(phi) * cos(d) * cos(ha);
    return asin(clamp(s, -1, 1)) * 180.0 / M_PI;
}

/* ------------------------------------------------------------------ model */

static double magnus_es(double t)
{
    return 6.105 * exp(17.27 * t / (237.7 + t));
}

void ws_wx_observe(const ws_cell *c, double elevation, int64_t t, ws_obs *o)
{
    double lat = c->latitude, lon = c->longitude;
    int64_t step = t - (((t % STEP_S) + STEP_S) % STEP_S);
    double hours = (double)step / 3600.0;
    double doy = day_of_year(step);
    double sx = lon / 2.5, sy = lat / 2.5;   /* synoptic scale */
    double fx = lon / 0.25, fy = lat / 0.25; /* local scale */

    double syn = noise3(11, sx, sy, hours / 36.0);
    double syn2 = noise3(12, sx, sy, hours / 20.0);
    double loc = noise3(13, fx, fy, hours / 6.0);
    double conv_n = noise3(14, fx, fy, hours / 3.0);
    double burst = noise3(15, fx, fy, hours / 1.5);
    double arid = 0.5 + 0.5 * noise3(16, lon / 12.0, lat / 12.0, 0.0); /* 0 wet .. 1 dry */

    /* clouds */
    double cloud = clamp(0.55 + 0.6 * syn + 0.3 * loc - 0.35 * (arid - 0.5), 0, 1);

    /* temperature */
    double mean = 28.0 - 0.0066 * lat * lat - 0.0065 * elevation;
    double season =
        0.18 * fabs(lat) * cos(2 * M_PI * (doy - 200.0) / 365.2422) * (lat >= 0 ? 1.0 : -1.0);
    double solar_h = fmod(fmod(hours, 24.0) + 24.0 + lon / 15.0, 24.0);
    double diurnal_amp = (2.5 + 4.5 * (1 - cloud)) * (0.7 + 0.6 * arid);
    double diurnal = diurnal_amp * cos(2 * M_PI * (solar_h - 15.0) / 24.0);
    double temp = mean + season + diurnal + 5.0 * syn2 + 1.5 * loc;

    /* precipitation (mm in this 15-minute step) */
    double potential = (cloud - 0.8) / 0.2;
    double rate = 0; /* mm/h */
    if (potential > 0) {
        rate = potential * (0.2 + 2.0 * clamp(0.5 + burst, 0, 1.5)) * (1.0 - 0.8 * arid);
        if (rate < 0.1) rate = 0;
    }
    bool convective = conv_n > 0.4 && temp > 8.0;
    double precip = rate / 4.0;
    if (precip < 0.01) precip = 0;
    precip = round(precip * 100.0) / 100.0;
    rate = precip * 4.0;

    bool snow = temp <= 0.5;
    o->precipitation = precip;
    o->snowfall = snow ? round(precip * 0.7 * 100.0) / 100.0 : 0;
    o->showers = !snow && convective ? precip : 0;
    o->rain = !snow && !convective ? precip : 0;

    /* humidity from a dew point */
    double spread = precip > 0 ? 0.4 + 0.6 * (1 - cloud)
                               : 1.0 + 9.0 * (1 - cloud) * (0.5 + arid) + 0.4 * fmax(0, diurnal);
    double dew = temp - spread;
    double rh = clamp(100.0 * magnus_es(dew) / magnus_es(temp), 5, 100);

    /* wind */
    double wind = clamp(6.0 + 0.12 * fabs(lat) + 10.0 * fabs(syn) + 6.0 * loc +
                            (convective && precip > 0 ? 8.0 : 0),
                        0.4, 120);
    double dir = fmod(360.0 + 200.0 + 220.0 * noise3(17, sx, sy, hours / 24.0), 360.0);
    double gusts = wind * (1.45 + 0.25 * (0.5 + 0.5 * burst)) + (convective ? 9.0 : 0);

    o->temperature_2m = temp;
    o->relative_humidity_2m = round(rh);
    o->cloud_cover = round(cloud * 100.0);
    o->pressure_msl = 1013.0 - 16.0 * syn + 3.0 * loc;
    o->wind_speed_10m = wind;
    o->wind_direction_10m = round(dir);
    o->wind_gusts_10m = gusts;
    {
        double e = rh / 100.0 * magnus_es(temp);
        o->apparent_temperature = temp + 0.33 * e - 0.70 * (wind / 3.6) - 4.0;
    }
    o->is_day = sun_altitude(lat, lon, step + STEP_S / 2) > 0 ? 1 : 0;
    o->precipitation_probability = NAN;

    /* WMO code, consistent with precipitation */
    int code;
    if (precip > 0) {
        if (snow) {
            if (convective)
                code = rate > 2.0 ? 86 : 85;
            else if (rate < 0.3 && temp > -3.0 && burst > 0.5)
                code = 77;
            else
                code = rate < 1.0 ? 71 : rate < 3.0 ? 73 : 75;
        } else if (temp < 1.5) {
            code = rate < 0.5 ? (rate < 0.25 ? 56 : 57) : (rate < 2.5 ? 66 : 67);
        } else if (convective) {
            if (temp > 16.0 && rate > 2.5)
                code = rate > 7.0 ? 99 : rate > 5.0 ? 96 : 95;
            else
                code = rate < 2.0 ? 80 : rate < 5.0 ? 81 : 82;
        } else if (rate < 0.5) {
            code = rate < 0.2 ? 51 : rate < 0.35 ? 53 : 55;
        } else {
            code = rate < 2.5 ? 61 : rate < 7.6 ? 63 : 65;
        }
    } else if (rh >= 97 && wind < 10) {
        code = temp < 0 ? 48 : 45;
    } else {
        double cc = o->cloud_cover;
        code = cc < 20 ? 0 : cc < 50 ? 1 : cc < 80 ? 2 : 3;
    }
    o->weather_code = code;
}

/* What the hour before T brought: sums of its four 15-minute steps. */
typedef struct hour_acc {
    double precipitation, rain, showers, snowfall, gusts;
    int weather_code;
} hour_acc;

static double round2(double v)
{
    return round(v * 100.0) / 100.0;
}

static void hour_before(const ws_cell *c, double elevation, int64_t t, hour_acc *a)
{
    memset(a, 0, sizeof(*a));
    for (int s = 1; s <= 4; s++) {
        ws_obs o;
        ws_wx_observe(c, elevation, t - (int64_t)s * STEP_S, &o);
        a->precipitation += o.precipitation;
        a->rain += o.rain;
        a->showers += o.showers;
        a->snowfall += o.snowfall;
        a->gusts = fmax(a->gusts, o.wind_gusts_10m);
        if (o.weather_code > a->weather_code) a->weather_code = o.weather_code;
    }
    a->precipitation = round2(a->precipitation);
    a->rain = round2(a->rain);
    a->showers = round2(a->showers);
    a->snowfall = round2(a->snowfall);
}

/* Chance of precipitation in an hour: high when it rains, some when the
 * hour next to it does, a little under heavy cloud. */
static double probability(double mm, double mm_next_to, double cloud_cover)
{
    if (mm > 0) return clamp(round(40.0 + 30.0 * mm), 40, 100);
    if (mm_next_to > 0) return clamp(round(20.0 + 20.0 * mm_next_to), 20, 45);
    return clamp(round((cloud_cover - 60.0) / 2.0), 0, 20);
}

void ws_wx_hourly(const ws_cell *c, double elevation, int64_t t0, int n, ws_obs *out)
{
    hour_acc prev, cur, next;
    hour_before(c, elevation, t0 - 3600, &prev);
    hour_before(c, elevation, t0, &cur);
    for (int k = 0; k < n; k++) {
        int64_t t = t0 + (int64_t)k * 3600;
        ws_obs *o = &out[k];
        hour_before(c, elevation, t + 3600, &next);
        ws_wx_observe(c, elevation, t, o);
        o->precipitation = cur.precipitation;
        o->rain = cur.rain;
        o->showers = cur.showers;
        o->snowfall = cur.snowfall;
        o->weather_code = cur.weather_code;
        o->wind_gusts_10m = fmax(o->wind_gusts_10m, cur.gusts);
        o->precipitation_probability = probability(
            cur.precipitation, fmax(prev.precipitation, next.precipitation), o->cloud_cover);
        prev = cur;
        cur = next;
    }
}

/* Daily aggregates cost 96 observations, so they are memoised in a small
 * direct-mapped cache (the model is deterministic, so this only saves time). */
enum { DAY_CACHE_SLOTS = 4096 };

typedef struct day_slot {
    bool used;
    long iy, ix;
    int64_t day_start;
    int offset_s;
    double elevation;
    ws_day day;
} day_slot;

static day_slot day_cache[DAY_CACHE_SLOTS];
static pthread_mutex_t day_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t day_slot_index(const ws_cell *c, int64_t day_start, int offset_s)
{
    /* Zones west of Greenwich have negative offsets: mix them in unsigned
     * (shifting a negative value left is undefined). */
    uint64_t day = (uint64_t)day_start ^ ((uint64_t)(int64_t)offset_s << 40);
    return (size_t)(mix(hash3(31, c->iy, c->ix, 0) ^ day) % DAY_CACHE_SLOTS);
}

static void compute_day(const ws_cell *c, double elevation, int64_t day_start, int offset_s,
                        ws_day *d);

void ws_wx_day(const ws_cell *c, double elevation, int64_t day_start, int offset_s, ws_day *d)
{
    size_t i = day_slot_index(c, day_start, offset_s);
    day_slot *slot = &day_cache[i];
    bool hit;

    pthread_mutex_lock(&day_cache_lock);
    hit = slot->used && slot->iy == c->iy && slot->ix == c->ix && slot->day_start == day_start &&
          slot->offset_s == offset_s && slot->elevation == elevation;
    if (hit) *d = slot->day;
    pthread_mutex_unlock(&day_cache_lock);
    if (hit) return;
    compute_day(c, elevation, day_start, offset_s, d);
    pthread_mutex_lock(&day_cache_lock);
    slot->used = true;
    slot->iy = c->iy;
    slot->ix = c->ix;
    slot->day_start = day_start;
    slot->offset_s = offset_s;
    slot->elevation = elevation;
    slot->day = *d;
    pthread_mutex_unlock(&day_cache_lock);
}

static void compute_day(const ws_cell *c, double elevation, int64_t day_start, int offset_s,
                        ws_day *d)
{
    double lat = c->latitude, lon = c->longitude;
    ws_obs o, hours[24];

    memset(d, 0, sizeof(*d));
    d->temperature_2m_max = -1e9;
    d->temperature_2m_min = 1e9;
    for (int i = 0; i < 86400 / STEP_S; i++) {
        int64_t t = day_start + (int64_t)i * STEP_S;
        ws_wx_observe(c, elevation, t, &o);
        d->temperature_2m_max = fmax(d->temperature_2m_max, o.temperature_2m);
        d->temperature_2m_min = fmin(d->temperature_2m_min, o.temperature_2m);
        if (o.weather_code > d->weather_code) d->weather_code = o.weather_code;
        d->precipitation_sum += o.precipitation;
        d->wind_speed_10m_max = fmax(d->wind_speed_10m_max, o.wind_speed_10m);
        double alt = sun_altitude(lat, lon, t + STEP_S / 2);
        if (alt > 0) {
            double cl = o.cloud_cover / 100.0;
            double uv = 12.5 * pow(sin(alt * M_PI / 180.0), 2.5) * (1.0 - 0.75 * cl * cl * cl);
            d->uv_index_max = fmax(d->uv_index_max, uv);
        }
    }
    d->precipitation_sum = round2(d->precipitation_sum);
    ws_wx_hourly(c, elevation, day_start, 24, hours);
    for (int h = 0; h < 24; h++)
        d->precipitation_probability_max =
            fmax(d->precipitation_probability_max, hours[h].precipitation_probability);

    /* sunrise/sunset of the local calendar date (NOAA approximation) */
    int64_t date_utc0 = day_start + offset_s; /* 00:00 UTC of the same calendar date */
    double doy = day_of_year(date_utc0 + 43200);
    double dec = declination_rad(doy), phi = lat * M_PI / 180.0;
    double noon_min = 720.0 - 4.0 * lon - eot_minutes(doy);
    double cosw = (sin(-0.833 * M_PI / 180.0) - sin(phi) * sin(dec)) / (cos(phi) * cos(dec));
    if (cosw >= 1.0) { /* polar night: no sunrise */
        d->sunrise = d->sunset = day_start;
    } else if (cosw <= -1.0) { /* midnight sun */
        d->sunrise = day_start;
        d->sunset = day_start + 86400 - 60;
    } else {
        double w_min = acos(cosw) * 180.0 / M_PI * 4.0;
        d->sunrise = date_utc0 + (int64_t)lround((noon_min - w_min) * 60.0);
        d->sunset = date_utc0 + (int64_t)lround((noon_min + w_min) * 60.0);
        /* whole minutes, as Open-Meteo prints them */
        d->sunrise -= ((d->sunrise % 60) + 60) % 60;
        d->sunset -= ((d->sunset % 60) + 60) % 60;
    }
}

double ws_wx_elevation(const ws_cell *c)
{
    double dist;
    const ws_place *p = ws_gaz_nearest(c->latitude, c->longitude, &dist);
    double terrain = 250.0 + 250.0 * noise3(21, c->longitude / 0.5, c->latitude / 0.5, 0.0);
    double h = (double)(hash3(22, c->iy, c->ix, 0) >> 11) / (double)(1ull << 53);

    if (dist < 30.0) return round(p->elevation * (0.55 + 0.45 * h));
    if (dist > 400.0) return 0.0;
    return round(terrain);
}

bool ws_wx_missing(const ws_cell *c, const char *variable)
{
    /* A seed per variable name, not a table hash, so not nb_hash_stable:
     * which cells miss which variable is part of the simulator's output, and
     * tests pin it (Berlin's daily values are all present in
     * test_weather_sim.py, and the api/front tests read them); another hash
     * would move the missing 4% onto those cells. */
    uint64_t v = 1469598103934665603ull; /* FNV-1a of the name */
    for (const unsigned char *p = (const unsigned char *)variable; *p; p++)
        v = (v ^ *p) * 1099511628211ull;
    return hash3(v, c->iy, c->ix, 7) % 1000 < 40;
}

bool ws_wx_code_valid(int code)
{
    static const int codes[] = {0,  1,  2,  3,  45, 48, 51, 53, 55, 56, 57, 61, 63, 65,
                                66, 67, 71, 73, 75, 77, 80, 81, 82, 85, 86, 95, 96, 99};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i] == code) return true;
    return false;
}
