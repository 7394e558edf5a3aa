/* Small building blocks: backoff, ETag comparison, Cache-Control directives,
 * JSON helpers, nb_error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus/backoff.h"
#include "nimbus/cache_control.h"
#include "nimbus/err.h"
#include "nimbus/etag.h"
#include "nimbus/json.h"

static void backoff_grows_caps_and_jitters(void **state)
{
    for (int attempt = 0; attempt < 12; attempt++) {
        long step = 100L << attempt;
        if (step > 5000) step = 5000;
        long lo = step, hi = 0;
        for (int i = 0; i < 200; i++) {
            long ms = nb_backoff_ms(attempt, 100, 5000);
            assert_true(ms >= step / 2 && ms < step / 2 + step);
            if (ms < lo) lo = ms;
            if (ms > hi) hi = ms;
        }
        assert_true(hi - lo > step / 4); /* really jittered */
    }
    assert_true(nb_backoff_ms(-3, 100, 5000) < 150);
    assert_true(nb_backoff_ms(1000, 100, 5000) < 7500); /* no overflow */
}

static void etag_comparisons_follow_rfc9110(void **state)
{
    /* RFC 9110 §8.8.3.2's table */
    assert_false(nb_etag_strong_eq("W/\"1\"", "W/\"1\""));
    assert_true(nb_etag_weak_eq("W/\"1\"", "W/\"1\""));
    assert_false(nb_etag_strong_eq("W/\"1\"", "W/\"2\""));
    assert_false(nb_etag_weak_eq("W/\"1\"", "W/\"2\""));
    assert_false(nb_etag_strong_eq("W/\"1\"", "\"1\""));
    assert_true(nb_etag_weak_eq("W/\"1\"", "\"1\""));
    assert_true(nb_etag_strong_eq("\"1\"", "\"1\""));
    assert_true(nb_etag_weak_eq("\"1\"", "\"1\""));
    /* malformed never matches; a tag is not a substring */
    assert_false(nb_etag_weak_eq("1", "1"));
    assert_false(nb_etag_weak_eq("\"1", "\"1"));
    assert_false(nb_etag_weak_eq(NULL, "\"1\""));
    assert_false(nb_etag_none_match("\"17000\"", "\"1700\""));
}

static void if_none_match_lists(void **state)
{
    const char *etag = "\"1732400000000\"";
    assert_true(nb_etag_none_match("\"1732400000000\"", etag));
    assert_true(nb_etag_none_match("W/\"1732400000000\"", etag));
    assert_true(nb_etag_none_match("\"a\", \"b\",W/\"1732400000000\"", etag));
    assert_true(nb_etag_none_match(" * ", etag));
    assert_true(nb_etag_none_match("\"x\"", "W/\"x\""));
    assert_false(nb_etag_none_match("\"a\", \"b\"", etag));
    assert_false(nb_etag_none_match("", etag));
    assert_false(nb_etag_none_match(NULL, etag));
    assert_false(nb_etag_none_match("\"a\" junk", etag));
    assert_false(nb_etag_none_match("*, \"a\"", etag));
    assert_false(nb_etag_none_match("\"a\"", "not-a-tag"));
}

static void json_nulls_for_missing(void **state)
{
    json_t *o = json_object();
    json_object_set_new(o, "a", nb_json_num(1.5));
    json_object_set_new(o, "b", nb_json_num(NAN));
    json_object_set_new(o, "c", nb_json_num(INFINITY));
    json_object_set_new(o, "d", nb_json_int(2.6));
    json_object_set_new(o, "e", nb_json_int(NAN));
    json_object_set_new(o, "f", nb_json_bool(0));
    json_object_set_new(o, "g", nb_json_bool(NAN));
    json_object_set_new(o, "h", json_string("x"));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"a\":1.5,\"b\":null,\"c\":null,\"d\":3,\"e\":null,\"f\":false,"
                           "\"g\":null,\"h\":\"x\"}");
    free(s);
    assert_true(nb_json_get_num(o, "a") == 1.5);
    assert_true(nb_json_get_num(o, "d") == 3);
    assert_true(isnan(nb_json_get_num(o, "b")));
    assert_true(isnan(nb_json_get_num(o, "h")));
    assert_true(isnan(nb_json_get_num(o, "missing")));
    assert_true(isnan(nb_json_get_num(NULL, "a")));
    json_decref(o);
}

static void errors_carry_code_status_and_reason(void **state)
{
    nb_error e = {0};
    assert_int_equal(nb_error_set(&e, NB_ERR_RATE_LIMITED, 42, "budget spent for %s", "minute"),
                     NB_ERR_RATE_LIMITED);
    assert_int_equal(e.retry_after_s, 42);
    assert_string_equal(e.msg, "budget spent for minute");
    assert_int_equal(nb_err_http_status(e.code), 503);
    assert_int_equal(nb_error_set(NULL, NB_ERR_INVALID, 0, "x"), NB_ERR_INVALID);
    /* one status per failure: every kind of "unavailable now" is a 503 */
    assert_int_equal(nb_err_http_status(NB_ERR_TIMEOUT), 503);
    assert_int_equal(nb_err_http_status(NB_ERR_UNAVAILABLE), 503);
    assert_int_equal(nb_err_http_status(NB_ERR_UPSTREAM), 502);
    /* codes read back from another daemon's error body */
    for (nb_err c = NB_OK; c <= NB_ERR_INTERNAL; c++)
        assert_int_equal(nb_err_from_code(nb_err_code(c)), c);
    assert_int_equal(nb_err_from_code("no_such_code"), NB_ERR_INTERNAL);
    assert_int_equal(nb_err_from_code(NULL), NB_ERR_INTERNAL);
    /* a client's own cap is 429; no memory may pass: 503 */
    assert_int_equal(nb_err_http_status(NB_ERR_TOO_MANY), 429);
    assert_int_equal(nb_err_http_status(NB_ERR_NOMEM), 503);
}

