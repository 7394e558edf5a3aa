/* test_weather.c — the weather model is deterministic, moves to a new
 * observation every 15 minutes (and only then), uses only real WMO codes that
 * agree with the precipitation, keeps the current value inside the day's
 * min/max, and puts sunrise/sunset where they belong. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim_gazetteer.h"
#include "sim_weather.h"

#define T0 1795478400LL /* 2026-11-24T00:00:00Z */

static bool obs_equal(const ws_obs *a, const ws_obs *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static void same_input_same_weather(void **state)
{
    ws_cell c;
    ws_obs a, b;
    (void)state;
    ws_wx_snap(52.52, 13.41, &c);
    ws_wx_observe(&c, 38, T0 + 3600, &a);
    ws_wx_observe(&c, 38, T0 + 3600, &b);
    assert_true(obs_equal(&a, &b));
    /* anywhere inside the same 15-minute step: the same observation */
    ws_wx_observe(&c, 38, T0 + 3600 + 899, &b);
    assert_true(obs_equal(&a, &b));
}

static void new_observation_every_15_minutes(void **state)
{
    ws_cell c;
    int changed = 0;
    (void)state;
    ws_wx_snap(52.52, 13.41, &c);
    for (int i = 0; i < 96; i++) {
        ws_obs a, b;
        ws_wx_observe(&c, 38, T0 + i * 900, &a);
        ws_wx_observe(&c, 38, T0 + (i + 1) * 900, &b);
        if (a.temperature_2m != b.temperature_2m) changed++;
        /* smooth: no jumps of more than 3 °C per step */
        assert_true(fabs(a.temperature_2m - b.temperature_2m) < 3.0);
    }
    assert_int_equal(changed, 96);
}

static void wmo_codes_are_real_and_agree_with_precipitation(void **state)
{
    int seen_wet = 0, seen_dry = 0, seen_snow = 0;
    (void)state;
    for (size_t i = 0; i < ws_gaz_count(); i += 2) {
        const ws_place *p = ws_gaz_at(i);
        ws_cell c;
        ws_wx_snap(p->latitude, p->longitude, &c);
        for (int s = 0; s < 400; s += 7) {
            ws_obs o;
            ws_wx_observe(&c, p->elevation, T0 + (int64_t)s * 5400, &o);
            if (!ws_wx_code_valid(o.weather_code))
                fail_msg("%s: invalid WMO code %d", p->name, o.weather_code);
            if (o.precipitation > 0) {
                seen_wet++;
                assert_true(o.weather_code >= 51);
                assert_true(fabs(o.rain + o.showers + o.snowfall / 0.7 - o.precipitation) < 0.02 ||
                            o.snowfall > 0);
            } else {
                seen_dry++;
                assert_true(o.weather_code <= 48);
                assert_true(o.rain == 0 && o.showers == 0 && o.snowfall == 0);
            }
            if (o.snowfall > 0) {
                seen_snow++;
                assert_true(o.weather_code >= 71 && o.weather_code <= 86);
            }
            assert_true(o.relative_humidity_2m >= 0 && o.relative_humidity_2m <= 100);
            assert_true(o.cloud_cover >= 0 && o.cloud_cover <= 100);
            assert_true(o.wind_direction_10m >= 0 && o.wind_direction_10m <= 360);
            assert_true(o.wind_gusts_10m >= o.wind_speed_10m);
            assert_true(o.temperature_2m > -70 && o.temperature_2m < 55);
        }
    }
    assert_true(seen_wet > 50 && seen_dry > 50 && seen_snow > 0);
    assert_false(ws_wx_code_valid(4));
    assert_false(ws_wx_code_valid(60));
    assert_true(ws_wx_code_valid(99));
}

static void current_lies_within_the_days_range(void **state)
{
    ws_cell c;
    ws_day d;
    const int offset = 3600; /* Europe/Berlin in winter */
    int64_t day_start = T0 - offset;
    (void)state;
    ws_wx_snap(52.52, 13.41, &c);
    ws_wx_day(&c, 38, day_start, offset, &d);
    for (int i = 0; i < 96; i++) {
        ws_obs o;
        ws_wx_observe(&c, 38, day_start + i * 900, &o);
        assert_true(o.temperature_2m <= d.temperature_2m_max);
        assert_true(o.temperature_2m >= d.temperature_2m_min);
        assert_true(o.weather_code <= d.weather_code);
    }
    assert_true(ws_wx_code_valid(d.weather_code));
    assert_true(d.precipitation_probability_max >= 0 && d.precipitation_probability_max <= 100);
}

static void sunrise_and_sunset_roughly_right(void **state)
{
    ws_cell c;
    ws_day d;
    (void)state;
    /* Berlin, 24 Nov 2026: sunrise 07:47, sunset 15:58 local (UTC+1) */
    ws_wx_snap(52.52, 13.41, &c);
    ws_wx_day(&c, 38, T0 - 3600, 3600, &d);
    assert_true(llabs(d.sunrise - (T0 + 6 * 3600 + 47 * 60)) < 10 * 60);
    assert_true(llabs(d.sunset - (T0 + 14 * 3600 + 58 * 60)) < 10 * 60);
    /* Longyearbyen in late November: polar night, no sunrise */
    ws_wx_snap(78.22, 15.65, &c);
    ws_wx_day(&c, 20, T0 - 3600, 3600, &d);
    assert_true(d.sunrise == d.sunset);
}

/* Places west of Greenwich have negative UTC offsets; the day's aggregates
 * (and their memo, keyed by the offset) must work for them as for any other.
 * Under UBSan this once died: "left shift of negative value". */
static void days_west_of_greenwich(void **state)
{
    ws_cell c;
    ws_day d, again;
    const int offset = -18000; /* America/New_York in winter */
    int64_t day_start = T0 + 18000;
    (void)state;
    ws_wx_snap(40.71, -74.01, &c);
    ws_wx_day(&c, 10, day_start, offset, &d);
    ws_wx_day(&c, 10, day_start, offset, &again); /* from the memo */
    assert_memory_equal(&d, &again, sizeof(d));
    for (int i = 0; i < 96; i++) {
        ws_obs o;
        ws_wx_observe(&c, 10, day_start + i * 900, &o);
        assert_true(o.temperature_2m <= d.temperature_2m_max);
        assert_true(o.temperature_2m >= d.temperature_2m_min);
    }
    /* New York, 24 Nov 2026: sunrise about 06:50, sunset about 16:32 local (UTC-5) */
    assert_true(llabs(d.sunrise - (T0 + 11 * 3600 + 50 * 60)) < 10 * 60);
    assert_true(llabs(d.sunset - (T0 + 21 * 3600 + 32 * 60)) < 10 * 60);
    /* The most negative offset there is (Baker Island, UTC-12). */
    ws_wx_snap(0.19, -176.48, &c);
    ws_wx_day(&c, 0, T0 + 43200, -43200, &d);
    assert_true(d.temperature_2m_min <= d.temperature_2m_max);
}

static void some_cells_have_missing_variables(void **state)
{
    int missing = 0, total = 0;
    (void)state;
    for (int i = 0; i < 2000; i++) {
        ws_cell c;
        ws_wx_snap(-60 + i * 0.06, -170 + i * 0.17, &c);
        missing += ws_wx_missing(&c, "temperature_2m");
        total++;
    }
    assert_true(missing > total / 100 && missing < total / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_input_same_weather),
        cmocka_unit_test(new_observation_every_15_minutes),
        cmocka_unit_test(wmo_codes_are_real_and_agree_with_precipitation),
        cmocka_unit_test(current_lies_within_the_days_range),
        cmocka_unit_test(sunrise_and_sunset_roughly_right),
        cmocka_unit_test(days_west_of_greenwich),
        cmocka_unit_test(some_cells_have_missing_variables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
