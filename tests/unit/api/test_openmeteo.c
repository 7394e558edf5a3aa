/* Open-Meteo answers into records: shape, nulls, snapped coordinates ignored,
 * "results" absent, error reasons, garbage refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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
    assert_int_equal(
        api_om_parse_forecast(forecast, strlen(forecast), "52.52,13.41", 1000, &r, &why), NB_OK);
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

/* Berlin asked on 2026-10-24 (UTC+2): Open-Meteo labels the whole series
 * with that one offset, also past the DST change of 2026-10-25. */
static const char hourly[] =
    "{\"latitude\":52.52,\"longitude\":13.419998,\"generationtime_ms\":0.08,"
    "\"utc_offset_seconds\":7200,\"timezone\":\"Europe/Berlin\","
    "\"timezone_abbreviation\":\"GMT+2\",\"elevation\":38.0,"
    "\"current_units\":{\"time\":\"iso8601\"},"
    "\"current\":{\"time\":\"2026-10-24T14:15\",\"interval\":900,\"temperature_2m\":14.4},"
    "\"hourly_units\":{\"time\":\"iso8601\",\"temperature_2m\":\"°C\"},"
    "\"hourly\":{\"time\":[\"2026-10-24T00:00\",\"2026-10-24T01:00\",\"2026-10-24T02:00\","
    "\"2026-10-24T03:00\"],\"temperature_2m\":[10.1,9.8,null,9.1],"
    "\"apparent_temperature\":[8.0,7.5,7.0,6.5],\"precipitation_probability\":[0,5,40,null],"
    "\"precipitation\":[0.00,0.10,1.25,0.00],\"weather_code\":[3,51,63,3],"
    "\"wind_speed_10m\":[11.2,12.0,13.5,9.0],\"wind_gusts_10m\":[20.1,22.0,25.3,18.0],"
    "\"is_day\":[0,0,0,0]},"
    "\"daily_units\":{\"time\":\"iso8601\"},"
    "\"daily\":{\"time\":[\"2026-10-24\"],\"weather_code\":[63]}}";

static void hourly_series_becomes_arrays(void **state)
{
    nb_record r;
    const char *why = NULL;
    if (api_om_parse_forecast(hourly, strlen(hourly), "52.52,13.41", 1000, &r, &why) != NB_OK)
        fail_msg("%s", why);
    assert_int_equal(r.hourly.n, 4);
    /* 2026-10-24T00:00 at UTC+2 */
    assert_int_equal(r.hourly.start_ms, 1792792800000LL);
    assert_true(fabsf(r.hourly.temperature[1] - 9.8f) < 1e-6f);
    assert_true(isnan(r.hourly.temperature[2]));
    assert_true(r.hourly.precipitation_probability[2] == 40);
    assert_true(isnan(r.hourly.precipitation_probability[3]));
    assert_true(fabsf(r.hourly.precipitation[2] - 1.25f) < 1e-6f);
    assert_true(r.hourly.weather_code[1] == 51);
    assert_true(fabsf(r.hourly.wind_gusts[2] - 25.3f) < 1e-5f);
    assert_true(r.hourly.is_day[0] == 0);
}

/* A copy of hourly with one substring replaced. */
static const char *hourly_with(const char *from, const char *to)
{
    static char out[sizeof(hourly) + 256];
    const char *at = strstr(hourly, from);
    assert_non_null(at);
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - hourly), hourly, to, at + strlen(from));
    return out;
}

