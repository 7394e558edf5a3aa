/* test_api.c — /v1/forecast and /v1/search bodies as Open-Meteo writes them:
 * field order, float32 coordinates, current step time, units, errors with the
 * real reasons, multi-location arrays, timezone=auto, search without results. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "sim_api.h"
#include "sim_tz.h"

#define NOW 1795480800LL /* 2026-11-24T00:40:00Z */

typedef struct kv {
    const char *k, *v;
} kv;

static const char *get(void *ctx, const char *key)
{
    for (const kv *p = ctx; p->k; p++)
        if (strcmp(p->k, key) == 0) return p->v;
    return NULL;
}

static int forecast(const kv *args, nb_buf *out)
{
    ws_params q = {get, (void *)args};
    return ws_api_forecast(&q, NOW, out);
}

static int search(const kv *args, nb_buf *out)
{
    ws_params q = {get, (void *)args};
    return ws_api_search(&q, out);
}

static void assert_order(const char *body, const char *const *keys, size_t n)
{
    const char *prev = body;
    for (size_t i = 0; i < n; i++) {
        char pat[96];
        snprintf(pat, sizeof(pat), "\"%s\":", keys[i]);
        const char *at = strstr(prev, pat);
        if (!at) fail_msg("key %s missing or out of order in %s", keys[i], body);
        prev = at;
    }
}

static void berlin_forecast_shape_and_order(void **state)
{
    static const kv args[] = {
        {"latitude", "52.52"},
        {"longitude", "13.41"},
        {"current", "temperature_2m,relative_humidity_2m,weather_code,wind_speed_10m"},
        {"daily", "weather_code,temperature_2m_max,temperature_2m_min"},
        {"timezone", "Europe/Berlin"},
        {NULL, NULL}};
    static const char *const order[] = {"latitude",
                                        "longitude",
                                        "generationtime_ms",
                                        "utc_offset_seconds",
                                        "timezone",
                                        "timezone_abbreviation",
                                        "elevation",
                                        "current_units",
                                        "time",
                                        "interval",
                                        "temperature_2m",
                                        "relative_humidity_2m",
                                        "weather_code",
                                        "wind_speed_10m",
                                        "current",
                                        "time",
                                        "interval",
                                        "temperature_2m",
                                        "daily_units",
                                        "daily",
                                        "time",
                                        "weather_code",
                                        "temperature_2m_max",
                                        "temperature_2m_min"};
    nb_buf b;
    json_error_t err;
    (void)state;
    nb_buf_init(&b, 1 << 20);
    assert_int_equal(forecast(args, &b), 200);
    const char *s = nb_buf_str(&b);
    assert_true(
        strncmp(s, "{\"latitude\":52.52,\"longitude\":13.419998,\"generationtime_ms\":", 60) == 0);
    assert_order(s, order, sizeof(order) / sizeof(order[0]));
    assert_non_null(strstr(s, "\"utc_offset_seconds\":3600,\"timezone\":\"Europe/Berlin\","
                              "\"timezone_abbreviation\":\"GMT+1\""));
    /* 00:40Z is 01:40 in Berlin; the step started at 01:30 */
    assert_non_null(strstr(s, "\"current\":{\"time\":\"2026-11-24T01:30\",\"interval\":900,"));
    assert_non_null(strstr(s, "\"temperature_2m\":\"°C\""));
    json_t *j = json_loads(s, 0, &err);
    assert_non_null(j);
    json_t *days = json_object_get(json_object_get(j, "daily"), "time");
    assert_int_equal(json_array_size(days), 7);
    assert_string_equal(json_string_value(json_array_get(days, 0)), "2026-11-24");
    json_decref(j);
    nb_buf_release(&b);
}

static void expect_400(const kv *args, const char *reason)
{
    nb_buf b;
    json_error_t err;
    nb_buf_init(&b, 1 << 20);
    assert_int_equal(forecast(args, &b), 400);
    json_t *j = json_loads(nb_buf_str(&b), 0, &err);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "error")));
    assert_string_equal(json_string_value(json_object_get(j, "reason")), reason);
    json_decref(j);
    nb_buf_release(&b);
}

