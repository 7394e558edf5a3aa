/* Subscription rules: validation with reasons, defaults, canonical JSON,
 * quiet hours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "nimbus/rules.h"
#include "nimbus/text.h"

static nb_err parse(const char *rules, const char *quiet, nb_rules *out, char *why, size_t n)
{
    json_t *r = rules ? json_loads(rules, JSON_DECODE_ANY, NULL) : NULL;
    json_t *q = quiet ? json_loads(quiet, JSON_DECODE_ANY, NULL) : NULL;
    if (rules) assert_non_null(r);
    nb_err e = nb_rules_parse(r, q, out, why, n);
    json_decref(r);
    json_decref(q);
    return e;
}

static void every_kind_with_its_fields(void **state)
{
    nb_rules r;
    char why[200] = "";
    assert_int_equal(parse("[{\"kind\":\"temperature_above\",\"value\":30},"
                           "{\"kind\":\"temperature_below\",\"value\":-5.5,\"cooldown_hours\":2},"
                           "{\"kind\":\"precipitation_probability_above\",\"value\":70,"
                           "\"hours\":6},"
                           "{\"kind\":\"condition_change\"},"
                           "{\"kind\":\"daily_digest\",\"hour\":7}]",
                           "{\"start\":22,\"end\":6}", &r, why, sizeof(why)),
                     NB_OK);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.rule[0].kind, NB_RULE_TEMPERATURE_ABOVE);
    assert_true(r.rule[0].value == 30);
    assert_int_equal(r.rule[0].cooldown_h, 12); /* the default, written out */
    assert_true(r.rule[1].value == -5.5);
    assert_int_equal(r.rule[1].cooldown_h, 2);
    assert_int_equal(r.rule[2].hours, 6);
    assert_int_equal(r.rule[3].cooldown_h, 3);
    assert_int_equal(r.rule[4].hour, 7);
    assert_int_equal(r.rule[4].cooldown_h, 0);
    assert_true(r.quiet);
    assert_int_equal(r.quiet_start, 22);
    assert_int_equal(r.quiet_end, 6);
}

static void missing_rules_mean_the_default(void **state)
{
    nb_rules r;
    char why[200];
    assert_int_equal(parse(NULL, NULL, &r, why, sizeof(why)), NB_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.rule[0].kind, NB_RULE_DAILY_DIGEST);
    assert_int_equal(r.rule[0].hour, 7);
    assert_false(r.quiet);
    /* null is "not given" too */
    assert_int_equal(parse("null", "null", &r, why, sizeof(why)), NB_OK);
    assert_int_equal(r.n, 1);
}

static void precipitation_window_defaults_to_12_hours(void **state)
{
    nb_rules r;
    char why[200];
    assert_int_equal(parse("[{\"kind\":\"precipitation_probability_above\",\"value\":50}]", NULL,
                           &r, why, sizeof(why)),
                     NB_OK);
    assert_int_equal(r.rule[0].hours, 12);
}

static void expect_reason(const char *rules, const char *quiet, const char *part)
{
    nb_rules r;
    char why[300] = "";
    if (parse(rules, quiet, &r, why, sizeof(why)) != NB_ERR_INVALID)
        fail_msg("accepted %s / %s", rules, quiet ? quiet : "-");
    if (!strstr(why, part)) fail_msg("reason '%s' lacks '%s'", why, part);
}

static void refusals_name_the_field(void **state)
{
    expect_reason("{}", NULL, "rules: an array");
    expect_reason("[]", NULL, "from 1 to 10 rules");
    expect_reason("[1]", NULL, "rules[0]: an object");
    expect_reason("[{}]", NULL, "rules[0].kind: missing");
    expect_reason("[{\"kind\":\"hail\"}]", NULL, "rules[0].kind: unknown kind 'hail'");
    expect_reason("[{\"kind\":\"condition_change\"},{\"kind\":\"temperature_above\"}]", NULL,
                  "rules[1]: temperature_above needs \"value\"");
    expect_reason("[{\"kind\":\"temperature_above\",\"value\":\"hot\"}]", NULL,
                  "rules[0].value: a number from -80 to 60");
    expect_reason("[{\"kind\":\"temperature_below\",\"value\":99}]", NULL, "-80 to 60");
    expect_reason("[{\"kind\":\"precipitation_probability_above\",\"value\":100}]", NULL,
                  "0 to 99 (percent)");
    expect_reason("[{\"kind\":\"precipitation_probability_above\",\"value\":5,\"hours\":49}]", NULL,
                  "rules[0].hours: a whole number from 1 to 48");
    expect_reason("[{\"kind\":\"precipitation_probability_above\",\"value\":5,\"hours\":1.5}]",
                  NULL, "hours");
    expect_reason("[{\"kind\":\"daily_digest\"}]", NULL, "needs \"hour\"");
    expect_reason("[{\"kind\":\"daily_digest\",\"hour\":24}]", NULL, "0 to 23");
    expect_reason("[{\"kind\":\"daily_digest\",\"hour\":7,\"cooldown_hours\":5}]", NULL,
                  "takes no field 'cooldown_hours'");
    expect_reason("[{\"kind\":\"condition_change\",\"value\":3}]", NULL,
                  "condition_change takes no field 'value'");
    expect_reason("[{\"kind\":\"condition_change\",\"cooldown_hours\":0}]", NULL,
                  "cooldown_hours: a whole number from 1 to 168");
    expect_reason("[{\"kind\":\"condition_change\"}]", "5", "quiet_hours: an object");
    expect_reason("[{\"kind\":\"condition_change\"}]", "{\"start\":22}", "quiet_hours.end");
    expect_reason("[{\"kind\":\"condition_change\"}]", "{\"start\":7,\"end\":7}", "must differ");
    expect_reason("[{\"kind\":\"condition_change\"}]", "{\"start\":1,\"end\":2,\"tz\":\"x\"}",
                  "no field 'tz'");
    expect_reason("[{\"kind\":\"daily_digest\",\"hour\":6}]", "{\"start\":22,\"end\":7}",
                  "inside the quiet hours");
    char eleven[1024] = "[";
    for (int i = 0; i < 11; i++)
        strcat(eleven, i ? ",{\"kind\":\"condition_change\"}" : "{\"kind\":\"condition_change\"}");
    strcat(eleven, "]");
    expect_reason(eleven, NULL, "from 1 to 10 rules");
}

