/* render_html.c — server-side HTML pages (see render_html.h). */
#include "render_html.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chart.h"
#include "nimbus/buf.h"
#include "nimbus/rules.h"
#include "out.h"
#include "wxfmt.h"

#define PAGE_CAP (1024 * 1024)
#define DAYS_SHOWN 7

/* The weather icons, defined once per page as SVG symbols and drawn with
 * <use href="#i-NAME">: no images to fetch, no emoji font needed, and app.js
 * swaps an icon by changing one attribute. */
#define CLOUD "M6.5 19h11a4.5 4.5 0 0 0 .6-8.96 6 6 0 0 0-11.6 1.2A3.9 3.9 0 0 0 6.5 19z"
#define CLOUD_UP "<path transform=\"translate(0 -4)\" d=\"" CLOUD "\" fill=\"#9fb0c3\"/>"
static const char ICON_SPRITE[] =
    "<svg class=\"sprite\" width=\"0\" height=\"0\" aria-hidden=\"true\" focusable=\"false\">\n"
    "<symbol id=\"i-sun\" viewBox=\"0 0 24 24\"><circle cx=\"12\" cy=\"12\" r=\"4.5\" "
    "fill=\"#f6b40e\"/><path d=\"M12 2v2.5M12 19.5V22M2 12h2.5M19.5 12H22M4.9 4.9l1.8 1.8M17.3 "
    "17.3l1.8 1.8M4.9 19.1l1.8-1.8M17.3 6.7l1.8-1.8\" stroke=\"#f6b40e\" stroke-width=\"2\" "
    "stroke-linecap=\"round\"/></symbol>\n"
    "<symbol id=\"i-moon\" viewBox=\"0 0 24 24\"><path d=\"M20 14.5A8.5 8.5 0 0 1 9.5 4a8.5 8.5 "
    "0 1 0 10.5 10.5z\" fill=\"#8fa3c7\"/></symbol>\n"
    "<symbol id=\"i-partly\" viewBox=\"0 0 24 24\"><circle cx=\"8.5\" cy=\"8.5\" r=\"3.5\" "
    "fill=\"#f6b40e\"/><path d=\"M8.5 2v1.6M2 8.5h1.6M3.9 3.9l1.1 1.1M13.1 3.9l-1.1 1.1M3.9 "
    "13.1l1.1-1.1\" stroke=\"#f6b40e\" stroke-width=\"1.6\" stroke-linecap=\"round\"/><path "
    "transform=\"translate(3 2) scale(.88)\" d=\"" CLOUD "\" fill=\"#aab8c8\"/></symbol>\n"
    "<symbol id=\"i-cloud\" viewBox=\"0 0 24 24\"><path d=\"" CLOUD
    "\" fill=\"#9fb0c3\"/></symbol>\n"
    "<symbol id=\"i-fog\" viewBox=\"0 0 24 24\">" CLOUD_UP "<path d=\"M4 18.5h16M7 21.5h10\" "
    "stroke=\"#9fb0c3\" stroke-width=\"2\" stroke-linecap=\"round\"/></symbol>\n"
    "<symbol id=\"i-drizzle\" viewBox=\"0 0 24 24\">" CLOUD_UP "<path d=\"M8 18l-.5 2M12 18l-.5 "
    "2M16 18l-.5 2\" stroke=\"#60a5fa\" stroke-width=\"2\" stroke-linecap=\"round\"/></symbol>\n"
    "<symbol id=\"i-rain\" viewBox=\"0 0 24 24\">" CLOUD_UP "<path d=\"M8 17l-1 4.5M12 17l-1 "
    "4.5M16 17l-1 4.5\" stroke=\"#3b82f6\" stroke-width=\"2\" stroke-linecap=\"round\"/></symbol>\n"
    "<symbol id=\"i-snow\" viewBox=\"0 0 24 24\">" CLOUD_UP "<g fill=\"#7cc4f0\"><circle cx=\"8\" "
    "cy=\"18.5\" r=\"1.4\"/><circle cx=\"12\" cy=\"21\" r=\"1.4\"/><circle cx=\"16\" cy=\"18.5\" "
    "r=\"1.4\"/></g></symbol>\n"
    "<symbol id=\"i-thunder\" viewBox=\"0 0 24 24\"><path transform=\"translate(0 -4)\" d=\"" CLOUD
    "\" fill=\"#7d8da1\"/><path d=\"M12.5 14.5l-3 4.5h2.5l-1.5 4.5 4.8-6h-2.6l1.6-3z\" "
    "fill=\"#f6b40e\"/></symbol>\n"
    "<symbol id=\"i-unknown\" viewBox=\"0 0 24 24\"><path d=\"M10 4a2 2 0 0 1 4 0v9.5a4 4 0 1 "
    "1-4 0z\" fill=\"none\" stroke=\"#9fb0c3\" stroke-width=\"1.8\"/><circle cx=\"12\" "
    "cy=\"16.5\" r=\"2\" fill=\"#ef6b5b\"/></symbol>\n"
    "</svg>\n";

