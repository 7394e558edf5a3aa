/* Rule evaluation: thresholds, the precipitation window, sky changes,
 * digests, cooldowns, quiet hours across time zones, replays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus/clock.h"
#include "rules_eval.h"

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)

/* 2026-01-15T12:00:00Z */
static int64_t t0(void)
{
    int64_t ms;
    assert_true(nb_time_parse_rfc3339("2026-01-15T12:00:00Z", &ms));
    return ms;
}

static nb_rules rules_of(const char *json, const char *quiet)
{
    nb_rules r;
    char why[200];
    json_t *j = json_loads(json, 0, NULL), *q = quiet ? json_loads(quiet, 0, NULL) : NULL;
    assert_non_null(j);
    if (nb_rules_parse(j, q, &r, why, sizeof(why)) != NB_OK) fail_msg("rules: %s", why);
    json_decref(j);
    json_decref(q);
    return r;
}

/* A record at utc offset `offset_s` with daily precipitation probabilities
 * for the local days starting at `first_date`. */
static void record_at(nb_record *rec, int offset_s, const char *first_date, const double *pp,
                      int ndays)
{
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->key, sizeof(rec->key), "52.52,13.41");
    rec->utc_offset_seconds = offset_s;
    snprintf(rec->timezone, sizeof(rec->timezone), "Test/Zone");
    rec->ndays = ndays;
    int y, m, d;
    sscanf(first_date, "%d-%d-%d", &y, &m, &d);
    for (int i = 0; i < ndays; i++) {
        snprintf(rec->daily[i].date, sizeof(rec->daily[i].date), "%04d-%02d-%02d", y, m, d + i);
        rec->daily[i].precipitation_probability_max = pp[i];
    }
}

static nt_obs obs_at(int64_t fetched, double temp, double code)
{
    nt_obs o = {.fetched_at_ms = fetched, .temperature = temp, .weather_code = code};
    snprintf(o.time, sizeof(o.time), "2026-01-15T12:00");
    return o;
}

typedef struct run {
    int n;
    bool quiet;
    nt_verdict v;
    nt_match m[NB_RULES_MAX];
} run;

/* Evaluates an observation fetched at `fetched` and decided at the same time. */
static run eval(const nb_rules *r, const nb_record *rec, nt_state *st, double temp, double code,
                int64_t fetched)
{
    nt_obs o = obs_at(fetched, temp, code);
    nt_eval_in in = {.rules = r, .obs = &o, .rec = rec, .now_ms = fetched};
    run x;
    x.v = nt_evaluate(&in, st, x.m, &x.n, &x.quiet);
    return x;
}

static void temperature_above_is_strict(void **state)
{
    nb_rules r = rules_of("[{\"kind\":\"temperature_above\",\"value\":30}]", NULL);
    nb_record rec;
    record_at(&rec, 0, "2026-01-15", (double[]){0}, 1);
    nt_state st = {0};
    assert_int_equal(eval(&r, &rec, &st, 30.0, 0, t0()).n, 0);
    run x = eval(&r, &rec, &st, 30.1, 0, t0() + MIN_MS);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.m[0].kind, NB_RULE_TEMPERATURE_ABOVE);
    assert_true(fabs(x.m[0].value - 30.1) < 1e-9);
    assert_int_equal(st.rule[0].fired_ms, t0() + MIN_MS);
    /* a missing temperature never matches */
    nb_rules below = rules_of("[{\"kind\":\"temperature_below\",\"value\":0}]", NULL);
    nt_state st2 = {0};
    assert_int_equal(eval(&below, &rec, &st2, NAN, 0, t0()).n, 0);
    assert_int_equal(eval(&below, &rec, &st2, -0.5, 0, t0() + MIN_MS).n, 1);
}

static void cooldown_holds_then_ends(void **state)
{
    nb_rules r =
        rules_of("[{\"kind\":\"temperature_below\",\"value\":0,\"cooldown_hours\":6}]", NULL);
    nb_record rec;
    record_at(&rec, 3600, "2026-01-15", (double[]){0}, 1);
    nt_state st = {0};
    assert_int_equal(eval(&r, &rec, &st, -3, 0, t0()).n, 1);
    /* still below freezing every 15 minutes: silent for 6 hours */
    for (int i = 1; i < 24; i++)
        assert_int_equal(eval(&r, &rec, &st, -4, 0, t0() + i * 15 * MIN_MS).n, 0);
    assert_int_equal(eval(&r, &rec, &st, -4, 0, t0() + 6 * HOUR_MS - MIN_MS).n, 0);
    assert_int_equal(eval(&r, &rec, &st, -4, 0, t0() + 6 * HOUR_MS).n, 1);
    assert_int_equal(st.rule[0].fired_ms, t0() + 6 * HOUR_MS);
}

