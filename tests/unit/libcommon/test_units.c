/* Metric and imperial: exact conversions from the stored metric figures,
 * Open-Meteo's rounding, NAN kept, names and symbols. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "nimbus/units.h"

static void conversions_are_exact(void **state)
{
    assert_true(nb_c_to_f(0) == 32.0);
    assert_true(nb_c_to_f(100) == 212.0);
    assert_true(nb_c_to_f(-40) == -40.0);
    assert_true(fabs(nb_c_to_f(37) - 98.6) < 1e-12);
    assert_true(fabs(nb_kmh_to_mph(1.609344) - 1.0) < 1e-15);
    assert_true(fabs(nb_kmh_to_mph(100) - 62.13711922373339) < 1e-12);
    assert_true(nb_mm_to_in(25.4) == 1.0);
    assert_true(nb_mm_to_in(0) == 0.0);
}

static void imperial_rounds_like_open_meteo(void **state)
{
    nb_units u = NB_UNITS_IMPERIAL;
    assert_true(nb_units_convert(u, NB_QTY_TEMPERATURE, 4.4) == 39.9);  /* 39.92 */
    assert_true(nb_units_convert(u, NB_QTY_TEMPERATURE, -17.8) == 0.0); /* -0.04: no "-0" */
    assert_false(signbit(nb_units_convert(u, NB_QTY_TEMPERATURE, -17.8)));
    assert_true(nb_units_convert(u, NB_QTY_TEMPERATURE, -12.5) == 9.5);
    assert_true(nb_units_convert(u, NB_QTY_SPEED, 100) == 62.1);
    assert_true(nb_units_convert(u, NB_QTY_SPEED, 11.2) == 7.0);          /* 6.959 */
    assert_true(nb_units_convert(u, NB_QTY_PRECIPITATION, 0.25) == 0.01); /* 0.00984 */
    assert_true(nb_units_convert(u, NB_QTY_PRECIPITATION, 12.7) == 0.5);
    assert_true(nb_units_convert(u, NB_QTY_PRECIPITATION, 0.1) == 0.004);
    assert_true(isnan(nb_units_convert(u, NB_QTY_SPEED, NAN)));
}

static void metric_is_left_alone(void **state)
{
    assert_true(nb_units_convert(NB_UNITS_METRIC, NB_QTY_TEMPERATURE, 4.4) == 4.4);
    assert_true(nb_units_convert(NB_UNITS_METRIC, NB_QTY_PRECIPITATION, 0.123) == 0.123);
    assert_true(isnan(nb_units_convert(NB_UNITS_METRIC, NB_QTY_TEMPERATURE, NAN)));
}

static void names_and_symbols(void **state)
{
    nb_units u = NB_UNITS_IMPERIAL;
    assert_true(nb_units_parse("metric", &u) && u == NB_UNITS_METRIC);
    assert_true(nb_units_parse("imperial", &u) && u == NB_UNITS_IMPERIAL);
    assert_false(nb_units_parse("Imperial", &u));
    assert_false(nb_units_parse("us", &u));
    assert_false(nb_units_parse(NULL, &u));
    assert_string_equal(nb_units_name(NB_UNITS_METRIC), "metric");
    assert_string_equal(nb_units_symbol(NB_UNITS_METRIC, NB_QTY_TEMPERATURE), "°C");
    assert_string_equal(nb_units_symbol(NB_UNITS_IMPERIAL, NB_QTY_TEMPERATURE), "°F");
    assert_string_equal(nb_units_symbol(NB_UNITS_IMPERIAL, NB_QTY_SPEED), "mph");
    assert_string_equal(nb_units_symbol(NB_UNITS_METRIC, NB_QTY_SPEED), "km/h");
    assert_string_equal(nb_units_symbol(NB_UNITS_IMPERIAL, NB_QTY_PRECIPITATION), "in");
    assert_string_equal(nb_units_symbol(NB_UNITS_METRIC, NB_QTY_PRECIPITATION), "mm");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conversions_are_exact),
        cmocka_unit_test(imperial_rounds_like_open_meteo),
        cmocka_unit_test(metric_is_left_alone),
        cmocka_unit_test(names_and_symbols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
