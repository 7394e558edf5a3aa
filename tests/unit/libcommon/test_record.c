/* Record and geocoding codecs, location keys and query normalisation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nimbus/record.h"

static const char good[] =
    "{\"key\":\"52.52,13.41\",\"latitude\":52.52,\"longitude\":13.41,"
    "\"fetched_at\":\"2026-11-24T00:05:49.123Z\",\"timezone\":\"Europe/Berlin\","
    "\"timezone_abbreviation\":\"GMT+1\",\"utc_offset_seconds\":3600,\"elevation\":38.0,"
    "\"current\":{\"time\":\"2026-11-24T01:00\",\"temperature\":4.4,\"relative_humidity\":81,"
    "\"weather_code\":3,\"wind_speed\":null,\"is_day\":false},"
    "\"daily\":[{\"date\":\"2026-11-24\",\"weather_code\":61,\"temperature_max\":6.1,"
    "\"temperature_min\":1.2,\"sunrise\":\"2026-11-24T07:45\",\"sunset\":null}]}";

static void keys_round_to_two_decimals(void **state)
{
    char k[NB_KEY_MAX];
    assert_int_equal(nb_location_key(52.52437, 13.41053, k), NB_OK);
    assert_string_equal(k, "52.52,13.41");
    assert_int_equal(nb_location_key(-0.001, -0.004, k), NB_OK);
    assert_string_equal(k, "0.00,0.00");
    assert_int_equal(nb_location_key(-33.8688, 151.2093, k), NB_OK);
    assert_string_equal(k, "-33.87,151.21");
    assert_int_equal(nb_location_key(91, 0, k), NB_ERR_INVALID);
    assert_int_equal(nb_location_key(NAN, 0, k), NB_ERR_INVALID);
}

static void key_validation_is_canonical(void **state)
{
    double lat, lon;
    assert_true(nb_location_key_valid("52.52,13.41", &lat, &lon));
    assert_true(fabs(lat - 52.52) < 1e-9 && fabs(lon - 13.41) < 1e-9);
    assert_false(nb_location_key_valid("52.5,13.41", NULL, NULL));
    assert_false(nb_location_key_valid("52.520,13.41", NULL, NULL));
    assert_false(nb_location_key_valid("-0.00,13.41", NULL, NULL));
    assert_false(nb_location_key_valid("95.00,13.41", NULL, NULL));
    assert_false(nb_location_key_valid("52.52,13.41x", NULL, NULL));
    assert_false(nb_location_key_valid("", NULL, NULL));
}

static void record_round_trip(void **state)
{
    nb_record r;
    const char *why = NULL;
    assert_int_equal(nb_record_parse(good, strlen(good), &r, &why), NB_OK);
    assert_string_equal(r.key, "52.52,13.41");
    assert_int_equal(r.fetched_at_ms, 1795478749123LL);
    assert_true(isnan(r.current.wind_speed));
    assert_true(r.current.is_day == 0);
    assert_int_equal(r.ndays, 1);
    assert_string_equal(r.daily[0].sunset, "");
    size_t len;
    char *s = nb_record_dump(&r, &len);
    assert_non_null(s);
    nb_record again;
    assert_int_equal(nb_record_parse(s, len, &again, &why), NB_OK);
    assert_int_equal(again.fetched_at_ms, r.fetched_at_ms);
    assert_true(fabs(again.current.temperature - 4.4) < 1e-9);
    assert_true(isnan(again.current.wind_speed));
    assert_string_equal(again.daily[0].sunrise, "2026-11-24T07:45");
    assert_non_null(strstr(s, "\"wind_speed\":null"));
    free(s);
}

static void record_rejections_name_the_field(void **state)
{
    static const struct {
        const char *body, *why_has;
    } bad[] = {
        {"not json", "not valid JSON"},
        {"[]", "object"},
        {"{\"key\":\"52.5,13.41\"}", "key"},
        {"{\"key\":\"52.52,13.41\",\"latitude\":\"x\"}", "latitude"},
        {"{\"key\":\"52.52,13.41\",\"latitude\":52.52,\"longitude\":13.41,"
         "\"fetched_at\":\"yesterday\"}",
         "fetched_at"},
        {"{\"key\":\"52.52,13.41\",\"key\":\"52.52,13.41\"}", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nb_record r;
        const char *why = NULL;
        assert_int_equal(nb_record_parse(bad[i].body, strlen(bad[i].body), &r, &why),
                         NB_ERR_INVALID);
        assert_non_null(why);
        assert_non_null(strstr(why, bad[i].why_has));
    }
}

/* good with one substring replaced (the test's own buffer). */
static const char *good_with(const char *from, const char *to)
{
    static char out[sizeof(good) + 128];
    const char *at = strstr(good, from);
    assert_non_null(at);
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
    return out;
}

