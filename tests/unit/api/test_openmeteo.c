/* Open-Meteo answers into records: shape, nulls, snapped coordinates ignored,
 * "results" absent, error reasons, garbage refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "openmeteo.h"

static const char forecast[] =
    "{\"latitude\":52.52,\"longitude\":13.419998,\"generationtime_ms\":0.08,"
    "\"utc_offset_seconds\":3600,\"timezone\":\"Europe/Berlin\","
    "\"timezone_abbreviation\":\"GMT+1\",\"elevation\":38.0,"
    "\"current_units\":{\"time\":\"iso8601\"},"
    "\"current\":{\"time\":\"2026-11-23T14:15\",\"interval\":900,\"temperature_2m\":4.4,"
    "\"relative_humidity_2m\":81,\"weather_code\":3,\"wind_speed_10m\":null,\"is_day\":1},"
    "\"daily_units\":{\"time\":\"iso8601\"},"
    "\"daily\":{\"time\":[\"2026-11-23\",\"2026-11-24\"],\"weather_code\":[3,61],"
    "\"temperature_2m_max\":[6.1,null],\"temperature_2m_min\":[1.2,0.7],"
    "\"sunrise\":[\"2026-11-23T07:45\",\"2026-11-24T07:47\"]}}";

static void forecast_becomes_a_record(void **state)
{
    nb_record r;
    const char *why = NULL;
    assert_int_equal(om_parse_forecast(forecast, strlen(forecast), "52.52,13.41", 1000, &r, &why),
                     NB_OK);
    assert_string_equal(r.key, "52.52,13.41");
    assert_true(fabs(r.longitude - 13.41) < 1e-9); /* the key's grid point, not 13.419998 */
    assert_string_equal(r.timezone, "Europe/Berlin");
    assert_int_equal(r.utc_offset_seconds, 3600);
    assert_string_equal(r.current.time, "2026-11-23T14:15");
    assert_true(fabs(r.current.temperature - 4.4) < 1e-9);
    assert_true(isnan(r.current.wind_speed));
    assert_true(isnan(r.current.pressure_msl)); /* not asked for: null */
    assert_int_equal(r.ndays, 2);
    assert_true(isnan(r.daily[1].temperature_max));
    assert_string_equal(r.daily[1].sunrise, "2026-11-24T07:47");
    assert_string_equal(r.daily[0].sunset, "");
    assert_int_equal(r.fetched_at_ms, 1000);
}

static void broken_forecasts_are_refused(void **state)
{
    static const char *const bad[] = {
        "",
        "{\"error\":true,\"reason\":\"Invalid timezone\"}",
        "{\"timezone\":\"GMT\",\"utc_offset_seconds\":0,\"current\":{\"time\":\"2026-11-23T14:15\","
        "\"temperature_2m\":\"warm\"},\"daily\":{\"time\":[\"2026-11-23\"]}}",
        "{\"timezone\":\"GMT\",\"utc_offset_seconds\":0,\"current\":{\"time\":\"2026-11-23T14:15\"}"
        ","
        "\"daily\":{\"time\":[]}}",
        "[1,2,3]",
        "{\"timezone\":\"GMT\",\"utc_offset_seconds\":0,\"current\":{\"time\":\"2026-11-23T14:15\","
        "\"weather_code\":300},\"daily\":{\"time\":[\"2026-11-23\"]}}",
        /* llabs(INT64_MIN) is undefined: the range check once let it through */
        "{\"timezone\":\"GMT\",\"utc_offset_seconds\":-9223372036854775808,\"current\":{"
        "\"time\":\"2026-11-23T14:15\"},\"daily\":{\"time\":[\"2026-11-23\"]}}",
        /* a value the record's encoding could not carry */
        "{\"timezone\":\"GMT\",\"utc_offset_seconds\":0,\"current\":{\"time\":\"2026-11-23T14:15\","
        "\"temperature_2m\":1.7976931348623157e308},\"daily\":{\"time\":[\"2026-11-23\"]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nb_record r;
        const char *why = NULL;
        assert_int_not_equal(om_parse_forecast(bad[i], strlen(bad[i]), "52.52,13.41", 1, &r, &why),
                             NB_OK);
        assert_non_null(why);
    }
}

