/* test_format.c — numbers printed the way Open-Meteo prints them: snapped
 * grid coordinates as shortest float32 (13.419998), whole values with ".0",
 * rounding per quantity, null for missing values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sim_fmt.h"
#include "sim_weather.h"

static void snapped_berlin_prints_like_open_meteo(void **state)
{
    char lat[32], lon[32];
    ws_cell c;
    (void)state;
    ws_wx_snap(52.52, 13.41, &c);
    ws_fmt_f32_text(c.latitude, lat, sizeof(lat));
    ws_fmt_f32_text(c.longitude, lon, sizeof(lon));
    assert_string_equal(lat, "52.52");
    assert_string_equal(lon, "13.419998");
    /* nearby inputs land in the same cell */
    ws_cell d;
    ws_wx_snap(52.5244, 13.4105, &d);
    assert_int_equal(c.iy, d.iy);
    assert_int_equal(c.ix, d.ix);
}

static void f32_text(void **state)
{
    char s[32];
    (void)state;
    ws_fmt_f32_text(38.0f, s, sizeof(s));
    assert_string_equal(s, "38.0");
    ws_fmt_f32_text(91.0f, s, sizeof(s));
    assert_string_equal(s, "91.0");
    ws_fmt_f32_text(-0.25f, s, sizeof(s));
    assert_string_equal(s, "-0.25");
    ws_fmt_f32_text(NAN, s, sizeof(s));
    assert_string_equal(s, "null");
}

static void num_rounding(void **state)
{
    nb_buf b;
    (void)state;
    nb_buf_init(&b, 1024);
    ws_fmt_num(&b, 4.44, 1);
    nb_buf_adds(&b, " ");
    ws_fmt_num(&b, 4.0, 1);
    nb_buf_adds(&b, " ");
    ws_fmt_num(&b, 80.6, 0);
    nb_buf_adds(&b, " ");
    ws_fmt_num(&b, 0.125, 2);
    nb_buf_adds(&b, " ");
    ws_fmt_num(&b, -0.04, 1);
    nb_buf_adds(&b, " ");
    ws_fmt_num(&b, NAN, 1);
    assert_string_equal(nb_buf_str(&b), "4.4 4.0 81 0.13 0.0 null");
    nb_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapped_berlin_prints_like_open_meteo),
        cmocka_unit_test(f32_text),
        cmocka_unit_test(num_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
