/* test_line.c — wttr.in's one-line answers (render_line.c) and how a request
 * says what it wants (view.c): each preset and each %-code against one
 * document, units, missing values, hostile text; wttr.in's one-letter
 * options, units precedence and the units cookie. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "render_line.h"
#include "view.h"

/* 2026-11-24T00:05:00Z: 14 days after the new moon of 2026-11-09 (full). */
#define NOW_MS 1795478700000LL

static const char *const DOC =
    "{\"location\":{\"key\":\"52.52,13.41\",\"name\":\"Berlin\",\"timezone\":\"Europe/Berlin\","
    "\"utc_offset_seconds\":3600},"
    "\"units\":{\"system\":\"metric\",\"temperature\":\"°C\",\"wind_speed\":\"km/h\","
    "\"precipitation\":\"mm\"},"
    "\"current\":{\"time\":\"2026-11-24T01:00\",\"temperature\":4.4,\"apparent_temperature\":-1.6,"
    "\"relative_humidity\":81,\"weather_code\":3,\"condition\":\"Overcast\",\"wind_speed\":11.2,"
    "\"wind_direction\":45,\"precipitation\":0.3,\"pressure_msl\":1015.4,\"is_day\":false},"
    "\"hourly\":["
    "{\"time\":\"2026-11-24T01:00\",\"precipitation_probability\":10},"
    "{\"time\":\"2026-11-24T02:00\",\"precipitation_probability\":null},"
    "{\"time\":\"2026-11-24T03:00\",\"precipitation_probability\":40},"
    "{\"time\":\"2026-11-24T04:00\",\"precipitation_probability\":70},"
    "{\"time\":\"2026-11-24T05:00\",\"precipitation_probability\":70},"
    "{\"time\":\"2026-11-24T06:00\",\"precipitation_probability\":20},"
    "{\"time\":\"2026-11-24T07:00\",\"precipitation_probability\":90}],"
    "\"daily\":[{\"date\":\"2026-11-24\",\"uv_index_max\":1.6,\"sunrise\":\"2026-11-24T07:45\","
    "\"sunset\":\"2026-11-24T15:59\"}]}";

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (!doc) fail_msg("bad test document: %s", err.text);
    return doc;
}

static char *line(const json_t *doc, const char *format, int rain_hours)
{
    const char *f = fr_line_format(format);
    assert_non_null(f);
    char *out = fr_line_weather(doc, f, "Berlin", rain_hours, NOW_MS, NULL);
    assert_non_null(out);
    return out;
}

#define ASSERT_LINE(doc, format, expected)                                                         \
    do {                                                                                           \
        char *got_ = line(doc, format, 0);                                                         \
        assert_string_equal(got_, expected);                                                       \
        free(got_);                                                                                \
    } while (0)

static void presets_are_wttr_ins(void **state)
{
    json_t *doc = load(DOC);
    /* ☁️ is one column wide: padded with two spaces to three */
    ASSERT_LINE(doc, "1", "☁️   +4°C\n");
    ASSERT_LINE(doc, "2", "☁️   🌡️+4°C 🌬️↙11km/h\n");
    ASSERT_LINE(doc, "3", "Berlin: ☁️   +4°C\n");
    ASSERT_LINE(doc, "4", "Berlin: ☁️   🌡️+4°C 🌬️↙11km/h\n");
    assert_null(fr_line_format("5"));
    assert_null(fr_line_format("json"));
    assert_null(fr_line_format(""));
    assert_null(fr_line_format(NULL));
    assert_string_equal(fr_line_format("%t"), "%t");
    json_decref(doc);
}

