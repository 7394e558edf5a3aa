/* test_chart.c — the hourly chart's geometry: points land where the data
 * says, a missing hour breaks the line (a gap, never a zero), bars follow
 * the chance of precipitation, nights are shaded, midnights marked, and the
 * SVG says what it shows. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chart.h"

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (!doc) fail_msg("bad test document: %s", err.text);
    return doc;
}

/* Four hours: 10, 12, (missing), 14 °C; chances 0, 50, missing, 100 %. */
static const char *const FOUR =
    "{\"units\":{\"temperature\":\"°C\",\"precipitation\":\"mm\",\"wind_speed\":\"km/h\"},"
    "\"hourly\":["
    "{\"time\":\"2026-11-24T22:00\",\"temperature\":10,\"precipitation_probability\":0,"
    "\"precipitation\":0,\"is_day\":false},"
    "{\"time\":\"2026-11-24T23:00\",\"temperature\":12,\"precipitation_probability\":50,"
    "\"precipitation\":0.4,\"is_day\":false},"
    "{\"time\":\"2026-11-25T00:00\",\"temperature\":null,\"precipitation_probability\":null,"
    "\"precipitation\":null,\"is_day\":true},"
    "{\"time\":\"2026-11-25T01:00\",\"temperature\":14,\"precipitation_probability\":100,"
    "\"precipitation\":0,\"is_day\":null}]}";

static void points_map_to_the_data(void **state)
{
    json_t *doc = load(FOUR);
    fr_chart c;
    fr_chart_layout(json_object_get(doc, "hourly"), &c);
    assert_int_equal(c.n, 4);
    assert_true(c.col_w == 170.0); /* 680 / 4 */
    assert_true(c.lo == 10 && c.hi == 14);
    const double x[] = {119, 289, 459, 629};
    for (int i = 0; i < 4; i++)
        assert_true(c.x[i] == x[i]);
    assert_true(c.y[0] == 112.0); /* the lowest at the bottom of the band */
    assert_true(c.y[1] == 63.0);  /* halfway */
    assert_true(isnan(c.y[2]));   /* missing: no point */
    assert_true(c.y[3] == 14.0);  /* the highest at the top */
    assert_true(c.bar_h[0] == 0 && c.bar_h[1] == 24 && isnan(c.bar_h[2]) && c.bar_h[3] == 48);
    assert_true(!c.wet[0] && c.wet[1] && !c.wet[2] && !c.wet[3]);
    assert_true(c.day[0] == 0 && c.day[2] == 1 && c.day[3] == -1);
    json_decref(doc);
}

static char *svg_of(json_t *doc)
{
    fr_out o;
    fr_out_init(&o, 1 << 20);
    fr_chart_html(&o, doc);
    char *s = fr_out_finish(&o, NULL);
    assert_non_null(s);
    return s;
}

