/* test_render.c — the HTML and text renderers on api weather documents. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nimbus/text.h"
#include "render_html.h"
#include "render_text.h"

/* 2026-11-24T00:05:00Z (Tuesday); the document was fetched 12 minutes before. */
#define NOW_MS 1795478700000LL

static const char *const BERLIN =
    "{\"location\":{\"key\":\"52.52,13.41\",\"name\":\"Berlin\",\"country\":\"Germany\","
    "\"admin1\":\"Land Berlin\",\"latitude\":52.52,\"longitude\":13.41,"
    "\"timezone\":\"Europe/Berlin\",\"utc_offset_seconds\":3600},"
    "\"current\":{\"time\":\"2026-11-24T00:45\",\"temperature\":4.4,"
    "\"apparent_temperature\":1.2,\"relative_humidity\":81,\"weather_code\":3,"
    "\"condition\":\"Overcast\",\"wind_speed\":11.2,\"wind_direction\":45,\"is_day\":false},"
    "\"units\":{\"temperature\":\"°C\",\"wind_speed\":\"km/h\",\"precipitation\":\"mm\","
    "\"relative_humidity\":\"%\",\"wind_direction\":\"°\"},"
    "\"daily\":["
    "{\"date\":\"2026-11-24\",\"weather_code\":3,\"condition\":\"Overcast\","
    "\"temperature_max\":6.1,\"temperature_min\":1.2,\"precipitation_sum\":0.2,"
    "\"precipitation_probability_max\":10,\"sunrise\":\"2026-11-24T07:45\","
    "\"sunset\":\"2026-11-24T15:59\"},"
    "{\"date\":\"2026-11-25\",\"weather_code\":61,\"condition\":\"Slight rain\","
    "\"temperature_max\":5.8,\"temperature_min\":0.7,\"precipitation_sum\":3.4,"
    "\"precipitation_probability_max\":80},"
    "{\"date\":\"2026-11-26\",\"weather_code\":95,\"condition\":\"Thunderstorm\","
    "\"temperature_max\":7.0,\"temperature_min\":2.0},"
    "{\"date\":\"2026-11-27\",\"weather_code\":0,\"condition\":\"Clear sky\","
    "\"temperature_max\":8.0,\"temperature_min\":-2.0}],"
    "\"fetched_at\":\"2026-11-23T23:53:00Z\","
    "\"freshness\":{\"state\":\"stale\",\"age_s\":720,\"fresh_ttl_s\":600,\"source\":\"cache\"},"
    "\"attribution\":\"Weather data by Open-Meteo.com\"}";

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (!doc) fail_msg("bad test document: %s at %d", err.text, err.position);
    return doc;
}

static fr_page page(void)
{
    return (fr_page){.asset_version = "abc123def456",
                     .query = "Berlin",
                     .data_path = "/Berlin",
                     .etag = "\"52.52,13.41-1795477980\"",
                     .max_age_s = 0,
                     .swr_s = 60,
                     .now_ms = NOW_MS};
}

static void test_html_weather_shows_the_data(void **state)
{
    json_t *doc = load(BERLIN);
    fr_page pg = page();
    size_t len = 0;
    char *html = fr_html_weather(doc, &pg, &len);
    assert_non_null(html);
    assert_int_equal(strlen(html), len);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(html, "<meta charset=\"utf-8\">"));
    assert_non_null(strstr(html, "name=\"viewport\""));
    assert_non_null(strstr(html, "<span data-f=\"name\">Berlin</span>"));
    assert_non_null(strstr(html, "<span data-f=\"region\">Land Berlin, Germany</span>"));
    assert_non_null(strstr(html, "<span data-f=\"temperature\">4.4</span>"));
    assert_non_null(strstr(html, "<span data-f=\"apparent_temperature\">1.2</span>"));
    assert_non_null(strstr(html, "<span data-f=\"condition\">Overcast</span>"));
    assert_non_null(strstr(html, "<span data-f=\"relative_humidity\">81</span>"));
    assert_non_null(strstr(html, "<span data-f=\"wind_speed\">11</span>"));
    assert_non_null(strstr(html, "<span data-f=\"wind_dir\">NE</span>"));
    assert_non_null(strstr(html, "<span data-f=\"localtime\">Tue 01:05</span>")); /* UTC+1 */
    assert_non_null(strstr(html, "<span data-f=\"ago\">12 minutes ago</span>"));
    assert_non_null(strstr(html, "<span data-f=\"sunrise\">07:45</span>"));
    /* Icons: inline SVG symbols, the current one addressable by the script. */
    assert_non_null(strstr(html, "<symbol id=\"i-thunder\""));
    assert_non_null(strstr(html, "<svg class=\"icon\" data-f=\"icon\" viewBox=\"0 0 24 24\" "
                                 "role=\"img\" aria-label=\"Overcast\"><use href=\"#i-cloud\">"));
    assert_non_null(strstr(html, "aria-label=\"Thunderstorm\"><use href=\"#i-thunder\">"));
    assert_non_null(strstr(html, "aria-label=\"Slight rain\"><use href=\"#i-rain\">"));
    assert_non_null(strstr(html, ">Today<"));
    assert_non_null(strstr(html, ">Tomorrow<"));
    assert_non_null(strstr(html, ">Thu 26<"));
    assert_non_null(strstr(html, "href=\"https://open-meteo.com/\""));
    assert_non_null(strstr(html, "Weather data by Open-Meteo.com"));
    assert_non_null(strstr(html, "/static/app.js?v=abc123def456"));
    assert_non_null(strstr(html, "/static/style.css?v=abc123def456"));
    free(html);
    json_decref(doc);
}

