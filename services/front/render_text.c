/* render_text.c — plain-text weather report (see render_text.h). */
#include "render_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "nimbus/buf.h"
#include "out.h"
#include "wxfmt.h"

#define TEXT_CAP (256 * 1024)

/* Characters (code points) from byte from of o's buffer to its end. */
static size_t columns_since(const fr_out *o, size_t from)
{
    size_t cols = 0;
    for (size_t i = from; i < o->b.len; i++)
        cols += ((unsigned char)o->b.data[i] & 0xc0) != 0x80;
    return cols;
}

/* s as safe text, padded with spaces to width characters (columns stay
 * aligned for the short labels, symbols and condition names the api sends). */
static void put_padded(fr_out *o, const char *s, size_t width)
{
    size_t before = o->b.len;
    fr_put_safe(o, s);
    for (size_t w = columns_since(o, before); w < width && o->err == NB_OK; w++)
        fr_put(o, " ");
}

/* s right-aligned in width characters ("–" is one character, three bytes). */
static void put_right(fr_out *o, const char *s, size_t width)
{
    size_t cols = 0;
    for (const char *p = s; *p; p++)
        cols += ((unsigned char)*p & 0xc0) != 0x80;
    for (; cols < width; cols++)
        fr_put(o, " ");
    fr_put_safe(o, s);
}

static void footer(fr_out *o, bool narrow)
{
    fr_putf(o, narrow ? "Weather data by Open-Meteo.com\n"
                      : "Weather data by Open-Meteo.com (https://open-meteo.com/)\n");
}

/* The document's unit symbol for a quantity ("°C"), or the metric one. */
static const char *unit_of(const json_t *doc, const char *quantity, const char *fallback)
{
    const char *u = fr_wx_str(json_object_get(doc, "units"), quantity);
    return *u ? u : fallback;
}

/* The next hours as a small table: the hour, whole degrees, the chance of
 * precipitation and its amount, one column of 5 characters per hour. */
static void next_hours(fr_out *o, const json_t *doc, size_t hours)
{
    const json_t *hourly = json_object_get(doc, "hourly");
    size_t n = json_array_size(hourly) < hours ? json_array_size(hourly) : hours;
    const char *pu = unit_of(doc, "precipitation", "mm");
    int pdec = strcmp(pu, "mm") == 0 ? 1 : 2;
    char v[32];
    if (n == 0) return;
    fr_put(o, "  Hour    ");
    for (size_t i = 0; i < n; i++) {
        const char *t = fr_wx_str(json_array_get(hourly, i), "time");
        char hh[3] = "?";
        if (strlen(t) == 16) snprintf(hh, sizeof(hh), "%.2s", t + 11);
        put_right(o, hh, 5);
    }
    fr_put(o, "\n  ");
    put_padded(o, unit_of(doc, "temperature", "°C"), 8);
    for (size_t i = 0; i < n; i++)
        put_right(o,
                  fr_wx_fmt(round(nb_json_get_num(json_array_get(hourly, i), "temperature")), 0, v,
                            sizeof(v)),
                  5);
    fr_put(o, "\n  Rain %  ");
    for (size_t i = 0; i < n; i++)
        put_right(o,
                  fr_wx_fmt(nb_json_get_num(json_array_get(hourly, i), "precipitation_probability"),
                            0, v, sizeof(v)),
                  5);
    fr_put(o, "\n  ");
    put_padded(o, pu, 8);
    for (size_t i = 0; i < n; i++)
        put_right(o,
                  fr_wx_fmt(nb_json_get_num(json_array_get(hourly, i), "precipitation"), pdec, v,
                            sizeof(v)),
                  5);
    fr_put(o, "\n\n");
}