static void replays_and_older_observations_are_skipped(void **state)
{
    nb_rules r = rules_of("[{\"kind\":\"temperature_above\",\"value\":30}]", NULL);
    nt_state st = {0};
    assert_int_equal(eval(&r, NULL, &st, 31, 0, t0()).n, 1);
    nt_state before = st;
    run again = eval(&r, NULL, &st, 35, 0, t0());
    assert_int_equal(again.v, NT_SKIP_SEEN);
    assert_int_equal(again.n, 0);
    assert_int_equal(eval(&r, NULL, &st, 35, 0, t0() - MIN_MS).v, NT_SKIP_SEEN);
    assert_memory_equal(&before, &st, sizeof(st));
}

static void observations_before_confirmation_are_not_news(void **state)
{
    nb_rules r = rules_of("[{\"kind\":\"temperature_above\",\"value\":30}]", NULL);
    nt_state st = {0};
    nt_obs o = obs_at(t0(), 35, 0);
    nt_eval_in in = {.rules = &r, .obs = &o, .confirmed_ms = t0() + 1, .now_ms = t0()};
    run x;
    assert_int_equal(nt_evaluate(&in, &st, x.m, &x.n, &x.quiet), NT_SKIP_BEFORE);
    assert_int_equal(x.n, 0);
    assert_int_equal(st.seen_ms, 0);
}

static void precipitation_window_spans_the_local_days_it_touches(void **state)
{
    /* Berlin (+1 h): t0 = 13:00 local on the 15th. Today 20 %, tomorrow 80 %. */
    nb_record rec;
    record_at(&rec, 3600, "2026-01-15", (double[]){20, 80, 90}, 3);
    nt_state st = {0};
    nb_rules six =
        rules_of("[{\"kind\":\"precipitation_probability_above\",\"value\":50,\"hours\":6}]", NULL);
    assert_int_equal(eval(&six, &rec, &st, 5, 61, t0()).n, 0); /* 13:00-19:00: today only */

    nt_state st2 = {0};
    nb_rules twelve = rules_of(
        "[{\"kind\":\"precipitation_probability_above\",\"value\":50,\"hours\":12}]", NULL);
    run x = eval(&twelve, &rec, &st2, 5, 61, t0()); /* 13:00-01:00: tomorrow too */
    assert_int_equal(x.n, 1);
    assert_true(x.m[0].value == 80);
    assert_string_equal(x.m[0].day, "2026-01-16");

    /* Tokyo (+9 h): t0 = 21:00 local; 6 hours reach the 16th. */
    nb_record tokyo;
    record_at(&tokyo, 9 * 3600, "2026-01-15", (double[]){20, 80}, 2);
    nt_state st3 = {0};
    x = eval(&six, &tokyo, &st3, 5, 61, t0());
    assert_int_equal(x.n, 1);
    assert_string_equal(x.m[0].day, "2026-01-16");

    /* Without a record there is no forecast to look at. */
    nt_state st4 = {0};
    assert_int_equal(eval(&twelve, NULL, &st4, 5, 61, t0()).n, 0);
}