static void every_code(void **state)
{
    json_t *doc = load(DOC);
    static const char *const cases[][2] = {
        {"%c", "☁️  "}, {"%C", "Overcast"}, {"%x", "mmm"},
        {"%t", "+4°C"},     {"%f", "-2°C"},     {"%h", "81%"},
        {"%w", "↙11km/h"},  {"%l", "Berlin"},   {"%p", "0.3mm"},
        {"%P", "1015hPa"},  {"%o", "10%"},      {"%u", "2"},
        {"%S", "07:45:00"}, {"%s", "15:59:00"}, {"%Z", "Europe/Berlin"},
        {"%m", "🌕"},        {"%M", "14"},       {"%R", "70%@04:00"},
        {"%q", ""},         {"%D", ""},         {"100%%", "100%%"},
        {"a%", "a%"},       {"%1", "%1"},       {"%t\\n%h", "+4°C\n81%"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = line(doc, cases[i][0], 0);
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("%s gave \"%s\", not \"%s\"", cases[i][0], got, cases[i][1]);
        free(got);
    }
    /* %R looks as far ahead as hours= says */
    char *got = line(doc, "%R", 3);
    assert_string_equal(got, "40%@03:00");
    free(got);
    got = line(doc, "%R", 48);
    assert_string_equal(got, "90%@07:00");
    free(got);
    json_decref(doc);
}

static void day_and_units(void **state)
{
    json_t *doc = load(DOC);
    json_t *cur = json_object_get(doc, "current");
    json_object_set_new(cur, "is_day", json_true());
    json_object_set_new(cur, "weather_code", json_integer(0));
    ASSERT_LINE(doc, "%c|%x", "☀️  |o");
    json_object_set_new(cur, "weather_code", json_integer(2)); /* ⛅ is two columns */
    ASSERT_LINE(doc, "%c|", "⛅ |");
    json_object_set_new(json_object_get(doc, "units"), "temperature", json_string("°F"));
    json_object_set_new(json_object_get(doc, "units"), "wind_speed", json_string("mph"));
    json_object_set_new(json_object_get(doc, "units"), "precipitation", json_string("in"));
    json_object_set_new(cur, "temperature", json_real(39.9));
    json_object_set_new(cur, "precipitation", json_real(0.012));
    ASSERT_LINE(doc, "%t %w %p", "+40°F ↙11mph 0.01in");
    json_object_set_new(cur, "temperature", json_real(-0.4)); /* rounds to 0: "+0" */
    ASSERT_LINE(doc, "%t", "+0°F");
    json_decref(doc);
}

static void missing_values_give_nothing(void **state)
{
    json_t *doc = load("{\"current\":{\"temperature\":null},\"hourly\":[],\"daily\":[]}");
    ASSERT_LINE(doc, "[%t|%f|%h|%w|%p|%P|%o|%u|%S|%s|%R|%C]", "[|||||||||||]");
    ASSERT_LINE(doc, "%c|%x", "🌡️  |?");
    json_decref(doc);
}

static void text_is_safe(void **state)
{
    json_t *doc = load(DOC);
    json_object_set_new(json_object_get(doc, "current"), "condition",
                        json_string("Over\x1b[31mcast\xe2\x80\xae"));
    char *got = fr_line_weather(doc, "\x1b[2J%C\r|%l|\xc2\x9b", "Ber\x07lin", 0, NOW_MS, NULL);
    assert_string_equal(got, "?[2JOver?[31mcast??|Ber?lin|?");
    free(got);
    json_decref(doc);
}

static void long_formats_and_texts_are_bounded(void **state)
{
    json_t *doc = load(DOC);
    char format[FR_LINE_FORMAT_MAX + 2], place[600];
    memset(format, 'x', sizeof(format) - 1);
    format[0] = '%';
    format[1] = 'l';
    format[FR_LINE_FORMAT_MAX] = '\0'; /* the longest accepted */
    assert_ptr_equal(fr_line_format(format), format);
    memset(place, 'a', sizeof(place) - 1);
    place[sizeof(place) - 1] = '\0';
    memcpy(place + FR_LINE_TEXT_MAX - 1, "é", 2); /* cut on a character boundary */
    char *got = fr_line_weather(doc, format, place, 0, NOW_MS, NULL);
    assert_non_null(got);
    assert_int_equal(strspn(got, "a"), FR_LINE_TEXT_MAX - 1);
    assert_int_equal(got[FR_LINE_TEXT_MAX - 1], 'x');
    free(got);
    format[FR_LINE_FORMAT_MAX] = 'x'; /* one byte more */
    format[FR_LINE_FORMAT_MAX + 1] = '\0';
    assert_null(fr_line_format(format));
    assert_null(fr_line_weather(doc, format, "Berlin", 0, NOW_MS, NULL));
    json_decref(doc);
}

static fr_view view_of(const char *const *args, const char *accept, const char *ua,
                       const char *cookie)
{
    fr_view v;
    fr_view_init(&v);
    for (size_t i = 0; args[i]; i += 2)
        fr_view_arg(&v, args[i], args[i + 1]);
    fr_view_finish(&v, accept, ua, cookie);
    return v;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL, NULL})