static void canonical_json_round_trips(void **state)
{
    nb_rules r, again;
    char why[200];
    assert_int_equal(parse("[{\"kind\":\"temperature_above\",\"value\":30},"
                           "{\"kind\":\"precipitation_probability_above\",\"value\":70},"
                           "{\"kind\":\"daily_digest\",\"hour\":8}]",
                           "{\"start\":23,\"end\":6}", &r, why, sizeof(why)),
                     NB_OK);
    json_t *j = nb_rules_json(&r), *q = nb_quiet_json(&r);
    assert_non_null(j);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(text, "[{\"kind\":\"temperature_above\",\"value\":30.0,"
                              "\"cooldown_hours\":12},{\"kind\":"
                              "\"precipitation_probability_above\",\"value\":70.0,\"hours\":12,"
                              "\"cooldown_hours\":12},{\"kind\":\"daily_digest\",\"hour\":8}]");
    assert_int_equal(nb_rules_parse(j, q, &again, why, sizeof(why)), NB_OK);
    assert_memory_equal(&r, &again, sizeof(r));
    free(text);
    json_decref(j);
    json_decref(q);
    nb_rules none = {0};
    json_t *n = nb_quiet_json(&none);
    assert_true(json_is_null(n));
    json_decref(n);
}

static void quiet_hours_wrap_midnight(void **state)
{
    nb_rules r = {.quiet = true, .quiet_start = 22, .quiet_end = 7};
    assert_true(nb_rules_quiet_at(&r, 22));
    assert_true(nb_rules_quiet_at(&r, 23));
    assert_true(nb_rules_quiet_at(&r, 0));
    assert_true(nb_rules_quiet_at(&r, 6));
    assert_false(nb_rules_quiet_at(&r, 7));
    assert_false(nb_rules_quiet_at(&r, 12));
    assert_false(nb_rules_quiet_at(&r, 21));
    nb_rules day = {.quiet = true, .quiet_start = 13, .quiet_end = 15};
    assert_false(nb_rules_quiet_at(&day, 12));
    assert_true(nb_rules_quiet_at(&day, 13));
    assert_true(nb_rules_quiet_at(&day, 14));
    assert_false(nb_rules_quiet_at(&day, 15));
    nb_rules off = {0};
    assert_false(nb_rules_quiet_at(&off, 3));
}

/* Found by fuzz_rules: names quoted in a reason were cut at 40 bytes, maybe
 * inside a character; the reason (a 400's text) was then not UTF-8. */
static void quoted_names_are_cut_between_characters(void **state)
{
    /* 39 ASCII bytes, then a two-byte character across the 40-byte cut. */
    const char *cases[][2] = {
        {"[{\"kind\":\"daily_digest\",\"hour\":7,"
         "\"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\u00fc\":1}]",
         NULL},
        {"[{\"kind\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\u00fc\"}]", NULL},
        {NULL, "{\"start\":1,\"end\":2,\"sssssssssssssssssssssssssssssssssssssss\u00fc\":1}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nb_rules r;
        char why[300] = "";
        assert_int_equal(parse(cases[i][0], cases[i][1], &r, why, sizeof(why)), NB_ERR_INVALID);
        if (!nb_utf8_valid(why, strlen(why))) fail_msg("not UTF-8: %s", why);
    }
}

static void descriptions_for_people(void **state)
{
    char s[128];
    nb_rule a = {.kind = NB_RULE_TEMPERATURE_ABOVE, .value = 30};
    nb_rule_describe(&a, s, sizeof(s));
    assert_string_equal(s, "temperature above 30 °C");
    nb_rule p = {.kind = NB_RULE_PRECIPITATION_ABOVE, .value = 70, .hours = 12};
    nb_rule_describe(&p, s, sizeof(s));
    assert_string_equal(s, "chance of precipitation above 70 % within 12 hours");
    nb_rule d = {.kind = NB_RULE_DAILY_DIGEST, .hour = 7};
    nb_rule_describe(&d, s, sizeof(s));
    assert_string_equal(s, "a daily summary at 07:00 local time");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_with_its_fields),
        cmocka_unit_test(missing_rules_mean_the_default),
        cmocka_unit_test(precipitation_window_defaults_to_12_hours),
        cmocka_unit_test(refusals_name_the_field),
        cmocka_unit_test(canonical_json_round_trips),
        cmocka_unit_test(quiet_hours_wrap_midnight),
        cmocka_unit_test(quoted_names_are_cut_between_characters),
        cmocka_unit_test(descriptions_for_people),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