/* Hourly probabilities from hour `start_ms`: the window is hours, not days. */
static void precipitation_window_uses_the_hourly_series(void **state)
{
    nb_record rec;
    record_at(&rec, 3600, "2026-01-15", (double[]){90, 90}, 2); /* daily says 90 % */
    snprintf(rec.timezone, sizeof(rec.timezone), "UTC");        /* hours labelled in UTC */
    nb_hourly *h = &rec.hourly;
    h->n = 48;
    h->start_ms = t0() - 2 * 3600 * 1000LL; /* two hours before now */
    for (int i = 0; i < h->n; i++)
        h->precipitation_probability[i] = 10;
    h->precipitation_probability[1] = 95; /* past: outside the window */
    h->precipitation_probability[6] = 60; /* now + 4 h */
    h->precipitation_probability[7] = 60;
    h->precipitation_probability[9] = NAN;
    h->precipitation_probability[12] = 99; /* now + 10 h */

    nb_rules three =
        rules_of("[{\"kind\":\"precipitation_probability_above\",\"value\":50,\"hours\":3}]", NULL);
    nt_state st = {0};
    assert_int_equal(eval(&three, &rec, &st, 5, 61, t0()).n, 0); /* hourly 10 %, not daily 90 % */

    nb_rules six =
        rules_of("[{\"kind\":\"precipitation_probability_above\",\"value\":50,\"hours\":6}]", NULL);
    nt_state st2 = {0};
    run x = eval(&six, &rec, &st2, 5, 61, t0());
    assert_int_equal(x.n, 1);
    assert_true(x.m[0].value == 60);
    char want[NT_LOCAL_LEN];
    time_t t = (time_t)((h->start_ms + 6 * 3600 * 1000LL) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(want, sizeof(want), "%02d:%02d", tm.tm_hour, tm.tm_min);
    assert_string_equal(x.m[0].at, want); /* the first hour at the maximum */

    nb_rules twelve = rules_of(
        "[{\"kind\":\"precipitation_probability_above\",\"value\":50,\"hours\":12}]", NULL);
    nt_state st3 = {0};
    x = eval(&twelve, &rec, &st3, 5, 61, t0());
    assert_int_equal(x.n, 1);
    assert_true(x.m[0].value == 99);
}

static void condition_change_needs_a_different_sky(void **state)
{
    nb_rules r = rules_of("[{\"kind\":\"condition_change\",\"cooldown_hours\":2}]", NULL);
    nt_state st = {0};
    int64_t t = t0();
    assert_int_equal(eval(&r, NULL, &st, 5, 0, t).n, 0); /* first sight: clear, remembered */
    assert_string_equal(st.rule[0].last, "clear");
    assert_int_equal(eval(&r, NULL, &st, 5, 1, t += 15 * MIN_MS).n, 0); /* mainly clear */
    run x = eval(&r, NULL, &st, 5, 63, t += 15 * MIN_MS);               /* rain */
    assert_int_equal(x.n, 1);
    assert_string_equal(x.m[0].from, "clear");
    assert_string_equal(x.m[0].to, "rain");
    /* in the cooldown: snow is tracked, not sent */
    assert_int_equal(eval(&r, NULL, &st, 5, 73, t += 15 * MIN_MS).n, 0);
    assert_string_equal(st.rule[0].last, "snow");
    /* after it: snow to snow is no news, snow to cloudy is */
    assert_int_equal(eval(&r, NULL, &st, 5, 75, t += 2 * HOUR_MS).n, 0);
    x = eval(&r, NULL, &st, 5, 3, t += 15 * MIN_MS);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.m[0].from, "snow");
    assert_string_equal(x.m[0].to, "cloudy");
    /* a missing code neither fires nor forgets */
    assert_int_equal(eval(&r, NULL, &st, 5, NAN, t += 3 * HOUR_MS).n, 0);
    assert_string_equal(st.rule[0].last, "cloudy");
    assert_string_equal(nt_sky(95), "thunderstorm");
    assert_string_equal(nt_sky(45), "fog");
    assert_string_equal(nt_sky(81), "rain");
    assert_string_equal(nt_sky(86), "snow");
}

static void daily_digest_once_a_day_at_its_hour(void **state)
{
    nb_rules r = rules_of("[{\"kind\":\"daily_digest\",\"hour\":7}]", NULL);
    nb_record rec;
    record_at(&rec, 3600, "2026-01-15", (double[]){0, 0}, 2);
    int64_t six59 = t0() - 6 * HOUR_MS - MIN_MS; /* 05:59Z = 06:59 local */
    nt_state st = {0};
    assert_int_equal(eval(&r, &rec, &st, 5, 0, six59).n, 0);
    run x = eval(&r, &rec, &st, 5, 0, six59 + 6 * MIN_MS); /* 07:05 local */
    assert_int_equal(x.n, 1);
    assert_int_equal(x.m[0].kind, NB_RULE_DAILY_DIGEST);
    assert_string_equal(st.rule[0].last, "2026-01-15");
    assert_int_equal(eval(&r, &rec, &st, 5, 0, six59 + 2 * HOUR_MS).n, 0);
    assert_int_equal(eval(&r, &rec, &st, 5, 0, six59 + 16 * HOUR_MS).n, 0); /* 22:59 */
    assert_int_equal(eval(&r, &rec, &st, 5, 0, six59 + 18 * HOUR_MS).n, 0); /* 00:59 the 16th */
    assert_int_equal(eval(&r, &rec, &st, 5, 0, six59 + 24 * HOUR_MS + 31 * MIN_MS).n, 1);
    assert_string_equal(st.rule[0].last, "2026-01-16");
}

/* Is a match at the same instant held back in a place at offset_s? */
static bool held_back(int offset_s, const char *quiet)
{
    nb_rules r = rules_of("[{\"kind\":\"temperature_above\",\"value\":0}]", quiet);
    nb_record rec;
    record_at(&rec, offset_s, "2026-01-15", (double[]){0}, 1);
    nt_state st = {0};
    int64_t when; /* 21:30Z */
    assert_true(nb_time_parse_rfc3339("2026-01-15T21:30:00Z", &when));
    run x = eval(&r, &rec, &st, 20, 0, when);
    assert_int_equal(x.quiet, x.n == 0);
    return x.quiet;
}