fr_tpl *fr_text_weather_tpl(const json_t *doc, int64_t now_ms, const fr_view *view)
{
    fr_out o;
    const json_t *loc = json_object_get(doc, "location");
    const json_t *cur = json_object_get(doc, "current");
    const json_t *daily = json_object_get(doc, "daily");
    long offset = fr_wx_utc_offset(loc);
    bool narrow = view && view->narrow;
    size_t ndays = view ? (size_t)view->days : FR_TEXT_DAYS;
    const char *tu = unit_of(doc, "temperature", "°C"), *wu = unit_of(doc, "wind_speed", "km/h");
    const char *pu = unit_of(doc, "precipitation", "mm");
    char region[320], today[16], t[32], feels[32], wind[32], hum[32];
    size_t i;
    const json_t *d;

    fr_out_init(&o, TEXT_CAP);
    fr_wx_region(loc, region, sizeof(region));
    fr_wx_local_date(now_ms, offset, today, sizeof(today));

    if (!narrow) fr_putf(&o, "Weather for ");
    fr_put_safe(&o, fr_wx_place_name(loc));
    if (*region) {
        fr_putf(&o, narrow ? "\n" : ", ");
        fr_put_safe(&o, region);
    }
    if (!narrow) {
        fr_putf(&o, " (");
        fr_put_safe(&o, fr_wx_str(loc, "key"));
        fr_putf(&o, ")");
    }
    fr_put(&o, narrow ? "\n" : "\nLocal time ");
    fr_out_slot(&o, FR_SLOT_LOCAL_TIME);
    fr_put(&o, " (");
    fr_put_safe(&o, fr_wx_str(loc, "timezone"));
    fr_putf(&o, ")\n\n");

    fr_putf(&o, narrow ? " %s " : "  %s  ",
            nb_wmo_emoji(nb_json_get_num(cur, "weather_code"), fr_wx_bool(cur, "is_day")));
    fr_put_safe(&o, fr_wx_str(cur, "condition"));
    fr_wx_fmt(nb_json_get_num(cur, "temperature"), 1, t, sizeof(t));
    fr_wx_fmt(nb_json_get_num(cur, "apparent_temperature"), 1, feels, sizeof(feels));
    fr_put(&o, narrow ? "\n " : "\n      ");
    fr_putf(&o, "%s ", t);
    fr_put_safe(&o, tu);
    fr_putf(&o, narrow ? ", feels %s " : " (feels like %s ", feels);
    fr_put_safe(&o, tu);
    const char *dir = fr_wx_compass(nb_json_get_num(cur, "wind_direction"));
    fr_putf(&o, narrow ? "\n Wind %s " : ")\n      Wind %s ",
            fr_wx_fmt(nb_json_get_num(cur, "wind_speed"), 0, wind, sizeof(wind)));
    fr_put_safe(&o, wu);
    fr_putf(&o, "%s%s%sHumidity %s %%\n\n", *dir ? " " : "", dir, narrow ? "\n " : " · ",
            fr_wx_fmt(nb_json_get_num(cur, "relative_humidity"), 0, hum, sizeof(hum)));

    if (ndays > 0) next_hours(&o, doc, narrow ? FR_TEXT_HOURS_NARROW : FR_TEXT_HOURS);

    size_t first = fr_wx_first_day(daily, today), shown = 0;
    json_array_foreach(daily, i, d)
    {
        char label[32], cond[24], hi[32], lo[32], pp[32], ps[32];
        if (i < first) continue;
        if (i >= first + ndays) break;
        shown++;
        fr_wx_day_label(fr_wx_str(d, "date"), today, label, sizeof(label));
        snprintf(cond, sizeof(cond), "%s", fr_wx_str(d, "condition"));
        fr_wx_fmt(nb_json_get_num(d, "temperature_max"), 0, hi, sizeof(hi));
        fr_wx_fmt(nb_json_get_num(d, "temperature_min"), 0, lo, sizeof(lo));
        fr_wx_fmt(nb_json_get_num(d, "precipitation_probability_max"), 0, pp, sizeof(pp));
        fr_put(&o, narrow ? " " : "  ");
        put_padded(&o, label, 9); /* the api's date text when it is not a date */
        fr_putf(&o, " %s  ", nb_wmo_emoji(nb_json_get_num(d, "weather_code"), 1));
        if (narrow) {
            fr_putf(&o, "%s/%s ", hi, lo);
            fr_put_safe(&o, tu);
            fr_putf(&o, " %s %%\n", pp);
            continue;
        }
        put_padded(&o, cond, 22);
        put_right(&o, hi, 5);
        fr_put(&o, " / ");
        put_padded(&o, lo, 5);
        fr_put(&o, " ");
        fr_put_safe(&o, tu);
        fr_putf(&o, "  rain %s %% %s ", pp,
                fr_wx_fmt(nb_json_get_num(d, "precipitation_sum"), strcmp(pu, "mm") == 0 ? 1 : 2,
                          ps, sizeof(ps)));
        fr_put_safe(&o, pu);
        fr_put(&o, "\n");
    }

    fr_put(&o, shown ? "\nUpdated " : "Updated ");
    fr_out_slot(&o, FR_SLOT_AGO);
    fr_out_slot(&o, narrow ? FR_SLOT_TEXT_STALE_NARROW : FR_SLOT_TEXT_STALE);
    fr_put(&o, "\n");
    footer(&o, narrow);
    return fr_out_finish_tpl(&o, offset, fr_wx_fetched_at_ms(doc), now_ms);
}

char *fr_text_weather(const json_t *doc, int64_t now_ms, const fr_view *view, size_t *len)
{
    fr_tpl *t = fr_text_weather_tpl(doc, now_ms, view);
    if (!t) return NULL;
    fr_fill f = {.now_ms = now_ms, .stale = fr_wx_doc_stale(doc), .max_age_s = -1, .swr_s = -1};
    char *text = fr_tpl_fill(t, &f, len);
    fr_tpl_unref(t);
    return text;
}

char *fr_text_help(size_t *len)
{
    fr_out o;
    fr_out_init(&o, TEXT_CAP);
    fr_putf(&o,
            "nimbus weather\n\n"
            "  curl HOST/Berlin               weather for a place\n"
            "  curl HOST/52.52,13.41          weather for a position (lat,lon)\n"
            "  curl 'HOST/?city=São Paulo'    the same with a query\n"
            "  curl HOST/Berlin?u             in °F, mph and inches (?m: metric)\n"
            "  curl HOST/Berlin?n             narrow (40 columns); ?0 ?1 ?2 ?3: days shown\n"
            "  curl HOST/Berlin?format=3      one line: \"Berlin: ☁️  +4°C\" (also 1, 2, 4)\n"
            "  curl 'HOST/Berlin?format=%%l:+%%c+%%t+%%w+rain:%%R'\n"
            "                                 your own line (%%-codes: see docs/front.md)\n"
            "  curl HOST/Berlin?format=json   the api's JSON document (hourly included)\n\n");
    footer(&o, false);
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
