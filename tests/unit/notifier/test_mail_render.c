/* What the mails say: subjects, links under the public URL, the place's
 * local time, the attribution, and place names escaped in HTML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_render.h"

#define BASE "https://weather.example"
#define TOKEN "Zm9vYmFyLWJhei1xdXV4LTAxMjM0NTY3ODlhYmNkZWZnaGk"

static nt_mail confirmation(const char *place)
{
    nt_mail m = {.token_ttl_s = 72 * 3600};
    snprintf(m.id, sizeof(m.id), "0b7c2f0e-0000-4000-8000-000000000001");
    snprintf(m.kind, sizeof(m.kind), "confirmation");
    snprintf(m.email, sizeof(m.email), "jo@example.org");
    snprintf(m.place_name, sizeof(m.place_name), "%s", place);
    snprintf(m.token, sizeof(m.token), TOKEN);
    m.rules = json_loads("[{\"kind\":\"temperature_above\",\"value\":30,\"cooldown_hours\":12}]", 0,
                         NULL);
    m.quiet = json_loads("{\"start\":22,\"end\":7}", 0, NULL);
    return m;
}

static nt_mail alert(const char *place, const char *matches)
{
    nt_mail m = confirmation(place);
    snprintf(m.kind, sizeof(m.kind), "alert");
    char payload[4096];
    snprintf(payload, sizeof(payload),
             "{\"event\":\"e\",\"local_time\":\"2026-01-15T14:05\",\"timezone\":\"Europe/Berlin\","
             "\"tz_abbreviation\":\"CET\",\"observation\":{\"time\":\"2026-01-15T14:00\","
             "\"temperature\":31.2,\"apparent_temperature\":33,\"relative_humidity\":40,"
             "\"wind_speed\":12,\"weather_code\":2,\"condition\":\"Partly cloudy\"},"
             "\"matches\":%s,\"days\":[{\"date\":\"2026-01-15\",\"condition\":\"Partly cloudy\","
             "\"temperature_max\":32,\"temperature_min\":18,"
             "\"precipitation_probability_max\":20},{\"date\":\"2026-01-16\",\"condition\":"
             "\"Slight rain\",\"temperature_max\":25,\"temperature_min\":null,"
             "\"precipitation_probability_max\":80}]}",
             matches);
    m.payload = json_loads(payload, 0, NULL);
    assert_non_null(m.payload);
    return m;
}

static void confirmation_links_to_the_confirm_page(void **state)
{
    nt_mail m = confirmation("Berlin");
    nt_rendered r;
    assert_int_equal(nt_render(&m, BASE, &r), NB_OK);
    assert_string_equal(r.kind, "confirmation");
    assert_string_equal(r.subject, "Confirm your weather alerts for Berlin");
    assert_null(r.unsubscribe_url);
    const char *url = BASE "/subscriptions/confirm?token=" TOKEN;
    assert_non_null(strstr(r.text, url));
    assert_non_null(strstr(r.html, url));
    assert_non_null(strstr(r.text, "temperature above 30 °C"));
    assert_non_null(strstr(r.text, "from 22:00 to 07:00 local time"));
    assert_non_null(strstr(r.text, "72 hours"));
    assert_non_null(strstr(r.text, "Weather data by Open-Meteo.com"));
    assert_non_null(strstr(r.html, "Weather data by Open-Meteo.com"));
    nt_rendered_release(&r);
    nt_mail_release(&m);
}

static void place_names_are_escaped_in_html(void **state)
{
    const char *evil = "<script>alert(1)</script> & \"Quotes\" 'ville'";
    nt_mail m = confirmation(evil);
    nt_rendered r;
    assert_int_equal(nt_render(&m, BASE, &r), NB_OK);
    assert_null(strstr(r.html, "<script>"));
    assert_non_null(
        strstr(r.html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Quotes&quot;"));
    assert_non_null(strstr(r.text, evil)); /* plain text is plain */
    nt_rendered_release(&r);
    nt_mail_release(&m);

    nt_mail a = alert(evil, "[{\"kind\":\"temperature_above\",\"value\":31.2,\"limit\":30}]");
    assert_int_equal(nt_render(&a, BASE, &r), NB_OK);
    assert_null(strstr(r.html, "<script>"));
    assert_non_null(strstr(r.html, "&lt;script&gt;"));
    nt_rendered_release(&r);
    nt_mail_release(&a);
}

