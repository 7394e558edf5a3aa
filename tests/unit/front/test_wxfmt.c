/* test_wxfmt.c — presentation helpers, negotiation and header parsing. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api_client.h"
#include "assets.h"
#include "routes.h"
#include "wxfmt.h"

/* 2026-11-24T00:05:00Z, a Tuesday. */
#define T0_MS 1795478700000LL

static void test_fmt_rounds_and_marks_missing(void **state)
{
    char out[32];
    assert_string_equal(fr_wx_fmt(4.44, 1, out, sizeof(out)), "4.4");
    assert_string_equal(fr_wx_fmt(-0.04, 1, out, sizeof(out)), "0.0");
    assert_string_equal(fr_wx_fmt(-0.4, 0, out, sizeof(out)), "0");
    assert_string_equal(fr_wx_fmt(-3.25, 1, out, sizeof(out)), "-3.2");
    assert_string_equal(fr_wx_fmt(NAN, 1, out, sizeof(out)), FR_MISSING);
    assert_string_equal(fr_wx_fmt(INFINITY, 0, out, sizeof(out)), FR_MISSING);
}

static void test_compass_points(void **state)
{
    assert_string_equal(fr_wx_compass(0), "N");
    assert_string_equal(fr_wx_compass(11.2), "N");
    assert_string_equal(fr_wx_compass(11.3), "NNE");
    assert_string_equal(fr_wx_compass(45), "NE");
    assert_string_equal(fr_wx_compass(270), "W");
    assert_string_equal(fr_wx_compass(359), "N");
    assert_string_equal(fr_wx_compass(-90), "W");
    assert_string_equal(fr_wx_compass(NAN), "");
}

static void test_local_time_uses_utc_offset(void **state)
{
    char out[32];
    fr_wx_local_time(T0_MS, 0, out, sizeof(out));
    assert_string_equal(out, "Tue 00:05");
    fr_wx_local_time(T0_MS, 3600, out, sizeof(out));
    assert_string_equal(out, "Tue 01:05");
    fr_wx_local_time(T0_MS, -3 * 3600, out, sizeof(out)); /* São Paulo: the day before */
    assert_string_equal(out, "Mon 21:05");
    fr_wx_local_time(T0_MS, 5 * 3600 + 1800, out, sizeof(out)); /* India, half hours */
    assert_string_equal(out, "Tue 05:35");
    fr_wx_local_date(T0_MS, -3 * 3600, out, sizeof(out));
    assert_string_equal(out, "2026-11-23");
}

static void test_day_labels(void **state)
{
    char out[32];
    fr_wx_day_label("2026-11-24", "2026-11-24", out, sizeof(out));
    assert_string_equal(out, "Today");
    fr_wx_day_label("2026-11-25", "2026-11-24", out, sizeof(out));
    assert_string_equal(out, "Tomorrow");
    fr_wx_day_label("2026-12-01", "2026-11-30", out, sizeof(out)); /* across a month */
    assert_string_equal(out, "Tomorrow");
    fr_wx_day_label("2026-11-26", "2026-11-24", out, sizeof(out));
    assert_string_equal(out, "Thu 26");
    fr_wx_day_label("garbage", NULL, out, sizeof(out));
    assert_string_equal(out, "garbage");
}

static void test_first_day_skips_the_past(void **state)
{
    json_t *daily = json_loads("[{\"date\":\"2026-11-23\"},{\"date\":\"2026-11-24\"},"
                               "{\"date\":\"2026-11-25\"}]",
                               0, NULL);
    assert_int_equal(fr_wx_first_day(daily, "2026-11-22"), 0);
    assert_int_equal(fr_wx_first_day(daily, "2026-11-24"), 1);
    assert_int_equal(fr_wx_first_day(daily, "2026-11-25"), 2);
    assert_int_equal(fr_wx_first_day(daily, "2026-11-30"), 0); /* all past: show them */
    assert_int_equal(fr_wx_first_day(daily, ""), 0);
    json_decref(daily);
}

static void test_ago_phrases(void **state)
{
    char out[48];
    fr_wx_ago(-5, out, sizeof(out));
    assert_string_equal(out, "just now");
    fr_wx_ago(59, out, sizeof(out));
    assert_string_equal(out, "just now");
    fr_wx_ago(60, out, sizeof(out));
    assert_string_equal(out, "1 minute ago");
    fr_wx_ago(12 * 60 + 30, out, sizeof(out));
    assert_string_equal(out, "12 minutes ago");
    fr_wx_ago(3 * 3600, out, sizeof(out));
    assert_string_equal(out, "3 hours ago");
    fr_wx_ago(3 * 86400, out, sizeof(out));
    assert_string_equal(out, "3 days ago");
}

static void test_negotiation(void **state)
{
    const char *chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    assert_int_equal(fr_negotiate(NULL, chrome, "Mozilla/5.0"), FR_FMT_HTML);
    assert_int_equal(fr_negotiate(NULL, "*/*", "curl/7.88.1"), FR_FMT_TEXT);
    assert_int_equal(fr_negotiate(NULL, "*/*", "Wget/1.21"), FR_FMT_TEXT);
    assert_int_equal(fr_negotiate(NULL, NULL, "HTTPie/3.2"), FR_FMT_TEXT);
    assert_int_equal(fr_negotiate(NULL, "text/plain", "Mozilla/5.0"), FR_FMT_TEXT);
    assert_int_equal(fr_negotiate(NULL, "application/json", "curl/7.88.1"), FR_FMT_JSON);
    assert_int_equal(fr_negotiate("json", chrome, "Mozilla/5.0"), FR_FMT_JSON);
    assert_int_equal(fr_negotiate("text", chrome, "Mozilla/5.0"), FR_FMT_TEXT);
    assert_int_equal(fr_negotiate("html", "*/*", "curl/8"), FR_FMT_HTML);
    assert_int_equal(fr_negotiate("bogus", NULL, NULL), FR_FMT_HTML);
}

