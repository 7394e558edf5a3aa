/* render_text.c — plain-text weather report (see render_text.h). */
#include "render_text.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nimbus/buf.h"
#include "out.h"
#include "wxfmt.h"

#define TEXT_CAP (256 * 1024)

/* s as safe text, padded with spaces to width bytes (columns stay aligned
 * for the short ASCII labels and condition names the api sends). */
static void put_padded(fr_out *o, const char *s, size_t width)
{
    size_t before = o->b.len;
    fr_put_safe(o, s);
    for (size_t w = o->b.len - before; w < width && o->err == NB_OK; w++)
        fr_put(o, " ");
}

static void footer(fr_out *o)
{
    fr_putf(o, "Weather data by Open-Meteo.com (https://open-meteo.com/)\n");
}

char *fr_text_weather(const json_t *doc, int64_t now_ms, size_t *len)
{
    fr_out o;
    const json_t *loc = json_object_get(doc, "location");
    const json_t *cur = json_object_get(doc, "current");
    const json_t *daily = json_object_get(doc, "daily");
    const json_t *fresh = json_object_get(doc, "freshness");
    long offset = fr_wx_utc_offset(loc);
    char region[320], ltime[32], today[16], t[32], feels[32], wind[32], hum[32], ago[48];
    size_t i;
    const json_t *d;

    fr_out_init(&o, TEXT_CAP);
    fr_wx_region(loc, region, sizeof(region));
    fr_wx_local_time(now_ms, offset, ltime, sizeof(ltime));
    fr_wx_local_date(now_ms, offset, today, sizeof(today));

    fr_putf(&o, "Weather for ");
    fr_put_safe(&o, fr_wx_place_name(loc));
    if (*region) {
        fr_putf(&o, ", ");
        fr_put_safe(&o, region);
    }
    fr_putf(&o, " (");
    fr_put_safe(&o, fr_wx_str(loc, "key"));
    fr_putf(&o, ")\nLocal time %s (", ltime);
    fr_put_safe(&o, fr_wx_str(loc, "timezone"));
    fr_putf(&o, ")\n\n");

    fr_putf(&o, "  %s  ",
            nb_wmo_emoji(nb_json_get_num(cur, "weather_code"), fr_wx_bool(cur, "is_day")));
    fr_put_safe(&o, fr_wx_str(cur, "condition"));
    fr_putf(&o, "\n      %s °C (feels like %s °C)\n",
            fr_wx_fmt(nb_json_get_num(cur, "temperature"), 1, t, sizeof(t)),
            fr_wx_fmt(nb_json_get_num(cur, "apparent_temperature"), 1, feels, sizeof(feels)));
    const char *dir = fr_wx_compass(nb_json_get_num(cur, "wind_direction"));
    fr_putf(&o, "      Wind %s km/h%s%s · Humidity %s %%\n\n",
            fr_wx_fmt(nb_json_get_num(cur, "wind_speed"), 0, wind, sizeof(wind)), *dir ? " " : "",
            dir, fr_wx_fmt(nb_json_get_num(cur, "relative_humidity"), 0, hum, sizeof(hum)));

    size_t first = fr_wx_first_day(daily, today);
    json_array_foreach(daily, i, d)
    {
        char label[32], cond[24], hi[32], lo[32], pp[32], ps[32];
        if (i < first) continue;
        if (i >= first + FR_TEXT_DAYS) break;
        fr_wx_day_label(fr_wx_str(d, "date"), today, label, sizeof(label));
        snprintf(cond, sizeof(cond), "%s", fr_wx_str(d, "condition"));
        fr_put(&o, "  ");
        put_padded(&o, label, 9); /* the api's date text when it is not a date */
        fr_putf(&o, " %s  ", nb_wmo_emoji(nb_json_get_num(d, "weather_code"), 1));
        put_padded(&o, cond, 22);
        fr_putf(&o, "%5s / %-5s °C  rain %s %% %s mm\n",
                fr_wx_fmt(nb_json_get_num(d, "temperature_max"), 0, hi, sizeof(hi)),
                fr_wx_fmt(nb_json_get_num(d, "temperature_min"), 0, lo, sizeof(lo)),
                fr_wx_fmt(nb_json_get_num(d, "precipitation_probability_max"), 0, pp, sizeof(pp)),
                fr_wx_fmt(nb_json_get_num(d, "precipitation_sum"), 1, ps, sizeof(ps)));
    }

    int64_t age = fr_wx_age_s(doc, now_ms);
    fr_wx_ago(age < 0 ? 0 : age, ago, sizeof(ago));
    bool stale = strcmp(fr_wx_str(fresh, "state"), "fresh") != 0;
    fr_putf(&o, "\nUpdated %s%s\n", ago,
            stale ? " (newer data is on its way — ask again shortly)" : "");
    footer(&o);
    return fr_out_finish(&o, len);
}

char *fr_text_help(size_t *len)
{
    fr_out o;
    fr_out_init(&o, TEXT_CAP);
    fr_putf(&o, "nimbus weather\n\n"
                "  curl HOST/Berlin             weather for a place\n"
                "  curl HOST/52.52,13.41        weather for a position (lat,lon)\n"
                "  curl 'HOST/?city=São Paulo'  the same with a query\n"
                "  curl HOST/Berlin?format=json the api's JSON document\n\n");
    footer(&o);
    return fr_out_finish(&o, len);
}

char *fr_text_error(const char *title, const char *detail, const char *query, size_t *len)
{
    fr_out o;
    fr_out_init(&o, TEXT_CAP);
    fr_put_safe(&o, title);
    if (query && *query) {
        fr_putf(&o, ": ");
        fr_put_safe(&o, query);
    }
    fr_putf(&o, "\n");
    fr_put_safe(&o, detail);
    fr_putf(&o, "\n");
    return fr_out_finish(&o, len);
}