static void head(fr_out *o, const fr_page *pg, const char *title)
{
    fr_put(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<meta name=\"color-scheme\" content=\"light dark\">\n<title>");
    fr_put_html(o, title);
    fr_put(o, " · nimbus weather</title>\n");
    fr_put(o, "<link rel=\"icon\" href=\"data:,\">\n");
    fr_putf(o, "<link rel=\"stylesheet\" href=\"/static/style.css?v=");
    fr_put_html(o, pg->asset_version);
    fr_put(o, "\">\n<script src=\"/static/app.js?v=");
    fr_put_html(o, pg->asset_version);
    fr_put(o, "\" defer></script>\n</head>\n<body>\n");
    fr_put(o, ICON_SPRITE);
}

static void top_bar(fr_out *o, const fr_page *pg)
{
    fr_put(o, "<header class=\"top\">\n<a class=\"brand\" href=\"/\"><svg class=\"logo\" "
              "viewBox=\"0 0 24 24\" "
              "aria-hidden=\"true\"><use href=\"#i-partly\"></use></svg> nimbus</a>\n<form "
              "class=\"search\" action=\"/\" method=\"get\" role=\"search\">\n"
              "<input type=\"search\" name=\"city\" placeholder=\"City or lat,lon\" "
              "aria-label=\"City or coordinates\" autocomplete=\"off\" required value=\"");
    fr_put_html(o, pg->query);
    fr_put(o, "\">\n<button type=\"submit\">Search</button>\n"
              "<button type=\"button\" class=\"locate\" id=\"locate\" hidden>Use my "
              "location</button>\n</form>\n</header>\n"
              "<p class=\"locate-msg\" id=\"locate-msg\" role=\"status\" hidden></p>\n"
              "<nav class=\"recent\" id=\"recent\" aria-label=\"Recent places\" hidden></nav>\n");
}

static void foot(fr_out *o)
{
    fr_put(o, "<footer class=\"foot\"><a href=\"https://open-meteo.com/\" rel=\"noreferrer\">"
              "Weather data by Open-Meteo.com</a></footer>\n</body>\n</html>\n");
}

/* An icon: <svg class=cls ...><use href="#i-NAME"></use></svg>, labelled. */
static void icon(fr_out *o, const char *cls, const char *f, double code, double is_day,
                 const char *label)
{
    fr_putf(o, "<svg class=\"%s\"%s%s%s viewBox=\"0 0 24 24\" role=\"img\" aria-label=\"", cls,
            f ? " data-f=\"" : "", f ? f : "", f ? "\"" : "");
    fr_put_html(o, label);
    fr_putf(o, "\"><use href=\"#i-%s\"></use></svg>", nb_wmo_icon(code, is_day));
}

/* One <span data-f=name>value</span> with the value escaped. */
static void field(fr_out *o, const char *name, const char *value)
{
    fr_putf(o, "<span data-f=\"%s\">", name);
    fr_put_html(o, value);
    fr_put(o, "</span>");
}