static void test_coordinates_in_paths(void **state)
{
    char lat[32], lon[32];
    assert_true(fr_parse_coords("52.52,13.41", lat, lon));
    assert_string_equal(lat, "52.52");
    assert_string_equal(lon, "13.41");
    assert_true(fr_parse_coords("-33.9, 18", lat, lon));
    assert_string_equal(lat, "-33.9");
    assert_string_equal(lon, "18");
    assert_false(fr_parse_coords("Berlin", lat, lon));
    assert_false(fr_parse_coords("52.52", lat, lon));
    assert_false(fr_parse_coords("52.,13", lat, lon));
    assert_false(fr_parse_coords("52.52,13.41x", lat, lon));
    assert_false(fr_parse_coords("1,2,3", lat, lon));
}

/* The place a request names: the path first, then ?city=, then ?lat=&lon=. */
static void test_place_from_path_and_query(void **state)
{
    fr_place p;
    fr_place_parse("Berlin", "Paris", NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_NAME);
    assert_string_equal(p.name, "Berlin");
    assert_string_equal(p.shown, "Berlin");
    char *path = fr_place_path(&p);
    assert_string_equal(path, "/Berlin");
    free(path);

    fr_place_parse("S\xc3\xa3o Paulo//", NULL, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_NAME);
    assert_string_equal(p.name, "S\xc3\xa3o Paulo");
    path = fr_place_path(&p);
    assert_string_equal(path, "/S%C3%A3o%20Paulo");
    free(path);

    fr_place_parse("52.52, 13.41/", NULL, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_COORDS);
    assert_string_equal(p.lat, "52.52");
    assert_string_equal(p.lon, "13.41");
    path = fr_place_path(&p);
    assert_string_equal(path, "/52.52,13.41");
    free(path);

    fr_place_parse("", "Paris", "1", "2", &p);
    assert_int_equal(p.kind, FR_PLACE_NAME);
    assert_string_equal(p.name, "Paris");
    fr_place_parse("", NULL, "-33.9", "18.4", &p);
    assert_int_equal(p.kind, FR_PLACE_COORDS);
    assert_string_equal(p.lon, "18.4");
    assert_null(p.shown);
    fr_place_parse("", NULL, "-33.9", NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_NONE);
    fr_place_parse("", NULL, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_NONE);
    fr_place_parse("///", NULL, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_NONE);
    assert_null(fr_place_path(&p));

    fr_place_parse("favicon.ico", NULL, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_IGNORED);
    fr_place_parse("apple-touch-icon-precomposed.png", NULL, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_IGNORED);
}

static void test_overlong_places_are_refused_with_a_reason(void **state)
{
    char name[FR_PLACE_MAX + 2], coord[40];
    fr_place p;
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    fr_place_parse(name, NULL, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_BAD);
    assert_string_equal(p.reason, "Place names are at most 200 bytes long.");
    assert_string_equal(p.shown, name); /* the search box shows what was typed */
    fr_place_parse("", name, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_BAD);
    name[FR_PLACE_MAX] = '\0';
    fr_place_parse(name, NULL, NULL, NULL, &p);
    assert_int_equal(p.kind, FR_PLACE_NAME);
    /* Coordinates were cut to 31 characters once, silently changing them. */
    memset(coord, '1', sizeof(coord) - 1);
    coord[sizeof(coord) - 1] = '\0';
    fr_place_parse("", NULL, coord, "13", &p);
    assert_int_equal(p.kind, FR_PLACE_BAD);
    assert_string_equal(p.reason, "Coordinates are at most 31 characters each.");
}

static void test_cache_control_parsing(void **state)
{
    long ma, swr;
    fr_cache_control_parse("public, max-age=376, stale-while-revalidate=60", &ma, &swr);
    assert_int_equal(ma, 376);
    assert_int_equal(swr, 60);
    fr_cache_control_parse("public, max-age=0, stale-while-revalidate=30", &ma, &swr);
    assert_int_equal(ma, 0);
    assert_int_equal(swr, 30);
    fr_cache_control_parse("s-maxage=5, no-store", &ma, &swr);
    assert_int_equal(ma, -1);
    assert_int_equal(swr, -1);
    fr_cache_control_parse("", &ma, &swr);
    assert_int_equal(ma, -1);
}

static void test_assets_are_embedded_with_versions(void **state)
{
    const fr_asset *js = fr_asset_find("app.js");
    const fr_asset *css = fr_asset_find("style.css");
    assert_non_null(js);
    assert_non_null(css);
    assert_null(fr_asset_find("../main.c"));
    assert_true(js->blob->len > 1000);
    assert_non_null(strstr((const char *)js->blob->data, "revalidate"));
    assert_int_equal(js->blob->data[js->blob->len], '\0');
    assert_int_equal(strlen(js->blob->version), 12);
    assert_int_equal(strlen(fr_assets_version()), 12);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmt_rounds_and_marks_missing),
        cmocka_unit_test(test_compass_points),
        cmocka_unit_test(test_local_time_uses_utc_offset),
        cmocka_unit_test(test_day_labels),
        cmocka_unit_test(test_first_day_skips_the_past),
        cmocka_unit_test(test_ago_phrases),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_coordinates_in_paths),
        cmocka_unit_test(test_place_from_path_and_query),
        cmocka_unit_test(test_overlong_places_are_refused_with_a_reason),
        cmocka_unit_test(test_cache_control_parsing),
        cmocka_unit_test(test_assets_are_embedded_with_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
