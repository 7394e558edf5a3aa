/* The weather document: units, conditions, days cut to what was asked, the
 * hourly list from the current hour (local wall clock, DST included),
 * imperial conversions, freshness, and the attribution. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "document.h"

static nb_record sample(int64_t fetched_ms)
{
    nb_record r;
    memset(&r, 0, sizeof(r));
    strcpy(r.key, "52.52,13.41");
    r.latitude = 52.52;
    r.longitude = 13.41;
    r.fetched_at_ms = fetched_ms;
    strcpy(r.timezone, "Europe/Berlin");
    r.utc_offset_seconds = 3600;
    r.elevation = NAN;
    strcpy(r.current.time, "2026-11-24T01:00");
    r.current = (nb_current){.temperature = 4.4,
                             .apparent_temperature = NAN,
                             .relative_humidity = 81,
                             .weather_code = 3,
                             .wind_speed = NAN,
                             .wind_direction = NAN,
                             .wind_gusts = NAN,
                             .precipitation = NAN,
                             .cloud_cover = NAN,
                             .pressure_msl = NAN,
                             .is_day = 0};
    strcpy(r.current.time, "2026-11-24T01:00");
    r.ndays = 3;
    for (int i = 0; i < 3; i++) {
        r.daily[i] = (nb_day){.weather_code = 61,
                              .temperature_max = 6,
                              .temperature_min = 1,
                              .precipitation_sum = NAN,
                              .precipitation_probability_max = NAN,
                              .wind_speed_max = NAN,
                              .uv_index_max = NAN};
        snprintf(r.daily[i].date, sizeof(r.daily[i].date), "2026-11-%02d", 24 + i);
    }
    return r;
}

static void renders_what_was_asked(void **state)
{
    api_config cfg = {.fresh_ttl_s = 600};
    nb_record r = sample(1000000);
    nb_place berlin = {.name = "Berlin", .country = "Germany"};
    answer a = {.rec = &r,
                .place = &berlin,
                .days = 2,
                .hours = 48,
                .now_ms = 1000000 + 30000,
                .source = "cache",
                .kind = ANS_HIT};
    size_t len;
    char *s = api_doc_render(&cfg, &a, &len);
    json_t *d = json_loads(s, 0, NULL);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "location"), "name")),
                        "Berlin");
    json_t *cur = json_object_get(d, "current");
    assert_string_equal(json_string_value(json_object_get(cur, "condition")), "Overcast");
    assert_true(json_is_null(json_object_get(cur, "wind_speed")));
    assert_true(json_is_false(json_object_get(cur, "is_day")));
    assert_int_equal(json_array_size(json_object_get(d, "daily")), 2);
    json_t *fr = json_object_get(d, "freshness");
    assert_string_equal(json_string_value(json_object_get(fr, "state")), "fresh");
    assert_int_equal(json_integer_value(json_object_get(fr, "age_s")), 30);
    assert_string_equal(json_string_value(json_object_get(d, "attribution")),
                        "Weather data by Open-Meteo.com");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(d, "units"), "temperature")), "°C");
    json_decref(d);
    free(s);
}

static void stale_after_the_ttl(void **state)
{
    api_config cfg = {.fresh_ttl_s = 600};
    nb_record r = sample(0);
    answer a = {.rec = &r,
                .place = NULL,
                .days = 16,
                .hours = 48,
                .now_ms = 601000,
                .source = "database",
                .kind = ANS_STALE};
    char *s = api_doc_render(&cfg, &a, NULL);
    json_t *d = json_loads(s, 0, NULL);
    json_t *fr = json_object_get(d, "freshness");
    assert_string_equal(json_string_value(json_object_get(fr, "state")), "stale");
    assert_int_equal(json_array_size(json_object_get(d, "daily")), 3); /* all there are */
    assert_null(json_object_get(json_object_get(d, "location"), "name"));
    json_decref(d);
    free(s);
}

#define HOUR_MS 3600000LL
#define T_2026_11_25 1795564800000LL /* 2026-11-25T00:00:00Z */

/* A record whose hourly series starts at start_ms, temperature = 10 + i/10. */
static nb_record with_hours(const char *tz, int utc_offset_s, int64_t start_ms, int n)
{
    nb_record r = sample(start_ms);
    snprintf(r.timezone, sizeof(r.timezone), "%s", tz);
    r.utc_offset_seconds = utc_offset_s;
    r.hourly.n = n;
    r.hourly.start_ms = start_ms;
    for (int i = 0; i < n; i++) {
        r.hourly.temperature[i] = (float)(10 + i / 10.0);
        r.hourly.apparent_temperature[i] = 8.5f;
        r.hourly.precipitation_probability[i] = (float)(i % 101);
        r.hourly.precipitation[i] = 0.25f;
        r.hourly.weather_code[i] = 61;
        r.hourly.wind_speed[i] = 100;
        r.hourly.wind_gusts[i] = NAN;
        r.hourly.is_day[i] = (float)(i % 2);
    }
    return r;
}