/* The document's unit symbol for a quantity, or the metric one. */
static const char *unit_of(const json_t *doc, const char *quantity, const char *fallback)
{
    const char *u = fr_wx_str(json_object_get(doc, "units"), quantity);
    return *u ? u : fallback;
}

static bool imperial(const json_t *doc)
{
    return strcmp(fr_wx_str(json_object_get(doc, "units"), "system"), "imperial") == 0;
}

/* °C / °F: links to the page in the other units (the server remembers the
 * choice in a cookie), so the toggle works without a script. */
static void units_toggle(fr_out *o, const json_t *doc, const fr_page *pg)
{
    static const char *const sys[2][2] = {{"metric", "°C"}, {"imperial", "°F"}};
    bool imp = imperial(doc);
    fr_put(o, "<p class=\"units\" role=\"group\" aria-label=\"Units\">");
    for (int i = 0; i < 2; i++) {
        fr_put(o, "<a href=\"");
        fr_put_html(o, pg->data_path);
        fr_putf(o, "?units=%s\" data-units=\"%s\"%s>%s</a>", sys[i][0], sys[i][0],
                (i == 1) == imp ? " aria-current=\"true\"" : "", sys[i][1]);
    }
    fr_put(o, "</p>\n");
}

static void current_block(fr_out *o, const json_t *doc, const fr_page *pg)
{
    const json_t *loc = json_object_get(doc, "location");
    const json_t *cur = json_object_get(doc, "current");
    char region[320], num[32];
    double code = nb_json_get_num(cur, "weather_code");
    const char *cond = fr_wx_str(cur, "condition");

    fr_wx_region(loc, region, sizeof(region));

    fr_put(o, "<section class=\"now\" aria-labelledby=\"place\">\n<h1 id=\"place\">");
    field(o, "name", fr_wx_place_name(loc));
    fr_put(o, " ");
    fr_put(o, "<small>");
    field(o, "region", region);
    fr_put(o, "</small></h1>\n");
    units_toggle(o, doc, pg);
    fr_put(o, "<p class=\"meta\">Local time <span data-f=\"localtime\">");
    fr_out_slot(o, FR_SLOT_LOCAL_TIME);
    fr_put(o, "</span>");
    fr_put(o, " · ");
    field(o, "timezone", fr_wx_str(loc, "timezone"));
    fr_put(o, "</p>\n<div class=\"current\">\n");
    icon(o, "icon", "icon", code, fr_wx_bool(cur, "is_day"), cond);
    fr_put(o, "\n<div class=\"temp\">");
    field(o, "temperature", fr_wx_fmt(nb_json_get_num(cur, "temperature"), 1, num, sizeof(num)));
    fr_put(o, "<span class=\"unit\" data-f=\"u-temp\">");
    fr_put_html(o, unit_of(doc, "temperature", "°C"));
    fr_put(o, "</span></div>\n<div class=\"cond\"><strong>");
    field(o, "condition", cond);
    fr_put(o, "</strong><br>Feels like ");
    field(o, "apparent_temperature",
          fr_wx_fmt(nb_json_get_num(cur, "apparent_temperature"), 1, num, sizeof(num)));
    fr_put(o, " <span data-f=\"u-temp\">");
    fr_put_html(o, unit_of(doc, "temperature", "°C"));
    fr_put(o, "</span></div>\n</div>\n<dl class=\"facts\">\n<div><dt>Humidity</dt><dd>");
    field(o, "relative_humidity",
          fr_wx_fmt(nb_json_get_num(cur, "relative_humidity"), 0, num, sizeof(num)));
    fr_put(o, " %</dd></div>\n<div><dt>Wind</dt><dd>");
    field(o, "wind_speed", fr_wx_fmt(nb_json_get_num(cur, "wind_speed"), 0, num, sizeof(num)));
    fr_put(o, " <span data-f=\"u-wind\">");
    fr_put_html(o, unit_of(doc, "wind_speed", "km/h"));
    fr_put(o, "</span> ");
    field(o, "wind_dir", fr_wx_compass(nb_json_get_num(cur, "wind_direction")));
    fr_put(o, "</dd></div>\n<div><dt>Precipitation</dt><dd>");
    field(
        o, "precipitation",
        fr_wx_fmt(nb_json_get_num(cur, "precipitation"), imperial(doc) ? 2 : 1, num, sizeof(num)));
    fr_put(o, " <span data-f=\"u-precip\">");
    fr_put_html(o, unit_of(doc, "precipitation", "mm"));
    fr_put(o, "</span></dd></div>\n");

    char today_date[16];
    const json_t *daily = json_object_get(doc, "daily");
    fr_wx_local_date(pg->now_ms, fr_wx_utc_offset(loc), today_date, sizeof(today_date));
    const json_t *today = json_array_get(daily, fr_wx_first_day(daily, today_date));
    const char *rise = fr_wx_str(today, "sunrise"), *set = fr_wx_str(today, "sunset");
    fr_put(o, "<div><dt>Sun</dt><dd>");
    field(o, "sunrise", strlen(rise) >= 16 ? rise + 11 : FR_MISSING);
    fr_put(o, " – ");
    field(o, "sunset", strlen(set) >= 16 ? set + 11 : FR_MISSING);
    fr_put(o, "</dd></div>\n<div><dt>UV index</dt><dd>");
    field(o, "uv", fr_wx_fmt(nb_json_get_num(today, "uv_index_max"), 0, num, sizeof(num)));
    fr_put(o, "</dd></div>\n</dl>\n");

    fr_put(o, "<p class=\"status\" role=\"status\" aria-live=\"polite\">Updated <span "
              "data-f=\"ago\">");
    fr_out_slot(o, FR_SLOT_AGO);
    fr_put(o, "</span> <span class=\"pill\" data-f=\"state\"");
    fr_out_slot(o, FR_SLOT_PILL);
    fr_put(o, "</span></p>\n");
    fr_out_slot(o, FR_SLOT_STALE_HINT);
    fr_put(o, "</section>\n");
}