static void place_names_cannot_steer_a_reader(void **state)
{
    /* U+202E (right-to-left override) and an escape sequence in a name */
    nt_mail m = confirmation("Evil\xe2\x80\xaeville \x1b[31mred");
    nt_rendered r;
    assert_int_equal(nt_render(&m, BASE, &r), NB_OK);
    assert_string_equal(r.subject, "Confirm your weather alerts for Evil?ville ?[31mred");
    assert_null(strstr(r.text, "\xe2\x80\xae"));
    assert_null(strstr(r.html, "\xe2\x80\xae"));
    assert_null(strchr(r.text, '\x1b'));
    nt_rendered_release(&r);
    nt_mail_release(&m);
}

static void alert_says_what_matched_where_and_when(void **state)
{
    nt_mail m = alert("Berlin", "[{\"kind\":\"temperature_above\",\"rule\":0,\"value\":31.2,"
                                "\"limit\":30}]");
    nt_rendered r;
    assert_int_equal(nt_render(&m, BASE, &r), NB_OK);
    assert_string_equal(r.kind, "alert");
    assert_string_equal(r.subject, "Berlin: 31.2 °C, above 30 °C");
    assert_string_equal(r.unsubscribe_url, BASE "/subscriptions/unsubscribe?token=" TOKEN);
    assert_non_null(strstr(r.text, "The temperature is 31.2 °C, above your limit of 30 °C."));
    assert_non_null(strstr(r.text, "14:05 local time (CET, Europe/Berlin) on Thu 15 Jan"));
    assert_non_null(strstr(r.text, "Manage your alerts: " BASE "/subscriptions/manage?token="));
    assert_non_null(strstr(r.html, BASE "/subscriptions/manage?token=" TOKEN));
    assert_non_null(strstr(r.html, BASE "/subscriptions/unsubscribe?token=" TOKEN));
    assert_non_null(strstr(r.text, "Fri 16 Jan"));
    assert_non_null(strstr(r.text, "Weather data by Open-Meteo.com"));
    assert_non_null(strstr(r.html, "Weather data by Open-Meteo.com"));
    nt_rendered_release(&r);
    nt_mail_release(&m);
}

static void subjects_per_kind(void **state)
{
    nt_rendered r;
    nt_mail m = alert("Oslo", "[{\"kind\":\"precipitation_probability_above\",\"value\":80,"
                              "\"limit\":70,\"hours\":12,\"day\":\"2026-01-16\"}]");
    assert_int_equal(nt_render(&m, BASE, &r), NB_OK);
    assert_string_equal(r.subject, "Oslo: 80 % chance of precipitation on Fri 16 Jan");
    assert_non_null(strstr(r.text, "(your limit: 70 % within 12 hours)"));
    nt_rendered_release(&r);
    nt_mail_release(&m);

    m = alert("Oslo", "[{\"kind\":\"condition_change\",\"from\":\"clear\",\"to\":\"rain\"},"
                      "{\"kind\":\"temperature_below\",\"value\":-3,\"limit\":0}]");
    assert_int_equal(nt_render(&m, BASE, &r), NB_OK);
    assert_string_equal(r.subject, "Oslo: now rain (was clear) (and 1 more)");
    assert_non_null(strstr(r.text, "The sky changed from clear to rain."));
    assert_non_null(strstr(r.text, "The temperature is -3.0 °C, below your limit of 0 °C."));
    nt_rendered_release(&r);
    nt_mail_release(&m);

    m = alert("Oslo", "[{\"kind\":\"daily_digest\"}]");
    assert_int_equal(nt_render(&m, BASE, &r), NB_OK);
    assert_string_equal(r.kind, "digest");
    assert_string_equal(r.subject, "Oslo today: Partly cloudy, 18 to 32 °C");
    assert_non_null(strstr(r.text, "Daily weather for Oslo"));
    nt_rendered_release(&r);
    nt_mail_release(&m);
}