/* Found with fuzz_record's round-trip check: records the codec accepted but
 * whose encoding it then refused, so persistence would store what the api
 * cannot read. */
static void accepted_records_survive_their_encoding(void **state)
{
    static const struct {
        const char *from, *to, *why_has;
    } bad[] = {
        /* printed with 10 digits, 1.797693135e308 is past DBL_MAX */
        {"\"temperature\":4.4", "\"temperature\":1.7976931348623157e308", "current values"},
        {"\"temperature_max\":6.1", "\"temperature_max\":-1e7", "daily values"},
        {"\"elevation\":38.0", "\"elevation\":1e300", "elevation"},
        /* an instant in year -1, printed "-001-12-31T23:59:00.000Z" */
        {"2026-11-24T00:05:49.123Z", "0000-01-01T00:00:00+00:01", "fetched_at"},
        {"2026-11-24T00:05:49.123Z", "9999-12-31T23:59:59.999-00:01", "fetched_at"},
        /* llabs(INT64_MIN) is undefined (it passed the range check as a negative) */
        {"\"utc_offset_seconds\":3600", "\"utc_offset_seconds\":-9223372036854775808",
         "utc_offset_seconds"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *body = good_with(bad[i].from, bad[i].to);
        nb_record r;
        const char *why = NULL;
        assert_int_equal(nb_record_parse(body, strlen(body), &r, &why), NB_ERR_INVALID);
        assert_non_null(strstr(why, bad[i].why_has));
    }
    /* The edges themselves are fine, and survive. */
    static const char *const edges[][2] = {
        {"\"temperature\":4.4", "\"temperature\":-1e6"},
        {"2026-11-24T00:05:49.123Z", "0000-01-01T00:00:00Z"},
        {"2026-11-24T00:05:49.123Z", "9999-12-31T23:59:59.999Z"},
    };
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        const char *body = good_with(edges[i][0], edges[i][1]);
        nb_record r, again;
        const char *why = NULL;
        assert_int_equal(nb_record_parse(body, strlen(body), &r, &why), NB_OK);
        size_t len;
        char *s = nb_record_dump(&r, &len);
        assert_int_equal(nb_record_parse(s, len, &again, &why), NB_OK);
        assert_int_equal(again.fetched_at_ms, r.fetched_at_ms);
        assert_true(again.current.temperature == r.current.temperature);
        free(s);
    }
}

/* good with an hourly section of n entries built from the given arrays. */
static char *good_with_hourly(const char *hourly)
{
    static char out[sizeof(good) + 8192];
    snprintf(out, sizeof(out), "%.*s,\"hourly\":%s}", (int)strlen(good) - 1, good, hourly);
    return out;
}