static void hourly_block(fr_out *o, const json_t *doc)
{
    size_t n = json_array_size(json_object_get(doc, "hourly"));
    fr_putf(o,
            "<section class=\"hours-sec\" aria-labelledby=\"hours-h\"%s>\n<h2 "
            "id=\"hours-h\">Next <span data-f=\"nhours\">%zu</span> hours</h2>\n",
            n ? "" : " hidden", n < FR_CHART_HOURS ? n : FR_CHART_HOURS);
    fr_chart_html(o, doc);
    fr_put(o, "</section>\n");
}

static void daily_block(fr_out *o, const json_t *doc, const fr_page *pg)
{
    const json_t *loc = json_object_get(doc, "location");
    const json_t *daily = json_object_get(doc, "daily");
    char today[16], label[32], num[32];
    size_t i;
    const json_t *d;

    fr_wx_local_date(pg->now_ms, fr_wx_utc_offset(loc), today, sizeof(today));
    fr_put(o,
           "<section class=\"days\" aria-labelledby=\"days-h\">\n<h2 id=\"days-h\">Forecast</h2>\n"
           "<ol class=\"daily\" data-f=\"daily\">\n");
    size_t first = fr_wx_first_day(daily, today);
    json_array_foreach(daily, i, d)
    {
        if (i < first) continue;
        if (i >= first + DAYS_SHOWN) break;
        const char *cond = fr_wx_str(d, "condition");
        fr_wx_day_label(fr_wx_str(d, "date"), today, label, sizeof(label));
        fr_put(o, "<li><span class=\"d\">");
        fr_put_html(o, label);
        fr_put(o, "</span>");
        icon(o, "i", NULL, nb_json_get_num(d, "weather_code"), 1, cond);
        fr_put(o, "<span class=\"c\">");
        fr_put_html(o, cond);
        fr_put(o, "</span><span class=\"t\"><b>");
        fr_put(o, fr_wx_fmt(nb_json_get_num(d, "temperature_max"), 0, num, sizeof(num)));
        fr_put(o, "°</b> / ");
        fr_put(o, fr_wx_fmt(nb_json_get_num(d, "temperature_min"), 0, num, sizeof(num)));
        fr_put(o, "°</span><span class=\"p\">");
        fr_put(o,
               fr_wx_fmt(nb_json_get_num(d, "precipitation_probability_max"), 0, num, sizeof(num)));
        fr_put(o, " % · ");
        fr_put(o, fr_wx_fmt(nb_json_get_num(d, "precipitation_sum"), imperial(doc) ? 2 : 1, num,
                            sizeof(num)));
        fr_put(o, " ");
        fr_put_html(o, unit_of(doc, "precipitation", "mm"));
        fr_put(o, "</span></li>\n");
    }
    fr_put(o, "</ol>\n</section>\n");
}

