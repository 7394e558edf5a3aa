/* The weather document: units, conditions, days cut to what was asked,
 * freshness, and the attribution. */
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
    answer a = {.rec = &r, .place = &berlin, .days = 2, .source = "cache", .kind = ANS_HIT};
    size_t len;
    char *s = doc_render(&cfg, &a, 1000000 + 30000, &len);
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
    answer a = {.rec = &r, .place = NULL, .days = 16, .source = "database", .kind = ANS_STALE};
    char *s = doc_render(&cfg, &a, 601000, NULL);
    json_t *d = json_loads(s, 0, NULL);
    json_t *fr = json_object_get(d, "freshness");
    assert_string_equal(json_string_value(json_object_get(fr, "state")), "stale");
    assert_int_equal(json_array_size(json_object_get(d, "daily")), 3); /* all there are */
    assert_null(json_object_get(json_object_get(d, "location"), "name"));
    json_decref(d);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders_what_was_asked),
        cmocka_unit_test(stale_after_the_ttl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
