/* What GET /v1/weather reads from a request: a place by name or coordinates,
 * the days, whether the client revalidates; and the reason for every refusal
 * (the text of the 400 answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"

/* Parses in and expects the refusal why. */
static void refused(const query_args *in, const char *why)
{
    query q;
    char reason[256];
    assert_int_equal(api_query_parse(in, &q, reason, sizeof(reason)), NB_ERR_INVALID);
    assert_string_equal(reason, why);
}

static query parsed(const query_args *in)
{
    query q;
    char reason[256] = "";
    nb_err e = api_query_parse(in, &q, reason, sizeof(reason));
    if (e != NB_OK) fail_msg("refused: %s", reason);
    return q;
}

static void a_city_is_normalised(void **state)
{
    query q = parsed(&(query_args){.city = "  São   PAULO "});
    assert_true(q.by_name);
    assert_string_equal(q.name, "são paulo");
    assert_int_equal(q.days, QUERY_DEFAULT_DAYS);
    assert_false(q.revalidate);
}

static void coordinates_become_the_grid_key(void **state)
{
    query q = parsed(&(query_args){.lat = "52.5200", .lon = "13.4050", .days = "3"});
    assert_false(q.by_name);
    assert_string_equal(q.key, "52.52,13.41");
    assert_int_equal(q.days, 3);
    q = parsed(&(query_args){.lat = "-0.001", .lon = "-180"});
    assert_string_equal(q.key, "0.00,-180.00");
}

static void days_range_from_1_to_16(void **state)
{
    assert_int_equal(parsed(&(query_args){.city = "x y", .days = "1"}).days, 1);
    assert_int_equal(parsed(&(query_args){.city = "x y", .days = "16"}).days, 16);
    const char *bad[] = {"0", "17", "", "3.5", "3x", "-1", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused(&(query_args){.city = "Berlin", .days = bad[i]},
                "days must be a whole number from 1 to 16");
}

static void hours_and_units(void **state)
{
    query q = parsed(&(query_args){.city = "Berlin"});
    assert_int_equal(q.hours, QUERY_DEFAULT_HOURS);
    assert_int_equal(q.units, NB_UNITS_METRIC);
    q = parsed(&(query_args){.city = "Berlin", .hours = "384", .units = "imperial"});
    assert_int_equal(q.hours, 384);
    assert_int_equal(q.units, NB_UNITS_IMPERIAL);
    assert_int_equal(parsed(&(query_args){.city = "x y", .hours = "1"}).hours, 1);
    assert_int_equal(parsed(&(query_args){.city = "x y", .units = "metric"}).units,
                     NB_UNITS_METRIC);
    const char *bad[] = {"0", "385", "", "2.5", "+3", " 3", "-1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refused(&(query_args){.city = "Berlin", .hours = bad[i]},
                "hours must be a whole number from 1 to 384");
    const char *units[] = {"", "Imperial", "us", "si", "metric "};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        refused(&(query_args){.city = "Berlin", .units = units[i]},
                "units must be metric or imperial");
}

static void every_refusal_says_why(void **state)
{
    refused(&(query_args){.city = "Berlin", .lat = "1"},
            "give either city or lat and lon, not both");
    refused(&(query_args){.city = "Berlin", .lon = "1"},
            "give either city or lat and lon, not both");
    refused(&(query_args){0}, "missing city, or lat and lon");
    refused(&(query_args){.days = "3"}, "missing city, or lat and lon");
    refused(&(query_args){.lat = "52"}, "lat and lon must be given together");
    refused(&(query_args){.lon = "13"}, "lat and lon must be given together");
    const char *bad_lat[] = {"91", "-90.5", "", "abc", "52,5", "nan", "inf", "1e999"};
    for (size_t i = 0; i < sizeof(bad_lat) / sizeof(bad_lat[0]); i++)
        refused(&(query_args){.lat = bad_lat[i], .lon = "13"},
                "lat must be a number from -90 to 90");
    refused(&(query_args){.lat = "52", .lon = "180.01"}, "lon must be a number from -180 to 180");
    refused(&(query_args){.city = ""}, "city: place name is empty");
    refused(&(query_args){.city = "Ber\tlin\n"}, "city: place name contains control characters");
    refused(&(query_args){.city = "\xff"}, "city: place name is not valid UTF-8");
    char long_name[300];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    refused(&(query_args){.city = long_name}, "city: place name is longer than 200 bytes");
}

static void days_are_checked_before_the_place(void **state)
{
    refused(&(query_args){.days = "0"}, "days must be a whole number from 1 to 16");
}

static void revalidation_headers(void **state)
{
    query_args in = {.city = "Berlin"};
    assert_false(parsed(&in).revalidate);
    in.cache_control = "max-age=60";
    assert_false(parsed(&in).revalidate);
    in.cache_control = "no-cache";
    assert_true(parsed(&in).revalidate);
    in.cache_control = "public, max-age=0";
    assert_true(parsed(&in).revalidate);
    in = (query_args){.city = "Berlin", .pragma = "no-cache"};
    assert_true(parsed(&in).revalidate);
    assert_true(parsed(&in).no_cache);
    in = (query_args){.city = "Berlin", .if_none_match = "\"1\""};
    assert_true(parsed(&in).revalidate);
    /* a conditional request may be answered from a cache's fresh copy; no-cache may not */
    assert_false(parsed(&in).no_cache);
    in = (query_args){.city = "Berlin", .cache_control = "no-cache"};
    assert_true(parsed(&in).no_cache);
    in.cache_control = "max-age=05";
    assert_false(parsed(&in).revalidate);
}

static void a_short_reason_buffer_is_not_overrun(void **state)
{
    query q;
    char why[8];
    assert_int_equal(api_query_parse(&(query_args){0}, &q, why, sizeof(why)), NB_ERR_INVALID);
    assert_string_equal(why, "missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_city_is_normalised),
        cmocka_unit_test(coordinates_become_the_grid_key),
        cmocka_unit_test(days_range_from_1_to_16),
        cmocka_unit_test(hours_and_units),
        cmocka_unit_test(every_refusal_says_why),
        cmocka_unit_test(days_are_checked_before_the_place),
        cmocka_unit_test(revalidation_headers),
        cmocka_unit_test(a_short_reason_buffer_is_not_overrun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