/* "Get alerts by email": a plain form (no script needed) posted to
 * /subscribe with the place as asked, or the page's coordinates. */
static void alerts_form(fr_out *o, const json_t *doc, const fr_page *pg)
{
    const json_t *loc = json_object_get(doc, "location");
    char place[256];
    if (pg->query && *pg->query)
        snprintf(place, sizeof(place), "%s", pg->query);
    else
        snprintf(place, sizeof(place), "%.2f,%.2f", nb_json_get_num(loc, "latitude"),
                 nb_json_get_num(loc, "longitude"));
    fr_put(o, "<section class=\"alerts\" aria-labelledby=\"alerts-h\">\n<h2 id=\"alerts-h\">Get "
              "alerts by email</h2>\n<form method=\"post\" action=\"/subscribe\">\n<input "
              "type=\"hidden\" name=\"place\" value=\"");
    fr_put_html(o, place);
    fr_put(o, "\">\n<p><label>Email address <input type=\"email\" name=\"email\" required "
              "autocomplete=\"email\" maxlength=\"254\" placeholder=\"you@example.org\">"
              "</label></p>\n<fieldset>\n<legend>Send me a mail</legend>\n"
              "<label><input type=\"checkbox\" name=\"digest\" value=\"1\" checked> every "
              "day: a summary at <select name=\"digest_hour\" aria-label=\"Hour of the "
              "summary\">");
    static const int hours[] = {7, 8, 9, 10, 12, 18}; /* outside the default quiet hours */
    for (size_t i = 0; i < sizeof(hours) / sizeof(hours[0]); i++)
        fr_putf(o, "<option value=\"%d\"%s>%02d:00</option>", hours[i],
                hours[i] == 7 ? " selected" : "", hours[i]);
    fr_put(o, "</select></label>\n"
              "<label><input type=\"checkbox\" name=\"above\" value=\"1\"> when it is warmer "
              "than <input type=\"number\" name=\"above_c\" value=\"30\" min=\"-80\" "
              "max=\"60\" step=\"0.5\" aria-label=\"Upper limit in °C\"> °C</label>\n"
              "<label><input type=\"checkbox\" name=\"below\" value=\"1\"> when it is colder "
              "than <input type=\"number\" name=\"below_c\" value=\"0\" min=\"-80\" "
              "max=\"60\" step=\"0.5\" aria-label=\"Lower limit in °C\"> °C</label>\n"
              "<label><input type=\"checkbox\" name=\"rain\" value=\"1\"> when rain is "
              "likely: over <input type=\"number\" name=\"rain_pct\" value=\"70\" "
              "min=\"0\" max=\"99\" aria-label=\"Chance of precipitation in percent\"> % "
              "in the next 24 hours</label>\n"
              "<label><input type=\"checkbox\" name=\"sky\" value=\"1\"> when the sky "
              "changes (clear, cloudy, rain, snow…)</label>\n</fieldset>\n"
              "<p><label><input type=\"checkbox\" name=\"quiet\" value=\"1\" checked> "
              "nothing between 22:00 and 07:00 (local time)</label></p>\n"
              "<p><button type=\"submit\">Get alerts</button></p>\n<p class=\"hint\">We "
              "first send a link to confirm the address. Each alert waits a few hours before "
              "the same rule mails again, and every mail has a one-click unsubscribe link."
              "</p>\n</form>\n</section>\n");
}