static void test_html_carries_the_revalidation_state(void **state)
{
    json_t *doc = load(BERLIN);
    fr_page pg = page();
    char *html = fr_html_weather(doc, &pg, NULL);
    assert_non_null(strstr(html, "data-state=\"stale\""));
    assert_non_null(strstr(html, "data-max-age=\"0\""));
    assert_non_null(strstr(html, "data-swr=\"60\""));
    assert_non_null(strstr(html, "data-utc-offset=\"3600\""));
    assert_non_null(strstr(html, "data-src=\"/Berlin\""));
    /* The ETag's quotes are escaped inside the attribute. */
    assert_non_null(strstr(html, "data-etag=\"&quot;52.52,13.41-1795477980&quot;\""));
    assert_non_null(strstr(html, ">updating…</span>"));
    /* No inline script: the CSP forbids it. */
    assert_null(strstr(html, "<script>"));
    free(html);

    json_object_set_new(json_object_get(doc, "freshness"), "state", json_string("fresh"));
    pg.max_age_s = 376;
    html = fr_html_weather(doc, &pg, NULL);
    assert_non_null(strstr(html, "data-state=\"fresh\""));
    assert_non_null(strstr(html, "data-max-age=\"376\""));
    assert_null(strstr(html, "updating…"));
    free(html);
    json_decref(doc);
}

