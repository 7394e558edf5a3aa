/* wmo.c — the WMO weather-code table (see wmo.h). */
#include "nimbus/wmo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nimbus/buf.h"

#define SUN "☀️"
#define MOON "🌙"
#define FEW "🌤️"
#define PARTLY "⛅"
#define CLOUD "☁️"
#define FOG "🌫️"
#define SHOWER "🌦️"
#define RAIN "🌧️"
#define SNOW "🌨️"
#define THUNDER "⛈️"
#define UNKNOWN_EMOJI "🌡️"

static const nb_wmo table[] = {
    {0, "Clear sky", "sun", "moon", SUN, MOON},
    {1, "Mainly clear", "partly", "moon", FEW, MOON},
    {2, "Partly cloudy", "partly", "partly", PARTLY, PARTLY},
    {3, "Overcast", "cloud", "cloud", CLOUD, CLOUD},
    {45, "Fog", "fog", "fog", FOG, FOG},
    {48, "Depositing rime fog", "fog", "fog", FOG, FOG},
    {51, "Light drizzle", "drizzle", "drizzle", SHOWER, SHOWER},
    {53, "Moderate drizzle", "drizzle", "drizzle", SHOWER, SHOWER},
    {55, "Dense drizzle", "drizzle", "drizzle", SHOWER, SHOWER},
    {56, "Light freezing drizzle", "drizzle", "drizzle", SHOWER, SHOWER},
    {57, "Dense freezing drizzle", "drizzle", "drizzle", SHOWER, SHOWER},
    {61, "Slight rain", "rain", "rain", RAIN, RAIN},
    {63, "Moderate rain", "rain", "rain", RAIN, RAIN},
    {65, "Heavy rain", "rain", "rain", RAIN, RAIN},
    {66, "Light freezing rain", "rain", "rain", RAIN, RAIN},
    {67, "Heavy freezing rain", "rain", "rain", RAIN, RAIN},
    {71, "Slight snow fall", "snow", "snow", SNOW, SNOW},
    {73, "Moderate snow fall", "snow", "snow", SNOW, SNOW},
    {75, "Heavy snow fall", "snow", "snow", SNOW, SNOW},
    {77, "Snow grains", "snow", "snow", SNOW, SNOW},
    {80, "Slight rain showers", "drizzle", "drizzle", SHOWER, SHOWER},
    {81, "Moderate rain showers", "drizzle", "drizzle", SHOWER, SHOWER},
    {82, "Violent rain showers", "drizzle", "drizzle", SHOWER, SHOWER},
    {85, "Slight snow showers", "snow", "snow", SNOW, SNOW},
    {86, "Heavy snow showers", "snow", "snow", SNOW, SNOW},
    {95, "Thunderstorm", "thunder", "thunder", THUNDER, THUNDER},
    {96, "Thunderstorm with slight hail", "thunder", "thunder", THUNDER, THUNDER},
    {99, "Thunderstorm with heavy hail", "thunder", "thunder", THUNDER, THUNDER},
};

const nb_wmo *nb_wmo_find(int code)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].code == code) return &table[i];
    return NULL;
}

static const nb_wmo *find_d(double code)
{
    return isfinite(code) && code == floor(code) && fabs(code) < 1000 ? nb_wmo_find((int)code)
                                                                      : NULL;
}

const char *nb_wmo_condition(int code)
{
    const nb_wmo *w = nb_wmo_find(code);
    return w ? w->condition : "Unknown";
}

const char *nb_wmo_condition_of(double code)
{
    const nb_wmo *w = find_d(code);
    return w ? w->condition : "Unknown";
}

const char *nb_wmo_icon(double code, double is_day)
{
    const nb_wmo *w = find_d(code);
    if (!w) return "unknown";
    return is_day == 0 ? w->icon_night : w->icon;
}

const char *nb_wmo_emoji(double code, double is_day)
{
    const nb_wmo *w = find_d(code);
    if (!w) return UNKNOWN_EMOJI;
    return is_day == 0 ? w->emoji_night : w->emoji;
}

char *nb_wmo_js(void)
{
    nb_buf b;
    nb_buf_init(&b, 64 * 1024);
    nb_buf_adds(&b, "/* Generated from libcommon/src/wmo.c: the WMO weather-code table. */\n"
                    "var NB_WMO = {");
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        nb_buf_addf(&b, "%s\"%d\":{\"condition\":\"%s\",\"icon\":\"%s\",\"night\":\"%s\"}",
                    i ? "," : "", table[i].code, table[i].condition, table[i].icon,
                    table[i].icon_night);
    if (nb_buf_adds(&b, "};\n") != NB_OK) {
        nb_buf_release(&b);
        return NULL;
    }
    return nb_buf_detach(&b, NULL);
}
