/* Reading subscription requests (sub_request.c): the POST body, the token
 * of the token routes, the place name stored with a subscription. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "nimbus/text.h"
#include "sub_request.h"

static nb_err parse(const char *body, sub_request *out, char *why)
{
    return api_sub_request_parse(body, strlen(body), out, why, 256);
}

static void a_place_by_name_is_normalised_and_kept_as_given(void **state)
{
    sub_request q;
    char why[256];
    assert_int_equal(parse("{\"email\":\"Jo@Example.org\",\"city\":\"  São   PAULO \"}", &q, why),
                     NB_OK);
    assert_true(q.by_name);
    assert_string_equal(q.city, "são paulo");
    assert_string_equal(q.city_given, "  São   PAULO ");
    assert_string_equal(q.email, "Jo@Example.org");
    assert_int_equal(q.rules.n, 1); /* the default: a daily digest */
    assert_int_equal(q.rules.rule[0].kind, NB_RULE_DAILY_DIGEST);
}

static void coordinates_become_a_key_and_a_name(void **state)
{
    sub_request q;
    char why[256];
    assert_int_equal(parse("{\"email\":\"jo@example.org\",\"lat\":-0.001,\"lon\":13.4105,"
                           "\"rules\":[{\"kind\":\"temperature_below\",\"value\":-5}],"
                           "\"quiet_hours\":{\"start\":22,\"end\":7}}",
                           &q, why),
                     NB_OK);
    assert_false(q.by_name);
    assert_string_equal(q.key, "0.00,13.41");
    assert_string_equal(q.name, "0.00, 13.41");
    assert_true(q.rules.quiet);
}

static void refusals_name_the_field(void **state)
{
    static const struct {
        const char *body, *reason;
    } cases[] = {
        {"", "the body must be a JSON object"},
        {"[1]", "the body must be a JSON object (got another JSON value)"},
        {"{\"email\":\"a@b.example\",\"email\":\"c@d.example\",\"lat\":1,\"lon\":1}",
         "the body must be a JSON object (duplicate object key"},
        {"{\"email\":\"jo@example.org\",\"lat\":1,\"lon\":2,\"colour\":1}",
         "unknown field 'colour' (email, city or lat and lon, rules, quiet_hours)"},
        {"{\"email\":7,\"lat\":1,\"lon\":2}", "email: missing"},
        {"{\"email\":\"jo\",\"lat\":1,\"lon\":2}", "email: no @"},
        {"{\"email\":\"jo@example.org\",\"lat\":1,\"lon\":2,\"rules\":[]}", "from 1 to 10 rules"},
        {"{\"email\":\"jo@example.org\"}", "missing city, or lat and lon"},
        {"{\"email\":\"jo@example.org\",\"city\":\"x\",\"lon\":2}", "either city or lat and lon"},
        {"{\"email\":\"jo@example.org\",\"city\":5}", "city: a place name"},
        {"{\"email\":\"jo@example.org\",\"city\":\" \"}", "city: place name is empty"},
        {"{\"email\":\"jo@example.org\",\"lon\":2}", "lat and lon must be given together"},
        {"{\"email\":\"jo@example.org\",\"lat\":\"1\",\"lon\":2}", "lat must be a number"},
        {"{\"email\":\"jo@example.org\",\"lat\":1,\"lon\":180.5}", "lon must be a number"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sub_request q;
        char why[256] = "";
        assert_int_equal(parse(cases[i].body, &q, why), NB_ERR_INVALID);
        if (!strstr(why, cases[i].reason)) fail_msg("%s: got '%s'", cases[i].body, why);
    }
}

/* The reason quotes what jansson quotes of a bad body: cut to UTF-8 (a
 * 400's text), as fuzz_persistence_subs found for persistence's reader. */
static void a_bad_body_is_refused_with_a_utf8_reason(void **state)
{
    sub_request q;
    char why[256];
    const char bad[] = "{\"email\\u2\xc3\xbc"
                       "02\":1}"; /* an escape cut by ü */
    assert_int_equal(api_sub_request_parse(bad, sizeof(bad) - 1, &q, why, sizeof(why)),
                     NB_ERR_INVALID);
    assert_true(strncmp(why, "the body must be a JSON object (", 32) == 0);
    assert_true(nb_utf8_valid(why, strlen(why)));
}

static void tokens_come_from_the_query_or_the_body(void **state)
{
    char t[SUB_TOKEN_MAX + 1];
    assert_true(api_sub_token_read("abcdefghijklmnop_-09", NULL, 0, t));
    assert_string_equal(t, "abcdefghijklmnop_-09");
    const char *body = "{\"token\":\"ABCDEFGHIJKLMNOPQRST\"}";
    assert_true(api_sub_token_read(NULL, body, strlen(body), t));
    assert_string_equal(t, "ABCDEFGHIJKLMNOPQRST");
    assert_false(api_sub_token_read("short", body, strlen(body), t)); /* the query wins */
    assert_false(api_sub_token_read("abcdefghijklmnop=", NULL, 0, t));
    assert_false(api_sub_token_read(NULL, "{\"token\":1}", 11, t));
    assert_false(api_sub_token_read(NULL, NULL, 0, t));
    char longer[SUB_TOKEN_MAX + 2];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_false(api_sub_token_read(longer, NULL, 0, t));
}

static void place_names_are_cut_between_characters(void **state)
{
    nb_place p = {0};
    snprintf(p.name, sizeof(p.name), "Berlin");
    snprintf(p.country, sizeof(p.country), "Germany");
    char out[SUB_NAME_MAX + 1];
    api_sub_place_name(&p, out);
    assert_string_equal(out, "Berlin, Germany");
    p.country[0] = '\0';
    api_sub_place_name(&p, out);
    assert_string_equal(out, "Berlin");
    /* 63 two-byte characters: 126 bytes, cut to at most 100 — never inside one. */
    p.name[0] = '\0';
    for (int i = 0; i < 63; i++)
        strcat(p.name, "ü");
    snprintf(p.country, sizeof(p.country), "Österreich");
    api_sub_place_name(&p, out);
    assert_true(nb_utf8_valid(out, strlen(out)));
    assert_true(strlen(out) <= SUB_NAME_MAX);
    assert_non_null(strstr(out, ", Österreich"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_place_by_name_is_normalised_and_kept_as_given),
        cmocka_unit_test(coordinates_become_a_key_and_a_name),
        cmocka_unit_test(refusals_name_the_field),
        cmocka_unit_test(a_bad_body_is_refused_with_a_utf8_reason),
        cmocka_unit_test(tokens_come_from_the_query_or_the_body),
        cmocka_unit_test(place_names_are_cut_between_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