static void unrenderable_mails_are_refused(void **state)
{
    nt_rendered r;
    nt_mail m = alert("Oslo", "[]");
    assert_int_equal(nt_render(&m, BASE, &r), NB_ERR_INVALID);
    nt_mail_release(&m);
    m = confirmation("Oslo");
    snprintf(m.token, sizeof(m.token), "abc\"><script>");
    assert_int_equal(nt_render(&m, BASE, &r), NB_ERR_INVALID);
    m.token[0] = '\0';
    assert_int_equal(nt_render(&m, BASE, &r), NB_ERR_INVALID);
    snprintf(m.token, sizeof(m.token), "ok");
    snprintf(m.kind, sizeof(m.kind), "spam");
    assert_int_equal(nt_render(&m, BASE, &r), NB_ERR_INVALID);
    nt_mail_release(&m);
}

static void payload_records_the_decision(void **state)
{
    nb_rules rules;
    char why[100];
    json_t *rj = json_loads("[{\"kind\":\"temperature_above\",\"value\":30},"
                            "{\"kind\":\"precipitation_probability_above\",\"value\":50}]",
                            0, NULL);
    assert_int_equal(nb_rules_parse(rj, NULL, &rules, why, sizeof(why)), NB_OK);
    json_decref(rj);
    nt_obs obs = {.temperature = 31.5,
                  .weather_code = 61,
                  .apparent_temperature = NAN,
                  .relative_humidity = 50,
                  .wind_speed = 3};
    snprintf(obs.time, sizeof(obs.time), "2026-01-15T14:00");
    snprintf(obs.condition, sizeof(obs.condition), "Slight rain");
    nb_record *rec = calloc(1, sizeof(*rec));
    snprintf(rec->timezone, sizeof(rec->timezone), "Europe/Berlin");
    snprintf(rec->timezone_abbreviation, sizeof(rec->timezone_abbreviation), "CET");
    rec->ndays = 5;
    for (int i = 0; i < 5; i++) {
        snprintf(rec->daily[i].date, sizeof(rec->daily[i].date), "2026-01-%02d", 14 + i);
        rec->daily[i].temperature_max = 20 + i;
        rec->daily[i].temperature_min = 10;
        rec->daily[i].weather_code = 0;
        rec->daily[i].precipitation_probability_max = NAN;
    }
    nt_match m[2] = {{.rule = 0, .kind = NB_RULE_TEMPERATURE_ABOVE, .value = 31.5},
                     {.rule = 1, .kind = NB_RULE_PRECIPITATION_ABOVE, .value = 60}};
    snprintf(m[1].day, sizeof(m[1].day), "2026-01-15");
    json_t *p = nt_alert_payload("ev-1", &obs, rec, &rules, m, 2, "2026-01-15T14:05");
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "tz_abbreviation")), "CET");
    json_t *days = json_object_get(p, "days");
    assert_int_equal(json_array_size(days), 3); /* from today on, three days */
    assert_string_equal(json_string_value(json_object_get(json_array_get(days, 0), "date")),
                        "2026-01-15");
    assert_true(
        json_is_null(json_object_get(json_array_get(days, 0), "precipitation_probability_max")));
    json_t *m1 = json_array_get(json_object_get(p, "matches"), 1);
    assert_int_equal(json_integer_value(json_object_get(m1, "hours")), 12);
    assert_true(json_number_value(json_object_get(m1, "limit")) == 50);
    assert_true(
        json_is_null(json_object_get(json_object_get(p, "observation"), "apparent_temperature")));
    json_decref(p);
    free(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(confirmation_links_to_the_confirm_page),
        cmocka_unit_test(place_names_are_escaped_in_html),
        cmocka_unit_test(place_names_cannot_steer_a_reader),
        cmocka_unit_test(alert_says_what_matched_where_and_when),
        cmocka_unit_test(subjects_per_kind),
        cmocka_unit_test(unrenderable_mails_are_refused),
        cmocka_unit_test(payload_records_the_decision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