static void hourly_round_trip(void **state)
{
    const char *body = good_with_hourly(
        "{\"start\":\"2026-11-23T23:00:00Z\",\"temperature\":[4.4,null,-1.25],"
        "\"apparent_temperature\":[1.1,2,3],\"precipitation_probability\":[0,55,100],"
        "\"precipitation\":[0,0.12,3.456],\"weather_code\":[3,61,null],"
        "\"wind_speed\":[11.2,12,13],\"wind_gusts\":[20.5,null,30],\"is_day\":[0,1,null]}");
    nb_record r;
    const char *why = NULL;
    if (nb_record_parse(body, strlen(body), &r, &why) != NB_OK) fail_msg("%s", why);
    assert_int_equal(r.hourly.n, 3);
    assert_int_equal(r.hourly.start_ms, 1795474800000LL);
    assert_true(fabsf(r.hourly.temperature[0] - 4.4f) < 1e-6f);
    assert_true(isnan(r.hourly.temperature[1]));
    assert_true(r.hourly.precipitation_probability[1] == 55);
    assert_true(isnan(r.hourly.weather_code[2]));
    assert_true(r.hourly.is_day[1] == 1 && isnan(r.hourly.is_day[2]));
    /* index of an instant */
    assert_int_equal(nb_hourly_index(&r.hourly, 1795474800000LL - 1), -1);
    assert_int_equal(nb_hourly_index(&r.hourly, 1795474800000LL), 0);
    assert_int_equal(nb_hourly_index(&r.hourly, 1795474800000LL + 7199999), 1);
    assert_int_equal(nb_hourly_index(&r.hourly, 1795474800000LL + 3 * 3600000), 3);
    size_t len;
    char *s = nb_record_dump(&r, &len);
    /* the upstream's decimals, not float noise; 3.456 mm keeps 2 decimals */
    assert_non_null(strstr(s, "\"temperature\":[4.4,null,-1.3]")); /* half away from 0 */
    assert_non_null(strstr(s, "\"precipitation\":[0,0.12,3.46]"));
    assert_non_null(strstr(s, "\"weather_code\":[3,61,null]"));
    assert_non_null(strstr(s, "\"is_day\":[0,1,null]"));
    assert_non_null(strstr(s, "\"start\":\"2026-11-23T23:00:00.000Z\""));
    nb_record again;
    assert_int_equal(nb_record_parse(s, len, &again, &why), NB_OK);
    char *s2 = nb_record_dump(&again, NULL);
    assert_string_equal(s, s2); /* a fixed point */
    free(s);
    free(s2);
    /* no hourly section: none written back */
    assert_int_equal(nb_record_parse(good, strlen(good), &r, &why), NB_OK);
    assert_int_equal(r.hourly.n, 0);
    s = nb_record_dump(&r, NULL);
    assert_null(strstr(s, "hourly"));
    free(s);
}