static void forecast_errors_use_the_real_reasons(void **state)
{
    (void)state;
    expect_400((const kv[]){{"latitude", "91"}, {"longitude", "13"}, {NULL, NULL}},
               "Latitude must be in range of -90 to 90°. Given: 91.0.");
    expect_400((const kv[]){{"latitude", "52"}, {"longitude", "200"}, {NULL, NULL}},
               "Longitude must be in range of -180 to 180°. Given: 200.0.");
    expect_400((const kv[]){{"latitude", "52,53"}, {"longitude", "13"}, {NULL, NULL}},
               "Parameter 'latitude' and 'longitude' must have the same number of elements");
    expect_400(
        (const kv[]){
            {"latitude", "52"}, {"longitude", "13"}, {"forecast_days", "17"}, {NULL, NULL}},
        "Forecast days is invalid. Allowed range 0 to 16. Given 17.");
    expect_400(
        (const kv[]){{"latitude", "52"},
                     {"longitude", "13"},
                     {"current", "temperature_2m,foo"},
                     {NULL, NULL}},
        "Cannot initialize ForecastSurfaceVariable from invalid String value foo for key current");
    expect_400(
        (const kv[]){
            {"latitude", "52"}, {"longitude", "13"}, {"timezone", "Mars/Olympus"}, {NULL, NULL}},
        "Invalid timezone");
    /* open ocean, far from every place: the real quirk */
    expect_400(
        (const kv[]){
            {"latitude", "-45"}, {"longitude", "-130"}, {"timezone", "auto"}, {NULL, NULL}},
        "Invalid timezone");
}

static void timezone_auto_and_units(void **state)
{
    static const kv args[] = {{"latitude", "35.68"},
                              {"longitude", "139.69"},
                              {"timezone", "auto"},
                              {"current", "temperature_2m,wind_speed_10m"},
                              {"temperature_unit", "fahrenheit"},
                              {"wind_speed_unit", "ms"},
                              {"timeformat", "unixtime"},
                              {NULL, NULL}};
    nb_buf b;
    (void)state;
    nb_buf_init(&b, 1 << 20);
    assert_int_equal(forecast(args, &b), 200);
    const char *s = nb_buf_str(&b);
    assert_non_null(strstr(s, "\"utc_offset_seconds\":32400,\"timezone\":\"Asia/Tokyo\""));
    assert_non_null(strstr(s, "\"temperature_2m\":\"°F\""));
    assert_non_null(strstr(s, "\"wind_speed_10m\":\"m/s\""));
    assert_non_null(strstr(s, "\"current\":{\"time\":1795480200,\"interval\":900"));
    nb_buf_release(&b);
}

static void hourly_series_cover_the_requested_days(void **state)
{
    static const kv args[] = {{"latitude", "-33.87"},
                              {"longitude", "151.21"},
                              {"timezone", "Australia/Sydney"},
                              {"forecast_days", "2"},
                              {"past_days", "1"},
                              {"hourly", "temperature_2m,weather_code,is_day"},
                              {NULL, NULL}};
    nb_buf b;
    json_error_t err;
    (void)state;
    nb_buf_init(&b, 1 << 20);
    assert_int_equal(forecast(args, &b), 200);
    json_t *j = json_loads(nb_buf_str(&b), 0, &err);
    assert_non_null(j);
    json_t *h = json_object_get(j, "hourly");
    assert_int_equal(json_array_size(json_object_get(h, "time")), 72);
    assert_int_equal(json_array_size(json_object_get(h, "weather_code")), 72);
    /* local midnight of yesterday (Sydney is UTC+11 in November) */
    assert_string_equal(json_string_value(json_array_get(json_object_get(h, "time"), 0)),
                        "2026-11-23T00:00");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "hourly_units"), "weather_code")),
        "wmo code");
    json_decref(j);
    nb_buf_release(&b);
}

/* Open-Meteo applies the offset valid when asked to the whole series: asked
 * on 2026-10-24 (CEST, UTC+2), Berlin's labels run on at +2 past the change
 * back to CET on the 25th — no repeated 02:00, every day 24 hours. */
