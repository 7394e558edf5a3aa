/* The alert form: urlencoded fields, and the rules they make. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "subscribe.h"

static bool get(const char *body, const char *name, char *out, size_t n)
{
    return fr_form_get(body, strlen(body), name, out, n);
}

static void fields_are_decoded(void **state)
{
    char v[64];
    const char *b = "place=S%C3%A3o+Paulo&email=jo%40example.org&empty=&flag&x=1%2B1";
    assert_true(get(b, "place", v, sizeof(v)));
    assert_string_equal(v, "São Paulo");
    assert_true(get(b, "email", v, sizeof(v)));
    assert_string_equal(v, "jo@example.org");
    assert_true(get(b, "empty", v, sizeof(v)));
    assert_string_equal(v, "");
    assert_true(get(b, "flag", v, sizeof(v)));
    assert_string_equal(v, "");
    assert_true(get(b, "x", v, sizeof(v)));
    assert_string_equal(v, "1+1");
    assert_false(get(b, "missing", v, sizeof(v)));
    assert_false(get(b, "plac", v, sizeof(v)));
    assert_false(get("a=%zz", "a", v, sizeof(v)));
    assert_false(get("a=%4", "a", v, sizeof(v)));
    assert_false(get("a=%00", "a", v, sizeof(v)));
    assert_false(get("a=toolongforthebuffer", "a", v, 8));
    /* RFC 8058's one-click body */
    assert_true(get("List-Unsubscribe=One-Click", "List-Unsubscribe", v, sizeof(v)));
    assert_string_equal(v, "One-Click");
}

static void form_makes_rules(void **state)
{
    const char *b = "email=a%40b.org&digest=1&digest_hour=8&above=1&above_c=30.5&rain=1"
                    "&rain_pct=70&sky=1&quiet=1";
    json_t *quiet = NULL;
    const char *why = NULL;
    json_t *rules = fr_form_rules(b, strlen(b), &quiet, &why);
    assert_non_null(rules);
    char *text = json_dumps(rules, JSON_COMPACT);
    assert_string_equal(text, "[{\"kind\":\"daily_digest\",\"hour\":8},"
                              "{\"kind\":\"temperature_above\",\"value\":30.5},"
                              "{\"kind\":\"precipitation_probability_above\",\"value\":70.0,"
                              "\"hours\":24},{\"kind\":\"condition_change\"}]");
    free(text);
    text = json_dumps(quiet, JSON_COMPACT);
    assert_string_equal(text, "{\"start\":22,\"end\":7}");
    free(text);
    json_decref(rules);
    json_decref(quiet);
}

static void form_refusals_say_why(void **state)
{
    json_t *quiet = NULL;
    const char *why = NULL;
    const char *none = "email=a%40b.org&quiet=1";
    assert_null(fr_form_rules(none, strlen(none), &quiet, &why));
    assert_string_equal(why, "Choose at least one kind of mail.");
    assert_null(quiet);
    const char *bad = "above=1&above_c=warm";
    assert_null(fr_form_rules(bad, strlen(bad), &quiet, &why));
    assert_non_null(strstr(why, "warmer than"));
    const char *hour = "digest=1&digest_hour=7.5";
    assert_null(fr_form_rules(hour, strlen(hour), &quiet, &why));
    assert_non_null(strstr(why, "hour"));
    /* an unchecked box's number is ignored */
    const char *off = "below_c=cold&sky=1";
    json_t *rules = fr_form_rules(off, strlen(off), &quiet, &why);
    assert_non_null(rules);
    assert_int_equal(json_array_size(rules), 1);
    assert_true(json_is_null(quiet));
    json_decref(rules);
    json_decref(quiet);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_are_decoded),
        cmocka_unit_test(form_makes_rules),
        cmocka_unit_test(form_refusals_say_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