static void hourly_quirks(void **state)
{
    nb_record r;
    const char *why = NULL;
    /* a label out of step ends the series there */
    const char *gap = hourly_with("\"2026-10-24T02:00\"", "\"2026-10-24T05:00\"");
    assert_int_equal(api_om_parse_forecast(gap, strlen(gap), "52.52,13.41", 1, &r, &why), NB_OK);
    assert_int_equal(r.hourly.n, 2);
    /* a variable the answer lacks is all missing */
    const char *no_gusts = hourly_with("\"wind_gusts_10m\"", "\"wind_gusts_100m\"");
    assert_int_equal(api_om_parse_forecast(no_gusts, strlen(no_gusts), "52.52,13.41", 1, &r, &why),
                     NB_OK);
    assert_true(isnan(r.hourly.wind_gusts[0]) && isnan(r.hourly.wind_gusts[3]));
    /* no hourly section: a record without hourly data */
    assert_int_equal(api_om_parse_forecast(forecast, strlen(forecast), "52.52,13.41", 1, &r, &why),
                     NB_OK);
    assert_int_equal(r.hourly.n, 0);
    static const char *const bad[][2] = {
        {"[10.1,9.8,null,9.1]", "[10.1,\"x\",null,9.1]"},
        {"[3,51,63,3]", "[3,51,630,3]"},
        {"\"2026-10-24T00:00\",\"2026-10-24T01:00\"", "1792792800,\"2026-10-24T01:00\""},
        {"[10.1,9.8,null,9.1]", "[10.1,9.8,null,1e9]"},
        {"\"is_day\":[0,0,0,0]", "\"is_day\":[0,0,0,3]"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *body = hourly_with(bad[i][0], bad[i][1]);
        why = NULL;
        assert_int_not_equal(api_om_parse_forecast(body, strlen(body), "52.52,13.41", 1, &r, &why),
                             NB_OK);
        assert_non_null(why);
    }
}

static void the_url_asks_for_the_hourly_series(void **state)
{
    nb_buf b;
    nb_buf_init(&b, 4096);
    assert_int_equal(api_om_forecast_url(&b, "http://x/v1/forecast", 52.52, 13.41, 16, "auto"),
                     NB_OK);
    assert_non_null(strstr(nb_buf_str(&b),
                           "&hourly=temperature_2m,apparent_temperature,precipitation_probability,"
                           "precipitation,weather_code,wind_speed_10m,wind_gusts_10m,is_day&"));
    assert_non_null(strstr(nb_buf_str(&b), "&forecast_days=16&"));
    nb_buf_release(&b);
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
        assert_int_not_equal(
            api_om_parse_forecast(bad[i], strlen(bad[i]), "52.52,13.41", 1, &r, &why), NB_OK);
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
    assert_int_equal(api_om_parse_geocoding(found, strlen(found), &p, &ok, &why), NB_OK);
    assert_true(ok);
    assert_string_equal(p.name, "Berlin");
    assert_int_equal(p.id, 2950159);
    assert_true(isnan(p.elevation)); /* omitted by the geocoder */
    assert_int_equal(p.population, 0);
    static const char none[] = "{\"generationtime_ms\":0.1}";
    assert_int_equal(api_om_parse_geocoding(none, strlen(none), &p, &ok, &why), NB_OK);
    assert_false(ok);
    assert_int_not_equal(api_om_parse_geocoding("{\"results\":5}", 13, &p, &ok, &why), NB_OK);
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
    assert_int_equal(api_om_parse_geocoding(body, strlen(body), &g.place, &found, &why), NB_OK);
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
    assert_int_equal(api_om_forecast_url(&b, "http://h/v1/forecast", -33.87, 151.21, 16, "auto"),
                     NB_OK);
    assert_non_null(strstr(nb_buf_str(&b), "latitude=-33.87&longitude=151.21"));
    assert_non_null(strstr(nb_buf_str(&b), "timezone=auto&forecast_days=16"));
    nb_buf_reset(&b);
    assert_int_equal(api_om_geocoding_url(&b, "http://h/v1/search", "são paulo"), NB_OK);
    assert_non_null(strstr(nb_buf_str(&b), "name=s%C3%A3o%20paulo&count=1"));
    nb_buf_release(&b);
    char reason[64];
    const char *body = "{\"reason\":\"Minutely API request limit exceeded.\",\"error\":true}";
    api_om_error_reason(body, strlen(body), reason, sizeof(reason));
    assert_string_equal(reason, "Minutely API request limit exceeded.");
    api_om_error_reason("<html>", 6, reason, sizeof(reason));
    assert_string_equal(reason, "");
}

/* Open-Meteo's counting: more than 10 variables or 14 days cost more. */
static void what_a_call_costs(void **state)
{
    const char *base = "https://api.open-meteo.com/v1/forecast?latitude=1&longitude=2";
    char url[1024];
    snprintf(url, sizeof(url), "%s&current=temperature_2m,weather_code&forecast_days=7", base);
    assert_true(fabs(api_om_url_cost(url) - 1.0) < 1e-9);
    snprintf(url, sizeof(url), "%s&current=a,b,c,d,e&daily=f,g,h,i,j,k,l,m,n,o&forecast_days=7",
             base);
    assert_true(fabs(api_om_url_cost(url) - 1.5) < 1e-9); /* 15 variables */
    snprintf(url, sizeof(url), "%s&daily=a&forecast_days=14&past_days=14", base);
    assert_true(fabs(api_om_url_cost(url) - 2.0) < 1e-9); /* 4 weeks */
    snprintf(url, sizeof(url), "%s&hourly=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t&forecast_days=16",
             base);
    assert_true(fabs(api_om_url_cost(url) - 2.0 * 16.0 / 14.0) < 1e-9);
    assert_true(api_om_url_cost("https://geocoding-api.open-meteo.com/v1/search?name=Berlin") ==
                1.0);
    /* What the api asks today: its own URL builder's variables and days. */
    nb_buf u;
    nb_buf_init(&u, 4096);
    assert_int_equal(api_om_forecast_url(&u, "http://x/v1/forecast", 52.52, 13.41, 16, "auto"),
                     NB_OK);
    double c = api_om_url_cost(nb_buf_str(&u));
    assert_true(c > 1.0 && c < 10.0);
    nb_buf_release(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forecast_becomes_a_record),
        cmocka_unit_test(hourly_series_becomes_arrays),
        cmocka_unit_test(hourly_quirks),
        cmocka_unit_test(the_url_asks_for_the_hourly_series),
        cmocka_unit_test(broken_forecasts_are_refused),
        cmocka_unit_test(geocoding_results_and_none),
        cmocka_unit_test(absurd_elevation_is_dropped_not_stored),
        cmocka_unit_test(urls_and_reasons),
        cmocka_unit_test(what_a_call_costs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