/* Another daemon's error answer keeps its code (and so its status) when read
 * back; without a readable body the status's class decides. */
static void error_answers_read_back(void **state)
{
    nb_error e;
    const char *b = "{\"error\":\"too_many_requests\",\"reason\":\"3 mails this hour\","
                    "\"request_id\":\"x\"}";
    assert_int_equal(nb_error_from_answer(&e, 429, b, strlen(b), "120", NULL), NB_ERR_TOO_MANY);
    assert_int_equal(e.retry_after_s, 120);
    assert_string_equal(e.msg, "3 mails this hour");
    assert_int_equal(nb_err_http_status(e.code), 429);
    b = "{\"error\":\"not_found\",\"reason\":\"nothing stored\"}";
    assert_int_equal(nb_error_from_answer(&e, 404, b, strlen(b), NULL, "persistence GET /k"),
                     NB_ERR_NOT_FOUND);
    assert_string_equal(e.msg, "persistence GET /k answered 404: nothing stored");
    assert_int_equal(e.retry_after_s, 0);
    /* haproxy's HTML 503, an unknown code, no body, a bad Retry-After */
    b = "<html>503 Service Unavailable</html>";
    assert_int_equal(nb_error_from_answer(&e, 503, b, strlen(b), "soon", NULL), NB_ERR_UNAVAILABLE);
    assert_int_equal(e.retry_after_s, 0);
    assert_string_equal(e.msg, "no reason given");
    b = "{\"error\":\"teapot\",\"reason\":\"short and stout\"}";
    assert_int_equal(nb_error_from_answer(&e, 418, b, strlen(b), NULL, NULL), NB_ERR_INVALID);
    assert_int_equal(nb_error_from_answer(&e, 500, NULL, 0, "-3", NULL), NB_ERR_UNAVAILABLE);
    assert_int_equal(e.retry_after_s, 0);
    /* a code that does not go with the status (a proxy's answer): the status wins */
    b = "{\"error\":\"bad_request\",\"reason\":\"injected\"}";
    assert_int_equal(nb_error_from_answer(&e, 503, b, strlen(b), NULL, NULL), NB_ERR_UNAVAILABLE);
    assert_int_equal(nb_error_from_answer(&e, 429, NULL, 0, NULL, NULL), NB_ERR_TOO_MANY);
    assert_int_equal(nb_error_from_answer(&e, 502, NULL, 0, NULL, NULL), NB_ERR_UPSTREAM);
    assert_int_equal(nb_error_from_answer(&e, 409, NULL, 0, NULL, NULL), NB_ERR_CONFLICT);
}

static void cache_control_directives(void **state)
{
    const char *cc = "public, max-age=600, stale-while-revalidate=60";
    assert_int_equal(nb_cc_seconds(cc, "max-age"), 600);
    assert_int_equal(nb_cc_seconds(cc, "stale-while-revalidate"), 60);
    assert_int_equal(nb_cc_seconds(cc, "s-maxage"), -1);
    assert_true(nb_cc_has(cc, "public"));
    assert_false(nb_cc_has(cc, "no-cache"));
    /* names are case-insensitive, whitespace is optional, values may be quoted */
    assert_int_equal(nb_cc_seconds("Public,MAX-AGE = 5", "max-age"), 5);
    assert_int_equal(nb_cc_seconds("max-age=\"7\"", "max-age"), 7);
    assert_int_equal(nb_cc_seconds("private=\"a, max-age=9\", max-age=3", "max-age"), 3);
    /* not a number, no value, a prefix of another name */
    assert_int_equal(nb_cc_seconds("max-age=1x", "max-age"), -1);
    assert_int_equal(nb_cc_seconds("max-age", "max-age"), -1);
    assert_int_equal(nb_cc_seconds("max-age=-1", "max-age"), -1);
    assert_false(nb_cc_has("no-cache-please", "no-cache"));
    assert_int_equal(nb_cc_seconds("max-age=99999999999999999999", "max-age"), 2147483647L);
    assert_int_equal(nb_cc_seconds(NULL, "max-age"), -1);
    assert_false(nb_cc_has(NULL, "no-cache"));
    /* what a client's revalidation looks like */
    assert_true(nb_cc_wants_revalidation("no-cache", NULL));
    assert_true(nb_cc_wants_revalidation("max-age=0", NULL));
    assert_true(nb_cc_wants_revalidation(NULL, "no-cache"));
    assert_true(nb_cc_wants_revalidation("no-store, no-cache=\"Set-Cookie\"", NULL));
    assert_false(nb_cc_wants_revalidation("max-age=05", NULL));
    assert_false(nb_cc_wants_revalidation("max-age=600", "x"));
    assert_false(nb_cc_wants_revalidation(NULL, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_grows_caps_and_jitters),
        cmocka_unit_test(etag_comparisons_follow_rfc9110),
        cmocka_unit_test(if_none_match_lists),
        cmocka_unit_test(cache_control_directives),
        cmocka_unit_test(json_nulls_for_missing),
        cmocka_unit_test(errors_carry_code_status_and_reason),
        cmocka_unit_test(error_answers_read_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
