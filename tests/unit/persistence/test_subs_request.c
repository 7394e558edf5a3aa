/* What persistence reads from the requests of its subscription and mail
 * routes before it touches PostgreSQL (subs_request.c), and the reason for
 * every refusal (the text of the 400 answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "subs_request.h"

#define ID "2b7e1516-28ae-4d2a-9f15-88097cf4f3c6"

static const char create_body[] =
    "{\"email\":\"Jo@Example.ORG\",\"place\":{\"key\":\"52.52,13.41\",\"name\":\"Berlin, "
    "Germany\",\"timezone\":\"Europe/Berlin\"},\"rules\":[{\"kind\":\"temperature_above\","
    "\"value\":30}],\"quiet_hours\":{\"start\":22,\"end\":7},\"client\":\"198.51.100.7\","
    "\"caps\":{\"per_address\":3,\"per_client\":20}}";

static void expect_refusal(nb_err got, const char *why, const char *reason)
{
    assert_int_equal(got, NB_ERR_INVALID);
    if (!strstr(why, reason)) fail_msg("expected '%s', got '%s'", reason, why);
}

static void a_subscription_request_is_read_canonically(void **state)
{
    sr_create c;
    char why[300];
    assert_int_equal(ps_sr_create_read(create_body, strlen(create_body), &c, why, sizeof(why)),
                     NB_OK);
    assert_string_equal(c.req.email, "Jo@Example.ORG");
    assert_string_equal(c.req.email_canonical, "jo@example.org");
    assert_string_equal(c.req.place_key, "52.52,13.41");
    assert_string_equal(c.req.timezone, "Europe/Berlin");
    assert_string_equal(c.req.client, "198.51.100.7");
    assert_int_equal(c.req.cap_address, 3);
    assert_int_equal(c.req.cap_client, 20);
    assert_non_null(strstr(c.req.rules, "\"cooldown_hours\":12")); /* defaults written out */
    assert_string_equal(c.req.quiet, "{\"start\":22,\"end\":7}");
    ps_sr_create_release(&c);
    /* No rules: the default; no quiet hours: null; no caps: none. */
    const char *plain = "{\"email\":\"a@b.example\",\"place\":{\"key\":\"1.00,2.00\",\"name\":"
                        "\"1.00, 2.00\"}}";
    assert_int_equal(ps_sr_create_read(plain, strlen(plain), &c, why, sizeof(why)), NB_OK);
    assert_non_null(strstr(c.req.rules, "daily_digest"));
    assert_string_equal(c.req.quiet, "null");
    assert_string_equal(c.req.timezone, "");
    assert_int_equal(c.req.cap_address, 0);
    ps_sr_create_release(&c);
}