fr_tpl *fr_html_weather_tpl(const json_t *doc, const fr_page *pg)
{
    fr_out o;
    const json_t *loc = json_object_get(doc, "location");

    fr_out_init(&o, PAGE_CAP);
    head(&o, pg, fr_wx_place_name(loc));
    top_bar(&o, pg);
    fr_put(&o, "<main id=\"wx\" class=\"wx\" data-state=\"");
    fr_out_slot(&o, FR_SLOT_STATE);
    fr_put(&o, "\" data-max-age=\"");
    fr_out_slot(&o, FR_SLOT_MAX_AGE);
    fr_put(&o, "\" data-swr=\"");
    fr_out_slot(&o, FR_SLOT_SWR);
    fr_putf(&o, "\" data-utc-offset=\"%ld\" data-units=\"%s\" data-fetched-at=\"",
            fr_wx_utc_offset(loc), imperial(doc) ? "imperial" : "metric");
    fr_put_html(&o, fr_wx_str(doc, "fetched_at"));
    fr_put(&o, "\" data-etag=\"");
    fr_put_html(&o, pg->etag);
    fr_put(&o, "\" data-src=\"");
    fr_put_html(&o, pg->data_path);
    fr_put(&o, "\">\n");
    current_block(&o, doc, pg);
    hourly_block(&o, doc);
    daily_block(&o, doc, pg);
    alerts_form(&o, doc, pg);
    fr_put(&o, "</main>\n");
    foot(&o);
    return fr_out_finish_tpl(&o, fr_wx_utc_offset(loc), fr_wx_fetched_at_ms(doc), pg->now_ms);
}

char *fr_html_weather(const json_t *doc, const fr_page *pg, size_t *len)
{
    fr_tpl *t = fr_html_weather_tpl(doc, pg);
    if (!t) return NULL;
    fr_fill f = {.now_ms = pg->now_ms,
                 .stale = fr_wx_doc_stale(doc),
                 .max_age_s = pg->max_age_s,
                 .swr_s = pg->swr_s};
    char *html = fr_tpl_fill(t, &f, len);
    fr_tpl_unref(t);
    return html;
}

char *fr_html_search(const fr_page *pg, size_t *len)
{
    static const char *const examples[][2] = {
        {"Berlin", "/Berlin"},   {"São Paulo", "/S%C3%A3o%20Paulo"}, {"Tokyo", "/Tokyo"},
        {"Nairobi", "/Nairobi"}, {"Reykjavík", "/Reykjav%C3%ADk"},
    };
    fr_out o;

    fr_out_init(&o, PAGE_CAP);
    head(&o, pg, "Search");
    top_bar(&o, pg);
    fr_put(&o, "<main class=\"hero\">\n<h1>Weather, right now</h1>\n<p>Type a city above, or a "
               "position as <code>lat,lon</code>. Also works from a terminal: "
               "<code>curl host/Berlin</code>.</p>\n<ul class=\"examples\">\n");
    for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
        fr_putf(&o, "<li><a href=\"%s\">%s</a></li>\n", examples[i][1], examples[i][0]);
    fr_put(&o, "</ul>\n</main>\n");
    foot(&o);
    return fr_out_finish(&o, len);
}

char *fr_html_error(const fr_page *pg, int status, const char *title, const char *detail,
                    size_t *len)
{
    fr_out o;

    fr_out_init(&o, PAGE_CAP);
    head(&o, pg, title);
    top_bar(&o, pg);
    fr_putf(&o, "<main class=\"error\" data-status=\"%d\">\n<h1>", status);
    fr_put_html(&o, title);
    fr_put(&o, "</h1>\n<p>");
    fr_put_html(&o, detail);
    fr_put(&o, "</p>\n");
    if (pg->query && *pg->query) {
        fr_put(&o, "<p class=\"asked\">You asked for <q>");
        fr_put_html(&o, pg->query);
        fr_put(&o, "</q>.</p>\n");
    }
    fr_put(&o, "<p><a href=\"/\">Search for another place</a></p>\n</main>\n");
    foot(&o);
    return fr_out_finish(&o, len);
}

