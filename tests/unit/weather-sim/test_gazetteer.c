/* test_gazetteer.c — Open-Meteo's name rules on the built-in gazetteer:
 * diacritics folding, <2 characters empty, 2 characters exact only, 3+ prefix
 * and fuzzy, the ", admin/country" filter, countryCode, postcodes, nearest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "nimbus/tz.h"
#include "sim_gazetteer.h"

static const ws_place *first(const char *q, const char *cc)
{
    const ws_place *out[10];
    return ws_gaz_search(q, cc, out, 10) ? out[0] : NULL;
}

static void fold_removes_diacritics_and_case(void **state)
{
    char out[64];
    (void)state;
    ws_gaz_fold("  São   Paulo ", out, sizeof(out));
    assert_string_equal(out, "sao paulo");
    ws_gaz_fold("ZÜRICH", out, sizeof(out));
    assert_string_equal(out, "zurich");
    ws_gaz_fold("Kraków", out, sizeof(out));
    assert_string_equal(out, "krakow");
    ws_gaz_fold("Łódź", out, sizeof(out));
    assert_string_equal(out, "lodz");
    ws_gaz_fold("Straße", out, sizeof(out));
    assert_string_equal(out, "strasse");
    ws_gaz_fold("Ōsaka", out, sizeof(out));
    assert_string_equal(out, "osaka");
}

static void ascii_names_find_accented_places(void **state)
{
    static const struct {
        const char *query, *name;
    } cases[] = {
        {"Sao Paulo", "São Paulo"}, {"Zurich", "Zürich"},   {"Krakow", "Kraków"},
        {"Reykjavik", "Reykjavík"}, {"munchen", "München"}, {"Malmo", "Malmö"},
        {"bogota", "Bogotá"},       {"QUEBEC", "Québec"},   {"Osaka", "Ōsaka"},
        {"São Paulo", "São Paulo"}, {"zürich", "Zürich"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const ws_place *p = first(cases[i].query, NULL);
        assert_non_null(p);
        assert_string_equal(p->name, cases[i].name);
    }
}

static void under_two_characters_is_empty(void **state)
{
    const ws_place *out[10];
    (void)state;
    assert_int_equal(ws_gaz_search("B", NULL, out, 10), 0);
    assert_int_equal(ws_gaz_search("  ", NULL, out, 10), 0);
    assert_int_equal(ws_gaz_search("", NULL, out, 10), 0);
    assert_int_equal(ws_gaz_search("Ö", NULL, out, 10), 0);
}

static void two_characters_match_exactly_only(void **state)
{
    const ws_place *out[10];
    (void)state;
    /* "Be" is a prefix of Berlin, Bern, ... but two characters must match whole */
    assert_int_equal(ws_gaz_search("Be", NULL, out, 10), 0);
    assert_int_equal(ws_gaz_search("eu", NULL, out, 10), 1);
    assert_string_equal(out[0]->name, "Eu");
}

static void three_characters_prefix_and_fuzzy(void **state)
{
    const ws_place *out[20];
    size_t n;
    (void)state;
    n = ws_gaz_search("Ber", NULL, out, 20);
    assert_true(n >= 4);                         /* Berlin (DE), Bern, Bergen, Berlin (US), ... */
    assert_string_equal(out[0]->name, "Berlin"); /* most populous first */
    assert_string_equal(out[0]->country_code, "DE");
    /* a typo still finds it */
    assert_string_equal(first("Berlni", NULL)->name, "Berlin");
    assert_string_equal(first("Amsterdm", NULL)->name, "Amsterdam");
    /* word prefix: "york" finds New York */
    assert_string_equal(first("york", NULL)->name, "New York");
    assert_null(first("Xyzzyplugh", NULL));
}

static void comma_filters_by_admin_or_country(void **state)
{
    const ws_place *out[10];
    (void)state;
    assert_int_equal(ws_gaz_search("Paris, Texas", NULL, out, 10), 1);
    assert_string_equal(out[0]->country_code, "US");
    assert_int_equal(ws_gaz_search("Berlin, Germany", NULL, out, 10), 1);
    assert_string_equal(out[0]->country_code, "DE");
    assert_int_equal(ws_gaz_search("London, Ontario", NULL, out, 10), 1);
    assert_string_equal(out[0]->country_code, "CA");
    assert_int_equal(ws_gaz_search("Berlin, Bavaria", NULL, out, 10), 0);
    /* both Berlins without a filter, only one with countryCode */
    assert_int_equal(ws_gaz_search("Berlin", NULL, out, 10), 2);
    assert_int_equal(ws_gaz_search("Berlin", "US", out, 10), 1);
    assert_string_equal(out[0]->admin1, "New Hampshire");
}

static void count_limits_and_postcodes(void **state)
{
    const ws_place *out[10];
    (void)state;
    assert_int_equal(ws_gaz_search("Ber", NULL, out, 1), 1);
    assert_string_equal(first("10967", NULL)->name, "Berlin");
}

static void table_is_real_and_complete(void **state)
{
    (void)state;
    assert_true(ws_gaz_count() >= 100);
    for (size_t i = 0; i < ws_gaz_count(); i++) {
        const ws_place *p = ws_gaz_at(i);
        assert_true(p->latitude >= -90 && p->latitude <= 90);
        assert_true(p->longitude >= -180 && p->longitude <= 180);
        assert_non_null(ws_gaz_country_name(p->country_code));
        int off;
        if (!nb_tz_offset(p->timezone, 0, &off))
            fail_msg("%s: unknown time zone %s", p->name, p->timezone);
    }
    const ws_place *berlin = first("Berlin", "DE");
    assert_int_equal(berlin->id, 2950159);
    assert_true(berlin->latitude == 52.52437 && berlin->longitude == 13.41053);
    assert_string_equal(berlin->timezone, "Europe/Berlin");
}

static void nearest_place(void **state)
{
    double km;
    (void)state;
    assert_string_equal(ws_gaz_nearest(52.52, 13.41, &km)->name, "Berlin");
    assert_true(km < 2);
    ws_gaz_nearest(-45.0, -130.0, &km); /* South Pacific */
    assert_true(km > 1500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fold_removes_diacritics_and_case),
        cmocka_unit_test(ascii_names_find_accented_places),
        cmocka_unit_test(under_two_characters_is_empty),
        cmocka_unit_test(two_characters_match_exactly_only),
        cmocka_unit_test(three_characters_prefix_and_fuzzy),
        cmocka_unit_test(comma_filters_by_admin_or_country),
        cmocka_unit_test(count_limits_and_postcodes),
        cmocka_unit_test(table_is_real_and_complete),
        cmocka_unit_test(nearest_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