static void wttr_options_and_units(void **state)
{
    fr_view v = view_of(ARGS("u", NULL), NULL, "curl/8", NULL);
    assert_int_equal(v.fmt, FR_FMT_TEXT);
    assert_int_equal(v.units, NB_UNITS_IMPERIAL);
    assert_true(v.units_asked);
    v = view_of(ARGS("0nu", NULL), NULL, "curl/8", NULL);
    assert_int_equal(v.days, 0);
    assert_true(v.narrow);
    assert_int_equal(v.units, NB_UNITS_IMPERIAL);
    v = view_of(ARGS("m", NULL, "units", "imperial"), NULL, NULL, NULL); /* units= wins */
    assert_int_equal(v.units, NB_UNITS_IMPERIAL);
    v = view_of(ARGS("u", "", "narrow", NULL), NULL, NULL, NULL);
    assert_int_equal(v.units, NB_UNITS_IMPERIAL);
    assert_true(v.narrow);
    v = view_of(ARGS("Berlin", NULL, "city", "u"), NULL, NULL, NULL); /* not options */
    assert_int_equal(v.units, NB_UNITS_METRIC);
    assert_false(v.units_asked);
    assert_int_equal(v.days, FR_TEXT_DAYS);
    v = view_of(ARGS("units", "kelvin"), NULL, NULL, NULL);
    assert_int_equal(v.units, NB_UNITS_METRIC);
    v = view_of(ARGS("format", "3", "hours", "12"), NULL, "Mozilla/5.0", NULL);
    assert_int_equal(v.fmt, FR_FMT_LINE);
    assert_string_equal(v.line, "%l: %c %t\\n");
    assert_int_equal(v.rain_hours, 12);
    v = view_of(ARGS("format", "%l:+%t", "hours", "400"), NULL, NULL, NULL);
    assert_int_equal(v.fmt, FR_FMT_LINE);
    assert_int_equal(v.rain_hours, 0);
}

static void the_units_cookie_is_for_pages(void **state)
{
    const char *cookie = "theme=dark; units=imperial";
    fr_view v = view_of(ARGS("x", "y"), "text/html", NULL, cookie);
    assert_int_equal(v.fmt, FR_FMT_HTML);
    assert_int_equal(v.units, NB_UNITS_IMPERIAL);
    assert_false(v.units_asked);
    v = view_of(ARGS("units", "metric"), "text/html", NULL, cookie);
    assert_int_equal(v.units, NB_UNITS_METRIC);
    assert_true(v.units_asked);
    v = view_of(ARGS("x", "y"), NULL, "curl/8", cookie); /* scripts get what they ask */
    assert_int_equal(v.units, NB_UNITS_METRIC);
    char out[16];
    assert_true(fr_cookie("a=1; units=metric ;b=2", "units", out, sizeof(out)));
    assert_string_equal(out, "metric");
    assert_false(fr_cookie("myunits=imperial", "units", out, sizeof(out)));
    assert_false(fr_cookie(NULL, "units", out, sizeof(out)));
    assert_false(fr_cookie("units=aaaaaaaaaaaaaaaaaaaaaaaa", "units", out, sizeof(out)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(presets_are_wttr_ins),
        cmocka_unit_test(every_code),
        cmocka_unit_test(day_and_units),
        cmocka_unit_test(missing_values_give_nothing),
        cmocka_unit_test(text_is_safe),
        cmocka_unit_test(long_formats_and_texts_are_bounded),
        cmocka_unit_test(wttr_options_and_units),
        cmocka_unit_test(the_units_cookie_is_for_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