/* The rules of a subscription document, one list item each. */
static void rules_items(fr_out *o, const json_t *sub)
{
    nb_rules rules;
    char why[200], line[160];
    if (nb_rules_parse(json_object_get(sub, "rules"), json_object_get(sub, "quiet_hours"), &rules,
                       why, sizeof(why)) != NB_OK)
        return;
    fr_put(o, "<ul class=\"rules\">\n");
    for (int i = 0; i < rules.n; i++) {
        nb_rule_describe(&rules.rule[i], line, sizeof(line));
        fr_put(o, "<li>");
        fr_put_html(o, line);
        fr_put(o, "</li>\n");
    }
    if (rules.quiet)
        fr_putf(o, "<li>nothing from %02d:00 to %02d:00 local time</li>\n", rules.quiet_start,
                rules.quiet_end);
    fr_put(o, "</ul>\n");
}

static void subscription_facts(fr_out *o, const json_t *sub)
{
    const json_t *place = json_object_get(sub, "place");
    const char *status = fr_wx_str(sub, "status");
    const char *shown = strcmp(status, "pending") == 0  ? "waiting for confirmation"
                        : strcmp(status, "active") == 0 ? "active"
                                                        : "unsubscribed";
    fr_put(o, "<dl class=\"sub\">\n<div><dt>Place</dt><dd data-f=\"place\">");
    fr_put_html(o, fr_wx_str(place, "name"));
    fr_put(o, "</dd></div>\n<div><dt>Address</dt><dd data-f=\"email\">");
    fr_put_html(o, fr_wx_str(sub, "email"));
    fr_putf(o, "</dd></div>\n<div><dt>Status</dt><dd data-f=\"status\" data-status=\"%s\">",
            strcmp(status, "pending") == 0 || strcmp(status, "active") == 0 ? status
                                                                            : "unsubscribed");
    fr_put_html(o, shown);
    fr_put(o, "</dd></div>\n</dl>\n<h2>Mails you get</h2>\n");
    rules_items(o, sub);
}

char *fr_html_notice(const fr_page *pg, int status, const fr_notice *n, size_t *len)
{
    fr_out o;

    fr_out_init(&o, PAGE_CAP);
    head(&o, pg, n->title);
    top_bar(&o, pg);
    fr_putf(&o, "<main class=\"notice\" data-status=\"%d\">\n<h1>", status);
    fr_put_html(&o, n->title);
    fr_put(&o, "</h1>\n<p class=\"lead\">");
    fr_put_html(&o, n->lead);
    fr_put(&o, "</p>\n");
    if (n->subscription) subscription_facts(&o, n->subscription);
    if (n->action) {
        fr_put(&o, "<form method=\"post\" action=\"");
        fr_put_html(&o, n->action);
        fr_put(&o, "\">\n");
        if (n->token) {
            fr_put(&o, "<input type=\"hidden\" name=\"token\" value=\"");
            fr_put_html(&o, n->token);
            fr_put(&o, "\">\n");
        }
        fr_putf(&o, "<button type=\"submit\"%s>", n->danger ? " class=\"danger\"" : "");
        fr_put_html(&o, n->button);
        fr_put(&o, "</button>\n</form>\n");
    }
    if (n->link && n->link_text) {
        fr_put(&o, "<p><a href=\"");
        fr_put_html(&o, n->link);
        fr_put(&o, "\">");
        fr_put_html(&o, n->link_text);
        fr_put(&o, "</a></p>\n");
    }
    fr_put(&o, "<p><a href=\"/\">Weather for another place</a></p>\n</main>\n");
    foot(&o);
    return fr_out_finish(&o, len);
}