static void test_html_escapes_everything_from_outside(void **state)
{
    json_t *doc = load(BERLIN);
    json_t *loc = json_object_get(doc, "location");
    json_object_set_new(loc, "name", json_string("<script>alert(1)</script>"));
    json_object_set_new(loc, "country", json_string("\"><img src=x onerror=alert(2)>"));
    json_object_set_new(json_object_get(doc, "current"), "condition",
                        json_string("<b onmouseover='x'>"));
    fr_page pg = page();
    pg.query = "<script>alert(1)</script>";
    pg.data_path = "/\"><script>";
    char *html = fr_html_weather(doc, &pg, NULL);
    assert_null(strstr(html, "<script>alert"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "<b onmouseover"));
    assert_null(strstr(html, "\"><script>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    free(html);

    html = fr_html_error(&pg, 404, "Place not found", "No <such> place.", NULL);
    assert_null(strstr(html, "<script>alert"));
    assert_non_null(strstr(html, "No &lt;such&gt; place."));
    assert_non_null(strstr(html, "<q>&lt;script&gt;alert(1)&lt;/script&gt;</q>"));
    assert_non_null(strstr(html, "data-status=\"404\""));
    free(html);
    json_decref(doc);
}

static void test_html_missing_values_show_a_dash(void **state)
{
    json_t *doc = load(BERLIN);
    json_t *cur = json_object_get(doc, "current");
    json_object_set_new(cur, "temperature", json_null());
    json_object_set_new(cur, "weather_code", json_null());
    json_object_del(cur, "apparent_temperature");
    json_object_del(cur, "wind_direction");
    json_object_del(json_object_get(doc, "location"), "name");
    json_object_del(json_object_get(doc, "location"), "admin1");
    json_array_clear(json_object_get(doc, "daily"));
    fr_page pg = page();
    pg.etag = NULL;
    pg.query = NULL;
    char *html = fr_html_weather(doc, &pg, NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "<span data-f=\"temperature\">–</span>"));
    assert_non_null(strstr(html, "<span data-f=\"apparent_temperature\">–</span>"));
    assert_non_null(strstr(html, "<span data-f=\"wind_dir\"></span>"));
    assert_non_null(strstr(html, "<span data-f=\"name\">52.52,13.41</span>")); /* the key */
    assert_non_null(strstr(html, "<span data-f=\"region\">Germany</span>"));
    assert_non_null(strstr(html, "<span data-f=\"sunrise\">–</span>"));
    assert_non_null(strstr(html, "<use href=\"#i-unknown\">"));
    assert_non_null(strstr(html, "data-etag=\"\""));
    free(html);
    json_decref(doc);
}

static void test_html_search_page(void **state)
{
    fr_page pg = page();
    pg.query = NULL;
    char *html = fr_html_search(&pg, NULL);
    assert_non_null(strstr(html, "<form class=\"search\" action=\"/\" method=\"get\""));
    assert_non_null(strstr(html, "name=\"city\""));
    assert_non_null(strstr(html, "href=\"/S%C3%A3o%20Paulo\""));
    assert_null(strstr(html, "id=\"wx\""));
    free(html);
}

/* Line n (0-based) of text, copied into out. */
static const char *line(const char *text, int n, char *out, size_t outlen)
{
    const char *p = text;
    for (int i = 0; i < n && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p) return "";
    size_t l = strcspn(p, "\n");
    if (l >= outlen) l = outlen - 1;
    memcpy(out, p, l);
    out[l] = '\0';
    return out;
}

static void test_text_report_layout(void **state)
{
    json_t *doc = load(BERLIN);
    size_t len = 0;
    char l[256];
    char *text = fr_text_weather(doc, NOW_MS, NULL, &len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_string_equal(line(text, 0, l, sizeof(l)),
                        "Weather for Berlin, Land Berlin, Germany (52.52,13.41)");
    assert_string_equal(line(text, 1, l, sizeof(l)), "Local time Tue 01:05 (Europe/Berlin)");
    assert_string_equal(line(text, 2, l, sizeof(l)), "");
    assert_string_equal(line(text, 3, l, sizeof(l)), "  ☁️  Overcast");
    assert_string_equal(line(text, 4, l, sizeof(l)), "      4.4 °C (feels like 1.2 °C)");
    assert_string_equal(line(text, 5, l, sizeof(l)), "      Wind 11 km/h NE · Humidity 81 %");
    assert_string_equal(
        line(text, 7, l, sizeof(l)),
        "  Today     ☁️  Overcast                  6 / 1     °C  rain 10 % 0.2 mm");
    assert_string_equal(
        line(text, 8, l, sizeof(l)),
        "  Tomorrow  🌧️  Slight rain               6 / 1     °C  rain 80 % 3.4 mm");
    assert_string_equal(
        line(text, 9, l, sizeof(l)),
        "  Thu 26    ⛈️  Thunderstorm              7 / 2     °C  rain – % – mm");
    /* Only FR_TEXT_DAYS days. */
    assert_null(strstr(text, "Clear sky"));
    assert_string_equal(line(text, 11, l, sizeof(l)),
                        "Updated 12 minutes ago (newer data is on its way — ask again shortly)");
    assert_string_equal(line(text, 12, l, sizeof(l)),
                        "Weather data by Open-Meteo.com (https://open-meteo.com/)");
    free(text);
    json_decref(doc);
}

/* BERLIN with three hours of hourly data (the second without a temperature)
 * and, when imperial, the imperial unit symbols. */
static json_t *with_hours(bool imperial)
{
    json_t *doc = load(BERLIN);
    json_object_set_new(
        doc, "hourly",
        load("[{\"time\":\"2026-11-24T01:00\",\"temperature\":4.4,"
             "\"precipitation_probability\":10,\"precipitation\":0,\"is_day\":false},"
             "{\"time\":\"2026-11-24T02:00\",\"temperature\":null,"
             "\"precipitation_probability\":45,\"precipitation\":0.4,\"is_day\":false},"
             "{\"time\":\"2026-11-24T03:00\",\"temperature\":-2.6,"
             "\"precipitation_probability\":null,\"precipitation\":1.25,\"is_day\":false}]"));
    if (imperial)
        json_object_set_new(doc, "units",
                            load("{\"system\":\"imperial\",\"temperature\":\"°F\","
                                 "\"wind_speed\":\"mph\",\"precipitation\":\"in\"}"));
    return doc;
}

static void test_text_next_hours_at_a_glance(void **state)
{
    json_t *doc = with_hours(false);
    char l[256];
    char *text = fr_text_weather(doc, NOW_MS, NULL, NULL);
    assert_string_equal(line(text, 7, l, sizeof(l)), "  Hour       01   02   03");
    assert_string_equal(line(text, 8, l, sizeof(l)), "  °C          4    –   -3");
    assert_string_equal(line(text, 9, l, sizeof(l)), "  Rain %     10   45    –");
    assert_string_equal(line(text, 10, l, sizeof(l)), "  mm        0.0  0.4  1.2");
    assert_string_equal(line(text, 11, l, sizeof(l)), "");
    assert_non_null(strstr(line(text, 12, l, sizeof(l)), "Today"));
    free(text);
    json_decref(doc);
}

static void test_text_narrow_imperial_and_days(void **state)
{
    json_t *doc = with_hours(true);
    fr_view v;
    fr_view_init(&v);
    v.narrow = true;
    v.days = 1;
    char l[256];
    char *text = fr_text_weather(doc, NOW_MS, &v, NULL);
    /* nothing wider than 40 columns (counted in characters) */
    for (const char *p = text; *p;) {
        size_t cols = 0, n = strcspn(p, "\n");
        for (size_t i = 0; i < n; i++)
            cols += ((unsigned char)p[i] & 0xc0) != 0x80;
        if (cols > 40) fail_msg("wider than 40 columns: %.*s", (int)n, p);
        p += n + (p[n] == '\n');
    }
    assert_string_equal(line(text, 0, l, sizeof(l)), "Berlin");
    assert_string_equal(line(text, 5, l, sizeof(l)), " 4.4 °F, feels 1.2 °F");
    assert_string_equal(line(text, 6, l, sizeof(l)), " Wind 11 mph NE");
    assert_string_equal(line(text, 10, l, sizeof(l)), "  °F          4    –   -3");
    assert_string_equal(line(text, 12, l, sizeof(l)), "  in       0.00 0.40 1.25");
    assert_non_null(strstr(text, " Today     ☁️  6/1 °F 10 %\n"));
    assert_null(strstr(text, "Tomorrow")); /* ?1: one day */
    free(text);
    v.days = 0; /* ?0: the current weather only */
    text = fr_text_weather(doc, NOW_MS, &v, NULL);
    assert_null(strstr(text, "Hour"));
    assert_null(strstr(text, "Today"));
    assert_non_null(strstr(text, "\n\nUpdated"));
    free(text);
    json_decref(doc);
}

static void test_html_chart_units_and_helpers(void **state)
{
    json_t *doc = with_hours(true);
    fr_page pg = page();
    char *html = fr_html_weather(doc, &pg, NULL);
    assert_non_null(strstr(html, "data-units=\"imperial\""));
    assert_non_null(strstr(html, "<span class=\"unit\" data-f=\"u-temp\">°F</span>"));
    assert_non_null(strstr(html, "<span data-f=\"u-wind\">mph</span>"));
    /* the toggle: links, the current one marked */
    assert_non_null(strstr(html, "<a href=\"/Berlin?units=metric\" data-units=\"metric\">°C</a>"));
    assert_non_null(strstr(html, "<a href=\"/Berlin?units=imperial\" data-units=\"imperial\" "
                                 "aria-current=\"true\">°F</a>"));
    /* the chart, drawn here, and its table */
    assert_non_null(strstr(html, "<h2 id=\"hours-h\">Next <span data-f=\"nhours\">3</span> hours"));
    assert_non_null(strstr(html, "<svg class=\"hourly\" data-f=\"chart\" viewBox=\"0 0 720 200\" "
                                 "role=\"img\" aria-label=\"Hourly forecast for the next 3 hours: "
                                 "temperature -3 to 4 °F, chance of precipitation up to 45 %\">"));
    assert_non_null(strstr(html, "<tbody data-f=\"hours\">"));
    assert_non_null(strstr(html, "<span data-f=\"uv\">–</span>"));
    /* geolocation and recent places: present, hidden until the script runs */
    assert_non_null(strstr(html, "id=\"locate\" hidden>Use my location</button>"));
    assert_non_null(strstr(html, "<nav class=\"recent\" id=\"recent\" aria-label=\"Recent places\" "
                                 "hidden></nav>"));
    assert_null(strstr(html, "style=")); /* the CSP allows no inline style */
    free(html);
    json_object_set_new(doc, "hourly", json_array()); /* no hours: hidden, nothing drawn */
    html = fr_html_weather(doc, &pg, NULL);
    assert_non_null(
        strstr(html, "<section class=\"hours-sec\" aria-labelledby=\"hours-h\" hidden>"));
    assert_null(strstr(html, "<polyline"));
    free(html);
    json_decref(doc);
}

static void test_past_days_are_not_forecast(void **state)
{
    json_t *doc = load(BERLIN);
    char l[256];
    /* A day later the first daily entry (the 24th) is yesterday. */
    char *text = fr_text_weather(doc, NOW_MS + 86400000LL, NULL, NULL);
    assert_string_equal(
        line(text, 7, l, sizeof(l)),
        "  Today     🌧️  Slight rain               6 / 1     °C  rain 80 % 3.4 mm");
    assert_null(strstr(text, "Overcast               "));
    free(text);

    fr_page pg = page();
    pg.now_ms = NOW_MS + 86400000LL;
    char *html = fr_html_weather(doc, &pg, NULL);
    const char *list = strstr(html, "data-f=\"daily\"");
    assert_non_null(list);
    assert_null(strstr(list, "<span class=\"c\">Overcast</span>"));
    assert_non_null(strstr(list, "<span class=\"d\">Today</span>"));
    assert_non_null(strstr(html, "<span data-f=\"sunrise\">–</span>")); /* the 25th has none */
    free(html);
    json_decref(doc);
}

static void test_text_strips_control_characters(void **state)
{
    json_t *doc = load(BERLIN);
    json_object_set_new(json_object_get(doc, "location"), "name",
                        json_string("Evil\x1b[31mTown\r\nX"));
    json_object_set_new(json_object_get(doc, "freshness"), "state", json_string("fresh"));
    json_object_set_new(json_object_get(doc, "current"), "temperature", json_null());
    char *text = fr_text_weather(doc, NOW_MS, NULL, NULL);
    assert_null(strchr(text, '\x1b'));
    assert_null(strchr(text, '\r'));
    assert_non_null(strstr(text, "Weather for Evil?[31mTown??X, "));
    assert_non_null(strstr(text, "      – °C (feels like 1.2 °C)"));
    assert_non_null(strstr(text, "Updated 12 minutes ago\n"));
    free(text);

    text = fr_text_error("Place not found", "Try another name.", "<\x07>", NULL);
    assert_string_equal(text, "Place not found: <?>\nTry another name.\n");
    free(text);
    json_decref(doc);
}

/* Hostile text: a C1 CSI, the bidi overrides, isolates and marks, a C0
 * escape, a stray 8-bit CSI byte and a cut UTF-8 sequence. */
static const char HOSTILE[] = "\302\23331mA\xe2\x80\256B\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9\xe2"
                              "\x80\x8f\xd8\x9c\x1b[0m\233C\xe2\x80";

/* Fails unless out is valid UTF-8 without a single unsafe character (the
 * renderers' own newlines aside). */
static void assert_reader_safe(const char *out, const char *what)
{
    size_t n = strlen(out);
    for (size_t i = 0, len; i < n; i += len) {
        uint32_t cp;
        len = nb_utf8_next(out + i, n - i, &cp);
        if (len == 0) fail_msg("%s: byte 0x%02x at %zu is not UTF-8", what, out[i] & 0xff, i);
        if (nb_text_unsafe(cp) && cp != '\n')
            fail_msg("%s: U+%04X at byte %zu: ...%.40s", what, (unsigned)cp, i,
                     out + (i > 20 ? i - 20 : 0));
    }
}

/* Sets every string of doc (recursively) to HOSTILE (not UTF-8 either), keeping key and
 * fetched_at (they select what is shown) unless all is true. */
static void poison(json_t *v, bool all)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if (json_is_string(x) && (all || (strcmp(k, "date") != 0 && strcmp(k, "key") != 0)))
                json_object_set_new(v, k, json_string_nocheck(HOSTILE));
            else
                poison(x, all);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) poison(x, all);
    }
}