static void quiet_hours_are_local_to_the_place(void **state)
{
    const char *night = "{\"start\":22,\"end\":7}";
    assert_true(held_back(3600, night));       /* Berlin 22:30 */
    assert_false(held_back(0, night));         /* London 21:30 */
    assert_false(held_back(-5 * 3600, night)); /* New York 16:30 */
    assert_true(held_back(9 * 3600, night));   /* Tokyo 06:30 the next day */
    assert_false(held_back(10 * 3600, night)); /* Sydney-ish 07:30: quiet is over */
    assert_true(held_back(20700, night));      /* Kathmandu 03:15 */
    assert_true(held_back(-9 * 3600 - 1800, "{\"start\":11,\"end\":13}")); /* 12:00 local */
}

static void quiet_hours_start_no_cooldown(void **state)
{
    nb_rules r =
        rules_of("[{\"kind\":\"temperature_above\",\"value\":25}]", "{\"start\":22,\"end\":7}");
    nb_record rec;
    record_at(&rec, 0, "2026-01-15", (double[]){0}, 1);
    int64_t night; /* 23:00 local (UTC) */
    assert_true(nb_time_parse_rfc3339("2026-01-15T23:00:00Z", &night));
    nt_state st = {0};
    run x = eval(&r, &rec, &st, 28, 0, night);
    assert_int_equal(x.n, 0);
    assert_true(x.quiet);
    assert_int_equal(st.rule[0].fired_ms, 0);
    x = eval(&r, &rec, &st, 28, 0, night + 8 * HOUR_MS); /* 07:00: the first mail of the day */
    assert_int_equal(x.n, 1);
    assert_false(x.quiet);
}

static void without_a_record_local_time_is_the_observation_s(void **state)
{
    nb_rules r = rules_of("[{\"kind\":\"daily_digest\",\"hour\":9}]", NULL);
    nt_state st = {0};
    nt_obs o = obs_at(t0(), 5, 0);
    snprintf(o.time, sizeof(o.time), "2026-01-15T08:45");
    nt_eval_in in = {.rules = &r, .obs = &o, .now_ms = t0()};
    run x;
    nt_evaluate(&in, &st, x.m, &x.n, &x.quiet);
    assert_int_equal(x.n, 0);
    o.fetched_at_ms += 15 * MIN_MS;
    snprintf(o.time, sizeof(o.time), "2026-01-15T09:00");
    nt_evaluate(&in, &st, x.m, &x.n, &x.quiet);
    assert_int_equal(x.n, 1);
    char local[NT_LOCAL_LEN];
    nt_local_time(NULL, &o, t0(), local);
    assert_string_equal(local, "2026-01-15T09:00");
}

static void several_rules_fire_together(void **state)
{
    nb_rules r = rules_of("[{\"kind\":\"temperature_above\",\"value\":30},"
                          "{\"kind\":\"condition_change\"},"
                          "{\"kind\":\"temperature_below\",\"value\":-10}]",
                          NULL);
    nt_state st = {0};
    eval(&r, NULL, &st, 20, 0, t0());
    run x = eval(&r, NULL, &st, 32, 95, t0() + HOUR_MS);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.m[0].rule, 0);
    assert_int_equal(x.m[1].rule, 1);
}

static void state_json_round_trips(void **state)
{
    nt_state st = {.seen_ms = 1234567890123LL};
    st.rule[0].fired_ms = 42;
    snprintf(st.rule[1].last, sizeof(st.rule[1].last), "rain");
    json_t *j = nt_state_json(&st, 2);
    nt_state back;
    nt_state_from_json(j, &back);
    assert_memory_equal(&st, &back, sizeof(st));
    json_decref(j);
    nt_state_from_json(NULL, &back);
    assert_int_equal(back.seen_ms, 0);
    json_t *junk = json_pack("{s:s}", "seen_ms", "yesterday");
    nt_state_from_json(junk, &back);
    assert_int_equal(back.seen_ms, 0);
    json_decref(junk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(temperature_above_is_strict),
        cmocka_unit_test(cooldown_holds_then_ends),
        cmocka_unit_test(replays_and_older_observations_are_skipped),
        cmocka_unit_test(observations_before_confirmation_are_not_news),
        cmocka_unit_test(precipitation_window_spans_the_local_days_it_touches),
        cmocka_unit_test(precipitation_window_uses_the_hourly_series),
        cmocka_unit_test(condition_change_needs_a_different_sky),
        cmocka_unit_test(daily_digest_once_a_day_at_its_hour),
        cmocka_unit_test(quiet_hours_are_local_to_the_place),
        cmocka_unit_test(quiet_hours_start_no_cooldown),
        cmocka_unit_test(without_a_record_local_time_is_the_observation_s),
        cmocka_unit_test(several_rules_fire_together),
        cmocka_unit_test(state_json_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