static void subscription_requests_are_refused_with_the_field(void **state)
{
    static const struct {
        const char *body, *reason;
    } cases[] = {
        {"", "empty body"},
        {"{", "invalid JSON"},
        {"[]", "body must be a JSON object"},
        {"{\"colour\":1}", "unknown field \"colour\""},
        {"{\"place\":{}}", "email: missing"},
        {"{\"email\":\"x\"}", "email: no @"},
        {"{\"email\":\"a@b.example\",\"place\":7}", "place: {\"key\", \"name\", \"timezone\"}"},
        {"{\"email\":\"a@b.example\",\"place\":{\"key\":\"1,2\"}}", "place.key:"},
        {"{\"email\":\"a@b.example\",\"place\":{\"key\":\"1.00,2.00\",\"x\":1}}", "place: {"},
        {"{\"email\":\"a@b.example\",\"place\":{\"key\":\"1.00,2.00\",\"name\":\"\"}}",
         "place.name: 1 to 150 bytes"},
        {"{\"email\":\"a@b.example\",\"place\":{\"key\":\"1.00,2.00\",\"name\":\"n\","
         "\"timezone\":5}}",
         "place.timezone:"},
        {"{\"email\":\"a@b.example\",\"place\":{\"key\":\"1.00,2.00\",\"name\":\"n\"},"
         "\"client\":[]}",
         "client: at most 64 bytes"},
        {"{\"email\":\"a@b.example\",\"place\":{\"key\":\"1.00,2.00\",\"name\":\"n\"},"
         "\"caps\":{\"per_address\":-1}}",
         "caps:"},
        {"{\"email\":\"a@b.example\",\"place\":{\"key\":\"1.00,2.00\",\"name\":\"n\"},"
         "\"caps\":{\"per_day\":1}}",
         "caps:"},
        {"{\"email\":\"a@b.example\",\"place\":{\"key\":\"1.00,2.00\",\"name\":\"n\"},"
         "\"rules\":[{\"kind\":\"hail\"}]}",
         "unknown kind 'hail'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sr_create c;
        char why[300] = "";
        expect_refusal(
            ps_sr_create_read(cases[i].body, strlen(cases[i].body), &c, why, sizeof(why)), why,
            cases[i].reason);
    }
}

static void tokens(void **state)
{
    char t[SR_TOKEN_MAX + 1], why[300];
    const char *ok = "{\"token\":\"abcdefghijklmnop_-09\"}";
    assert_int_equal(ps_sr_token_read(ok, strlen(ok), t, why, sizeof(why)), NB_OK);
    assert_string_equal(t, "abcdefghijklmnop_-09");
    const char *bad[] = {"{\"token\":\"short\"}", "{\"token\":\"abcdefghijklmnop=\"}",
                         "{\"token\":1}", "{}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_refusal(ps_sr_token_read(bad[i], strlen(bad[i]), t, why, sizeof(why)), why,
                       "token: the text after token=");
    expect_refusal(ps_sr_token_read("{\"token\":\"x\",\"y\":1}", 19, t, why, sizeof(why)), why,
                   "unknown field \"y\"");
}

static void pages_of_a_place(void **state)
{
    sr_page p;
    char why[300];
    assert_int_equal(ps_sr_page_read("52.52,13.41/subscriptions", NULL, NULL, &p, why, sizeof(why)),
                     NB_OK);
    assert_string_equal(p.key, "52.52,13.41");
    assert_string_equal(p.after, "");
    assert_int_equal(p.limit, 500);
    assert_int_equal(ps_sr_page_read("52.52,13.41/subscriptions", ID, "7", &p, why, sizeof(why)),
                     NB_OK);
    assert_string_equal(p.after, ID);
    assert_int_equal(p.limit, 7);
    assert_int_equal(ps_sr_page_read("52.52,13.41/other", NULL, NULL, &p, why, sizeof(why)),
                     NB_ERR_NOT_FOUND);
    expect_refusal(ps_sr_page_read("52.5,13.41/subscriptions", NULL, NULL, &p, why, sizeof(why)),
                   why, "location key must be canonical");
    expect_refusal(ps_sr_page_read("52.52,13.41/subscriptions", "x", NULL, &p, why, sizeof(why)),
                   why, "after: a subscription id");
    expect_refusal(ps_sr_page_read("52.52,13.41/subscriptions", NULL, "0", &p, why, sizeof(why)),
                   why, "limit: a whole number from 1 to 1000");
    expect_refusal(ps_sr_page_read("52.52,13.41/subscriptions", NULL, "", &p, why, sizeof(why)),
                   why, "limit:");
}

static void evaluations(void **state)
{
    sr_evaluations ev;
    char why[300];
    const char *ok = "{\"event\":\"" ID "\",\"key\":\"52.52,13.41\",\"results\":[{\"subscription\":"
                     "\"" ID "\",\"state_version\":3,\"state\":{},\"alert\":{\"x\":1}}]}";
    assert_int_equal(ps_sr_evaluations_read(ok, strlen(ok), &ev, why, sizeof(why)), NB_OK);
    assert_string_equal(ev.event, ID);
    assert_int_equal(ev.n, 1);
    assert_non_null(strstr(ev.results, "\"state_version\":3"));
    ps_sr_evaluations_release(&ev);
    static const struct {
        const char *body, *reason;
    } cases[] = {
        {"{\"event\":\"x\",\"results\":[]}", "event: the event id"},
        {"{\"event\":\"" ID "\",\"key\":\"x\",\"results\":[]}", "key:"},
        {"{\"event\":\"" ID "\",\"results\":[]}", "results: an array of 1 to 1000"},
        {"{\"event\":\"" ID "\",\"results\":[{\"subscription\":\"x\"}]}", "results[].subscription"},
        {"{\"event\":\"" ID "\",\"results\":[{\"subscription\":\"" ID "\",\"state\":{}}]}",
         "results[].state_version"},
        {"{\"event\":\"" ID "\",\"results\":[{\"subscription\":\"" ID "\",\"state_version\":1,"
         "\"state\":{},\"alert\":[]}]}",
         "results[].alert"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_refusal(
            ps_sr_evaluations_read(cases[i].body, strlen(cases[i].body), &ev, why, sizeof(why)),
            why, cases[i].reason);
}

static void the_mail_queue(void **state)
{
    char why[300];
    sr_claim c;
    const char *claim = "{\"owner\":\"n1\",\"limit\":20,\"lease_ms\":120000}";
    assert_int_equal(ps_sr_claim_read(claim, strlen(claim), &c, why, sizeof(why)), NB_OK);
    assert_string_equal(c.owner, "n1");
    assert_int_equal(c.limit, 20);
    assert_int_equal(c.lease_ms, 120000);
    const char *big = "{\"owner\":\"n1\",\"limit\":501,\"lease_ms\":120000}";
    expect_refusal(ps_sr_claim_read(big, strlen(big), &c, why, sizeof(why)), why,
                   "limit: a whole number from 1 to 500");

    sr_sent s;
    const char *sent = "{\"owner\":\"n1\",\"ids\":[\"" ID "\",\"" ID "\"]}";
    assert_int_equal(ps_sr_sent_read(sent, strlen(sent), &s, why, sizeof(why)), NB_OK);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[1], ID);
    ps_sr_sent_release(&s);
    expect_refusal(ps_sr_sent_read("{\"ids\":[]}", 10, &s, why, sizeof(why)), why,
                   "ids: an array of 1 to 500 mail ids");

    sr_failed f;
    const char *failed = "{\"owner\":\"n1\",\"id\":\"" ID "\",\"permanent\":false,"
                         "\"retry_in_ms\":2000,\"error\":\"421 try later\"}";
    assert_int_equal(ps_sr_failed_read(failed, strlen(failed), &f, why, sizeof(why)), NB_OK);
    assert_false(f.permanent);
    assert_int_equal(f.retry_in_ms, 2000);
    assert_string_equal(f.error, "421 try later");
    const char *perm = "{\"owner\":\"n1\",\"id\":\"" ID "\",\"permanent\":1,\"retry_in_ms\":0}";
    expect_refusal(ps_sr_failed_read(perm, strlen(perm), &f, why, sizeof(why)), why,
                   "permanent: true or false");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_subscription_request_is_read_canonically),
        cmocka_unit_test(subscription_requests_are_refused_with_the_field),
        cmocka_unit_test(tokens),
        cmocka_unit_test(pages_of_a_place),
        cmocka_unit_test(evaluations),
        cmocka_unit_test(the_mail_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