static void test_no_control_or_bidi_character_reaches_a_reader(void **state)
{
    for (int all = 0; all <= 1; all++) {
        json_t *doc = load(BERLIN);
        poison(doc, all);
        fr_page pg = page();
        pg.query = HOSTILE;
        pg.etag = HOSTILE;
        pg.data_path = HOSTILE;
        char *text = fr_text_weather(doc, NOW_MS, NULL, NULL);
        assert_reader_safe(text, "text report");
        if (!all) assert_non_null(strstr(text, "Weather for ?31mA?B??????[0m?C??, "));
        free(text);
        char *html = fr_html_weather(doc, &pg, NULL);
        assert_reader_safe(html, "HTML page");
        if (!all)
            assert_non_null(strstr(html, "<span data-f=\"name\">?31mA?B??????[0m?C?"
                                         "?</span>"));
        free(html);
        json_decref(doc);
    }
    fr_page pg = page();
    pg.query = HOSTILE;
    char *text = fr_text_error(HOSTILE, HOSTILE, HOSTILE, NULL);
    assert_reader_safe(text, "text error");
    free(text);
    char *html = fr_html_error(&pg, 404, HOSTILE, HOSTILE, NULL);
    assert_reader_safe(html, "HTML error");
    assert_non_null(strstr(html, "You asked for <q>?31mA?B??????[0m?C?"
                                 "?</q>"));
    free(html);
    html = fr_html_search(&pg, NULL);
    assert_reader_safe(html, "search page");
    free(html);
}