static json_t *render(const answer *a)
{
    api_config cfg = {.fresh_ttl_s = 600};
    char *s = api_doc_render(&cfg, a, NULL);
    assert_non_null(s);
    json_t *d = json_loads(s, 0, NULL);
    free(s);
    assert_non_null(d);
    return d;
}

static const char *time_of(json_t *hourly, size_t i)
{
    return json_string_value(json_object_get(json_array_get(hourly, i), "time"));
}

static void hourly_starts_at_the_current_local_hour(void **state)
{
    /* Tokyo (UTC+9, east) and Los Angeles (UTC-8, west): series from local
     * midnight, asked at 2026-11-25T13:20Z. */
    struct {
        const char *tz;
        int off;
        const char *first;
    } places[] = {{"Asia/Tokyo", 9 * 3600, "2026-11-25T22:00"},
                  {"America/Los_Angeles", -8 * 3600, "2026-11-25T05:00"},
                  {"Asia/Kolkata", 5 * 3600 + 1800, "2026-11-25T18:00"}};
    for (size_t p = 0; p < sizeof(places) / sizeof(places[0]); p++) {
        int64_t midnight = T_2026_11_25 - (int64_t)places[p].off * 1000;
        nb_record r = with_hours(places[p].tz, places[p].off, midnight, 384);
        answer a = {
            .rec = &r, .days = 7, .hours = 48, .now_ms = T_2026_11_25 + 13 * HOUR_MS + 1200000};
        json_t *d = render(&a);
        json_t *h = json_object_get(d, "hourly");
        assert_int_equal(json_array_size(h), 48);
        assert_string_equal(time_of(h, 0), places[p].first);
        json_decref(d);
    }
}

static void hourly_takes_hours_and_ends_with_the_series(void **state)
{
    nb_record r = with_hours("UTC", 0, T_2026_11_25, 30);
    answer a = {.rec = &r, .days = 7, .hours = 5, .now_ms = T_2026_11_25 + 2 * HOUR_MS};
    json_t *d = render(&a);
    json_t *h = json_object_get(d, "hourly");
    assert_int_equal(json_array_size(h), 5);
    assert_string_equal(time_of(h, 0), "2026-11-25T02:00");
    json_t *e = json_array_get(h, 0);
    assert_true(fabs(json_real_value(json_object_get(e, "temperature")) - 10.2) < 1e-9);
    assert_int_equal(json_integer_value(json_object_get(e, "precipitation_probability")), 2);
    assert_true(fabs(json_real_value(json_object_get(e, "precipitation")) - 0.25) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(e, "condition")), "Slight rain");
    assert_true(json_is_null(json_object_get(e, "wind_gusts"))); /* missing stays null */
    assert_true(json_is_false(json_object_get(e, "is_day")));
    json_decref(d);

    a.hours = 384; /* more than is left: what is left */
    d = render(&a);
    assert_int_equal(json_array_size(json_object_get(d, "hourly")), 28);
    json_decref(d);
    a.now_ms = T_2026_11_25 + 40 * HOUR_MS; /* the series is over */
    d = render(&a);
    assert_int_equal(json_array_size(json_object_get(d, "hourly")), 0);
    json_decref(d);
    r.hourly.n = 0; /* a record stored before nimbus kept hourly data */
    d = render(&a);
    assert_true(json_is_array(json_object_get(d, "hourly")));
    assert_int_equal(json_array_size(json_object_get(d, "hourly")), 0);
    json_decref(d);
}

static void hourly_labels_follow_the_dst_change(void **state)
{
    /* Berlin, fetched on 2026-10-24 at UTC+2: Open-Meteo labels the whole
     * series with +2. Clocks go back at 2026-10-25T01:00Z (03:00 CEST →
     * 02:00 CET): the wall clock shows 02:00 twice. */
    int64_t start = 1792792800000LL; /* 2026-10-24T00:00+02:00 = 2026-10-23T22:00Z */
    nb_record r = with_hours("Europe/Berlin", 7200, start, 72);
    strcpy(r.daily[2].sunrise, "2026-10-26T07:58"); /* +2 label: 06:58 CET */
    strcpy(r.daily[2].date, "2026-10-26");
    answer a = {.rec = &r, .days = 3, .hours = 10, .now_ms = 1792879200000LL}; /* 22:00Z */
    json_t *d = render(&a);
    json_t *h = json_object_get(d, "hourly");
    assert_string_equal(time_of(h, 0), "2026-10-25T00:00");
    assert_string_equal(time_of(h, 1), "2026-10-25T01:00");
    assert_string_equal(time_of(h, 2), "2026-10-25T02:00");
    assert_string_equal(time_of(h, 3), "2026-10-25T02:00");
    assert_string_equal(time_of(h, 4), "2026-10-25T03:00");
    json_t *day = json_array_get(json_object_get(d, "daily"), 2);
    assert_string_equal(json_string_value(json_object_get(day, "sunrise")), "2026-10-26T06:58");
    json_decref(d);

    /* New York in spring: 02:00 does not exist on 2027-03-14. */
    int64_t ny = 1805000400000LL; /* 2027-03-14T00:00-05:00 = 05:00Z */
    r = with_hours("America/New_York", -18000, ny, 24);
    a = (answer){.rec = &r, .days = 1, .hours = 4, .now_ms = ny};
    d = render(&a);
    h = json_object_get(d, "hourly");
    assert_string_equal(time_of(h, 1), "2027-03-14T01:00");
    assert_string_equal(time_of(h, 2), "2027-03-14T03:00");
    json_decref(d);
}