static void hourly_rejections(void **state)
{
    static const char all[] = "\"apparent_temperature\":[1],\"precipitation_probability\":[1],"
                              "\"precipitation\":[1],\"weather_code\":[1],\"wind_speed\":[1],"
                              "\"wind_gusts\":[1],\"is_day\":[1]}";
    static const struct {
        const char *hourly, *why_has;
    } bad[] = {
        {"[]", "hourly must be an object"},
        {"{\"start\":\"2026-11-23T23:00:30Z\",\"temperature\":[1],", "whole minute"},
        {"{\"start\":\"x\",\"temperature\":[1],", "hourly.start"},
        {"{\"start\":\"2026-11-23T23:00:00Z\",\"temperature\":[1,2],", "same length"},
        {"{\"start\":\"2026-11-23T23:00:00Z\",\"temperature\":[\"warm\"],", "numbers"},
        {"{\"start\":\"2026-11-23T23:00:00Z\",\"temperature\":[1e6],", "1e5"},
        {"{\"start\":\"2026-11-23T23:00:00Z\",\"temperature\":1,", "array for every"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char h[1024];
        snprintf(h, sizeof(h), "%s%s", bad[i].hourly, bad[i].hourly[0] == '{' ? all : "");
        const char *body = good_with_hourly(h);
        nb_record r;
        const char *why = NULL;
        assert_int_equal(nb_record_parse(body, strlen(body), &r, &why), NB_ERR_INVALID);
        if (!strstr(why, bad[i].why_has)) fail_msg("%s: %s", h, why);
    }
    const char *code = good_with_hourly(
        "{\"start\":\"2026-11-23T23:00:00Z\",\"temperature\":[1],\"apparent_temperature\":[1],"
        "\"precipitation_probability\":[1],\"precipitation\":[1],\"weather_code\":[100],"
        "\"wind_speed\":[1],\"wind_gusts\":[1],\"is_day\":[2]}");
    nb_record r;
    const char *why = NULL;
    assert_int_equal(nb_record_parse(code, strlen(code), &r, &why), NB_ERR_INVALID);
    assert_non_null(strstr(why, "WMO"));
}

static void geo_normalise(void **state)
{
    char out[NB_QUERY_MAX + 1];
    const char *why = NULL;
    assert_int_equal(nb_geo_normalise("  São   Paulo ", out, &why), NB_OK);
    assert_string_equal(out, "são paulo");
    assert_int_equal(nb_geo_normalise("   ", out, &why), NB_ERR_INVALID);
    assert_non_null(strstr(why, "empty"));
    assert_int_equal(nb_geo_normalise("Ber\xff"
                                      "lin",
                                      out, &why),
                     NB_ERR_INVALID);
    assert_non_null(strstr(why, "UTF-8"));
    assert_int_equal(nb_geo_normalise("a\x01", out, &why), NB_ERR_INVALID);
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(nb_geo_normalise(longname, out, &why), NB_ERR_INVALID);
    assert_non_null(strstr(why, "200"));
}

static void geo_round_trip(void **state)
{
    nb_geo_entry g = {.found = true, .resolved_at_ms = 1795478749000LL};
    strcpy(g.query, "berlin");
    g.place = (nb_place){.id = 2950159,
                         .latitude = 52.52437,
                         .longitude = 13.41053,
                         .elevation = NAN,
                         .population = 3426354};
    strcpy(g.place.name, "Berlin");
    strcpy(g.place.timezone, "Europe/Berlin");
    strcpy(g.place.country_code, "DE");
    size_t len;
    char *s = nb_geo_dump(&g, &len);
    nb_geo_entry back;
    const char *why = NULL;
    assert_int_equal(nb_geo_parse(s, len, &back, &why), NB_OK);
    assert_true(back.found);
    assert_string_equal(back.place.name, "Berlin");
    assert_int_equal(back.place.population, 3426354);
    assert_true(fabs(back.place.latitude - 52.52437) < 1e-9);
    free(s);
    static const char nf[] = "{\"query\":\"atlantis\",\"found\":false,"
                             "\"resolved_at\":\"2026-11-24T00:00:00Z\","
                             "\"expires_at\":\"2026-11-24T00:05:00Z\"}";
    assert_int_equal(nb_geo_parse(nf, strlen(nf), &back, &why), NB_OK);
    assert_false(back.found);
    assert_int_equal(back.expires_at_ms - back.resolved_at_ms, 300000);
    static const char missing_place[] = "{\"query\":\"x\",\"found\":true,"
                                        "\"resolved_at\":\"2026-11-24T00:00:00Z\"}";
    assert_int_equal(nb_geo_parse(missing_place, strlen(missing_place), &back, &why),
                     NB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_round_to_two_decimals),
        cmocka_unit_test(key_validation_is_canonical),
        cmocka_unit_test(record_round_trip),
        cmocka_unit_test(record_rejections_name_the_field),
        cmocka_unit_test(accepted_records_survive_their_encoding),
        cmocka_unit_test(hourly_round_trip),
        cmocka_unit_test(hourly_rejections),
        cmocka_unit_test(geo_normalise),
        cmocka_unit_test(geo_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