static void one_offset_across_a_dst_change(void **state)
{
    static const kv args[] = {{"latitude", "52.52"},
                              {"longitude", "13.41"},
                              {"timezone", "Europe/Berlin"},
                              {"forecast_days", "3"},
                              {"hourly", "temperature_2m,precipitation,weather_code,"
                                         "precipitation_probability"},
                              {"daily", "sunrise,precipitation_probability_max"},
                              {NULL, NULL}};
    ws_params q = {get, (void *)args};
    nb_buf b;
    (void)state;
    nb_buf_init(&b, 1 << 20);
    assert_int_equal(ws_api_forecast(&q, 1792843200LL /* 2026-10-24T12:00Z */, &b), 200);
    json_t *j = json_loads(nb_buf_str(&b), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "utc_offset_seconds")), 7200);
    assert_string_equal(json_string_value(json_object_get(j, "timezone_abbreviation")), "GMT+2");
    json_t *h = json_object_get(j, "hourly"), *t = json_object_get(h, "time");
    assert_int_equal(json_array_size(t), 72);
    assert_string_equal(json_string_value(json_array_get(t, 26)), "2026-10-25T02:00");
    assert_string_equal(json_string_value(json_array_get(t, 27)), "2026-10-25T03:00");
    assert_string_equal(json_string_value(json_array_get(t, 71)), "2026-10-26T23:00");
    /* sunrise of the 26th: about 06:58 CET, written at +2 as 07:58 */
    const char *rise = json_string_value(
        json_array_get(json_object_get(json_object_get(j, "daily"), "sunrise"), 2));
    assert_true(strncmp(rise, "2026-10-26T07:5", 15) == 0 ||
                strncmp(rise, "2026-10-26T08:0", 15) == 0);
    /* precipitation and weather codes agree hour by hour; the day's chance
     * is the largest of its hours' */
    json_t *mm = json_object_get(h, "precipitation"), *code = json_object_get(h, "weather_code");
    json_t *pp = json_object_get(h, "precipitation_probability");
    json_t *pmax = json_object_get(json_object_get(j, "daily"), "precipitation_probability_max");
    for (size_t d = 0; d < 3; d++) {
        double most = 0;
        for (size_t i = d * 24; i < d * 24 + 24; i++) {
            double p = json_number_value(json_array_get(pp, i));
            assert_true(p >= 0 && p <= 100);
            if (p > most) most = p;
            bool wet = json_number_value(json_array_get(mm, i)) > 0;
            assert_true(wet == (json_integer_value(json_array_get(code, i)) >= 51));
            if (wet) assert_true(p >= 40);
        }
        assert_true(json_number_value(json_array_get(pmax, d)) == most);
    }
    json_decref(j);
    nb_buf_release(&b);
}

static void several_locations_give_an_array(void **state)
{
    static const kv args[] = {{"latitude", "52.52,48.85"},
                              {"longitude", "13.41,2.35"},
                              {"current", "temperature_2m"},
                              {NULL, NULL}};
    nb_buf b;
    json_error_t err;
    (void)state;
    nb_buf_init(&b, 1 << 20);
    assert_int_equal(forecast(args, &b), 200);
    json_t *j = json_loads(nb_buf_str(&b), 0, &err);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "timezone")),
                        "GMT");
    json_decref(j);
    nb_buf_release(&b);
}

static void search_results_and_no_results(void **state)
{
    nb_buf b;
    json_error_t err;
    (void)state;
    nb_buf_init(&b, 1 << 20);
    assert_int_equal(search((const kv[]){{"name", "Berlin"}, {"count", "1"}, {NULL, NULL}}, &b),
                     200);
    static const char berlin[] =
        "{\"results\":[{\"id\":2950159,\"name\":\"Berlin\",\"latitude\":52.52437,"
        "\"longitude\":13.41053,\"elevation\":74.0,\"feature_code\":\"PPLC\","
        "\"country_code\":\"DE\",\"admin1_id\":2950157,\"timezone\":\"Europe/Berlin\","
        "\"population\":3426354,\"postcodes\":[\"10967\",\"13347\"],"
        "\"country_id\":2921044,\"country\":\"Germany\",\"admin1\":\"Land Berlin\"}],"
        "\"generationtime_ms\":";
    assert_true(strncmp(nb_buf_str(&b), berlin, sizeof(berlin) - 1) == 0);
    assert_int_equal(search((const kv[]){{"name", "Nowhereville"}, {NULL, NULL}}, &b), 200);
    json_t *j = json_loads(nb_buf_str(&b), 0, &err);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 1);
    assert_non_null(json_object_get(j, "generationtime_ms"));
    json_decref(j);
    assert_int_equal(search((const kv[]){{"name", "Berlin"}, {"count", "0"}, {NULL, NULL}}, &b),
                     400);
    assert_non_null(strstr(nb_buf_str(&b), "Parameter count must be between 1 and 100."));
    nb_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(berlin_forecast_shape_and_order),
        cmocka_unit_test(forecast_errors_use_the_real_reasons),
        cmocka_unit_test(timezone_auto_and_units),
        cmocka_unit_test(hourly_series_cover_the_requested_days),
        cmocka_unit_test(one_offset_across_a_dst_change),
        cmocka_unit_test(several_locations_give_an_array),
        cmocka_unit_test(search_results_and_no_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