/* Found by fuzz_front_render: a location without a usable UTC offset made
 * the renderers convert NaN (or a huge number) to long, which is undefined;
 * UBSan aborted. They now show the place's clock at UTC+0. */
static void test_missing_or_absurd_utc_offset_counts_as_utc(void **state)
{
    for (int i = 0; i < 6; i++) {
        json_t *doc = load(BERLIN), *loc = json_object_get(doc, "location");
        json_t *offsets[] = {NULL,
                             json_null(),
                             json_string("3600"),
                             json_real(1e300),
                             json_real(-1e300),
                             json_integer(64801)};
        if (offsets[i])
            json_object_set_new(loc, "utc_offset_seconds", offsets[i]);
        else
            json_object_del(loc, "utc_offset_seconds");
        for (int j = 0; j < 6; j++)
            if (j != i) json_decref(offsets[j]);
        fr_page pg = page();
        char *text = fr_text_weather(doc, NOW_MS, NULL, NULL);
        assert_non_null(strstr(text, "Local time Tue 00:05 (Europe/Berlin)"));
        free(text);
        char *html = fr_html_weather(doc, &pg, NULL);
        assert_non_null(strstr(html, "data-utc-offset=\"0\""));
        assert_non_null(strstr(html, "<span data-f=\"localtime\">Tue 00:05</span>"));
        free(html);
        json_decref(doc);
    }
}