static void geocoding_results_and_none(void **state)
{
    static const char found[] =
        "{\"results\":[{\"id\":2950159,\"name\":\"Berlin\",\"latitude\":52.52437,"
        "\"longitude\":13.41053,\"feature_code\":\"PPLC\",\"country_code\":\"DE\","
        "\"timezone\":\"Europe/Berlin\",\"country\":\"Germany\",\"admin1\":\"Land Berlin\"}],"
        "\"generationtime_ms\":0.5}";
    nb_place p;
    bool ok;
    const char *why = NULL;
    assert_int_equal(om_parse_geocoding(found, strlen(found), &p, &ok, &why), NB_OK);
    assert_true(ok);
    assert_string_equal(p.name, "Berlin");
    assert_int_equal(p.id, 2950159);
    assert_true(isnan(p.elevation)); /* omitted by the geocoder */
    assert_int_equal(p.population, 0);
    static const char none[] = "{\"generationtime_ms\":0.1}";
    assert_int_equal(om_parse_geocoding(none, strlen(none), &p, &ok, &why), NB_OK);
    assert_false(ok);
    assert_int_not_equal(om_parse_geocoding("{\"results\":5}", 13, &p, &ok, &why), NB_OK);
}

/* Found by fuzz_om_geocoding: a place with an absurd elevation made a
 * geocoding entry persistence refuses (place.elevation beyond ±1e6), so the
 * name would be geocoded again on every request. The elevation is dropped. */
static void absurd_elevation_is_dropped_not_stored(void **state)
{
    static const char body[] = "{\"results\":[{\"id\":6058560,\"name\":\"London\","
                               "\"latitude\":42.98339,\"longitude\":-81.2334,"
                               "\"elevation\":4223220,\"timezone\":\"America/Toronto\"}]}";
    nb_geo_entry g = {.query = "london", .found = true, .resolved_at_ms = 1795478749000LL}, back;
    bool found;
    const char *why = NULL;
    assert_int_equal(om_parse_geocoding(body, strlen(body), &g.place, &found, &why), NB_OK);
    assert_true(found);
    assert_true(isnan(g.place.elevation));
    size_t len;
    char *s = nb_geo_dump(&g, &len);
    assert_int_equal(nb_geo_parse(s, len, &back, &why), NB_OK);
    free(s);
}

static void urls_and_reasons(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 4096);
    assert_int_equal(om_forecast_url(&b, "http://h/v1/forecast", -33.87, 151.21, 16, "auto"),
                     NB_OK);
    assert_non_null(strstr(nb_buf_str(&b), "latitude=-33.87&longitude=151.21"));
    assert_non_null(strstr(nb_buf_str(&b), "timezone=auto&forecast_days=16"));
    nb_buf_reset(&b);
    assert_int_equal(om_geocoding_url(&b, "http://h/v1/search", "são paulo"), NB_OK);
    assert_non_null(strstr(nb_buf_str(&b), "name=s%C3%A3o%20paulo&count=1"));
    nb_buf_release(&b);
    char reason[64];
    const char *body = "{\"reason\":\"Minutely API request limit exceeded.\",\"error\":true}";
    om_error_reason(body, strlen(body), reason, sizeof(reason));
    assert_string_equal(reason, "Minutely API request limit exceeded.");
    om_error_reason("<html>", 6, reason, sizeof(reason));
    assert_string_equal(reason, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forecast_becomes_a_record),
        cmocka_unit_test(broken_forecasts_are_refused),
        cmocka_unit_test(geocoding_results_and_none),
        cmocka_unit_test(absurd_elevation_is_dropped_not_stored),
        cmocka_unit_test(urls_and_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
