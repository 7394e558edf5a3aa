/* The WMO table: conditions, icons and emoji by day and night, and the script form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/wmo.h"

static void emoji_follow_codes_and_day(void **state)
{
    assert_string_equal(nb_wmo_emoji(0, 1), "☀️");
    assert_string_equal(nb_wmo_emoji(0, 0), "🌙");
    assert_string_equal(nb_wmo_emoji(0, NAN), "☀️");
    assert_string_equal(nb_wmo_emoji(2, 1), "⛅");
    assert_string_equal(nb_wmo_emoji(3, 0), "☁️");
    assert_string_equal(nb_wmo_emoji(45, 1), "🌫️");
    assert_string_equal(nb_wmo_emoji(63, 1), "🌧️");
    assert_string_equal(nb_wmo_emoji(75, 1), "🌨️");
    assert_string_equal(nb_wmo_emoji(81, 1), "🌦️");
    assert_string_equal(nb_wmo_emoji(95, 1), "⛈️");
    assert_string_equal(nb_wmo_emoji(NAN, 1), "🌡️");
    assert_string_equal(nb_wmo_emoji(42, 1), "🌡️");
}

static void icon_names_for_the_page(void **state)
{
    assert_string_equal(nb_wmo_icon(0, 1), "sun");
    assert_string_equal(nb_wmo_icon(0, 0), "moon");
    assert_string_equal(nb_wmo_icon(1, 1), "partly");
    assert_string_equal(nb_wmo_icon(3, NAN), "cloud");
    assert_string_equal(nb_wmo_icon(48, 1), "fog");
    assert_string_equal(nb_wmo_icon(53, 1), "drizzle");
    assert_string_equal(nb_wmo_icon(65, 1), "rain");
    assert_string_equal(nb_wmo_icon(86, 1), "snow");
    assert_string_equal(nb_wmo_icon(99, 1), "thunder");
    assert_string_equal(nb_wmo_icon(NAN, 1), "unknown");
}

static void conditions_by_code(void **state)
{
    assert_string_equal(nb_wmo_condition(3), "Overcast");
    assert_string_equal(nb_wmo_condition(95), "Thunderstorm");
    assert_string_equal(nb_wmo_condition(42), "Unknown");
    assert_string_equal(nb_wmo_condition_of(61), "Slight rain");
    assert_string_equal(nb_wmo_condition_of(NAN), "Unknown");
    assert_string_equal(nb_wmo_condition_of(61.5), "Unknown");
    assert_string_equal(nb_wmo_condition_of(1e300), "Unknown");
}

static void script_table_matches_c_table(void **state)
{
    char *js = nb_wmo_js();
    assert_non_null(js);
    assert_non_null(strstr(js, "var NB_WMO = {"));
    assert_non_null(
        strstr(js, "\"0\":{\"condition\":\"Clear sky\",\"icon\":\"sun\",\"night\":\"moon\"}"));
    assert_non_null(
        strstr(js, "\"99\":{\"condition\":\"Thunderstorm with heavy hail\",\"icon\":\"thunder\""));
    assert_non_null(strstr(js, "};\n"));
    free(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conditions_by_code),
        cmocka_unit_test(emoji_follow_codes_and_day),
        cmocka_unit_test(icon_names_for_the_page),
        cmocka_unit_test(script_table_matches_c_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
