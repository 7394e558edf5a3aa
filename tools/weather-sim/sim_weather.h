/* sim_weather.h — deterministic, plausible weather for any point and time.
 *
 * The same (grid cell, 15-minute step) always gives the same observation:
 * temperature from latitude, season, elevation and the diurnal cycle plus
 * smooth space/time noise; clouds, precipitation (rain, showers, snow), WMO
 * codes that agree with the precipitation, humidity from a dew point, wind,
 * pressure and the sun's position. Daily aggregates are computed from the 96
 * steps of the local day, so the current value always lies inside that day's
 * min/max. Pure arithmetic except a mutex-guarded memo of daily aggregates:
 * thread-safe. */
#ifndef WS_WEATHER_H
#define WS_WEATHER_H

#include <stdbool.h>
#include <stdint.h>

/* Open-Meteo-like grid (ICON-D2 spacing, 0.02°, extended world-wide): the cell
 * centre as float32 (printed 52.52 / 13.419998 for Berlin) and its indices. */
typedef struct ws_cell {
    float latitude, longitude;
    long iy, ix;
} ws_cell;

void ws_wx_snap(double lat, double lon, ws_cell *c);

/* One 15-minute observation (units: °C, %, mm per step, cm per step, hPa,
 * km/h, degrees), or one hour of ws_wx_hourly(). */
typedef struct ws_obs {
    double temperature_2m, relative_humidity_2m, apparent_temperature;
    double precipitation, rain, showers, snowfall;
    double precipitation_probability; /* %; an hourly quantity (NAN in a 15-minute step) */
    double cloud_cover, pressure_msl;
    double wind_speed_10m, wind_direction_10m, wind_gusts_10m;
    int weather_code;
    int is_day;
} ws_obs;

/* Observation of the 15-minute step containing unix time t (UTC). */
void ws_wx_observe(const ws_cell *c, double elevation, int64_t t, ws_obs *o);

/* n hourly values for the hours labelled t0, t0 + 1 h, ... the way
 * Open-Meteo defines them: temperatures, humidity, clouds, pressure, wind
 * speed and direction and is_day at the label; precipitation, rain, showers
 * and snowfall summed over the hour before it, weather_code the most severe
 * and gusts the strongest in that hour; precipitation_probability from the
 * precipitation of that hour and the two next to it. */
void ws_wx_hourly(const ws_cell *c, double elevation, int64_t t0, int n, ws_obs *out);

typedef struct ws_day {
    int weather_code;
    double temperature_2m_max, temperature_2m_min;
    double precipitation_sum, precipitation_probability_max; /* max of the hourly values */
    double wind_speed_10m_max, uv_index_max;
    int64_t sunrise, sunset; /* unix times (UTC) */
} ws_day;

/* Aggregates over the local day starting at unix time day_start (local
 * midnight), for a zone offset of offset_s seconds. */
void ws_wx_day(const ws_cell *c, double elevation, int64_t day_start, int offset_s, ws_day *d);

/* Model elevation (m) of a cell: near a gazetteer place close to its
 * elevation, otherwise smooth terrain; 0 far from any land we know. */
double ws_wx_elevation(const ws_cell *c);

/* Deterministic gaps: true when `variable` has no data at this cell (about 4%
 * of cells per variable), so clients meet nulls. */
bool ws_wx_missing(const ws_cell *c, const char *variable);

/* True for the codes of the WMO 4677 subset Open-Meteo uses. */
bool ws_wx_code_valid(int code);

#endif