static void a_missing_hour_is_a_gap(void **state)
{
    json_t *doc = load(FOUR);
    char *s = svg_of(doc);
    /* the first two hours are one line, the last a dot on its own */
    assert_non_null(strstr(s, "<polyline class=\"temp\" points=\"119.0,112.0 289.0,63.0\"/>"));
    assert_non_null(strstr(s, "<circle class=\"temp-dot\" cx=\"629.0\" cy=\"14.0\" r=\"2.5\"/>"));
    assert_null(strstr(s, "459.0,"));     /* nothing drawn for the missing hour */
    assert_null(strstr(s, ",112.0 459")); /* and no zero */
    /* bars: 50 % (wet) and 100 %; none for 0 % or the missing hour */
    assert_non_null(strstr(s, "<rect class=\"pop wet\" x=\"229.5\" y=\"148.0\" width=\"119.0\" "
                              "height=\"24.0\"/>"));
    assert_non_null(strstr(s, "<rect class=\"pop\" x=\"569.5\" y=\"124.0\" width=\"119.0\" "
                              "height=\"48.0\"/>"));
    assert_null(strstr(s, "x=\"59.5\" y=\"172.0\""));
    /* the night of the first two hours, the midnight before the third */
    assert_non_null(strstr(s, "<rect class=\"night\" x=\"34.0\" y=\"8.0\" width=\"340.0\" "
                              "height=\"168.0\"/>"));
    assert_non_null(strstr(s, "<line class=\"midnight\" x1=\"374.0\" y1=\"8.0\" x2=\"374.0\" "
                              "y2=\"176.0\"/><text class=\"day\" x=\"377.0\" y=\"17.0\">Wed "
                              "25</text>"));
    /* labels every hour for 4 hours, temperatures above their points */
    assert_non_null(strstr(s, "<text class=\"hour\" x=\"119.0\" y=\"190.0\">22</text>"));
    assert_non_null(strstr(s, "<text class=\"tval\" x=\"289.0\" y=\"58.0\">12°</text>"));
    assert_non_null(strstr(s, "<text class=\"hour\" x=\"459.0\" y=\"190.0\">00</text>"));
    assert_non_null(strstr(s, "<text class=\"axis\" x=\"30.0\" y=\"18.0\">14°</text>"));
    /* what it shows, for everyone */
    assert_non_null(strstr(s, "role=\"img\" aria-label=\"Hourly forecast for the next 4 hours: "
                              "temperature 10 to 14 °C, chance of precipitation up to 100 %\""));
    assert_non_null(strstr(s, "<details class=\"hours\">"));
    assert_non_null(strstr(s, "<tr><th scope=\"row\">Wed 25 00:00</th><td></td><td>– °C</td>"));
    free(s);
    json_decref(doc);
}

static void narrow_spans_widen_and_long_series_thin_labels(void **state)
{
    json_t *h = json_array();
    for (int i = 0; i < 60; i++) {
        char t[17];
        snprintf(t, sizeof(t), "2026-11-%02dT%02d:00", 24 + (i + 10) / 24, (i + 10) % 24);
        json_array_append_new(h, json_pack("{s:s, s:f}", "time", t, "temperature", 5.0));
    }
    fr_chart c;
    fr_chart_layout(h, &c);
    assert_int_equal(c.n, FR_CHART_HOURS); /* 48 at most */
    assert_true(c.lo == 3 && c.hi == 7);   /* a flat day gets a 4-degree span */
    assert_true(c.y[0] == 63.0);
    json_t *doc = json_pack("{s:o}", "hourly", h);
    char *s = svg_of(doc);
    assert_null(strstr(s, ">10</text>")); /* every third hour only */
    assert_non_null(strstr(s, ">12</text>"));
    assert_null(strstr(s, "<circle"));
    assert_non_null(strstr(s, "next 48 hours: temperature 5 to 5 °C\""));
    free(s);
    json_decref(doc);
}

static void nothing_to_draw(void **state)
{
    json_t *doc = load("{\"hourly\":[]}");
    char *s = svg_of(doc); /* an empty chart and table, for the script to fill */
    assert_non_null(strstr(s, "<svg class=\"hourly\" data-f=\"chart\""));
    assert_null(strstr(s, "<polyline"));
    assert_non_null(strstr(s, "<tbody data-f=\"hours\">\n</tbody>"));
    free(s);
    json_decref(doc);
    doc = load("{\"hourly\":[{\"time\":\"2026-11-24T22:00\",\"temperature\":null}]}");
    s = svg_of(doc);
    assert_null(strstr(s, "<polyline"));
    assert_null(strstr(s, "class=\"axis\""));
    assert_non_null(strstr(s, "aria-label=\"Hourly forecast for the next 1 hours\""));
    free(s);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(points_map_to_the_data),
        cmocka_unit_test(a_missing_hour_is_a_gap),
        cmocka_unit_test(narrow_spans_widen_and_long_series_thin_labels),
        cmocka_unit_test(nothing_to_draw),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