static double num_at(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void imperial_converts_every_figure(void **state)
{
    nb_record r = with_hours("UTC", 0, T_2026_11_25, 3);
    r.current.wind_speed = 100;
    r.current.precipitation = 25.4;
    r.daily[0].temperature_max = -40;
    r.daily[0].precipitation_sum = 2.54;
    r.daily[0].wind_speed_max = 16.09344;
    answer a = {
        .rec = &r, .days = 1, .hours = 1, .units = NB_UNITS_IMPERIAL, .now_ms = T_2026_11_25};
    json_t *d = render(&a);
    json_t *u = json_object_get(d, "units");
    assert_string_equal(json_string_value(json_object_get(u, "system")), "imperial");
    assert_string_equal(json_string_value(json_object_get(u, "temperature")), "°F");
    assert_string_equal(json_string_value(json_object_get(u, "wind_speed")), "mph");
    assert_string_equal(json_string_value(json_object_get(u, "precipitation")), "in");
    json_t *cur = json_object_get(d, "current");
    assert_true(fabs(num_at(cur, "temperature") - 39.9) < 1e-9); /* 4.4 °C = 39.92 °F */
    assert_true(fabs(num_at(cur, "wind_speed") - 62.1) < 1e-9);  /* 62.137 mph */
    assert_true(fabs(num_at(cur, "precipitation") - 1.0) < 1e-9);
    assert_true(fabs(num_at(cur, "relative_humidity") - 81) < 1e-9); /* % stays */
    json_t *day = json_array_get(json_object_get(d, "daily"), 0);
    assert_true(fabs(num_at(day, "temperature_max") - -40.0) < 1e-9);
    assert_true(fabs(num_at(day, "temperature_min") - 33.8) < 1e-9); /* 1 °C */
    assert_true(fabs(num_at(day, "precipitation_sum") - 0.1) < 1e-9);
    assert_true(fabs(num_at(day, "wind_speed_max") - 10.0) < 1e-9);
    json_t *e = json_array_get(json_object_get(d, "hourly"), 0);
    assert_true(fabs(num_at(e, "temperature") - 50.0) < 1e-9);          /* 10 °C */
    assert_true(fabs(num_at(e, "apparent_temperature") - 47.3) < 1e-9); /* 8.5 °C */
    assert_true(fabs(num_at(e, "precipitation") - 0.01) < 1e-9);        /* 0.25 mm = 0.00984 */
    assert_true(fabs(num_at(e, "wind_speed") - 62.1) < 1e-9);
    json_decref(d);
}

static void the_variant_moves_with_the_hour(void **state)
{
    nb_record r = with_hours("UTC", 0, T_2026_11_25, 48);
    answer a = {.rec = &r, .days = 7, .hours = 48, .now_ms = T_2026_11_25 + 5 * 60000};
    char v1[DOC_VARIANT_MAX], v2[DOC_VARIANT_MAX], v3[DOC_VARIANT_MAX];
    api_doc_variant(&a, v1);
    a.now_ms += 50 * 60000; /* same hour */
    api_doc_variant(&a, v2);
    assert_string_equal(v1, v2);
    a.now_ms += 10 * 60000; /* the next hour */
    api_doc_variant(&a, v3);
    assert_string_not_equal(v2, v3);
    a.units = NB_UNITS_IMPERIAL;
    api_doc_variant(&a, v2);
    assert_string_not_equal(v2, v3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_what_was_asked),
        cmocka_unit_test(stale_after_the_ttl),
        cmocka_unit_test(hourly_starts_at_the_current_local_hour),
        cmocka_unit_test(hourly_takes_hours_and_ends_with_the_series),
        cmocka_unit_test(hourly_labels_follow_the_dst_change),
        cmocka_unit_test(imperial_converts_every_figure),
        cmocka_unit_test(the_variant_moves_with_the_hour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