static void test_text_without_daily_or_location(void **state)
{
    json_t *doc = load("{\"current\":{},\"daily\":[],\"fetched_at\":\"bogus\"}");
    char *text = fr_text_weather(doc, NOW_MS, NULL, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "Weather for  ()"));
    assert_non_null(strstr(text, "Updated just now"));
    assert_non_null(strstr(text, "Weather data by Open-Meteo.com"));
    free(text);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_weather_shows_the_data),
        cmocka_unit_test(test_html_carries_the_revalidation_state),
        cmocka_unit_test(test_html_escapes_everything_from_outside),
        cmocka_unit_test(test_html_missing_values_show_a_dash),
        cmocka_unit_test(test_html_search_page),
        cmocka_unit_test(test_text_report_layout),
        cmocka_unit_test(test_text_next_hours_at_a_glance),
        cmocka_unit_test(test_text_narrow_imperial_and_days),
        cmocka_unit_test(test_html_chart_units_and_helpers),
        cmocka_unit_test(test_past_days_are_not_forecast),
        cmocka_unit_test(test_text_strips_control_characters),
        cmocka_unit_test(test_text_without_daily_or_location),
        cmocka_unit_test(test_no_control_or_bidi_character_reaches_a_reader),
        cmocka_unit_test(test_missing_or_absurd_utc_offset_counts_as_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
